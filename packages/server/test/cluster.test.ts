import type { RoomHandle } from '@tandem/client';
import pg from 'pg';
import { describe, expect, it } from 'vitest';
import * as Y from 'yjs';
import { Redis } from 'ioredis';
import { roomKeys } from '../src/cluster/keys.js';
import { startCluster, stockClient, useClusterServices } from './cluster-setup.js';
import { member, onCleanup, until, type TestServer } from './helpers.js';
import { switchableProxy } from './proxy.js';

useClusterServices();

const text = (handle: { doc: Y.Doc }): string => handle.doc.getText('t').toString();
const chatIds = (handle: RoomHandle): string[] => handle.chat.map((m) => `${m.seq}:${m.text}`);

describe('cluster mode: Redis streams between nodes, PostgreSQL shared', () => {
  it('converges documents, gives chat one order on every node, and resumes on a different node', async () => {
    const { nodes } = await startCluster(3);
    const [a, b, c] = nodes as [TestServer, TestServer, TestServer];
    const ada = await member(a.wsUrl, 'team', 'Ada');
    const bob = await member(b.wsUrl, 'team', 'Bob');
    const stock = stockClient(c.wsUrl, 'team');
    const proxy = await switchableProxy(a.port);
    const cy = await member(proxy.url, 'team', 'Cy');

    ada.doc.getText('t').insert(0, 'A');
    bob.doc.getText('t').insert(0, 'B');
    stock.doc.getText('t').insert(0, 'S');
    const everyone = [ada, bob, cy, stock];
    await until(() => everyone.every((h) => text(h).length === 3 && text(h) === text(ada)), 'the document converged on every node', 10_000);

    for (let i = 0; i < 5; i++) {
      ada.sendChat(`ada ${i}`);
      bob.sendChat(`bob ${i}`);
      cy.sendChat(`cy ${i}`);
    }
    const members = [ada, bob, cy];
    await until(() => members.every((h) => h.chat.length === 15), 'every client has the 15 messages', 10_000);
    expect(chatIds(bob)).toEqual(chatIds(ada));
    expect(chatIds(cy)).toEqual(chatIds(ada));
    expect(ada.chat.map((m) => m.seq)).toEqual(Array.from({ length: 15 }, (_, i) => i + 1));

    // Cy's node goes away; while Cy is cut off the others chat; Cy comes back through another node.
    proxy.cut({ refuse: true });
    await until(() => cy.status.state !== 'open', 'Cy lost the connection');
    for (let i = 0; i < 4; i++) {
      ada.sendChat(`while away ${i}`);
      bob.sendChat(`bob away ${i}`);
    }
    ada.doc.getText('t').insert(0, 'offline-edit-seen ');
    await until(() => ada.chat.length === 23 && bob.chat.length === 23, 'the others have all 23', 10_000);
    proxy.pointTo(c.port);
    proxy.accept();
    await until(() => cy.chat.length === 23, 'Cy resumed the missed messages on node C', 10_000);
    expect(chatIds(cy)).toEqual(chatIds(ada));
    await until(() => text(cy) === text(ada), 'Cy has the edit made while away', 10_000);
    // Activity has one order too: the same entries with the same seqs on every node.
    await until(() => cy.activity.length === ada.activity.length, 'the same activity on both', 10_000);
    expect(cy.activity.map((e) => `${e.seq}:${e.kind}:${e.member.name}`)).toEqual(
      ada.activity.map((e) => `${e.seq}:${e.kind}:${e.member.name}`),
    );
  }, 60_000);

  it('acknowledges an edit once it is in the Redis stream, compacts into PostgreSQL, and a new node loads it all', async () => {
    const cluster = await startCluster(2);
    const [a, b] = cluster.nodes as [TestServer, TestServer];
    const ada = await member(a.wsUrl, 'doc', 'Ada');
    const bob = await member(b.wsUrl, 'doc', 'Bob');
    ada.doc.getText('t').insert(0, 'saved in redis');
    expect(ada.unsaved).toBe(true);
    await ada.whenSaved();
    const redis = new Redis(cluster.redis.url);
    onCleanup(() => redis.disconnect());
    const entries = await redis.xrangeBuffer(roomKeys('doc').log, '-', '+');
    const doc = new Y.Doc();
    for (const [, fields] of entries) {
      const at = fields.findIndex((f, i) => i % 2 === 0 && f.toString() === 'u');
      if (at >= 0) Y.applyUpdate(doc, fields[at + 1]!);
    }
    expect(doc.getText('t').toString()).toBe('saved in redis');

    bob.sendChat('hello from b');
    await until(() => ada.chat.length === 1, 'Ada has the chat');
    // Compaction: PostgreSQL gets the snapshot and the chat, and records how far into the stream it reaches.
    const db = new pg.Client({ connectionString: cluster.databaseUrl });
    await db.connect();
    onCleanup(() => db.end());
    const deadline = Date.now() + 10_000;
    let stored: { chat: number; position: string } = { chat: 0, position: '0-0' };
    while (Date.now() < deadline) {
      const chat = await db.query('SELECT count(*)::int AS n FROM chat WHERE room = $1', ['doc']);
      const snap = await db.query("SELECT log_ms || '-' || log_seq AS position FROM doc_snapshots WHERE room = $1", ['doc']);
      stored = { chat: chat.rows[0].n, position: snap.rows[0]?.position ?? '0-0' };
      if (stored.chat === 1 && stored.position !== '0-0') break;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    expect(stored.chat).toBe(1);
    expect(stored.position).not.toBe('0-0');

    // Every node closes; a fresh one loads the room from PostgreSQL and the stream.
    ada.destroy();
    bob.destroy();
    for (const node of cluster.nodes) await node.close();
    const fresh = await cluster.start();
    const cy = await member(fresh.wsUrl, 'doc', 'Cy');
    expect(text(cy)).toBe('saved in redis');
    expect(cy.chat.map((m) => m.text)).toEqual(['hello from b']);
  }, 60_000);
});
