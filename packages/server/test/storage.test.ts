import pino from 'pino';
import { describe, expect, it } from 'vitest';
import * as Y from 'yjs';
import { SqliteStorage, type RoomWrites, type Storage } from '../src/index.js';
import type { StorageHealth } from '../src/storage/health.js';
import { WriteBehind, type WriteBehindOptions } from '../src/storage/write-behind.js';
import { client, onCleanup, startServer, tempDir, until } from './helpers.js';
import { activity, chat, docFrom, event, storageContract, writes } from './storage-contract.js';

function writeBehind(storage: Storage, options: Partial<WriteBehindOptions> = {}): WriteBehind {
  const persistence = new WriteBehind(storage, {
    intervalMs: 10,
    log: pino({ level: 'silent' }),
    onCommitted: () => {},
    onHealth: () => {},
    ...options,
  });
  onCleanup(() => persistence.stop());
  return persistence;
}

function openStorage(dir = tempDir()): SqliteStorage {
  const storage = new SqliteStorage(dir);
  onCleanup(() => storage.close());
  return storage;
}

storageContract('SQLite', async (retention) => {
  const storage = new SqliteStorage(tempDir(), retention ? { retention } : {});
  onCleanup(() => storage.close());
  return storage;
});

describe('SQLite storage', () => {
  it('keeps its data across reopening the file', async () => {
    const dir = tempDir();
    const first = new SqliteStorage(dir);
    await first.write(new Map([['r', writes({ chat: [chat(1)] })]]));
    await first.close();
    expect((await openStorage(dir).loadRoom('r', { tail: 5, dedupeWindow: 5 })).chat).toEqual([chat(1)]);
  });

  it('checkpoints and truncates the WAL so it stays near its limit under steady writes', async () => {
    const dir = tempDir();
    const limit = 512 * 1024;
    const storage = new SqliteStorage(dir, { walLimitBytes: limit });
    onCleanup(() => storage.close());
    let largest = 0;
    // 12 MB in 100 KB batches over about 2.5 s: far past the limit without checkpoints.
    for (let i = 0; i < 120; i++) {
      await storage.write(new Map([['r', writes({ updates: [new Uint8Array(100 * 1024).fill(i)] })]]));
      largest = Math.max(largest, storage.walBytes());
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    // At most a second of writes (about 5 MB here) can pile up between two checks.
    expect(largest).toBeLessThan(8 * 1024 * 1024);
    expect(storage.walBytes()).toBeLessThan(8 * 1024 * 1024);
    expect((await storage.loadRoom('r', { tail: 0, dedupeWindow: 0 })).updates).toHaveLength(120);
  });
});

describe('write-behind batching', () => {
  it('commits what was queued within the interval in one write', async () => {
    const storage = openStorage();
    const batches: number[] = [];
    const counting: Storage = Object.assign(Object.create(storage), {
      write: (batch: ReadonlyMap<string, RoomWrites>) => {
        batches.push(batch.size);
        return storage.write(batch);
      },
    });
    const persistence = writeBehind(counting);
    persistence.appendChat('a', chat(1));
    persistence.appendChat('b', chat(1));
    persistence.appendActivity('a', activity(1));
    await persistence.flush();
    expect(batches).toEqual([2]);
    expect((await storage.loadRoom('a', { tail: 5, dedupeWindow: 5 })).activity).toEqual([activity(1)]);
  });

  it('keeps a failed batch and commits it, in order, once storage works again', async () => {
    const storage = openStorage();
    let failing = true;
    const flaky: Storage = Object.assign(Object.create(storage), {
      write: (batch: ReadonlyMap<string, RoomWrites>) => (failing ? Promise.reject(new Error('disk full')) : storage.write(batch)),
    });
    const health: StorageHealth[] = [];
    const committed: number[] = [];
    const persistence = writeBehind(flaky, {
      intervalMs: 5,
      onHealth: (h) => health.push(h),
      onCommitted: (_room, w) => committed.push(...w.chat.map((m) => m.seq)),
    });
    persistence.appendChat('r', chat(1));
    await expect(persistence.flush()).rejects.toThrow('disk full');
    expect(persistence.health).toMatchObject({ ok: false, error: 'disk full' });
    expect(persistence.unsaved()).toEqual([{ room: 'r', updates: 0, updateBytes: 0, chat: 1, activity: 0, events: 0 }]);
    persistence.appendChat('r', chat(2));
    expect(committed).toEqual([]); // nothing is acknowledged while storage fails
    failing = false;
    await persistence.flush();
    expect((await storage.readChat('r', 0, 10)).map((m) => m.seq)).toEqual([1, 2]);
    expect(committed).toEqual([1, 2]);
    expect(health.map((h) => h.ok)).toEqual([false, true]);
  });

  it('drains within a deadline and reports, per room, what it could not store', async () => {
    const storage = openStorage();
    const failing: Storage = Object.assign(Object.create(storage), { write: () => Promise.reject(new Error('SQLITE_FULL')) });
    const writes: number[] = [];
    const counting: Storage = Object.assign(Object.create(failing), {
      write: (batch: ReadonlyMap<string, RoomWrites>) => {
        writes.push(Date.now());
        return failing.write(batch);
      },
    });
    const persistence = writeBehind(counting, { intervalMs: 20 });
    persistence.appendUpdate('notes', new Uint8Array(100));
    persistence.appendUpdate('notes', new Uint8Array(50));
    persistence.appendChat('notes', chat(1));
    const started = Date.now();
    const unsaved = await persistence.drain(started + 300);
    expect(Date.now() - started).toBeGreaterThanOrEqual(290);
    expect(writes.length).toBeGreaterThan(1); // retried, not tried once
    expect(unsaved).toEqual([{ room: 'notes', updates: 2, updateBytes: 150, chat: 1, activity: 0, events: 0 }]);
  });

  it('commits increments before a compaction, and a failed compaction loses nothing', async () => {
    const storage = openStorage();
    const order: string[] = [];
    const snapshotsFail: Storage = Object.assign(Object.create(storage), {
      write: (batch: ReadonlyMap<string, RoomWrites>) => {
        const snapshot = [...batch.values()].some((w) => w.snapshot);
        order.push(snapshot ? 'snapshot' : 'increments');
        return snapshot ? Promise.reject(new Error('SQLITE_FULL')) : storage.write(batch);
      },
    });
    const persistence = writeBehind(snapshotsFail);
    const doc = new Y.Doc();
    doc.on('update', (u: Uint8Array) => persistence.appendUpdate('r', u));
    doc.getText('t').insert(0, 'kept');
    persistence.compact('r', () => Y.encodeStateAsUpdate(doc));
    await persistence.flush(); // resolves: the increments are stored
    expect(order).toEqual(['increments', 'snapshot']);
    expect(persistence.health.ok).toBe(true);
    const loaded = await storage.loadRoom('r', { tail: 0, dedupeWindow: 0 });
    expect(docFrom(loaded.updates).getText('t').toString()).toBe('kept');
  });

  it('commits chat, activity and events within a few ms, without waiting for the document interval', async () => {
    const storage = openStorage();
    const committedAt: number[] = [];
    const persistence = writeBehind(storage, { intervalMs: 5_000, onCommitted: () => committedAt.push(Date.now()) });
    const queuedAt = Date.now();
    persistence.appendEvent('r', event(1));
    await until(() => committedAt.length === 1, 'the event committed');
    expect(committedAt[0]! - queuedAt).toBeLessThan(1_000);
    expect((await storage.loadRoom('r', { tail: 1, dedupeWindow: 1 })).eventSeq).toBe(1);
  });

  it('evaluates a compaction at flush time, so the snapshot covers every queued update', async () => {
    const storage = openStorage();
    const persistence = writeBehind(storage, { intervalMs: 1_000 });
    const doc = new Y.Doc();
    doc.on('update', (u: Uint8Array) => persistence.appendUpdate('r', u));
    doc.getText('t').insert(0, 'a');
    persistence.compact('r', () => Y.encodeStateAsUpdate(doc));
    doc.getText('t').insert(1, 'b');
    await persistence.flush();
    const loaded = await storage.loadRoom('r', { tail: 0, dedupeWindow: 0 });
    expect(loaded.updates).toHaveLength(1);
    expect(docFrom(loaded.updates).getText('t').toString()).toBe('ab');
  });
});

describe('compaction policy of a room', () => {
  it('compacts once the log holds enough updates and half a snapshot of bytes, not at every count', async () => {
    const dataDir = tempDir();
    const storage = new SqliteStorage(dataDir);
    const server = await startServer({ dataDir, compactAfterUpdates: 10, flushIntervalMs: 10 }, { storage });
    const alice = client(server.wsUrl, 'big');
    await alice.whenSynced();
    const text = alice.doc.getText('t');
    const logLength = async () => (await storage.loadRoom('big', { tail: 1, dedupeWindow: 1 })).logLength;
    const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
    // Each insert waits out the fan-out interval, so each is one entry of the log.
    const typeChars = async (count: number) => {
      for (let i = 0; i < count; i++) {
        text.insert(0, 'y');
        await sleep(15);
      }
    };
    text.insert(0, 'x'.repeat(20_000));
    await typeChars(10);
    await until(() => server.registry.get('big')?.doc.getText('t').length === 20_010, 'the first edits on the server');
    await sleep(100);
    expect(await logLength()).toBe(0); // 11 entries, 20 KB: compacted into a ~20 KB snapshot
    await typeChars(30);
    await sleep(100);
    expect(await logLength()).toBe(30); // 30 entries but under 1 KB: a 20 KB re-encode would not pay off
    text.insert(0, 'z'.repeat(12_000));
    await until(() => server.registry.get('big')?.doc.getText('t').length === 32_040, 'the large edit on the server');
    await sleep(100);
    expect(await logLength()).toBe(0);
  });
});
