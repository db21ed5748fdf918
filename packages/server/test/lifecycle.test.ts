import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { CloseCode } from '@tandem/protocol';
import { describe, expect, it } from 'vitest';
import * as Y from 'yjs';
import { SqliteStorage, type LoadOptions, type RoomWrites, type StoredRoom } from '../src/index.js';
import { connect } from '@tandem/client';
import WebSocket from 'ws';
import { client, closeEvent, onCleanup, rawSocket, startServer, tempDir, until } from './helpers.js';

/** Real SQLite storage whose loads and writes can be held at a gate, to stage races. */
class GatedStorage extends SqliteStorage {
  loadGate: Promise<void> | null = null;
  writeGate: Promise<void> | null = null;
  failLoads = 0;
  loads = 0;

  override async loadRoom(room: string, options: LoadOptions): Promise<StoredRoom> {
    this.loads++;
    await this.loadGate;
    if (this.failLoads > 0) {
      this.failLoads--;
      throw new Error('disk on fire');
    }
    return super.loadRoom(room, options);
  }

  override async write(batch: ReadonlyMap<string, RoomWrites>): Promise<void> {
    await this.writeGate;
    return super.write(batch);
  }
}

function gate(): { promise: Promise<void>; open: () => void } {
  let open!: () => void;
  const promise = new Promise<void>((resolve) => (open = resolve));
  return { promise, open };
}

/** Writes `text` into a room and waits until the room has unloaded (so it is only in storage). */
async function seedRoom(wsUrl: string, server: { registry: { get(name: string): unknown } }, room: string, text: string): Promise<void> {
  const writer = client(wsUrl, room, { name: 'Seeder' });
  await writer.whenSynced();
  writer.doc.getText('t').insert(0, text);
  await until(() => (server.registry.get(room) as { doc: Y.Doc } | undefined)?.doc.getText('t').toString() === text, 'seed on server');
  writer.destroy();
  await until(() => server.registry.get(room) === undefined, `room ${room} unloaded`);
}

