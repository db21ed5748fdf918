import type { ActivityEntry, AppEvent, ChatMessage } from '@tandem/protocol';
import type { LoadOptions, RoomWrites, Storage, StoredRoom } from './storage.js';
import type { StorageHealth } from './health.js';

/**
 * What became durable for one room, in the room's order. On one node (WriteBehind) that is what
 * this node queued, once committed; in a cluster (StreamLog) it is every node's entries as read
 * from the room's shared log, this node's own among them.
 */
export interface CommittedBatch {
  /** Document updates other nodes appended, to apply here. */
  remoteUpdates: Uint8Array[];
  /** How many of this node's own document updates, oldest first, are now durable. */
  ownUpdates: number;
  chat: ChatMessage[];
  activity: ActivityEntry[];
  events: AppEvent[];
  /** How many of `chat` and `events` this node queued (the rest came from other nodes). */
  ownEntries: number;
  /** Chat messages this node queued that the log already held under their id (a re-send): the seq they have. */
  duplicates: Array<{ id: string; seq: number }>;
}

/** What a node holds of a room in memory: all of its document, and its newest chat and activity. */
export interface RoomCopy {
  document: Uint8Array;
  chat: ChatMessage[];
  activity: ActivityEntry[];
}

/** Reads one of a room's logs (chat or activity) beyond what the room holds in memory, oldest first. */
export interface StoredLog<T> {
  after(afterSeq: number, limit: number): Promise<T[]>;
  /** The newest `limit` entries with a seq below `beforeSeq`. */
  before(beforeSeq: number, limit: number): Promise<T[]>;
}

/** Where a room's committed chat and activity are read from: what members missed, or scroll back to. */
export interface StoredHistory {
  chat: StoredLog<ChatMessage>;
  activity: StoredLog<ActivityEntry>;
}

/** A room's history as storage holds it (on one node, storage holds everything committed). */
export function storedHistory(storage: Storage, room: string): StoredHistory {
  return {
    chat: {
      after: (afterSeq, limit) => storage.readChat(room, afterSeq, limit),
      before: (beforeSeq, limit) => storage.readChatBefore(room, beforeSeq, limit),
    },
    activity: {
      after: (afterSeq, limit) => storage.readActivity(room, afterSeq, limit),
      before: (beforeSeq, limit) => storage.readActivityBefore(room, beforeSeq, limit),
    },
  };
}

/** A single node's commit, as a CommittedBatch: everything in it is its own. */
export function committedWrites(writes: RoomWrites): CommittedBatch {
  return {
    remoteUpdates: [],
    ownUpdates: writes.updates.length,
    chat: writes.chat,
    activity: writes.activity,
    events: writes.events,
    ownEntries: writes.chat.length + writes.events.length,
    duplicates: [],
  };
}

/**
 * Where rooms put what they write, and where they learn it is durable: the storage's write-behind
 * queue on one node, the room's Redis stream in a cluster. Entries are queued with provisional
 * seqs; the log decides the final ones (on one node they are the same).
 */
export interface RoomLog {
  readonly health: StorageHealth;
  loadRoom(room: string, options: LoadOptions): Promise<StoredRoom>;
  /** The room left this node's memory. */
  release(room: string): void;
  /** Where the room's committed chat and activity are read from (the room holds only the newest in memory). */
  history(room: string): StoredHistory;
  appendUpdate(room: string, update: Uint8Array): void;
  appendChat(room: string, message: ChatMessage): void;
  appendActivity(room: string, entry: ActivityEntry): void;
  appendEvent(room: string, event: AppEvent): void;
  /** The room's document may be stored as one snapshot, taken by `snapshot()` when the log gets to it. */
  compact(room: string, snapshot: () => Uint8Array): void;
  /** Bytes of the room's document updates queued and not yet durable. */
  unsavedBytes(room: string): number;
  /** Resolves once everything queued so far is durable; rejects while that fails. */
  flush(): Promise<void>;
  /** Drops what is queued for the room and appends nothing more of it (it was deleted; the room is closed). */
  discard(room: string): void;
  /**
   * Drops what is queued for the room and deletes everything stored of it (the room has been
   * closed and released first). Returns whether anything was stored.
   */
  deleteRoom(room: string): Promise<boolean>;
}
