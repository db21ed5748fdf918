import { CloseCode, SUBPROTOCOL } from '@tandem/protocol';
import { describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { WebsocketProvider } from 'y-websocket';
import * as Y from 'yjs';
import { client, closeEvent, onCleanup, rawSocket, refusedSocket, startServer, until } from './helpers.js';

function stockProvider(wsUrl: string, room: string, doc = new Y.Doc()): WebsocketProvider {
  // y-websocket builds `${serverUrl}/${room}`: point it at /ws and it lands on /ws/<room>.
  const provider = new WebsocketProvider(`${wsUrl}/ws`, room, doc, { WebSocketPolyfill: WebSocket as never, disableBc: true });
  onCleanup(() => provider.destroy());
  return provider;
}

function whenProviderSynced(provider: WebsocketProvider): Promise<void> {
  return provider.synced ? Promise.resolve() : new Promise((resolve) => provider.once('sync', () => resolve()));
}

describe('document sync', () => {
  it('two SDK clients converge on concurrent edits', async () => {
    const server = await startServer();
    const alice = client(server.wsUrl, 'notes', { name: 'Alice' });
    const bob = client(server.wsUrl, 'notes', { name: 'Bob' });
    await Promise.all([alice.whenSynced(), bob.whenSynced()]);
    alice.doc.getText('body').insert(0, 'Hello from Alice. ');
    bob.doc.getText('body').insert(0, 'Hello from Bob. ');
    const both = (text: string) => text.includes('Hello from Alice. ') && text.includes('Hello from Bob. ');
    await until(() => both(alice.doc.getText('body').toString()) && both(bob.doc.getText('body').toString()), 'both texts at both clients');
    expect(alice.doc.getText('body').toString()).toBe(bob.doc.getText('body').toString());
  });

  it('a stock y-websocket provider and an SDK client edit the same room', async () => {
    const server = await startServer();
    const sdk = client(server.wsUrl, 'shared', { name: 'Alice' });
    await sdk.whenSynced();
    sdk.doc.getText('t').insert(0, 'sdk ');
    const stock = stockProvider(server.wsUrl, 'shared');
    await whenProviderSynced(stock);
    expect(stock.doc.getText('t').toString()).toBe('sdk ');
    stock.doc.getText('t').insert(4, 'stock');
    await until(() => sdk.doc.getText('t').toString() === 'sdk stock', 'the stock edit at the SDK client');
    // Presence flows both ways too: the stock provider's awareness reaches the SDK client.
    stock.awareness.setLocalStateField('user', { name: 'Stocky' });
    await until(
      () => [...sdk.awareness.getStates().values()].some((s) => s.user?.name === 'Stocky'),
      "the stock provider's awareness at the SDK client",
    );
  });

  it('serves plain Yjs without a subprotocol and refuses text frames there with 1003', async () => {
    const server = await startServer();
    const ws = await rawSocket(server.wsUrl, 'plain');
    expect(ws.protocol).toBe('');
    const closed = closeEvent(ws);
    ws.send(JSON.stringify({ type: 'join', name: 'Mallory' }));
    expect(await closed).toEqual({ code: CloseCode.unsupportedData, reason: 'text frames need the tandem.v1 subprotocol' });
  });

  it('negotiates tandem.v1 when offered', async () => {
    const server = await startServer();
    const ws = await rawSocket(server.wsUrl, 'negotiated', ['y-sync', SUBPROTOCOL]);
    expect(ws.protocol).toBe(SUBPROTOCOL);
  });

  it('refuses an unknown subprotocol at the handshake with 400 and a reason', async () => {
    const server = await startServer();
    const ws = refusedSocket(`${server.wsUrl}/ws/room`, 'graphql-ws');
    const refusal = await new Promise<{ status: number; body: string }>((resolve) => {
      ws.on('unexpected-response', (_req, res) => {
        let body = '';
        res.on('data', (chunk) => (body += chunk));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      });
    });
    expect(refusal.status).toBe(400);
    expect(JSON.parse(refusal.body).error).toMatch(/unsupported subprotocol "graphql-ws".*tandem\.v1/);
  });

  it('answers a WebSocket upgrade outside /ws/<room> with 404', async () => {
    const server = await startServer();
    const ws = refusedSocket(`${server.wsUrl}/elsewhere`);
    const status = await new Promise<number>((resolve) => ws.on('unexpected-response', (_req, res) => resolve(res.statusCode ?? 0)));
    expect(status).toBe(404);
  });

  it('closes a sender of a malformed Yjs frame with 1007 and leaves the document and others untouched', async () => {
    const server = await startServer();
    const alice = client(server.wsUrl, 'guarded', { name: 'Alice' });
    await alice.whenSynced();
    alice.doc.getText('t').insert(0, 'intact');
    await until(() => server.registry.get('guarded')?.doc.getText('t').toString() === 'intact', 'the edit on the server');
    const mallory = await rawSocket(server.wsUrl, 'guarded');
    const closed = closeEvent(mallory);
    // A sync "update" message whose update claims far more bytes than it carries.
    mallory.send(Uint8Array.of(0, 2, 0xff, 0xff, 0x03, 1, 2));
    expect((await closed).code).toBe(CloseCode.invalidPayload);
    alice.doc.getText('t').insert(6, '!');
    await until(() => server.registry.get('guarded')?.doc.getText('t').toString() === 'intact!', 'a later edit still applied');
    expect(alice.status.state).toBe('open');
  });

  it('gives each fresh joiner the document as it is now, though joiners share one cached encoding', async () => {
    const server = await startServer();
    const alice = client(server.wsUrl, 'cached');
    await alice.whenSynced();
    alice.doc.getText('t').insert(0, 'one');
    await until(() => server.registry.get('cached')?.doc.getText('t').toString() === 'one', 'the first edit on the server');
    const joiners = [client(server.wsUrl, 'cached'), client(server.wsUrl, 'cached')];
    await Promise.all(joiners.map((j) => j.whenSynced()));
    expect(joiners.map((j) => j.doc.getText('t').toString())).toEqual(['one', 'one']);
    alice.doc.getText('t').insert(3, ' two');
    await until(() => server.registry.get('cached')?.doc.getText('t').toString() === 'one two', 'the second edit on the server');
    const late = client(server.wsUrl, 'cached');
    await late.whenSynced();
    expect(late.doc.getText('t').toString()).toBe('one two');
  });
});
