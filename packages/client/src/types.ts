import type { ActivityEntry, ChatMessage, Member, Rights } from '@tandem/protocol';
import type * as Y from 'yjs';
import type { BackoffOptions } from './backoff.js';
import type { PendingChat } from './chat.js';
import type { RoomErrorCode, Status, TokenSource, WebSocketLike } from './connection.js';

export interface ConnectOptions {
  /** The display name to join with. Without a name the connection syncs the document only. */
  name?: string;
  /** Defaults to globalThis.WebSocket; pass `WebSocket` from the `ws` package on Node 20. */
  WebSocket?: WebSocketLike;
  /** An existing document to bind (for example one an editor already holds). */
  doc?: Y.Doc;
  backoff?: Partial<BackoffOptions>;
  /** How many chat messages and activity entries the handle keeps in memory. */
  historyLimit?: number;
  /**
   * A token for servers that require one, or a function returning one (called for every
   * connection attempt and when the server asks for a fresh token before the current expires).
   */
  token?: TokenSource;
}

/** Whether the server can store what this handle sends (see the `storage` message of the protocol). */
export type StorageStatus = { state: 'ok' } | { state: 'failing'; message: string };

export interface RoomSnapshot {
  status: Status;
  synced: boolean;
  me: Member | null;
  /** What this member may do (known once joined; `write` until then). */
  rights: Rights;
  members: readonly Member[];
  chat: readonly ChatMessage[];
  pendingChat: readonly PendingChat[];
  activity: readonly ActivityEntry[];
  /** Other members typing right now. */
  typing: readonly Member[];
  storage: StorageStatus;
  /** Whether this handle holds local document changes the server has not yet confirmed durable. */
  unsaved: boolean;
  /** Whether older chat (activity) than the oldest held may be loaded with `loadOlder`. */
  olderChat: boolean;
  olderActivity: boolean;
}

export type RoomEvents = {
  status: (status: Status) => void;
  storage: (storage: StorageStatus) => void;
  /** Every local document change so far is durable on the server (`unsaved` turned false). */
  saved: () => void;
  synced: () => void;
  members: (members: readonly Member[]) => void;
  chat: (message: ChatMessage) => void;
  activity: (entry: ActivityEntry) => void;
  typing: (typing: readonly Member[]) => void;
  event: (name: string, data: unknown, from: Member) => void;
  error: (error: { code: RoomErrorCode; message: string; ref?: string }) => void;
  /** Anything in the snapshot changed. */
  change: () => void;
};
