import { afterEach, describe, expect, it, vi } from 'vitest';
import { rightFor, type Grants } from '../src/auth/rights.js';
import { TokenBucket } from '../src/lib/token-bucket.js';
import { Pacer, Stretch } from '../src/rooms/pacer.js';
import { Connection } from '../src/rooms/connection.js';
import { roomFromPath } from '../src/transport/gateway.js';
import { FakeSocket } from './fake-socket.js';
import { Throttle } from '../src/transport/throttle.js';

describe('rightFor: the most specific matching pattern wins', () => {
  const grants: Grants = [
    { pattern: '*', right: 'write' },
    { pattern: 'handbook', right: 'read' },
    { pattern: 'doc-*', right: 'comment' },
    { pattern: 'doc-secret-*', right: 'read' },
  ];
  it.each([
    ['anything', 'write'],
    ['handbook', 'read'],
    ['handbooks', 'write'],
    ['doc-1', 'comment'],
    ['doc-secret-plans', 'read'],
    ['doc-', 'comment'],
    ['a.b+c(d)', 'write'],
  ] as const)('%s → %s', (room, right) => {
    expect(rightFor(grants, room)).toBe(right);
  });

  it.each([
    [[{ pattern: 'doc-*', right: 'write' }], 'notes', null],
    [[{ pattern: 'a.c', right: 'write' }], 'abc', null], // regex characters in a pattern are literal
    [[{ pattern: '*-draft', right: 'write' }], 'x-draft', 'write'],
    [[], 'any', null],
  ] as const)('%j for %s → %s', (list, room, right) => {
    expect(rightFor(list, room)).toBe(right);
  });
});

describe('roomFromPath', () => {
  it.each([
    ['/ws/notes', 'notes'],
    ['/ws/notes?token=x', 'notes'],
    ['/ws/Team%20notes', 'Team notes'],
    ['/ws/%E2%9C%93', '✓'],
    ['/ws/' + 'a'.repeat(128), 'a'.repeat(128)],
    ['/ws/' + 'a'.repeat(129), null],
    ['/ws/', null],
    ['/ws', null],
    ['/ws/a/b', null],
    ['/ws/a%2Fb', null], // a slash, once decoded
    ['/ws/a%0Ab', null], // a control character
    ['/ws/%E0%A4%A', null], // not decodable
    ['/other/notes', null],
    [undefined, null],
  ])('%s → %s', (path, room) => {
    expect(roomFromPath(path)).toBe(room);
  });
});

describe('TokenBucket', () => {
  it.each([
    // rate, burst, takes at t=0, then waitMs(amount) asked at time t
    { rate: 10, burst: 20, take: 20, t: 0, amount: 1, wait: 100 },
    { rate: 10, burst: 20, take: 20, t: 100, amount: 1, wait: 0 },
    { rate: 10, burst: 20, take: 25, t: 0, amount: 1, wait: 600 }, // a debt of 5 is paid back first
    { rate: 10, burst: 20, take: 0, t: 0, amount: 50, wait: 0 }, // more than a burst waits for a full bucket only
    { rate: 1000, burst: 1000, take: 1000, t: 500, amount: 500, wait: 0 },
  ])('rate $rate, burst $burst: after taking $take, $amount at t=$t waits $wait ms', ({ rate, burst, take, t, amount, wait }) => {
    const bucket = new TokenBucket(rate, burst, 0);
    if (take > 0) bucket.take(take, 0);
    expect(bucket.waitMs(amount, t)).toBe(wait);
  });

  it('reports a short take and refills to the burst, no further', () => {
    const bucket = new TokenBucket(2, 4, 0);
    expect([bucket.take(3, 0), bucket.take(1, 0), bucket.take(1, 0)]).toEqual([true, true, false]);
    expect(bucket.full(10_000)).toBe(true);
    expect(bucket.take(4, 10_000)).toBe(true);
    expect(bucket.take(1, 10_000)).toBe(false);
  });
});

