import type { HttpErrorBody, HttpErrorCode } from '@tandem/protocol';

export interface DocumentSummary {
  name: string;
  title: string;
  createdAt: number;
  updatedAt: number;
  /** Members in the document right now. */
  online: number;
}

/** A failed API call; `status` 0: the server could not be reached. `code`: the server's, when it answered with one. */
export class ApiError extends Error {
  override name = 'ApiError';
  readonly status: number;
  readonly code: HttpErrorCode | null;

  constructor(status: number, message: string, code: HttpErrorCode | null = null) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

export async function request<T>(path: string, init?: RequestInit): Promise<T> {
  let response: Response;
  try {
    response = await fetch(path, init);
  } catch (error) {
    throw new ApiError(0, (error as Error).message);
  }
  const body = (await response.json().catch(() => ({}))) as T & Partial<HttpErrorBody>;
  if (!response.ok) throw new ApiError(response.status, body.error ?? `${response.status} ${response.statusText}`, body.code ?? null);
  return body;
}

export async function listDocuments(): Promise<DocumentSummary[]> {
  return (await request<{ documents: DocumentSummary[] }>('/api/documents')).documents;
}

export function getDocument(name: string): Promise<DocumentSummary> {
  return request(`/api/documents/${encodeURIComponent(name)}`);
}

/** Creates a document named after `title`, or under `name` (titled `name` unless a title is given). */
export function createDocument(fields: { title: string } | { name: string; title?: string }): Promise<DocumentSummary> {
  return request('/api/documents', {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(fields),
  });
}

/** The formats a document downloads in (GET /api/documents/<name>/export). */
export type ExportFormat = 'markdown' | 'html' | 'text' | 'json' | 'yjs';

export const exportUrl = (name: string, format: ExportFormat): string =>
  `/api/documents/${encodeURIComponent(name)}/export?format=${format}`;

/** Creates a document that starts with imported content. */
export function importDocument(
  title: string,
  content: { markdown: string } | { html: string } | { text: string },
): Promise<DocumentSummary> {
  return request('/api/documents', {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ title, ...content }),
  });
}

// The admin API (on when the server runs with ADMIN_TOKEN; every call needs it as a bearer token).

export interface AdminMember {
  id: string;
  name: string;
  color: string;
}

export interface AdminRoom {
  name: string;
  connections: number;
  members: AdminMember[];
  documentBytes: number;
  framesReceived: number;
  messagesPerSecond: number;
  loadedAt: number;
  /** Editing is turned off for everyone (see setReadOnly). */
  readOnly: boolean;
}

export interface AdminOverview {
  rooms: AdminRoom[];
  /** Counts by HTTP status (refused upgrades), close code and error code. */
  refusals: Record<string, number>;
  closes: Record<string, number>;
  errors: Record<string, number>;
  storage: { ok: boolean; error?: string; since?: number };
}

function admin<T>(token: string, method: string, path: string, body?: unknown): Promise<T> {
  return request(`/api/admin${path}`, {
    method,
    headers: { authorization: `Bearer ${token}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
}

const roomPath = (room: string): string => `/rooms/${encodeURIComponent(room)}`;

export const getAdminOverview = (token: string): Promise<AdminOverview> => admin(token, 'GET', '/rooms');

export const disconnectMember = (token: string, room: string, member: string): Promise<{ disconnected: number }> =>
  admin(token, 'POST', `${roomPath(room)}/disconnect`, { member });

export const closeRoom = (token: string, room: string): Promise<{ closed: number }> => admin(token, 'POST', `${roomPath(room)}/close`);

export const setReadOnly = (token: string, room: string, readOnly: boolean): Promise<{ readOnly: boolean }> =>
  admin(token, 'POST', `${roomPath(room)}/read-only`, { readOnly });

export const deleteDocument = (token: string, room: string): Promise<{ deleted: true; closed: number }> =>
  admin(token, 'DELETE', roomPath(room));

export const compactRoom = (token: string, room: string): Promise<{ compacted: true }> => admin(token, 'POST', `${roomPath(room)}/compact`);
