/**
 * Room, Members, Journal and DocSync at their seams, without a network: connections over a fake
 * PeerSocket that records what the room sends; storage is real SQLite (or one that fails).
 */
import { encodeUpdateMessage } from '@tandem/protocol';
import pino from 'pino';
import { describe, expect, it } from 'vitest';
import * as Y from 'yjs';
import { guestAuthenticator, type Identity } from '../src/auth/authenticator.js';
import { GUEST_GRANTS } from '../src/auth/rights.js';
import { InProcessBus, makeConfig, SqliteStorage, type Storage } from '../src/index.js';
import { LogLimiter } from '../src/lib/log-limiter.js';
import { ActivityLimiter } from '../src/rooms/activity-limiter.js';
import { Connection } from '../src/rooms/connection.js';
import { committedWrites } from '../src/storage/room-log.js';
import { Room } from '../src/rooms/room.js';
import { WriteBehind } from '../src/storage/write-behind.js';
import { FakeSocket } from './fake-socket.js';
import { onCleanup, tempDir, until } from './helpers.js';

const guest: Identity = { userId: null, name: null, grants: GUEST_GRANTS, expiresAt: null };

function setup(storage: Storage = new SqliteStorage(tempDir())) {
  const settings = makeConfig({ leaveGraceMs: 0, roomIdleMs: 60_000 });
  const log = pino({ level: 'silent' });
  let room: Room | null = null;
  const persistence = new WriteBehind(storage, {
    intervalMs: 5,
    log,
    onCommitted: (_name, writes) => room?.committed(committedWrites(writes)),
    onHealth: (health) => room?.storageChanged(health),
  });
  room = new Room('unit', {
    storage,
    persistence,
    bus: new InProcessBus(),
    presence: null,
    log,
    logLimiter: new LogLimiter(log),
    authenticator: guestAuthenticator,
    hooks: {},
    settings,
    activityLimiter: new ActivityLimiter(1_000),
    isShuttingDown: () => false,
    onGone: () => {},
  });
  onCleanup(() => {
    persistence.stop();
    room?.dispose();
  });
  const connect = (rights: 'read' | 'write' = 'write', protocol?: string) => {
    const socket = new FakeSocket(protocol);
    const conn = new Connection({ socket, address: '127.0.0.1', room: 'unit', identity: guest, rights, maxBufferedBytes: 1 << 20 });
    room!.attach(conn);
    return { socket, conn, send: (message: object) => room!.receive(conn, Buffer.from(JSON.stringify(message)), false) };
  };
  return { room, connect, persistence };
}

describe('Room at its seams (fake sockets)', () => {
  it('welcomes a joiner with its own join stored, and shows chat to everyone only once it is stored', async () => {
    const { room, connect } = setup();
    await until(() => room.state === 'ready', 'the room loaded');
    const ada = connect();
    ada.send({ type: 'join', name: 'Ada' });
    expect(ada.socket.of('welcome')).toEqual([]); // the join entry is not stored yet
    await until(() => ada.socket.of('welcome').length === 1, 'the welcome');
    expect(ada.socket.of('welcome')[0]).toMatchObject({ you: { name: 'Ada' }, activity: [{ seq: 1, kind: 'join' }], activitySeq: 1 });
    const grace = connect();
    grace.send({ type: 'join', name: 'Grace' });
    grace.send({ type: 'chat', id: 'c1', text: 'hello' }); // held until Grace's welcome
    await until(() => ada.socket.of('chat').length === 1 && grace.socket.of('chat').length === 1, 'the chat at both');
    expect(grace.socket.json.findIndex((m) => m.type === 'welcome')).toBeLessThan(grace.socket.json.findIndex((m) => m.type === 'chat'));
    expect(ada.socket.of('chat')[0]!.message).toMatchObject({ seq: 1, id: 'c1', text: 'hello', author: { name: 'Grace' } });
    expect(room.memberCount).toBe(2);
  });

  it('holds frames sent while the room loads and handles them in order once it has', async () => {
    let release!: () => void;
    const storage = new SqliteStorage(tempDir());
    const slow: Storage = Object.assign(Object.create(storage), {
      loadRoom: async (...args: Parameters<Storage['loadRoom']>) => {
        await new Promise<void>((resolve) => (release = resolve));
        return storage.loadRoom(...args);
      },
    });
    const { room, connect } = setup(slow);
    const ada = connect();
    ada.send({ type: 'join', name: 'Ada' });
    ada.send({ type: 'rename', name: 'Ada L.' });
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect([room.state, ada.socket.json]).toEqual(['loading', []]);
    release();
    await until(() => ada.socket.of('members').some((m) => m.changed.some((c) => c.name === 'Ada L.')), 'the rename after the welcome');
    expect(ada.socket.of('welcome')[0]!.you.name).toBe('Ada');
  });

  it('refuses a read-only member\'s edit: an error on the control channel, "permission denied" for plain Yjs', async () => {
    const { room, connect } = setup();
    await until(() => room.state === 'ready', 'the room loaded');
    const doc = new Y.Doc();
    doc.getText('t').insert(0, 'not allowed');
    const frame = encodeUpdateMessage(Y.encodeStateAsUpdate(doc));
    const control = connect('read');
    room.receive(control.conn, frame, true);
    // Refused, and settled at once: the client's frame 1 needs no storing.
    expect(control.socket.json).toEqual([expect.objectContaining({ type: 'error', code: 'read_only' }), { type: 'saved', through: 1 }]);
    const plain = connect('read', '');
    room.receive(plain.conn, frame, true);
    // sync step 1 on attach, then the y-protocols auth message (type 2) with "permission denied" (0)
    expect([...plain.socket.binary.at(-1)!.slice(0, 2)]).toEqual([2, 0]);
    expect(room.doc.getText('t').toString()).toBe('');
  });

  it('acknowledges nothing while storage fails, tells every member, and sends what waited once it works', async () => {
    let failing = false;
    const storage = new SqliteStorage(tempDir());
    const flaky: Storage = Object.assign(Object.create(storage), {
      loadRoom: (...args: Parameters<Storage['loadRoom']>) => storage.loadRoom(...args),
      write: (batch: Parameters<Storage['write']>[0]) => (failing ? Promise.reject(new Error('SQLITE_FULL')) : storage.write(batch)),
    });
    const { room, connect } = setup(flaky);
    await until(() => room.state === 'ready', 'the room loaded');
    const ada = connect();
    ada.send({ type: 'join', name: 'Ada' });
    await until(() => ada.socket.of('welcome').length === 1, 'the welcome');
    failing = true;
    ada.send({ type: 'chat', id: 'c1', text: 'kept' });
    await until(() => ada.socket.of('storage').length === 1, 'the storage failure announced');
    expect(ada.socket.of('storage')[0]).toMatchObject({ state: 'failing', message: expect.stringMatching(/SQLITE_FULL/) });
    // Once the failure is known, a sender is told why its message is not acknowledged.
    ada.send({ type: 'chat', id: 'c2', text: 'kept too' });
    expect(ada.socket.of('error').map((e) => [e.code, e.ref])).toEqual([['storage_failed', 'c2']]);
    expect(ada.socket.of('chat')).toEqual([]);
    failing = false;
    await until(() => ada.socket.of('chat').length === 2, 'both messages once stored', 5_000);
    expect(ada.socket.of('chat').map((m) => [m.message.seq, m.message.id])).toEqual([
      [1, 'c1'],
      [2, 'c2'],
    ]);
    expect(ada.socket.of('storage').map((m) => m.state)).toEqual(['failing', 'ok']);
  });
});
