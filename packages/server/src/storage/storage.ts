import type { ActivityEntry, AppEvent, ChatMessage } from '@tandem/protocol';

/** A document as the document list shows it. Its room has the same name. */
export interface DocumentInfo {
  name: string;
  title: string;
  createdAt: number;
  updatedAt: number;
  /** An administrator turned editing off: members may read and chat, not edit. */
  readOnly: boolean;
}

/** What a room needs from storage to come back into memory. */
export interface StoredRoom {
  /** Document updates in the order they must be applied: the snapshot first, then the log. */
  updates: Uint8Array[];
  /** How many log rows follow the snapshot; drives compaction. */
  logLength: number;
  /** The newest chat messages and activity entries, oldest first. */
  chat: ChatMessage[];
  activity: ActivityEntry[];
  /** The ids of the newest chat messages (up to the de-duplication window), oldest first. */
  recentChatIds: Array<{ id: string; seq: number }>;
  chatSeq: number;
  activitySeq: number;
  eventSeq: number;
  /** The document is read-only (see DocumentInfo). */
  readOnly: boolean;
  /** Cluster mode: the id in the room's Redis stream up to which the stored document and logs reach ('0-0': none). */
  logPosition?: string;
}

/** Everything one room wrote since the last flush. */
export interface RoomWrites {
  /** When set, the stored document is replaced by this snapshot and its update log dropped. */
  snapshot?: Uint8Array;
  /** Updates appended to the log (after the snapshot when both are set). */
  updates: Uint8Array[];
  chat: ChatMessage[];
  activity: ActivityEntry[];
  events: AppEvent[];
}

export interface LoadOptions {
  /** How many chat messages and activity entries to return. */
  tail: number;
  /** How many recent chat ids to return for de-duplication. */
  dedupeWindow: number;
}

/** How much activity and event history a room keeps (see the README's Durability section). */
export interface Retention {
  /** Newest activity entries and events kept per room; older ones are deleted as new ones come. */
  keep: number;
  /** Activity entries older than this are deleted too (the newest one always stays, to hold the seq). */
  maxAgeMs: number;
}

export const DEFAULT_RETENTION: Retention = { keep: 1_000, maxAgeMs: 90 * 24 * 3_600_000 };

/** A stored version of a document (see history/versioner.ts), without its state. */
export interface VersionInfo {
  id: number;
  time: number;
  /** Set for versions saved by name; automatic versions have none. */
  name: string | null;
  /** Who edited since the previous version. */
  authors: Array<{ id: string; name: string }>;
  /** Bytes of the stored state. */
  size: number;
}

export interface NewVersion {
  time: number;
  name: string | null;
  authors: VersionInfo['authors'];
  /** The whole document, as `Y.encodeStateAsUpdate` gives it. */
  state: Uint8Array;
}

/** Which versions a document keeps: named ones always, the newest always, automatic ones within both limits. */
export interface VersionRetention {
  /** Newest automatic versions kept per document. */
  keep: number;
  /** Automatic versions older than this are deleted. */
  maxAgeMs: number;
}

/**
 * The storage seam: SQLite now, PostgreSQL when clustered. A backend must apply one `write`
 * atomically (all rooms of the batch or none) and return entries in sequence order. It never
 * deletes the newest entry of a log, so the next seq never repeats one that was handed out.
 */
export interface Storage {
  loadRoom(room: string, options: LoadOptions): Promise<StoredRoom>;
  readChat(room: string, afterSeq: number, limit: number): Promise<ChatMessage[]>;
  readActivity(room: string, afterSeq: number, limit: number): Promise<ActivityEntry[]>;
  /** The newest `limit` entries of a log with a seq below `beforeSeq`, oldest first (scrolling back). */
  readChatBefore(room: string, beforeSeq: number, limit: number): Promise<ChatMessage[]>;
  readActivityBefore(room: string, beforeSeq: number, limit: number): Promise<ActivityEntry[]>;
  /** Also records each room of the batch as a document, touching its `updatedAt`. */
  write(batch: ReadonlyMap<string, RoomWrites>): Promise<void>;
  /** Registers a new document; fails if the name is taken. */
  createDocument(name: string, title: string): Promise<DocumentInfo>;
  getDocument(name: string): Promise<DocumentInfo | null>;
  /** The most recently updated documents first. */
  listDocuments(limit: number): Promise<DocumentInfo[]>;
  /** Turns editing of a document off or on, registering the document if it is not yet. */
  setReadOnly(name: string, readOnly: boolean): Promise<DocumentInfo>;
  /** Changes a document's title, registering the document if it is not yet. */
  renameDocument(name: string, title: string): Promise<DocumentInfo>;
  /** Deletes the document and everything stored of its room, in one transaction. Returns whether there was anything. */
  deleteDocument(name: string): Promise<boolean>;
  /**
   * Stores a version unless its state equals the newest stored one's (same sha256): then an
   * automatic version is not stored (null), and a named one names that newest version if it has no name yet.
   */
  saveVersion(room: string, version: NewVersion): Promise<VersionInfo | null>;
  /** Newest first. */
  listVersions(room: string, limit: number): Promise<VersionInfo[]>;
  getVersion(room: string, id: number): Promise<(VersionInfo & { state: Uint8Array }) | null>;
  /** Deletes the versions the retention does not keep; returns how many. */
  pruneVersions(room: string, retention: VersionRetention, now: number): Promise<number>;
  close(): Promise<void>;
}

/** A room's shared log folded into storage up to `position` (cluster mode; see cluster/compactor.ts). */
export interface LogCompaction {
  snapshot: Uint8Array;
  /** The stream id of the last entry folded in. */
  position: string;
  chat: ChatMessage[];
  activity: ActivityEntry[];
  events: AppEvent[];
}

/** Storage that nodes share (PostgreSQL), and that the cluster compacts rooms' streams into. */
export interface SharedStorage extends Storage {
  /**
   * Replaces the room's snapshot by `compaction.snapshot` and stores its entries, unless the
   * stored snapshot already reaches as far into the stream. Returns whether it replaced it.
   */
  compactFromLog(room: string, compaction: LogCompaction): Promise<boolean>;
  /** Stores entries that may be stored already (those are kept as they are). */
  storeEntries(room: string, entries: Pick<LogCompaction, 'chat' | 'activity' | 'events'>): Promise<void>;
}
