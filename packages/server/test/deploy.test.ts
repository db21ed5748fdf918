import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { get as httpGet, type ClientRequest, type IncomingHttpHeaders, type IncomingMessage } from 'node:http';
import { get as httpsGet, type RequestOptions } from 'node:https';
import { join } from 'node:path';
import { brotliCompressSync, brotliDecompressSync, gunzipSync, gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { mainConfig, nginxBinary, preparePrefix } from '../../../deploy/nginx/local.js';
import { configFromProcess, makeConfig } from '../src/index.js';
import { selfSigned } from './certs.js';
import { member, onCleanup, refusal, startServer, tempDir, until } from './helpers.js';
import { runNginx } from './nginx.js';
import { freePort } from './ports.js';

const deploy = new URL('../../../deploy/', import.meta.url);

/** Replaces `from` in `text`, which must hold it exactly once (so that a change to the file fails here, not silently). */
function swap(text: string, from: string, to: string): string {
  const parts = text.split(from);
  if (parts.length !== 2) throw new Error(`expected "${from}" once in the file, found it ${parts.length - 1} times`);
  return parts.join(to);
}

interface TlsSite {
  http: number;
  https: number;
  upstream: number;
  cert: string;
  key: string;
}

/** deploy/nginx/tandem-tls.conf with loopback ports, a test certificate and the test's Tandem in place of the example's. */
function tlsSite({ http, https, upstream, cert, key }: TlsSite): string {
  let site = readFileSync(new URL('nginx/tandem-tls.conf', deploy), 'utf8');
  site = swap(site, 'listen 80;', `listen 127.0.0.1:${http};`);
  site = swap(site, 'listen [::]:80;', '');
  site = swap(site, 'listen 443 ssl;', `listen 127.0.0.1:${https} ssl;`);
  site = swap(site, 'listen [::]:443 ssl;', '');
  site = swap(site, '/etc/letsencrypt/live/tandem.example.com/fullchain.pem', cert);
  site = swap(site, '/etc/letsencrypt/live/tandem.example.com/privkey.pem', key);
  return swap(site, 'server 127.0.0.1:8000;', `server 127.0.0.1:${upstream};`);
}

interface Reply {
  status: number;
  headers: IncomingHttpHeaders;
  body: string;
}

type Get = (url: string, options: RequestOptions, callback: (res: IncomingMessage) => void) => ClientRequest;

function fetchVia(get: Get, url: string, options: RequestOptions = {}): Promise<Reply> {
  return new Promise((resolve, reject) => {
    get(url, options, (res) => {
      let body = '';
      res.setEncoding('latin1');
      res.on('data', (chunk) => (body += chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
    }).on('error', reject);
  });
}

describe('deploy/nginx/tandem-tls.conf', () => {
  it('passes nginx -t, and serves the app, /readyz and WebSockets over https in front of Tandem', async () => {
    const { cert, key, pem } = selfSigned();
    const staticDir = tempDir();
    writeFileSync(join(staticDir, 'index.html'), '<!doctype html><title>Tandem behind nginx with TLS</title>');
    mkdirSync(join(staticDir, 'assets'));
    // As the web app's build leaves it: a brotli and a gzip copy beside each text file.
    const script = 'console.log("Tandem");\n'.repeat(200);
    writeFileSync(join(staticDir, 'assets', 'app.js'), script);
    writeFileSync(join(staticDir, 'assets', 'app.js.br'), brotliCompressSync(script));
    writeFileSync(join(staticDir, 'assets', 'app.js.gz'), gzipSync(script));
    // As docs/deploy.md says: nginx is the trusted proxy on loopback.
    const server = await startServer({ staticDir, trustProxy: '127.0.0.1' });
    const [http, https] = [await freePort(), await freePort()];
    const prepared = preparePrefix((prefix) => mainConfig(tlsSite({ http, https, upstream: server.port, cert, key }), prefix));

    const check = spawnSync(nginxBinary(), ['-t', ...prepared.args], { encoding: 'utf8' });
    expect(check.status, check.stderr).toBe(0);
    expect(check.stderr).toMatch(/test is successful/);
    expect(check.stderr).not.toMatch(/\[(warn|emerg|alert)\]/);

    const nginx = await runNginx(prepared, https);
    onCleanup(() => nginx.stop());
    const base = `https://127.0.0.1:${https}`;

    const redirect = await fetchVia(httpGet, `http://127.0.0.1:${http}/d/notes?x=1`);
    expect([redirect.status, redirect.headers.location]).toEqual([301, 'https://127.0.0.1/d/notes?x=1']);
    const ready = await fetchVia(httpsGet, `${base}/readyz`, { ca: pem });
    expect([ready.status, JSON.parse(ready.body)]).toEqual([200, { status: 'pass' }]);
    expect(ready.headers['strict-transport-security']).toBe('max-age=31536000');
    const page = await fetchVia(httpsGet, `${base}/d/notes`, { ca: pem });
    expect([page.status, page.body]).toEqual([200, expect.stringContaining('Tandem behind nginx with TLS')]);
    // nginx passes Tandem's precompressed copies through as they are, and compresses nothing itself.
    const accepting = (encodings: string) => ({ ca: pem, headers: { 'Accept-Encoding': encodings } });
    const br = await fetchVia(httpsGet, `${base}/assets/app.js`, accepting('gzip, br'));
    expect([br.headers['content-encoding'], brotliDecompressSync(Buffer.from(br.body, 'latin1')).toString()]).toEqual(['br', script]);
    const gz = await fetchVia(httpsGet, `${base}/assets/app.js`, accepting('gzip'));
    expect([gz.headers['content-encoding'], gunzipSync(Buffer.from(gz.body, 'latin1')).toString()]).toEqual(['gzip', script]);
    const plain = await fetchVia(httpsGet, `${base}/assets/app.js`, accepting('identity'));
    expect([plain.headers['content-encoding'], plain.body]).toEqual([undefined, script]);
    const api = await fetchVia(httpsGet, `${base}/api/documents`, accepting('gzip'));
    expect([api.status, api.headers['content-encoding']]).toEqual([200, undefined]);
    expect((await fetchVia(httpsGet, `${base}/metrics`, { ca: pem })).status).toBe(404);

    // The app's page comes from https://<nginx>: its WebSockets carry that Origin.
    class Browser extends WebSocket {
      constructor(url: string, protocols?: string | string[]) {
        super(url, protocols, { ca: pem, origin: base });
      }
    }
    const ada = await member(`wss://127.0.0.1:${https}`, 'notes', 'Ada', { WebSocket: Browser as never });
    const bob = await member(`wss://127.0.0.1:${https}`, 'notes', 'Bob', { WebSocket: Browser as never });
    ada.doc.getText('t').insert(0, 'through nginx');
    bob.sendChat('hi Ada');
    await until(() => bob.doc.getText('t').toString() === 'through nginx' && ada.chat.length === 1, 'the edit and the message to cross');
    expect(server.registry.get('notes')?.connectionCount).toBe(2);
    const foreign = await refusal(`wss://127.0.0.1:${https}/ws/notes`, undefined, { ca: pem, origin: 'https://evil.example' });
    expect(foreign.status).toBe(403);
  });
});

/** The [Service] settings of the unit file, each key with its values in order. */
function serviceSettings(unit: string): Map<string, string[]> {
  const settings = new Map<string, string[]>();
  let section = '';
  for (const raw of unit.split('\n')) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) continue;
    if (line.startsWith('[')) section = line;
    else if (section === '[Service]') {
      const at = line.indexOf('=');
      const key = line.slice(0, at);
      settings.set(key, [...(settings.get(key) ?? []), line.slice(at + 1)]);
    }
  }
  return settings;
}

describe('deploy/systemd/tandem.service', () => {
  const unit = readFileSync(new URL('systemd/tandem.service', deploy), 'utf8');

  it('passes systemd-analyze verify without a warning', () => {
    if (spawnSync('systemd-analyze', ['--version']).status !== 0) {
      throw new Error('systemd-analyze is missing: install it with `apt-get install systemd` (see .ci/run)');
    }
    const dir = tempDir();
    // verify checks that ExecStart's program exists: this machine's node.
    writeFileSync(join(dir, 'tandem.service'), swap(unit, 'ExecStart=/usr/bin/node ', `ExecStart=${process.execPath} `));
    const result = spawnSync('systemd-analyze', ['verify', join(dir, 'tandem.service')], { encoding: 'utf8' });
    expect(result.status, result.stderr).toBe(0);
    expect(`${result.stdout}${result.stderr}`.split('\n').filter((line) => line.includes('tandem.service'))).toEqual([]);
  });

  it('runs the build in production with settings the server accepts, gives it time to stop, and lets it write only its data', () => {
    const settings = serviceSettings(unit);
    const one = (key: string): string | undefined => settings.get(key)?.at(-1);
    expect(one('ExecStart')).toBe('/usr/bin/node packages/server/dist/main.js');
    expect([one('User'), one('WorkingDirectory'), one('EnvironmentFile')]).toEqual(['tandem', '/opt/tandem', '/etc/tandem/env']);
    expect([one('Restart'), one('KillSignal'), one('NoNewPrivileges'), one('ProtectSystem')]).toEqual([
      'on-failure',
      'SIGTERM',
      'yes',
      'strict',
    ]);

    const env = Object.fromEntries((settings.get('Environment') ?? []).flatMap((line) => line.split(' ')).map((pair) => pair.split('=')));
    expect(env.NODE_ENV).toBe('production');
    const config = configFromProcess([], env);
    expect(config).toMatchObject({ dataDir: '/var/lib/tandem', host: '127.0.0.1', allowedOrigins: [] });
    expect(one('ReadWritePaths')).toBe(config.dataDir);
    expect(one('StateDirectory')).toBe('tandem');

    // main.ts exits by itself at most 2 × SHUTDOWN_GRACE_MS + 5 s after SIGTERM; systemd must wait longer before SIGKILL.
    const stopLimitMs = 2 * makeConfig().shutdownGraceMs + 5_000;
    expect(Number(/^(\d+)s$/.exec(one('TimeoutStopSec') ?? '')?.[1]) * 1000).toBeGreaterThan(stopLimitMs);
  });
});
