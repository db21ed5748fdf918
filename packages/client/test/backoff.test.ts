import { describe, expect, it } from 'vitest';
import { backoffDelay, DEFAULT_BACKOFF } from '../src/index.js';
import { contiguousSeq, dropAfter, mergeBySeq } from '../src/history.js';

describe('backoff', () => {
  it('doubles the ceiling per attempt up to the cap, with full jitter below it', () => {
    const options = { baseMs: 500, capMs: 30_000, stableMs: 0 };
    expect([0, 1, 2, 3, 10].map((attempt) => backoffDelay(attempt, options, () => 0.999999))).toEqual([499, 999, 1999, 3999, 29999]);
    expect(backoffDelay(5, options, () => 0)).toBe(0);
    expect(backoffDelay(1_000, options, () => 0.5)).toBe(15_000);
  });

  it('with the defaults, never waits longer than the cap however many attempts failed', () => {
    const ceilings = Array.from({ length: 40 }, (_, attempt) => backoffDelay(attempt, DEFAULT_BACKOFF, () => 0.999999) + 1);
    expect(ceilings.every((ceiling, i) => i === 0 || ceiling >= ceilings[i - 1]!)).toBe(true);
    expect(Math.max(...ceilings)).toBe(DEFAULT_BACKOFF.capMs);
    expect(ceilings[0]).toBe(DEFAULT_BACKOFF.baseMs);
  });
});

describe('history merging', () => {
  const e = (seq: number, id = `id-${seq}`) => ({ seq, id });
  const same = (a: { id: string }, b: { id: string }) => a.id === b.id;
  const seqs = (list: Array<{ seq: number }>) => list.map((x) => x.seq);

  it('merges by seq without duplicates and keeps the newest entries', () => {
    const merged = mergeBySeq([e(1), e(3)], [e(2), e(3), e(4)], 10, same);
    expect(seqs(merged.list)).toEqual([1, 2, 3, 4]);
    expect(seqs(merged.added)).toEqual([2, 4]);
    expect(seqs(mergeBySeq([e(1), e(2), e(3)], [e(0), e(4)], 2, same).list)).toEqual([3, 4]);
  });

  it('lets an incoming entry replace a different one held at its seq', () => {
    const merged = mergeBySeq([e(1), e(2, 'lost')], [e(2, 'real'), e(3)], 10, same);
    expect(merged.list.map((x) => x.id)).toEqual(['id-1', 'real', 'id-3']);
    expect(merged.added.map((x) => x.id)).toEqual(['real', 'id-3']);
  });

  it('drops entries newer than the server holds', () => {
    expect(seqs(dropAfter([e(1), e(2), e(5)], 2))).toEqual([1, 2]);
    const list = [e(1), e(2)];
    expect(dropAfter(list, 2)).toBe(list);
  });

  it('finds how far a log is complete', () => {
    expect(contiguousSeq([e(1), e(2), e(4)], 0)).toBe(2);
    expect(contiguousSeq([e(5), e(6)], 4)).toBe(6);
    expect(contiguousSeq([e(7)], 4)).toBe(4);
  });
});

describe('history merging fast paths', () => {
  const e = (seq: number) => ({ seq });
  const same = () => true;

  it('appends a newer live entry in place and advances the mark by one', () => {
    const list = [e(1), e(2)];
    const merged = mergeBySeq(list, [e(3)], 10, same);
    expect(merged.list).toBe(list);
    expect(merged.list.map((x) => x.seq)).toEqual([1, 2, 3]);
    expect(contiguousSeq(merged.list, 2)).toBe(3);
    expect(mergeBySeq([e(1), e(2), e(3), e(4)], [e(5)], 3, same).list.map((x) => x.seq)).toEqual([3, 4, 5]);
  });

  it('does not advance over a gap', () => {
    expect(contiguousSeq([e(1), e(3)], 1)).toBe(1);
    expect(contiguousSeq([e(5)], 3)).toBe(3);
  });
});
