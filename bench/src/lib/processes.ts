/** The bench's child processes: servers and load generators, their IPC and their CPU. */
import { fork, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { ServerName, Target } from '../targets.js';
import { now } from './histogram.js';
import { cpuSeconds } from './proc.js';

export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** `v8Flags` are for a server process only. */
export function forkTs(file: string, server = false, v8Flags: string[] = []): ChildProcess {
  // BENCH_PROFILE=<dir> writes a V8 CPU profile of every server process there (see the README).
  const profiling = server && process.env.BENCH_PROFILE ? ['--cpu-prof', '--cpu-prof-dir', process.env.BENCH_PROFILE] : [];
  // Servers can be asked for their live memory after a full collection (servers/ready.ts).
  const gc = server ? ['--expose-gc'] : [];
  return fork(fileURLToPath(new URL(`../${file}`, import.meta.url)), [], {
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

export async function startServer(name: ServerName, v8Flags: string[]): Promise<{ child: ChildProcess; port: number }> {
  const child = forkTs(`servers/${name}.ts`, true, v8Flags);
  const { port } = await next<{ type: 'ready'; port: number }>(child, ['ready'], `the ${name} server to start`, 30_000);
  return { child, port };
}

/**
 * Waits until the server has finished the work of setting up (joins, presence, history):
 * its CPU stays under 10% of a core for two half-second samples, or 30 s pass.
 */
export async function settle(server: ChildProcess): Promise<void> {
  const deadline = now() + 30_000;
  let quiet = 0;
  let last = cpuSeconds(server.pid!);
  while (quiet < 2 && now() < deadline) {
    await sleep(500);
    const cpu = cpuSeconds(server.pid!);
    quiet = cpu - last < 0.05 ? quiet + 1 : 0;
    last = cpu;
  }
}

/** Samples server and generator CPU (seconds) at absolute times. */
export function sampleAt(times: number[], pids: () => number[]): Promise<number[][]> {
  return Promise.all(
    times.map(
      (at) =>
        new Promise<number[]>((resolve) =>
          setTimeout(
            () =>
              resolve(
                pids().map((pid) => {
                  try {
                    return cpuSeconds(pid);
                  } catch {
                    return Number.NaN;
                  }
                }),
              ),
            Math.max(0, at - now()),
          ),
        ),
    ),
  );
}

/** CPU seconds the generator processes (every sampled pid after the server's) used in step `s`. */
export function generatorCpuSeconds(cpu: number[][], s: number): number {
  return cpu[s + 1]!.slice(1).reduce((sum, c, i) => sum + c - cpu[s]![i + 1]!, 0);
}

export interface Session {
  server: ChildProcess;
  workers: ChildProcess[];
  base: string;
}

export async function session<T>(
  target: Target,
  workerCount: number,
  body: (s: Session) => Promise<T>,
  v8Flags: string[] = [],
): Promise<T> {
  const { child: server, port } = await startServer(target.server, v8Flags);
  const workers = Array.from({ length: workerCount }, () => forkTs('worker.ts'));
  try {
    return await body({ server, workers, base: `ws://127.0.0.1:${port}${target.path}` });
  } finally {
    await Promise.all([...workers, server].map(stop));
  }
}

export function chunks<T>(items: T[], count: number): T[][] {
  const size = Math.ceil(items.length / count);
  return Array.from({ length: count }, (_, i) => items.slice(i * size, (i + 1) * size));
}
