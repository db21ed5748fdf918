import { describe, expect, it } from 'vitest';
import { documentName } from '../src/http/documents.js';
import { member, startServer } from './helpers.js';

async function post(url: string, body: unknown): Promise<{ status: number; json: any }> {
  const response = await fetch(`${url}/api/documents`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
  return { status: response.status, json: await response.json() };
}

async function list(url: string): Promise<any[]> {
  return ((await (await fetch(`${url}/api/documents`)).json()) as { documents: any[] }).documents;
}

describe('documents API', () => {
  it('creates a document with a readable, unique room name', async () => {
    const server = await startServer();
    const created = await post(server.url, { title: '  Café plans: Q3!  ' });
    expect(created.status).toBe(201);
    expect(created.json).toMatchObject({ title: 'Café plans: Q3!', name: expect.stringMatching(/^cafe-plans-q3-[0-9a-f]{8}$/), online: 0 });
    const again = await post(server.url, { title: 'Café plans: Q3!' });
    expect(again.json.name).not.toBe(created.json.name);
    expect((await list(server.url)).map((d) => d.title)).toEqual(['Café plans: Q3!', 'Café plans: Q3!']);
  });

  it('lists rooms that were edited without being created, newest first, with who is online', async () => {
    const server = await startServer();
    await post(server.url, { title: 'Older' });
    const alice = await member(server.wsUrl, 'ad-hoc', 'Alice');
    alice.doc.getText('t').insert(0, 'hi');
    let documents: any[] = [];
    const deadline = Date.now() + 5_000;
    // The room becomes a document when its first write is committed (within the flush interval).
    while (Date.now() < deadline && documents[0]?.name !== 'ad-hoc') documents = await list(server.url);
    expect(documents[0]).toMatchObject({ name: 'ad-hoc', title: 'ad-hoc', online: 1 });
    expect(documents[1]).toMatchObject({ title: 'Older', online: 0 });
  });

  it.each([
    ['a missing title', {}],
    ['an empty title', { title: '' }],
    ['a blank title', { title: '   ' }],
    ['a title that is not a string', { title: 42 }],
    ['an over-long title', { title: 'x'.repeat(121) }],
    ['malformed JSON', '{"title":'],
  ])('refuses %s with 400 and a JSON reason', async (_label, body) => {
    const server = await startServer();
    const refused = await post(server.url, body);
    expect(refused.status).toBe(400);
    expect(JSON.stringify(refused.json)).toMatch(/title|JSON|body/i);
    expect(JSON.stringify(refused.json)).not.toMatch(/at .*\.js:\d+/);
  });

  it('refuses a body over 16 KiB with 413', async () => {
    const server = await startServer();
    expect((await post(server.url, { title: 'x'.repeat(20_000) })).status).toBe(413);
  });

  it('makes names from titles without letters too', () => {
    expect(documentName('!!!')).toMatch(/^doc-[0-9a-f]{8}$/);
    expect(documentName('Ünïcödé Tïtle')).toMatch(/^unicode-title-/);
  });
});

describe('one document', () => {
  it('describes a created document, and an unknown name as the room that joining creates', async () => {
    const server = await startServer();
    const created = (await post(server.url, { title: 'Roadmap' })).json;
    const known = await (await fetch(`${server.url}/api/documents/${created.name}`)).json();
    expect(known).toMatchObject({ name: created.name, title: 'Roadmap', online: 0 });
    const unknown = await fetch(`${server.url}/api/documents/${encodeURIComponent('fresh room')}`);
    expect(unknown.status).toBe(200);
    expect(await unknown.json()).toMatchObject({ name: 'fresh room', title: 'fresh room', createdAt: 0 });
  });
});

describe('serving the web app', () => {
  it('serves the app for client-side routes and 404s missing files and API paths', async () => {
    const server = await startServer();
    const page = await fetch(`${server.url}/d/some-room`);
    expect(page.status).toBe(200);
    expect(page.headers.get('content-type')).toMatch(/text\/html/);
    expect((await fetch(`${server.url}/assets/gone-1234.js`)).status).toBe(404);
    const api = await fetch(`${server.url}/api/nothing`);
    expect(api.status).toBe(404);
    expect(await api.json()).toEqual({ error: 'no route for GET /api/nothing' });
  });
});
