import { useEffect, useState, type FormEvent } from 'react';
import { CloseCode } from '@tandem/protocol';
import {
  ApiError,
  closeRoom,
  compactRoom,
  deleteDocument,
  disconnectMember,
  getAdminOverview,
  setReadOnly,
  type AdminMember,
  type AdminOverview,
  type AdminRoom,
} from '../api.js';
import { formatBytes } from '../bytes.js';
import { useStoredAdminToken } from '../identity.js';
import { formatAgo, formatTime } from '../time.js';
import { BackToDocuments } from './BackToDocuments.js';

const REFRESH_MS = 2_000;

const closeCodeNames = new Map<string, string>(
  Object.entries(CloseCode).map(([name, code]) => [String(code), name.replace(/[A-Z]/g, (letter) => ` ${letter.toLowerCase()}`)]),
);

/** What a failed admin call means for the person at the page, and what to do about it. */
function explain(error: unknown): string {
  const { status, message } = error instanceof ApiError ? error : new ApiError(0, String(error));
  switch (status) {
    case 0:
      return `Cannot reach the server (${message}). Check that Tandem is running; this page keeps trying every ${REFRESH_MS / 1000} s.`;
    case 401:
      return 'The server did not accept that token. Enter the ADMIN_TOKEN the server was started with.';
    case 403:
      return 'The admin API is off on this server. Start it with ADMIN_TOKEN set (16 characters or more), then try again.';
    default:
      return `The server answered ${status}: ${message}`;
  }
}

function TokenForm({ problem, onToken }: { problem: string | null; onToken: (token: string) => void }) {
  const [draft, setDraft] = useState('');
  const submit = (event: FormEvent) => {
    event.preventDefault();
    if (draft.trim()) onToken(draft.trim());
  };
  return (
    <main className="join">
      <form className="join-card" onSubmit={submit}>
        <h1 className="brand">Tandem admin</h1>
        <p className="muted">Enter the ADMIN_TOKEN the server runs with. This tab keeps it until you close it or forget it.</p>
        {problem && (
          <p className="error" role="alert">
            {problem}
          </p>
        )}
        <label className="field">
          <span>Admin token</span>
          <input type="password" autoFocus autoComplete="off" value={draft} onChange={(event) => setDraft(event.target.value)} />
        </label>
        <button className="primary" type="submit" disabled={!draft.trim()}>
          Sign in
        </button>
      </form>
    </main>
  );
}

function Counts({ caption, counts, names }: { caption: string; counts: Record<string, number>; names?: ReadonlyMap<string, string> }) {
  const entries = Object.entries(counts).sort(([a], [b]) => a.localeCompare(b));
  return (
    <table className="admin-table">
      <caption>{caption}</caption>
      <tbody>
        {entries.length === 0 ? (
          <tr>
            <td className="muted">None</td>
          </tr>
        ) : (
          entries.map(([code, count]) => (
            <tr key={code}>
              <th scope="row">
                {code} {names?.has(code) && <span className="muted">{names.get(code)}</span>}
              </th>
              <td className="num">{count}</td>
            </tr>
          ))
        )}
      </tbody>
    </table>
  );
}

interface RoomActions {
  busy: boolean;
  disconnect: (room: AdminRoom, member: AdminMember) => void;
  compact: (room: AdminRoom) => void;
  close: (room: AdminRoom) => void;
  setReadOnly: (room: AdminRoom, readOnly: boolean) => void;
  delete: (room: AdminRoom) => void;
}

