import { CloseCode } from '@tandem/protocol';
import { describe, expect, it } from 'vitest';
import { client, member, spawnServer, tempDir, until } from './helpers.js';

/** Waits until the server's health endpoint reports no open connections. */
async function connectionsDrop(url: string): Promise<void> {
  const deadline = Date.now() + 5_000;
  for (;;) {
    const { connections } = (await (await fetch(`${url}/healthz`)).json()) as { connections: number };
    if (connections === 0) return;
    if (Date.now() > deadline) throw new Error(`the server still counts ${connections} connections`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

describe('the server process', () => {
  it('serves the same document, chat and activity after a restart', async () => {
    const dataDir = tempDir();
    const first = await spawnServer(['--port', '0', '--data', dataDir]);
    const alice = await member(first.wsUrl, 'durable', 'Alice');
    alice.doc.getText('t').insert(0, 'written before the restart');
    alice.doc.getMap('meta').set('title', 'Plans');
    alice.sendChat('remember me');
    await until(() => alice.chat.length === 1, 'chat confirmed', 5_000, alice);
    alice.destroy();
    await connectionsDrop(first.url);
    expect(await first.stop('SIGTERM')).toBe(0);

    const second = await spawnServer(['--port', String(first.port), '--data', dataDir]);
    const bob = await member(second.wsUrl, 'durable', 'Bob');
    expect(bob.doc.getText('t').toString()).toBe('written before the restart');
    expect(bob.doc.getMap('meta').get('title')).toBe('Plans');
    expect(bob.chat.map((m) => [m.seq, m.author.name, m.text])).toEqual([[1, 'Alice', 'remember me']]);
    expect(bob.activity.map((e) => `${e.member.name} ${e.kind}`)).toEqual(['Alice join', 'Alice leave', 'Bob join']);
    await second.stop();
  });

  it('shuts down on SIGTERM: closes clients with 1001, exits 0 and loses no acknowledged chat', async () => {
    const dataDir = tempDir();
    const server = await spawnServer(['--port', '0', '--data', dataDir]);
    const alice = await member(server.wsUrl, 'shutdown', 'Alice');
    const closeCodes: number[] = [];
    alice.on('status', (status) => status.state === 'reconnecting' && closeCodes.push(status.closeCode));
    for (let i = 1; i <= 50; i++) alice.sendChat(`message ${i}`);
    await until(() => alice.pendingChat.length === 0, 'all 50 acknowledged', 5_000, alice);
    alice.doc.getText('t').insert(0, 'last keystroke');
    // The edit is on its way; SIGTERM right away must still keep it (flushed before exit).
    await until(() => alice.doc.getText('t').length > 0, 'edit made');
    const started = Date.now();
    expect(await server.stop('SIGTERM')).toBe(0);
    expect(Date.now() - started).toBeLessThan(5_000);
    await until(() => closeCodes.length > 0, 'Alice saw the close', 5_000, alice);
    expect(closeCodes[0]).toBe(CloseCode.goingAway);
    alice.destroy();

    const again = await spawnServer(['--port', '0', '--data', dataDir]);
    const bob = await member(again.wsUrl, 'shutdown', 'Bob');
    expect(bob.chat.map((m) => m.text)).toEqual(Array.from({ length: 50 }, (_, i) => `message ${i + 1}`));
    expect(bob.doc.getText('t').toString()).toBe('last keystroke');
    await again.stop();
  });

  it('keeps what was written more than the flush interval before a crash (SIGKILL)', async () => {
    const dataDir = tempDir();
    const server = await spawnServer(['--port', '0', '--data', dataDir, '--flush-interval', '20']);
    const alice = await member(server.wsUrl, 'crash', 'Alice');
    alice.doc.getText('t').insert(0, 'survives a crash');
    alice.sendChat('me too');
    await until(() => alice.chat.length === 1, 'chat confirmed', 5_000, alice);
    // The documented window is the flush interval plus one transaction; wait well past it.
    await new Promise((resolve) => setTimeout(resolve, 300));
    await server.stop('SIGKILL');
    alice.destroy();
    const again = await spawnServer(['--port', '0', '--data', dataDir]);
    const bob = await member(again.wsUrl, 'crash', 'Bob');
    expect(bob.doc.getText('t').toString()).toBe('survives a crash');
    expect(bob.chat.map((m) => m.text)).toEqual(['me too']);
    await again.stop();
  });

  it('reconnects an SDK client with backoff after the server restarts, and merges edits made meanwhile', async () => {
    const dataDir = tempDir();
    const first = await spawnServer(['--port', '0', '--data', dataDir]);
    const alice = client(first.wsUrl, 'comeback', { name: 'Alice', backoff: { baseMs: 100, capMs: 400 } });
    await alice.whenSynced();
    alice.doc.getText('t').insert(0, 'before.');
    const states: string[] = [];
    alice.on('status', (status) => states.push(status.state));
    await until(() => !!alice.doc.getText('t').length, 'edit made');
    await first.stop('SIGTERM');
    await until(() => states.filter((s) => s === 'reconnecting').length >= 2, 'at least two failed retries', 10_000, alice);
    alice.doc.getText('t').insert(7, ' during.');
    const second = await spawnServer(['--port', String(first.port), '--data', dataDir]);
    await until(() => alice.status.state === 'open' && alice.synced, 'Alice back and synced', 10_000, alice);
    const bob = await member(second.wsUrl, 'comeback', 'Bob');
    await until(() => bob.doc.getText('t').toString() === 'before. during.', 'Bob sees both edits');
    expect(states).toContain('connecting');
    await second.stop();
  });

  it('explains a bad setting and exits with status 2', async () => {
    await expect(spawnServer(['--port', 'eighty'])).rejects.toThrow(/port \(--port \/ PORT\)/);
  });
});
