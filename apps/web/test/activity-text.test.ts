import { describe, expect, it } from 'vitest';
import { describeActivity } from '../src/activity-text.js';

describe('activity in words', () => {
  const member = { id: '1', name: 'Alice', color: '#000000' };

  it.each([
    [{ seq: 1, time: 0, kind: 'join' as const, member }, 'Alice joined'],
    [{ seq: 2, time: 0, kind: 'leave' as const, member }, 'Alice left'],
    [{ seq: 3, time: 0, kind: 'rename' as const, member, previousName: 'Al' }, 'Al is now Alice'],
    [{ seq: 4, time: 0, kind: 'rename' as const, member }, 'Someone is now Alice'],
  ])('%o reads "%s"', (entry, text) => {
    expect(describeActivity(entry)).toBe(text);
  });
});
