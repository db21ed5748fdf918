import { SignJWT } from 'jose';
import { describe, expect, it } from 'vitest';
import * as Y from 'yjs';
import { member, startServer, until, type TestServer } from './helpers.js';

const SECRET = 'a-test-secret-that-is-long-enough-0123';
/** Fast timings: a version 150 ms after edits stop, at least every 10 s. */
const FAST = { versionQuietMs: 150, versionMaxIntervalMs: 10_000 };

function setParagraphs(doc: Y.Doc, texts: string[]): void {
  doc.transact(() => {
    const content = doc.getXmlFragment('content');
    content.delete(0, content.length);
    content.insert(
      0,
      texts.map((text) => {
        const paragraph = new Y.XmlElement('paragraph');
        paragraph.insert(0, [new Y.XmlText(text)]);
        return paragraph;
      }),
    );
  });
}

function paragraphs(doc: Y.Doc): string[] {
  return doc
    .getXmlFragment('content')
    .toArray()
    .map((node) =>
      (node as Y.XmlElement)
        .toArray()
        .map((text) => (text as Y.XmlText).toString())
        .join(''),
    );
}

/** Appends to the text of paragraph `index`. */
function type(doc: Y.Doc, index: number, text: string): void {
  const paragraph = doc.getXmlFragment('content').get(index) as Y.XmlElement;
  const node = paragraph.get(0) as Y.XmlText;
  node.insert(node.length, text);
}

async function api(server: TestServer, path: string, init: RequestInit & { token?: string } = {}): Promise<{ status: number; json: any }> {
  const headers: Record<string, string> = init.body ? { 'content-type': 'application/json' } : {};
  if (init.token) headers.authorization = `Bearer ${init.token}`;
  const response = await fetch(`${server.url}/api/documents/${path}`, { ...init, headers });
  const isJson = response.headers.get('content-type')?.startsWith('application/json');
  return { status: response.status, json: isJson ? await response.json() : new Uint8Array(await response.arrayBuffer()) };
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));
const versions = async (server: TestServer, room: string): Promise<any[]> => (await api(server, `${room}/versions`)).json.versions;

async function untilVersions(server: TestServer, room: string, count: number, what: string): Promise<any[]> {
  let list: any[];
  const deadline = Date.now() + 5_000;
  while ((list = await versions(server, room)).length < count) {
    if (Date.now() > deadline) throw new Error(`timed out: ${what} (${list.length} versions)`);
    await sleep(25);
  }
  return list;
}

