export interface DocumentSummary {
  name: string;
  title: string;
  createdAt: number;
  updatedAt: number;
  /** Members in the document right now. */
  online: number;
}

async function request<T>(path: string, init?: RequestInit): Promise<T> {
  const response = await fetch(path, init);
  const body = (await response.json().catch(() => ({}))) as T & { error?: string; message?: string };
  if (!response.ok) throw new Error(body.message ?? body.error ?? `${response.status} ${response.statusText}`);
  return body;
}

export async function listDocuments(): Promise<DocumentSummary[]> {
  return (await request<{ documents: DocumentSummary[] }>('/api/documents')).documents;
}

export function getDocument(name: string): Promise<DocumentSummary> {
  return request(`/api/documents/${encodeURIComponent(name)}`);
}

export function createDocument(title: string): Promise<DocumentSummary> {
  return request('/api/documents', {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ title }),
  });
}
