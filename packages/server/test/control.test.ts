import { parseServerMessage, SUBPROTOCOL } from '@tandem/protocol';
import { describe, expect, it } from 'vitest';
import { client, controlMessages, member, next, rawSocket, startServer, until } from './helpers.js';

describe('control channel', () => {
  it('welcomes a member with id, color, members and history, and tells the others', async () => {
    const server = await startServer();
    const alice = await member(server.wsUrl, 'team', 'Alice');
    expect(alice.me).toMatchObject({ name: 'Alice', color: expect.stringMatching(/^#[0-9a-f]{6}$/) });
    const bob = await member(server.wsUrl, 'team', 'Bob');
    expect(bob.members.map((m) => m.name).sort()).toEqual(['Alice', 'Bob']);
    await until(() => alice.members.length === 2, "Bob in Alice's member list", 5_000, alice);
    expect(bob.activity.map((e) => `${e.member.name} ${e.kind}`)).toEqual(['Alice join', 'Bob join']);
  });

  it('records join, leave and rename as activity for everyone, in order', async () => {
    const server = await startServer();
    const alice = await member(server.wsUrl, 'history', 'Alice');
    const bob = await member(server.wsUrl, 'history', 'Bob');
    bob.setName('Robert');
    await until(() => alice.activity.length === 3, 'the rename at Alice', 5_000, alice);
    bob.close();
    await until(() => alice.activity.length === 4, "Bob's departure at Alice", 5_000, alice);
    expect(alice.activity.map((e) => [e.seq, e.kind, e.member.name, e.previousName])).toEqual([
      [1, 'join', 'Alice', undefined],
      [2, 'join', 'Bob', undefined],
      [3, 'rename', 'Robert', 'Bob'],
      [4, 'leave', 'Robert', undefined],
    ]);
    expect(alice.members.map((m) => m.name)).toEqual(['Alice']);
  });

  it('gives chat one total order per room with seq, author and time', async () => {
    const server = await startServer();
    const alice = await member(server.wsUrl, 'chat', 'Alice');
    const bob = await member(server.wsUrl, 'chat', 'Bob');
    for (let i = 0; i < 20; i++) {
      alice.sendChat(`a${i}`);
      bob.sendChat(`b${i}`);
    }
    await until(() => alice.chat.length === 40 && bob.chat.length === 40, '40 messages at both', 5_000);
    expect(alice.chat).toEqual(bob.chat);
    expect(alice.chat.map((m) => m.seq)).toEqual(Array.from({ length: 40 }, (_, i) => i + 1));
    // Each sender's own messages keep the order they were sent in.
    expect(alice.chat.filter((m) => m.author.name === 'Alice').map((m) => m.text)).toEqual(Array.from({ length: 20 }, (_, i) => `a${i}`));
    expect(alice.chat[0]).toMatchObject({ author: { name: expect.any(String), color: expect.any(String) }, time: expect.any(Number) });
    expect(alice.pendingChat).toEqual([]);
  });

  it('keeps the first message of a chat id and confirms a re-send only to its sender', async () => {
    const server = await startServer();
    const watcher = await member(server.wsUrl, 'dedupe', 'Watcher');
    const ws = await rawSocket(server.wsUrl, 'dedupe', SUBPROTOCOL);
    const received = controlMessages(ws);
    ws.send(JSON.stringify({ type: 'join', name: 'Sender' }));
    ws.send(JSON.stringify({ type: 'chat', id: 'msg-1', text: 'once' }));
    ws.send(JSON.stringify({ type: 'chat', id: 'msg-1', text: 'once (again)' }));
    ws.send(JSON.stringify({ type: 'chat', id: 'msg-2', text: 'twice' }));
    await until(() => received.filter((m) => m.type === 'chat').length === 3, 'three chat frames at the sender');
    const chats = received.filter((m) => m.type === 'chat').map((m) => [m.message.seq, m.message.id, m.message.text]);
    expect(chats).toEqual([
      [1, 'msg-1', 'once'],
      [1, 'msg-1', 'once'],
      [2, 'msg-2', 'twice'],
    ]);
    await until(() => watcher.chat.length === 2, 'two messages at the watcher', 5_000, watcher);
    expect(watcher.chat.map((m) => m.text)).toEqual(['once', 'twice']);
  });

  it('relays typing and app events to the other members only', async () => {
    const server = await startServer();
    const alice = await member(server.wsUrl, 'relay', 'Alice');
    const bob = await member(server.wsUrl, 'relay', 'Bob');
    const typing = next<readonly { name: string }[]>(bob, 'typing');
    alice.setTyping(true);
    expect((await typing).map((m) => m.name)).toEqual(['Alice']);
    const stopped = next<readonly unknown[]>(bob, 'typing');
    alice.setTyping(false);
    expect(await stopped).toEqual([]);
    const event = new Promise<unknown[]>((resolve) => bob.once('event', (...args: unknown[]) => resolve(args)));
    alice.sendEvent('cursor-jump', { line: 3 });
    const [name, data, from] = await event;
    expect([name, data, (from as { name: string }).name]).toEqual(['cursor-jump', { line: 3 }, 'Alice']);
  });

  it('batches a join storm into a few presence frames per member, losing no join', async () => {
    const server = await startServer();
    const watcher = await rawSocket(server.wsUrl, 'storm', SUBPROTOCOL);
    const received = controlMessages(watcher);
    watcher.send(JSON.stringify({ type: 'join', name: 'Watcher' }));
    await until(() => received.some((m) => m.type === 'welcome'), 'the watcher welcomed');
    const joiners = await Promise.all(Array.from({ length: 40 }, () => rawSocket(server.wsUrl, 'storm', SUBPROTOCOL)));
    // Joins a few ms apart, as in a room reconnecting after a restart (each in its own turn).
    for (const [i, ws] of joiners.entries()) {
      ws.send(JSON.stringify({ type: 'join', name: `Guest ${i}` }));
      await new Promise((resolve) => setTimeout(resolve, 3));
    }
    const of = (type: string) => received.filter((m) => m.type === type);
    const joinedNames = () => new Set(of('members').flatMap((m) => m.changed.map((c: { name: string }) => c.name)));
    const entries = () => of('activity').flatMap((m) => m.entries as Array<{ seq: number; kind: string }>);
    await until(() => joinedNames().size === 41 && entries().length >= 41, 'all 41 joins at the watcher');
    expect(new Set(entries().map((e) => e.seq)).size).toBe(entries().length);
    expect(entries().filter((e) => e.kind === 'join')).toHaveLength(41);
    // One frame per join would be 40 of each; joins over ~150 ms, sent per 50 ms, make a handful.
    expect(of('members').length).toBeLessThan(10);
    expect(of('activity').length).toBeLessThan(10);
  });

  it('batches presence longer in a bigger room, so joins slower than 50 ms apart still share frames', async () => {
    const server = await startServer({ maxConnectionsPerIp: 1_000, handshakesPerSecondPerIp: 1_000 });
    const join = async (name: string) => {
      const ws = await rawSocket(server.wsUrl, 'big', SUBPROTOCOL);
      ws.send(JSON.stringify({ type: 'join', name }));
      return ws;
    };
    const watcher = await join('Watcher');
    for (let i = 0; i < 60; i++) await join(`Early ${i}`);
    await new Promise((resolve) => setTimeout(resolve, 1_200));
    // 61 connections: a presence interval of about 300 ms. 10 joins 60 ms apart over ~600 ms.
    const received = controlMessages(watcher);
    for (let i = 0; i < 10; i++) {
      await join(`Late ${i}`);
      await new Promise((resolve) => setTimeout(resolve, 60));
    }
    const names = () =>
      new Set(received.filter((m) => m.type === 'members').flatMap((m) => m.changed.map((c: { name: string }) => c.name)));
    await until(() => names().size === 10, 'the 10 late joins at the watcher');
    expect(received.filter((m) => m.type === 'members').length).toBeLessThanOrEqual(5);
  });

  it('stretches the presence interval while changes keep coming, losing none', async () => {
    // 120 renames from one address: past the default activity rate, which is not under test here.
    const server = await startServer({ activityPerMinute: 100_000 });
    const watcher = await rawSocket(server.wsUrl, 'busy', SUBPROTOCOL);
    watcher.send(JSON.stringify({ type: 'join', name: 'Watcher' }));
    const renamer = await rawSocket(server.wsUrl, 'busy', SUBPROTOCOL);
    renamer.send(JSON.stringify({ type: 'join', name: 'Name 0' }));
    await new Promise((resolve) => setTimeout(resolve, 200));
    const received = controlMessages(watcher);
    // A rename every 10 ms for 1.2 s in a room of two (a 50 ms interval): 24 flushes unstretched.
    for (let i = 1; i <= 120; i++) {
      renamer.send(JSON.stringify({ type: 'rename', name: `Name ${i}` }));
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    const renames = () =>
      received
        .filter((m) => m.type === 'activity')
        .flatMap((m) => m.entries as Array<{ kind: string }>)
        .filter((e) => e.kind === 'rename');
    await until(() => renames().length === 120, 'all 120 renames at the watcher');
    const members = received.filter((m) => m.type === 'members');
    expect(members.at(-1)!.changed.map((c: { name: string }) => c.name)).toEqual(['Name 120']);
    // Stretched to 4 × 50 ms after two busy flushes: about 9.
    expect(members.length).toBeLessThan(14);
  });

  it('does not report activity a fresh member already had in its welcome', async () => {
    const server = await startServer();
    await member(server.wsUrl, 'fresh', 'Alice');
    const bob = client(server.wsUrl, 'fresh', { name: 'Bob' });
    const events: number[] = [];
    bob.on('activity', (entry) => events.push(entry.seq));
    await bob.whenJoined();
    const carol = await member(server.wsUrl, 'fresh', 'Carol');
    await until(() => bob.activity.length === 3, "Carol's join at Bob", 5_000, bob);
    await new Promise((resolve) => setTimeout(resolve, 150));
    // Bob's welcome held Alice's and his own join; the batch that follows repeats his own.
    expect(bob.activity.map((e) => `${e.member.name} ${e.kind}`)).toEqual(['Alice join', 'Bob join', 'Carol join']);
    expect(events).toEqual([carol.activity.at(-1)!.seq]);
  });

  it('answers invalid control messages with an error frame and keeps the connection', async () => {
    const server = await startServer();
    const ws = await rawSocket(server.wsUrl, 'strict', SUBPROTOCOL);
    const received = controlMessages(ws);
    ws.send('{not json');
    ws.send(JSON.stringify({ type: 'chat', id: 'x', text: 'before join' }));
    ws.send(JSON.stringify({ type: 'join', name: '' }));
    ws.send(JSON.stringify({ type: 'warp', to: 'mars' }));
    ws.send(JSON.stringify({ type: 'join', name: 'Eve', admin: true }));
    ws.send(JSON.stringify({ type: 'join', name: 'Eve' }));
    ws.send(JSON.stringify({ type: 'join', name: 'Eve' }));
    // Eve's own join comes back in the room's batched `members` and `activity`; not answers.
    const answers = () => received.filter((m) => m.type !== 'members' && m.type !== 'activity');
    await until(() => answers().length === 7, 'seven answers');
    expect(answers().map((m) => (m.type === 'error' ? m.code : m.type))).toEqual([
      'bad_message',
      'not_joined',
      'bad_message',
      'bad_message',
      'bad_message',
      'welcome',
      'already_joined',
    ]);
    expect(answers()[2]?.message).toMatch(/name must not be empty/);
    expect(ws.readyState).toBe(ws.OPEN);
  });
});

describe('server messages', () => {
  it('match the protocol schema (the SDK relies on it and does not re-validate)', async () => {
    const server = await startServer();
    const watcher = await rawSocket(server.wsUrl, 'schema', SUBPROTOCOL);
    const frames: string[] = [];
    watcher.on('message', (data, isBinary) => !isBinary && frames.push(data.toString()));
    watcher.send(JSON.stringify({ type: 'join', name: 'Watcher' }));
    const alice = await member(server.wsUrl, 'schema', 'Alice');
    alice.sendChat('hello');
    alice.setTyping(true);
    alice.sendEvent('ping', { n: [1, 2] });
    alice.setName('Alicia');
    watcher.send(JSON.stringify({ type: 'resume', chatSeq: 0, activitySeq: 0 }));
    watcher.send(JSON.stringify({ type: 'nonsense' }));
    alice.close();
    await until(() => frames.some((f) => f.includes('"leave"')) && frames.some((f) => f.includes('resumed')), 'a full conversation');
    const kinds = new Set<string>();
    for (const frame of frames) {
      const parsed = parseServerMessage(frame);
      expect(parsed, frame).toMatchObject({ ok: true });
      if (parsed.ok) kinds.add(parsed.message.type);
    }
    expect([...kinds].sort()).toEqual(['activity', 'chat', 'error', 'event', 'members', 'resumed', 'typing', 'welcome']);
  });
});
