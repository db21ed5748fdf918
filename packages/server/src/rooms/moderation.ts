import { CloseCode, errorMessage } from '@tandem/protocol';
import type { Connection } from './connection.js';

/** What an administrator's closes tell the client, by close code. */
const ADMIN_CLOSES = {
  [CloseCode.disconnectedByAdmin]: { reason: 'disconnected by an administrator', notice: 'An administrator disconnected you.' },
  [CloseCode.roomClosedByAdmin]: { reason: 'room closed by an administrator', notice: null },
  [CloseCode.documentDeleted]: { reason: 'the document was deleted', notice: null },
} as const;

/** Closes the connections `which` picks with an administrator's close code (clients do not reconnect by themselves). Returns how many. */
export function closeWhere(
  connections: Iterable<Connection>,
  which: (conn: Connection) => boolean,
  code: keyof typeof ADMIN_CLOSES,
): number {
  const { reason, notice } = ADMIN_CLOSES[code];
  let closed = 0;
  for (const conn of [...connections]) {
    if (!which(conn)) continue;
    closed++;
    if (notice) conn.sendJson(errorMessage('forbidden', notice));
    conn.close(code, reason);
  }
  return closed;
}

/** Caps every connection's rights at `comment` while the document is read-only (lifts the cap after); those whose rights change are told. */
export function capRights(connections: Iterable<Connection>, readOnly: boolean): void {
  const reason = readOnly ? 'An administrator made this document read-only.' : 'An administrator made this document editable again.';
  for (const conn of connections) {
    if (conn.session.cap(readOnly ? 'comment' : null) && conn.control) conn.sendJson({ type: 'rights', rights: conn.rights, reason });
  }
}
