import type { RoomHandle } from '@tandem/client';
import pg from 'pg';
import { describe, expect, it } from 'vitest';
import * as Y from 'yjs';
import { freshDatabase, useClusterServices } from './cluster-setup.js';
import { client, member, onCleanup, spawnServer, until, type ServerProcess } from './helpers.js';
import { startNginx } from './nginx.js';
import { startRedis } from './redis.js';

useClusterServices();

/** How long nodes keep being killed (CHAOS_MS shortens it for a quick local run). */
const CHAOS_MS = Number(process.env.CHAOS_MS ?? 60_000);
const CLIENTS = 30;
const ROOM = 'chaos';

interface Typist {
  handle: RoomHandle;
  /** Tokens this client inserted, in order; the first `acked` of them were confirmed saved. */
  tokens: string[];
  acked: number;
  /** Chat ids this client sent. */
  sent: string[];
}

const text = (handle: { doc: Y.Doc }): string => handle.doc.getText('t').toString();

/** Which chat seqs each client lacks or holds beyond the reference's, to say why the chats differ. */
function chatGaps(typists: Typist[], reference: RoomHandle): string {
  const seqsOf = (handle: RoomHandle): Set<number> => new Set(handle.chat.map((m) => m.seq));
  const wanted = seqsOf(reference);
  const report: string[] = [`the reference holds ${wanted.size}`];
  typists.forEach((typist, i) => {
    const held = seqsOf(typist.handle);
    const lacks = [...wanted].filter((seq) => !held.has(seq));
    const extra = [...held].filter((seq) => !wanted.has(seq));
    if (lacks.length + extra.length > 0)
      report.push(`T${i} lacks [${lacks.slice(0, 10).join(',')}] and has extra [${extra.slice(0, 10).join(',')}]`);
  });
  return report.join('; ');
}

