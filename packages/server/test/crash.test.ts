import type { ActivityEntry, ChatMessage } from '@tandem/protocol';
import { describe, expect, it } from 'vitest';
import * as Y from 'yjs';
import { SqliteStorage } from '../src/index.js';
import { client, onCleanup, spawnServer, tempDir, until, type ServerProcess } from './helpers.js';

const ITERATIONS = 25;
const ROOM = 'crash-loop';

describe('crashes (kill -9 of the real server process)', () => {
  it(
    `loses no acknowledged chat or activity and never gives a seq to two entries, over ${ITERATIONS} kills a few ms after an acknowledgement`,
    { timeout: 180_000 },
    async () => {
      const dataDir = tempDir();
      // Every reconnect is a join from this address: the activity rate limit is not under test.
      const args = ['--data', dataDir, '--activity-per-minute', '100000', '--flush-interval', '50'];
      let server: ServerProcess = await spawnServer(['--port', '0', ...args]);
      const port = server.port;
      const names = ['Ada', 'Grace', 'Linus'];
      const members = names.map((name) => client(server.wsUrl, ROOM, { name, backoff: { baseMs: 20, capMs: 200 } }));
      // Everything any client was ever shown, by seq: an acknowledged entry is one of these.
      const seenChat = new Map<number, Set<string>>();
      const seenActivity = new Map<number, Set<string>>();
      const activityKey = (e: ActivityEntry) => `${e.kind}:${e.member.id}:${e.time}`;
      const see = (seen: Map<number, Set<string>>, seq: number, key: string) => seen.set(seq, (seen.get(seq) ?? new Set()).add(key));
      let acknowledgements = 0;
      for (const handle of members) {
        handle.on('chat', (m: ChatMessage) => {
          acknowledgements++;
          see(seenChat, m.seq, m.id);
        });
        handle.on('activity', (e: ActivityEntry) => see(seenActivity, e.seq, activityKey(e)));
        handle.on('change', () => {
          for (const m of handle.chat) see(seenChat, m.seq, m.id);
          for (const e of handle.activity) see(seenActivity, e.seq, activityKey(e));
        });
      }
      let sent = 0;
      const typing = setInterval(() => {
        for (const handle of members) {
          if (handle.status.state !== 'open') continue;
          handle.sendChat(`${handle.me?.name ?? '?'} #${++sent}`);
          handle.doc.getText('t').insert(0, 'x');
        }
      }, 4);
      onCleanup(() => clearInterval(typing));

      for (let i = 0; i < ITERATIONS; i++) {
        await until(() => members.every((m) => m.status.state === 'open' && m.me !== null), `all members joined (iteration ${i})`, 15_000);
        const before = acknowledgements;
        await until(() => acknowledgements > before + 3, `acknowledgements arrive (iteration ${i})`, 10_000);
        await new Promise((resolve) => setTimeout(resolve, i % 8));
        server.child.kill('SIGKILL');
        await server.exited;
        server = await spawnServer(['--port', String(port), ...args]);
      }
      clearInterval(typing);

      // Every client reconnects, re-sends what was not acknowledged and resumes what it missed.
      await until(
        () => members.every((m) => m.status.state === 'open' && m.pendingChat.length === 0),
        'every message acknowledged',
        20_000,
      );
      await new Promise((resolve) => setTimeout(resolve, 300));
      await server.stop('SIGTERM');

      const storage = new SqliteStorage(dataDir);
      onCleanup(() => storage.close());
      const stored = await storage.readChat(ROOM, 0, 100_000);
      const storedActivity = await storage.readActivity(ROOM, 0, 100_000);

      // No seq was ever shown with two different entries.
      for (const [seq, ids] of seenChat) expect([...ids], `chat seq ${seq}`).toHaveLength(1);
      for (const [seq, keys] of seenActivity) expect([...keys], `activity seq ${seq}`).toHaveLength(1);
      // Every entry shown to anyone is stored, with its seq.
      const storedBySeq = new Map(stored.map((m) => [m.seq, m.id]));
      for (const [seq, ids] of seenChat) expect(storedBySeq.get(seq), `chat seq ${seq}`).toBe([...ids][0]);
      const storedActivityBySeq = new Map(storedActivity.map((e) => [e.seq, activityKey(e)]));
      for (const [seq, keys] of seenActivity) expect(storedActivityBySeq.get(seq), `activity seq ${seq}`).toBe([...keys][0]);
      // Each message exactly once, seqs dense, every message sent is there.
      expect(new Set(stored.map((m) => m.id)).size).toBe(stored.length);
      expect(stored.map((m) => m.seq)).toEqual(stored.map((_, i) => i + 1));
      expect(stored.length).toBe(sent);
      // Every client's view equals the server's.
      for (const handle of members) {
        expect(handle.chat.map((m) => [m.seq, m.id])).toEqual(stored.slice(-handle.chat.length).map((m) => [m.seq, m.id]));
      }
      // And every document edit a client made is in the stored document.
      const room = await storage.loadRoom(ROOM, { tail: 0, dedupeWindow: 0 });
      const doc = new Y.Doc();
      for (const update of room.updates) Y.applyUpdate(doc, update);
      for (const handle of members) expect(handle.doc.getText('t').toString()).toBe(doc.getText('t').toString());
      console.log(
        `crash loop: ${ITERATIONS} kills, ${sent} chat messages sent, ${stored.length} stored, ${seenChat.size} seen; ${storedActivity.length} activity entries`,
      );
    },
  );
});
