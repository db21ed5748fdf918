import { execFileSync } from 'node:child_process';
import { get } from 'node:https';
import { describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { selfSigned } from './certs.js';
import { client, spawnServer, startServer, until } from './helpers.js';

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
    const alice = client(wssUrl, 'secure', { name: 'Alice', WebSocket: TrustingWebSocket });
    const bob = client(wssUrl, 'secure', { name: 'Bob', WebSocket: TrustingWebSocket });
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