describe('Pacer (fake clock)', () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  it('flushes a lone change at the end of the turn, and holds the next ones for the interval', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'setImmediate', 'clearImmediate', 'performance'] });
    const flushes: number[] = [];
    const pacer: Pacer = new Pacer(() => {
      flushes.push(performance.now());
      pacer.flushed(50);
    });
    pacer.schedule();
    expect(flushes).toEqual([]); // not synchronously: the rest of the turn joins the batch
    await vi.advanceTimersByTimeAsync(0);
    expect(flushes).toHaveLength(1);
    const first = flushes[0]!;
    pacer.schedule();
    pacer.schedule(); // idempotent while pending
    expect(pacer.held).toBe(true);
    await vi.advanceTimersByTimeAsync(49);
    expect(flushes).toHaveLength(1);
    await vi.advanceTimersByTimeAsync(1);
    expect(flushes.map((at) => at - first)).toEqual([0, 50]);
    // After a quiet spell longer than the interval, the next change goes out at once again.
    await vi.advanceTimersByTimeAsync(200);
    pacer.schedule();
    expect(pacer.held).toBe(false);
    await vi.advanceTimersByTimeAsync(0);
    expect(flushes.map((at) => at - first)).toEqual([0, 50, 250]);
  });

  it('cancels a pending flush', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'setImmediate', 'clearImmediate', 'performance'] });
    let flushed = 0;
    const pacer = new Pacer(() => flushed++);
    pacer.schedule();
    pacer.cancel();
    await vi.advanceTimersByTimeAsync(100);
    expect(flushed).toBe(0);
  });
});

describe('Stretch', () => {
  it.each([
    // (held, items) per flush → factor after each
    { flushes: [[true, 4]], factors: [2] },
    {
      flushes: [
        [true, 4],
        [true, 9],
        [true, 4],
        [true, 4],
      ],
      factors: [2, 4, 4, 4],
    }, // capped at max 4
    {
      flushes: [
        [true, 4],
        [false, 1],
        [false, 1],
      ],
      factors: [2, 1, 1],
    }, // single items halve it back
    { flushes: [[false, 30]], factors: [1] }, // one clump that did not wait: no stretch
    { flushes: [[true, 3]], factors: [1] }, // below busyItems
    {
      flushes: [
        [true, 4],
        [true, 2],
      ],
      factors: [2, 2],
    }, // neither busy nor single: kept
  ])('$flushes → $factors', ({ flushes, factors }) => {
    const stretch = new Stretch(4, 4);
    const seen = flushes.map(([held, items]) => {
      stretch.adapt(held as boolean, items as number);
      return stretch.factor;
    });
    expect(seen).toEqual(factors);
  });
});

describe('Throttle (fake clock)', () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  it('delivers a burst at once, holds the rest in order while the socket is paused, warns once, and drops nothing', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'performance'] });
    const socket = new FakeSocket();
    const conn = new Connection({
      socket,
      address: '127.0.0.1',
      room: 'r',
      identity: { userId: null, name: null, grants: [], expiresAt: null },
      rights: 'write',
      maxBufferedBytes: 1 << 20,
    });
    const delivered: number[] = [];
    // 10 messages a second, bursts of 20.
    const throttle = new Throttle(
      conn,
      { messagesPerSecond: 10, bytesPerSecond: 1 << 20, closeAfterMs: 60_000, maxQueuedBytes: 1 << 20 },
      (data) => delivered.push(data[0]!),
    );
    for (let i = 0; i < 30; i++) throttle.push(Uint8Array.of(i), true);
    expect(delivered).toHaveLength(20);
    expect(socket.paused).toBe(true);
    expect(socket.of('error').filter((m) => m.code === 'rate_limited')).toHaveLength(1);
    await vi.advanceTimersByTimeAsync(500); // five more tokens
    expect(delivered).toHaveLength(25);
    await vi.advanceTimersByTimeAsync(500);
    expect(delivered).toEqual(Array.from({ length: 30 }, (_, i) => i));
    expect(socket.paused).toBe(false);
    throttle.stop();
  });
});
