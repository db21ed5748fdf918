import pg from 'pg';
import { describe, expect, it } from 'vitest';
import * as Y from 'yjs';
import { PostgresStorage } from '../src/index.js';
import { startCluster, useClusterServices } from './cluster-setup.js';
import { member, onCleanup, until, type TestServer } from './helpers.js';

useClusterServices();

async function snapshotText(databaseUrl: string, room: string): Promise<{ text: string; position: string }> {
  const db = new pg.Client({ connectionString: databaseUrl });
  await db.connect();
  try {
    const { rows } = await db.query("SELECT data, log_ms || '-' || log_seq AS position FROM doc_snapshots WHERE room = $1", [room]);
    if (!rows[0]) return { text: '', position: '0-0' };
    const doc = new Y.Doc();
    Y.applyUpdate(doc, rows[0].data);
    return { text: doc.getText('t').toString(), position: rows[0].position };
  } finally {
    await db.end();
  }
}

describe('cluster mode: compaction with no single owner', () => {
  it('never rolls stored content back while two nodes compact the same room at once, over and over', async () => {
    // Compaction only when the test asks for it.
    const cluster = await startCluster(2, { config: { compactDelayMs: 600_000 } });
    const [a, b] = cluster.nodes as [TestServer, TestServer];
    const ada = await member(a.wsUrl, 'race', 'Ada');
    const bob = await member(b.wsUrl, 'race', 'Bob');
    let previous = { text: '', position: '0-0' };
    for (let round = 0; round < 15; round++) {
      ada.doc.getText('t').insert(0, `a${round} `);
      bob.doc.getText('t').insert(0, `b${round} `);
      await Promise.all([ada.whenSaved(), bob.whenSaved()]);
      await Promise.all([a.cluster!.compactor.compact('race'), b.cluster!.compactor.compact('race'), a.cluster!.compactor.compact('race')]);
      const now = await snapshotText(cluster.databaseUrl, 'race');
      // The stored document only grows: everything an earlier snapshot had is still there.
      for (const word of previous.text.split(' ').filter(Boolean)) expect(now.text).toContain(word);
      expect(now.text).toContain(`a${round}`);
      expect(now.text).toContain(`b${round}`);
      previous = now;
    }
  }, 60_000);

  it('refuses a late compaction that covers less of the stream (a node that stalled or died mid-compaction)', async () => {
    const cluster = await startCluster(1, { config: { compactDelayMs: 600_000 } });
    const [a] = cluster.nodes as [TestServer];
    const ada = await member(a.wsUrl, 'late', 'Ada');
    ada.doc.getText('t').insert(0, 'stored for good');
    await ada.whenSaved();
    const position = await a.cluster!.compactor.compact('late');
    expect(position).not.toBeNull();
    const storage = await PostgresStorage.open(cluster.databaseUrl);
    onCleanup(() => storage.close());
    // What a stalled compactor would write: an empty document, from an older position.
    const [ms] = position!.split('-').map(Number) as [number];
    const replaced = await storage.compactFromLog('late', {
      snapshot: Y.encodeStateAsUpdate(new Y.Doc()),
      position: `${ms - 1}-0`,
      chat: [],
      activity: [],
      events: [],
    });
    expect(replaced).toBe(false);
    expect((await snapshotText(cluster.databaseUrl, 'late')).text).toBe('stored for good');
  }, 30_000);

  it('serves a room loaded on two nodes at the same moment with the same stored content', async () => {
    const cluster = await startCluster(1);
    const [a] = cluster.nodes as [TestServer];
    const ada = await member(a.wsUrl, 'both', 'Ada');
    ada.doc.getText('t').insert(0, 'loaded twice');
    ada.sendChat('hi');
    await until(() => ada.chat.length === 1, 'acknowledged');
    await ada.whenSaved();
    const [b, c] = await Promise.all([cluster.start(), cluster.start()]);
    const [bob, cy] = await Promise.all([member(b.wsUrl, 'both', 'Bob'), member(c.wsUrl, 'both', 'Cy')]);
    for (const handle of [bob, cy]) {
      expect(handle.doc.getText('t').toString()).toBe('loaded twice');
      expect(handle.chat.map((m) => m.text)).toEqual(['hi']);
    }
  }, 30_000);
});
