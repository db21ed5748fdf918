export { connect, RoomHandle } from './room.js';
export { roomUrl } from './url.js';
export type { ConnectOptions, RoomEvents, RoomSnapshot, StorageStatus } from './types.js';
export type { HistoryLog, PendingChat } from './chat.js';
export type { HandshakeRefusal, RoomErrorCode, Status, TokenSource, WebSocketLike } from './connection.js';
export { backoffDelay, DEFAULT_BACKOFF, type BackoffOptions } from './backoff.js';
export { canChat, canEdit, type ActivityEntry, type ChatMessage, type JsonValue, type Member, type Rights } from '@tandem/protocol';
