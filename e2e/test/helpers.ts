/**
 * The e2e harness: the real server binary (packages/server/dist/main.js) serving the built web
 * app, driven by Debian's Chromium through playwright-core. Everything a test starts is
 * registered for cleanup, which runs after every test even when it failed; a failed test also
 * leaves screenshots of its pages in e2e/artifacts/failures/ and prints the server's last log
 * lines and the console errors collected so far.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { chromium, type Browser, type BrowserContext, type Locator, type Page } from 'playwright-core';
import { afterEach, expect } from 'vitest';
import { escapeRegExp } from './page-text.js';
import { WAIT_MS } from './waits.js';

export const repoRoot = fileURLToPath(new URL('../../', import.meta.url));
export const artifactsDir = join(repoRoot, 'e2e', 'artifacts');
const serverMain = join(repoRoot, 'packages', 'server', 'dist', 'main.js');
const webIndex = join(repoRoot, 'apps', 'web', 'dist', 'index.html');
export const CHROMIUM_PATH = '/usr/bin/chromium';

export { LONG_WAIT_MS, WAIT_MS } from './waits.js';

// ---------------------------------------------------------------------------------------------
// Cleanup

const cleanups: Array<() => unknown> = [];
const onFailure: Array<(slug: string) => unknown> = [];

afterEach(async (context) => {
  const failed = context.task.result?.state === 'fail';
  const failures = onFailure.splice(0);
  const slug = context.task.name
    .replace(/[^a-z0-9]+/gi, '-')
    .replace(/^-|-$/g, '')
    .toLowerCase()
    .slice(0, 60);
  // Screenshots of an earlier failed run of this test would only mislead.
  const failuresDir = join(artifactsDir, 'failures');
  if (existsSync(failuresDir)) {
    for (const file of readdirSync(failuresDir)) if (file.startsWith(`${slug}-`)) rmSync(join(failuresDir, file), { force: true });
  }
  if (failed) {
    for (const report of failures) {
      try {
        await report(slug);
      } catch {
        // best effort: a crashed page cannot be screenshotted, which is fine
      }
    }
  }
  const errors: unknown[] = [];
  while (cleanups.length > 0) {
    try {
      await cleanups.pop()?.();
    } catch (error) {
      errors.push(error);
    }
  }
  if (errors.length > 0) throw new AggregateError(errors, 'e2e cleanup failed');
});

/** Runs `fn` after the current test (newest first), whether it passed or not. */
export function onCleanup(fn: () => unknown): void {
  cleanups.push(fn);
}

