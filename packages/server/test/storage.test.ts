import type { ActivityEntry, ChatMessage } from '@tandem/protocol';
import { describe, expect, it } from 'vitest';
import * as Y from 'yjs';
import { SqliteStorage, type RoomWrites, type Storage } from '../src/index.js';
import { WriteBehind } from '../src/storage/write-behind.js';
import { client, onCleanup, startServer, tempDir, until } from './helpers.js';

const author = { id: 'a1', name: 'Alice', color: '#e11d48' };
const chat = (seq: number): ChatMessage => ({ seq, id: `id-${seq}`, author, text: `text ${seq}`, time: 1_700_000_000_000 + seq });
const activity = (seq: number): ActivityEntry => ({ seq, time: 1_700_000_000_000 + seq, kind: 'join', member: author });
const writes = (partial: Partial<RoomWrites>): RoomWrites => ({ updates: [], chat: [], activity: [], ...partial });

function openStorage(dir = tempDir()): SqliteStorage {
  const storage = new SqliteStorage(dir);
  onCleanup(() => storage.close());
  return storage;
}

function docFrom(updates: Uint8Array[]): Y.Doc {
  const doc = new Y.Doc();
  for (const update of updates) Y.applyUpdate(doc, update);
  return doc;
}

describe('SQLite storage', () => {
  it('stores updates, chat and activity per room and reads them back in order', async () => {
    const storage = openStorage();
    const doc = new Y.Doc();
    const updates: Uint8Array[] = [];
    doc.on('update', (u: Uint8Array) => updates.push(u));
    doc.getText('t').insert(0, 'hello');
    doc.getText('t').insert(5, ' world');
    await storage.write(new Map([
      ['a', writes({ updates, chat: [chat(1), chat(2), chat(3)], activity: [activity(1)] })],
      ['b', writes({ chat: [chat(1)] })],
    ]));
    const a = await storage.loadRoom('a', { tail: 2, dedupeWindow: 10 });
    expect(docFrom(a.updates).getText('t').toString()).toBe('hello world');
    expect(a.logLength).toBe(2);
    expect(a.chat.map((m) => m.seq)).toEqual([2, 3]);
    expect(a.recentChatIds).toEqual([{ id: 'id-1', seq: 1 }, { id: 'id-2', seq: 2 }, { id: 'id-3', seq: 3 }]);
    expect([a.chatSeq, a.activitySeq]).toEqual([3, 1]);
    expect((await storage.readChat('a', 1, 10)).map((m) => m.seq)).toEqual([2, 3]);
    expect((await storage.readActivity('a', 0, 10))).toEqual([activity(1)]);
    expect((await storage.loadRoom('b', { tail: 50, dedupeWindow: 10 })).chat).toEqual([chat(1)]);
    expect(await storage.loadRoom('empty', { tail: 50, dedupeWindow: 10 })).toMatchObject({ updates: [], chatSeq: 0, activitySeq: 0 });
  });

  it('replaces the update log by a snapshot when compacting', async () => {
    const storage = openStorage();
    const doc = new Y.Doc();
    const updates: Uint8Array[] = [];
    doc.on('update', (u: Uint8Array) => updates.push(u));
    for (let i = 0; i < 20; i++) doc.getText('t').insert(0, `${i}`);
    await storage.write(new Map([['r', writes({ updates })]]));
    await storage.write(new Map([['r', writes({ snapshot: Y.encodeStateAsUpdate(doc) })]]));
    const loaded = await storage.loadRoom('r', { tail: 0, dedupeWindow: 0 });
    expect(loaded.logLength).toBe(0);
    expect(loaded.updates).toHaveLength(1);
    expect(docFrom(loaded.updates).getText('t').toString()).toBe(doc.getText('t').toString());
  });

  it('keeps its data across reopening the file', async () => {
    const dir = tempDir();
    const first = new SqliteStorage(dir);
    await first.write(new Map([['r', writes({ chat: [chat(1)] })]]));
    await first.close();
    expect((await openStorage(dir).loadRoom('r', { tail: 5, dedupeWindow: 5 })).chat).toEqual([chat(1)]);
  });

  it('writes a batch atomically: a failing room rolls back the whole batch', async () => {
    const storage = openStorage();
    await storage.write(new Map([['r', writes({ chat: [chat(1)] })]]));
    // seq 1 again violates the primary key, after room "ok" was written in the same transaction.
    await expect(storage.write(new Map([
      ['ok', writes({ chat: [chat(1)] })],
      ['r', writes({ chat: [chat(1)] })],
    ]))).rejects.toThrow(/UNIQUE/);
    expect((await storage.loadRoom('ok', { tail: 5, dedupeWindow: 5 })).chat).toEqual([]);
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
    const persistence = new WriteBehind(counting, { intervalMs: 10, onError: (e) => { throw e; } });
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
      write: (batch: ReadonlyMap<string, RoomWrites>) =>
        failing ? Promise.reject(new Error('disk full')) : storage.write(batch),
    });
    const errors: unknown[] = [];
    const persistence = new WriteBehind(flaky, { intervalMs: 5, onError: (e) => errors.push(e) });
    persistence.appendChat('r', chat(1));
    await expect(persistence.flush()).rejects.toThrow('disk full');
    persistence.appendChat('r', chat(2));
    failing = false;
    await persistence.flush();
    expect((await storage.readChat('r', 0, 10)).map((m) => m.seq)).toEqual([1, 2]);
  });

  it('evaluates a compaction at flush time, so the snapshot covers every queued update', async () => {
    const storage = openStorage();
    const persistence = new WriteBehind(storage, { intervalMs: 1_000, onError: () => {} });
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
