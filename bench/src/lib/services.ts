/**
 * A private redis-server and PostgreSQL for the cluster targets, each on a free loopback port in a
 * temp directory of its own, stopped by PID. Adapted from packages/server/test/{redis,postgres}.ts
 * (the bench does not import the server's tests).
 */
import { execFile, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { chownSync, closeSync, existsSync, mkdtempSync, openSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { connect, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { promisify } from 'node:util';
import { now } from './histogram.js';

const run = promisify(execFile);
const INSTALL_REDIS = 'redis-server not found: the cluster targets start their own; install redis-server (apt-get install redis-server)';
const INSTALL_POSTGRES = 'PostgreSQL not found: the tandem-cluster target starts its own; install postgresql (apt-get install postgresql)';

export interface Service {
  url: string;
  /** The server's process (PostgreSQL's postmaster: its backends are its children). */
  pid: number;
  stop(): Promise<void>;
}

/** Fails at once, before any case runs, when a cluster target's servers are not installed. */
export function requireServices(postgres: boolean): void {
  if (spawnSync('redis-server', ['--version']).error) throw new Error(`${INSTALL_REDIS}, or leave the cluster targets out with --targets`);
  if (postgres) postgresBin();
}

/** A TCP port that was free on loopback a moment ago (for servers that cannot take port 0). */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

/**
 * Starts a server whose output goes to `log`, polls `ready` until it holds (failing with the end
 * of the log if the server exits or 20 s pass) and returns it with `stop`: `signal` to its PID,
 * SIGKILL if it is still there 10 s later, then its directory removed.
 */
async function launch(
  name: string,
  [command, args]: [string, string[]],
  dir: string,
  log: string,
  ready: () => Promise<boolean>,
  signal: NodeJS.Signals,
): Promise<Omit<Service, 'url'>> {
  const output = openSync(log, 'w');
  const child: ChildProcess = spawn(command, args, { stdio: ['ignore', output, output] });
  closeSync(output);
  let failure: Error | null = null;
  child.once('error', (error) => (failure = error));
  const exited = new Promise<void>((resolve) => child.once('close', () => resolve()));
  const deadline = now() + 20_000;
  while (!(await ready())) {
    if (failure || child.exitCode !== null || now() > deadline) {
      child.kill('SIGKILL');
      const output = readFileSync(log, 'utf8').slice(-500);
      rmSync(dir, { recursive: true, force: true });
      throw new Error(`${name} did not start: ${failure ?? output}`);
    }
    await sleep(50);
  }
  return {
    pid: child.pid!,
    async stop() {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
      await exited;
      clearTimeout(timer);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

function redisPing(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    const done = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(1_000, () => done(false));
    socket.once('error', () => done(false));
    socket.once('connect', () => socket.write('PING\r\n'));
    socket.once('data', (data) => done(data.toString().startsWith('+PONG')));
  });
}

/** A redis-server with no persistence (no snapshots, no append-only file): the nodes use it as a message log and bus. */
export async function startRedis(): Promise<Service> {
  if (spawnSync('redis-server', ['--version']).error) throw new Error(INSTALL_REDIS);
  const dir = mkdtempSync(join(tmpdir(), 'tandem-bench-redis-'));
  const port = await freePort();
  const log = join(dir, 'log');
  const args = ['--port', String(port), '--bind', '127.0.0.1', '--dir', dir, '--save', '', '--appendonly', 'no', '--daemonize', 'no'];
  const server = await launch(`redis-server on port ${port}`, ['redis-server', args], dir, log, () => redisPing(port), 'SIGTERM');
  return { url: `redis://127.0.0.1:${port}`, ...server };
}

/** The directory of Debian's PostgreSQL binaries (initdb, postgres, pg_isready), newest version first. */
function postgresBin(): string {
  const root = '/usr/lib/postgresql';
  const versions = existsSync(root) ? readdirSync(root).sort((a, b) => Number(b) - Number(a)) : [];
  for (const version of versions) {
    const bin = join(root, version, 'bin');
    if (['initdb', 'postgres', 'pg_isready'].every((file) => existsSync(join(bin, file)))) return bin;
  }
  throw new Error(INSTALL_POSTGRES);
}

/**
 * initdb and postgres refuse to run as root: as root, they run as the `postgres` system user
 * (setpriv execs the command itself, so the PID is the postmaster's and stopping it by PID works).
 */
function asPostgres(command: string, args: string[]): [string, string[]] {
  if (process.getuid?.() !== 0) return [command, args];
  return ['setpriv', ['--reuid=postgres', '--regid=postgres', '--init-groups', '--', command, ...args]];
}

/** A PostgreSQL server with its default settings (durability included), user `tandem`, trusted on loopback. */
export async function startPostgres(): Promise<Service> {
  const bin = postgresBin();
  const dir = mkdtempSync(join(tmpdir(), 'tandem-bench-pg-'));
  if (process.getuid?.() === 0) {
    const uid = spawnSync('id', ['-u', 'postgres'], { encoding: 'utf8' });
    const gid = spawnSync('id', ['-g', 'postgres'], { encoding: 'utf8' });
    if (uid.status !== 0) throw new Error(`${INSTALL_POSTGRES} (no "postgres" system user)`);
    chownSync(dir, Number(uid.stdout), Number(gid.stdout));
  }
  const data = join(dir, 'data');
  // --no-sync: only initdb's own writes skip fsync; the server below runs with fsync on.
  const [initdb, initArgs] = asPostgres(join(bin, 'initdb'), ['-D', data, '-A', 'trust', '-U', 'tandem', '-E', 'UTF8', '--no-sync']);
  const init = spawnSync(initdb, initArgs, { encoding: 'utf8' });
  if (init.status !== 0) throw new Error(`initdb failed: ${init.stderr || init.stdout}`);
  const port = await freePort();
  const log = join(dir, 'log');
  const command = asPostgres(join(bin, 'postgres'), ['-D', data, '-p', String(port), '-k', dir, '-c', 'listen_addresses=127.0.0.1']);
  const isReady = () =>
    run(join(bin, 'pg_isready'), ['-q', '-h', '127.0.0.1', '-p', String(port), '-U', 'tandem', '-d', 'postgres']).then(
      () => true,
      () => false,
    );
  // SIGINT is PostgreSQL's fast shutdown: sessions are ended, nothing waits for clients.
  const server = await launch(`PostgreSQL on port ${port}`, command, dir, log, isReady, 'SIGINT');
  return { url: `postgres://tandem@127.0.0.1:${port}/postgres`, ...server };
}
