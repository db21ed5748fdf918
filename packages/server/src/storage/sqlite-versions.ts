import type Database from 'better-sqlite3';
import type { NewVersion, VersionInfo, VersionRetention } from './storage.js';
import { stateHash, toVersion, type VersionRow } from './versions.js';

const COLUMNS = 'id, time, name, authors, length(data) AS size';

/** SqliteStorage's version history (the `versions` table). */
export class SqliteVersions {
  readonly #db: Database.Database;
  readonly #stmt;

  constructor(db: Database.Database) {
    this.#db = db;
    this.#stmt = {
      newest: db.prepare<[string], { id: number; hash: string; name: string | null }>(
        'SELECT id, hash, name FROM versions WHERE room = ? ORDER BY id DESC LIMIT 1',
      ),
      insert: db.prepare<[string, number, string | null, string, string, Uint8Array]>(
        'INSERT INTO versions (room, time, name, authors, hash, data) VALUES (?, ?, ?, ?, ?, ?)',
      ),
      rename: db.prepare<[string, number]>('UPDATE versions SET name = ? WHERE id = ?'),
      info: db.prepare<[string, number], VersionRow>(`SELECT ${COLUMNS} FROM versions WHERE room = ? AND id = ?`),
      list: db.prepare<[string, number], VersionRow>(`SELECT ${COLUMNS} FROM versions WHERE room = ? ORDER BY id DESC LIMIT ?`),
      get: db.prepare<[string, number], VersionRow & { data: Buffer }>(`SELECT ${COLUMNS}, data FROM versions WHERE room = ? AND id = ?`),
      prune: db.prepare<{ room: string; keep: number; before: number }>(
        `DELETE FROM versions WHERE room = @room AND name IS NULL
           AND id < (SELECT max(id) FROM versions WHERE room = @room)
           AND (time < @before OR id NOT IN (SELECT id FROM versions WHERE room = @room AND name IS NULL ORDER BY id DESC LIMIT @keep))`,
      ),
    };
  }

  save(room: string, { time, name, authors, state }: NewVersion): VersionInfo | null {
    const s = this.#stmt;
    const hash = stateHash(state);
    return this.#db.transaction(() => {
      const newest = s.newest.get(room);
      if (newest?.hash === hash && (name === null || newest.name === null)) {
        if (name === null) return null;
        s.rename.run(name, newest.id);
        return toVersion(s.info.get(room, newest.id)!);
      }
      const id = Number(s.insert.run(room, time, name, JSON.stringify(authors), hash, state).lastInsertRowid);
      return toVersion(s.info.get(room, id)!);
    })();
  }

  list(room: string, limit: number): VersionInfo[] {
    return this.#stmt.list.all(room, limit).map(toVersion);
  }

  get(room: string, id: number): (VersionInfo & { state: Uint8Array }) | null {
    const row = this.#stmt.get.get(room, id);
    return row ? { ...toVersion(row), state: new Uint8Array(row.data) } : null;
  }

  prune(room: string, { keep, maxAgeMs }: VersionRetention, now: number): number {
    return this.#stmt.prune.run({ room, keep, before: now - maxAgeMs }).changes;
  }
}