describe('version history', () => {
  it('takes a version once edits pause, naming who edited, and serves its state', async () => {
    const server = await startServer(FAST);
    const ada = await member(server.wsUrl, 'quiet', 'Ada');
    setParagraphs(ada.doc, ['hello']);
    const [version] = await untilVersions(server, 'quiet', 1, 'a version after the pause');
    expect(version).toMatchObject({
      id: expect.any(Number),
      name: null,
      authors: [{ id: ada.me!.id, name: 'Ada' }],
      size: expect.any(Number),
    });
    const state = await api(server, `quiet/versions/${version.id}`);
    expect(state.status).toBe(200);
    const doc = new Y.Doc();
    Y.applyUpdate(doc, state.json as Uint8Array);
    expect(paragraphs(doc)).toEqual(['hello']);
    expect(await api(server, 'quiet/versions/999')).toMatchObject({ status: 404, json: { code: 'not_found' } });
  });

  it('describes its routes in the OpenAPI document', async () => {
    const server = await startServer();
    const spec = (await (await fetch(`${server.url}/api/openapi.json`)).json()) as { paths: Record<string, Record<string, unknown>> };
    expect(Object.keys(spec.paths['/api/documents/{name}/versions'] ?? {})).toEqual(['get', 'post']);
    expect(Object.keys(spec.paths['/api/documents/{name}/versions/{id}'] ?? {})).toEqual(['get']);
    expect(Object.keys(spec.paths['/api/documents/{name}/versions/{id}/restore'] ?? {})).toEqual(['post']);
  });

  it('takes versions at the maximum interval while editing goes on', async () => {
    const server = await startServer({ versionQuietMs: 10_000, versionMaxIntervalMs: 200 });
    const ada = await member(server.wsUrl, 'busy', 'Ada');
    setParagraphs(ada.doc, ['']);
    for (let i = 0; i < 14; i++) {
      type(ada.doc, 0, 'x');
      await sleep(50);
    }
    expect((await versions(server, 'busy')).length).toBeGreaterThanOrEqual(2);
  });

  it('takes a version when the last person leaves, and none for a visit without edits', async () => {
    const server = await startServer({ versionQuietMs: 60_000, versionMaxIntervalMs: 60_000 });
    const ada = await member(server.wsUrl, 'leave', 'Ada');
    setParagraphs(ada.doc, ['bye']);
    await ada.whenSaved();
    expect(await versions(server, 'leave')).toEqual([]);
    ada.close();
    await untilVersions(server, 'leave', 1, 'a version at the last leave');
    const grace = await member(server.wsUrl, 'leave', 'Grace');
    grace.close();
    await sleep(200);
    expect(await versions(server, 'leave')).toHaveLength(1);
  });

  it('takes a version of an API restore in a room nobody is in, before the room unloads', async () => {
    const server = await startServer({ versionQuietMs: 60_000, versionMaxIntervalMs: 60_000, roomIdleMs: 50 });
    const ada = await member(server.wsUrl, 'unattended', 'Ada');
    setParagraphs(ada.doc, ['first']);
    await ada.whenSaved();
    const saved = await api(server, 'unattended/versions', { method: 'POST', body: JSON.stringify({ name: 'First' }) });
    type(ada.doc, 0, ' and more');
    ada.close();
    await untilVersions(server, 'unattended', 2, 'the version at the leave');
    await sleep(200);
    expect((await api(server, `unattended/versions/${saved.json.id}/restore`, { method: 'POST', body: '{}' })).status).toBe(200);
    const [newest] = await untilVersions(server, 'unattended', 3, 'the version of the restore');
    expect(newest.authors).toEqual([{ id: 'api', name: 'An API client' }]);
  });

  it('stores an unchanged state once: a named save names the newest version', async () => {
    const server = await startServer(FAST);
    const ada = await member(server.wsUrl, 'dedupe', 'Ada');
    setParagraphs(ada.doc, ['same']);
    const [auto] = await untilVersions(server, 'dedupe', 1, 'the automatic version');
    const named = await api(server, 'dedupe/versions', { method: 'POST', body: JSON.stringify({ name: 'Final' }) });
    expect(named).toMatchObject({ status: 201, json: { id: auto.id, name: 'Final' } });
    expect(await versions(server, 'dedupe')).toHaveLength(1);
    expect(await api(server, 'dedupe/versions', { method: 'POST', body: JSON.stringify({ name: ' ' }) })).toMatchObject({
      status: 400,
      json: { code: 'bad_request' },
    });
  });

  it('keeps named versions and the newest automatic ones within the retention', async () => {
    const server = await startServer({ ...FAST, versionRetention: 2 });
    const ada = await member(server.wsUrl, 'kept', 'Ada');
    setParagraphs(ada.doc, ['v0']);
    await untilVersions(server, 'kept', 1, 'the first version');
    await api(server, 'kept/versions', { method: 'POST', body: JSON.stringify({ name: 'Milestone' }) });
    for (let i = 1; i <= 4; i++) {
      type(ada.doc, 0, String(i));
      await sleep(250);
    }
    const list = await versions(server, 'kept');
    expect(list.filter((v) => v.name === null)).toHaveLength(2);
    expect(list.map((v) => v.name)).toContain('Milestone');
  });

  it('needs read rights to list and fetch, write rights to save and restore', async () => {
    const server = await startServer({ ...FAST, auth: 'jwt', jwtSecret: SECRET });
    const token = (rights: string) =>
      new SignJWT({ rooms: { 'doc-*': rights } })
        .setProtectedHeader({ alg: 'HS256' })
        .setSubject('u1')
        .setExpirationTime('1h')
        .sign(new TextEncoder().encode(SECRET));
    const [reader, writer] = await Promise.all([token('read'), token('write')]);
    expect(await api(server, 'doc-1/versions')).toMatchObject({ status: 401, json: { code: 'unauthorized' } });
    expect(await api(server, 'other/versions', { token: writer })).toMatchObject({ status: 403, json: { code: 'forbidden' } });
    expect(await api(server, 'doc-1/versions', { token: reader })).toMatchObject({ status: 200, json: { versions: [] } });
    const save = { method: 'POST', body: JSON.stringify({ name: 'v1' }) };
    expect(await api(server, 'doc-1/versions', { ...save, token: reader })).toMatchObject({ status: 403, json: { code: 'forbidden' } });
    const saved = await api(server, 'doc-1/versions', { ...save, token: writer });
    expect(saved).toMatchObject({ status: 201, json: { name: 'v1' } });
    const restore = { method: 'POST', body: '{}' };
    expect(await api(server, `doc-1/versions/${saved.json.id}/restore`, { ...restore, token: reader })).toMatchObject({ status: 403 });
    expect(await api(server, `doc-1/versions/${saved.json.id}/restore`, { ...restore, token: writer })).toMatchObject({
      status: 200,
      json: { restored: { id: saved.json.id, name: 'v1' } },
    });
  });

  it('restores as a new change that merges with concurrent edits and records who did it', async () => {
    const server = await startServer(FAST);
    const ada = await member(server.wsUrl, 'restore', 'Ada');
    const grace = await member(server.wsUrl, 'restore', 'Grace');
    setParagraphs(ada.doc, ['alpha', 'beta']);
    await ada.whenSaved();
    const saved = await api(server, 'restore/versions', { method: 'POST', body: JSON.stringify({ name: 'Draft' }) });
    type(ada.doc, 0, ' changed');
    ada.doc.getXmlFragment('content').insert(2, [new Y.XmlElement('paragraph')]);
    (ada.doc.getXmlFragment('content').get(2) as Y.XmlElement).insert(0, [new Y.XmlText('gamma')]);
    await ada.whenSaved();
    await until(() => paragraphs(grace.doc).length === 3, 'Grace sees the third paragraph', 5_000, grace);

    // Grace edits a copy that has not seen the restore: her change is concurrent with it.
    const fork = new Y.Doc();
    Y.applyUpdate(fork, Y.encodeStateAsUpdate(grace.doc));
    const before = Y.encodeStateVector(fork);
    type(fork, 1, ' (Grace)');
    // Ada keeps typing into the second paragraph while the restore runs.
    let typed = '';
    const typing = setInterval(() => {
      const next = String(typed.length % 10);
      typed += next;
      type(ada.doc, 1, next);
    }, 5);
    const restored = await api(server, `restore/versions/${saved.json.id}/restore`, { method: 'POST', body: '{}' });
    const typedBeforeAnswer = typed.length;
    await sleep(60);
    clearInterval(typing);
    Y.applyUpdate(grace.doc, Y.encodeStateAsUpdate(fork, before));
    expect(restored.status).toBe(200);

    await Promise.all([ada.whenSaved(), grace.whenSaved()]);
    const settled = () => JSON.stringify(paragraphs(ada.doc)) === JSON.stringify(paragraphs(grace.doc));
    await until(settled, 'Ada and Grace converge', 5_000, grace);
    const [first, second, ...rest] = paragraphs(ada.doc);
    expect(first).toBe('alpha');
    expect(rest).toEqual([]);
    // Grace's concurrent edit survives, and so does what Ada typed after the restore was applied.
    expect(second).toContain(' (Grace)');
    expect(second!.replace(' (Grace)', '')).toMatch(/^beta\d*$/);
    expect(second!.replace(' (Grace)', '').endsWith(typed.slice(typedBeforeAnswer))).toBe(true);
    await until(() => ada.activity.some((entry) => entry.kind === 'restore'), 'the restore in the activity', 5_000, ada);
    expect(ada.activity.find((entry) => entry.kind === 'restore')).toMatchObject({
      member: { name: 'An API client' },
      version: { id: saved.json.id, name: 'Draft' },
    });
  });

  it('records a restore the member applied in their own editor, as that member', async () => {
    const server = await startServer(FAST);
    const ada = await member(server.wsUrl, 'applied', 'Ada');
    setParagraphs(ada.doc, ['text']);
    await ada.whenSaved();
    const saved = await api(server, 'applied/versions', { method: 'POST', body: JSON.stringify({ name: 'One' }) });
    type(ada.doc, 0, ' more');
    const body = JSON.stringify({ applied: true, member: ada.me });
    expect((await api(server, `applied/versions/${saved.json.id}/restore`, { method: 'POST', body })).status).toBe(200);
    await until(() => ada.activity.some((entry) => entry.kind === 'restore'), 'the restore in the activity', 5_000, ada);
    expect(ada.activity.find((entry) => entry.kind === 'restore')?.member.name).toBe('Ada');
    expect(paragraphs(ada.doc)).toEqual(['text more']);
  });
});
