import { describe, expect, it } from 'vitest';
import { rawSocket, startServer } from './helpers.js';

describe('/readyz', () => {
  it('passes while the node can take clients, and fails with the reason once it shuts down', async () => {
    const server = await startServer({ shutdownGraceMs: 3_000 });
    const ready = await fetch(`${server.url}/readyz`);
    expect([ready.status, await ready.json()]).toEqual([200, { status: 'pass' }]);
    // A client that does not answer the close keeps the shutdown in its grace period meanwhile.
    const silent = await rawSocket(server.wsUrl, 'r');
    (silent as unknown as { _socket: { pause(): void } })._socket.pause();
    const closing = server.close();
    const during = await fetch(`${server.url}/readyz`);
    expect([during.status, await during.json()]).toEqual([503, { status: 'fail', notes: ['shutting down'] }]);
    await closing;
  });
});
