import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { chownSync, existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { freePort } from './ports.js';

const INSTALL = 'PostgreSQL is needed for this test: install it with `apt-get install postgresql` (the tests start their own server).';

/** The directory of Debian's PostgreSQL binaries (initdb, postgres), newest version first. */
function postgresBin(): string {
  const root = '/usr/lib/postgresql';
  const versions = existsSync(root) ? readdirSync(root).sort((a, b) => Number(b) - Number(a)) : [];
  for (const version of versions) {
    const bin = join(root, version, 'bin');
    if (existsSync(join(bin, 'initdb')) && existsSync(join(bin, 'postgres'))) return bin;
  }
  throw new Error(INSTALL);
}

/**
 * initdb and postgres refuse to run as root: as root, they run as the `postgres` system user
 * (setpriv execs the command itself, so the PID is the server's and stopping it by PID works).
 */
function asPostgres(command: string, args: string[]): [string, string[]] {
  if (process.getuid?.() !== 0) return [command, args];
  return ['setpriv', ['--reuid=postgres', '--regid=postgres', '--init-groups', '--', command, ...args]];
}

export interface PostgresInstance {
  url: string;
  /** Stops the server and keeps its data: `resume()` starts it again on the same port. */
  halt(): Promise<void>;
  resume(): Promise<void>;
  stop(): Promise<void>;
}

/** A PostgreSQL server of its own on a free loopback port, in a temp directory, stopped by PID. */
export async function startPostgres(): Promise<PostgresInstance> {
  const bin = postgresBin();
  const dir = mkdtempSync(join(tmpdir(), 'tandem-pg-'));
  if (process.getuid?.() === 0) {
    const ids = spawnSync('id', ['-u', 'postgres'], { encoding: 'utf8' });
    const gids = spawnSync('id', ['-g', 'postgres'], { encoding: 'utf8' });
    if (ids.status !== 0) throw new Error(`${INSTALL} (no "postgres" system user)`);
    chownSync(dir, Number(ids.stdout), Number(gids.stdout));
  }
  const data = join(dir, 'data');
  const [initdb, initArgs] = asPostgres(join(bin, 'initdb'), ['-D', data, '-A', 'trust', '-U', 'tandem', '-E', 'UTF8', '--no-sync']);
  const init = spawnSync(initdb, initArgs, { encoding: 'utf8' });
  if (init.status !== 0) throw new Error(`initdb failed: ${init.stderr || init.stdout}`);
  const port = await freePort();
  const [postgres, args] = asPostgres(join(bin, 'postgres'), [
    '-D',
    data,
    '-p',
    String(port),
    '-k',
    dir,
    '-c',
    'listen_addresses=127.0.0.1',
    // A test database: durability of PostgreSQL itself is not what these tests check.
    '-c',
    'fsync=off',
    '-c',
    'full_page_writes=off',
  ]);
  const url = `postgres://tandem@127.0.0.1:${port}/postgres`;
  let child: ChildProcess;
  let exited: Promise<void>;
  const launch = async (): Promise<void> => {
    child = spawn(postgres, args, { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr?.on('data', (chunk) => (stderr += chunk));
    exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    const deadline = Date.now() + 20_000;
    for (;;) {
      const client = new pg.Client({ connectionString: url });
      try {
        await client.connect();
        await client.end();
        return;
      } catch {
        await client.end().catch(() => {});
        if (child.exitCode !== null || Date.now() > deadline) {
          child.kill('SIGKILL');
          throw new Error(`PostgreSQL did not start on port ${port}: ${stderr.slice(-500)}`);
        }
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
    }
  };
  // SIGINT is PostgreSQL's fast shutdown: sessions are ended, nothing waits for clients.
  const halt = async (): Promise<void> => {
    if (child.exitCode === null) child.kill('SIGINT');
    const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
    await exited;
    clearTimeout(timer);
  };
  await launch();
  return {
    url,
    halt,
    resume: launch,
    async stop() {
      await halt();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
