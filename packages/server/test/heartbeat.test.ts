import { SUBPROTOCOL } from '@tandem/protocol';
import { describe, expect, it } from 'vitest';
import { closeEvent, member, rawSocket, startServer, until } from './helpers.js';

describe('heartbeat', () => {
  it('drops a client that stops answering pings and tells the room it left', async () => {
    const server = await startServer({ pingIntervalMs: 150 });
    const alice = await member(server.wsUrl, 'beat', 'Alice');
    const silent = await rawSocket(server.wsUrl, 'beat', SUBPROTOCOL, { autoPong: false });
    silent.send(JSON.stringify({ type: 'join', name: 'Silent' }));
    await until(() => alice.members.length === 2, 'Silent joined', 5_000, alice);
    const closed = closeEvent(silent);
    // Terminated without a close frame: the client sees an abnormal closure.
    expect((await closed).code).toBe(1006);
    await until(() => alice.activity.some((e) => e.kind === 'leave' && e.member.name === 'Silent'), '"Silent left"', 5_000, alice);
    expect(alice.members.map((m) => m.name)).toEqual(['Alice']);
    // A client that answers pings stays.
    expect(alice.status.state).toBe('open');
  });
});
