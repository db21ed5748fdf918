import { useEffect, useId, useLayoutEffect, useRef, useState, type FormEvent } from 'react';
import type { ChatMessage, Member, PendingChat, RoomHandle } from '@tandem/client';
import { LIMITS } from '@tandem/protocol';
import { formatTime } from '../time.js';

function typingText(typing: readonly Member[]): string {
  const names = typing.map((m) => m.name);
  if (names.length === 0) return '';
  if (names.length === 1) return `${names[0]} is typing…`;
  if (names.length === 2) return `${names[0]} and ${names[1]} are typing…`;
  return `${names.length} people are typing…`;
}

interface ChatPanelProps {
  handle: RoomHandle;
  canWrite: boolean;
  me: Member | null;
  chat: readonly ChatMessage[];
  pending: readonly PendingChat[];
  typing: readonly Member[];
  /** Older messages than those shown may be loaded from the server. */
  older: boolean;
}

/** Within this many pixels of the top of the list, scrolling up loads older messages. */
const LOAD_OLDER_AT_PX = 40;

export function ChatPanel({ handle, canWrite, me, chat, pending, typing, older }: ChatPanelProps) {
  const [open, setOpen] = useState(() => !matchMedia('(max-width: 800px)').matches);
  const [draft, setDraft] = useState('');
  const newestSeq = chat.at(-1)?.seq ?? 0;
  const [seenSeq, setSeenSeq] = useState(newestSeq);
  const listRef = useRef<HTMLOListElement>(null);
  const bodyId = useId();
  const [loadingOlder, setLoadingOlder] = useState(false);
  const [olderProblem, setOlderProblem] = useState<string | null>(null);
  /** The list's height before older messages were put above: the view stays on what the reader was looking at. */
  const heightBeforeOlder = useRef<number | null>(null);

  // While the panel is open everything is seen; while collapsed, others' new messages count as unread.
  useEffect(() => {
    if (open) setSeenSeq(newestSeq);
  }, [open, newestSeq]);
  const unread = open ? 0 : chat.filter((m) => m.seq > seenSeq && m.author.name !== me?.name).length;

  useLayoutEffect(() => {
    const list = listRef.current;
    if (list) list.scrollTop = list.scrollHeight;
  }, [newestSeq, pending.length, open]);

  const oldestSeq = chat[0]?.seq;
  useLayoutEffect(() => {
    const list = listRef.current;
    if (!list || heightBeforeOlder.current === null) return;
    list.scrollTop += list.scrollHeight - heightBeforeOlder.current;
    heightBeforeOlder.current = null;
  }, [oldestSeq]);

  const loadOlder = () => {
    if (loadingOlder || !older) return;
    setLoadingOlder(true);
    setOlderProblem(null);
    heightBeforeOlder.current = listRef.current?.scrollHeight ?? null;
    handle.loadOlder('chat').then(
      () => setLoadingOlder(false),
      (error: unknown) => {
        heightBeforeOlder.current = null;
        setLoadingOlder(false);
        setOlderProblem(error instanceof Error ? error.message : String(error));
      },
    );
  };

  const send = (event: FormEvent) => {
    event.preventDefault();
    const text = draft.trim();
    if (!text) return;
    handle.sendChat(text);
    handle.setTyping(false);
    setDraft('');
  };

  return (
    <section className={`panel chat ${open ? 'open' : 'collapsed'}`} aria-label="Chat">
      <h2>
        <button type="button" className="panel-toggle" aria-expanded={open} aria-controls={bodyId} onClick={() => setOpen(!open)}>
          Chat
          {unread > 0 && (
            <span className="badge" aria-label={`${unread} unread`}>
              {unread}
            </span>
          )}
        </button>
      </h2>
      <div id={bodyId} className="chat-body" hidden={!open}>
        <ol
          className="messages"
          ref={listRef}
          onScroll={(event) => {
            if (event.currentTarget.scrollTop < LOAD_OLDER_AT_PX) loadOlder();
          }}
        >
          {older && (
            <li className="load-older">
              <button type="button" className="ghost small" disabled={loadingOlder} onClick={loadOlder}>
                {loadingOlder ? 'Loading earlier messages…' : 'Load earlier messages'}
              </button>
              {olderProblem && <span className="muted small">{olderProblem}</span>}
            </li>
          )}
          {chat.length === 0 && pending.length === 0 && <li className="muted empty">No messages yet. Say hello!</li>}
          {chat.map((message) => (
            <li key={message.seq} className={message.author.id === me?.id ? 'mine' : undefined}>
              <div className="message-meta">
                <span className="author" style={{ color: message.author.color }}>
                  {message.author.name}
                </span>
                <time dateTime={new Date(message.time).toISOString()}>{formatTime(message.time)}</time>
              </div>
              <p>{message.text}</p>
            </li>
          ))}
          {pending.map((message) => (
            <li key={message.id} className="mine pending">
              <div className="message-meta">
                <span className="author" style={{ color: me?.color }}>
                  {me?.name ?? 'You'}
                </span>
                <span className="pending-label">Sending…</span>
              </div>
              <p>{message.text}</p>
            </li>
          ))}
        </ol>
        <p className="typing" aria-live="polite">
          {typingText(typing)}
        </p>
        {!canWrite && <p className="muted read-only-note">You can read this chat but not write in it.</p>}
        <form className="composer" onSubmit={send} hidden={!canWrite}>
          <input
            aria-label="Message"
            placeholder="Write a message"
            value={draft}
            maxLength={LIMITS.chatLength}
            autoComplete="off"
            onChange={(event) => {
              setDraft(event.target.value);
              handle.setTyping(event.target.value.length > 0);
            }}
          />
          <button type="submit" className="primary" disabled={!draft.trim()}>
            Send
          </button>
        </form>
      </div>
    </section>
  );
}
