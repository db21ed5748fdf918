import { writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { exportJWK, exportSPKI, generateKeyPair, SignJWT, type CryptoKey } from 'jose';
import { describe, expect, it } from 'vitest';
import { member, onCleanup, refusal, startServer, tempDir } from './helpers.js';

async function sign(key: CryptoKey, alg: string, kid?: string): Promise<string> {
  return new SignJWT({ name: 'Keyholder', rooms: { '*': 'write' } })
    .setProtectedHeader({ alg, ...(kid ? { kid } : {}) })
    .setSubject('k-1')
    .setExpirationTime('10m')
    .sign(key);
}

describe('JWT with public keys', () => {
  it('verifies ES256 tokens against a public key file and refuses tokens signed by another key', async () => {
    const { publicKey, privateKey } = await generateKeyPair('ES256');
    const file = join(tempDir(), 'public.pem');
    writeFileSync(file, await exportSPKI(publicKey));
    const server = await startServer({ auth: 'jwt', jwtPublicKeyFile: file });
    const holder = await member(server.wsUrl, 'doc', 'ignored', { token: await sign(privateKey, 'ES256') });
    expect(holder.me?.name).toBe('Keyholder');
    const stranger = await generateKeyPair('ES256');
    expect((await refusal(`${server.wsUrl}/ws/doc?token=${await sign(stranger.privateKey, 'ES256')}`)).status).toBe(401);
  });

  it('fetches the keys from a JWKS URL (RS256)', async () => {
    const { publicKey, privateKey } = await generateKeyPair('RS256');
    const jwk = { ...(await exportJWK(publicKey)), kid: 'key-1', alg: 'RS256', use: 'sig' };
    const jwks = createServer((_request, response) => {
      response.setHeader('content-type', 'application/json');
      response.end(JSON.stringify({ keys: [jwk] }));
    });
    await new Promise<void>((resolve) => jwks.listen(0, '127.0.0.1', resolve));
    onCleanup(() => new Promise((resolve) => jwks.close(resolve)));
    const url = `http://127.0.0.1:${(jwks.address() as AddressInfo).port}/.well-known/jwks.json`;
    const server = await startServer({ auth: 'jwt', jwtJwksUrl: url });
    const holder = await member(server.wsUrl, 'doc', 'ignored', { token: await sign(privateKey, 'RS256', 'key-1') });
    expect(holder.rights).toBe('write');
    expect((await refusal(`${server.wsUrl}/ws/doc?token=${await sign(privateKey, 'RS256', 'unknown-key')}`)).status).toBe(401);
  });
});
