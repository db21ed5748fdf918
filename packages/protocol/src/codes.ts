/**
 * The one catalog of close codes and error codes Tandem uses. Every code a client can
 * see is defined here, documented in docs/protocol.md (a test checks that), and imported
 * by both the server and the client.
 */

/** WebSocket close codes the server sends, with the reason text it uses. */
export const CloseCode = {
  /** The client closed the connection normally. */
  normal: 1000,
  /** The server is shutting down; reconnect later. */
  goingAway: 1001,
  /** The frame kind is not accepted on this connection (for example text on a plain Yjs connection). */
  unsupportedData: 1003,
  /** A binary frame could not be decoded as a Yjs message. */
  invalidPayload: 1007,
  /** The client broke a rule the server enforces: a rate limit kept up, an expired token, a flood before its room loaded. */
  policyViolation: 1008,
  /** A frame was larger than the server accepts, or an update would make the document too large. */
  messageTooBig: 1009,
  /** The server could not serve the room (for example its stored state failed to load). */
  internalError: 1011,
  /** The server cannot take more edits until its storage (or, in a cluster, Redis) works again; reconnect later. */
  tryAgainLater: 1013,
  /** An administrator disconnected this member; the client should not reconnect by itself. */
  disconnectedByAdmin: 4001,
  /** An administrator closed the room; the client should not reconnect by itself. */
  roomClosedByAdmin: 4002,
} as const;
export type CloseCode = (typeof CloseCode)[keyof typeof CloseCode];

/**
 * Close codes after which a client should not reconnect on its own: retrying cannot help. (After
 * 1008 — rate limit, expired token — a retry with backoff and a fresh token can.)
 */
export const FATAL_CLOSE_CODES: ReadonlySet<number> = new Set([
  CloseCode.unsupportedData,
  CloseCode.disconnectedByAdmin,
  CloseCode.roomClosedByAdmin,
]);

/** Codes carried by an `error` control message, with what they mean. */
export const ErrorCodes = {
  bad_message: 'The message is not valid JSON or does not match the schema for its type.',
  not_joined: 'The message needs a member: send `join` first.',
  already_joined: 'This connection has joined already; use `rename` to change the name.',
  room_unavailable: 'The room could not be loaded; the connection is closed and may retry.',
  resume_failed: 'Missed chat or activity could not be read from storage; try `resume` again.',
  read_only: 'This member may not edit the document; the update was not applied.',
  forbidden: 'This member may not do that here (for example chat with read rights, or re-authenticate as someone else).',
  too_large: 'The update would make the document larger than the server allows; it was not applied.',
  rate_limited:
    'The connection sends faster than allowed; the server reads from it more slowly now and closes it with 1008 if it keeps on.',
  token_expiring: 'The token expires soon: send `auth` with a fresh one, or the connection is closed with 1008 when it expires.',
  token_expired: 'The token expired without a fresh one; the connection is closed with 1008.',
  unauthorized: 'The token sent with `auth` is not valid; the old one stays in force until it expires.',
  storage_failed:
    'The server cannot store changes right now (for example its disk is full). It keeps what it holds in memory and acknowledges nothing new until storage works again; a `storage` message says when it does.',
  storage_backlog:
    'Storage has been failing long enough that this room holds as much unstored chat, events or edits as it may; the message or update was not taken. Chat: send it again later. An edit: the connection is closed with 1013, and the reconnect sync sends it again.',
} as const;
export type ErrorCode = keyof typeof ErrorCodes;
