/**
 * The three packages as a user gets them: packed with `npm pack`, installed from the tarballs into
 * an empty project (their dependencies from the npm registry), and used there through their entry
 * points, their types and the server's bin. Needs the web app built (`npm run build`).
 */
import { execFile, spawn } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { expect, it } from 'vitest';
import { onCleanup, tempDir } from './helpers.js';
import { freePort } from './ports.js';

const repoRoot = fileURLToPath(new URL('../../../', import.meta.url));
const PACKAGES = ['protocol', 'client', 'server'];
const started = Date.now();

function progress(message: string): void {
  console.log(`[packages ${((Date.now() - started) / 1000).toFixed(1)} s] ${message}`);
}

/**
 * The environment without npm's own variables: run under `npm test`, they would point the npm
 * commands below at the repository (npm_config_local_prefix) instead of their working directory.
 */
function cleanEnv(): NodeJS.ProcessEnv {
  return Object.fromEntries(Object.entries(process.env).filter(([name]) => !name.toLowerCase().startsWith('npm_')));
}

async function run(command: string, args: string[], cwd: string): Promise<string> {
  try {
    const { stdout } = await promisify(execFile)(command, args, { cwd, env: cleanEnv(), maxBuffer: 64 * 1024 * 1024 });
    return stdout;
  } catch (error) {
    const { stdout, stderr } = error as { stdout?: string; stderr?: string };
    throw new Error(`${command} ${args.join(' ')} failed in ${cwd}:\n${stdout ?? ''}\n${stderr ?? ''}`, { cause: error });
  }
}

const readJson = (file: string): Record<string, any> => JSON.parse(readFileSync(file, 'utf8'));

/** Packs the three packages (their prepack builds them and bundles the web app) into `dir`. */
async function pack(dir: string): Promise<string[]> {
  const workspaces = PACKAGES.flatMap((name) => ['-w', `packages/${name}`]);
  const packed: Array<{ name: string; filename: string; files: Array<{ path: string }> }> = JSON.parse(
    await run('npm', ['pack', ...workspaces, '--pack-destination', dir, '--json'], repoRoot),
  );
  for (const { name, files } of packed) {
    const paths = files.map((file) => file.path);
    expect(paths, name).toEqual(expect.arrayContaining(['package.json', 'README.md', 'LICENSE', 'dist/index.js', 'dist/index.d.ts']));
    const others = paths.filter((path) => !/^(dist\/|src\/|package\.json$|README\.md$|LICENSE$)/.test(path));
    if (name !== '@tandem/server') expect(others, name).toEqual([]);
    else {
      expect(paths).toContain('dist/main.js');
      expect(others).toContain('web/index.html');
      expect(others.filter((path) => !path.startsWith('web/'))).toEqual([]);
    }
  }
  return packed.map(({ filename }) => join(dir, filename));
}

/**
 * better-sqlite3's install script compiles its binding, a minute on a small machine. The install
 * skips it (--ignore-scripts) and takes the repository's build when the versions match; that build
 * is what the same script made from the same sources. Otherwise it runs the script.
 */
async function provideSqliteBinding(project: string): Promise<void> {
  const binding = 'node_modules/better-sqlite3/build/Release/better_sqlite3.node';
  const version = (root: string): string => readJson(join(root, 'node_modules/better-sqlite3/package.json')).version;
  if (version(project) === version(repoRoot) && existsSync(join(repoRoot, binding))) {
    mkdirSync(dirname(join(project, binding)), { recursive: true });
    copyFileSync(join(repoRoot, binding), join(project, binding));
  } else {
    progress(`better-sqlite3 ${version(project)} differs from the repository's: building its binding`);
    await run('npm', ['rebuild', 'better-sqlite3'], project);
  }
}

/** Every source map in the installed packages names only files that are installed too. */
function expectSourceMapsResolve(project: string): void {
  for (const name of PACKAGES) {
    const dist = join(project, 'node_modules/@tandem', name, 'dist');
    for (const file of readdirSync(dist, { recursive: true, encoding: 'utf8' }).filter((path) => path.endsWith('.map'))) {
      const map = join(dist, file);
      for (const source of readJson(map).sources as string[])
        expect(existsSync(join(dirname(map), source)), `${map} → ${source}`).toBe(true);
    }
  }
}

