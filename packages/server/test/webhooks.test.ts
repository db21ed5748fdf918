import { createHmac, timingSafeEqual } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createServer, type IncomingHttpHeaders, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { makeConfig } from '../src/index.js';
import { documentVersion } from '../src/webhooks/document-version.js';
import type { WebhookEvent } from '../src/webhooks/events.js';
import { Webhooks, type WebhooksOptions } from '../src/webhooks/webhooks.js';
import { member, onCleanup, startServer, until } from './helpers.js';

const SECRET = 'a-webhook-secret-of-some-length';
const ADMIN = 'an-admin-token-for-the-tests';

type Verify = (secret: string, headers: IncomingHttpHeaders, rawBody: string) => WebhookEvent | null;

/** docs/webhooks.md's verification snippet, run as the documentation shows it. */
function documentedVerify(): Verify {
  const docs = readFileSync(new URL('../../../docs/webhooks.md', import.meta.url), 'utf8');
  const section = docs.slice(docs.indexOf('## Verifying a delivery'));
  const code = /```js\n([\s\S]*?)```/.exec(section)![1]!.replace(/^import .*$/gm, '');
  return new Function('createHmac', 'timingSafeEqual', `${code}\nreturn verifyWebhook;`)(createHmac, timingSafeEqual) as Verify;
}

interface Delivery {
  headers: IncomingHttpHeaders;
  body: string;
  event: WebhookEvent;
  at: number;
}

