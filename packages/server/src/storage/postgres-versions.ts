import type pg from 'pg';
import type { NewVersion, VersionInfo, VersionRetention } from './storage.js';
import { stateHash, toVersion, type VersionRow } from './versions.js';

const COLUMNS = 'id, time, name, authors, octet_length(data) AS size';
/** Any constant: with the room, the advisory lock that makes nodes saving a room's version at once compare hashes one at a time. */
const VERSION_LOCK = 7_404_152;

/** PostgresStorage's version history (the `versions` table); `save` runs in the caller's transaction. */
export async function saveVersion(
  client: pg.PoolClient,
  room: string,
  { time, name, authors, state }: NewVersion,
): Promise<VersionInfo | null> {
  const hash = stateHash(state);
  await client.query('SELECT pg_advisory_xact_lock($1, hashtext($2))', [VERSION_LOCK, room]);
  const { rows } = await client.query<{ id: string; hash: string; name: string | null }>(
    'SELECT id, hash, name FROM versions WHERE room = $1 ORDER BY id DESC LIMIT 1',
    [room],
  );
  const newest = rows[0];
  if (newest?.hash === hash && (name === null || newest.name === null)) {
    if (name === null) return null;
    const renamed = await client.query<VersionRow>(`UPDATE versions SET name = $1 WHERE id = $2 RETURNING ${COLUMNS}`, [name, newest.id]);
    return toVersion(renamed.rows[0]!);
  }
  const inserted = await client.query<VersionRow>(
    `INSERT INTO versions (room, time, name, authors, hash, data) VALUES ($1, $2, $3, $4, $5, $6) RETURNING ${COLUMNS}`,
    [room, time, name, JSON.stringify(authors), hash, Buffer.from(state.buffer, state.byteOffset, state.byteLength)],
  );
  return toVersion(inserted.rows[0]!);
}

export async function listVersions(pool: pg.Pool, room: string, limit: number): Promise<VersionInfo[]> {
  const { rows } = await pool.query<VersionRow>(`SELECT ${COLUMNS} FROM versions WHERE room = $1 ORDER BY id DESC LIMIT $2`, [room, limit]);
  return rows.map(toVersion);
}

export async function getVersion(pool: pg.Pool, room: string, id: number): Promise<(VersionInfo & { state: Uint8Array }) | null> {
  const { rows } = await pool.query<VersionRow & { data: Buffer }>(`SELECT ${COLUMNS}, data FROM versions WHERE room = $1 AND id = $2`, [
    room,
    id,
  ]);
  const row = rows[0];
  return row ? { ...toVersion(row), state: new Uint8Array(row.data) } : null;
}

export async function pruneVersions(pool: pg.Pool, room: string, { keep, maxAgeMs }: VersionRetention, now: number): Promise<number> {
  const { rowCount } = await pool.query(
    `DELETE FROM versions WHERE room = $1 AND name IS NULL
       AND id < (SELECT max(id) FROM versions WHERE room = $1)
       AND (time < $3 OR id NOT IN (SELECT id FROM versions WHERE room = $1 AND name IS NULL ORDER BY id DESC LIMIT $2))`,
    [room, keep, now - maxAgeMs],
  );
  return rowCount ?? 0;
}
