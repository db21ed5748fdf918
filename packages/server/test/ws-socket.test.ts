import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import { afterEach, describe, expect, it } from 'vitest';
import { WebSocket, WebSocketServer } from 'ws';
import { WsSocket } from '../src/transport/ws-socket.js';

const servers: WebSocketServer[] = [];
afterEach(async () => {
  for (const wss of servers.splice(0)) {
    for (const ws of wss.clients) ws.terminate();
    await new Promise((resolve) => wss.close(resolve));
  }
});

/** A real loopback WebSocket pair: the server side (with its stream) and the client. */
async function pair(): Promise<{ server: WebSocket; stream: Duplex; client: WebSocket }> {
  const wss = new WebSocketServer({ port: 0, host: '127.0.0.1' });
  servers.push(wss);
  await new Promise((resolve) => wss.once('listening', resolve));
  const accepted = new Promise<{ server: WebSocket; stream: Duplex }>((resolve) =>
    wss.once('connection', (server, req) => resolve({ server, stream: req.socket })),
  );
  const client = new WebSocket(`ws://127.0.0.1:${(wss.address() as AddressInfo).port}`);
  await new Promise((resolve, reject) => client.once('open', resolve).once('error', reject));
  return { ...(await accepted), client };
}

/** Counts the writes a stream hands to the kernel. */
function countWrites(stream: Duplex): () => number {
  let writes = 0;
  const internals = stream as unknown as { _write: (...a: unknown[]) => void; _writev: (...a: unknown[]) => void };
  const write = internals._write.bind(stream);
  const writev = internals._writev.bind(stream);
  internals._write = (...a) => {
    writes++;
    write(...a);
  };
  internals._writev = (...a) => {
    writes++;
    writev(...a);
  };
  return () => writes;
}

describe('WsSocket', () => {
  it('sends the frames of one callback to a socket in one write, in order', async () => {
    const { server, stream, client } = await pair();
    const socket = new WsSocket(server, stream);
    const writes = countWrites(stream);
    const received: string[] = [];
    const all = new Promise<void>((resolve) => client.on('message', (data) => received.push(String(data)) === 4 && resolve()));
    socket.sendText(new TextEncoder().encode('{"type":"a"}'));
    socket.send(new Uint8Array([1, 2, 3]));
    socket.send('plain text');
    socket.sendText(new TextEncoder().encode('{"type":"b"}'));
    expect(writes()).toBe(0);
    await all;
    expect(writes()).toBe(1);
    expect(received).toEqual(['{"type":"a"}', '\u0001\u0002\u0003', 'plain text', '{"type":"b"}']);

    // A later callback is a new write.
    socket.send('again');
    await new Promise((resolve) => client.once('message', resolve));
    expect(writes()).toBe(2);
  });

  it('sends nothing once the socket has closed', async () => {
    const { server, stream, client } = await pair();
    const socket = new WsSocket(server, stream);
    const closed = new Promise((resolve) => client.once('close', resolve));
    socket.close(1000, 'bye');
    await closed;
    expect(() => socket.send('late')).not.toThrow();
    expect(server.readyState).not.toBe(WebSocket.OPEN);
  });
});