describe('cluster chaos: nodes killed with SIGKILL behind nginx', () => {
  it(
    `loses nothing acknowledged while 30 clients type and chat and a random node is killed every few seconds for ${CHAOS_MS / 1000} s`,
    async () => {
      const redis = await startRedis({ appendonly: true });
      onCleanup(() => redis.stop());
      const databaseUrl = await freshDatabase();
      const env = {
        REDIS_URL: redis.url,
        DATABASE_URL: databaseUrl,
        COMPACT_DELAY_MS: '200',
        LOG_LEVEL: 'info',
        HANDSHAKES_PER_SECOND_PER_IP: '10000',
        ACTIVITY_PER_MINUTE_PER_IP: '100000',
        LEAVE_GRACE_MS: '0',
      };
      const nodes: ServerProcess[] = [];
      for (let i = 0; i < 3; i++) nodes.push(await spawnServer([], { ...env, PORT: '0' }));
      const ports = nodes.map((node) => node.port);
      const nginx = await startNginx(ports.map((port) => ({ host: '127.0.0.1', port })));
      onCleanup(() => nginx.stop());

      const typists: Typist[] = [];
      for (let i = 0; i < CLIENTS; i++) {
        const handle = client(nginx.wsUrl, ROOM, { name: `T${i}` });
        const typist: Typist = { handle, tokens: [], acked: 0, sent: [] };
        handle.on('saved', () => (typist.acked = typist.tokens.length));
        typists.push(typist);
      }
      await Promise.all(typists.map((t) => t.handle.whenSynced()));

      let running = true;
      const typing = typists.map(async (typist, i) => {
        for (let n = 0; running; n++) {
          const token = `<${i}.${n}>`;
          const t = typist.handle.doc.getText('t');
          // At either end: concurrent inserts interleave, but never inside another token.
          t.insert(Math.random() < 0.5 ? 0 : t.length, token);
          typist.tokens.push(token);
          if (n % 10 === 5) typist.sent.push(typist.handle.sendChat(`chat ${i}.${n}`));
          await new Promise((resolve) => setTimeout(resolve, 150 + Math.random() * 250));
        }
      });

      const started = Date.now();
      let kills = 0;
      while (Date.now() - started < CHAOS_MS) {
        await new Promise((resolve) => setTimeout(resolve, 2_000 + Math.random() * 3_000));
        const victim = Math.floor(Math.random() * nodes.length);
        nodes[victim]!.child.kill('SIGKILL');
        await nodes[victim]!.exited;
        kills++;
        await new Promise((resolve) => setTimeout(resolve, 300 + Math.random() * 700));
        nodes[victim] = await spawnServer([], { ...env, PORT: String(ports[victim]) });
      }
      running = false;
      await Promise.all(typing);
      // A kill every 2-5 s, plus the restart (a few seconds on a loaded machine).
      expect(kills).toBeGreaterThanOrEqual(Math.floor(CHAOS_MS / 10_000));

      // Everyone reconnects and saves what they hold; then every copy is compared.
      await until(
        () => typists.every((t) => t.handle.status.state === 'open' && !t.handle.unsaved),
        'every client saved everything',
        60_000,
      );
      const acked = typists.flatMap((t) => t.tokens.slice(0, t.acked));
      const all = typists.flatMap((t) => t.tokens);
      expect(acked.length).toBeGreaterThan(CLIENTS * 10);
      const reference = typists[0]!.handle;
      await until(() => typists.every((t) => text(t.handle) === text(reference)), 'every client converged', 30_000);
      for (const token of all) expect(text(reference)).toContain(token);

      // Chat: every message a client was shown as its own is there once, with one seq, everywhere.
      const ackedChat = new Set(typists.flatMap((t) => t.handle.chat.filter((m) => t.sent.includes(m.id)).map((m) => m.id)));
      expect(ackedChat.size).toBeGreaterThan(0);
      await until(() => typists.every((t) => t.handle.pendingChat.length === 0), 'every chat message sent and acknowledged', 30_000);
      await until(
        () => typists.every((t) => t.handle.chat.length === reference.chat.length),
        'every client has the whole chat',
        30_000,
      ).catch((error: Error) => {
        throw new Error(`${error.message}; ${chatGaps(typists, reference)}`);
      });
      const order = reference.chat.map((m) => `${m.seq}:${m.id}`);
      for (const t of typists) expect(t.handle.chat.map((m) => `${m.seq}:${m.id}`)).toEqual(order);
      expect(reference.chat.map((m) => m.seq)).toEqual(reference.chat.map((_, i) => i + 1));
      expect(new Set(reference.chat.map((m) => m.id)).size).toBe(reference.chat.length);
      const allSent = typists.flatMap((t) => t.sent);
      expect(reference.chat.map((m) => m.id).sort()).toEqual([...allSent].sort());

      // Every node's copy.
      for (const node of nodes) {
        const probe = await member(node.wsUrl, ROOM, 'Probe');
        await until(() => text(probe) === text(reference), `node ${node.port} has the whole document`, 15_000);
        expect(probe.chat.map((m) => `${m.seq}:${m.id}`)).toEqual(order.slice(-probe.chat.length));
        probe.destroy();
      }

      // PostgreSQL, once compaction has caught up.
      const db = new pg.Client({ connectionString: databaseUrl });
      await db.connect();
      onCleanup(() => db.end());
      const storedText = async (): Promise<string> => {
        const { rows } = await db.query('SELECT data FROM doc_snapshots WHERE room = $1', [ROOM]);
        const doc = new Y.Doc();
        if (rows[0]) Y.applyUpdate(doc, rows[0].data);
        return doc.getText('t').toString();
      };
      const deadline = Date.now() + 30_000;
      let stored = await storedText();
      while (stored !== text(reference) && Date.now() < deadline) {
        await new Promise((resolve) => setTimeout(resolve, 250));
        stored = await storedText();
      }
      expect(stored).toBe(text(reference));
      const { rows } = await db.query('SELECT seq, id FROM chat WHERE room = $1 ORDER BY seq', [ROOM]);
      expect(rows.map((row) => `${row.seq}:${row.id}`)).toEqual(order);
    },
    CHAOS_MS + 240_000,
  );
});