/** A local endpoint; `answer` decides each response (by how many came before): a status, or 'hang' to never answer. */
async function receiver(answer: (index: number) => number | 'hang' = () => 204): Promise<{ url: string; deliveries: Delivery[] }> {
  const deliveries: Delivery[] = [];
  const hanging: ServerResponse[] = [];
  const server = createServer((req, res) => {
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (chunk: string) => (body += chunk));
    req.on('end', () => {
      const status = answer(deliveries.length);
      deliveries.push({ headers: req.headers, body, event: JSON.parse(body) as WebhookEvent, at: Date.now() });
      if (status === 'hang') hanging.push(res);
      // A 429 asks for the retry in a second.
      else res.writeHead(status, status === 429 ? { 'retry-after': '1' } : {}).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  onCleanup(async () => {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  });
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/hooks`, deliveries };
}

/** Webhooks on their own, with a logger whose lines the test reads. */
function webhooks(options: Partial<WebhooksOptions> & Pick<WebhooksOptions, 'urls'>): {
  hooks: Webhooks;
  logs: Array<Record<string, any>>;
} {
  const logs: Array<Record<string, any>> = [];
  const log = pino({ level: 'info' }, { write: (line: string) => logs.push(JSON.parse(line) as Record<string, any>) });
  const hooks = new Webhooks({ secret: SECRET, events: [], documentExists: async () => true, log, ...options });
  onCleanup(() => hooks.close());
  return { hooks, logs };
}

const ofType = (deliveries: Delivery[], type: string, room?: string): WebhookEvent[] =>
  deliveries.map((d) => d.event).filter((event) => event.type === type && (room === undefined || event.data.room === room));

describe('webhooks', () => {
  it('delivers every event type with its data, signed so that the documented snippet verifies it', async () => {
    const endpoint = await receiver();
    const server = await startServer({ webhookUrls: endpoint.url, webhookSecret: SECRET, adminToken: ADMIN });
    const { deliveries } = endpoint;
    const arrived = (type: string, room: string, what = `${type} for ${room}`) =>
      until(() => ofType(deliveries, type, room).length > 0, what, 15_000);

    const created = await fetch(`${server.url}/api/documents`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'plans', title: 'Plans' }),
    });
    expect(created.status).toBe(201);
    await arrived('document.created', 'plans');
    expect(ofType(deliveries, 'document.created', 'plans')[0]!.data).toEqual({ room: 'plans', title: 'Plans' });

    const ada = await member(server.url, 'plans', 'Ada');
    const bob = await member(server.url, 'plans', 'Bob');
    await until(() => ofType(deliveries, 'member.joined', 'plans').length === 2, 'both joins', 5_000);
    expect(ofType(deliveries, 'member.joined', 'plans').map((event) => (event.data.member as { name: string }).name)).toEqual([
      'Ada',
      'Bob',
    ]);

    ada.sendChat('hello, hooks');
    await arrived('chat.message', 'plans');
    const chat = ofType(deliveries, 'chat.message', 'plans')[0]!.data;
    expect(chat).toMatchObject({ room: 'plans', message: { text: 'hello, hooks', seq: 1, author: { name: 'Ada' } } });

    // Forty edits over about 400 ms: one debounced event, once they have stopped.
    const text = ada.doc.getText('body');
    for (let i = 0; i < 40; i++) {
      text.insert(text.length, `line ${i}\n`);
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    await until(() => bob.doc.getText('body').length === text.length, 'Bob has every edit', 5_000, bob);
    await arrived('document.changed', 'plans');
    await new Promise((resolve) => setTimeout(resolve, 2_500));
    const changes = ofType(deliveries, 'document.changed', 'plans');
    expect(changes).toHaveLength(1);
    expect(changes[0]!.data).toEqual({ room: 'plans', ...documentVersion(bob.doc) });
    expect(changes[0]!.data.size).toBeGreaterThan(text.length);
    // Joined by the first edit, not through the API: created then, titled after its name.
    expect(ofType(deliveries, 'document.created', 'plans')).toHaveLength(1);
    const carol = await member(server.url, 'sketch', 'Carol');
    carol.doc.getText('body').insert(0, 'first stroke');
    await arrived('document.created', 'sketch');
    expect(ofType(deliveries, 'document.created', 'sketch')[0]!.data).toEqual({ room: 'sketch', title: 'sketch' });

    bob.destroy();
    await arrived('member.left', 'plans');
    expect(ofType(deliveries, 'member.left', 'plans')[0]!.data).toMatchObject({ member: { name: 'Bob' } });

    const deleted = await fetch(`${server.url}/api/admin/rooms/plans`, { method: 'DELETE', headers: { authorization: `Bearer ${ADMIN}` } });
    expect(deleted.status).toBe(200);
    await arrived('document.deleted', 'plans');
    expect(ofType(deliveries, 'document.deleted', 'plans')[0]!.data).toEqual({ room: 'plans' });

    const verify = documentedVerify();
    for (const delivery of deliveries) {
      expect(delivery.headers['content-type']).toBe('application/json');
      expect(delivery.headers['webhook-id']).toBe(delivery.event.id);
      expect(delivery.headers['webhook-signature']).toMatch(/^v1=[0-9a-f]{64}$/);
      expect(verify(SECRET, delivery.headers, delivery.body)).toEqual(delivery.event);
      expect(Date.parse(delivery.event.time)).toBeGreaterThan(Date.now() - 60_000);
    }
    const sample = deliveries[0]!;
    expect(verify('another-secret-entirely', sample.headers, sample.body)).toBeNull();
    expect(verify(SECRET, sample.headers, sample.body.replace('plans', 'plant'))).toBeNull();
    const stale = String(Number(sample.headers['webhook-timestamp']) - 6 * 60);
    const replayed = `v1=${createHmac('sha256', SECRET).update(`${sample.event.id}.${stale}.${sample.body}`).digest('hex')}`;
    expect(verify(SECRET, { ...sample.headers, 'webhook-timestamp': stale, 'webhook-signature': replayed }, sample.body)).toBeNull();
    expect(new Set(deliveries.map((d) => d.event.id)).size).toBe(deliveries.length);
    expect((await server.metrics.scrape()).text).toMatch(/tandem_webhook_deliveries_total\{outcome="delivered"\} [1-9]/);
  }, 30_000);

  it('sends only the event types WEBHOOK_EVENTS names', async () => {
    const endpoint = await receiver();
    const server = await startServer({ webhookUrls: endpoint.url, webhookSecret: SECRET, webhookEvents: 'chat.message' });
    const ada = await member(server.url, 'quiet', 'Ada');
    ada.sendChat('only this');
    await until(() => endpoint.deliveries.length > 0, 'the chat message', 5_000);
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(endpoint.deliveries.map((d) => d.event.type)).toEqual(['chat.message']);
  });

  it('retries a failing endpoint with growing delays and the same id, then delivers', async () => {
    const endpoint = await receiver((index) => (index < 2 ? 500 : 200));
    const { hooks } = webhooks({ urls: [endpoint.url], delivery: { baseDelayMs: 100 } });
    hooks.emit('document.deleted', { room: 'retried' });
    await until(() => endpoint.deliveries.length === 3, 'three attempts', 5_000);
    const [first, second, third] = endpoint.deliveries as [Delivery, Delivery, Delivery];
    expect(new Set(endpoint.deliveries.map((d) => d.headers['webhook-id'])).size).toBe(1);
    // Jittered between half and all of 100 ms, then of 200 ms.
    expect(second.at - first.at).toBeGreaterThanOrEqual(45);
    expect(third.at - second.at).toBeGreaterThanOrEqual(95);
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect(endpoint.deliveries).toHaveLength(3);
  });

  it('honours Retry-After, and does not retry a 4xx', async () => {
    const endpoint = await receiver((index) => (index === 0 ? 429 : 404));
    const { hooks, logs } = webhooks({ urls: [endpoint.url], delivery: { baseDelayMs: 10 } });
    hooks.emit('member.joined', { room: 'r' });
    await until(() => logs.some((line) => line.msg === 'webhook delivery rejected'), 'the rejection', 5_000);
    expect(endpoint.deliveries).toHaveLength(2);
    expect(endpoint.deliveries[1]!.at - endpoint.deliveries[0]!.at).toBeGreaterThanOrEqual(950);
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(endpoint.deliveries).toHaveLength(2);
  });

  it('logs a delivery as dropped once an endpoint that refuses connections or never answers has had every attempt', async () => {
    const hanging = await receiver(() => 'hang');
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const refused = `http://127.0.0.1:${(closed.address() as AddressInfo).port}/hooks`;
    await new Promise((resolve) => closed.close(resolve));
    const { hooks, logs } = webhooks({ urls: [refused, hanging.url], delivery: { attempts: 3, baseDelayMs: 20, timeoutMs: 200 } });
    hooks.emit('chat.message', { room: 'void' });
    const dropped = () => logs.filter((line) => line.msg === 'webhook delivery dropped');
    await until(() => dropped().length === 2, 'both deliveries dropped', 5_000);
    expect(hanging.deliveries).toHaveLength(3);
    for (const line of dropped()) {
      expect(line).toMatchObject({ level: 50, type: 'chat.message', eventId: hanging.deliveries[0]!.event.id });
      expect(line.reason).toMatch(/^3 attempts failed/);
    }
    expect(
      dropped()
        .map((line) => line.endpoint)
        .sort(),
    ).toEqual([refused, hanging.url].sort());
    expect(dropped().find((line) => line.endpoint === refused)!.reason).toContain('ECONNREFUSED');
    expect(dropped().find((line) => line.endpoint === hanging.url)!.reason).toContain('no answer within 200 ms');
  });

  it('drops the oldest waiting events when an endpoint falls behind by more than its queue holds', async () => {
    const hanging = await receiver(() => 'hang');
    const { hooks, logs } = webhooks({ urls: [hanging.url], delivery: { concurrency: 1, maxQueued: 2, timeoutMs: 10_000 } });
    for (let i = 1; i <= 5; i++) hooks.emit('document.changed', { room: `room-${i}` });
    const full = logs.filter((line) => line.msg === 'webhook delivery dropped' && line.reason === 'the queue is full');
    expect(full).toHaveLength(2);
    await until(() => hanging.deliveries.length === 1, 'the first in flight', 5_000);
    expect(hanging.deliveries[0]!.event.data.room).toBe('room-1');
  });

  it('keeps rooms syncing at their usual pace while the endpoint never answers', async () => {
    const hanging = await receiver(() => 'hang');
    const server = await startServer({ webhookUrls: hanging.url, webhookSecret: SECRET });
    const ada = await member(server.url, 'busy', 'Ada');
    const bob = await member(server.url, 'busy', 'Bob');
    await until(() => hanging.deliveries.length > 0, 'the endpoint is being called', 5_000);
    const text = ada.doc.getText('body');
    const roundTrips: number[] = [];
    for (let i = 0; i < 30; i++) {
      const started = performance.now();
      text.insert(text.length, 'x');
      ada.sendChat(`message ${i}`);
      await new Promise<void>((resolve) => {
        const arrived = (): void => {
          if (bob.doc.getText('body').length < text.length) return;
          bob.doc.off('update', arrived);
          resolve();
        };
        bob.doc.on('update', arrived);
      });
      roundTrips.push(performance.now() - started);
    }
    expect(Math.max(...roundTrips)).toBeLessThan(200);
    // Four hang in flight; the rest wait in the queue instead of piling up requests.
    expect(hanging.deliveries.length).toBeLessThanOrEqual(4);
    const closing = performance.now();
    await server.close();
    expect(performance.now() - closing).toBeLessThan(3_000);
  });

  it('refuses webhook URLs without a secret, a short secret, a non-http URL and an unknown event type', () => {
    expect(() => makeConfig({ webhookUrls: 'https://hooks.example.com/tandem' })).toThrow(
      /webhookSecret \(--webhook-secret \/ WEBHOOK_SECRET\): WEBHOOK_URLS needs a secret/,
    );
    expect(() => makeConfig({ webhookUrls: 'https://hooks.example.com/tandem', webhookSecret: 'short' })).toThrow(
      /WEBHOOK_SECRET\): must be at least 16 characters/,
    );
    expect(() => makeConfig({ webhookUrls: 'ftp://hooks.example.com', webhookSecret: SECRET })).toThrow(
      /WEBHOOK_URLS\): "ftp:\/\/hooks.example.com" is not an http\(s\) URL/,
    );
    expect(() => makeConfig({ webhookUrls: 'https://a.example.com', webhookSecret: SECRET, webhookEvents: 'document.renamed' })).toThrow(
      /WEBHOOK_EVENTS/,
    );
    const config = makeConfig({
      webhookUrls: ' https://a.example.com/x , http://b.example.com ',
      webhookSecret: SECRET,
      webhookEvents: 'chat.message',
    });
    expect(config.webhookUrls).toEqual(['https://a.example.com/x', 'http://b.example.com']);
    expect(config.webhookEvents).toEqual(['chat.message']);
    expect(makeConfig({}).webhookUrls).toEqual([]);
  });
});
