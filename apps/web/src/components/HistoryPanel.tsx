import { useCallback, useEffect, useState, type FormEvent } from 'react';
import type { Member } from '@tandem/client';
import { Mark, type Editor as TiptapEditor, type JSONContent } from '@tiptap/core';
import { EditorContent, useEditor } from '@tiptap/react';
import { yXmlFragmentToProsemirrorJSON } from '@tiptap/y-tiptap';
import * as Y from 'yjs';
import { documentKit } from '../document-kit.js';
import { formatTime } from '../time.js';
import { INSERTED, markChanges, REMOVED } from '../version-diff.js';
import { fetchVersionState, listVersions, recordRestore, saveVersion, type VersionSummary } from '../versions-api.js';

const DiffMarks = [
  Mark.create({ name: INSERTED, parseHTML: () => [{ tag: 'ins' }], renderHTML: ({ HTMLAttributes }) => ['ins', HTMLAttributes, 0] }),
  Mark.create({ name: REMOVED, parseHTML: () => [{ tag: 'del' }], renderHTML: ({ HTMLAttributes }) => ['del', HTMLAttributes, 0] }),
];

/** A version's document as ProseMirror JSON (the editor binds the fragment `content`). */
async function versionContent(room: string, id: number): Promise<JSONContent> {
  const doc = new Y.Doc();
  Y.applyUpdate(doc, await fetchVersionState(room, id));
  const json = yXmlFragmentToProsemirrorJSON(doc.getXmlFragment('content')) as JSONContent;
  doc.destroy();
  return json;
}

function describe(version: VersionSummary): string {
  const authors = version.authors.map((author) => author.name).join(', ');
  return authors || 'No recorded editors';
}

/** A read-only rendering of a version, by the editor's own schema, with the changes since the previous version marked. */
function Preview({ content }: { content: JSONContent }) {
  const editor = useEditor(
    {
      extensions: [documentKit, ...DiffMarks],
      content,
      editable: false,
      injectCSS: false,
      editorProps: { attributes: { class: 'prose', 'aria-label': 'Version preview', role: 'document' } },
    },
    [content],
  );
  return <EditorContent editor={editor} className="editor-content version-preview" />;
}

/**
 * The document's versions, newest first: save a named one, preview one (what changed since the
 * one before is marked) and restore it. A restore is made in this user's own editor, so that
 * it merges like any edit and its undo takes it back; the server only records it.
 */
export function HistoryPanel({
  room,
  editor,
  me,
  canWrite,
  onClose,
}: {
  room: string;
  editor: TiptapEditor | null;
  me: Member | null;
  canWrite: boolean;
  onClose: () => void;
}) {
  const [versions, setVersions] = useState<VersionSummary[] | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [naming, setNaming] = useState(false);
  const [label, setLabel] = useState('');
  const [selected, setSelected] = useState<{ version: VersionSummary; content: JSONContent; marked: JSONContent } | null>(null);
  const [busy, setBusy] = useState(false);

  const refresh = useCallback(() => {
    listVersions(room).then(setVersions, (e: Error) => setError(e.message));
  }, [room]);
  useEffect(refresh, [refresh]);

  const save = (event: FormEvent) => {
    event.preventDefault();
    const name = label.trim();
    if (!name) return;
    setBusy(true);
    saveVersion(room, name)
      .then(() => (setNaming(false), setLabel(''), refresh()))
      .catch((e: Error) => setError(e.message))
      .finally(() => setBusy(false));
  };

  const select = (version: VersionSummary, index: number) => {
    const previous = versions?.[index + 1];
    setError(null);
    Promise.all([versionContent(room, version.id), previous ? versionContent(room, previous.id) : null]).then(
      ([content, before]) => setSelected({ version, content, marked: markChanges(before, content) }),
      (e: Error) => setError(e.message),
    );
  };

  const restore = () => {
    if (!selected || !editor) return;
    // One editor transaction: synced like typing, and undone by this user's undo.
    editor.commands.setContent(selected.content, { emitUpdate: true });
    recordRestore(room, selected.version.id, me).catch((e: Error) => setError(e.message));
    setSelected(null);
    onClose();
  };

  return (
    <section className="history" aria-label="Version history">
      <header className="history-head">
        <h2>Version history</h2>
        {canWrite && !naming && (
          <button type="button" onClick={() => setNaming(true)}>
            Save version…
          </button>
        )}
        <button type="button" className="ghost" onClick={onClose}>
          Close history
        </button>
      </header>
      {naming && (
        <form className="history-save" onSubmit={save}>
          <input aria-label="Version name" value={label} maxLength={120} autoFocus onChange={(e) => setLabel(e.target.value)} />
          <button type="submit" disabled={busy || !label.trim()}>
            Save
          </button>
          <button type="button" className="ghost" onClick={() => setNaming(false)}>
            Cancel
          </button>
        </form>
      )}
      {error && (
        <p role="alert" className="error">
          {error}
        </p>
      )}
      <div className="history-body">
        <ol className="history-list" aria-label="Versions">
          {versions?.length === 0 && <li className="muted">No versions yet: one is kept once editing pauses.</li>}
          {versions?.map((version, index) => (
            <li key={version.id}>
              <button
                type="button"
                className={selected?.version.id === version.id ? 'version selected' : 'version'}
                aria-pressed={selected?.version.id === version.id}
                onClick={() => select(version, index)}
              >
                <strong>{version.name ?? formatTime(version.time)}</strong>
                {version.name && <time dateTime={new Date(version.time).toISOString()}>{formatTime(version.time)}</time>}
                <span className="muted">{describe(version)}</span>
              </button>
            </li>
          ))}
        </ol>
        {selected && (
          <div className="history-preview">
            <div className="history-preview-head">
              <span>
                {selected.version.name ?? 'Version'} of {formatTime(selected.version.time)} · changes since the previous version are marked
              </span>
              {canWrite && (
                <button type="button" onClick={restore} disabled={!editor}>
                  Restore this version
                </button>
              )}
            </div>
            <Preview content={selected.marked} />
          </div>
        )}
      </div>
    </section>
  );
}
