import type { ActivityEntry, AppEvent, ChatMessage } from '@tandem/protocol';
import type pg from 'pg';
import {
  DEFAULT_RETENTION,
  type DocumentInfo,
  type LoadOptions,
  type Retention,
  type LogCompaction,
  type RoomWrites,
  type SharedStorage,
  type StoredRoom,
  type NewVersion,
  type VersionInfo,
  type VersionRetention,
} from './storage.js';
import * as versions from './postgres-versions.js';

/** Schema changes in order; `tandem_migrations` records which have been applied. */
const MIGRATIONS = [
  `CREATE TABLE doc_snapshots (room TEXT PRIMARY KEY, data BYTEA NOT NULL, updated_at BIGINT NOT NULL);
   CREATE TABLE doc_updates (id BIGSERIAL PRIMARY KEY, room TEXT NOT NULL, data BYTEA NOT NULL);
   CREATE INDEX doc_updates_room ON doc_updates (room, id);
   CREATE TABLE chat (room TEXT NOT NULL, seq BIGINT NOT NULL, id TEXT NOT NULL, body JSONB NOT NULL, PRIMARY KEY (room, seq));
   CREATE TABLE activity (room TEXT NOT NULL, seq BIGINT NOT NULL, time BIGINT NOT NULL, body JSONB NOT NULL, PRIMARY KEY (room, seq));
   CREATE TABLE events (room TEXT NOT NULL, seq BIGINT NOT NULL, body JSONB NOT NULL, PRIMARY KEY (room, seq));
   CREATE TABLE documents (name TEXT PRIMARY KEY, title TEXT NOT NULL, created_at BIGINT NOT NULL, updated_at BIGINT NOT NULL);
   CREATE INDEX documents_updated ON documents (updated_at DESC);`,
  // Cluster mode: the position in the room's Redis stream that the snapshot covers (see StreamLog).
  `ALTER TABLE doc_snapshots ADD COLUMN log_ms BIGINT NOT NULL DEFAULT 0, ADD COLUMN log_seq BIGINT NOT NULL DEFAULT 0;`,
  `ALTER TABLE documents ADD COLUMN read_only BOOLEAN NOT NULL DEFAULT false;`,
  `CREATE TABLE versions (id BIGSERIAL PRIMARY KEY, room TEXT NOT NULL, time BIGINT NOT NULL, name TEXT, authors JSONB NOT NULL,
                          hash TEXT NOT NULL, data BYTEA NOT NULL);
   CREATE INDEX versions_room ON versions (room, id);`,
];
/** Any constant: the advisory lock that makes nodes starting together migrate one at a time. */
const MIGRATION_LOCK = 7_404_151;

interface DocumentRow {
  name: string;
  title: string;
  created_at: string;
  updated_at: string;
  read_only: boolean;
}

const toDocument = (row: DocumentRow): DocumentInfo => ({
  name: row.name,
  title: row.title,
  createdAt: Number(row.created_at),
  updatedAt: Number(row.updated_at),
  readOnly: row.read_only,
});

/**
 * Storage in PostgreSQL, for more than one node. The same contract as SqliteStorage (one batch,
 * one transaction; entries in seq order; the newest entry of a log never deleted); the schema is
 * migrated at start-up, under an advisory lock so that nodes starting at once do it once.
 */
export class PostgresStorage implements SharedStorage {
  readonly #pool: pg.Pool;
  readonly #retention: Retention;

  private constructor(pool: pg.Pool, retention: Retention) {
    this.#pool = pool;
    this.#retention = retention;
  }

  /** Connects and brings the schema up to date. */
  static async open(url: string, retention: Retention = DEFAULT_RETENTION): Promise<PostgresStorage> {
    // Loaded here, not at start-up: a node on SQLite never pays for the driver.
    const { default: postgres } = await import('pg');
    const pool = new postgres.Pool({ connectionString: url, max: 10 });
    // An idle client's connection error (the server restarted) must not crash the process; the
    // next query reconnects.
    pool.on('error', () => {});
    const storage = new PostgresStorage(pool, retention);
    try {
      await storage.#migrate();
    } catch (error) {
      await pool.end();
      throw error;
    }
    return storage;
  }

