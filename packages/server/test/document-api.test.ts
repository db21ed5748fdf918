import SwaggerParser from '@apidevtools/swagger-parser';
import { SignJWT } from 'jose';
import { describe, expect, it } from 'vitest';
import * as Y from 'yjs';
import { startCluster, useClusterServices } from './cluster-setup.js';
import { SqliteStorage, type Storage } from '../src/index.js';
import { member, startServer, tempDir, until, type TestServer } from './helpers.js';

useClusterServices();

const SECRET = 'a-test-secret-that-is-long-enough-0123';

async function call(url: string, method: string, path: string, body?: unknown, token?: string): Promise<{ status: number; json: any }> {
  const response = await fetch(`${url}${path}`, {
    method,
    headers: {
      ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      ...(token ? { authorization: `Bearer ${token}` } : {}),
    },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await response.text();
  return { status: response.status, json: text && response.headers.get('content-type')?.includes('json') ? JSON.parse(text) : text };
}

const patch = (url: string, name: string, body: unknown, token?: string) => call(url, 'PATCH', `/api/documents/${name}`, body, token);
const markdownOf = async (url: string, name: string): Promise<string> =>
  (await fetch(`${url}/api/documents/${name}/export?format=markdown`)).text();

async function create(url: string, title: string, markdown?: string): Promise<string> {
  const created = await call(url, 'POST', '/api/documents', { title, ...(markdown === undefined ? {} : { markdown }) });
  expect(created.status).toBe(201);
  return created.json.name as string;
}

/** The server's copy of the document, as the Yjs export gives it. */
async function serverFragment(url: string, name: string): Promise<string> {
  const doc = new Y.Doc();
  Y.applyUpdate(doc, new Uint8Array(await (await fetch(`${url}/api/documents/${name}/export?format=yjs`)).arrayBuffer()));
  return doc.getXmlFragment('content').toString();
}

function paragraph(text: string): Y.XmlElement {
  const element = new Y.XmlElement('paragraph');
  element.insert(0, [new Y.XmlText(text)]);
  return element;
}

describe('changing a document through the API', () => {
  it('appends and replaces content, and members see it live', async () => {
    const server = await startServer();
    const name = await create(server.url, 'Notes', '# Notes\n\nFirst');
    const ada = await member(server.wsUrl, name, 'Ada');
    const content = ada.doc.getXmlFragment('content');
    await until(() => content.length === 2, 'Ada has the imported content');

    const appended = await patch(server.url, name, { markdown: '## More\n\n- **bold** item', mode: 'append' });
    expect(appended).toMatchObject({ status: 200, json: { name, title: 'Notes', online: 1 } });
    await until(() => content.length === 4, 'Ada sees the appended blocks');
    expect(await markdownOf(server.url, name)).toBe('# Notes\n\nFirst\n\n## More\n\n- **bold** item');

    // A replace is a diff: the unchanged heading keeps its identity (a member's edit in it would survive).
    const heading = content.get(0) as Y.XmlElement;
    const replaced = await patch(server.url, name, { html: '<h1>Notes</h1><p>Changed</p>', mode: 'replace' });
    expect(replaced.status).toBe(200);
    await until(() => content.length === 2 && content.toString().includes('Changed'), 'Ada sees the replacement');
    expect(content.get(0)).toBe(heading);
    expect(await markdownOf(server.url, name)).toBe('# Notes\n\nChanged');

    const json = { type: 'doc', content: [{ type: 'paragraph', content: [{ type: 'text', text: 'From JSON' }] }] };
    expect((await patch(server.url, name, { json, mode: 'append' })).status).toBe(200);
    expect(await markdownOf(server.url, name)).toBe('# Notes\n\nChanged\n\nFrom JSON');
  });

  it('keeps every edit when the API appends while two members type', async () => {
    const server = await startServer();
    const name = await create(server.url, 'Busy', '# Busy\n\nAda:\n\nGrace:');
    const ada = await member(server.wsUrl, name, 'Ada');
    const grace = await member(server.wsUrl, name, 'Grace');
    const adaContent = ada.doc.getXmlFragment('content');
    const graceContent = grace.doc.getXmlFragment('content');
    await until(() => adaContent.length === 3 && graceContent.length === 3, 'both have the document');
    const adaText = (adaContent.get(1) as Y.XmlElement).get(0) as Y.XmlText;
    const graceText = (graceContent.get(2) as Y.XmlElement).get(0) as Y.XmlText;

    const typing = async (text: Y.XmlText, who: string, content: Y.XmlFragment) => {
      for (let i = 0; i < 20; i++) {
        text.insert(text.length, ` ${who}${i}`);
        if (i % 5 === 0) content.insert(content.length, [paragraph(`${who} block ${i}`)]);
        await new Promise((resolve) => setTimeout(resolve, 5));
      }
    };
    const api = async () => {
      for (let i = 0; i < 5; i++) {
        expect((await patch(server.url, name, { markdown: `API ${i}`, mode: 'append' })).status).toBe(200);
      }
      expect((await patch(server.url, name, { title: 'Busy day' })).json.title).toBe('Busy day');
    };
    await Promise.all([typing(adaText, 'a', adaContent), typing(graceText, 'g', graceContent), api()]);
    await Promise.all([ada.whenSaved(), grace.whenSaved()]);

    const expected = (fragment: string): boolean =>
      Array.from({ length: 20 }, (_, i) => [` a${i}`, ` g${i}`]).every(([a, g]) => fragment.includes(a!) && fragment.includes(g!)) &&
      [0, 5, 10, 15].every((i) => fragment.includes(`a block ${i}`) && fragment.includes(`g block ${i}`)) &&
      [0, 1, 2, 3, 4].every((i) => fragment.includes(`API ${i}`));
    await until(() => adaContent.toString() === graceContent.toString() && expected(adaContent.toString()), 'the members converge');
    expect(await serverFragment(server.url, name)).toBe(adaContent.toString());
    expect((await call(server.url, 'GET', `/api/documents/${name}`)).json.title).toBe('Busy day');
  });

  it('renames a document, and refuses bad bodies with the error shape', async () => {
    const server = await startServer();
    const name = await create(server.url, 'Old');
    expect(await patch(server.url, name, { title: '  New title ' })).toMatchObject({ status: 200, json: { name, title: 'New title' } });
    expect((await call(server.url, 'GET', `/api/documents/${name}`)).json.title).toBe('New title');
    expect(await patch(server.url, name, { markdown: '# x' })).toMatchObject({ status: 400, json: { code: 'bad_request', error: /mode/ } });
    expect(await patch(server.url, name, { mode: 'append' })).toMatchObject({ status: 400, json: { code: 'bad_request' } });
    expect(await patch(server.url, name, { title: '   ' })).toMatchObject({ status: 400, json: { code: 'bad_request' } });
    expect(await patch(server.url, name, { json: { type: 'doc', content: [{ type: 'table' }] }, mode: 'replace' })).toMatchObject({
      status: 400,
      json: { code: 'invalid_content', error: expect.stringMatching(/table/) },
    });
    expect(await patch(server.url, 'missing', { title: 'x' })).toMatchObject({ status: 404, json: { code: 'not_found' } });
  });

  it('refuses content changes to a read-only document and past the size limit', async () => {
    const server = await startServer({ adminToken: 'an-admin-token-0123456789', maxDocumentBytes: 4096 });
    const name = await create(server.url, 'Small');
    expect(await patch(server.url, name, { text: 'x'.repeat(5000), mode: 'append' })).toMatchObject({
      status: 413,
      json: { code: 'too_large' },
    });
    expect(await markdownOf(server.url, name)).toBe('');
    await fetch(`${server.url}/api/admin/rooms/${name}/read-only`, {
      method: 'POST',
      headers: { authorization: 'Bearer an-admin-token-0123456789', 'content-type': 'application/json' },
      body: JSON.stringify({ readOnly: true }),
    });
    expect(await patch(server.url, name, { text: 'x', mode: 'append' })).toMatchObject({ status: 403, json: { code: 'forbidden' } });
  });

  it('refuses content changes with 503 while storage fails, and takes them once it works again', async () => {
    const sqlite = new SqliteStorage(tempDir());
    let failing = false;
    // Methods bound to the real storage (its private fields), with writes that fail on demand.
    const flaky = new Proxy(sqlite, {
      get: (target, key: keyof Storage) =>
        key === 'write'
          ? (batch: Parameters<Storage['write']>[0]) => (failing ? Promise.reject(new Error('SQLITE_FULL')) : target.write(batch))
          : typeof target[key] === 'function'
            ? (target[key] as (...args: unknown[]) => unknown).bind(target)
            : target[key],
    });
    const server = await startServer({}, { storage: flaky });
    const name = await create(server.url, 'Fragile', 'kept');
    failing = true;
    // The import's own write fails first: from then on, storage reports the failure.
    expect((await patch(server.url, name, { markdown: 'one', mode: 'append' })).status).toBe(200);
    expect(await patch(server.url, name, { markdown: 'two', mode: 'append' })).toMatchObject({
      status: 503,
      json: { code: 'unavailable' },
    });
    failing = false;
    const deadline = Date.now() + 10_000;
    while ((await fetch(`${server.url}/healthz`)).status !== 200 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    expect((await patch(server.url, name, { markdown: 'three', mode: 'append' })).status).toBe(200);
    expect(await markdownOf(server.url, name)).toBe('kept\n\none\n\nthree');
  });

  it('deletes a document: its members are closed with 4003 and it is gone', async () => {
    const server = await startServer();
    const name = await create(server.url, 'Doomed', 'bye');
    const ada = await member(server.wsUrl, name, 'Ada');
    expect(await call(server.url, 'DELETE', `/api/documents/${name}`)).toEqual({ status: 200, json: { deleted: true, closed: 1 } });
    await until(() => ada.status.state === 'closed', 'Ada is closed');
    expect(ada.status.state === 'closed' && ada.status.reason).toContain('4003');
    expect((await call(server.url, 'GET', `/api/documents/${name}`)).status).toBe(404);
    expect((await call(server.url, 'DELETE', `/api/documents/${name}`)).status).toBe(404);
  });

  it('applies the token’s rights: read for export, write for changes and deletion', async () => {
    const server = await startServer({ auth: 'jwt', jwtSecret: SECRET });
    const token = (rooms: Record<string, string>) =>
      new SignJWT({ rooms })
        .setProtectedHeader({ alg: 'HS256' })
        .setSubject('u')
        .setExpirationTime('1h')
        .sign(new TextEncoder().encode(SECRET));
    const writer = await token({ '*': 'write' });
    const reader = await token({ '*': 'read' });
    const created = await call(server.url, 'POST', '/api/documents', { title: 'Secret', markdown: '# Secret' }, writer);
    const name = created.json.name as string;
    expect((await fetch(`${server.url}/api/documents/${name}/export?format=markdown`)).status).toBe(401);
    const read = await fetch(`${server.url}/api/documents/${name}/export?format=markdown`, {
      headers: { authorization: `Bearer ${reader}` },
    });
    expect([read.status, await read.text()]).toEqual([200, '# Secret']);
    expect(await patch(server.url, name, { title: 'Mine' }, reader)).toMatchObject({ status: 403, json: { code: 'forbidden' } });
    expect(await call(server.url, 'DELETE', `/api/documents/${name}`, undefined, reader)).toMatchObject({ status: 403 });
    expect(await patch(server.url, name, { markdown: 'more', mode: 'append' }, writer)).toMatchObject({ status: 200 });
    expect(await call(server.url, 'DELETE', `/api/documents/${name}`, undefined, writer)).toMatchObject({ status: 200 });
  });
});

describe('the document API in a cluster', () => {
  it('changes reach members on every node and are in the shared log; a deletion closes them everywhere', async () => {
    const cluster = await startCluster(2);
    const [a, b] = cluster.nodes as [TestServer, TestServer];
    const name = await create(a.url, 'Shared', '# Shared');
    const bob = await member(b.wsUrl, name, 'Bob');
    const content = bob.doc.getXmlFragment('content');
    await until(() => content.length === 1, 'Bob has the document', 10_000, bob);

    expect((await patch(a.url, name, { markdown: 'From node A', mode: 'append' })).status).toBe(200);
    await until(() => content.toString().includes('From node A'), 'Bob on node B sees the change', 10_000, bob);
    expect(await markdownOf(b.url, name)).toBe('# Shared\n\nFrom node A');
    // A third node loads the room from storage and the shared log: the change is there.
    const c = await cluster.start();
    expect(await markdownOf(c.url, name)).toBe('# Shared\n\nFrom node A');

    expect(await call(a.url, 'DELETE', `/api/documents/${name}`)).toEqual({ status: 200, json: { deleted: true, closed: 0 } });
    await until(() => bob.status.state === 'closed', 'Bob is closed by node B', 10_000, bob);
    expect(bob.status.state === 'closed' && bob.status.reason).toContain('4003');
  });
});

describe('the OpenAPI document', () => {
  it('is valid OpenAPI 3, lists every route, and describes errors with one shared schema', async () => {
    const server = await startServer();
    const response = await fetch(`${server.url}/api/openapi.json`);
    expect(response.headers.get('content-type')).toMatch(/application\/json/);
    const spec = (await response.json()) as any;
    expect(spec.openapi).toMatch(/^3\./);
    await SwaggerParser.validate(structuredClone(spec));
    const routes = Object.entries(spec.paths as Record<string, Record<string, unknown>>).flatMap(([path, methods]) =>
      Object.keys(methods).map((method) => `${method.toUpperCase()} ${path}`),
    );
    for (const route of [
      'GET /healthz',
      'GET /readyz',
      'GET /metrics',
      'GET /ws/{*}',
      'GET /api/documents',
      'POST /api/documents',
      'GET /api/documents/{name}',
      'PATCH /api/documents/{name}',
      'DELETE /api/documents/{name}',
      'GET /api/documents/{name}/export',
      'GET /api/admin/rooms',
      'POST /api/admin/rooms/{name}/disconnect',
      'POST /api/admin/rooms/{name}/close',
      'POST /api/admin/rooms/{name}/read-only',
      'DELETE /api/admin/rooms/{name}',
      'POST /api/admin/rooms/{name}/compact',
      'PUT /api/admin/log-level',
    ]) {
      expect(routes).toContain(route);
    }
    expect(spec.components.schemas.HttpError.required).toEqual(['error', 'code']);
    expect(spec.paths['/api/documents/{name}'].patch.responses['404'].content['application/json'].schema.$ref).toBe(
      '#/components/schemas/HttpError',
    );
  });
});