describe('room lifecycle', () => {
  it('makes a client that joins while its room loads wait for, and get, the stored content', async () => {
    const storage = new GatedStorage(tempDir());
    const server = await startServer({ roomIdleMs: 0 }, { storage });
    await seedRoom(server.wsUrl, server, 'slow', 'stored text');
    const held = gate();
    storage.loadGate = held.promise;
    // The joiner made an edit before connecting: it must merge with, not replace, the stored text.
    const doc = new Y.Doc();
    doc.getText('t').insert(0, 'mine: ');
    const joiner = client(server.wsUrl, 'slow', { name: 'Early', doc });
    await until(() => server.registry.get('slow')?.state === 'loading', 'the room loading');
    expect(joiner.synced).toBe(false);
    held.open();
    await joiner.whenSynced();
    const text = joiner.doc.getText('t').toString();
    expect(text).toContain('stored text');
    expect(text).toContain('mine: ');
    await until(() => server.registry.get('slow')?.doc.getText('t').toString() === text, 'the merge on the server');
  });

  it('serves a join that arrives while the room is unloading from memory, without losing edits', async () => {
    const storage = new GatedStorage(tempDir());
    const server = await startServer({ roomIdleMs: 0 }, { storage });
    const alice = client(server.wsUrl, 'leaving', { name: 'Alice' });
    await alice.whenSynced();
    alice.doc.getText('t').insert(0, 'kept');
    await until(() => server.registry.get('leaving')?.doc.getText('t').toString() === 'kept', 'edit on server');
    const held = gate();
    storage.writeGate = held.promise;
    const room = server.registry.get('leaving');
    alice.destroy();
    // The room is now flushing before it unloads; Bob arrives during that flush.
    const bob = client(server.wsUrl, 'leaving', { name: 'Bob' });
    await bob.whenSynced();
    expect(bob.doc.getText('t').toString()).toBe('kept');
    held.open();
    bob.doc.getText('t').insert(4, ' and more');
    await until(() => room?.doc.getText('t').toString() === 'kept and more', "Bob's edit in the same room");
    expect(server.registry.get('leaving')).toBe(room);
    expect(storage.loads).toBe(1);
    bob.destroy();
    await until(() => server.registry.get('leaving') === undefined, 'the room unloaded after Bob left');
    const stored = await storage.loadRoom('leaving', { tail: 0, dedupeWindow: 0 });
    const check = new Y.Doc();
    for (const update of stored.updates) Y.applyUpdate(check, update);
    expect(check.getText('t').toString()).toBe('kept and more');
  });

  it('reports a failed load, closes with 1011, and never stores an empty document over the saved one', async () => {
    const storage = new GatedStorage(tempDir());
    const server = await startServer({ roomIdleMs: 0 }, { storage });
    await seedRoom(server.wsUrl, server, 'fragile', 'precious');
    const loadsBefore = storage.loads;
    storage.failLoads = 1;
    const errors: string[] = [];
    const closes: number[] = [];
    const handle = client(server.wsUrl, 'fragile', { name: 'Alice' });
    handle.on('error', (error) => errors.push(error.code));
    handle.on('status', (status) => status.state === 'reconnecting' && closes.push(status.closeCode));
    // The client retries on its own; the second load succeeds and brings the stored text.
    await handle.whenSynced();
    expect(errors).toContain('room_unavailable');
    expect(closes).toContain(CloseCode.internalError);
    expect(handle.doc.getText('t').toString()).toBe('precious');
    expect(storage.loads - loadsBefore).toBe(2);
  });

  it('closes a connection that sends too much before its room has loaded, with 1008', async () => {
    const storage = new GatedStorage(tempDir());
    const server = await startServer({ maxPendingBytes: 4096 }, { storage });
    const held = gate();
    storage.loadGate = held.promise;
    onCleanup(held.open);
    const ws = await rawSocket(server.wsUrl, 'held');
    const closed = closeEvent(ws);
    for (let i = 0; i < 10; i++) ws.send(new Uint8Array(1000));
    expect(await closed).toEqual({ code: CloseCode.policyViolation, reason: 'too much sent before the room was ready' });
    expect(server.registry.get('held')?.state).toBe('loading');
  });

  it('returns memory after 500 clients come and go across 50 rooms', async () => {
    setFlagsFromString('--expose-gc');
    const gc = runInNewContext('gc') as () => void;
    // Every client comes from 127.0.0.1: lift the per-address limits for this test.
    const server = await startServer({ roomIdleMs: 0, maxConnectionsPerIp: 10_000, handshakesPerSecondPerIp: 10_000 });
    const wave = async (rooms: number, perRoom: number): Promise<void> => {
      const handles = await Promise.all(
        Array.from({ length: rooms * perRoom }, async (_, i) => {
          // Not through the helpers: their cleanup list would keep every handle alive.
          const handle = connect(server.wsUrl, `mem-${i % rooms}`, { name: `user-${i}`, WebSocket });
          await Promise.all([handle.whenSynced(), handle.whenJoined()]);
          handle.doc.getText('t').insert(0, `edit ${i} `);
          handle.sendChat(`hello from ${i}`);
          return handle;
        }),
      );
      await until(() => handles.every((h) => h.pendingChat.length === 0), 'every chat confirmed', 20_000);
      for (const handle of handles) handle.destroy();
      await until(() => server.registry.size === 0, 'every room unloaded', 20_000);
    };
    const heap = async (): Promise<number> => {
      for (let i = 0; i < 3; i++) {
        gc();
        await new Promise((resolve) => setImmediate(resolve));
      }
      return process.memoryUsage().heapUsed;
    };
    await wave(10, 5); // warm-up: module caches, JIT, SQLite statement caches
    const before = await heap();
    await wave(50, 10);
    const after = await heap();
    const grownMb = (after - before) / 1024 / 1024;
    expect(server.registry.size).toBe(0);
    expect(grownMb, `heap grew by ${grownMb.toFixed(1)} MB`).toBeLessThan(4);
  });
});