export function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'tandem-e2e-'));
  onCleanup(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

// ---------------------------------------------------------------------------------------------
// Preconditions

/** Fails with the command to run when the server or the web app has not been built. */
export function requireBuild(): void {
  const missing = [serverMain, webIndex].filter((file) => !existsSync(file));
  if (missing.length > 0) {
    throw new Error(`e2e: ${missing.join(' and ')} missing — run npm run build first (at the repository root)`);
  }
}

/** Fails (never skips) when the system Chromium is absent: the suite never downloads browsers. */
export function requireChromium(): void {
  if (!existsSync(CHROMIUM_PATH)) {
    throw new Error(`e2e: Chromium not found at ${CHROMIUM_PATH} — install it with: apt-get install chromium`);
  }
}

// ---------------------------------------------------------------------------------------------
// Server

export interface Server {
  port: number;
  /** http://127.0.0.1:<port> */
  url: string;
  dataDir: string;
  /** The last log lines (stdout and stderr) of every run, for failure reports. */
  log: string[];
  /** SIGTERM (by default) and wait for the exit code. */
  stop(signal?: NodeJS.Signals): Promise<number | null>;
  /** Starts the server again on the same port and data directory (after stop()). */
  restart(): Promise<void>;
  running(): boolean;
}

interface Run {
  child: ChildProcess;
  exited: Promise<number | null>;
}

function spawnRun(args: string[], log: string[], adminToken: string | undefined): { run: Run; port: Promise<number> } {
  const child = spawn(process.execPath, [serverMain, ...args], {
    cwd: repoRoot,
    // ADMIN_TOKEN only when the test asks for it (undefined drops one inherited from this shell).
    env: { ...process.env, LOG_LEVEL: 'info', ADMIN_TOKEN: adminToken },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const remember = (line: string): void => {
    log.push(line);
    if (log.length > 200) log.shift();
  };
  createInterface({ input: child.stderr! }).on('line', (line) => remember(`[stderr] ${line}`));
  const port = new Promise<number>((resolve, reject) => {
    createInterface({ input: child.stdout! }).on('line', (line) => {
      remember(line);
      try {
        const entry = JSON.parse(line) as { msg?: unknown; port?: unknown };
        if (typeof entry.msg === 'string' && entry.msg.startsWith('Tandem listening') && typeof entry.port === 'number') {
          resolve(entry.port);
        }
      } catch {
        // not a JSON log line
      }
    });
    void exited.then((code) => reject(new Error(`server exited with ${code} before listening:\n${log.slice(-20).join('\n')}`)));
    setTimeout(
      () => reject(new Error(`server did not report "Tandem listening" within ${WAIT_MS} ms:\n${log.slice(-20).join('\n')}`)),
      WAIT_MS,
    ).unref();
  });
  return { run: { child, exited }, port };
}

export interface ServerOptions {
  dataDir?: string;
  /** Turns the admin API on (ADMIN_TOKEN, at least 16 characters); off without it. */
  adminToken?: string;
  /** More command-line flags for the server (for example a limit). */
  flags?: string[];
}

/** The real server process on a free port with its own data directory, killed after the test. */
export async function startServer({ dataDir = tempDir(), adminToken, flags = [] }: ServerOptions = {}): Promise<Server> {
  requireBuild();
  const log: string[] = [];
  let current: Run | null = null;
  onCleanup(async () => {
    if (current && current.child.exitCode === null && current.child.signalCode === null) current.child.kill('SIGKILL');
    await current?.exited;
  });
  onFailure.push(() => console.error(`--- server log (last 40 lines) ---\n${log.slice(-40).join('\n')}`));

  const launch = async (port: number): Promise<number> => {
    const started = spawnRun(['--port', String(port), '--host', '127.0.0.1', '--data', dataDir, ...flags], log, adminToken);
    current = started.run;
    return started.port;
  };
  const port = await launch(0);
  const running = (): boolean => current !== null && current.child.exitCode === null && current.child.signalCode === null;
  return {
    port,
    url: `http://127.0.0.1:${port}`,
    dataDir,
    log,
    async stop(signal = 'SIGTERM') {
      const run = current;
      if (!run) return null;
      if (run.child.exitCode === null && run.child.signalCode === null) run.child.kill(signal);
      return run.exited;
    },
    async restart() {
      if (running()) throw new Error('restart(): the server is still running; stop() it first');
      const again = await launch(port);
      if (again !== port) throw new Error(`restarted server listens on ${again}, expected ${port}`);
    },
    running,
  };
}

/** Creates a document through the HTTP API (the app's own "New document" flow is tested separately). */
export async function createDocument(server: Server, title: string): Promise<{ name: string; title: string }> {
  const response = await fetch(`${server.url}/api/documents`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ title }),
    signal: AbortSignal.timeout(WAIT_MS),
  });
  expect(response.status, 'POST /api/documents').toBe(201);
  return (await response.json()) as { name: string; title: string };
}

// ---------------------------------------------------------------------------------------------
// Browser and users

