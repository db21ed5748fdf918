import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { SUBPROTOCOL } from '@tandem/protocol';
import { describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { member, onCleanup, startServer, until } from './helpers.js';

/** mulberry32: a small seeded PRNG, so a failing run can be replayed with the same seed. */
function prng(seed: number): () => number {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

type Frame = { data: Uint8Array | string; binary: boolean };
type Kind = { name: string; protocol: string | undefined; frames: (random: () => number) => Frame[] };

const bin = (...bytes: number[]): Frame => ({ data: Uint8Array.from(bytes), binary: true });
const text = (value: string): Frame => ({ data: value, binary: false });
const json = (value: unknown): Frame => text(JSON.stringify(value));
const randomBytes = (random: () => number, max: number) =>
  Array.from({ length: Math.floor(random() * max) }, () => Math.floor(random() * 256));
const pick = <T>(random: () => number, items: readonly T[]): T => items[Math.floor(random() * items.length)]!;

const MAX_PAYLOAD = 64 * 1024;
const MIN_PER_KIND = 300;
/** Frames that close the connection are sent several to a connection, back to back. */
const repeat = (count: number, make: (random: () => number) => Frame) => (random: () => number) =>
  Array.from({ length: count }, () => make(random));

/** The kinds of bad input. JSON kinds keep the connection open, so each connection sends many. */
const KINDS: Kind[] = [
  { name: 'random bytes', protocol: undefined, frames: repeat(5, (r) => bin(...randomBytes(r, 64))) },
  {
    name: 'truncated varints',
    protocol: SUBPROTOCOL,
    frames: repeat(5, (r) =>
      pick(r, [bin(0), bin(0, 0xff), bin(0, 2, 0xff, 0xff), bin(1, 0x80), bin(0x80), bin(0, 0, 0xff, 0x80), bin(3, 0xff)]),
    ),
  },
  {
    name: 'absurd lengths',
    protocol: undefined,
    frames: repeat(5, (r) =>
      pick(r, [
        bin(0, 2, 0xff, 0xff, 0xff, 0xff, 0x0f, 1),
        bin(0, 1, 0xfe, 0xff, 0xff, 0x7f),
        bin(1, 0xff, 0xff, 0xff, 0xff, 0x0f),
        bin(0, 0, 0xff, 0xff, 0xff, 0x7f, 9),
      ]),
    ),
  },
  {
    name: 'garbage updates',
    protocol: SUBPROTOCOL,
    frames: repeat(5, (r) => {
      const body = randomBytes(r, 40);
      return bin(0, pick(r, [1, 2]), body.length, ...body);
    }),
  },
  {
    name: 'garbage awareness',
    protocol: undefined,
    frames: repeat(5, (r) => {
      const body = randomBytes(r, 40);
      return bin(1, body.length, ...body);
    }),
  },
  {
    name: 'invalid UTF-8 text',
    protocol: SUBPROTOCOL,
    frames: repeat(5, (r) => ({
      data: Uint8Array.from([0x7b, ...pick(r, [[0xc3, 0x28], [0xff], [0xe2, 0x82], [0xed, 0xa0, 0x80]]), 0x7d]),
      binary: false,
    })),
  },
  {
    name: 'JSON type confusion',
    protocol: SUBPROTOCOL,
    frames: (r) =>
      Array.from({ length: 25 }, () =>
        pick(r, [
          text('null'),
          text('[]'),
          text('"join"'),
          text('42'),
          text('{'),
          text('{"type":'),
          json({ type: ['join'] }),
          json({ type: 'join', name: 42 }),
          json({ type: 'join', name: { toString: 'x' } }),
          json({ type: 'chat', id: 7, text: [] }),
          json({ type: 'chat', id: 'x', text: 'y'.repeat(5000) }),
          json({ type: 'resume', chatSeq: '1', activitySeq: -1 }),
          json({ type: 'resume', chatSeq: 1e308, activitySeq: 0.5 }),
          json({ type: 'typing', on: 'yes' }),
          json({ type: 'event', name: '', data: 1 }),
          json({ type: 'auth', token: 1 }),
          json({ type: 'rename' }),
          json({}),
          json({ type: null }),
        ]),
      ),
  },
  {
    name: 'prototype pollution',
    protocol: SUBPROTOCOL,
    frames: (r) =>
      Array.from({ length: 25 }, () =>
        pick(r, [
          text('{"type":"join","name":"x","__proto__":{"polluted":true}}'),
          text('{"__proto__":{"type":"join","polluted":true}}'),
          text('{"type":"event","name":"e","data":{"__proto__":{"polluted":true},"constructor":{"prototype":{"polluted":true}}}}'),
          text('{"type":"chat","id":"__proto__","text":"hi","constructor":{"prototype":{"polluted":true}}}'),
          text('{"type":"join","name":"__proto__"}'),
        ]),
      ),
  },
  {
    name: 'deep nesting',
    protocol: SUBPROTOCOL,
    frames: repeat(5, (r) => {
      const depth = 2_000 + Math.floor(r() * 20_000);
      return text(`{"type":"event","name":"deep","data":${'['.repeat(depth)}${']'.repeat(r() < 0.5 ? depth : 10)}}`);
    }),
  },
  { name: 'oversized frames', protocol: undefined, frames: repeat(3, () => ({ data: new Uint8Array(MAX_PAYLOAD + 1024), binary: true })) },
  {
    name: 'floods',
    protocol: SUBPROTOCOL,
    frames: () => [
      json({ type: 'join', name: 'Flood' }),
      ...Array.from({ length: 400 }, (_, i) => json(i % 2 ? { type: 'typing', on: true } : { type: 'event', name: 'spam', data: i })),
    ],
  },
];

describe('fuzz', () => {
  it('survives 10,000+ bad frames while good clients keep editing and chatting, losing nothing', async () => {
    setFlagsFromString('--expose-gc');
    const gc = runInNewContext('gc') as () => void;
    const heap = async (): Promise<number> => {
      for (let i = 0; i < 3; i++) {
        gc();
        await new Promise((resolve) => setImmediate(resolve));
      }
      return process.memoryUsage().heapUsed;
    };
    const server = await startServer({
      maxPayloadBytes: MAX_PAYLOAD,
      roomIdleMs: 0,
      maxConnectionsPerIp: 100_000,
      handshakesPerSecondPerIp: 100_000,
      // Floods exceed this; the good members (about 45 messages a second each) stay under it.
      messagesPerSecond: 100,
      rateLimitCloseAfterMs: 1_000,
    });
    const seed = Number(process.env.FUZZ_SEED ?? 20261122);
    const random = prng(seed);

    // Well-behaved members in the room under attack.
    const good = await Promise.all(['Ada', 'Grace', 'Linus'].map((name) => member(server.wsUrl, 'target', name)));
    const before = await heap();
    let writing = true;
    const sent = new Map<string, string>();
    const writers = good.map(async (handle, i) => {
      let n = 0;
      while (writing) {
        handle.doc.getText('body').insert(0, `${handle.me?.name}${n} `);
        if (n % 3 === 0) sent.set(handle.sendChat(`${i}:${n}`), `${i}:${n}`);
        n++;
        await new Promise((resolve) => setTimeout(resolve, 30));
      }
    });

    const counts = new Map<string, number>();
    const closeCodes = new Map<number, number>();
    let total = 0;
    const TARGET = 10_000;
    // Live attacker sockets only: a cleanup entry per socket would keep thousands of them alive.
    const live = new Set<WebSocket>();
    onCleanup(() => live.forEach((ws) => ws.terminate()));
    const attacker = async (): Promise<void> => {
      while (total < TARGET || Math.min(...KINDS.map((k) => counts.get(k.name) ?? 0)) < MIN_PER_KIND) {
        // The kind sent least so far goes next, so every kind gets its share.
        const least = Math.min(...KINDS.map((k) => counts.get(k.name) ?? 0));
        const kind = pick(
          random,
          KINDS.filter((k) => (counts.get(k.name) ?? 0) === least),
        );
        const frames = kind.frames(random);
        const ws = new WebSocket(`${server.wsUrl}/ws/target`, kind.protocol);
        ws.on('error', () => {});
        live.add(ws);
        const closed = new Promise<void>((resolve) =>
          ws.once('close', (code) => {
            live.delete(ws);
            closeCodes.set(code, (closeCodes.get(code) ?? 0) + 1);
            resolve();
          }),
        );
        const opened = await new Promise<boolean>((resolve) => {
          ws.once('open', () => resolve(true));
          ws.once('close', () => resolve(false));
        });
        if (!opened) continue;
        for (const frame of frames) {
          if (ws.readyState !== ws.OPEN) break;
          ws.send(frame.data, { binary: frame.binary });
          counts.set(kind.name, (counts.get(kind.name) ?? 0) + 1);
          total++;
        }
        // Give the server a moment to answer, then hang up if it has not closed us.
        await Promise.race([closed, new Promise((resolve) => setTimeout(resolve, 20))]);
        ws.terminate();
        await closed;
      }
    };
    await Promise.all(Array.from({ length: 6 }, attacker));
    writing = false;
    await Promise.all(writers);

    const summary = [...counts]
      .sort((a, b) => b[1] - a[1])
      .map(([name, n]) => `  ${name.padEnd(22)} ${n}`)
      .join('\n');
    const codes = [...closeCodes]
      .sort((a, b) => a[0] - b[0])
      .map(([code, n]) => `${code}×${n}`)
      .join(' ');
    console.log(`fuzz (seed ${seed}): ${total} bad frames sent\n${summary}\n  server close codes seen: ${codes}`);
    expect(total).toBeGreaterThanOrEqual(TARGET);
    expect(counts.size).toBe(KINDS.length);

    // The server still serves, and nothing leaked into shared prototypes.
    expect(((await (await fetch(`${server.url}/healthz`)).json()) as { status: string }).status).toBe('ok');
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();

    // Every good client converged with the server, and every chat message was acknowledged, once, in one order.
    const room = server.registry.get('target')!;
    await until(
      () => good.every((h) => h.pendingChat.length === 0 && h.doc.getText('body').toString() === room.doc.getText('body').toString()),
      'good clients converged and acknowledged',
      15_000,
    );
    for (const handle of good) expect(handle.status.state).toBe('open');
    const texts = good[0]!.chat.map((m) => m.text);
    expect(new Set(texts)).toEqual(new Set(sent.values()));
    for (const handle of good) expect(handle.chat.map((m) => m.seq)).toEqual(good[0]!.chat.map((m) => m.seq));

    // Memory returns near where it started once the room has gone.
    for (const handle of good) handle.destroy();
    await until(() => server.registry.size === 0, 'the room unloaded', 10_000);
    const grownMb = ((await heap()) - before) / 1024 / 1024;
    console.log(`fuzz: heap ${grownMb >= 0 ? '+' : ''}${grownMb.toFixed(1)} MB after the run`);
    expect(grownMb).toBeLessThan(12);
  }, 120_000);
});
