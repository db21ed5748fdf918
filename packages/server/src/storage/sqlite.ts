import { mkdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import type { ActivityEntry, ChatMessage } from '@tandem/protocol';
import {
  DEFAULT_RETENTION,
  type DocumentInfo,
  type LoadOptions,
  type Retention,
  type RoomWrites,
  type NewVersion,
  type Storage,
  type StoredRoom,
  type VersionInfo,
  type VersionRetention,
} from './storage.js';
import { SqliteVersions } from './sqlite-versions.js';

/** How often, at most, the WAL's size is checked after a write. */
const WAL_CHECK_MS = 1_000;

/** The database file in a data directory; SQLite keeps its -wal and -shm files beside it. */
export function databaseFile(dataDir: string): string {
  return join(dataDir, 'tandem.db');
}

export interface SqliteOptions {
  retention: Retention;
  /** Past this size the write-ahead log is checkpointed into the database and truncated. */
  walLimitBytes: number;
}

/** Schema changes in order; `PRAGMA user_version` records how many have been applied. */
const MIGRATIONS = [
  `CREATE TABLE doc_snapshots (room TEXT PRIMARY KEY, data BLOB NOT NULL, updated_at INTEGER NOT NULL);
   CREATE TABLE doc_updates (id INTEGER PRIMARY KEY AUTOINCREMENT, room TEXT NOT NULL, data BLOB NOT NULL);
   CREATE INDEX doc_updates_room ON doc_updates (room, id);
   CREATE TABLE chat (room TEXT NOT NULL, seq INTEGER NOT NULL, id TEXT NOT NULL, body TEXT NOT NULL,
                      PRIMARY KEY (room, seq)) WITHOUT ROWID;
   CREATE TABLE activity (room TEXT NOT NULL, seq INTEGER NOT NULL, body TEXT NOT NULL,
                          PRIMARY KEY (room, seq)) WITHOUT ROWID;`,
  `CREATE TABLE documents (name TEXT PRIMARY KEY, title TEXT NOT NULL, created_at INTEGER NOT NULL,
                           updated_at INTEGER NOT NULL);
   CREATE INDEX documents_updated ON documents (updated_at DESC);
   INSERT INTO documents (name, title, created_at, updated_at)
     SELECT room, room, 0, 0 FROM (SELECT room FROM doc_snapshots UNION SELECT room FROM doc_updates);`,
  `CREATE TABLE events (room TEXT NOT NULL, seq INTEGER NOT NULL, body TEXT NOT NULL,
                        PRIMARY KEY (room, seq)) WITHOUT ROWID;
   ALTER TABLE activity ADD COLUMN time INTEGER NOT NULL DEFAULT 0;
   UPDATE activity SET time = json_extract(body, '$.time');`,
  `ALTER TABLE documents ADD COLUMN read_only INTEGER NOT NULL DEFAULT 0;`,
  `CREATE TABLE versions (id INTEGER PRIMARY KEY AUTOINCREMENT, room TEXT NOT NULL, time INTEGER NOT NULL, name TEXT,
                          authors TEXT NOT NULL, hash TEXT NOT NULL, data BLOB NOT NULL);
   CREATE INDEX versions_room ON versions (room, id);`,
];

const DOCUMENT_COLUMNS = 'name, title, created_at AS createdAt, updated_at AS updatedAt, read_only AS readOnly';
type DocumentRow = Omit<DocumentInfo, 'readOnly'> & { readOnly: number };
const toDocument = (row: DocumentRow): DocumentInfo => ({ ...row, readOnly: row.readOnly === 1 });
/** Every table that holds rows of a room, with its room column. */
const ROOM_TABLES = [
  ['doc_snapshots', 'room'],
  ['doc_updates', 'room'],
  ['chat', 'room'],
  ['activity', 'room'],
  ['events', 'room'],
  ['versions', 'room'],
  ['documents', 'name'],
] as const;

/**
 * Embedded storage in one SQLite file (WAL mode). better-sqlite3 is synchronous; its calls are
 * short (indexed reads, one transaction per flush), so they run on the event loop.
 */
export class SqliteStorage implements Storage {
  readonly #db: Database.Database;
  readonly #walPath: string;
  readonly #retention: Retention;
  readonly #walLimitBytes: number;
  readonly #stmt;
  readonly #versions: SqliteVersions;
  #walCheckedAt = 0;

  constructor(dataDir: string, { retention = DEFAULT_RETENTION, walLimitBytes = 16 * 1024 * 1024 }: Partial<SqliteOptions> = {}) {
    mkdirSync(dataDir, { recursive: true });
    const file = databaseFile(dataDir);
    this.#walPath = `${file}-wal`;
    this.#retention = retention;
    this.#walLimitBytes = walLimitBytes;
    this.#db = new Database(file);
    this.#db.pragma('journal_mode = WAL');
    // NORMAL in WAL mode survives a process crash; only an OS crash or power cut can lose the
    // last transactions. See the README's durability section.
    this.#db.pragma('synchronous = NORMAL');
    // After a checkpoint the WAL file is cut back to this size instead of keeping its peak.
    this.#db.pragma(`journal_size_limit = ${walLimitBytes}`);
    this.#migrate();
    const db = this.#db;
    this.#versions = new SqliteVersions(db);
    this.#stmt = {
      snapshot: db.prepare<[string], { data: Buffer }>('SELECT data FROM doc_snapshots WHERE room = ?'),
      updates: db.prepare<[string], { data: Buffer }>('SELECT data FROM doc_updates WHERE room = ? ORDER BY id'),
      chatTail: db.prepare<[string, number], { body: string }>(
        'SELECT body FROM (SELECT seq, body FROM chat WHERE room = ? ORDER BY seq DESC LIMIT ?) ORDER BY seq',
      ),
      chatIds: db.prepare<[string, number], { id: string; seq: number }>(
        'SELECT id, seq FROM (SELECT seq, id FROM chat WHERE room = ? ORDER BY seq DESC LIMIT ?) ORDER BY seq',
      ),
      activityTail: db.prepare<[string, number], { body: string }>(
        'SELECT body FROM (SELECT seq, body FROM activity WHERE room = ? ORDER BY seq DESC LIMIT ?) ORDER BY seq',
      ),
      chatSeq: db.prepare<[string], { seq: number | null }>('SELECT max(seq) AS seq FROM chat WHERE room = ?'),
      activitySeq: db.prepare<[string], { seq: number | null }>('SELECT max(seq) AS seq FROM activity WHERE room = ?'),
      eventSeq: db.prepare<[string], { seq: number | null }>('SELECT max(seq) AS seq FROM events WHERE room = ?'),
      chatAfter: db.prepare<[string, number, number], { body: string }>(
        'SELECT body FROM chat WHERE room = ? AND seq > ? ORDER BY seq LIMIT ?',
      ),
      activityAfter: db.prepare<[string, number, number], { body: string }>(
        'SELECT body FROM activity WHERE room = ? AND seq > ? ORDER BY seq LIMIT ?',
      ),
      chatBefore: db.prepare<[string, number, number], { body: string }>(
        'SELECT body FROM (SELECT seq, body FROM chat WHERE room = ? AND seq < ? ORDER BY seq DESC LIMIT ?) ORDER BY seq',
      ),
      activityBefore: db.prepare<[string, number, number], { body: string }>(
        'SELECT body FROM (SELECT seq, body FROM activity WHERE room = ? AND seq < ? ORDER BY seq DESC LIMIT ?) ORDER BY seq',
      ),
      putSnapshot: db.prepare<[string, Uint8Array, number]>(
        'INSERT INTO doc_snapshots (room, data, updated_at) VALUES (?, ?, ?) ON CONFLICT (room) DO UPDATE SET data = excluded.data, updated_at = excluded.updated_at',
      ),
      dropUpdates: db.prepare<[string]>('DELETE FROM doc_updates WHERE room = ?'),
      putUpdate: db.prepare<[string, Uint8Array]>('INSERT INTO doc_updates (room, data) VALUES (?, ?)'),
      putChat: db.prepare<[string, number, string, string]>('INSERT INTO chat (room, seq, id, body) VALUES (?, ?, ?, ?)'),
      putActivity: db.prepare<[string, number, number, string]>('INSERT INTO activity (room, seq, time, body) VALUES (?, ?, ?, ?)'),
      putEvent: db.prepare<[string, number, string]>('INSERT INTO events (room, seq, body) VALUES (?, ?, ?)'),
      pruneActivity: db.prepare<[string, number]>('DELETE FROM activity WHERE room = ? AND seq <= ?'),
      expireActivity: db.prepare<[string, number, number]>('DELETE FROM activity WHERE room = ? AND seq < ? AND time < ?'),
      pruneEvents: db.prepare<[string, number]>('DELETE FROM events WHERE room = ? AND seq <= ?'),
      touchDocument: db.prepare<{ name: string; now: number }>(
        'INSERT INTO documents (name, title, created_at, updated_at) VALUES (@name, @name, @now, @now) ON CONFLICT (name) DO UPDATE SET updated_at = excluded.updated_at',
      ),
      createDocument: db.prepare<{ name: string; title: string; now: number }>(
        'INSERT INTO documents (name, title, created_at, updated_at) VALUES (@name, @title, @now, @now)',
      ),
      getDocument: db.prepare<[string], DocumentRow>(`SELECT ${DOCUMENT_COLUMNS} FROM documents WHERE name = ?`),
      listDocuments: db.prepare<[number], DocumentRow>(`SELECT ${DOCUMENT_COLUMNS} FROM documents ORDER BY updated_at DESC LIMIT ?`),
      setReadOnly: db.prepare<{ name: string; readOnly: number; now: number }>(
        'INSERT INTO documents (name, title, created_at, updated_at, read_only) VALUES (@name, @name, @now, @now, @readOnly) ON CONFLICT (name) DO UPDATE SET read_only = excluded.read_only',
      ),
      renameDocument: db.prepare<{ name: string; title: string; now: number }>(
        'INSERT INTO documents (name, title, created_at, updated_at) VALUES (@name, @title, @now, @now) ON CONFLICT (name) DO UPDATE SET title = excluded.title',
      ),
      deleteRoom: ROOM_TABLES.map(([table, column]) => db.prepare<[string]>(`DELETE FROM ${table} WHERE ${column} = ?`)),
    };
  }

  #migrate(): void {
    const applied = this.#db.pragma('user_version', { simple: true }) as number;
    for (let version = applied; version < MIGRATIONS.length; version++) {
      this.#db.transaction(() => {
        this.#db.exec(MIGRATIONS[version] as string);
        this.#db.pragma(`user_version = ${version + 1}`);
      })();
    }
  }

  async loadRoom(room: string, { tail, dedupeWindow }: LoadOptions): Promise<StoredRoom> {
    const s = this.#stmt;
    const snapshot = s.snapshot.get(room);
    const log = s.updates.all(room).map((row) => new Uint8Array(row.data));
    return {
      updates: snapshot ? [new Uint8Array(snapshot.data), ...log] : log,
      logLength: log.length,
      chat: s.chatTail.all(room, tail).map((row) => JSON.parse(row.body) as ChatMessage),
      activity: s.activityTail.all(room, tail).map((row) => JSON.parse(row.body) as ActivityEntry),
      recentChatIds: s.chatIds.all(room, dedupeWindow),
      chatSeq: s.chatSeq.get(room)?.seq ?? 0,
      activitySeq: s.activitySeq.get(room)?.seq ?? 0,
      eventSeq: s.eventSeq.get(room)?.seq ?? 0,
      readOnly: s.getDocument.get(room)?.readOnly === 1,
    };
  }

  async readChat(room: string, afterSeq: number, limit: number): Promise<ChatMessage[]> {
    return this.#stmt.chatAfter.all(room, afterSeq, limit).map((row) => JSON.parse(row.body) as ChatMessage);
  }

  async readActivity(room: string, afterSeq: number, limit: number): Promise<ActivityEntry[]> {
    return this.#stmt.activityAfter.all(room, afterSeq, limit).map((row) => JSON.parse(row.body) as ActivityEntry);
  }

  async readChatBefore(room: string, beforeSeq: number, limit: number): Promise<ChatMessage[]> {
    return this.#stmt.chatBefore.all(room, beforeSeq, limit).map((row) => JSON.parse(row.body) as ChatMessage);
  }

  async readActivityBefore(room: string, beforeSeq: number, limit: number): Promise<ActivityEntry[]> {
    return this.#stmt.activityBefore.all(room, beforeSeq, limit).map((row) => JSON.parse(row.body) as ActivityEntry);
  }

  readonly #writeAll = (batch: ReadonlyMap<string, RoomWrites>): void => {
    const s = this.#stmt;
    const now = Date.now();
    for (const [room, writes] of batch) {
      if (writes.snapshot || writes.updates.length > 0) s.touchDocument.run({ name: room, now });
      if (writes.snapshot) {
        s.putSnapshot.run(room, writes.snapshot, now);
        s.dropUpdates.run(room);
      }
      for (const update of writes.updates) s.putUpdate.run(room, update);
      for (const message of writes.chat) s.putChat.run(room, message.seq, message.id, JSON.stringify(message));
      for (const entry of writes.activity) s.putActivity.run(room, entry.seq, entry.time, JSON.stringify(entry));
      for (const event of writes.events) s.putEvent.run(room, event.seq, JSON.stringify(event));
      this.#prune(room, writes, now);
    }
  };

  /** Applies the retention policy to the logs this batch appended to. */
  #prune(room: string, writes: RoomWrites, now: number): void {
    const { keep, maxAgeMs } = this.#retention;
    const newestActivity = writes.activity.at(-1)?.seq;
    if (newestActivity !== undefined) {
      if (newestActivity > keep) this.#stmt.pruneActivity.run(room, newestActivity - keep);
      this.#stmt.expireActivity.run(room, newestActivity, now - maxAgeMs);
    }
    const newestEvent = writes.events.at(-1)?.seq;
    if (newestEvent !== undefined && newestEvent > keep) this.#stmt.pruneEvents.run(room, newestEvent - keep);
  }

  async write(batch: ReadonlyMap<string, RoomWrites>): Promise<void> {
    this.#db.transaction(this.#writeAll)(batch);
    this.#limitWal();
  }

  /**
   * SQLite's automatic checkpoints move the WAL into the database but leave the file at its peak
   * size, and fail silently; a WAL that keeps growing can fill the disk and then, with no room
   * left to checkpoint into, never shrink. So past `walLimitBytes` it is checkpointed and
   * truncated here, after the commit. A checkpoint that fails (a full disk) loses nothing: the
   * WAL holds the data, and the next write retries it.
   */
  #limitWal(): void {
    const now = Date.now();
    if (now - this.#walCheckedAt < WAL_CHECK_MS) return;
    this.#walCheckedAt = now;
    if (this.walBytes() <= this.#walLimitBytes) return;
    try {
      this.#db.pragma('wal_checkpoint(TRUNCATE)');
    } catch {
      // Retried after the next write; the commit itself succeeded.
    }
  }

  /** Size in bytes of the write-ahead log file (0 when there is none). */
  walBytes(): number {
    try {
      return statSync(this.#walPath).size;
    } catch {
      return 0;
    }
  }

  async createDocument(name: string, title: string): Promise<DocumentInfo> {
    const now = Date.now();
    this.#stmt.createDocument.run({ name, title, now });
    return { name, title, createdAt: now, updatedAt: now, readOnly: false };
  }

  async getDocument(name: string): Promise<DocumentInfo | null> {
    const row = this.#stmt.getDocument.get(name);
    return row ? toDocument(row) : null;
  }

  async listDocuments(limit: number): Promise<DocumentInfo[]> {
    return this.#stmt.listDocuments.all(limit).map(toDocument);
  }

  async setReadOnly(name: string, readOnly: boolean): Promise<DocumentInfo> {
    this.#stmt.setReadOnly.run({ name, readOnly: readOnly ? 1 : 0, now: Date.now() });
    return toDocument(this.#stmt.getDocument.get(name)!);
  }

  async renameDocument(name: string, title: string): Promise<DocumentInfo> {
    this.#stmt.renameDocument.run({ name, title, now: Date.now() });
    return toDocument(this.#stmt.getDocument.get(name)!);
  }

  async deleteDocument(name: string): Promise<boolean> {
    return this.#db.transaction(() =>
      this.#stmt.deleteRoom.reduce((found, statement) => statement.run(name).changes > 0 || found, false),
    )();
  }

  async saveVersion(room: string, version: NewVersion): Promise<VersionInfo | null> {
    return this.#versions.save(room, version);
  }

  async listVersions(room: string, limit: number): Promise<VersionInfo[]> {
    return this.#versions.list(room, limit);
  }

  async getVersion(room: string, id: number): Promise<(VersionInfo & { state: Uint8Array }) | null> {
    return this.#versions.get(room, id);
  }

  async pruneVersions(room: string, retention: VersionRetention, now: number): Promise<number> {
    return this.#versions.prune(room, retention, now);
  }

  async close(): Promise<void> {
    if (!this.#db.open) return;
    try {
      this.#db.pragma('wal_checkpoint(TRUNCATE)');
    } catch {
      // A full disk: the WAL stays and is replayed on the next open.
    }
    this.#db.close();
  }
}
