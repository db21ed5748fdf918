import { encodeUpdateMessage } from '@tandem/protocol';
import { describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import * as Y from 'yjs';
import { client, rawSocket, startServer, until } from './helpers.js';

/** Counts the document-update frames a raw socket receives (sync message, "update" step). */
function updateFrames(ws: WebSocket): { count: number } {
  const seen = { count: 0 };
  ws.on('message', (data: Buffer, isBinary) => {
    if (isBinary && data[0] === 0 && data[1] === 2) seen.count++;
  });
  return seen;
}

describe('fan-out', () => {
  it('coalesces a burst into few merged frames, and does not echo a sender its own updates', async () => {
    const server = await startServer();
    const observer = await rawSocket(server.wsUrl, 'burst');
    const received = updateFrames(observer);
    const sender = await rawSocket(server.wsUrl, 'burst');
    const echoed = updateFrames(sender);
    // 500 one-character updates, written to the socket back to back.
    const doc = new Y.Doc();
    const updates: Uint8Array[] = [];
    doc.on('update', (update: Uint8Array) => updates.push(update));
    for (let i = 0; i < 500; i++) doc.getText('t').insert(i, 'x');
    for (const update of updates) sender.send(encodeUpdateMessage(update));
    const watcher = client(server.wsUrl, 'burst');
    await watcher.whenSynced();
    await until(() => watcher.doc.getText('t').length === 500, 'all 500 characters at a client');
    await until(() => server.registry.get('burst')?.doc.getText('t').length === 500, 'all applied');
    await new Promise((resolve) => setImmediate(resolve));
    // Frames arrive over several socket reads; each read's worth goes out merged.
    expect(received.count).toBeGreaterThan(0);
    expect(received.count).toBeLessThan(250);
    expect(echoed.count).toBe(0);
  });

  it('delivers a lone keystroke at once, to everyone but its author', async () => {
    const server = await startServer();
    const alice = client(server.wsUrl, 'single', { name: 'Alice' });
    const bob = client(server.wsUrl, 'single', { name: 'Bob' });
    await Promise.all([alice.whenSynced(), bob.whenSynced()]);
    const started = performance.now();
    alice.doc.getText('t').insert(0, 'a');
    await until(() => bob.doc.getText('t').toString() === 'a', 'the keystroke at Bob');
    expect(performance.now() - started).toBeLessThan(1_000);
  });

  it('batches a busy room per FANOUT_INTERVAL_MS, and does not hold back updates spaced further apart', async () => {
    const server = await startServer({ fanoutIntervalMs: 40 });
    const observer = await rawSocket(server.wsUrl, 'paced');
    const received = updateFrames(observer);
    const sender = await rawSocket(server.wsUrl, 'paced');
    const doc = new Y.Doc();
    const updates: Uint8Array[] = [];
    doc.on('update', (update: Uint8Array) => updates.push(update));
    const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
    // 40 updates, one every 2 ms: each event-loop turn sees one, so only the interval batches them.
    for (let i = 0; i < 40; i++) {
      doc.getText('t').insert(i, 'x');
      sender.send(encodeUpdateMessage(updates.at(-1)!));
      await sleep(2);
    }
    await until(() => server.registry.get('paced')?.doc.getText('t').length === 40, 'all applied');
    await sleep(100);
    const busyFrames = received.count;
    expect(busyFrames).toBeGreaterThan(0);
    expect(busyFrames).toBeLessThan(20);
    // A lone update after a quiet spell goes out at once, not an interval later.
    await sleep(100);
    doc.getText('t').insert(0, 'y');
    const sent = performance.now();
    sender.send(encodeUpdateMessage(updates.at(-1)!));
    await until(() => received.count === busyFrames + 1, 'the lone update');
    expect(performance.now() - sent).toBeLessThan(30);
  });
});

