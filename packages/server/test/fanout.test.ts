import { encodeUpdateMessage } from '@tandem/protocol';
import { describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { Awareness } from 'y-protocols/awareness';
import * as Y from 'yjs';
import type { Connection } from '../src/rooms/connection.js';
import { Fanout } from '../src/rooms/fanout.js';
import { client, onCleanup, rawSocket, startServer, until } from './helpers.js';

/** Counts the document-update frames a raw socket receives (sync message, "update" step). */
function updateFrames(ws: WebSocket): { count: number } {
  const seen = { count: 0 };
  ws.on('message', (data: Buffer, isBinary) => {
    if (isBinary && data[0] === 0 && data[1] === 2) seen.count++;
  });
  return seen;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** A Yjs writer on a raw socket: each keystroke is one one-character update in its own frame. */
function typist(socket: WebSocket) {
  const doc = new Y.Doc();
  let last: Uint8Array | null = null;
  doc.on('update', (update: Uint8Array) => (last = update));
  const key = (): void => {
    doc.getText('t').insert(0, 'x');
    socket.send(encodeUpdateMessage(last!));
  };
  return {
    key,
    /** `count` keystrokes, `gapMs` apart. */
    async type(count: number, gapMs: number): Promise<void> {
      for (let i = 0; i < count; i++) {
        key();
        await sleep(gapMs);
      }
    },
  };
}

/** A server with the given fan-out interval, an observer counting update frames, and a typist, in `room`. */
async function pacedRoom(fanoutIntervalMs: number, room: string) {
  const server = await startServer({ fanoutIntervalMs });
  const received = updateFrames(await rawSocket(server.wsUrl, room));
  const sender = typist(await rawSocket(server.wsUrl, room));
  return { server, received, sender };
}

describe('fan-out', () => {
  it('coalesces a burst into few merged frames, and does not echo a sender its own updates', async () => {
    // The rate limit would pace the last 100 of the 500 over half a second: not under test here.
    const server = await startServer({ messagesPerSecond: 100_000 });
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
    // Typically 8 or 9 frames here; one per 20 updates at most is still "few".
    expect(received.count).toBeLessThanOrEqual(25);
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
    const { server, received, sender } = await pacedRoom(40, 'paced');
    // 40 updates, one every 2 ms: each event-loop turn sees one, so only the interval batches them.
    await sender.type(40, 2);
    await until(() => server.registry.get('paced')?.doc.getText('t').length === 40, 'all applied');
    await sleep(100);
    const busyFrames = received.count;
    expect(busyFrames).toBeGreaterThan(0);
    expect(busyFrames).toBeLessThan(20);
    // A lone update after a quiet spell goes out at once, not an interval later.
    await sleep(100);
    // (That it leaves at the end of its turn, not an interval later, is the Pacer's unit test.)
    sender.key();
    await until(() => received.count === busyFrames + 1, 'the lone update');
  });

  it('stretches the interval of a flooded room, up to four times, and sends fewer frames', async () => {
    const { server, received, sender } = await pacedRoom(10, 'flood');
    // 150 updates, one every 2 ms for about 300 ms: at a fixed 10 ms that is some 30 frames.
    await sender.type(150, 2);
    const watcher = client(server.wsUrl, 'flood');
    await watcher.whenSynced();
    await until(() => watcher.doc.getText('t').length === 150, 'all 150 characters at a client');
    await sleep(100);
    expect(received.count).toBeGreaterThan(2);
    // Stretched, typically 8 to 12; a loaded CI machine (2 cores, the Node 24 run) once sent 15.
    // Under 20 still says "fewer" than the ~30 of a fixed interval; the rule itself is Stretch's unit test.
    expect(received.count).toBeLessThan(20);
  });

  it('stretches only while flushes wait for the interval, and halves back once they carry single updates', async () => {
    const member = { send() {} } as unknown as Connection;
    let flushed = () => {};
    const fanout = new Fanout(new Set([member]), new Awareness(new Y.Doc()), 10, {
      afterUpdate: () => flushed(),
      afterAwareness() {},
    });
    onCleanup(() => fanout.dispose());
    const doc = new Y.Doc();
    const updates: Uint8Array[] = [];
    doc.on('update', (update: Uint8Array) => updates.push(update));
    /** Hands the fan-out `count` updates in one turn and waits (a microtask past) until they went out. */
    const burst = async (count: number) => {
      updates.length = 0;
      for (let i = 0; i < count; i++) doc.getText('t').insert(0, 'x');
      const sent = new Promise<void>((resolve) => (flushed = resolve));
      for (const update of updates) fanout.update(update, null);
      await sent;
      return fanout.intervalMs;
    };
    const intervals: number[] = [];
    // A clump after a quiet spell goes out at once and stretches nothing; clumps that keep
    // arriving within the interval stretch it, up to 4 × 10 ms.
    for (const count of [8, 8, 8, 8]) intervals.push(await burst(count));
    await sleep(50);
    for (const count of [1, 1]) intervals.push(await burst(count));
    expect(intervals).toEqual([10, 20, 40, 40, 20, 10]);
  });

  it('keeps a room whose flushes are costly (a big room) to a third of the event loop, up to 50 ms', async () => {
    /** A fan-out to one member whose every send takes `sendMs` (standing in for a thousand writes). */
    const costly = (baseMs: number, sendMs: number) => {
      const member = {
        send() {
          const until = performance.now() + sendMs;
          while (performance.now() < until);
        },
      } as unknown as Connection;
      const fanout = new Fanout(new Set([member]), new Awareness(new Y.Doc()), baseMs, { afterUpdate() {}, afterAwareness() {} });
      onCleanup(() => fanout.dispose());
      return fanout;
    };
    const update = (() => {
      const doc = new Y.Doc();
      doc.getText('t').insert(0, 'x');
      return Y.encodeStateAsUpdate(doc);
    })();
    /** Flushes `times` single updates, each measured on the tick after it. */
    const flushes = async (fanout: Fanout, times: number) => {
      for (let i = 0; i < times; i++) {
        fanout.update(update, null);
        fanout.flush();
        await new Promise((resolve) => setImmediate(resolve));
      }
      return fanout.intervalMs;
    };
    // Cheap flushes leave the configured interval alone (20 ms, so a busy test machine's hiccup
    // inside one flush does not count).
    expect(await flushes(costly(20, 0), 10)).toBe(20);
    // 4 ms per flush: the interval converges on three times that.
    const interval = await flushes(costly(5, 4), 20);
    expect(interval).toBeGreaterThanOrEqual(11);
    expect(interval).toBeLessThan(50);
    // However costly, a frame waits at most 50 ms; and 0 (every event-loop turn) stays 0.
    expect(await flushes(costly(5, 40), 10)).toBe(50);
    expect(await flushes(costly(0, 4), 10)).toBe(0);
  });
});
