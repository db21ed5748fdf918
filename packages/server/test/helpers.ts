import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { connect, type ConnectOptions, type RoomHandle, type WebSocketLike } from '@tandem/client';
import { afterEach } from 'vitest';
import WebSocket from 'ws';
import { makeConfig, startTandem, type ConfigInput, type StartOptions, type TandemServer } from '../src/index.js';

const cleanups: Array<() => unknown> = [];

/** Runs registered cleanups (newest first) after every test, even a failed one. */
afterEach(async () => {
  while (cleanups.length > 0) await cleanups.pop()?.();
});

export function onCleanup(fn: () => unknown): void {
  cleanups.push(fn);
}

export function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'tandem-test-'));
  onCleanup(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

export interface TestServer extends TandemServer {
  wsUrl: string;
  dataDir: string;
}

/** A real server on port 0 with its own SQLite directory, closed after the test. */
export async function startServer(config: ConfigInput = {}, options: StartOptions = {}): Promise<TestServer> {
  const dataDir = config.dataDir ?? tempDir();
  const server = await startTandem(makeConfig({ port: 0, host: '127.0.0.1', logLevel: 'silent', ...config, dataDir }), options);
  onCleanup(() => server.close());
  return Object.assign(server, { wsUrl: server.url.replace('http', 'ws'), dataDir });
}

/** An SDK client over a real `ws` socket, closed after the test. */
export function client(url: string, room: string, options: ConnectOptions = {}): RoomHandle {
  const handle = connect(url, room, { WebSocket, backoff: { baseMs: 50, capMs: 500 }, ...options });
  onCleanup(() => handle.destroy());
  return handle;
}

/** A joined SDK client whose document has synced. */
export async function member(url: string, room: string, name: string, options: ConnectOptions = {}): Promise<RoomHandle> {
  const handle = client(url, room, { name, ...options });
  await Promise.all([handle.whenSynced(), handle.whenJoined()]);
  return handle;
}

/**
 * Resolves when `check` returns true, re-checking whenever `handle` reports a change (or every
 * 20 ms when no handle is given); rejects with `what` after the timeout.
 */
export function until(check: () => boolean, what: string, timeoutMs = 5_000, handle?: RoomHandle): Promise<void> {
  return new Promise((resolve, reject) => {
    if (check()) return resolve();
    const timer = setTimeout(() => {
      stop();
      reject(new Error(`timed out after ${timeoutMs} ms waiting for: ${what}`));
    }, timeoutMs);
    const poll = handle ? null : setInterval(() => check() && finish(), 20);
    const onChange = (): void => {
      if (check()) finish();
    };
    handle?.on('change', onChange);
    function stop(): void {
      clearTimeout(timer);
      if (poll) clearInterval(poll);
      handle?.off('change', onChange);
    }
    function finish(): void {
      stop();
      resolve();
    }
  });
}

/** A `ws` WebSocket class for the SDK that keeps every socket it opens (to cut or count them). */
export function trackedWebSocket(): { WebSocket: WebSocketLike; sockets: WebSocket[] } {
  const sockets: WebSocket[] = [];
  class Tracked extends WebSocket {
    constructor(url: string, protocols?: string | string[]) {
      super(url, protocols);
      sockets.push(this);
    }
  }
  return { WebSocket: Tracked, sockets };
}

/** Resolves with the next value an emitter passes to `event`. */
export function next<T>(emitter: { once(event: string, fn: (value: T) => void): unknown }, event: string): Promise<T> {
  return new Promise((resolve) => emitter.once(event, resolve));
}

/** A raw `ws` socket to a room (`room` may end in a `?query`): for speaking the protocol by hand. */
export async function rawSocket(
  wsUrl: string,
  room: string,
  protocols?: string | string[],
  options?: WebSocket.ClientOptions,
): Promise<WebSocket> {
  const [name = '', query] = room.split('?');
  const ws = new WebSocket(`${wsUrl}/ws/${encodeURIComponent(name)}${query === undefined ? '' : `?${query}`}`, protocols, options);
  ws.on('error', () => {});
  onCleanup(() => ws.terminate());
  await new Promise<void>((resolve, reject) => {
    ws.once('open', () => resolve());
    ws.once('error', reject);
  });
  return ws;
}

/** A socket expected to be refused at the handshake (read it with 'unexpected-response'). */
export function refusedSocket(url: string, protocols?: string | string[]): WebSocket {
  const ws = new WebSocket(url, protocols);
  ws.on('error', () => {});
  onCleanup(() => ws.terminate());
  return ws;
}

/** Opens a WebSocket expected to be refused at the handshake; resolves with the HTTP answer. */
export function refusal(
  url: string,
  protocols?: string | string[],
  options?: WebSocket.ClientOptions,
): Promise<{ status: number; body: { error?: string }; headers: Record<string, string | string[] | undefined> }> {
  const ws = new WebSocket(url, protocols, options);
  ws.on('error', () => {});
  onCleanup(() => ws.terminate());
  return new Promise((resolve, reject) => {
    ws.once('open', () => reject(new Error(`expected ${url} to be refused, but it opened`)));
    ws.on('unexpected-response', (_req, res) => {
      let body = '';
      res.on('data', (chunk) => (body += chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: JSON.parse(body || '{}'), headers: res.headers }));
    });
  });
}

/** Collects the JSON control messages a raw socket receives. */
export function controlMessages(ws: WebSocket): Array<Record<string, any>> {
  const messages: Array<Record<string, any>> = [];
  ws.on('message', (data, isBinary) => {
    if (!isBinary) messages.push(JSON.parse(data.toString()));
  });
  return messages;
}

export function closeEvent(ws: WebSocket): Promise<{ code: number; reason: string }> {
  return new Promise((resolve) => ws.once('close', (code, reason) => resolve({ code, reason: reason.toString() })));
}

const repoRoot = fileURLToPath(new URL('../../../', import.meta.url));

export interface ServerProcess {
  child: ChildProcess;
  port: number;
  url: string;
  wsUrl: string;
  /** Resolves with the exit code once the process has ended. */
  exited: Promise<number | null>;
  /** The log lines (JSON) written so far. */
  log: Array<Record<string, any>>;
  stop(signal?: NodeJS.Signals): Promise<number | null>;
}

/** Runs the real CLI (`main.ts`) in a child process and waits until it listens. */
export async function spawnServer(args: string[], env: Record<string, string> = {}): Promise<ServerProcess> {
  const child = spawn(process.execPath, ['--conditions=@tandem/source', '--import', 'tsx', 'packages/server/src/main.ts', ...args], {
    cwd: repoRoot,
    env: { ...process.env, LOG_LEVEL: 'info', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  onCleanup(async () => {
    if (child.exitCode === null) child.kill('SIGKILL');
    await exited;
  });
  let stderr = '';
  child.stderr?.on('data', (chunk) => (stderr += chunk));
  const log: Array<Record<string, any>> = [];
  const port = await new Promise<number>((resolve, reject) => {
    const lines = createInterface({ input: child.stdout! });
    lines.on('line', (line) => {
      try {
        const entry = JSON.parse(line);
        log.push(entry);
        if (entry.msg?.startsWith('Tandem listening')) resolve(entry.port);
      } catch {
        // not a log line
      }
    });
    exited.then((code) => reject(new Error(`server exited with ${code} before listening:\n${stderr}`)));
  });
  return {
    child,
    port,
    url: `http://127.0.0.1:${port}`,
    wsUrl: `ws://127.0.0.1:${port}`,
    exited,
    log,
    async stop(signal = 'SIGTERM') {
      if (child.exitCode === null) child.kill(signal);
      return exited;
    },
  };
}
