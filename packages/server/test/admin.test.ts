import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { member, startServer, tempDir, until } from './helpers.js';

const TOKEN = 'an-admin-token-for-tests';
const auth = { authorization: `Bearer ${TOKEN}` };
const repoRoot = fileURLToPath(new URL('../../../', import.meta.url));

/** Runs `npm run admin -- …` the way an operator would (through tsx, against the source). */
function adminCli(url: string, args: string[]): Promise<{ code: number | null; out: string; err: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--conditions=@tandem/source', '--import', 'tsx', 'packages/server/src/admin-cli.ts', ...args], {
      cwd: repoRoot,
      env: { ...process.env, TANDEM_URL: url, ADMIN_TOKEN: TOKEN },
    });
    let out = '';
    let err = '';
    child.stdout.on('data', (chunk) => (out += chunk));
    child.stderr.on('data', (chunk) => (err += chunk));
    child.on('exit', (code) => resolve({ code, out, err }));
  });
}

describe('admin API and CLI', () => {
  it('is refused when ADMIN_TOKEN is unset, and without the right token', async () => {
    const off = await startServer();
    const response = await fetch(`${off.url}/api/admin/rooms`, { headers: auth });
    expect(response.status).toBe(403);
    expect(((await response.json()) as { error: string }).error).toContain('ADMIN_TOKEN');
    const on = await startServer({ adminToken: TOKEN });
    expect((await fetch(`${on.url}/api/admin/rooms`)).status).toBe(401);
    expect((await fetch(`${on.url}/api/admin/rooms`, { headers: { authorization: 'Bearer wrong-token-of-same-size' } })).status).toBe(401);
  });

  it('lists rooms and members, disconnects a member, compacts and closes a room, each in the activity history', async () => {
    const server = await startServer({ adminToken: TOKEN });
    const ada = await member(server.wsUrl, 'ops', 'Ada');
    const bob = await member(server.wsUrl, 'ops', 'Bob');
    ada.doc.getText('t').insert(0, 'some text');
    await ada.whenSaved();
    const list = (await (await fetch(`${server.url}/api/admin/rooms`, { headers: auth })).json()) as {
      rooms: Array<{ name: string; connections: number; members: Array<{ id: string; name: string }>; documentBytes: number }>;
      storage: { ok: boolean };
    };
    const room = list.rooms.find((r) => r.name === 'ops')!;
    expect(room.connections).toBe(2);
    expect(room.members.map((m) => m.name).sort()).toEqual(['Ada', 'Bob']);
    expect(room.documentBytes).toBeGreaterThan(0);
    expect(list.storage.ok).toBe(true);

    const kicked = await fetch(`${server.url}/api/admin/rooms/ops/disconnect`, {
      method: 'POST',
      headers: { ...auth, 'content-type': 'application/json' },
      body: JSON.stringify({ member: bob.me!.id }),
    });
    expect(await kicked.json()).toEqual({ disconnected: 1 });
    await until(() => bob.status.state === 'closed', 'Bob is disconnected and does not reconnect');
    expect(bob.status.state === 'closed' && bob.status.reason).toContain('4001');
    await until(
      () => ada.activity.some((e) => e.kind === 'admin' && e.action === 'disconnect' && e.target?.name === 'Bob'),
      'Ada sees why',
    );

    const compacted = await fetch(`${server.url}/api/admin/rooms/ops/compact`, { method: 'POST', headers: auth });
    expect(await compacted.json()).toEqual({ compacted: true });
    await until(() => ada.activity.some((e) => e.kind === 'admin' && e.action === 'compact'), 'the compaction is in the history');

    const closed = await fetch(`${server.url}/api/admin/rooms/ops/close`, { method: 'POST', headers: auth });
    expect(await closed.json()).toEqual({ closed: 1 });
    await until(() => ada.status.state === 'closed', 'Ada is disconnected too');
    const cy = await member(server.wsUrl, 'ops', 'Cy');
    expect(cy.activity.some((e) => e.kind === 'admin' && e.action === 'close')).toBe(true);
    expect(cy.doc.getText('t').toString()).toBe('some text');

    const level = await fetch(`${server.url}/api/admin/log-level`, {
      method: 'PUT',
      headers: { ...auth, 'content-type': 'application/json' },
      body: JSON.stringify({ level: 'debug' }),
    });
    expect(await level.json()).toEqual({ level: 'debug' });
    expect(server.log.level).toBe('debug');
  });

  it('makes a document read-only for everyone, live and after a restart, and editable again', async () => {
    const dataDir = tempDir();
    let server = await startServer({ adminToken: TOKEN, dataDir });
    const ada = await member(server.wsUrl, 'handbook', 'Ada');
    const bob = await member(server.wsUrl, 'handbook', 'Bob');
    ada.doc.getText('t').insert(0, 'v1');
    await ada.whenSaved();
    const readOnly = (value: boolean) =>
      fetch(`${server.url}/api/admin/rooms/handbook/read-only`, {
        method: 'POST',
        headers: { ...auth, 'content-type': 'application/json' },
        body: JSON.stringify({ readOnly: value }),
      });

    expect(await (await readOnly(true)).json()).toEqual({ readOnly: true });
    await until(() => bob.rights === 'comment' && ada.rights === 'comment', 'both are told their rights changed', 5_000, bob);
    await until(() => ada.activity.some((e) => e.kind === 'admin' && e.action === 'read_only'), 'the history says why');
    // An edit now is undone on the client and refused by the server; chat still works.
    const refused = new Promise<{ code: string }>((resolve) => bob.once('error', resolve));
    bob.doc.getText('t').insert(0, 'sneaky ');
    expect(await refused).toMatchObject({ code: 'read_only' });
    bob.sendChat('can we still talk?');
    await until(() => ada.chat.some((m) => m.text === 'can we still talk?'), 'chat still works');
    const watcher = await member(server.wsUrl, 'handbook', 'Watcher');
    expect(watcher.doc.getText('t').toString()).toBe('v1');
    expect(watcher.rights).toBe('comment');
    const listed = (await (await fetch(`${server.url}/api/admin/rooms`, { headers: auth })).json()) as {
      rooms: Array<{ readOnly: boolean }>;
    };
    expect(listed.rooms[0]!.readOnly).toBe(true);

    // The flag is stored with the document.
    await server.close();
    server = await startServer({ adminToken: TOKEN, dataDir });
    const later = await member(server.wsUrl, 'handbook', 'Later');
    expect(later.rights).toBe('comment');
    expect(((await (await fetch(`${server.url}/api/documents/handbook`)).json()) as { readOnly: boolean }).readOnly).toBe(true);

    expect(await (await readOnly(false)).json()).toEqual({ readOnly: false });
    await until(() => later.rights === 'write', 'editing is back', 5_000, later);
    later.doc.getText('t').insert(2, ' and v2');
    await later.whenSaved();
    expect(later.doc.getText('t').toString()).toBe('v1 and v2');
    expect(
      (
        await fetch(`${server.url}/api/admin/rooms/no-such-doc/read-only`, {
          method: 'POST',
          headers: { ...auth, 'content-type': 'application/json' },
          body: '{"readOnly":true}',
        })
      ).status,
    ).toBe(404);
  });

  it('deletes a document: its members are closed with 4003 and nothing of it is left', async () => {
    const server = await startServer({ adminToken: TOKEN });
    const ada = await member(server.wsUrl, 'doomed', 'Ada');
    ada.doc.getText('t').insert(0, 'soon gone');
    ada.sendChat('last words');
    await until(() => ada.chat.length === 1, 'the chat is stored');
    await ada.whenSaved();
    const deleted = await fetch(`${server.url}/api/admin/rooms/doomed`, { method: 'DELETE', headers: auth });
    expect(await deleted.json()).toEqual({ deleted: true, closed: 1 });
    await until(() => ada.status.state === 'closed', 'Ada is closed and does not reconnect');
    expect(ada.status.state === 'closed' && ada.status.reason).toContain('4003');
    expect(
      ((await fetch(`${server.url}/api/documents`).then((r) => r.json())) as { documents: Array<{ name: string }> }).documents.map(
        (d) => d.name,
      ),
    ).not.toContain('doomed');
    // Joining the name again starts an empty document with no history.
    const cy = await member(server.wsUrl, 'doomed', 'Cy');
    expect(cy.doc.getText('t').toString()).toBe('');
    expect(cy.chat).toEqual([]);
    expect(cy.activity.map((e) => e.kind)).toEqual(['join']);
    expect((await fetch(`${server.url}/api/admin/rooms/never-was`, { method: 'DELETE', headers: auth })).status).toBe(404);
  });

  it('does the same from `npm run admin`', async () => {
    const server = await startServer({ adminToken: TOKEN });
    const ada = await member(server.wsUrl, 'cli-room', 'Ada');
    const bob = await member(server.wsUrl, 'cli-room', 'Bob');
    const rooms = await adminCli(server.url, ['rooms']);
    expect(rooms.code).toBe(0);
    expect(rooms.out).toMatch(/cli-room\s+2\s+.*Ada/);
    expect(rooms.out).toContain('storage: ok');
    const kick = await adminCli(server.url, ['kick', 'cli-room', 'Bob']);
    expect(kick.out).toContain('Disconnected Bob from "cli-room"');
    await until(() => bob.status.state === 'closed', 'Bob is disconnected');
    const missing = await adminCli(server.url, ['kick', 'cli-room', 'Nobody']);
    expect(missing.code).toBe(1);
    expect(missing.err).toContain('no member "Nobody"');
    expect(ada.status.state).toBe('open');
    expect((await adminCli(server.url, ['read-only', 'cli-room'])).out).toContain('"cli-room" is read-only now.');
    await until(() => ada.rights === 'comment', 'Ada may not edit', 5_000, ada);
    expect((await adminCli(server.url, ['writable', 'cli-room'])).out).toContain('"cli-room" can be edited again.');
    await until(() => ada.rights === 'write', 'Ada may edit again', 5_000, ada);
    const unconfirmed = await adminCli(server.url, ['delete', 'cli-room']);
    expect(unconfirmed.code).toBe(1);
    expect(unconfirmed.err).toContain('cannot be undone');
    expect(ada.status.state).toBe('open');
    expect((await adminCli(server.url, ['delete', 'cli-room', '--yes'])).out).toContain('Deleted "cli-room" (1 connection closed).');
    await until(() => ada.status.state === 'closed', 'Ada is closed');
  }, 60_000);
});
