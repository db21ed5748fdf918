import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { brotliCompressSync, gzipSync } from 'node:zlib';
import { SignJWT } from 'jose';
import { describe, expect, it } from 'vitest';
import { documentName } from '../src/http/documents.js';
import { member, startServer, tempDir } from './helpers.js';

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

async function get(url: string, name: string): Promise<{ status: number; json: any }> {
  const response = await fetch(`${url}/api/documents/${encodeURIComponent(name)}`);
  return { status: response.status, json: await response.json() };
}

/** Every error answer's body: the reason and a code, nothing else (no stack, no status text). */
const errorBody = (code: string, reason: RegExp | string = /./) => ({
  error: typeof reason === 'string' ? reason : expect.stringMatching(reason),
  code,
});

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
    expect(await get(server.url, 'ad-hoc')).toMatchObject({ status: 200, json: { name: 'ad-hoc', online: 1 } });
  });

  it('creates a document under a given name, titled by it unless a title is given, once', async () => {
    const server = await startServer();
    const created = await post(server.url, { name: 'Team notes' });
    expect(created).toMatchObject({ status: 201, json: { name: 'Team notes', title: 'Team notes', online: 0 } });
    expect((await post(server.url, { name: 'plans-2025', title: ' Plans ' })).json).toMatchObject({ name: 'plans-2025', title: 'Plans' });
    expect(await get(server.url, 'Team notes')).toMatchObject({ status: 200, json: { name: 'Team notes', title: 'Team notes' } });
    expect(await post(server.url, { name: 'Team notes' })).toEqual({
      status: 409,
      json: errorBody('conflict', 'a document named "Team notes" exists already'),
    });
  });

  it('refuses a name taken by a room that was joined and edited', async () => {
    const server = await startServer();
    const alice = await member(server.wsUrl, 'joined', 'Alice');
    alice.doc.getText('t').insert(0, 'hi');
    await alice.whenSaved();
    expect((await post(server.url, { name: 'joined' })).status).toBe(409);
  });

  it.each([
    ['an empty name', '', /1 to 128 characters/],
    ['an over-long name', 'x'.repeat(129), /1 to 128 characters/],
    ['a slash', 'a/b', /"\/"/],
    ['a control character', 'a\nb', /control characters/],
  ])('refuses %s, as the WebSocket gateway does', async (_label, name, reason) => {
    const server = await startServer();
    expect(await post(server.url, { name })).toEqual({ status: 400, json: errorBody('invalid_name', reason) });
    if (name) expect(await get(server.url, name)).toEqual({ status: 400, json: errorBody('invalid_name', reason) });
    expect(await list(server.url)).toEqual([]);
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
    expect(refused).toEqual({ status: 400, json: errorBody('bad_request', /title|JSON|body/i) });
    expect(refused.json.error).not.toMatch(/at .*\.js:\d+/);
  });

  it('refuses a body over 2 MiB with 413, and one that is not JSON with 415', async () => {
    const server = await startServer();
    expect(await post(server.url, { title: 'Big', text: 'x'.repeat(2 * 1024 * 1024) })).toEqual({
      status: 413,
      json: errorBody('too_large'),
    });
    const text = await fetch(`${server.url}/api/documents`, {
      method: 'POST',
      headers: { 'content-type': 'application/xml' },
      body: '<title/>',
    });
    expect([text.status, await text.json()]).toEqual([415, errorBody('unsupported_media_type')]);
  });

  it('answers 401 without a token when authentication is on, in the same shape', async () => {
    const server = await startServer({ auth: 'jwt', jwtSecret: 'a-test-secret-that-is-long-enough-0123' });
    const response = await fetch(`${server.url}/api/documents`);
    expect([response.status, await response.json()]).toEqual([401, errorBody('unauthorized', /token/)]);
    const forged = await new SignJWT({ rooms: { '*': 'write' } })
      .setProtectedHeader({ alg: 'HS256' })
      .setSubject('u')
      .sign(new TextEncoder().encode('another-secret-that-is-long-enough-0123'));
    expect(await (await fetch(`${server.url}/api/documents/x?token=${forged}`)).json()).toEqual(errorBody('unauthorized'));
  });

  it('makes names from titles without letters too', () => {
    expect(documentName('!!!')).toMatch(/^doc-[0-9a-f]{8}$/);
    expect(documentName('Ünïcödé Tïtle')).toMatch(/^unicode-title-/);
  });
});

