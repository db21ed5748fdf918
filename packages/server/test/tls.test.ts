import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { get } from 'node:https';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { client, spawnServer, startServer, tempDir, until } from './helpers.js';

/** A self-signed certificate for localhost and 127.0.0.1, made with openssl for this test. */
function selfSigned(): { cert: string; key: string; pem: Buffer } {
  const dir = tempDir();
  const cert = join(dir, 'cert.pem');
  const key = join(dir, 'key.pem');
  try {
    execFileSync(
      'openssl',
      [
        'req',
        '-x509',
        '-newkey',
        'ec',
        '-pkeyopt',
        'ec_paramgen_curve:prime256v1',
        '-nodes',
        '-keyout',
        key,
        '-out',
        cert,
        '-days',
        '1',
        '-subj',
        '/CN=localhost',
        '-addext',
        'subjectAltName=DNS:localhost,IP:127.0.0.1',
      ],
      { stdio: 'pipe' },
    );
  } catch (error) {
    throw new Error(`openssl could not make a test certificate (install it: apt-get install openssl): ${(error as Error).message}`, {
      cause: error,
    });
  }
  return { cert, key, pem: readFileSync(cert) };
}

function httpsJson(url: string, ca: Buffer): Promise<unknown> {
  return new Promise((resolve, reject) => {
    get(url, { ca }, (res) => {
      let body = '';
      res.on('data', (chunk) => (body += chunk));
      res.on('end', () => resolve(JSON.parse(body)));
    }).on('error', reject);
  });
}

describe('TLS', () => {
  it('serves https and wss on one port with the given certificate', async () => {
    const { cert, key, pem } = selfSigned();
    const server = await startServer({ tlsCert: cert, tlsKey: key });
    expect(server.url).toMatch(/^https:\/\//);
    expect(await httpsJson(`${server.url}/healthz`, pem)).toMatchObject({ status: 'ok' });
    class TrustingWebSocket extends WebSocket {
      constructor(url: string, protocols?: string | string[]) {
        super(url, protocols, { ca: pem });
      }
    }
    const wssUrl = server.url.replace('https', 'wss');
    const alice = client(wssUrl, 'secure', { name: 'Alice', WebSocket: TrustingWebSocket as never });
    const bob = client(wssUrl, 'secure', { name: 'Bob', WebSocket: TrustingWebSocket as never });
    await Promise.all([alice.whenSynced(), bob.whenSynced()]);
    alice.doc.getText('t').insert(0, 'encrypted in transit');
    await until(() => bob.doc.getText('t').toString() === 'encrypted in transit', 'the edit over wss');
    // A client that does not trust the certificate is refused by TLS, not by Tandem.
    const untrusting = new WebSocket(`${wssUrl}/ws/secure`);
    const error = await new Promise<Error>((resolve) => untrusting.once('error', resolve));
    expect(error.message).toMatch(/self.signed|certificate/i);
  });

  it('refuses to start with a certificate but no key', async () => {
    await expect(spawnServer(['--port', '0', '--tls-cert', '/nonexistent.pem'])).rejects.toThrow(/TLS needs both --tls-cert and --tls-key/);
  });
});

describe('token command', () => {
  it('issues a token the server accepts', async () => {
    const secret = 'x'.repeat(40);
    const root = new URL('../../../', import.meta.url);
    const token = execFileSync(
      process.execPath,
      [
        '--conditions=@tandem/source',
        '--import',
        'tsx',
        'packages/server/src/token-cli.ts',
        '--sub',
        'carol',
        '--name',
        'Carol',
        '--room',
        'team-*=comment',
        '--ttl',
        '5m',
        '--secret',
        secret,
      ],
      { cwd: root, encoding: 'utf8' },
    ).trim();
    const server = await startServer({ auth: 'jwt', jwtSecret: secret });
    const carol = client(server.wsUrl, 'team-1', { name: 'ignored', token });
    await carol.whenJoined();
    expect(carol.me?.name).toBe('Carol');
    expect(carol.rights).toBe('comment');
  });
});
