import { CloseCode, SUBPROTOCOL, TOKEN_PROTOCOL_PREFIX } from '@tandem/protocol';
import { SignJWT } from 'jose';
import { describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { WebsocketProvider } from 'y-websocket';
import * as Y from 'yjs';
import { client, closeEvent, controlMessages, member, onCleanup, rawSocket, refusal, startServer, until } from './helpers.js';

const SECRET = 'a-test-secret-that-is-long-enough-0123';
const jwtConfig = { auth: 'jwt' as const, jwtSecret: SECRET };

function token(claims: Record<string, unknown>, { sub = 'u-1', expiresIn = '1h', secret = SECRET } = {}): Promise<string> {
  return new SignJWT(claims)
    .setProtectedHeader({ alg: 'HS256' })
    .setSubject(sub)
    .setIssuedAt()
    .setExpirationTime(expiresIn)
    .sign(new TextEncoder().encode(secret));
}

const joinAs = (ws: WebSocket, name: string) => ws.send(JSON.stringify({ type: 'join', name }));

describe('handshake refusals', () => {
  it('refuses a foreign Origin with 403 and accepts its own, an allowed one, or none', async () => {
    const server = await startServer({ allowedOrigins: 'https://app.example' });
    const refused = await refusal(`${server.wsUrl}/ws/r`, undefined, { origin: 'https://evil.example' });
    expect(refused.status).toBe(403);
    expect(refused.body).toEqual({ error: expect.stringMatching(/origin https:\/\/evil\.example may not/), code: 'origin_not_allowed' });
    await rawSocket(server.wsUrl, 'r', undefined, { origin: server.url });
    await rawSocket(server.wsUrl, 'r', undefined, { origin: 'https://app.example' });
    await rawSocket(server.wsUrl, 'r');
  });

  it('takes the https page of a TLS-terminating proxy as its own origin only when the proxy is trusted', async () => {
    // What nginx passes on for a page at https://<host>: the browser's Host and Origin, and the scheme it was reached by.
    const viaProxy = (server: { url: string }) => ({
      origin: server.url.replace('http:', 'https:'),
      headers: { 'X-Forwarded-Proto': 'https' },
    });
    const trusting = await startServer({ trustProxy: 'loopback' });
    await rawSocket(trusting.wsUrl, 'r', undefined, viaProxy(trusting));
    const untrusting = await startServer();
    expect((await refusal(`${untrusting.wsUrl}/ws/r`, undefined, viaProxy(untrusting))).status).toBe(403);
  });

  it('answers too many handshakes a second from one address with 429 and Retry-After', async () => {
    const server = await startServer({ handshakesPerSecondPerIp: 3 });
    for (let i = 0; i < 3; i++) await rawSocket(server.wsUrl, 'r');
    const refused = await refusal(`${server.wsUrl}/ws/r`);
    expect(refused.status).toBe(429);
    expect(refused.headers['retry-after']).toBe('1');
  });

  it('answers more concurrent connections than allowed from one address with 429, and frees the slot on close', async () => {
    const server = await startServer({ maxConnectionsPerIp: 2 });
    const first = await rawSocket(server.wsUrl, 'r');
    await rawSocket(server.wsUrl, 'r');
    expect((await refusal(`${server.wsUrl}/ws/r`)).status).toBe(429);
    first.close();
    await closeEvent(first);
    await until(() => server.registry.get('r')?.connectionCount === 1, 'the server to see the close');
    await rawSocket(server.wsUrl, 'r');
  });

  it('refuses a join to a full room with 503', async () => {
    const server = await startServer({ maxConnectionsPerRoom: 2 });
    await rawSocket(server.wsUrl, 'small');
    await rawSocket(server.wsUrl, 'small');
    const refused = await refusal(`${server.wsUrl}/ws/small`);
    expect(refused.status).toBe(503);
    expect(refused.body.error).toBe('room "small" is full (2 connections)');
    await rawSocket(server.wsUrl, 'other');
  });
});

describe('JWT authentication', () => {
  it('refuses a missing, malformed, badly signed or expired token with 401 before the upgrade', async () => {
    const server = await startServer(jwtConfig);
    const url = `${server.wsUrl}/ws/doc-1`;
    expect((await refusal(url)).body.error).toMatch(/a token is required/);
    expect((await refusal(`${url}?token=not.a.jwt`)).status).toBe(401);
    const forged = await token({ rooms: { '*': 'write' } }, { secret: 'another-secret-that-is-long-enough-xyz' });
    expect((await refusal(`${url}?token=${forged}`)).body.error).toMatch(/not valid/);
    const expired = await token({ rooms: { '*': 'write' } }, { expiresIn: '-1m' });
    expect((await refusal(`${url}?token=${expired}`)).body.error).toMatch(/expired/);
    const noRooms = await token({});
    expect((await refusal(`${url}?token=${noRooms}`)).body.error).toMatch(/claims/);
    expect(server.registry.get('doc-1')).toBeUndefined();
  });

  it('takes the token from the query, a cookie or the subprotocol list, and refuses rooms it does not cover with 403', async () => {
    const server = await startServer(jwtConfig);
    const jwt = await token({ rooms: { 'doc-*': 'write' } });
    await rawSocket(server.wsUrl, `doc-1?token=${jwt}`);
    await rawSocket(server.wsUrl, 'doc-2', undefined, { headers: { cookie: `theme=dark; tandem_token=${jwt}` } });
    const viaProtocol = await rawSocket(server.wsUrl, 'doc-3', [SUBPROTOCOL, TOKEN_PROTOCOL_PREFIX + jwt]);
    expect(viaProtocol.protocol).toBe(SUBPROTOCOL);
    const elsewhere = await refusal(`${server.wsUrl}/ws/secret-plans?token=${jwt}`);
    expect(elsewhere.status).toBe(403);
    expect(elsewhere.body.error).toBe('the token gives no access to room "secret-plans"');
    const lone = await refusal(`${server.wsUrl}/ws/doc-4`, [TOKEN_PROTOCOL_PREFIX + jwt]);
    expect(lone.status).toBe(400);
  });

  it('names the member after the token, and lets the SDK connect with a token', async () => {
    const server = await startServer(jwtConfig);
    const jwt = await token({ name: 'Alice Verified', rooms: { '*': 'write' } });
    const alice = await member(server.wsUrl, 'doc', 'Mallory', { token: jwt });
    expect(alice.me?.name).toBe('Alice Verified');
    expect(alice.rights).toBe('write');
  });

  it('shows everything to a read-only member but never applies its edits', async () => {
    const server = await startServer(jwtConfig);
    const writer = await member(server.wsUrl, 'handbook', 'Writer', { token: await token({ rooms: { '*': 'write' } }, { sub: 'w' }) });
    writer.doc.getText('t').insert(0, 'official text');
    const reader = await member(server.wsUrl, 'handbook', 'Reader', {
      token: await token({ rooms: { handbook: 'read', '*': 'write' } }, { sub: 'r' }),
    });
    expect(reader.rights).toBe('read');
    await until(() => reader.doc.getText('t').toString() === 'official text', 'the text at the reader');
    const errors: string[] = [];
    reader.on('error', (error) => errors.push(error.code));
    reader.doc.getText('t').insert(0, 'vandalism ');
    await until(() => errors.includes('read_only'), 'the read_only error');
    const sent = reader.sendChat('may I?');
    await until(() => errors.includes('forbidden'), 'the forbidden error for chat');
    writer.doc.getText('t').insert(13, '!');
    await until(() => reader.doc.getText('t').toString().endsWith('official text!'), 'later edits still reach the reader');
    expect(server.registry.get('handbook')?.doc.getText('t').toString()).toBe('official text!');
    expect(writer.doc.getText('t').toString()).toBe('official text!');
    expect(writer.chat.some((m) => m.id === sent)).toBe(false);
  });

  it('lets a comment member chat but not edit', async () => {
    const server = await startServer(jwtConfig);
    const commenter = await member(server.wsUrl, 'doc', 'C', { token: await token({ rooms: { '*': 'comment' } }) });
    commenter.sendChat('a remark');
    await until(() => commenter.chat.length === 1, 'the chat confirmed');
    const errors: string[] = [];
    commenter.on('error', (error) => errors.push(error.code));
    commenter.doc.getText('t').insert(0, 'edit');
    await until(() => errors.includes('read_only'), 'the read_only error');
    expect(server.registry.get('doc')?.doc.getText('t').toString()).toBe('');
  });

  it('answers a read-only stock y-websocket client with "permission denied" and keeps the document', async () => {
    const server = await startServer(jwtConfig);
    const jwt = await token({ rooms: { '*': 'read' } });
    const doc = new Y.Doc();
    doc.getText('t').insert(0, 'local only');
    const provider = new WebsocketProvider(`${server.wsUrl}/ws`, 'guarded', doc, {
      WebSocketPolyfill: WebSocket as never,
      disableBc: true,
      params: { token: jwt },
    });
    onCleanup(() => provider.destroy());
    const denied: string[] = [];
    const ws = await new Promise<WebSocket>((resolve) => provider.once('status', () => resolve(provider.ws as unknown as WebSocket)));
    ws.addEventListener('message', (event: { data: unknown }) => {
      const bytes = new Uint8Array(event.data as ArrayBuffer);
      if (bytes[0] === 2) denied.push(new TextDecoder().decode(bytes.slice(3)));
    });
    await until(() => denied.length > 0, 'a permission-denied message');
    expect(denied[0]).toMatch(/may not edit/);
    expect(server.registry.get('guarded')?.doc.getText('t').toString()).toBe('');
  });

  it('warns before the token expires, closes with 1008 when it does, and keeps a connection that re-authenticates', async () => {
    const server = await startServer(jwtConfig);
    const short = await token({ rooms: { '*': 'write' } }, { expiresIn: '2s' });
    // Listen before the socket opens: the warning is due at once and may arrive with the handshake.
    const ws = new WebSocket(`${server.wsUrl}/ws/doc?token=${short}`, SUBPROTOCOL);
    onCleanup(() => ws.terminate());
    const received = controlMessages(ws);
    await new Promise((resolve) => ws.once('open', resolve));
    joinAs(ws, 'Brief');
    await until(() => received.some((m) => m.code === 'token_expiring'), 'the expiry warning');
    const closed = closeEvent(ws);
    await until(() => received.some((m) => m.code === 'token_expired'), 'the expiry', 5_000);
    expect(await closed).toEqual({ code: CloseCode.policyViolation, reason: 'token expired' });

    // With a token provider the SDK answers the warning on its own and stays connected.
    let issued = 0;
    const handle = client(server.wsUrl, 'doc', {
      name: 'Renewer',
      token: () => token({ rooms: { '*': 'write' } }, { expiresIn: issued++ === 0 ? '2s' : '1h' }),
    });
    await handle.whenJoined();
    await until(() => issued === 2, 'a second token fetched for renewal', 5_000);
    await new Promise((resolve) => setTimeout(resolve, 2_500));
    expect(handle.status.state).toBe('open');
  });

  it('refuses re-authentication as somebody else', async () => {
    const server = await startServer(jwtConfig);
    const ws = await rawSocket(server.wsUrl, `doc?token=${await token({ rooms: { '*': 'write' } }, { sub: 'alice' })}`, SUBPROTOCOL);
    const received = controlMessages(ws);
    joinAs(ws, 'Alice');
    ws.send(JSON.stringify({ type: 'auth', token: await token({ rooms: { '*': 'write' } }, { sub: 'mallory' }) }));
    ws.send(JSON.stringify({ type: 'auth', token: 'garbage' }));
    await until(() => received.filter((m) => m.type === 'error').length === 2, 'two errors');
    expect(
      received
        .filter((m) => m.type === 'error')
        .map((m) => m.code)
        .sort(),
    ).toEqual(['forbidden', 'unauthorized']);
    expect(ws.readyState).toBe(ws.OPEN);
  });
});

describe('limits on a live connection', () => {
  it('closes a sender of a frame over the size limit with 1009', async () => {
    const server = await startServer({ maxPayloadBytes: 64 * 1024 });
    const alice = await member(server.wsUrl, 'big', 'Alice');
    const ws = await rawSocket(server.wsUrl, 'big', SUBPROTOCOL);
    const closed = closeEvent(ws);
    ws.send(JSON.stringify({ type: 'chat', id: 'x', text: 'y'.repeat(70 * 1024) }));
    expect((await closed).code).toBe(CloseCode.messageTooBig);
    expect(alice.status.state).toBe('open');
  });

  it('refuses an update that would grow the document past its limit, leaving the document as it was', async () => {
    const server = await startServer({ maxDocumentBytes: 4096 });
    const alice = await member(server.wsUrl, 'capped', 'Alice');
    alice.doc.getText('t').insert(0, 'small');
    await until(() => server.registry.get('capped')?.doc.getText('t').toString() === 'small', 'the small edit applied');
    const errors: string[] = [];
    alice.on('error', (error) => errors.push(error.code));
    const closes: number[] = [];
    alice.on('status', (status) => status.state === 'reconnecting' && closes.push(status.closeCode));
    alice.doc.getText('t').insert(5, 'x'.repeat(8_000));
    await until(() => errors.includes('too_large') && closes.length > 0, 'the refusal and the close');
    expect(closes[0]).toBe(CloseCode.messageTooBig);
    expect(server.registry.get('capped')?.doc.getText('t').toString()).toBe('small');
  });

  it('slows a flooding connection down without dropping anything, and warns it once', async () => {
    // 64 KiB/s with a 128 KiB burst: 80 messages of 4 KiB (320 KiB) need at least 3 s.
    const server = await startServer({ bytesPerSecond: 64 * 1024, rateLimitCloseAfterMs: 20_000 });
    const ws = await rawSocket(server.wsUrl, 'flood', SUBPROTOCOL);
    const received = controlMessages(ws);
    joinAs(ws, 'Eager');
    const count = 80;
    for (let i = 0; i < count; i++) ws.send(JSON.stringify({ type: 'chat', id: `m${i}`, text: 'x'.repeat(4000) }));
    await until(() => received.filter((m) => m.type === 'chat').length === count, 'every message handled', 15_000);
    // The warning came while messages were held back: before the last acknowledgements.
    const warnedAt = received.findIndex((m) => m.code === 'rate_limited');
    expect(warnedAt).toBeGreaterThan(-1);
    expect(warnedAt).toBeLessThan(received.findLastIndex((m) => m.type === 'chat'));
    expect(received.filter((m) => m.code === 'rate_limited')).toHaveLength(1);
    expect(received.filter((m) => m.type === 'chat').map((m) => m.message.seq)).toEqual(Array.from({ length: count }, (_, i) => i + 1));
  });

  it('closes a connection that stays over its rate with 1008', async () => {
    const server = await startServer({ messagesPerSecond: 20, rateLimitCloseAfterMs: 300 });
    const bystander = await member(server.wsUrl, 'flood', 'Calm');
    const ws = await rawSocket(server.wsUrl, 'flood', SUBPROTOCOL);
    const closed = closeEvent(ws);
    const timer = setInterval(() => {
      if (ws.readyState !== ws.OPEN) return clearInterval(timer);
      for (let i = 0; i < 50; i++) ws.send(JSON.stringify({ type: 'typing', on: true }));
    }, 20);
    onCleanup(() => clearInterval(timer));
    expect(await closed).toEqual({ code: CloseCode.policyViolation, reason: 'rate limit exceeded' });
    expect(bystander.status.state).toBe('open');
  });
});

describe('HTTP hygiene', () => {
  it('sends security headers with a Content-Security-Policy', async () => {
    const server = await startServer();
    const response = await fetch(`${server.url}/`);
    const csp = response.headers.get('content-security-policy') ?? '';
    expect(csp).toContain("default-src 'self'");
    expect(csp).toContain("frame-ancestors 'none'");
    expect(csp).toContain("script-src 'self'");
    expect(response.headers.get('x-content-type-options')).toBe('nosniff');
    expect(response.headers.get('strict-transport-security')).toBeNull();
  });

  it('answers errors with JSON and no stack trace', async () => {
    const server = await startServer();
    const response = await fetch(`${server.url}/api/documents`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{"title":',
    });
    const body = await response.text();
    expect(response.status).toBe(400);
    expect(JSON.parse(body)).toEqual({ error: expect.stringMatching(/JSON/), code: 'bad_request' });
    expect(body).not.toMatch(/node_modules|\.js:\d+/);
  });
});

describe('document API with authentication', () => {
  it('needs a token, lists only the documents the token covers, and creates only where it may write', async () => {
    const server = await startServer(jwtConfig);
    const admin = await token({ rooms: { '*': 'write' } }, { sub: 'admin' });
    const api = (path: string, jwt?: string, body?: unknown) =>
      fetch(`${server.url}/api/documents${path}`, {
        method: body ? 'POST' : 'GET',
        headers: { ...(jwt ? { authorization: `Bearer ${jwt}` } : {}), ...(body ? { 'content-type': 'application/json' } : {}) },
        ...(body ? { body: JSON.stringify(body) } : {}),
      });
    expect((await api('')).status).toBe(401);
    const plans = (await (await api('', admin, { title: 'Plans' })).json()) as { name: string };
    const notes = (await (await api('', admin, { title: 'Notes' })).json()) as { name: string };
    const reader = await token({ rooms: { [plans.name]: 'read' } }, { sub: 'reader' });
    const listed = (await (await api('', reader)).json()) as { documents: Array<{ name: string }> };
    expect(listed.documents.map((d) => d.name)).toEqual([plans.name]);
    expect((await api(`/${notes.name}`, reader)).status).toBe(403);
    expect((await api('', reader, { title: 'Mine' })).status).toBe(403);
  });
});

describe('slow consumers', () => {
  it('drops a client that stops reading once too much is queued for it, and keeps serving the others', async () => {
    // 2 MiB: far less than the 12 MB the sleeper is sent, far more than a reader that keeps up falls behind.
    const server = await startServer({ maxBufferedBytes: 2 * 1024 * 1024, bytesPerSecond: 64 * 1024 * 1024 });
    const writer = await member(server.wsUrl, 'slow', 'Writer');
    const reader = await member(server.wsUrl, 'slow', 'Reader');
    const sleeper = await rawSocket(server.wsUrl, 'slow');
    // Stop reading from the socket: the kernel buffers fill, then the server's queue grows.
    (sleeper as unknown as { _socket: { pause(): void } })._socket.pause();
    const chunk = 'x'.repeat(100_000);
    // One insert per turn: merged into one frame, 120 inserts would reach the reader as frames of
    // several MB, and a reader on a loaded machine that is that far behind is dropped too.
    for (let i = 0; i < 120; i++) {
      writer.doc.getText('t').insert(0, chunk);
      await new Promise((resolve) => setImmediate(resolve));
    }
    await until(() => server.registry.get('slow')?.connectionCount === 2, 'the sleeping client dropped', 15_000);
    await until(() => reader.doc.getText('t').length === 120 * chunk.length, 'everything at the reading client', 15_000);
  });
});