describe('errors elsewhere', () => {
  it('come in the same shape from the admin API and /metrics', async () => {
    const server = await startServer({ adminToken: 'an-admin-token-0123456789', metricsToken: 'a-metrics-token-0123456789' });
    const admin = await fetch(`${server.url}/api/admin/rooms`, { headers: { authorization: 'Bearer wrong' } });
    expect([admin.status, admin.headers.get('www-authenticate'), await admin.json()]).toEqual([401, 'Bearer', errorBody('unauthorized')]);
    const level = await fetch(`${server.url}/api/admin/log-level`, {
      method: 'PUT',
      headers: { authorization: 'Bearer an-admin-token-0123456789', 'content-type': 'application/json' },
      body: JSON.stringify({ level: 'loud' }),
    });
    expect([level.status, await level.json()]).toEqual([400, errorBody('bad_request', /level/)]);
    const metrics = await fetch(`${server.url}/metrics`);
    expect([metrics.status, await metrics.json()]).toEqual([401, errorBody('unauthorized', /METRICS_TOKEN/)]);
  });
});

describe('one document', () => {
  it('describes a created document, and answers 404 for a name no document has', async () => {
    const server = await startServer();
    const created = (await post(server.url, { title: 'Roadmap' })).json;
    expect(await get(server.url, created.name)).toMatchObject({ status: 200, json: { name: created.name, title: 'Roadmap', online: 0 } });
    expect(await get(server.url, 'fresh room')).toEqual({ status: 404, json: errorBody('not_found', 'no document named "fresh room"') });
  });

  it('finds names as long as the gateway allows, however they are encoded', async () => {
    const server = await startServer();
    for (const name of ['n'.repeat(128), '✓'.repeat(128), '😀'.repeat(64)]) {
      expect((await post(server.url, { name })).status).toBe(201);
      expect((await get(server.url, name)).json.name).toBe(name);
    }
  });
});

/** A built web app in miniature: a page, a hashed script, and compressed copies as the build writes them. */
function webApp(): string {
  const dir = tempDir();
  const page = '<!doctype html><title>Tandem</title><div id="root"></div>' + '<!-- padding -->'.repeat(20);
  const script = `console.log(${JSON.stringify('tandem '.repeat(200))});`;
  mkdirSync(join(dir, 'assets'));
  for (const [file, content] of [
    ['index.html', page],
    ['assets/index-1a2b3c4d.js', script],
  ] as const) {
    writeFileSync(join(dir, file), content);
    writeFileSync(join(dir, `${file}.br`), brotliCompressSync(content));
    writeFileSync(join(dir, `${file}.gz`), gzipSync(content));
  }
  return dir;
}

describe('serving the web app', () => {
  it('serves the app for its routes, and a 404 for other pages, missing files and API paths', async () => {
    const server = await startServer({ staticDir: webApp() });
    const html = { accept: 'text/html,application/xhtml+xml' };
    for (const path of ['/', '/d/some-room', '/d/notes.v2', '/admin']) {
      const page = await fetch(`${server.url}${path}`, { headers: html });
      expect([path, page.status, page.headers.get('content-type')]).toEqual([path, 200, expect.stringMatching(/text\/html/)]);
    }
    for (const path of ['/nowhere', '/d/a/b', '/docs.html']) {
      const page = await fetch(`${server.url}${path}`, { headers: html });
      expect([path, page.status, await page.text()]).toEqual([path, 404, expect.stringContaining('<div id="root">')]);
    }
    const script = await fetch(`${server.url}/assets/gone-1234.js`);
    expect([script.status, await script.json()]).toEqual([404, errorBody('not_found', 'no route for GET /assets/gone-1234.js')]);
    const api = await fetch(`${server.url}/api/nothing`, { headers: html });
    expect([api.status, await api.json()]).toEqual([404, errorBody('not_found', 'no route for GET /api/nothing')]);
  });

  it('sends the compressed copies, caches hashed assets for good and revalidates the page', async () => {
    const server = await startServer({ staticDir: webApp() });
    for (const encoding of ['br', 'gzip']) {
      const script = await fetch(`${server.url}/assets/index-1a2b3c4d.js`, { headers: { 'accept-encoding': encoding } });
      expect(script.headers.get('content-encoding')).toBe(encoding);
      expect(script.headers.get('content-type')).toMatch(/javascript/);
      expect(script.headers.get('cache-control')).toBe('public, max-age=31536000, immutable');
      expect(script.headers.get('vary')).toMatch(/accept-encoding/i);
      expect(await script.text()).toContain('tandem tandem');
    }
    const plain = await fetch(`${server.url}/assets/index-1a2b3c4d.js`, { headers: { 'accept-encoding': 'identity' } });
    expect(plain.headers.get('content-encoding')).toBeNull();
    for (const path of ['/', '/index.html', '/d/some-room']) {
      const page = await fetch(`${server.url}${path}`, { headers: { 'accept-encoding': 'br' } });
      expect([path, page.headers.get('content-encoding'), page.headers.get('cache-control')]).toEqual([path, 'br', 'no-cache']);
    }
  });
});