/** Two SDK clients over `ws` meet in a room of a server started through the package's API. */
const RUN_SCRIPT = `
import { connect } from '@tandem/client';
import { makeConfig, startTandem } from '@tandem/server';
import { WebSocket } from 'ws';

const server = await startTandem(makeConfig({ port: 0, host: '127.0.0.1', dataDir: process.argv[2], logLevel: 'warn' }));
const alice = connect(server.url, 'packed', { name: 'Alice', WebSocket });
const bob = connect(server.url, 'packed', { name: 'Bob', WebSocket });
await Promise.all([alice.whenJoined(), bob.whenJoined(), alice.whenSynced(), bob.whenSynced()]);
alice.doc.getText('body').insert(0, 'typed in a packed client');
alice.sendChat('hello from the tarball');
const deadline = Date.now() + 10_000;
while (bob.doc.getText('body').toString() !== 'typed in a packed client' || bob.chat.at(-1)?.text !== 'hello from the tarball') {
  if (Date.now() > deadline) throw new Error('Bob did not get the edit and the chat');
  await new Promise((resolve) => setTimeout(resolve, 20));
}
await alice.whenSaved();
console.log(JSON.stringify({ text: bob.doc.getText('body').toString(), chat: bob.chat.at(-1).text, from: bob.chat.at(-1).author.name }));
alice.destroy();
bob.destroy();
await server.close();
`;

/** The server mounted in the consumer's own Fastify app, signing clients in with the app's API keys. */
const EMBED_SCRIPT = `
import Fastify from 'fastify';
import { connect } from '@tandem/client';
import { createTandem, makeConfig } from '@tandem/server';
import { WebSocket } from 'ws';

const keys = new Map([['key-ada', { id: 'u-ada', name: 'Ada' }], ['key-bo', { id: 'u-bo', name: 'Bo' }]]);
const joined = [];
const tandem = await createTandem(makeConfig({ dataDir: process.argv[2], logLevel: 'warn' }), {
  async authenticate({ token }) {
    const user = keys.get(token ?? '');
    return user ? { user, rights: 'write' } : { refuse: 'unknown API key' };
  },
  onJoin: ({ member }) => joined.push(member.name),
});
const app = Fastify();
app.get('/', async () => 'the consumer app');
await app.register(tandem.plugin);
await app.listen({ port: 0, host: '127.0.0.1' });
const url = 'http://127.0.0.1:' + app.server.address().port;
const ada = connect(url, 'embedded', { name: 'ignored', token: 'key-ada', WebSocket });
const bo = connect(url, 'embedded', { name: 'ignored', token: 'key-bo', WebSocket });
const stranger = connect(url, 'embedded', { name: 'Stranger', token: 'nope', WebSocket });
await Promise.all([ada.whenJoined(), bo.whenJoined(), ada.whenSynced(), bo.whenSynced()]);
ada.doc.getText('body').insert(0, 'typed through the consumer app');
const deadline = Date.now() + 10_000;
while (bo.doc.getText('body').toString() !== 'typed through the consumer app' || stranger.status.state !== 'closed') {
  if (Date.now() > deadline) throw new Error('Bo did not get the edit, or the stranger was not refused');
  await new Promise((resolve) => setTimeout(resolve, 20));
}
const page = await (await fetch(url)).text();
console.log(JSON.stringify({ page, text: bo.doc.getText('body').toString(), joined: joined.sort(), stranger: stranger.status.error }));
for (const handle of [ada, bo, stranger]) handle.destroy();
await app.close();
`;

/** Strict types across all three packages, with ws's WebSocket passed as it is. */
const TYPES_CHECK = `
import { connect, type RoomHandle, type WebSocketLike } from '@tandem/client';
import { parseServerMessage, type ChatMessage } from '@tandem/protocol';
import { makeConfig, startTandem, type TandemServer } from '@tandem/server';
import { WebSocket } from 'ws';

export async function meet(dataDir: string): Promise<ChatMessage | undefined> {
  const server: TandemServer = await startTandem(makeConfig({ port: 0, dataDir }));
  const room: RoomHandle = connect(server.url, 'typed', { name: 'Ada', WebSocket });
  const browsers: WebSocketLike = globalThis.WebSocket;
  connect(server.url, 'typed', { WebSocket: browsers }).destroy();
  await room.whenSynced();
  room.doc.getText('body').insert(0, 'hi');
  const parsed = parseServerMessage('{"type":"resync","reason":"test"}');
  room.destroy();
  await server.close();
  return parsed.ok ? room.chat.at(-1) : undefined;
}
`;

