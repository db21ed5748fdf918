import pg from 'pg';
import { describe, expect, it } from 'vitest';
import { postgresServer, startCluster, useClusterServices } from './cluster-setup.js';
import { member, onCleanup, until, type TestServer } from './helpers.js';

useClusterServices();

const text = (handle: { doc: { getText(name: string): { toString(): string } } }): string => handle.doc.getText('t').toString();

async function stored(databaseUrl: string, room: string): Promise<{ chat: string[]; position: string }> {
  const db = new pg.Client({ connectionString: databaseUrl });
  await db.connect();
  try {
    const chat = await db.query('SELECT body FROM chat WHERE room = $1 ORDER BY seq', [room]);
    const snapshot = await db.query("SELECT log_ms || '-' || log_seq AS position FROM doc_snapshots WHERE room = $1", [room]);
    return { chat: chat.rows.map((row) => row.body.text as string), position: snapshot.rows[0]?.position ?? '0-0' };
  } finally {
    await db.end();
  }
}

describe('cluster mode: PostgreSQL outage', () => {
  it('keeps acknowledging into the stream while PostgreSQL is down for 10 s; compaction retries and loses nothing', async () => {
    const cluster = await startCluster(2);
    const [a, b] = cluster.nodes as [TestServer, TestServer];
    const ada = await member(a.wsUrl, 'outage', 'Ada');
    const bob = await member(b.wsUrl, 'outage', 'Bob');
    ada.doc.getText('t').insert(0, 'before ');
    ada.sendChat('before');
    await until(() => bob.chat.length === 1, 'Bob has the first message');

    const postgres = postgresServer();
    await postgres.halt();
    let resumed = false;
    onCleanup(async () => {
      if (!resumed) await postgres.resume();
    });
    const outageStarted = Date.now();
    const readiness = await fetch(`${a.url}/readyz`);
    expect(readiness.status).toBe(503);
    expect(((await readiness.json()) as { notes: string[] }).notes.join()).toContain('cannot reach PostgreSQL');

    // During the outage the cluster keeps working: acknowledged means in the Redis stream.
    for (let i = 0; i < 10; i++) {
      bob.doc.getText('t').insert(text(bob).length, `${i} `);
      ada.sendChat(`during ${i}`);
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
    await bob.whenSaved();
    await until(() => bob.chat.length === 11 && text(ada) === text(bob), 'both have everything sent during the outage', 10_000);
    await new Promise((resolve) => setTimeout(resolve, Math.max(0, 10_000 - (Date.now() - outageStarted))));
    await postgres.resume();
    resumed = true;

    // Compaction catches up: PostgreSQL gets every message, and a snapshot past them.
    const expected = ['before', ...Array.from({ length: 10 }, (_, i) => `during ${i}`)];
    let result = await stored(cluster.databaseUrl, 'outage');
    const deadline = Date.now() + 40_000;
    while (result.chat.length < expected.length && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 250));
      result = await stored(cluster.databaseUrl, 'outage');
    }
    expect(result.chat).toEqual(expected);
    expect((await fetch(`${a.url}/readyz`)).status).toBe(200);

    // Everything is there for a node that loads the room afresh.
    ada.destroy();
    bob.destroy();
    for (const node of cluster.nodes) await node.close();
    const fresh = await cluster.start();
    const cy = await member(fresh.wsUrl, 'outage', 'Cy');
    expect(text(cy)).toBe('before 0 1 2 3 4 5 6 7 8 9 ');
    expect(cy.chat.map((m) => m.text)).toEqual(expected);
  }, 90_000);
});
