import { spawn } from 'node:child_process';
import { rmSync } from 'node:fs';
import { connect } from 'node:net';
import { nginxBinary, prepareNginx } from '../../../deploy/nginx/local.js';
import { freePort } from './ports.js';

export interface NginxInstance {
  port: number;
  /** http://127.0.0.1:<port> */
  url: string;
  /** ws://127.0.0.1:<port> */
  wsUrl: string;
  /** What nginx wrote to its error log (stderr) so far. */
  errors(): string;
  stop(): Promise<void>;
}

/** Whether something accepts connections on the loopback port. */
function accepting(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

/**
 * nginx from the repository's config (deploy/nginx/tandem.conf) on a free loopback port in front
 * of `nodes`, with its files in a temp prefix directory; stopped by PID.
 */
export async function startNginx(nodes: ReadonlyArray<{ host: string; port: number }>): Promise<NginxInstance> {
  const port = await freePort();
  const nginx = await runNginx(prepareNginx({ listen: [`127.0.0.1:${port}`], nodes }), port);
  return { ...nginx, port, url: `http://127.0.0.1:${port}`, wsUrl: `ws://127.0.0.1:${port}` };
}

/** nginx in the foreground from a prepared prefix (see deploy/nginx/local.ts), once it accepts connections on `port`. */
export async function runNginx(
  { prefix, args }: { prefix: string; args: string[] },
  port: number,
): Promise<Pick<NginxInstance, 'errors' | 'stop'>> {
  const child = spawn(nginxBinary(), args, { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr?.on('data', (chunk) => (stderr += chunk));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const stop = async (): Promise<void> => {
    // SIGTERM is nginx's fast shutdown: the master stops its workers and exits.
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
    await exited;
    clearTimeout(timer);
    rmSync(prefix, { recursive: true, force: true });
  };
  const deadline = Date.now() + 10_000;
  while (!(await accepting(port))) {
    if (child.exitCode !== null || child.signalCode !== null || Date.now() > deadline) {
      await stop();
      throw new Error(`nginx did not start on port ${port}: ${stderr.slice(-1000)}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return { errors: () => stderr, stop };
}
