import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { RoomHandle } from '@tandem/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { member, onCleanup, rawSocket, refusal, startServer, tempDir, until, type TestServer } from './helpers.js';
import { startNginx } from './nginx.js';
import { startPostgres, type PostgresInstance } from './postgres.js';
import { startRedis, type RedisInstance } from './redis.js';

let postgres: PostgresInstance;
let redis: RedisInstance;

beforeAll(async () => {
  [postgres, redis] = await Promise.all([startPostgres(), startRedis()]);
}, 60_000);

afterAll(async () => {
  await Promise.all([postgres?.stop(), redis?.stop()]);
});

const text = (handle: RoomHandle): string => handle.doc.getText('t').toString();
const chat = (handle: RoomHandle): string[] => handle.chat.map((message) => `${message.seq}:${message.author.name}:${message.text}`);

describe('nginx in front of a cluster (deploy/nginx/tandem.conf)', () => {
  it('serves the app and /readyz, and one room across nodes, through one address', async () => {
    const staticDir = tempDir();
    writeFileSync(join(staticDir, 'index.html'), '<!doctype html><title>Tandem behind nginx</title>');
    const nodes: TestServer[] = [];
    for (let i = 0; i < 3; i++) {
      const config = { redisUrl: redis.url, databaseUrl: postgres.url, trustProxy: 'loopback', staticDir, shutdownGraceMs: 3_000 };
      nodes.push(await startServer(config));
    }
    const nginx = await startNginx(nodes.map((node) => ({ host: '127.0.0.1', port: node.port })));
    onCleanup(() => nginx.stop());

    const page = await fetch(`${nginx.url}/d/notes`);
    expect(page.status).toBe(200);
    expect(await page.text()).toContain('Tandem behind nginx');
    const ready = await fetch(`${nginx.url}/readyz`);
    expect([ready.status, await ready.json()]).toEqual([200, { status: 'pass' }]);

    const ada = await member(nginx.wsUrl, 'notes', 'Ada');
    const bob = await member(nginx.wsUrl, 'notes', 'Bob');
    // least_conn gives each new WebSocket to a node without one, so the two meet only through Redis.
    expect(nodes.map((node) => node.registry.get('notes')?.connectionCount ?? 0).sort()).toEqual([0, 1, 1]);
    ada.doc.getText('t').insert(0, 'Hello');
    bob.doc.getText('t').insert(0, 'Hi. ');
    await until(() => text(ada).length === 9 && text(bob) === text(ada), 'both documents to hold both edits');
    ada.sendChat('hi Bob');
    bob.sendChat('hi Ada');
    await until(() => chat(ada).length === 2 && chat(bob).join() === chat(ada).join(), 'both to see both messages in one order');

    // The third node begins to shut down (a client that does not answer the close keeps it
    // there): its /readyz answers 503, so nginx takes it out and asks the next node instead.
    const leaving = nodes.find((node) => (node.registry.get('notes')?.connectionCount ?? 0) === 0)!;
    const silent = await rawSocket(leaving.wsUrl, 'elsewhere');
    (silent as unknown as { _socket: { pause(): void } })._socket.pause();
    const closing = leaving.close();
    expect((await fetch(`${leaving.url}/readyz`)).status).toBe(503);
    for (let i = 0; i < 4; i++) expect((await fetch(`${nginx.url}/readyz`)).status).toBe(200);
    expect(nginx.errors()).toMatch(/upstream server temporarily disabled/);
    await closing;
  });

  it('counts each client at the address nginx forwards when nginx is trusted, and at nginx when not', async () => {
    const trusting = await startServer({ trustProxy: '127.0.0.1', maxConnectionsPerIp: 2 });
    const untrusting = await startServer({ maxConnectionsPerIp: 2 });
    const toTrusting = await startNginx([{ host: '127.0.0.1', port: trusting.port }]);
    onCleanup(() => toTrusting.stop());
    const toUntrusting = await startNginx([{ host: '127.0.0.1', port: untrusting.port }]);
    onCleanup(() => toUntrusting.stop());
    // All of 127.0.0.0/8 is loopback: each client takes an address of its own; nginx reaches the nodes from 127.0.0.1.
    const from = (localAddress: string, forwardedFor?: string): { localAddress: string; headers: Record<string, string> } => ({
      localAddress,
      headers: forwardedFor === undefined ? {} : { 'X-Forwarded-For': forwardedFor },
    });

    await rawSocket(toTrusting.wsUrl, 'r', undefined, from('127.0.0.2'));
    // A header the client forged is kept by nginx but not believed: this is 127.0.0.2's second connection.
    await rawSocket(toTrusting.wsUrl, 'r', undefined, from('127.0.0.2', '198.51.100.1'));
    const third = await refusal(`${toTrusting.wsUrl}/ws/r`, undefined, from('127.0.0.2', '198.51.100.2'));
    expect([third.status, third.body.error]).toEqual([429, 'this address has 2 connections open already']);
    await rawSocket(toTrusting.wsUrl, 'r', undefined, from('127.0.0.3'));
    expect(trusting.registry.get('r')?.connectionCount).toBe(3);

    // Without TRUST_PROXY every client is nginx.
    await rawSocket(toUntrusting.wsUrl, 'r', undefined, from('127.0.0.2'));
    await rawSocket(toUntrusting.wsUrl, 'r', undefined, from('127.0.0.3'));
    expect((await refusal(`${toUntrusting.wsUrl}/ws/r`, undefined, from('127.0.0.4'))).status).toBe(429);
  });
});
