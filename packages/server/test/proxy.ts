import { createServer, connect, type Socket } from 'node:net';
import { onCleanup } from './helpers.js';

export interface SwitchableProxy {
  port: number;
  url: string;
  /** New connections go to this port from now on. */
  pointTo(port: number): void;
  /** Cuts every open connection; with `refuse`, new ones are closed at once until `accept()`. */
  cut(options?: { refuse?: boolean }): void;
  accept(): void;
}

/**
 * A TCP proxy on a loopback port whose target can be switched: a client behind it reconnects to
 * another node, as it would through a load balancer when its node dies.
 */
export async function switchableProxy(targetPort: number): Promise<SwitchableProxy> {
  let target = targetPort;
  let refusing = false;
  const open = new Set<Socket>();
  const server = createServer((socket) => {
    if (refusing) {
      socket.destroy();
      return;
    }
    const upstream = connect(target, '127.0.0.1');
    for (const [a, b] of [
      [socket, upstream],
      [upstream, socket],
    ] as const) {
      open.add(a);
      a.on('error', () => b.destroy());
      a.on('close', () => {
        open.delete(a);
        b.destroy();
      });
      a.pipe(b);
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  onCleanup(
    () =>
      new Promise<void>((resolve) => {
        for (const socket of open) socket.destroy();
        server.close(() => resolve());
      }),
  );
  return {
    port,
    url: `ws://127.0.0.1:${port}`,
    pointTo(port) {
      target = port;
    },
    cut({ refuse = false } = {}) {
      refusing = refuse;
      for (const socket of open) socket.destroy();
    },
    accept() {
      refusing = false;
    },
  };
}
