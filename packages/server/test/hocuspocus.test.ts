import { readFileSync } from 'node:fs';
import {
  HocuspocusProvider,
  HocuspocusProviderWebsocket,
  type HocuspocusProviderConfiguration,
  type onAuthenticatedParameters,
} from '@hocuspocus/provider';
import { CloseCode } from '@tandem/protocol';
import { SignJWT } from 'jose';
import * as encoding from 'lib0/encoding';
import { describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import * as Y from 'yjs';
import { stockClient } from './cluster-setup.js';
import { closeEvent, member, onCleanup, startServer, until } from './helpers.js';

const SECRET = 'a-test-secret-that-is-long-enough-0123';
const jwtConfig = { auth: 'jwt' as const, jwtSecret: SECRET };

function token(rooms: Record<string, string>, expiresIn: string | number = '1h', sub = 'u-tip'): Promise<string> {
  return new SignJWT({ name: 'Tip', rooms })
    .setProtectedHeader({ alg: 'HS256' })
    .setSubject(sub)
    .setIssuedAt()
    .setExpirationTime(expiresIn)
    .sign(new TextEncoder().encode(SECRET));
}

/** The stock provider under Node, destroyed after the test. */
class NodeProvider extends HocuspocusProvider {
  constructor(configuration: HocuspocusProviderConfiguration) {
    // Given a url, the provider builds its WebSocket from the same options, the polyfill included.
    super({ ...({ WebSocketPolyfill: WebSocket } as object), ...configuration });
    onCleanup(() => this.destroy());
  }
}

function provider(wsUrl: string, name: string, options: Partial<HocuspocusProviderConfiguration> = {}): HocuspocusProvider {
  return new NodeProvider({ url: `${wsUrl}/hocuspocus`, name, ...options } as HocuspocusProviderConfiguration);
}

function sharedSocket(wsUrl: string): HocuspocusProviderWebsocket {
  const socket = new HocuspocusProviderWebsocket({ url: `${wsUrl}/hocuspocus`, WebSocketPolyfill: WebSocket });
  onCleanup(() => socket.destroy());
  return socket;
}

function attached(
  socket: HocuspocusProviderWebsocket,
  name: string,
  options: Partial<HocuspocusProviderConfiguration> = {},
): HocuspocusProvider {
  const attachedProvider = new HocuspocusProvider({ websocketProvider: socket, name, ...options });
  attachedProvider.attach();
  onCleanup(() => attachedProvider.destroy());
  return attachedProvider;
}

function text(doc: Y.Doc): string {
  return doc.getText('text').toString();
}

/** A raw Hocuspocus message: the document name, the type, then what `write` adds. */
function hocuspocusMessage(name: string, type: number, write: (encoder: encoding.Encoder) => void = () => {}): Uint8Array {
  const encoder = encoding.createEncoder();
  encoding.writeVarString(encoder, name);
  encoding.writeVarUint(encoder, type);
  write(encoder);
  return encoding.toUint8Array(encoder);
}

async function rawHocuspocus(wsUrl: string): Promise<WebSocket> {
  const ws = new WebSocket(`${wsUrl}/hocuspocus`);
  ws.on('error', () => {});
  onCleanup(() => ws.terminate());
  await new Promise((resolve) => ws.once('open', resolve));
  return ws;
}

describe('the Hocuspocus provider', () => {
  it('meets a y-websocket client and an SDK client in one room: edits, presence and acknowledgements', async () => {
    const server = await startServer();
    const sdk = await member(server.url, 'shared', 'Ann');
    const yws = stockClient(server.wsUrl, 'shared');
    const tip = provider(server.wsUrl, 'shared');
    const authenticated = new Promise<onAuthenticatedParameters>((resolve) => tip.on('authenticated', resolve));
    await until(() => tip.isSynced && yws.synced, 'the provider and the y-websocket client sync');
    expect((await authenticated).scope).toBe('read-write');

    tip.document.getText('text').insert(0, 'tip ');
    yws.doc.getText('text').insert(0, 'yws ');
    sdk.doc.getText('text').insert(0, 'sdk ');
    const docs = [tip.document, yws.doc, sdk.doc];
    await until(() => docs.every((doc) => ['tip', 'yws', 'sdk'].every((word) => text(doc).includes(word))), 'all three see every edit');
    expect(new Set(docs.map(text)).size).toBe(1);
    await until(() => tip.unsyncedChanges === 0 && !tip.hasUnsyncedChanges, 'the server acknowledges the provider’s edit');

    tip.setAwarenessField('user', { name: 'Tip' });
    sdk.awareness.setLocalStateField('user', { name: 'Ann' });
    const names = (states: Map<number, Record<string, any>>): unknown[] => [...states.values()].map((state) => state.user?.name);
    await until(() => names(sdk.awareness.getStates()).includes('Tip'), 'the SDK client sees the provider’s presence');
    await until(() => names(tip.awareness!.getStates()).includes('Ann'), 'the provider sees the SDK client’s presence');
    await until(() => names(yws.awareness.getStates()).includes('Tip'), 'the y-websocket client sees the provider’s presence');
  });

  it('is served at a bare /ws too', async () => {
    const server = await startServer();
    const sdk = await member(server.url, 'bare', 'Ann');
    const tip = new NodeProvider({ url: `${server.wsUrl}/ws`, name: 'bare' });
    await until(() => tip.isSynced, 'the provider syncs');
    tip.document.getText('text').insert(0, 'over /ws');
    await until(() => text(sdk.doc) === 'over /ws', 'the SDK client gets the edit');
  });

  it('runs the snippet of docs/embedding.md', async () => {
    const server = await startServer(jwtConfig);
    const sdk = await member(server.url, 'team-notes', 'Ann', { token: await token({ 'team-*': 'write' }, '1h', 'u-ann') });
    const docs = readFileSync(new URL('../../../docs/embedding.md', import.meta.url), 'utf8');
    const section = docs.slice(docs.indexOf('## Hocuspocus provider'));
    const snippet = /```js\n([\s\S]*?)```/.exec(section)![1]!;
    const body = snippet.replace(/^import .*$/gm, '').replace('ws://localhost:8000', server.wsUrl);
    const myJwt = (): Promise<string> => token({ 'team-*': 'write' });
    const run = new Function('HocuspocusProvider', 'Y', 'myJwt', `${body}\nreturn doc;`);
    const doc = run(NodeProvider, Y, myJwt) as Y.Doc;
    await until(() => sdk.doc.getText('notes').toString() === 'Hello from TipTap\n', 'the SDK client gets the snippet’s edit');
    expect(doc.getText('notes').toString()).toBe('Hello from TipTap\n');
  });

  describe('in jwt mode', () => {
    it('syncs with a valid token and reports a bad one with its reason', async () => {
      const server = await startServer(jwtConfig);
      const sdk = await member(server.url, 'secret', 'Ann', { token: await token({ '*': 'write' }, '1h', 'u-ann') });
      const good = provider(server.wsUrl, 'secret', { token: await token({ secret: 'write' }) });
      await until(() => good.isSynced, 'the provider with a valid token syncs');
      good.document.getText('text').insert(0, 'signed');
      await until(() => text(sdk.doc) === 'signed', 'its edit reaches the SDK client');

      const failures: string[] = [];
      const bad = provider(server.wsUrl, 'secret', { token: 'not-a-jwt', onAuthenticationFailed: ({ reason }) => failures.push(reason) });
      await until(() => failures.length > 0, 'the bad token is refused');
      expect(failures[0]).toMatch(/token is not valid/);
      const elsewhere: string[] = [];
      provider(server.wsUrl, 'other', {
        token: await token({ secret: 'write' }),
        onAuthenticationFailed: ({ reason }) => elsewhere.push(reason),
      });
      await until(() => elsewhere.length > 0, 'a token without rights for the room is refused');
      expect(elsewhere[0]).toMatch(/no access to document "other"/);
      expect(bad.isSynced).toBe(false);
    });

    it('gives read rights the readonly scope and applies none of their edits', async () => {
      const server = await startServer(jwtConfig);
      const sdk = await member(server.url, 'handbook', 'Ann', { token: await token({ '*': 'write' }, '1h', 'u-ann') });
      sdk.doc.getText('text').insert(0, 'rules');
      const scopes: string[] = [];
      const reader = provider(server.wsUrl, 'handbook', {
        token: await token({ handbook: 'read' }),
        onAuthenticated: ({ scope }) => scopes.push(scope),
      });
      await until(() => reader.isSynced && text(reader.document) === 'rules', 'the reader syncs the document');
      expect(scopes).toEqual(['readonly']);
      reader.document.getText('text').insert(0, 'vandal ');
      await until(() => reader.unsyncedChanges > 0, 'the edit is pending');
      await new Promise((resolve) => setTimeout(resolve, 300));
      expect(reader.unsyncedChanges).toBeGreaterThan(0);
      expect(text(sdk.doc)).toBe('rules');
      expect(server.registry.get('handbook')!.doc.getText('text').toString()).toBe('rules');
    });

    it('asks the provider for a fresh token before its token expires', async () => {
      const server = await startServer(jwtConfig);
      let calls = 0;
      const authenticated: string[] = [];
      const tip = provider(server.wsUrl, 'brief', {
        token: () => (calls++, token({ brief: 'write' }, '3s')),
        onAuthenticated: ({ scope }) => authenticated.push(scope),
      });
      await until(() => tip.isSynced, 'the provider syncs');
      await until(() => calls >= 3 && authenticated.length >= 3, 'the provider sends fresh tokens when asked', 8_000);
      tip.document.getText('text').insert(0, 'still here');
      await until(() => server.registry.get('brief')?.doc.getText('text').toString() === 'still here', 'its edits still apply');
    });
  });

  it('carries two documents over one shared WebSocket, and closes one of them alone', async () => {
    const server = await startServer();
    const [a, b] = await Promise.all([member(server.url, 'doc-a', 'Ann'), member(server.url, 'doc-b', 'Ben')]);
    const socket = sharedSocket(server.wsUrl);
    const first = attached(socket, 'doc-a');
    const second = attached(socket, 'doc-b');
    await until(() => first.isSynced && second.isSynced, 'both documents sync');
    first.document.getText('text').insert(0, 'first');
    second.document.getText('text').insert(0, 'second');
    await until(() => text(a.doc) === 'first' && text(b.doc) === 'second', 'each edit reaches its own room');
    await until(() => first.unsyncedChanges === 0 && second.unsyncedChanges === 0, 'both are acknowledged');

    first.detach();
    await until(() => server.registry.get('doc-a')?.connectionCount === 1, 'the closed document leaves its room');
    second.document.getText('text').insert(0, 'more ');
    await until(() => text(b.doc) === 'more second', 'the other document goes on over the same WebSocket');
    expect(server.registry.get('doc-b')?.connectionCount).toBe(2);
  });

  it('ends only the document a room closes for good, with a close message', async () => {
    const server = await startServer();
    const socket = sharedSocket(server.wsUrl);
    const closes: string[] = [];
    const closing = attached(socket, 'doc-a', { onClose: ({ event }) => closes.push(event.reason) });
    const staying = attached(socket, 'doc-b');
    await until(() => closing.isSynced && staying.isSynced, 'both documents sync');
    expect(server.registry.get('doc-a')!.closeByAdmin()).toBe(1);
    await until(() => closes.length > 0, 'the provider is told its document closed');
    expect(closes).toEqual(['room closed by an administrator']);
    expect(server.registry.get('doc-a')!.connectionCount).toBe(0);
    staying.document.getText('text').insert(0, 'still open');
    await until(() => server.registry.get('doc-b')?.doc.getText('text').toString() === 'still open', 'the other document goes on');
  });

  it('serves session-aware providers of one document over one WebSocket', async () => {
    const server = await startServer();
    const sdk = await member(server.url, 'twins', 'Ann');
    const socket = sharedSocket(server.wsUrl);
    const [left, right] = [attached(socket, 'twins', { sessionAwareness: true }), attached(socket, 'twins', { sessionAwareness: true })];
    await until(() => left.isSynced && right.isSynced, 'both sync');
    left.document.getText('text').insert(0, 'left ');
    await until(() => text(right.document) === 'left ', 'an edit goes from one to the other');
    right.document.getText('text').insert(5, 'right');
    await until(() => text(sdk.doc) === 'left right' && text(left.document) === 'left right', 'and to the SDK client');
    expect(server.registry.get('twins')?.connectionCount).toBe(3);
  });

  it('relays stateless messages to the other providers of the document', async () => {
    const server = await startServer();
    const received = new Map<string, string[]>();
    const open = (id: string, name: string): HocuspocusProvider => {
      received.set(id, []);
      return provider(server.wsUrl, name, { onStateless: ({ payload }) => received.get(id)!.push(payload) });
    };
    const sender = open('sender', 'board');
    const peer = open('peer', 'board');
    const stranger = open('stranger', 'other-board');
    await until(() => sender.isSynced && peer.isSynced && stranger.isSynced, 'all three sync');
    sender.sendStateless(JSON.stringify({ cursor: 3 }));
    await until(() => received.get('peer')!.length === 1, 'the other provider of the document gets the message');
    expect(received.get('peer')).toEqual(['{"cursor":3}']);
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(received.get('sender')).toEqual([]);
    expect(received.get('stranger')).toEqual([]);
  });

  it('closes a WebSocket that opens no document within twice the handshake deadline', async () => {
    const server = await startServer({ handshakeTimeoutMs: 500 });
    const idle = await rawHocuspocus(server.wsUrl);
    const started = Date.now();
    expect(await closeEvent(idle)).toMatchObject({
      code: CloseCode.policyViolation,
      reason: expect.stringMatching(/no document authenticated/),
    });
    expect(Date.now() - started).toBeGreaterThanOrEqual(900);
    // One that authenticates in time stays.
    const sdk = await member(server.url, 'kept', 'Ann');
    const kept = provider(server.wsUrl, 'kept');
    await until(() => kept.isSynced, 'the provider syncs');
    await new Promise((resolve) => setTimeout(resolve, 1_200));
    kept.document.getText('text').insert(0, 'still here');
    await until(() => text(sdk.doc) === 'still here', 'the provider is still connected');
  });

  it('closes a WebSocket that breaks the protocol with a clear code, and goes on serving', async () => {
    const server = await startServer();
    const garbage = await rawHocuspocus(server.wsUrl);
    const garbageClosed = closeEvent(garbage);
    garbage.send(Uint8Array.of(0xff, 0xff, 0xff, 0xff, 0xff));
    expect(await garbageClosed).toMatchObject({
      code: CloseCode.invalidPayload,
      reason: expect.stringMatching(/not a Hocuspocus message/),
    });

    const textual = await rawHocuspocus(server.wsUrl);
    const textClosed = closeEvent(textual);
    textual.send('{"type":"join"}');
    expect((await textClosed).code).toBe(CloseCode.unsupportedData);

    // After an auth message: a type only servers send (broadcast stateless), then a sync update that is no Yjs update.
    const broadcast = (encoder: encoding.Encoder): void => encoding.writeVarString(encoder, 'x');
    const brokenUpdate = (encoder: encoding.Encoder): void => {
      encoding.writeVarUint(encoder, 2);
      encoding.writeVarUint8Array(encoder, Uint8Array.of(0xff, 0xff, 0xff, 0xff));
    };
    for (const [type, write, reason] of [
      [6, broadcast, /type 6 is not accepted/],
      [0, brokenUpdate, /invalid update/],
    ] as const) {
      const ws = await rawHocuspocus(server.wsUrl);
      const closed = closeEvent(ws);
      ws.send(hocuspocusMessage('broken', 2, (encoder) => (encoding.writeVarUint(encoder, 0), encoding.writeVarString(encoder, ''))));
      ws.send(hocuspocusMessage('broken', type, write));
      expect(await closed).toMatchObject({ code: CloseCode.invalidPayload, reason: expect.stringMatching(reason) });
    }

    const sdk = await member(server.url, 'broken', 'Ann');
    const tip = provider(server.wsUrl, 'broken');
    await until(() => tip.isSynced, 'a provider still syncs');
    tip.document.getText('text').insert(0, 'fine');
    await until(() => text(sdk.doc) === 'fine', 'and its edits still arrive');
  });
});