/** Runs the installed bin until `/readyz` answers; checks what it serves, then stops it by PID. */
async function checkBin(project: string, dataDir: string): Promise<void> {
  const port = await freePort();
  const bin = join(project, 'node_modules/.bin/tandem-server');
  const child = spawn(bin, ['--port', String(port), '--host', '127.0.0.1', '--data', dataDir, '--log-level', 'warn'], {
    cwd: project,
    env: cleanEnv(),
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
  onCleanup(async () => {
    if (child.exitCode === null && child.signalCode === null) process.kill(child.pid!, 'SIGKILL');
    await exited;
  });
  let stderr = '';
  child.stderr.on('data', (chunk) => (stderr += chunk));
  const base = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 20_000;
  for (;;) {
    const ready = await fetch(`${base}/readyz`).catch(() => null);
    if (ready?.status === 200) break;
    if (child.exitCode !== null || Date.now() > deadline) throw new Error(`tandem-server did not become ready:\n${stderr}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  const page = await fetch(`${base}/`);
  expect(page.status).toBe(200);
  expect(page.headers.get('content-type')).toMatch(/^text\/html/);
  const html = await page.text();
  expect(html).toBe(readFileSync(join(project, 'node_modules/@tandem/server/web/index.html'), 'utf8'));
  const script = /<script type="module" crossorigin src="([^"]+)"/.exec(html)?.[1];
  expect(script, 'the page loads its script').toBeDefined();
  expect((await fetch(`${base}${script}`)).status).toBe(200);
  process.kill(child.pid!, 'SIGTERM');
  expect(await exited).toBe(0);
}

it('packs, installs and runs @tandem/protocol, @tandem/client and @tandem/server from their tarballs', { timeout: 300_000 }, async () => {
  if (!existsSync(join(repoRoot, 'apps/web/dist/index.html'))) {
    throw new Error('apps/web/dist is not built: run "npm run build" before this test (the server package bundles the web app)');
  }
  progress('packing (each prepack script runs tsc -b)');
  const tarballs = await pack(tempDir());
  progress(`packed ${tarballs.map((file) => file.split('/').pop()).join(', ')}`);

  const project = tempDir();
  // Newer npm versions (11.19 here) run a dependency's install script only when package.json allows it.
  writeFileSync(
    join(project, 'package.json'),
    JSON.stringify({ name: 'consumer', private: true, type: 'module', allowScripts: { 'better-sqlite3': true } }),
  );
  const dev = readJson(join(repoRoot, 'package.json')).devDependencies as Record<string, string>;
  const serverDependencies = readJson(join(repoRoot, 'packages/server/package.json')).dependencies as Record<string, string>;
  const registry = [
    ...['ws', 'typescript', '@types/ws', '@types/node'].map((name) => `${name}@${dev[name]}`),
    `fastify@${serverDependencies.fastify}`,
  ];
  progress(`npm install of the tarballs and ${registry.join(' ')}`);
  await run('npm', ['install', '--no-audit', '--no-fund', '--prefer-offline', '--ignore-scripts', ...tarballs, ...registry], project);
  await provideSqliteBinding(project);
  for (const dependent of ['client', 'server']) {
    // Their dependency on @tandem/protocol is the tarball's, not a copy from elsewhere.
    expect(existsSync(join(project, `node_modules/@tandem/${dependent}/node_modules/@tandem/protocol`))).toBe(false);
  }
  expectSourceMapsResolve(project);

  progress('running a server and two clients through the installed packages');
  writeFileSync(join(project, 'run.js'), RUN_SCRIPT);
  const output = await run(process.execPath, ['run.js', tempDir()], project);
  expect(JSON.parse(output)).toEqual({ text: 'typed in a packed client', chat: 'hello from the tarball', from: 'Alice' });

  progress("mounting the server in the consumer's own Fastify app with its own authentication");
  writeFileSync(join(project, 'embed.js'), EMBED_SCRIPT);
  expect(JSON.parse(await run(process.execPath, ['embed.js', tempDir()], project))).toEqual({
    page: 'the consumer app',
    text: 'typed through the consumer app',
    joined: ['Ada', 'Bo'],
    stranger: { status: 401, code: 'unauthorized', message: 'unknown API key' },
  });

  progress('type-checking a strict TypeScript consumer');
  writeFileSync(join(project, 'consumer.ts'), TYPES_CHECK);
  writeFileSync(
    join(project, 'tsconfig.json'),
    JSON.stringify({
      compilerOptions: { strict: true, module: 'nodenext', target: 'es2022', types: ['node'], noEmit: true, skipLibCheck: false },
      files: ['consumer.ts'],
    }),
  );
  await run(join(project, 'node_modules/.bin/tsc'), ['-p', '.'], project);

  progress('running the installed tandem-server bin');
  await checkBin(project, tempDir());
  progress('done');
});
