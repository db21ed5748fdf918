import { describe, expect, it } from 'vitest';
import { SqliteStorage } from '../src/index.js';
import { client, member, startServer, until } from './helpers.js';

describe('offline queue and reconnection', () => {
  it('queues chat and events while the server is away and delivers them once, in order', async () => {
    const first = await startServer();
    const alice = client(first.wsUrl, 'queue', { name: 'Alice' });
    await alice.whenJoined();
    await first.close();
    expect(first.registry.size).toBe(0);
    await until(() => alice.status.state === 'reconnecting', 'Alice reconnecting', 5_000, alice);
    const ids = ['one', 'two', 'three'].map((text) => alice.sendChat(text));
    alice.sendEvent('offline-event', { n: 1 });
    expect(alice.pendingChat.map((p) => p.text)).toEqual(['one', 'two', 'three']);

    const second = await startServer({ port: first.port, dataDir: first.dataDir });
    const bob = await member(second.wsUrl, 'queue', 'Bob');
    const events: unknown[] = [];
    bob.on('event', (name, data) => events.push([name, data]));
    await until(() => alice.pendingChat.length === 0 && alice.status.state === 'open', "Alice's queue delivered", 10_000, alice);
    await until(() => bob.chat.length === 3, 'three messages at Bob', 5_000, bob);
    expect(bob.chat.map((m) => [m.seq, m.id, m.text])).toEqual([
      [1, ids[0], 'one'],
      [2, ids[1], 'two'],
      [3, ids[2], 'three'],
    ]);
    expect(alice.chat.map((m) => m.text)).toEqual(['one', 'two', 'three']);
    // Bob may have joined after the event went out, so the store counts it: exactly once.
    await second.close();
    const stored = await new SqliteStorage(second.dataDir).loadRoom('queue', { tail: 0, dedupeWindow: 0 });
    expect(stored.eventSeq).toBe(1);
    expect(events.length).toBeLessThanOrEqual(stored.eventSeq);
  });

  it('merges document edits made offline on both sides when the connection returns', async () => {
    const first = await startServer();
    const alice = client(first.wsUrl, 'merge', { name: 'Alice' });
    await alice.whenSynced();
    alice.doc.getText('t').insert(0, 'base.');
    await until(() => first.registry.get('merge')?.doc.getText('t').toString() === 'base.', 'the base text on the server');
    await first.close();
    alice.doc.getText('t').insert(5, ' offline-alice.');
    const second = await startServer({ port: first.port, dataDir: first.dataDir });
    const bob = client(second.wsUrl, 'merge', { name: 'Bob' });
    await bob.whenSynced();
    bob.doc.getText('t').insert(0, 'bob! ');
    const expected = 'bob! base. offline-alice.';
    await until(
      () => alice.doc.getText('t').toString() === expected && bob.doc.getText('t').toString() === expected,
      'both edits merged at both clients',
      10_000,
    );
  });

  it('backs off with growing, jittered delays while the server is down', async () => {
    const server = await startServer();
    const handle = client(server.wsUrl, 'backoff', { name: 'Alice', backoff: { baseMs: 20, capMs: 200 } });
    await handle.whenJoined();
    const delays: number[] = [];
    handle.on('status', (status) => {
      if (status.state === 'reconnecting') delays.push(status.delayMs);
    });
    await server.close();
    await until(() => delays.length >= 6, 'six reconnect attempts', 10_000, handle);
    // Full jitter: attempt n waits in [0, min(cap, base·2^n)).
    delays.forEach((delay, attempt) => expect(delay).toBeLessThan(Math.min(200, 20 * 2 ** attempt)));
    expect(handle.status).toMatchObject({ state: expect.stringMatching(/reconnecting|connecting/) });
  });
});
