import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Member } from '@tandem/protocol';
import Fastify, { type FastifyInstance } from 'fastify';
import { describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import * as Y from 'yjs';
import { createTandem, makeConfig, type Tandem } from '../src/index.js';
import { client, member, onCleanup, tempDir, until } from './helpers.js';

/** The code blocks of a section of docs/embedding.md, run as the documentation shows them. */
function snippet(section: string): string {
  const docs = readFileSync(new URL('../../../docs/embedding.md', import.meta.url), 'utf8');
  const start = docs.indexOf(`## ${section}`);
  if (start < 0) throw new Error(`docs/embedding.md has no section "${section}"`);
  const code = /```js\n([\s\S]*?)```/.exec(docs.slice(start))![1]!;
  // The imports become parameters; the fixed port and data directory become free ones.
  return code
    .replace(/^import .*$/gm, '')
    .replaceAll("'./tandem-data'", 'dataDir')
    .replace('listen(3000)', 'listen(0)')
    .replace('port: 3000', 'port: 0');
}

const AsyncFunction = (async () => {}).constructor as new (...args: string[]) => (...values: unknown[]) => Promise<unknown>;

const portOf = (server: Server): number => (server.address() as AddressInfo).port;

describe('embedding Tandem in an app (docs/embedding.md)', () => {
  it('attaches to an existing http.Server: WebSockets on its port, its own routes untouched', async () => {
    const run = new AsyncFunction(
      'createServer',
      'createTandem',
      'makeConfig',
      'dataDir',
      `${snippet('Attach to your HTTP server')}\nreturn { tandem, server };`,
    );
    const { tandem, server } = (await run(createServer, createTandem, makeConfig, tempDir())) as { tandem: Tandem; server: Server };
    onCleanup(async () => {
      await tandem.close();
      await new Promise((resolve) => server.close(resolve));
    });
    await until(() => server.listening, 'the app listens');
    const url = `http://127.0.0.1:${portOf(server)}`;
    expect(await (await fetch(url)).text()).toBe('my app');
    const ada = await member(url, 'attached', 'Ada');
    const bob = await member(url, 'attached', 'Bob');
    ada.doc.getText('notes').insert(0, 'typed in an embedded room');
    await until(() => bob.doc.getText('notes').toString() === 'typed in an embedded room', 'Bob gets Ada’s edit', 5_000, bob);
    await ada.whenSaved();
    // Another path is not Tandem's: with no other listener it is refused, not left hanging.
    const other = new WebSocket(`ws://127.0.0.1:${portOf(server)}/elsewhere`);
    const status = await new Promise<number>((resolve) => other.on('unexpected-response', (_req, res) => resolve(res.statusCode ?? 0)));
    expect(status).toBe(404);
  });

  it('runs as a Fastify plugin with the app’s own session authentication and its hooks', async () => {
    const indexed = new Map<string, string>();
    const search = { index: (room: string, text: string) => indexed.set(room, text) };
    const logged: string[] = [];
    const console = { log: (line: string) => logged.push(line) };
    const run = new AsyncFunction(
      'Fastify',
      'createTandem',
      'makeConfig',
      'dataDir',
      'search',
      'console',
      `${snippet('Fastify plugin, your own authentication, and hooks')}\nreturn { tandem, app };`,
    );
    const { app } = (await run(Fastify, createTandem, makeConfig, tempDir(), search, console)) as { tandem: Tandem; app: FastifyInstance };
    onCleanup(() => app.close());
    const url = `http://127.0.0.1:${portOf(app.server)}`;
    expect(await (await fetch(url)).text()).toBe('my app');

    // A session cookie (a browser's way) and a token (an API client's) both sign in.
    class WithCookie extends WebSocket {
      constructor(address: string, protocols?: string | string[]) {
        super(address, protocols, { headers: { cookie: 'theme=dark; sid=s3cret' } });
      }
    }
    const ada = await member(url, 'team-notes', 'ignored', { WebSocket: WithCookie });
    expect(ada.me).toMatchObject({ name: 'Ada' });
    expect(ada.rights).toBe('write');
    const api = await member(url, 'team-notes', 'ignored', { token: 's3cret' });
    api.sendChat('hello from the API');
    ada.doc.getText('notes').insert(0, 'indexed text');
    await until(() => indexed.get('team-notes') === 'indexed text', 'onChange sees the document', 5_000);
    await until(() => logged.includes('team-notes · Ada: hello from the API'), 'onChat ran with the stored message', 5_000);
    expect(logged.filter((line) => line === 'Ada joined team-notes')).toHaveLength(2);
    // Rights from the hook: read elsewhere.
    const reader = await member(url, 'handbook', 'ignored', { token: 's3cret' });
    expect(reader.rights).toBe('read');
    // No session: refused with the hook's reason, and the SDK stops.
    const stranger = client(url, 'team-notes', { name: 'Stranger' });
    await until(() => stranger.status.state === 'closed', 'the stranger is refused for good', 5_000, stranger);
    expect(stranger.status).toMatchObject({ state: 'closed', code: 'unauthorized', error: { status: 401, message: 'sign in first' } });
    // Tandem's HTTP API, behind the same hook.
    expect((await fetch(`${url}/api/documents`)).status).toBe(401);
    const listed = (await (await fetch(`${url}/api/documents`, { headers: { cookie: 'sid=s3cret' } })).json()) as {
      documents: Array<{ name: string; members: Member[] }>;
    };
    expect(listed.documents.map((d) => d.name)).toContain('team-notes');
    expect((await fetch(`${url}/readyz`)).status).toBe(200);
  });

  it('keeps a failing hook from hurting the room', async () => {
    const tandem = await createTandem(makeConfig({ dataDir: tempDir(), logLevel: 'silent' }), {
      onJoin: () => {
        throw new Error('the app’s bug');
      },
      onChange: async () => Promise.reject(new Error('the app’s async bug')),
    });
    const server = createServer();
    tandem.attach(server);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    onCleanup(async () => {
      await tandem.close();
      await new Promise((resolve) => server.close(resolve));
    });
    const url = `http://127.0.0.1:${portOf(server)}`;
    const ada = await member(url, 'fragile', 'Ada');
    const bob = await member(url, 'fragile', 'Bob');
    ada.doc.getText('t').insert(0, 'still works');
    await until(() => bob.doc.getText('t').toString() === 'still works', 'the room goes on', 5_000, bob);
    expect(Y.encodeStateAsUpdate(bob.doc).byteLength).toBeGreaterThan(0);
  });
});
