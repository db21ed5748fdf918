/**
 * `npm run cluster`: a Tandem cluster on this machine to try out (Redis, PostgreSQL, three nodes
 * and nginx in front of them, all on loopback), stopped together by Ctrl-C. The npm script builds
 * first. Not a deployment: for that, see deploy/nginx/tandem.conf and the README.
 *
 *   npm run cluster -- [--port 8080] [--data <dir>]
 */
import { execFile, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { chmodSync, chownSync, closeSync, existsSync, mkdirSync, mkdtempSync, openSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { parseArgs, promisify } from 'node:util';
import { nginxBinary, prepareNginx } from '../deploy/nginx/local.js';

const NODES = 3;
const repoRoot = fileURLToPath(new URL('..', import.meta.url));
const serverMain = join(repoRoot, 'packages', 'server', 'dist', 'main.js');
const run = promisify(execFile);
const isRoot = process.getuid?.() === 0;

/** A problem to report in one line, without a stack trace. */
class Fatal extends Error {}

interface Service {
  name: string;
  child: ChildProcess;
  /** Where its output goes, when not to the terminal. */
  log: string | undefined;
  /** Resolves once the process has ended. */
  exited: Promise<void>;
  stopSignal: NodeJS.Signals;
}

const services: Service[] = [];
/** Removed once everything has stopped. */
const tempDirs: string[] = [];
let started = false;
let stopping = false;

const USAGE = `Usage: npm run cluster -- [--port <port>] [--data <dir>]

  --port  where nginx listens on loopback (default 8080, or CLUSTER_PORT)
  --data  keep the data of Redis and PostgreSQL in <dir> (default: a temp directory, deleted on exit)`;

function options(): { port: number; data: string | undefined } {
  let values;
  try {
    ({ values } = parseArgs({ options: { port: { type: 'string' }, data: { type: 'string' }, help: { type: 'boolean' } } }));
  } catch (error) {
    throw new Fatal(`${(error as Error).message}\n${USAGE}`);
  }
  if (values.help) {
    console.log(USAGE);
    process.exit(0);
  }
  const raw = values.port ?? process.env.CLUSTER_PORT ?? '8080';
  const port = Number(raw);
  if (!Number.isInteger(port) || port < 1 || port > 65535) throw new Fatal(`--port / CLUSTER_PORT: "${raw}" is not a port number`);
  return { port, data: values.data };
}

/** Fails saying what to install unless `command` runs. */
function requireCommand(command: string, debianPackage: string): void {
  if (spawnSync(command, ['--version']).error) {
    throw new Fatal(`${command} is missing: install it with \`apt-get install ${debianPackage}\``);
  }
}

/** The directory of Debian's PostgreSQL binaries, newest version first. */
function postgresBin(): string {
  const root = '/usr/lib/postgresql';
  const versions = existsSync(root) ? readdirSync(root).sort((a, b) => Number(b) - Number(a)) : [];
  const found = versions.map((version) => join(root, version, 'bin')).find((bin) => existsSync(join(bin, 'postgres')));
  if (!found) throw new Fatal('PostgreSQL is missing: install it with `apt-get install postgresql` (its service need not run)');
  return found;
}

/** Binds host:port for a moment: the port it got (0 picks a free one), or the error code. */
function probe(host: string, port: number): Promise<number | string> {
  return new Promise((resolvePort) => {
    const server = createServer();
    server.once('error', (error: NodeJS.ErrnoException) => resolvePort(error.code ?? 'error'));
    server.listen(port, host, () => {
      const { port: bound } = server.address() as { port: number };
      server.close(() => resolvePort(bound));
    });
  });
}

async function freePort(): Promise<number> {
  const port = await probe('127.0.0.1', 0);
  if (typeof port !== 'number') throw new Fatal(`cannot bind a loopback port (${port})`);
  return port;
}

/** Where nginx listens: 127.0.0.1 and, where the machine has IPv6 loopback, [::1] (browsers try both for localhost). */
async function nginxListen(port: number): Promise<string[]> {
  const listen: string[] = [];
  for (const [host, address] of [
    ['127.0.0.1', '127.0.0.1'],
    ['::1', '[::1]'],
  ] as const) {
    const result = await probe(host, port);
    if (result === 'EADDRINUSE') {
      throw new Fatal(`port ${port} is taken (on ${address}): stop what uses it, or pick another with --port <port> or CLUSTER_PORT`);
    }
    if (result === 'EACCES') throw new Fatal(`port ${port} needs root: pick one above 1023 with --port <port>`);
    if (typeof result === 'number') listen.push(`${address}:${port}`);
    else if (host === '127.0.0.1') throw new Fatal(`cannot listen on 127.0.0.1:${port} (${result})`);
  }
  return listen;
}

/** As root, PostgreSQL runs as the `postgres` user (initdb and postgres refuse root); setpriv execs, so the PID stays the server's. */
function asPostgres(command: string, args: string[]): [string, string[]] {
  return isRoot ? ['setpriv', ['--reuid=postgres', '--regid=postgres', '--init-groups', '--', command, ...args]] : [command, args];
}

/** Prints a child's output lines with its name in front; Tandem's JSON log lines as level and message. */
function relay(name: string, stream: NodeJS.ReadableStream | null): void {
  if (!stream) return;
  const levels: Record<number, string> = { 10: 'TRACE', 20: 'DEBUG', 30: 'INFO', 40: 'WARN', 50: 'ERROR', 60: 'FATAL' };
  createInterface({ input: stream }).on('line', (line) => {
    let text = line;
    try {
      const entry = JSON.parse(line) as { level?: number; msg?: string; err?: { message?: string } };
      text = `${levels[entry.level ?? 30] ?? entry.level} ${entry.msg ?? ''}${entry.err?.message ? `: ${entry.err.message}` : ''}`;
    } catch {
      // not a JSON log line: as it is
    }
    console.log(`${name.padEnd(8)} │ ${text}`);
  });
}

/**
 * Starts a child in a process group of its own, so that Ctrl-C reaches only this script, which
 * stops the children in order (nodes before the Redis and PostgreSQL they store into).
 * `log`: a file for its output (Redis and PostgreSQL are chatty); otherwise it is relayed.
 */
function launch(
  name: string,
  command: string,
  args: string[],
  how: { env?: NodeJS.ProcessEnv; log?: string; stopSignal?: NodeJS.Signals },
): Service {
  if (stopping) throw new Fatal('stopped while starting');
  const out = how.log === undefined ? 'pipe' : openSync(how.log, 'a');
  const child = spawn(command, args, { cwd: repoRoot, env: how.env ?? process.env, stdio: ['ignore', out, out], detached: true });
  if (typeof out === 'number') closeSync(out);
  relay(name, child.stdout);
  relay(name, child.stderr);
  const service: Service = {
    name,
    child,
    log: how.log,
    exited: new Promise((done) => child.once('exit', () => done())),
    stopSignal: how.stopSignal ?? 'SIGTERM',
  };
  services.push(service);
  child.once('error', (error) => console.error(`${name}: ${error.message}`));
  child.once('exit', (code, signal) => {
    if (stopping) return;
    const outcome = code === null ? String(signal) : `code ${code}`;
    if (started && name.startsWith('node ')) {
      console.log(`${name} exited (${outcome}); the other nodes keep serving. Ctrl-C stops the rest.`);
      return;
    }
    console.error(`${name} exited (${outcome})${lastLines(how.log)}`);
    void shutdown(1);
  });
  return service;
}

/** Waits until `ready()` holds (a service that exits meanwhile stops the cluster, see launch). */
async function waitFor(service: Service, ready: () => Promise<boolean>): Promise<void> {
  const deadline = Date.now() + 30_000;
  while (!(await ready().catch(() => false))) {
    if (stopping) throw new Fatal('stopped while starting');
    if (Date.now() > deadline) throw new Fatal(`${service.name} was not ready after 30 s${lastLines(service.log)}`);
    await new Promise((resolveWait) => setTimeout(resolveWait, 200));
  }
}

const httpReady = (url: string) => async (): Promise<boolean> => (await fetch(url, { signal: AbortSignal.timeout(2_000) })).ok;

/** The end of a log file, to show with a failure. */
function lastLines(file: string | undefined): string {
  const text = file !== undefined && existsSync(file) ? readFileSync(file, 'utf8').trimEnd() : '';
  return text === '' ? '' : `; the end of ${file}:\n${text.split('\n').slice(-15).join('\n')}`;
}

async function startRedis(dir: string): Promise<string> {
  const port = await freePort();
  console.log(`starting Redis on 127.0.0.1:${port} …`);
  mkdirSync(dir, { recursive: true });
  const log = join(dir, 'redis.log');
  // The append-only file, flushed every second: what a node acknowledges survives a Redis restart.
  const args = ['--port', String(port), '--bind', '127.0.0.1', '--dir', dir, '--appendonly', 'yes', '--appendfsync', 'everysec'];
  const redis = launch('redis', 'redis-server', [...args, '--save', '', '--daemonize', 'no'], { log });
  const pong = async (): Promise<boolean> => (await run('redis-cli', ['-p', String(port), 'ping'])).stdout.trim() === 'PONG';
  await waitFor(redis, pong);
  return `redis://127.0.0.1:${port}`;
}

async function startPostgres(bin: string, dir: string): Promise<string> {
  const port = await freePort();
  console.log(`starting PostgreSQL on 127.0.0.1:${port} …`);
  mkdirSync(dir, { recursive: true });
  if (isRoot) {
    const id = (flag: string): number => Number(spawnSync('id', [flag, 'postgres'], { encoding: 'utf8' }).stdout);
    if (spawnSync('id', ['postgres']).status !== 0) throw new Fatal('as root, PostgreSQL runs as the "postgres" user, which is missing');
    chownSync(dir, id('-u'), id('-g'));
  }
  const data = join(dir, 'data');
  const log = join(dir, 'postgres.log');
  if (!existsSync(join(data, 'PG_VERSION'))) {
    const [initdb, initArgs] = asPostgres(join(bin, 'initdb'), ['-D', data, '-A', 'trust', '-U', 'tandem', '-E', 'UTF8']);
    const init = spawnSync(initdb, initArgs, { encoding: 'utf8' });
    if (init.status !== 0) {
      const reach = isRoot ? ' (as root it runs as the postgres user, who must be able to enter every directory above it)' : '';
      throw new Fatal(`initdb failed in ${data}${reach}:\n${init.stderr || init.stdout}`);
    }
  }
  const args = ['-D', data, '-p', String(port), '-k', dir, '-c', 'listen_addresses=127.0.0.1'];
  const [postgres, asUser] = asPostgres(join(bin, 'postgres'), args);
  // SIGINT is PostgreSQL's fast shutdown: it ends the sessions instead of waiting for them.
  const server = launch('postgres', postgres, asUser, { log, stopSignal: 'SIGINT' });
  const ready = async (): Promise<boolean> => {
    await run(join(bin, 'pg_isready'), ['-q', '-h', '127.0.0.1', '-p', String(port)]);
    return true;
  };
  await waitFor(server, ready);
  return `postgres://tandem@127.0.0.1:${port}/postgres`;
}

async function startNode(index: number, redisUrl: string, databaseUrl: string): Promise<number> {
  const port = await freePort();
  const env = {
    ...process.env,
    PORT: String(port),
    HOST: '127.0.0.1',
    REDIS_URL: redisUrl,
    DATABASE_URL: databaseUrl,
    // nginx reaches the nodes over loopback: the per-address limits count the browser it names in X-Forwarded-For.
    TRUST_PROXY: 'loopback',
    LOG_LEVEL: process.env.LOG_LEVEL ?? 'info',
  };
  const node = launch(`node ${index}`, process.execPath, [serverMain], { env });
  await waitFor(node, httpReady(`http://127.0.0.1:${port}/readyz`));
  console.log(`node ${index} on :${port}`);
  return port;
}

async function stop(service: Service): Promise<void> {
  const { child } = service;
  if (child.exitCode === null && child.signalCode === null) child.kill(service.stopSignal);
  const timer = setTimeout(() => {
    console.error(`${service.name} did not stop within 20 s: killing it`);
    child.kill('SIGKILL');
  }, 20_000);
  await service.exited;
  clearTimeout(timer);
}

/** Stops nginx, then the nodes (they store what they hold), then Redis and PostgreSQL; removes the temp directory. */
async function shutdown(code: number): Promise<never> {
  if (stopping) return new Promise<never>(() => {});
  stopping = true;
  if (services.length > 0) console.log('stopping …');
  const group = (match: (name: string) => boolean) => Promise.all(services.filter((s) => match(s.name)).map(stop));
  await group((name) => name === 'nginx');
  await group((name) => name.startsWith('node '));
  await group((name) => name === 'redis' || name === 'postgres');
  for (const dir of tempDirs) rmSync(dir, { recursive: true, force: true });
  if (services.length > 0) console.log('stopped');
  process.exit(code);
}

async function main(): Promise<void> {
  const { port, data } = options();
  requireCommand('redis-server', 'redis-server');
  requireCommand('redis-cli', 'redis-tools');
  const postgresBinaries = postgresBin();
  const nginx = nginxBinary();
  if (!existsSync(serverMain)) throw new Fatal(`${serverMain} is missing: run \`npm run build\` first (\`npm run cluster\` does)`);
  const listen = await nginxListen(port);

  // npm runs scripts at the repository root; a relative --data is meant from where it was typed.
  const dir = data === undefined ? mkdtempSync(join(tmpdir(), 'tandem-cluster-')) : resolve(process.env.INIT_CWD ?? '', data);
  if (data === undefined) {
    // The postgres user (when run as root) must get through to its directory inside.
    chmodSync(dir, 0o711);
    tempDirs.push(dir);
    console.log(`data in ${dir} (deleted on exit; --data <dir> keeps it)`);
  } else {
    mkdirSync(dir, { recursive: true });
    console.log(`data in ${dir} (kept)`);
  }
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.on(signal, () => void shutdown(0));

  const redisUrl = await startRedis(join(dir, 'redis'));
  const databaseUrl = await startPostgres(postgresBinaries, join(dir, 'postgres'));
  console.log(`starting ${NODES} Tandem nodes …`);
  const nodes: Array<{ host: string; port: number }> = [];
  for (let i = 1; i <= NODES; i++) nodes.push({ host: '127.0.0.1', port: await startNode(i, redisUrl, databaseUrl) });

  const { prefix, args } = prepareNginx({ listen, nodes });
  tempDirs.push(prefix);
  const proxy = launch('nginx', nginx, args, {});
  await waitFor(proxy, httpReady(`http://127.0.0.1:${port}/readyz`));
  started = true;
  console.log(`nginx on http://localhost:${port} — open it in two browsers (Ctrl-C stops everything)`);
}

// A crash of this script must not leave the children running.
process.on('exit', () => {
  for (const { child } of services) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
});

main().catch((error: unknown) => {
  // Once stopping, whatever failed was the stop's doing, or was reported when its process exited.
  if (stopping) return;
  console.error(error instanceof Fatal ? `cluster: ${error.message}` : error);
  void shutdown(1);
});
