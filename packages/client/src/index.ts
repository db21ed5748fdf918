export {
  connect,
  roomUrl,
  RoomHandle,
  type ConnectOptions,
  type PendingChat,
  type RoomErrorCode,
  type RoomEvents,
  type RoomSnapshot,
  type Status,
  type StorageStatus,
  type WebSocketLike,
} from './room.js';
export { backoffDelay, DEFAULT_BACKOFF, type BackoffOptions } from './backoff.js';
export { canChat, canEdit, type ActivityEntry, type ChatMessage, type JsonValue, type Member, type Rights } from '@tandem/protocol';
