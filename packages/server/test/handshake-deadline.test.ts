import { connect as tcpConnect, type Socket } from 'node:net';
import { describe, expect, it } from 'vitest';
import { onCleanup, rawSocket, refusal, startServer, until } from './helpers.js';

/** A TCP connection that sends the start of an upgrade request and never finishes its headers. */
async function halfOpenUpgrade(port: number): Promise<Socket> {
  const socket = tcpConnect(port, '127.0.0.1');
  socket.on('error', () => {});
  socket.resume(); // read, so the server's 408 and close are seen
  onCleanup(() => socket.destroy());
  await new Promise<void>((resolve) => socket.once('connect', () => resolve()));
  socket.write('GET /ws/room HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\n');
  return socket;
}

describe('handshake deadline', () => {
  it('closes an upgrade request whose headers do not arrive within HANDSHAKE_TIMEOUT_MS', async () => {
    const server = await startServer({ handshakeTimeoutMs: 1_000 });
    const socket = await halfOpenUpgrade(server.port);
    let closed = false;
    socket.once('close', () => (closed = true));
    // Node's defaults held such a socket for 60 to 90 s.
    await until(() => closed, 'the half-open handshake closed', 5_000);
  });

  it('counts open handshakes against the per-address connection limit', async () => {
    const server = await startServer({ handshakeTimeoutMs: 1_000, maxConnectionsPerIp: 3 });
    const stalled = await Promise.all([1, 2, 3].map(() => halfOpenUpgrade(server.port)));
    const refused = await refusal(`${server.wsUrl}/ws/room`);
    expect(refused.status).toBe(429);
    expect(refused.body.error).toMatch(/3 connections open already/);
    // Once the deadline has closed them, the address may connect again.
    let closed = 0;
    for (const socket of stalled) socket.once('close', () => closed++);
    await until(() => closed === 3, 'the stalled handshakes closed', 5_000);
    const ws = await rawSocket(server.wsUrl, 'room');
    expect(ws.readyState).toBe(ws.OPEN);
  });

  it('does not count plain HTTP requests as handshakes', async () => {
    const server = await startServer({ maxConnectionsPerIp: 2 });
    // Three keep-alive requests in parallel: three sockets that asked for a page, not an upgrade.
    await Promise.all([1, 2, 3].map(() => fetch(`${server.url}/healthz`)));
    const first = await rawSocket(server.wsUrl, 'room');
    const second = await rawSocket(server.wsUrl, 'room');
    expect([first.readyState, second.readyState]).toEqual([first.OPEN, second.OPEN]);
    expect((await refusal(`${server.wsUrl}/ws/room`)).status).toBe(429);
  });
});
