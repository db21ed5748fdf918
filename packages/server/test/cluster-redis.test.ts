import { SUBPROTOCOL } from '@tandem/protocol';
import pg from 'pg';
import { describe, expect, it } from 'vitest';
import { startCluster, useClusterServices } from './cluster-setup.js';
import { controlMessages, member, onCleanup, rawSocket, until, type TestServer } from './helpers.js';

useClusterServices();

const text = (handle: { doc: { getText(name: string): { toString(): string } } }): string => handle.doc.getText('t').toString();

describe('cluster mode: Redis restarts', () => {
  it('without persistence: nodes republish what they hold, clients are told to resync, nothing acknowledged is lost', async () => {
    // Nothing is compacted during the test: what was acknowledged lives only in Redis and the nodes.
    const cluster = await startCluster(2, { config: { compactDelayMs: 600_000 } });
    const [a, b] = cluster.nodes as [TestServer, TestServer];
    const ada = await member(a.wsUrl, 'notes', 'Ada');
    const bob = await member(b.wsUrl, 'notes', 'Bob');
    const watcher = await rawSocket(b.wsUrl, 'notes', SUBPROTOCOL);
    const seen = controlMessages(watcher);

    ada.doc.getText('t').insert(0, 'before ');
    bob.sendChat('first');
    await until(() => ada.chat.length === 1 && text(bob) === 'before ', 'both have the edit and the chat');
    await ada.whenSaved();

    await cluster.redis.restart({ crash: true });
    await until(() => seen.some((m) => m.type === 'resync'), 'node B told its clients to resync', 15_000);

    ada.doc.getText('t').insert(text(ada).length, 'after ');
    bob.doc.getText('t').insert(0, 'B ');
    bob.sendChat('second');
    await until(
      () => text(ada) === text(bob) && text(ada).includes('after') && text(ada).includes('B '),
      'the nodes converge again',
      15_000,
    );
    await until(() => ada.chat.length === 2 && bob.chat.length === 2, 'both have both messages', 15_000);
    // Seqs went on from the newest seen: no seq was handed out twice.
    expect(ada.chat.map((m) => `${m.seq}:${m.text}`)).toEqual(['1:first', '2:second']);
    expect(bob.chat.map((m) => `${m.seq}:${m.text}`)).toEqual(['1:first', '2:second']);
    expect(text(ada)).toContain('before ');

    // The chat acknowledged before the restart was never compacted; the nodes stored it from memory.
    const db = new pg.Client({ connectionString: cluster.databaseUrl });
    await db.connect();
    onCleanup(() => db.end());
    const { rows } = await db.query('SELECT seq, body FROM chat WHERE room = $1 ORDER BY seq', ['notes']);
    expect(rows.map((row) => `${row.seq}:${row.body.text}`)).toContain('1:first');

    // A node that starts now gets the whole document from the rebuilt log.
    const fresh = await cluster.start();
    const cy = await member(fresh.wsUrl, 'notes', 'Cy');
    expect(text(cy)).toBe(text(ada));
    expect(cy.chat.map((m) => m.text)).toEqual(['first', 'second']);
  }, 60_000);

  it('with the append-only file: the log survives, nobody is told to resync, and seqs go on', async () => {
    const cluster = await startCluster(2, { appendonly: true });
    const [a, b] = cluster.nodes as [TestServer, TestServer];
    const ada = await member(a.wsUrl, 'kept', 'Ada');
    const bob = await member(b.wsUrl, 'kept', 'Bob');
    const watcher = await rawSocket(b.wsUrl, 'kept', SUBPROTOCOL);
    const seen = controlMessages(watcher);
    ada.doc.getText('t').insert(0, 'kept ');
    ada.sendChat('one');
    await until(() => bob.chat.length === 1 && text(bob) === 'kept ', 'Bob has it');

    await cluster.redis.restart({ crash: true });
    // Edits while Redis is down or coming back are kept and appended once it is back.
    bob.doc.getText('t').insert(0, 'during ');
    bob.sendChat('two');
    await until(() => ada.chat.length === 2 && text(ada) === 'during kept ', 'Ada has what Bob sent across the restart', 15_000);
    await bob.whenSaved();
    expect(ada.chat.map((m) => `${m.seq}:${m.text}`)).toEqual(['1:one', '2:two']);
    expect(seen.filter((m) => m.type === 'resync')).toEqual([]);
  }, 60_000);

  it('while Redis is unreachable: serves local members, says so, holds a bounded backlog of edits, then refuses more with 1013', async () => {
    const cluster = await startCluster(1, { appendonly: true, config: { maxPendingBytes: 20_000 } });
    const [a] = cluster.nodes as [TestServer];
    const ada = await member(a.wsUrl, 'offline', 'Ada');
    const bob = await member(a.wsUrl, 'offline', 'Bob');
    ada.doc.getText('t').insert(0, 'start ');
    await ada.whenSaved();

    await cluster.redis.halt();
    let resumed = false;
    onCleanup(async () => {
      if (!resumed) await cluster.redis.resume();
    });
    ada.doc.getText('t').insert(text(ada).length, 'local ');
    await until(() => text(bob) === 'start local ', 'Bob, on the same node, still gets the edit');
    await until(() => ada.storage.state === 'failing', 'Ada is told the server cannot store changes', 10_000);
    expect(ada.unsaved).toBe(true);
    // The load balancer is told to send new clients elsewhere.
    const readiness = await fetch(`${a.url}/readyz`);
    expect(readiness.status).toBe(503);
    expect(((await readiness.json()) as { notes: string[] }).notes.join(' ')).toContain('cannot reach Redis');
    const errors: string[] = [];
    ada.on('error', (error) => errors.push(error.code));
    const closes: number[] = [];
    ada.on('status', (status) => {
      if (status.state === 'reconnecting') closes.push(status.closeCode);
    });
    ada.doc.getText('t').insert(text(ada).length, 'x'.repeat(12_000));
    ada.doc.getText('t').insert(text(ada).length, 'y'.repeat(12_000));
    await until(
      () => errors.includes('storage_backlog') && closes.includes(1013),
      'the edit past the backlog was refused, with 1013',
      10_000,
    );
    expect(text(bob)).not.toContain('y');

    await cluster.redis.resume();
    resumed = true;
    await until(() => text(bob) === text(ada), 'after Redis is back, the refused edit arrives with the reconnect sync', 20_000);
    await ada.whenSaved();
    expect(text(bob)).toContain('y'.repeat(12_000));
    expect((await fetch(`${a.url}/readyz`)).status).toBe(200);
    const fresh = await cluster.start();
    const cy = await member(fresh.wsUrl, 'offline', 'Cy');
    expect(text(cy)).toBe(text(ada));
  }, 60_000);
});