function RoomsTable({ rooms, actions }: { rooms: AdminRoom[]; actions: RoomActions }) {
  return (
    <div className="table-scroll">
      <table className="admin-table">
        <caption>Rooms</caption>
        <thead>
          <tr>
            <th scope="col">Room</th>
            <th scope="col" className="num">
              Connections
            </th>
            <th scope="col">Members</th>
            <th scope="col" className="num">
              Document
            </th>
            <th scope="col" className="num">
              Messages/s
            </th>
            <th scope="col">Actions</th>
          </tr>
        </thead>
        <tbody>
          {rooms.length === 0 && (
            <tr>
              <td colSpan={6} className="muted">
                No rooms are loaded on this server right now.
              </td>
            </tr>
          )}
          {rooms.map((room) => (
            <tr key={room.name}>
              <th scope="row">
                <span className="room-name">{room.name}</span>
                {room.readOnly && <span className="tag">read-only</span>}
                <span className="muted small">loaded {formatAgo(room.loadedAt)}</span>
              </th>
              <td className="num">{room.connections}</td>
              <td>
                {room.members.length === 0 ? (
                  <span className="muted">Nobody</span>
                ) : (
                  <ul className="admin-members">
                    {room.members.map((member) => (
                      <li key={member.id}>
                        <span className="dot" style={{ backgroundColor: member.color }} aria-hidden="true" />
                        <span title={member.id}>{member.name}</span>
                        <button
                          type="button"
                          className="small"
                          aria-label={`Disconnect ${member.name}`}
                          disabled={actions.busy}
                          onClick={() => actions.disconnect(room, member)}
                        >
                          Disconnect
                        </button>
                      </li>
                    ))}
                  </ul>
                )}
              </td>
              <td className="num">{formatBytes(room.documentBytes)}</td>
              <td className="num">{room.messagesPerSecond.toFixed(1)}</td>
              <td>
                <div className="admin-actions">
                  <button type="button" className="small" disabled={actions.busy} onClick={() => actions.compact(room)}>
                    Compact
                  </button>
                  <button type="button" className="small" disabled={actions.busy} onClick={() => actions.setReadOnly(room, !room.readOnly)}>
                    {room.readOnly ? 'Make editable' : 'Make read-only'}
                  </button>
                  <button type="button" className="small danger" disabled={actions.busy} onClick={() => actions.close(room)}>
                    Close room
                  </button>
                  <button type="button" className="small danger" disabled={actions.busy} onClick={() => actions.delete(room)}>
                    Delete
                  </button>
                </div>
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

/** /admin: the live rooms of this server and actions on them, through the admin API (ADMIN_TOKEN). */
export function AdminPage() {
  const [token, setToken] = useStoredAdminToken();
  const [overview, setOverview] = useState<{ data: AdminOverview; at: number } | null>(null);
  const [problem, setProblem] = useState<string | null>(null);
  const [notice, setNotice] = useState<{ text: string; failed: boolean } | null>(null);
  const [busy, setBusy] = useState(false);
  // Bumped to load again now (after an action, or "Try again").
  const [reloads, setReloads] = useState(0);

  useEffect(() => {
    document.title = 'Admin · Tandem';
  }, []);

  useEffect(() => {
    if (token === null) return;
    let live = true;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const load = () => {
      getAdminOverview(token).then(
        (data) => {
          if (!live) return;
          setOverview({ data, at: Date.now() });
          setProblem(null);
          timer = setTimeout(load, REFRESH_MS);
        },
        (error: unknown) => {
          if (!live) return;
          const status = error instanceof ApiError ? error.status : 0;
          setProblem(explain(error));
          if (status === 401) setToken(null);
          // Without access, asking again every 2 s cannot help (and would fill the console with refusals).
          if (status === 401 || status === 403) setOverview(null);
          else timer = setTimeout(load, REFRESH_MS);
        },
      );
    };
    load();
    return () => {
      live = false;
      clearTimeout(timer);
    };
  }, [token, reloads, setToken]);

  if (token === null) {
    return (
      <TokenForm
        problem={problem}
        onToken={(next) => {
          setProblem(null);
          setToken(next);
        }}
      />
    );
  }

  const forget = () => {
    setToken(null);
    setOverview(null);
    setProblem(null);
    setNotice(null);
  };

  const act = async (run: () => Promise<unknown>, done: string, failed: string) => {
    setBusy(true);
    try {
      await run();
      setNotice({ text: done, failed: false });
    } catch (error) {
      setNotice({ text: `${failed}: ${error instanceof ApiError ? error.message : String(error)}`, failed: true });
    }
    setBusy(false);
    setReloads((n) => n + 1);
  };

  const actions: RoomActions = {
    busy,
    disconnect: (room, member) =>
      void act(
        () => disconnectMember(token, room.name, member.id),
        `Disconnected ${member.name} from ${room.name}.`,
        `Could not disconnect ${member.name}`,
      ),
    compact: (room) => void act(() => compactRoom(token, room.name), `Compacted ${room.name}.`, `Could not compact ${room.name}`),
    close: (room) => {
      const question = `Close ${room.name}? Everyone in it (${room.members.length}) is disconnected, and their pages do not reconnect by themselves.`;
      if (confirm(question)) void act(() => closeRoom(token, room.name), `Closed ${room.name}.`, `Could not close ${room.name}`);
    },
    setReadOnly: (room, readOnly) =>
      void act(
        () => setReadOnly(token, room.name, readOnly),
        readOnly ? `${room.name} is read-only now.` : `${room.name} can be edited again.`,
        `Could not change ${room.name}`,
      ),
    delete: (room) => {
      const question = `Delete ${room.name} with all its history? This cannot be undone; everyone in it (${room.members.length}) is disconnected.`;
      if (confirm(question)) void act(() => deleteDocument(token, room.name), `Deleted ${room.name}.`, `Could not delete ${room.name}`);
    },
  };

  const data = overview?.data;
  return (
    <div>
      <header className="topbar">
        <BackToDocuments />
        <h1 className="doc-title">Admin</h1>
        <div className="topbar-right">
          {overview && <span className="muted small">Updated {new Date(overview.at).toLocaleTimeString()}</span>}
          <button type="button" className="ghost" onClick={forget}>
            Forget token
          </button>
        </div>
      </header>
      <main className="admin-main">
        {problem && (
          <div className="error admin-problem" role="alert">
            <p>
              {problem}
              {overview && ` The figures below are from ${new Date(overview.at).toLocaleTimeString()}.`}
            </p>
            <button type="button" onClick={() => setReloads((n) => n + 1)}>
              Try again
            </button>
          </div>
        )}
        {notice && (
          <p className={notice.failed ? 'error' : 'muted'} role="status">
            {notice.text}
          </p>
        )}
        {data ? (
          <>
            <RoomsTable rooms={data.rooms} actions={actions} />
            <p className={`storage-line${data.storage.ok ? '' : ' error'}`}>
              <span className={`status-dot ${data.storage.ok ? 'status-ok' : 'status-offline'}`} aria-hidden="true" />
              {data.storage.ok
                ? 'Storage is working.'
                : `Storage is failing${data.storage.since ? ` since ${formatTime(data.storage.since)}` : ''}: ${data.storage.error ?? 'unknown error'}. Changes are kept in memory until it works again.`}
            </p>
            <div className="admin-counts">
              <Counts caption="Refusals by HTTP status" counts={data.refusals} />
              <Counts caption="Closes by code" counts={data.closes} names={closeCodeNames} />
              <Counts caption="Errors by code" counts={data.errors} />
            </div>
          </>
        ) : (
          !problem && <p className="muted">Loading…</p>
        )}
      </main>
    </div>
  );
}
