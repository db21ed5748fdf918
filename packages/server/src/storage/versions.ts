import { createHash } from 'node:crypto';
import type { VersionInfo } from './storage.js';

/** The content hash versions are de-duplicated by. */
export function stateHash(state: Uint8Array): string {
  return createHash('sha256').update(state).digest('hex');
}

export interface VersionRow {
  id: number | string;
  time: number | string;
  name: string | null;
  authors: string | VersionInfo['authors'];
  size: number | string;
}

/** A row of either backend (PostgreSQL returns BIGINTs as strings, JSONB parsed). */
export function toVersion(row: VersionRow): VersionInfo {
  return {
    id: Number(row.id),
    time: Number(row.time),
    name: row.name,
    authors: typeof row.authors === 'string' ? (JSON.parse(row.authors) as VersionInfo['authors']) : row.authors,
    size: Number(row.size),
  };
}
