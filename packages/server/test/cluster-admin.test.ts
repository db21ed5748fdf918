import { Redis } from 'ioredis';
import pg from 'pg';
import { describe, expect, it } from 'vitest';
import { startCluster, useClusterServices } from './cluster-setup.js';
import { member, onCleanup, until, type TestServer } from './helpers.js';

useClusterServices();

const TOKEN = 'an-admin-token-for-cluster-tests';
const auth = { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' };

describe('cluster mode: admin actions reach every node', () => {
  it('disconnects a member of another node, makes the document read-only everywhere, and records each once', async () => {
    const cluster = await startCluster(2, { config: { adminToken: TOKEN } });
    const [a, b] = cluster.nodes as [TestServer, TestServer];
    const ada = await member(a.wsUrl, 'ops', 'Ada');
    const bob = await member(b.wsUrl, 'ops', 'Bob');
    const cy = await member(b.wsUrl, 'ops', 'Cy');
    await until(() => ada.members.length === 3, 'Ada sees everyone', 10_000, ada);

    // The request goes to A; Bob is on B.
    const kicked = await fetch(`${a.url}/api/admin/rooms/ops/disconnect`, {
      method: 'POST',
      headers: auth,
      body: JSON.stringify({ member: bob.me!.id }),
    });
    expect(kicked.status).toBe(200);
    await until(() => bob.status.state === 'closed', 'Bob is disconnected by node B', 5_000, bob);
    expect(bob.status.state === 'closed' && bob.status.reason).toContain('4001');
    await until(
      () => cy.activity.some((e) => e.kind === 'admin' && e.action === 'disconnect' && e.target?.name === 'Bob'),
      'Cy sees why',
      5_000,
      cy,
    );

    const readOnly = await fetch(`${a.url}/api/admin/rooms/ops/read-only`, {
      method: 'POST',
      headers: auth,
      body: JSON.stringify({ readOnly: true }),
    });
    expect(await readOnly.json()).toEqual({ readOnly: true });
    await until(() => cy.rights === 'comment' && ada.rights === 'comment', 'members of both nodes may not edit', 5_000, cy);
    // A member joining a third node later finds the flag in PostgreSQL.
    const c = await cluster.start();
    const dee = await member(c.wsUrl, 'ops', 'Dee');
    expect(dee.rights).toBe('comment');
    await until(() => cy.activity.filter((e) => e.kind === 'admin').length === 2, 'both actions are in the history', 5_000, cy);
    expect(cy.activity.filter((e) => e.kind === 'admin').map((e) => e.action)).toEqual(['disconnect', 'read_only']);
  }, 60_000);

  it('deletes a document on every node: Redis, PostgreSQL and every member', async () => {
    const cluster = await startCluster(2, { config: { adminToken: TOKEN, compactDelayMs: 50 } });
    const [a, b] = cluster.nodes as [TestServer, TestServer];
    const ada = await member(a.wsUrl, 'doomed', 'Ada');
    const bob = await member(b.wsUrl, 'doomed', 'Bob');
    ada.doc.getText('t').insert(0, 'soon gone');
    ada.sendChat('last words');
    await ada.whenSaved();
    await until(() => bob.doc.getText('t').toString() === 'soon gone' && bob.chat.length === 1, 'Bob has it all', 5_000, bob);
    const db = new pg.Client({ connectionString: cluster.databaseUrl });
    await db.connect();
    onCleanup(() => db.end());
    const compacted = async () => (await db.query("SELECT 1 FROM doc_snapshots WHERE room = 'doomed'")).rowCount === 1;
    for (let tries = 0; !(await compacted()); tries++) {
      if (tries > 100) throw new Error('the room was never compacted into PostgreSQL');
      await new Promise((resolve) => setTimeout(resolve, 50));
    }

    const deleted = await fetch(`${b.url}/api/admin/rooms/doomed`, { method: 'DELETE', headers: { authorization: auth.authorization } });
    expect(await deleted.json()).toMatchObject({ deleted: true });
    await until(() => ada.status.state === 'closed' && bob.status.state === 'closed', 'both are closed', 5_000);
    for (const handle of [ada, bob]) expect(handle.status.state === 'closed' && handle.status.reason).toContain('4003');

    const redis = new Redis(cluster.redis.url);
    onCleanup(() => redis.disconnect());
    expect(await redis.exists('tandem:{doomed}:log', 'tandem:{doomed}:chat-ids')).toBe(0);
    for (const table of ['documents', 'doc_snapshots', 'chat', 'activity']) {
      const column = table === 'documents' ? 'name' : 'room';
      const { rows } = await db.query(`SELECT count(*)::int AS n FROM ${table} WHERE ${column} = 'doomed'`);
      expect(rows[0]).toEqual({ n: 0 });
    }
    // The name starts over, empty, on either node.
    const cy = await member(a.wsUrl, 'doomed', 'Cy');
    expect(cy.doc.getText('t').toString()).toBe('');
    expect(cy.chat).toEqual([]);
  }, 60_000);
});
