import { RESUME_PAGE, SUBPROTOCOL } from '@tandem/protocol';
import { describe, expect, it } from 'vitest';
import { client, controlMessages, member, rawSocket, startServer, trackedWebSocket, until } from './helpers.js';

describe('resume', () => {
  it('returns exactly the entries after the given sequence numbers', async () => {
    const server = await startServer();
    const author = await member(server.wsUrl, 'log', 'Author');
    for (let i = 1; i <= 10; i++) author.sendChat(`m${i}`);
    await until(() => author.chat.length === 10, 'ten messages confirmed', 5_000, author);
    const ws = await rawSocket(server.wsUrl, 'log', SUBPROTOCOL);
    const received = controlMessages(ws);
    ws.send(JSON.stringify({ type: 'join', name: 'Reader' }));
    ws.send(JSON.stringify({ type: 'resume', chatSeq: 7, activitySeq: 1 }));
    await until(() => received.some((m) => m.type === 'resumed'), 'the resumed answer');
    const resumed = received.find((m) => m.type === 'resumed')!;
    expect(resumed.chat.map((m: { text: string }) => m.text)).toEqual(['m8', 'm9', 'm10']);
    expect(resumed.activity.map((e: { kind: string; member: { name: string } }) => `${e.member.name} ${e.kind}`)).toEqual(['Reader join']);
    expect(resumed.complete).toBe(true);
  });

  it('pages through storage when more was missed than memory holds', async () => {
    const server = await startServer();
    const ws = await rawSocket(server.wsUrl, 'long', SUBPROTOCOL);
    const received = controlMessages(ws);
    ws.send(JSON.stringify({ type: 'join', name: 'Chatty' }));
    const total = RESUME_PAGE + 100;
    for (let i = 1; i <= total; i++) ws.send(JSON.stringify({ type: 'chat', id: `c${i}`, text: `n${i}` }));
    await until(() => received.filter((m) => m.type === 'chat').length === total, `${total} acknowledgements`);
    ws.send(JSON.stringify({ type: 'resume', chatSeq: 0, activitySeq: 0 }));
    await until(() => received.some((m) => m.type === 'resumed'), 'the first page');
    const first = received.find((m) => m.type === 'resumed')!;
    expect(first.chat).toHaveLength(RESUME_PAGE);
    expect(first.complete).toBe(false);
    ws.send(JSON.stringify({ type: 'resume', chatSeq: RESUME_PAGE, activitySeq: 1 }));
    await until(() => received.filter((m) => m.type === 'resumed').length === 2, 'the second page');
    const second = received.filter((m) => m.type === 'resumed')[1]!;
    expect(second.chat.map((m: { seq: number }) => m.seq)).toEqual(Array.from({ length: 100 }, (_, i) => RESUME_PAGE + 1 + i));
    expect(second.complete).toBe(true);
  });

  it('lets a reconnecting SDK client catch up on everything it missed, without gaps or duplicates', async () => {
    const server = await startServer();
    const { WebSocket: TrackedWebSocket, sockets } = trackedWebSocket();
    const alice = client(server.wsUrl, 'gap', { name: 'Alice', WebSocket: TrackedWebSocket, backoff: { baseMs: 200 } });
    await alice.whenJoined();
    const bob = await member(server.wsUrl, 'gap', 'Bob');
    bob.sendChat('before');
    await until(() => alice.chat.length === 1, 'the first message at Alice', 5_000, alice);
    // Cut Alice's connection; while she is away Bob writes more than a welcome carries.
    sockets.at(-1)!.terminate();
    for (let i = 1; i <= 80; i++) bob.sendChat(`while away ${i}`);
    await until(() => alice.chat.length === 81 && bob.chat.length === 81 && alice.status.state === 'open', 'Alice caught up', 10_000);
    expect(alice.chat.map((m) => m.seq)).toEqual(Array.from({ length: 81 }, (_, i) => i + 1));
    expect(alice.chat).toEqual(bob.chat);
    expect(sockets.length).toBeGreaterThan(1);
  });
});
