import { SUBPROTOCOL } from '@tandem/protocol';
import { describe, expect, it } from 'vitest';
import type WebSocket from 'ws';
import { SqliteStorage } from '../src/index.js';
import { closeEvent, controlMessages, member, onCleanup, rawSocket, startServer, tempDir, until, type TestServer } from './helpers.js';

/** Connects, joins as `name`, waits for the welcome and closes: one join/leave cycle. */
async function visit(server: TestServer, room: string, name: string): Promise<void> {
  const ws: WebSocket = await rawSocket(server.wsUrl, room, SUBPROTOCOL);
  const received = controlMessages(ws);
  ws.send(JSON.stringify({ type: 'join', name }));
  await until(() => received.some((m) => m.type === 'welcome'), `${name} welcomed`);
  const closed = closeEvent(ws);
  ws.close();
  await closed;
}

async function storedActivity(server: TestServer, room: string) {
  await server.close(); // flushes everything queued
  const storage = new SqliteStorage(server.dataDir);
  onCleanup(() => storage.close());
  return storage.readActivity(room, 0, 100_000);
}

describe('activity retention', () => {
  it(
    'records at most ACTIVITY_PER_MINUTE_PER_IP joins (and their leaves) from one address, and still lets everyone in',
    { timeout: 30_000 },
    async () => {
      // 6 a minute: one more every 10 s, far longer than the 30 visits take.
      const server = await startServer({ activityPerMinute: 6, leaveGraceMs: 0, handshakesPerSecondPerIp: 1_000 });
      for (let i = 0; i < 30; i++) await visit(server, 'flood', `Visitor ${i}`);
      const entries = await storedActivity(server, 'flood');
      // 6 joins and their 6 leaves; the other 24 visitors were welcomed but not recorded.
      expect(entries.filter((e) => e.kind === 'join')).toHaveLength(6);
      expect(entries.filter((e) => e.kind === 'leave')).toHaveLength(6);
    },
  );

  it('keeps only the newest ACTIVITY_RETENTION entries of a room', { timeout: 30_000 }, async () => {
    const server = await startServer({
      activityRetention: 50,
      activityPerMinute: 100_000,
      leaveGraceMs: 0,
      handshakesPerSecondPerIp: 1_000,
    });
    for (let i = 0; i < 40; i++) await visit(server, 'long', `Visitor ${i}`);
    const entries = await storedActivity(server, 'long');
    expect(entries.map((e) => e.seq)).toEqual(Array.from({ length: 50 }, (_, i) => 80 - 49 + i));
  });

  it('records neither the leave nor the return of someone who comes back within LEAVE_GRACE_MS', { timeout: 30_000 }, async () => {
    const server = await startServer({ leaveGraceMs: 2_000, dataDir: tempDir() });
    const watcher = await member(server.wsUrl, 'blips', 'Watcher');
    for (let i = 0; i < 10; i++) await visit(server, 'blips', 'Flaky');
    await until(() => watcher.activity.some((e) => e.kind === 'leave'), 'the last leave, after the grace', 5_000, watcher);
    expect(watcher.activity.map((e) => `${e.member.name} ${e.kind}`)).toEqual(['Watcher join', 'Flaky join', 'Flaky leave']);
  });
});
