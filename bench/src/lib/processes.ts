/** The bench's child processes: servers and load generators, their IPC and their CPU. */
import { fork, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { ServerName, Target } from '../targets.js';
import { now } from './histogram.js';
import { cpuSeconds, treeCpuSeconds } from './proc.js';
import { startPostgres, startRedis, type Service } from './services.js';

export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** `v8Flags` are for a server process only; `args` are the script's own. */
export function forkTs(file: string, server = false, v8Flags: string[] = [], args: string[] = []): ChildProcess {
  // BENCH_PROFILE=<dir> writes a V8 CPU profile of every server process there (see the README).
  const profiling = server && process.env.BENCH_PROFILE ? ['--cpu-prof', '--cpu-prof-dir', process.env.BENCH_PROFILE] : [];
  // Servers can be asked for their live memory after a full collection (servers/ready.ts).
  const gc = server ? ['--expose-gc'] : [];
  return fork(fileURLToPath(new URL(`../${file}`, import.meta.url)), args, {
    execArgv: ['--import', 'tsx', ...gc, ...v8Flags, ...profiling],
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
}

export function exited(child: ChildProcess): Promise<void> {
  return child.exitCode !== null || child.signalCode !== null
    ? Promise.resolve()
    : new Promise((resolve) => child.once('exit', () => resolve()));
}

export async function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 3_000);
  await exited(child);
  clearTimeout(timer);
}

/** The next IPC message of one of `types` from a child, failing if it exits or takes too long. */
export function next<T extends { type: string }>(child: ChildProcess, types: string[], what: string, timeoutMs = 300_000): Promise<T> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => done(new Error(`timed out after ${timeoutMs / 1000} s waiting for ${what}`)), timeoutMs);
    const onMessage = (message: T) => types.includes(message.type) && done(null, message);
    const onExit = (code: number | null) => done(new Error(`${what}: the process exited (${code}) first`));
    child.on('message', onMessage);
    child.once('exit', onExit);
    function done(error: Error | null, message?: T) {
      clearTimeout(timer);
      child.off('message', onMessage);
      child.off('exit', onExit);
      if (error) reject(error);
      else resolve(message!);
    }
  });
}

export async function startServer(
  name: ServerName,
  v8Flags: string[],
  args: string[] = [],
): Promise<{ child: ChildProcess; port: number }> {
  const child = forkTs(`servers/${name}.ts`, true, v8Flags, args);
  try {
    const { port } = await next<{ type: 'ready'; port: number }>(child, ['ready'], `the ${name} server to start`, 30_000);
    return { child, port };
  } catch (error) {
    await stop(child);
    throw error;
  }
}

/** The server side's processes: the nodes, and a cluster target's redis-server and PostgreSQL postmaster. */
export interface ServerSide {
  nodes: number[];
  services: number[];
}

/**
 * CPU seconds the server side has used so far. A node is read alone (its one child is tsx's
 * esbuild helper, not the server's work); a service with its descendants (PostgreSQL's backends).
 */
export function serverCpuSeconds({ nodes, services }: ServerSide): number {
  return nodes.reduce((sum, pid) => sum + cpuSeconds(pid), 0) + services.reduce((sum, pid) => sum + treeCpuSeconds(pid), 0);
}

/**
 * Waits until the server side has finished the work of setting up (joins, presence, history):
 * its CPU, summed over its processes, stays under 10% of a core for two half-second samples, or 30 s pass.
 */
export async function settle(side: ServerSide): Promise<void> {
  const deadline = now() + 30_000;
  let quiet = 0;
  let last = serverCpuSeconds(side);
  while (quiet < 2 && now() < deadline) {
    await sleep(500);
    const cpu = serverCpuSeconds(side);
    quiet = cpu - last < 0.05 ? quiet + 1 : 0;
    last = cpu;
  }
}

/** CPU seconds used so far by the server side and by the load generators, each summed over its processes. */
export interface CpuReading {
  server: number;
  generators: number;
}

/** Reads server-side and generator CPU at absolute times. */
export function sampleAt(times: number[], side: ServerSide, generatorPids: number[]): Promise<CpuReading[]> {
  const read = (): CpuReading => {
    try {
      return { server: serverCpuSeconds(side), generators: generatorPids.reduce((sum, pid) => sum + cpuSeconds(pid), 0) };
    } catch {
      return { server: Number.NaN, generators: Number.NaN }; // a process has exited
    }
  };
  return Promise.all(times.map((at) => new Promise<CpuReading>((resolve) => setTimeout(() => resolve(read()), Math.max(0, at - now())))));
}

/** CPU seconds one side used in step `s` (between readings s and s + 1). */
export const cpuInStep = (cpu: CpuReading[], s: number, side: keyof CpuReading): number => cpu[s + 1]![side] - cpu[s]![side];

export interface Session {
  /** The server, or a cluster target's first node, and the URL its clients are given. */
  server: ChildProcess;
  base: string;
  /** The URL of every node: one, or a cluster target's two. */
  bases: string[];
  serverSide: ServerSide;
  workers: ChildProcess[];
}

/** How many nodes a cluster target runs. */
const CLUSTER_NODES = 2;

export async function session<T>(
  target: Target,
  workerCount: number,
  body: (s: Session) => Promise<T>,
  v8Flags: string[] = [],
): Promise<T> {
  // Stopped in reverse: load generators, then nodes, then the Redis and PostgreSQL they use.
  const services: Service[] = [];
  const nodes: ChildProcess[] = [];
  const bases: string[] = [];
  const workers: ChildProcess[] = [];
  try {
    const args: string[] = [];
    if (target.cluster) {
      const redis = await startRedis();
      services.push(redis);
      args.push('--redis-url', redis.url);
      if (target.cluster.postgres) {
        const postgres = await startPostgres();
        services.push(postgres);
        args.push('--database-url', postgres.url);
      }
    }
    for (let i = 0; i < (target.cluster ? CLUSTER_NODES : 1); i++) {
      const { child, port } = await startServer(target.server, v8Flags, args);
      nodes.push(child);
      bases.push(`ws://127.0.0.1:${port}${target.path}`);
    }
    workers.push(...Array.from({ length: workerCount }, () => forkTs('worker.ts')));
    const serverSide = { nodes: nodes.map((n) => n.pid!), services: services.map((s) => s.pid) };
    return await body({ server: nodes[0]!, base: bases[0]!, bases, serverSide, workers });
  } finally {
    await Promise.all(workers.map(stop));
    await Promise.all(nodes.map(stop));
    await Promise.all(services.map((s) => s.stop()));
  }
}

export function chunks<T>(items: T[], count: number): T[][] {
  const size = Math.ceil(items.length / count);
  return Array.from({ length: count }, (_, i) => items.slice(i * size, (i + 1) * size));
}
