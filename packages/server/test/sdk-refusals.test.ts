import { SignJWT } from 'jose';
import { describe, expect, it } from 'vitest';
import { client, member, startServer, trackedWebSocket, until } from './helpers.js';

const SECRET = 'a-test-secret-that-is-long-enough-0123';

function token(rooms: Record<string, string>, expiresIn: string | number = '1h'): Promise<string> {
  return new SignJWT({ name: 'Reader', rooms })
    .setProtectedHeader({ alg: 'HS256' })
    .setSubject('u-reader')
    .setIssuedAt()
    .setExpirationTime(expiresIn)
    .sign(new TextEncoder().encode(SECRET));
}

describe('SDK refusals that retrying cannot fix', () => {
  it('stops with token_expired instead of retrying forever with a fixed token that has expired', async () => {
    const server = await startServer({ auth: 'jwt', jwtSecret: SECRET });
    const expired = await token({ '*': 'write' }, Math.floor(Date.now() / 1000) - 60);
    const counting = trackedWebSocket();
    const handle = client(server.wsUrl, 'r', { name: 'Late', token: expired, WebSocket: counting.WebSocket });
    const errors: string[] = [];
    handle.on('error', (error) => errors.push(error.code));
    await until(() => handle.status.state === 'closed', 'the handle gives up', 5_000, handle);
    expect(handle.status).toMatchObject({ state: 'closed', code: 'token_expired', reason: expect.stringMatching(/expired/) });
    expect(errors).toContain('token_expired');
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(counting.sockets).toHaveLength(0);
  });

  it('drops a chat message the server forbids instead of keeping and re-sending it', async () => {
    const server = await startServer({ auth: 'jwt', jwtSecret: SECRET });
    const { WebSocket: Tracked, sockets } = trackedWebSocket();
    const reader = client(server.wsUrl, 'handbook', { name: 'Reader', token: await token({ handbook: 'read' }), WebSocket: Tracked });
    await reader.whenJoined();
    const refused = new Promise<{ code: string; ref?: string }>((resolve) => reader.once('error', resolve));
    const id = reader.sendChat('may I?');
    expect(await refused).toMatchObject({ code: 'forbidden', ref: id });
    expect(reader.pendingChat).toEqual([]);
    // After a reconnect nothing is re-sent: a watcher sees no chat and no second refusal comes.
    const errors: string[] = [];
    reader.on('error', (error) => errors.push(error.code));
    sockets.at(-1)!.terminate();
    await until(() => sockets.length === 2 && reader.status.state === 'open', 'the reader reconnected', 5_000, reader);
    await reader.whenJoined();
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(errors).toEqual([]);
    expect(reader.chat).toEqual([]);
  });

  it("undoes local edits without edit rights, so the document equals the server's", async () => {
    const server = await startServer({ auth: 'jwt', jwtSecret: SECRET });
    const writerToken = await new SignJWT({ name: 'Writer', rooms: { '*': 'write' } })
      .setProtectedHeader({ alg: 'HS256' })
      .setSubject('u-writer')
      .setExpirationTime('1h')
      .sign(new TextEncoder().encode(SECRET));
    const writer = await member(server.wsUrl, 'guide', 'Writer', { token: writerToken });
    writer.doc.getText('t').insert(0, 'server text');
    const reader = await member(server.wsUrl, 'guide', 'Reader', { token: await token({ guide: 'read' }) });
    await until(() => reader.doc.getText('t').toString() === 'server text', 'the text at the reader', 5_000, reader);
    const errors: string[] = [];
    reader.on('error', (error) => errors.push(error.code));

    reader.doc.getText('t').insert(0, 'sneaky ');
    await until(() => reader.doc.getText('t').toString() === 'server text', 'the insertion undone', 5_000);
    expect(errors).toEqual(['read_only']);
    expect(reader.diverged).toBe(false);
    // Later edits of the writer still land at the reader: the two documents stay the same.
    writer.doc.getText('t').insert(0, 'more ');
    await until(() => reader.doc.getText('t').toString() === 'more server text', "the writer's edit at the reader", 5_000);
    expect(server.registry.get('guide')!.doc.getText('t').toString()).toBe('more server text');

    // A deletion of the writer's text cannot be undone in Yjs: the handle says so.
    reader.doc.getText('t').delete(0, 5);
    await until(() => reader.diverged, 'the reader marked as diverged', 5_000, reader);
    expect(server.registry.get('guide')!.doc.getText('t').toString()).toBe('more server text');
  });

  it("takes the server's word for a seq: replaces a different entry held there, drops entries the server no longer has", async () => {
    const server = await startServer();
    const { WebSocket: Tracked, sockets } = trackedWebSocket();
    const alice = client(server.wsUrl, 'seqs', { name: 'Alice', WebSocket: Tracked });
    await alice.whenJoined();
    alice.sendChat('first');
    await until(() => alice.chat.length === 1, 'the first message', 5_000, alice);
    // What a client holds after a server lost entries it had sent (a crash before they were
    // stored, in a version that acknowledged early): forged here through the handle's socket.
    const forged = (seq: number, id: string) => ({ type: 'chat', message: { seq, id, author: alice.me!, text: `forged ${seq}`, time: 1 } });
    sockets.at(-1)!.emit('message', Buffer.from(JSON.stringify(forged(2, 'lost-2'))), false);
    expect(alice.chat.map((m) => m.text)).toEqual(['first', 'forged 2']);
    const bob = await member(server.wsUrl, 'seqs', 'Bob');
    bob.sendChat('the real second');
    await until(() => alice.chat[1]?.text === 'the real second', "the server's entry at seq 2", 5_000, alice);

    sockets.at(-1)!.emit('message', Buffer.from(JSON.stringify(forged(7, 'lost-7'))), false);
    expect(alice.chat.map((m) => m.seq)).toEqual([1, 2, 7]);
    sockets.at(-1)!.terminate();
    await until(() => sockets.length === 2 && alice.status.state === 'open', 'Alice reconnected', 5_000, alice);
    await until(() => alice.chat.length === 2, 'the entry the server does not have dropped', 5_000, alice);
    bob.sendChat('third');
    await until(() => alice.chat.length === 3 && bob.chat.length === 3, 'the third message at both', 5_000);
    expect(alice.chat.map((m) => [m.seq, m.text])).toEqual([
      [1, 'first'],
      [2, 'the real second'],
      [3, 'third'],
    ]);
    expect(alice.chat).toEqual(bob.chat);
  });

  it('says why a handshake was refused and stops when retrying cannot help: a bad token, no rights, a wrong path', async () => {
    const server = await startServer({ auth: 'jwt', jwtSecret: SECRET });
    const cases = [
      { url: server.wsUrl, room: 'r', token: 'not-a-jwt', code: 'unauthorized', status: 401 },
      { url: server.wsUrl, room: 'secret', token: await token({ public: 'write' }), code: 'forbidden', status: 403 },
      { url: `${server.wsUrl}/not-tandem`, room: 'r', token: await token({ '*': 'write' }), code: 'not_found', status: 404 },
    ];
    for (const { url, room, token: given, code, status } of cases) {
      const counting = trackedWebSocket();
      const handle = client(url, room, { name: 'Refused', token: given, WebSocket: counting.WebSocket });
      const errors: string[] = [];
      handle.on('error', (error) => errors.push(error.code));
      await until(() => handle.status.state === 'closed', `the handle gives up (${code})`, 5_000, handle);
      expect(handle.status).toMatchObject({ state: 'closed', code, error: { status, code, message: expect.any(String) } });
      await new Promise((resolve) => setTimeout(resolve, 300));
      expect(errors).toEqual([code]);
      expect(counting.sockets, `one attempt only (${code})`).toHaveLength(1);
    }
  });

  it('keeps retrying a full room, saying why, and gets in once there is room', async () => {
    const server = await startServer({ maxConnectionsPerRoom: 1 });
    const first = await member(server.wsUrl, 'small', 'First');
    const second = client(server.wsUrl, 'small', { name: 'Second' });
    await until(
      () => second.status.state === 'reconnecting' && second.status.error?.code === 'room_full',
      'the second is told the room is full',
      5_000,
      second,
    );
    expect(second.status.state === 'reconnecting' && second.status.error?.message).toContain('is full');
    first.destroy();
    await until(() => second.status.state === 'open', 'the second gets in', 10_000, second);
  });

  it('answers GET /ws/<room> with what a handshake would get, readable from any origin', async () => {
    const server = await startServer({ auth: 'jwt', jwtSecret: SECRET });
    const refused = await fetch(`${server.url}/ws/room`, { headers: { origin: 'https://elsewhere.example' } });
    expect(refused.status).toBe(403);
    expect(refused.headers.get('access-control-allow-origin')).toBe('*');
    expect(await refused.json()).toEqual({ error: expect.stringContaining('https://elsewhere.example'), code: 'origin_not_allowed' });
    const noToken = await fetch(`${server.url}/ws/room`);
    expect(noToken.status).toBe(401);
    const ok = await fetch(`${server.url}/ws/room?token=${await token({ room: 'read' })}`);
    expect(await ok.json()).toEqual({ ok: true });
  });

  it('takes a server URL with or without /ws, and refuses one that already names a room', async () => {
    const server = await startServer();
    const viaWs = await member(`${server.wsUrl}/ws`, 'paths', 'Slash');
    expect(viaWs.url).toBe(`${server.wsUrl}/ws/paths`);
    expect(() => client(`${server.wsUrl}/ws/paths`, 'paths')).toThrow(/already names a room/);
  });
});
