import type { ActivityEntry, AppEvent, ChatMessage } from '@tandem/protocol';
import { describe, expect, it } from 'vitest';
import * as Y from 'yjs';
import type { RoomWrites, Storage } from '../src/index.js';
import type { Retention } from '../src/storage/storage.js';
import { versionContract } from './version-contract.js';

export const author = { id: 'a1', name: 'Alice', color: '#e11d48' };
export const chat = (seq: number): ChatMessage => ({ seq, id: `id-${seq}`, author, text: `text ${seq}`, time: 1_700_000_000_000 + seq });
export const activity = (seq: number): ActivityEntry => ({ seq, time: 1_700_000_000_000 + seq, kind: 'join', member: author });
export const event = (seq: number): AppEvent => ({ seq, from: author, name: 'ping' });
export const writes = (partial: Partial<RoomWrites>): RoomWrites => ({ updates: [], chat: [], activity: [], events: [], ...partial });

export function docFrom(updates: Uint8Array[]): Y.Doc {
  const doc = new Y.Doc();
  for (const update of updates) Y.applyUpdate(doc, update);
  return doc;
}

/** What every Storage backend must do; run against each (`open` gives a fresh, empty one). */
export function storageContract(name: string, open: (retention?: Retention) => Promise<Storage>): void {
  describe(`${name} storage (the contract every backend meets)`, () => {
    it('stores updates, chat, activity and events per room and reads them back in order', async () => {
      const storage = await open();
      const doc = new Y.Doc();
      const updates: Uint8Array[] = [];
      doc.on('update', (u: Uint8Array) => updates.push(u));
      doc.getText('t').insert(0, 'hello');
      doc.getText('t').insert(5, ' world');
      await storage.write(
        new Map([
          ['a', writes({ updates, chat: [chat(1), chat(2), chat(3)], activity: [activity(1)], events: [event(1), event(2)] })],
          ['b', writes({ chat: [chat(1)] })],
        ]),
      );
      const a = await storage.loadRoom('a', { tail: 2, dedupeWindow: 10 });
      expect(docFrom(a.updates).getText('t').toString()).toBe('hello world');
      expect(a.logLength).toBe(2);
      expect(a.chat.map((m) => m.seq)).toEqual([2, 3]);
      expect(a.recentChatIds).toEqual([
        { id: 'id-1', seq: 1 },
        { id: 'id-2', seq: 2 },
        { id: 'id-3', seq: 3 },
      ]);
      expect([a.chatSeq, a.activitySeq, a.eventSeq]).toEqual([3, 1, 2]);
      expect((await storage.readChat('a', 1, 10)).map((m) => m.seq)).toEqual([2, 3]);
      expect(await storage.readActivity('a', 0, 10)).toEqual([activity(1)]);
      expect((await storage.loadRoom('b', { tail: 50, dedupeWindow: 10 })).chat).toEqual([chat(1)]);
      expect(await storage.loadRoom('empty', { tail: 50, dedupeWindow: 10 })).toMatchObject({ updates: [], chatSeq: 0, activitySeq: 0 });
    });

    it('replaces the update log by a snapshot when compacting', async () => {
      const storage = await open();
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

    it('writes a batch atomically: a failing room rolls back the whole batch', async () => {
      const storage = await open();
      await storage.write(new Map([['r', writes({ chat: [chat(1)] })]]));
      // seq 1 again violates the primary key, after room "ok" was written in the same transaction.
      await expect(
        storage.write(
          new Map([
            ['ok', writes({ chat: [chat(1)] })],
            ['r', writes({ chat: [chat(1)] })],
          ]),
        ),
      ).rejects.toThrow(/unique/i);
      expect((await storage.loadRoom('ok', { tail: 5, dedupeWindow: 5 })).chat).toEqual([]);
    });
    it('keeps the newest activity entries and events up to the limit, and drops old activity, never the newest', async () => {
      const day = 86_400_000;
      const storage = await open({ keep: 50, maxAgeMs: 30 * day });
      const now = Date.now();
      const entry = (seq: number, time: number): ActivityEntry => ({ seq, time, kind: 'join', member: author });
      // 100 entries from 40 days ago, then 100 recent ones; 120 events.
      await storage.write(new Map([['r', writes({ activity: Array.from({ length: 100 }, (_, i) => entry(i + 1, now - 40 * day)) })]]));
      expect((await storage.readActivity('r', 0, 1_000)).map((e) => e.seq)).toEqual([100]); // expired but the newest: kept
      await storage.write(new Map([['r', writes({ activity: Array.from({ length: 100 }, (_, i) => entry(i + 101, now)) })]]));
      await storage.write(new Map([['r', writes({ events: Array.from({ length: 120 }, (_, i) => event(i + 1)) })]]));
      const kept = await storage.readActivity('r', 0, 1_000);
      expect(kept.map((e) => e.seq)).toEqual(Array.from({ length: 50 }, (_, i) => i + 151));
      const loaded = await storage.loadRoom('r', { tail: 10, dedupeWindow: 10 });
      expect([loaded.activitySeq, loaded.eventSeq]).toEqual([200, 120]);
    });

    it('registers documents and lists the most recently updated first', async () => {
      const storage = await open();
      await storage.createDocument('plans', 'Plans');
      await expect(storage.createDocument('plans', 'Again')).rejects.toThrow();
      await new Promise((resolve) => setTimeout(resolve, 5));
      await storage.write(new Map([['notes', writes({ updates: [Y.encodeStateAsUpdate(new Y.Doc())] })]]));
      expect(await storage.getDocument('plans')).toMatchObject({ name: 'plans', title: 'Plans', createdAt: expect.any(Number) });
      expect(await storage.getDocument('nothing')).toBeNull();
      expect((await storage.listDocuments(10)).map((d) => d.name)).toEqual(['notes', 'plans']);
    });

    it('keeps a read-only flag with the document and hands it to the room when it loads', async () => {
      const storage = await open();
      await storage.createDocument('plans', 'Plans');
      expect(await storage.setReadOnly('plans', true)).toMatchObject({ name: 'plans', title: 'Plans', readOnly: true });
      expect((await storage.getDocument('plans'))?.readOnly).toBe(true);
      expect((await storage.listDocuments(10))[0]?.readOnly).toBe(true);
      expect((await storage.loadRoom('plans', { tail: 10, dedupeWindow: 10 })).readOnly).toBe(true);
      await storage.setReadOnly('plans', false);
      expect((await storage.loadRoom('plans', { tail: 10, dedupeWindow: 10 })).readOnly).toBe(false);
      // A room joined but not yet registered is registered, titled by its name.
      expect(await storage.setReadOnly('joined-only', true)).toMatchObject({ name: 'joined-only', title: 'joined-only', readOnly: true });
    });

    it('renames a document, keeping its name, dates and read-only flag', async () => {
      const storage = await open();
      const created = await storage.createDocument('plans', 'Plans');
      await storage.setReadOnly('plans', true);
      expect(await storage.renameDocument('plans', 'Plans for 2027')).toEqual({ ...created, title: 'Plans for 2027', readOnly: true });
      expect((await storage.getDocument('plans'))?.title).toBe('Plans for 2027');
      // A room joined but not yet registered is registered under the new title.
      expect(await storage.renameDocument('joined-only', 'Joined')).toMatchObject({
        name: 'joined-only',
        title: 'Joined',
        readOnly: false,
      });
    });

    it('deletes a document with everything stored of its room, and nothing of the others', async () => {
      const storage = await open();
      const update = Y.encodeStateAsUpdate(new Y.Doc());
      const everything = () => writes({ updates: [update], chat: [chat(1)], activity: [activity(1)], events: [event(1)] });
      await storage.write(
        new Map([
          ['gone', everything()],
          ['kept', everything()],
        ]),
      );
      await storage.write(new Map([['gone', writes({ snapshot: update })]]));
      expect(await storage.deleteDocument('gone')).toBe(true);
      expect(await storage.deleteDocument('gone')).toBe(false);
      expect(await storage.getDocument('gone')).toBeNull();
      const gone = await storage.loadRoom('gone', { tail: 10, dedupeWindow: 10 });
      expect(gone).toMatchObject({ updates: [], chat: [], activity: [], recentChatIds: [], chatSeq: 0, activitySeq: 0, eventSeq: 0 });
      expect(await storage.readChat('gone', 0, 10)).toEqual([]);
      const kept = await storage.loadRoom('kept', { tail: 10, dedupeWindow: 10 });
      expect(kept).toMatchObject({ chatSeq: 1, activitySeq: 1, eventSeq: 1 });
      expect(kept.updates).toHaveLength(1);
    });

    versionContract(() => open());
  });
}
