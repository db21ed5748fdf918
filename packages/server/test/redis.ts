import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { freePort } from './ports.js';

const INSTALL = 'Redis is needed for this test: install it with `apt-get install redis-server` (the tests start their own server).';

export interface RedisInstance {
  url: string;
  port: number;
  /** Stops it (SIGKILL with `crash`: no final save) and starts it again on the same port and directory. */
  restart(options?: { crash?: boolean }): Promise<void>;
  /** Stops it, keeping its directory, until `resume()`. */
  halt(): Promise<void>;
  resume(): Promise<void>;
  stop(): Promise<void>;
}

/**
 * A redis-server of its own on a free loopback port, in a temp directory, stopped by PID.
 * `appendonly`: with the append-only file (fsync every write), so a restart keeps the data;
 * without it (and without snapshots) a restart starts empty.
 */
export async function startRedis(options: { appendonly?: boolean } = {}): Promise<RedisInstance> {
  if (spawnSync('redis-server', ['--version']).error) throw new Error(INSTALL);
  const dir = mkdtempSync(join(tmpdir(), 'tandem-redis-'));
  const port = await freePort();
  const args = ['--port', String(port), '--bind', '127.0.0.1', '--dir', dir, '--save', '', '--daemonize', 'no'];
  if (options.appendonly) args.push('--appendonly', 'yes', '--appendfsync', 'always');
  else args.push('--appendonly', 'no');
  const url = `redis://127.0.0.1:${port}`;
  let child: ChildProcess;
  let exited: Promise<void>;

  const launch = async (): Promise<void> => {
    child = spawn('redis-server', args, { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr?.on('data', (chunk) => (stderr += chunk));
    exited = new Promise((resolve) => child.once('exit', () => resolve()));
    const deadline = Date.now() + 10_000;
    for (;;) {
      const probe = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
      probe.on('error', () => {});
      try {
        await probe.connect();
        await probe.ping();
        probe.disconnect();
        return;
      } catch {
        probe.disconnect();
        if (child.exitCode !== null || Date.now() > deadline) {
          child.kill('SIGKILL');
          throw new Error(`redis-server did not start on port ${port}: ${stderr.slice(-500)}`);
        }
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
    }
  };
  const halt = async (signal: NodeJS.Signals): Promise<void> => {
    if (child.exitCode === null && child.signalCode === null) child.kill(signal);
    await exited;
  };

  await launch();
  return {
    url,
    port,
    async restart({ crash = false } = {}) {
      await halt(crash ? 'SIGKILL' : 'SIGTERM');
      await launch();
    },
    halt: () => halt('SIGTERM'),
    resume: launch,
    async stop() {
      await halt('SIGKILL');
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