  async #migrate(): Promise<void> {
    await this.#transaction(async (client) => {
      await client.query('SELECT pg_advisory_xact_lock($1)', [MIGRATION_LOCK]);
      await client.query('CREATE TABLE IF NOT EXISTS tandem_migrations (version INTEGER PRIMARY KEY, applied_at BIGINT NOT NULL)');
      const { rows } = await client.query<{ version: number | null }>('SELECT max(version) AS version FROM tandem_migrations');
      for (let version = rows[0]?.version ?? 0; version < MIGRATIONS.length; version++) {
        await client.query(MIGRATIONS[version]!);
        await client.query('INSERT INTO tandem_migrations (version, applied_at) VALUES ($1, $2)', [version + 1, Date.now()]);
      }
    });
  }

  async #transaction<T>(work: (client: pg.PoolClient) => Promise<T>, begin = 'BEGIN'): Promise<T> {
    const client = await this.#pool.connect();
    try {
      await client.query(begin);
      const result = await work(client);
      await client.query('COMMIT');
      return result;
    } catch (error) {
      await client.query('ROLLBACK').catch(() => {});
      throw error;
    } finally {
      client.release();
    }
  }

  /**
   * One consistent view (a repeatable-read transaction): a compaction committing meanwhile must
   * not give the snapshot of before it with the logs of after it, or the stream position would
   * not match the rows.
   */
  loadRoom(room: string, options: LoadOptions): Promise<StoredRoom> {
    return this.#transaction((client) => this.#loadRoom(client, room, options), 'BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
  }

  async #loadRoom(client: pg.PoolClient, room: string, { tail, dedupeWindow }: LoadOptions): Promise<StoredRoom> {
    const q = <R extends pg.QueryResultRow>(text: string, values: unknown[]) => client.query<R>(text, values);
    const snapshot = await q<{ data: Buffer; log_ms: string; log_seq: string }>(
      'SELECT data, log_ms, log_seq FROM doc_snapshots WHERE room = $1',
      [room],
    );
    const log = await q<{ data: Buffer }>('SELECT data FROM doc_updates WHERE room = $1 ORDER BY id', [room]);
    const chat = await q<{ body: ChatMessage }>(
      'SELECT body FROM (SELECT seq, body FROM chat WHERE room = $1 ORDER BY seq DESC LIMIT $2) t ORDER BY seq',
      [room, tail],
    );
    const activity = await q<{ body: ActivityEntry }>(
      'SELECT body FROM (SELECT seq, body FROM activity WHERE room = $1 ORDER BY seq DESC LIMIT $2) t ORDER BY seq',
      [room, tail],
    );
    const chatIds = await q<{ id: string; seq: string }>(
      'SELECT id, seq FROM (SELECT seq, id FROM chat WHERE room = $1 ORDER BY seq DESC LIMIT $2) t ORDER BY seq',
      [room, dedupeWindow],
    );
    const seqs = await q<{ chat: string | null; activity: string | null; events: string | null }>(
      `SELECT (SELECT max(seq) FROM chat WHERE room = $1) AS chat, (SELECT max(seq) FROM activity WHERE room = $1) AS activity,
              (SELECT max(seq) FROM events WHERE room = $1) AS events`,
      [room],
    );
    const document = await q<{ read_only: boolean }>('SELECT read_only FROM documents WHERE name = $1', [room]);
    const updates = log.rows.map((row) => new Uint8Array(row.data));
    const first = snapshot.rows[0];
    const newest = seqs.rows[0];
    return {
      updates: first ? [new Uint8Array(first.data), ...updates] : updates,
      logLength: updates.length,
      chat: chat.rows.map((row) => row.body),
      activity: activity.rows.map((row) => row.body),
      recentChatIds: chatIds.rows.map((row) => ({ id: row.id, seq: Number(row.seq) })),
      chatSeq: Number(newest?.chat ?? 0),
      activitySeq: Number(newest?.activity ?? 0),
      eventSeq: Number(newest?.events ?? 0),
      readOnly: document.rows[0]?.read_only ?? false,
      logPosition: first ? `${first.log_ms}-${first.log_seq}` : '0-0',
    };
  }

  async compactFromLog(room: string, compaction: LogCompaction): Promise<boolean> {
    const [ms, seq] = compaction.position.split('-').map(Number) as [number, number];
    return this.#transaction(async (client) => {
      const now = Date.now();
      // One statement decides, so two nodes compacting at once cannot both win: a snapshot only
      // replaces one that covers less of the stream.
      const { rowCount } = await client.query(
        `INSERT INTO doc_snapshots (room, data, updated_at, log_ms, log_seq) VALUES ($1, $2, $3, $4, $5)
         ON CONFLICT (room) DO UPDATE SET data = excluded.data, updated_at = excluded.updated_at, log_ms = excluded.log_ms, log_seq = excluded.log_seq
         WHERE (doc_snapshots.log_ms, doc_snapshots.log_seq) < (excluded.log_ms, excluded.log_seq)`,
        [room, Buffer.from(compaction.snapshot), now, ms, seq],
      );
      if (rowCount === 0) return false;
      // Rows written before the room was clustered are in the snapshot now.
      await client.query('DELETE FROM doc_updates WHERE room = $1', [room]);
      await client.query(
        `INSERT INTO documents (name, title, created_at, updated_at) VALUES ($1, $1, $2, $2)
         ON CONFLICT (name) DO UPDATE SET updated_at = excluded.updated_at`,
        [room, now],
      );
      // Entries may have been stored by an earlier compaction that covered less: stored once.
      await this.#insertEntries(client, room, compaction, now);
      return true;
    });
  }

  async storeEntries(room: string, entries: Pick<LogCompaction, 'chat' | 'activity' | 'events'>): Promise<void> {
    await this.#transaction((client) => this.#insertEntries(client, room, entries, Date.now()));
  }

  async #insertEntries(client: pg.PoolClient, room: string, entries: Pick<LogCompaction, 'chat' | 'activity' | 'events'>, now: number) {
    const writes = { updates: [], chat: entries.chat, activity: entries.activity, events: entries.events };
    await this.#insertLog(client, 'chat', room, writes.chat, (m) => [m.seq, m.id, JSON.stringify(m)], true);
    await this.#insertLog(client, 'activity', room, writes.activity, (e) => [e.seq, e.time, JSON.stringify(e)], true);
    await this.#insertLog(client, 'events', room, writes.events, (e: AppEvent) => [e.seq, JSON.stringify(e)], true);
    await this.#prune(client, room, writes, now);
  }

  readChat(room: string, afterSeq: number, limit: number): Promise<ChatMessage[]> {
    return this.#readLog<ChatMessage>('chat', room, afterSeq, limit, 'after');
  }

  readActivity(room: string, afterSeq: number, limit: number): Promise<ActivityEntry[]> {
    return this.#readLog<ActivityEntry>('activity', room, afterSeq, limit, 'after');
  }

  readChatBefore(room: string, beforeSeq: number, limit: number): Promise<ChatMessage[]> {
    return this.#readLog<ChatMessage>('chat', room, beforeSeq, limit, 'before');
  }

  readActivityBefore(room: string, beforeSeq: number, limit: number): Promise<ActivityEntry[]> {
    return this.#readLog<ActivityEntry>('activity', room, beforeSeq, limit, 'before');
  }

  /** Up to `limit` entries of a log just after `seq`, or the newest ones before it; oldest first either way. */
  async #readLog<T>(table: 'chat' | 'activity', room: string, seq: number, limit: number, side: 'after' | 'before'): Promise<T[]> {
    const text =
      side === 'after'
        ? `SELECT body FROM ${table} WHERE room = $1 AND seq > $2 ORDER BY seq LIMIT $3`
        : `SELECT body FROM (SELECT seq, body FROM ${table} WHERE room = $1 AND seq < $2 ORDER BY seq DESC LIMIT $3) t ORDER BY seq`;
    const { rows } = await this.#pool.query<{ body: T }>(text, [room, seq, limit]);
    return rows.map((row) => row.body);
  }

  async write(batch: ReadonlyMap<string, RoomWrites>): Promise<void> {
    await this.#transaction(async (client) => {
      const now = Date.now();
      for (const [room, writes] of batch) await this.#writeRoom(client, room, writes, now);
    });
  }

  async #writeRoom(client: pg.PoolClient, room: string, writes: RoomWrites, now: number): Promise<void> {
    if (writes.snapshot || writes.updates.length > 0) {
      await client.query(
        `INSERT INTO documents (name, title, created_at, updated_at) VALUES ($1, $1, $2, $2)
         ON CONFLICT (name) DO UPDATE SET updated_at = excluded.updated_at`,
        [room, now],
      );
    }
    if (writes.snapshot) {
      await client.query(
        `INSERT INTO doc_snapshots (room, data, updated_at) VALUES ($1, $2, $3)
         ON CONFLICT (room) DO UPDATE SET data = excluded.data, updated_at = excluded.updated_at`,
        [room, Buffer.from(writes.snapshot), now],
      );
      await client.query('DELETE FROM doc_updates WHERE room = $1', [room]);
    }
    if (writes.updates.length > 0) {
      // One statement for the whole batch: unnest keeps the order of the array, and so of the ids.
      await client.query('INSERT INTO doc_updates (room, data) SELECT $1, unnest($2::bytea[])', [
        room,
        writes.updates.map((u) => Buffer.from(u)),
      ]);
    }
    await this.#insertLog(client, 'chat', room, writes.chat, (m) => [m.seq, m.id, JSON.stringify(m)]);
    await this.#insertLog(client, 'activity', room, writes.activity, (e) => [e.seq, e.time, JSON.stringify(e)]);
    await this.#insertLog(client, 'events', room, writes.events, (e: AppEvent) => [e.seq, JSON.stringify(e)]);
    await this.#prune(client, room, writes, now);
  }

  async #insertLog<T>(
    client: pg.PoolClient,
    table: 'chat' | 'activity' | 'events',
    room: string,
    entries: T[],
    columns: (entry: T) => unknown[],
    skipStored = false,
  ): Promise<void> {
    if (entries.length === 0) return;
    const rows = entries.map(columns);
    const names = { chat: 'seq, id, body', activity: 'seq, time, body', events: 'seq, body' }[table];
    const types = { chat: ['bigint', 'text', 'jsonb'], activity: ['bigint', 'bigint', 'jsonb'], events: ['bigint', 'jsonb'] }[table];
    const arrays = types.map((_, column) => rows.map((row) => row[column]));
    const unnest = types.map((type, i) => `$${i + 2}::${type === 'jsonb' ? 'text' : type}[]`).join(', ');
    const select = types.map((type, i) => (type === 'jsonb' ? `c${i}::jsonb` : `c${i}`)).join(', ');
    const aliases = types.map((_, i) => `c${i}`).join(', ');
    const conflict = skipStored ? ' ON CONFLICT DO NOTHING' : '';
    await client.query(`INSERT INTO ${table} (room, ${names}) SELECT $1, ${select} FROM unnest(${unnest}) AS t(${aliases})${conflict}`, [
      room,
      ...arrays,
    ]);
  }

  /** Applies the retention policy to the logs this batch appended to (as SqliteStorage does). */
  async #prune(client: pg.PoolClient, room: string, writes: RoomWrites, now: number): Promise<void> {
    const { keep, maxAgeMs } = this.#retention;
    const newestActivity = writes.activity.at(-1)?.seq;
    if (newestActivity !== undefined) {
      if (newestActivity > keep) await client.query('DELETE FROM activity WHERE room = $1 AND seq <= $2', [room, newestActivity - keep]);
      await client.query('DELETE FROM activity WHERE room = $1 AND seq < $2 AND time < $3', [room, newestActivity, now - maxAgeMs]);
    }
    const newestEvent = writes.events.at(-1)?.seq;
    if (newestEvent !== undefined && newestEvent > keep)
      await client.query('DELETE FROM events WHERE room = $1 AND seq <= $2', [room, newestEvent - keep]);
  }

  async createDocument(name: string, title: string): Promise<DocumentInfo> {
    const now = Date.now();
    await this.#pool.query('INSERT INTO documents (name, title, created_at, updated_at) VALUES ($1, $2, $3, $3)', [name, title, now]);
    return { name, title, createdAt: now, updatedAt: now, readOnly: false };
  }

  async getDocument(name: string): Promise<DocumentInfo | null> {
    const { rows } = await this.#pool.query<DocumentRow>(
      'SELECT name, title, created_at, updated_at, read_only FROM documents WHERE name = $1',
      [name],
    );
    return rows[0] ? toDocument(rows[0]) : null;
  }

  async listDocuments(limit: number): Promise<DocumentInfo[]> {
    const { rows } = await this.#pool.query<DocumentRow>(
      'SELECT name, title, created_at, updated_at, read_only FROM documents ORDER BY updated_at DESC LIMIT $1',
      [limit],
    );
    return rows.map(toDocument);
  }

  async setReadOnly(name: string, readOnly: boolean): Promise<DocumentInfo> {
    const now = Date.now();
    const { rows } = await this.#pool.query<DocumentRow>(
      `INSERT INTO documents (name, title, created_at, updated_at, read_only) VALUES ($1, $1, $2, $2, $3)
       ON CONFLICT (name) DO UPDATE SET read_only = excluded.read_only RETURNING name, title, created_at, updated_at, read_only`,
      [name, now, readOnly],
    );
    return toDocument(rows[0]!);
  }

  async renameDocument(name: string, title: string): Promise<DocumentInfo> {
    const now = Date.now();
    const { rows } = await this.#pool.query<DocumentRow>(
      `INSERT INTO documents (name, title, created_at, updated_at) VALUES ($1, $2, $3, $3)
       ON CONFLICT (name) DO UPDATE SET title = excluded.title RETURNING name, title, created_at, updated_at, read_only`,
      [name, title, now],
    );
    return toDocument(rows[0]!);
  }

  async deleteDocument(name: string): Promise<boolean> {
    return this.#transaction(async (client) => {
      let found = false;
      for (const table of ['doc_snapshots', 'doc_updates', 'chat', 'activity', 'events', 'versions']) {
        found = ((await client.query(`DELETE FROM ${table} WHERE room = $1`, [name])).rowCount ?? 0) > 0 || found;
      }
      return ((await client.query('DELETE FROM documents WHERE name = $1', [name])).rowCount ?? 0) > 0 || found;
    });
  }

  async saveVersion(room: string, version: NewVersion): Promise<VersionInfo | null> {
    return this.#transaction((client) => versions.saveVersion(client, room, version));
  }

  async listVersions(room: string, limit: number): Promise<VersionInfo[]> {
    return versions.listVersions(this.#pool, room, limit);
  }

  async getVersion(room: string, id: number): Promise<(VersionInfo & { state: Uint8Array }) | null> {
    return versions.getVersion(this.#pool, room, id);
  }

  async pruneVersions(room: string, retention: VersionRetention, now: number): Promise<number> {
    return versions.pruneVersions(this.#pool, room, retention, now);
  }

  /** Why PostgreSQL cannot be used right now, or null when a query answers within `timeoutMs`. */
  async problem(timeoutMs: number): Promise<string | null> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<string>((resolve) => (timer = setTimeout(() => resolve(`no answer within ${timeoutMs} ms`), timeoutMs)));
    const query = this.#pool.query('SELECT 1').then(
      () => null,
      (error: Error) => error.message,
    );
    const result = await Promise.race([query, timeout]);
    clearTimeout(timer);
    return result === null ? null : `cannot reach PostgreSQL (${result})`;
  }

  async close(): Promise<void> {
    await this.#pool.end();
  }
}
