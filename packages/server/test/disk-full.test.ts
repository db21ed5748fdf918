import { rmSync, statSync, truncateSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import * as Y from 'yjs';
import { SqliteStorage } from '../src/index.js';
import { fillDisk as fill, mountSmallDisk } from './disk.js';
import { member, onCleanup, spawnServer, tempDir, until } from './helpers.js';

/** A tmpfs of `sizeKb` mounted on a fresh temp directory, unmounted after the test. */
function smallDisk(sizeKb: number): string {
  const dir = tempDir();
  onCleanup(mountSmallDisk(dir, sizeKb));
  return dir;
}

async function health(url: string): Promise<{ status: number; body: Record<string, unknown> }> {
  const response = await fetch(`${url}/healthz`);
  return { status: response.status, body: (await response.json()) as Record<string, unknown> };
}

function storedText(dataDir: string, room: string): Promise<{ text: string; chat: string[] }> {
  const storage = new SqliteStorage(dataDir);
  onCleanup(() => storage.close());
  return Promise.all([storage.loadRoom(room, { tail: 0, dedupeWindow: 0 }), storage.readChat(room, 0, 1_000)]).then(([stored, chat]) => {
    const doc = new Y.Doc();
    for (const update of stored.updates) Y.applyUpdate(doc, update);
    return { text: doc.getText('t').toString(), chat: chat.map((m) => m.text) };
  });
}

describe('a full disk (a real small tmpfs)', () => {
  it(
    'acknowledges nothing, tells clients and /healthz, and a SIGTERM exits non-zero saying what was not saved; nothing acknowledged is lost',
    { timeout: 60_000 },
    async () => {
      const dataDir = smallDisk(4 * 1024);
      const args = ['--data', dataDir, '--shutdown-grace', '1000'];
      const first = await spawnServer(['--port', '0', ...args]);
      const alice = await member(first.wsUrl, 'notes', 'Alice', { backoff: { baseMs: 50, capMs: 300 } });
      const bob = await member(first.wsUrl, 'notes', 'Bob', { backoff: { baseMs: 50, capMs: 300 } });
      const text = alice.doc.getText('t');
      text.insert(0, 'stored before. ');
      alice.sendChat('stored before');
      await until(() => bob.chat.length === 1 && bob.doc.getText('t').length > 0, 'the first chat and edit at Bob', 5_000);
      await new Promise((resolve) => setTimeout(resolve, 200)); // the edit's flush

      fill(dataDir);
      for (let i = 0; i < 30; i++) text.insert(text.length, `chunk ${i}: ${'b'.repeat(4_000)} `);
      const id = alice.sendChat('written while the disk is full');
      await until(
        () => alice.storage.state === 'failing' && bob.storage.state === 'failing',
        'both clients told that storage fails',
        10_000,
      );
      const errors: string[] = [];
      alice.on('error', (error) => errors.push(error.code));
      const failing = await health(first.url);
      expect(failing.status).toBe(503);
      expect(failing.body).toMatchObject({
        status: 'failing',
        reason: expect.stringMatching(/storage writes are failing: .*(full|SQLITE_FULL)/i),
      });
      // Not acknowledged and not shown to anyone: it waits in the sender's queue and the server's memory.
      expect(alice.pendingChat.map((p) => p.id)).toEqual([id]);
      expect(bob.chat.map((m) => m.text)).toEqual(['stored before']);
      // Edits are still relayed between the people connected.
      await until(() => bob.doc.getText('t').toString() === text.toString(), 'the edits at Bob', 5_000);

      const started = Date.now();
      expect(await first.stop('SIGTERM')).not.toBe(0);
      expect(Date.now() - started).toBeGreaterThan(900); // it retried within the grace, not once
      const line = first.log.find((entry) => typeof entry.msg === 'string' && entry.msg.startsWith('shutdown: storage kept failing'));
      expect(line?.msg).toMatch(/"notes" \(\d+ document updates, \d+ bytes; 1 chat messages/);

      // Space freed, the server back: the clients bring back what the dead server held in memory.
      rmSync(join(dataDir, 'filler'));
      const second = await spawnServer(['--port', String(first.port), ...args]);
      await until(
        () => alice.pendingChat.length === 0 && bob.chat.length === 2 && alice.storage.state === 'ok',
        'the chat acknowledged after the restart',
        10_000,
      );
      expect(bob.chat.map((m) => m.text)).toEqual(['stored before', 'written while the disk is full']);
      expect((await health(second.url)).status).toBe(200);
      await new Promise((resolve) => setTimeout(resolve, 300));
      expect(await second.stop('SIGTERM')).toBe(0);
      const stored = await storedText(dataDir, 'notes');
      expect(stored.chat).toEqual(['stored before', 'written while the disk is full']);
      expect(stored.text).toBe(text.toString());
    },
  );

  it(
    'recovers by itself once space is freed, and a SIGTERM with too little room for compaction stores every increment and exits 0',
    { timeout: 60_000 },
    async () => {
      const dataDir = smallDisk(6 * 1024);
      const args = ['--data', dataDir, '--shutdown-grace', '1000'];
      const server = await spawnServer(['--port', '0', ...args]);
      const alice = await member(server.wsUrl, 'big', 'Alice');
      const text = alice.doc.getText('t');
      // A large document: its snapshot needs more room than the edits that follow.
      for (let i = 0; i < 40; i++) text.insert(text.length, 'a'.repeat(20_000));
      await until(() => server.log.length > 0 && alice.synced, 'synced', 5_000);
      await new Promise((resolve) => setTimeout(resolve, 500));

      const filler = fill(dataDir);
      for (let i = 0; i < 10; i++) text.insert(0, `edit ${i} `);
      alice.sendChat('while full');
      await until(() => alice.storage.state === 'failing', 'Alice told that storage fails', 10_000);
      expect((await health(server.url)).status).toBe(503);
      const notReady = await fetch(`${server.url}/readyz`);
      expect([notReady.status, notReady.headers.get('content-type')]).toEqual([503, 'application/health+json; charset=utf-8']);
      expect(await notReady.json()).toMatchObject({ status: 'fail', notes: [expect.stringMatching(/storage writes are failing/)] });

      // Room for the edits, not for an 800 KB snapshot of the document.
      truncateSync(filler, statSync(filler).size - 200 * 1024);
      await until(
        () => alice.storage.state === 'ok' && alice.pendingChat.length === 0,
        'storage recovered and the chat acknowledged',
        15_000,
      );
      expect((await health(server.url)).status).toBe(200);
      expect(await (await fetch(`${server.url}/readyz`)).json()).toEqual({ status: 'pass' });
      expect(await server.stop('SIGTERM')).toBe(0);
      expect(server.log.some((entry) => entry.msg === 'compaction failed; the update log is kept and nothing is lost')).toBe(true);

      rmSync(filler);
      const stored = await storedText(dataDir, 'big');
      expect(stored.text).toBe(text.toString());
      expect(stored.chat).toEqual(['while full']);
    },
  );
});