export async function launchBrowser(): Promise<Browser> {
  requireChromium();
  const browser = await chromium.launch({
    executablePath: CHROMIUM_PATH,
    headless: true,
    timeout: WAIT_MS,
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
  onCleanup(() => browser.close());
  return browser;
}

export const DESKTOP = { width: 1280, height: 800 };
export const PHONE = { width: 390, height: 844 };

export interface User {
  name: string;
  context: BrowserContext;
  page: Page;
  /** Console errors and uncaught page errors, minus those explicitly allowed (see allowErrors). */
  errors: string[];
  /** Errors that matched an allowance, kept for the record. */
  allowedErrors: string[];
  /**
   * Tolerates console errors whose text matches `pattern` until the returned function is called.
   * Only for failures a test causes on purpose (e.g. stopping the server); match narrowly.
   */
  allowErrors(pattern: RegExp): () => void;
  editor(): Locator;
  region(name: string): Locator;
  status(): Locator;
  /** Closes the page (as the user closing the tab) and its context. */
  close(): Promise<void>;
}

export interface UserOptions {
  /** The path to open before joining: "/" (document list) or "/d/<name>". */
  path?: string;
  /** false: only open `path`, for a page without the join screen (/admin). */
  join?: boolean;
  viewport?: { width: number; height: number };
}

/**
 * A person in their own browser context (own localStorage, own cookies): opens `path` on the
 * server, joins through the real join screen by typing `name` and pressing "Join" (unless `join: false`).
 */
export async function user(browser: Browser, server: Server, name: string, options: UserOptions = {}): Promise<User> {
  const context = await browser.newContext({ viewport: options.viewport ?? DESKTOP, baseURL: server.url });
  onCleanup(() => context.close());
  // Bounds every locator action and navigation of this user (the brief: no wait above 15 s).
  context.setDefaultTimeout(WAIT_MS);
  context.setDefaultNavigationTimeout(WAIT_MS);
  const page = await context.newPage();
  const errors: string[] = [];
  const allowedErrors: string[] = [];
  const allowances = new Set<RegExp>();
  page.on('console', (message) => {
    if (message.type() !== 'error') return;
    const text = message.text();
    const { url, lineNumber } = message.location();
    const entry = `${name}: console.error: ${text}${url ? ` (${url}:${lineNumber})` : ''}`;
    // Only console messages can be allowed (matched on their text alone); uncaught errors never.
    if ([...allowances].some((pattern) => pattern.test(text))) allowedErrors.push(entry);
    else errors.push(entry);
  });
  page.on('pageerror', (error) => errors.push(`${name}: uncaught: ${error.stack ?? error.message}`));
  page.on('crash', () => errors.push(`${name}: the page crashed`));

  onFailure.push(async (slug) => {
    if (errors.length > 0) console.error(`--- ${name}: browser errors ---\n${errors.join('\n')}`);
    if (page.isClosed()) return;
    mkdirSync(join(artifactsDir, 'failures'), { recursive: true });
    await page.screenshot({ path: join(artifactsDir, 'failures', `${slug}-${name.toLowerCase()}.png`), timeout: 5_000 });
  });

  await page.goto(options.path ?? '/');
  if (options.join !== false) {
    await page.getByRole('textbox', { name: 'Your name', exact: true }).fill(name);
    await page.getByRole('button', { name: 'Join', exact: true }).click();
  }

  return {
    name,
    context,
    page,
    errors,
    allowedErrors,
    allowErrors(pattern) {
      allowances.add(pattern);
      return () => allowances.delete(pattern);
    },
    editor: () => page.getByRole('textbox', { name: 'Document', exact: true }),
    region: (regionName) => page.getByRole('region', { name: regionName, exact: true }),
    // Other live regions (e.g. a typing indicator) may also have role "status"; the connection
    // status is the one that speaks of the connection.
    status: () =>
      page
        .getByRole('status')
        .filter({ hasText: /Connected|Connecting|Reconnecting|Offline|Not saved|Session expired/ })
        .first(),
    async close() {
      await page.close();
      await context.close();
    },
  };
}

/**
 * A fresh server with one document (created through the API), one browser, and Alice and Bob
 * each in their own context, joined by name at /d/<name> and looking at the editor.
 */
/** A server started with `serverOptions`, a new document on it titled `title`, the document page's path, and a browser. */
export async function newDocument(
  title: string,
  serverOptions: ServerOptions = {},
): Promise<{ server: Server; browser: Browser; doc: { name: string; title: string }; path: string }> {
  const server = await startServer(serverOptions);
  const doc = await createDocument(server, title);
  const browser = await launchBrowser();
  return { server, browser, doc, path: `/d/${encodeURIComponent(doc.name)}` };
}

/**
 * What Chromium logs by itself while a server is down, for a page on document `room`: each
 * refused WebSocket attempt ("WebSocket connection to 'ws://…/ws/<room>' failed: …") and the
 * SDK's question why (GET /ws/<room>, "Failed to load resource: net::ERR_CONNECTION_REFUSED").
 * A page cannot prevent either; tests allow them only while they stop the server.
 */
export function refusedSocketErrors(server: Server, room: string): RegExp {
  const socketUrl = `ws://127.0.0.1:${server.port}/ws/${encodeURIComponent(room)}`;
  return new RegExp(
    `^(WebSocket connection to '${escapeRegExp(socketUrl)}(\\?[^']*)?' failed(: .*)?|Failed to load resource: net::ERR_CONNECTION_REFUSED)$`,
  );
}

export async function aliceAndBobOnADocument(
  title = 'Shared notes',
  serverOptions: ServerOptions = {},
): Promise<{
  server: Server;
  browser: Browser;
  doc: { name: string; title: string };
  alice: User;
  bob: User;
}> {
  const { server, browser, doc, path } = await newDocument(title, serverOptions);
  const [alice, bob] = await Promise.all([user(browser, server, 'Alice', { path }), user(browser, server, 'Bob', { path })]);
  await Promise.all([alice.editor().waitFor(), bob.editor().waitFor()]);
  return { server, browser, doc, alice, bob };
}

/**
 * Puts the caret at the start or the end of the document (Ctrl+Home / Ctrl+End) and types
 * `text` key by key, as a person would.
 */
export async function typeInEditor(u: User, where: 'start' | 'end', text: string): Promise<void> {
  await u.editor().click();
  await u.page.keyboard.press(where === 'start' ? 'Control+Home' : 'Control+End');
  await u.page.keyboard.type(text, { delay: 25 });
}

/** Asserts that none of `users` saw a console error or an uncaught exception. */
export function expectNoBrowserErrors(...users: User[]): void {
  expect(users.flatMap((u) => u.errors)).toEqual([]);
}

// Reading what the page shows.
export * from './page-text.js';
