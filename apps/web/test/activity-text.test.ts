import { describe, expect, it } from 'vitest';
import { describeActivity } from '../src/activity-text.js';

describe('activity in words', () => {
  const member = { id: '1', name: 'Alice', color: '#000000' };
  const admin = { id: 'admin', name: 'An administrator', color: '#64748b' };

  it.each([
    [{ seq: 1, time: 0, kind: 'join' as const, member }, 'Alice joined'],
    [{ seq: 2, time: 0, kind: 'leave' as const, member }, 'Alice left'],
    [{ seq: 3, time: 0, kind: 'rename' as const, member, previousName: 'Al' }, 'Al is now Alice'],
    [{ seq: 4, time: 0, kind: 'rename' as const, member }, 'Someone is now Alice'],
    [
      { seq: 5, time: 0, kind: 'admin' as const, member: admin, action: 'disconnect' as const, target: member },
      'An administrator disconnected Alice',
    ],
    [{ seq: 6, time: 0, kind: 'admin' as const, member: admin, action: 'close' as const }, 'An administrator closed the room'],
    [
      { seq: 7, time: 0, kind: 'restore' as const, member, version: { id: 3, time: 0, name: 'Draft' } },
      'Alice restored the version “Draft”',
    ],
  ])('%o reads "%s"', (entry, text) => {
    expect(describeActivity(entry)).toBe(text);
  });
});
