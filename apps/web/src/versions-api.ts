import type { Member } from '@tandem/client';
import { ApiError, request } from './api.js';

/** A stored version of a document, as GET /api/documents/<name>/versions lists it. */
export interface VersionSummary {
  id: number;
  time: number;
  name: string | null;
  authors: Array<{ id: string; name: string }>;
  size: number;
}

const versionsPath = (room: string): string => `/api/documents/${encodeURIComponent(room)}/versions`;
const json = (body: unknown): RequestInit => ({
  method: 'POST',
  headers: { 'content-type': 'application/json' },
  body: JSON.stringify(body),
});

export async function listVersions(room: string): Promise<VersionSummary[]> {
  return (await request<{ versions: VersionSummary[] }>(versionsPath(room))).versions;
}

export function saveVersion(room: string, name: string): Promise<VersionSummary> {
  return request(versionsPath(room), json({ name }));
}

/** The version's whole document as a Yjs update. */
export async function fetchVersionState(room: string, id: number): Promise<Uint8Array> {
  let response: Response;
  try {
    response = await fetch(`${versionsPath(room)}/${id}`);
  } catch (error) {
    throw new ApiError(0, (error as Error).message);
  }
  if (!response.ok) throw new ApiError(response.status, `${response.status} ${response.statusText}`);
  return new Uint8Array(await response.arrayBuffer());
}

/** Records a restore this client applied in its own editor (so that its user can undo it). */
export function recordRestore(room: string, id: number, member: Member | null): Promise<unknown> {
  return request(`${versionsPath(room)}/${id}/restore`, json(member ? { applied: true, member } : { applied: true }));
}
