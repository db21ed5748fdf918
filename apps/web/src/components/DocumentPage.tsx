import { useEffect, useState, type FormEvent } from 'react';
import type { Editor as TiptapEditor } from '@tiptap/core';
import { useRoom, useRoomSnapshot } from '@tandem/client/react';
import { canChat, canEdit, colorForName, LIMITS } from '@tandem/protocol';
import { ActivityPanel } from './ActivityPanel.js';
import { ChatPanel } from './ChatPanel.js';
import { ConnectionStatus, SaveStatus } from './ConnectionStatus.js';
import { Editor } from './Editor.js';
import { HistoryPanel } from './HistoryPanel.js';
import { People } from './People.js';
import { BackToDocuments } from './BackToDocuments.js';
import { DownloadMenu } from './DownloadMenu.js';

function RenameButton({ name, onRename }: { name: string; onRename: (name: string) => void }) {
  const [editing, setEditing] = useState(false);
  const [draft, setDraft] = useState(name);
  const submit = (event: FormEvent) => {
    event.preventDefault();
    const next = draft.trim();
    if (next) onRename(next);
    setEditing(false);
  };
  if (!editing) {
    return (
      <button type="button" className="ghost" onClick={() => (setDraft(name), setEditing(true))} title="Change your name">
        {name} ✎
      </button>
    );
  }
  return (
    <form className="rename" onSubmit={submit}>
      <input aria-label="New name" value={draft} maxLength={LIMITS.nameLength} autoFocus onChange={(e) => setDraft(e.target.value)} />
      <button type="submit">Save</button>
    </form>
  );
}

export function DocumentPage({
  room,
  title,
  name,
  onRename,
}: {
  room: string;
  title: string;
  name: string;
  onRename: (name: string) => void;
}) {
  const handle = useRoom(location.origin, room, { name });
  const snapshot = useRoomSnapshot(handle);
  const [copied, setCopied] = useState(false);
  const [historyOpen, setHistoryOpen] = useState(false);
  const [editor, setEditor] = useState<TiptapEditor | null>(null);

  useEffect(() => {
    document.title = `${title} · Tandem`;
  }, [title]);

  const copyLink = () => {
    void navigator.clipboard?.writeText(location.href).then(() => {
      setCopied(true);
      setTimeout(() => setCopied(false), 1500);
    });
  };

  return (
    <div className="doc-page">
      <header className="topbar">
        <BackToDocuments />
        <h1 className="doc-title">{title}</h1>
        <div className="topbar-right">
          <People members={snapshot.members} me={snapshot.me} />
          <button type="button" className="ghost" onClick={copyLink}>
            {copied ? 'Link copied' : 'Copy link'}
          </button>
          <button type="button" className="ghost" aria-pressed={historyOpen} onClick={() => setHistoryOpen((open) => !open)}>
            History
          </button>
          <DownloadMenu room={room} />
          <RenameButton name={name} onRename={onRename} />
          <ConnectionStatus status={snapshot.status} storage={snapshot.storage} />
          {canEdit(snapshot.rights) ? (
            <SaveStatus status={snapshot.status} storage={snapshot.storage} unsaved={snapshot.unsaved} />
          ) : (
            snapshot.me && <span className="tag">Read-only</span>
          )}
        </div>
      </header>
      <main className="doc-main">
        {historyOpen && (
          <HistoryPanel
            room={room}
            editor={editor}
            me={snapshot.me}
            canWrite={canEdit(snapshot.rights)}
            onClose={() => setHistoryOpen(false)}
          />
        )}
        {handle && (
          <Editor
            handle={handle}
            me={snapshot.me}
            name={name}
            color={snapshot.me?.color ?? colorForName(name)}
            editable={canEdit(snapshot.rights)}
            onEditor={setEditor}
          />
        )}
      </main>
      <aside className="sidebar">
        {handle && (
          <ChatPanel
            handle={handle}
            canWrite={canChat(snapshot.rights)}
            me={snapshot.me}
            chat={snapshot.chat}
            pending={snapshot.pendingChat}
            typing={snapshot.typing}
            older={snapshot.olderChat}
          />
        )}
        <ActivityPanel handle={handle} activity={snapshot.activity} older={snapshot.olderActivity} />
      </aside>
    </div>
  );
}
