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
  /** The document was deleted (by an administrator, or through the API); the client should not reconnect by itself. */
  documentDeleted: 4003,
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
  CloseCode.documentDeleted,
]);

/** Codes carried by an `error` control message, with what they mean. */
export const ErrorCodes = {
  bad_message: 'The message is not valid JSON or does not match the schema for its type.',
  not_joined: 'The message needs a member: send `join` first.',
  already_joined: 'This connection has joined already; use `rename` to change the name.',
  room_unavailable: 'The room could not be loaded; the connection is closed and may retry.',
  resume_failed: 'Missed chat or activity could not be read from storage; try `resume` again.',
  history_failed: 'Older chat or activity could not be read from storage; send `history` again.',
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

/**
 * Codes in the body of every HTTP error answer — the document and admin APIs, /metrics, and
 * refused WebSocket handshakes alike: `{"error": "<reason for people>", "code": "<one of these>"}`.
 */
export const HttpErrorCodes = {
  bad_request:
    'The request is malformed: not valid JSON, a body that does not match the schema (the reason names the field), or a bad parameter.',
  invalid_name: 'The document name breaks the room name rules (1–128 characters, no `/`, no control characters).',
  unauthorized: 'A token is needed and is missing, malformed, badly signed or expired.',
  forbidden: 'The token gives no right to do this here, or the admin API is off.',
  origin_not_allowed: 'The origin of the page may not open WebSockets on this server (see `ALLOWED_ORIGINS`).',
  not_found: 'There is no such document, route or file.',
  conflict: 'A document with that name exists already.',
  invalid_content: 'The content given (Markdown, HTML, text or ProseMirror JSON) does not fit the document schema.',
  too_large: 'The request body is larger than the route accepts.',
  unsupported_media_type: 'The body is not JSON.',
  rate_limited: 'Too many handshakes or connections from this address.',
  unavailable: 'The server is shutting down; try again later (another node, or this one once restarted).',
  room_full: 'The room has as many connections as the server allows (`MAX_CONNECTIONS_PER_ROOM`); try again later.',
  internal: 'The server failed unexpectedly; the error is logged.',
} as const;
export type HttpErrorCode = keyof typeof HttpErrorCodes;

export interface HttpErrorBody {
  error: string;
  code: HttpErrorCode;
}
