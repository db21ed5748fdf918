import { SUBPROTOCOL } from '@tandem/protocol';
import { describe, expect, it } from 'vitest';
import { client, member, rawSocket, startServer, tempDir, until } from './helpers.js';

describe('scrolling back through chat and activity', () => {
  it('loads every older page of 300 messages, from memory and from storage, past the history limit', async () => {
    const dataDir = tempDir();
    let server = await startServer({ dataDir, leaveGraceMs: 0 });
    const ada = await member(server.wsUrl, 'long', 'Ada');
    for (let i = 1; i <= 300; i++) ada.sendChat(`message ${i}`);
    await until(() => ada.chat.length === 300, 'all 300 are stored', 15_000, ada);
    // Activity: 40 visitors come and go (80 entries, more than a welcome's 50).
    for (let i = 0; i < 40; i++) (await member(server.wsUrl, 'long', `Visitor ${i}`)).destroy();
    await until(() => ada.activity.length >= 81, 'the visits are recorded', 10_000, ada);
    await server.close();

    // A restart: memory holds the newest 200, so the oldest page comes from storage.
    server = await startServer({ dataDir });
    const bo = await member(server.wsUrl, 'long', 'Bo', { historyLimit: 60 });
    expect(bo.chat).toHaveLength(50);
    expect(bo.hasOlder('chat')).toBe(true);
    const pages: number[] = [];
    while (bo.hasOlder('chat')) pages.push(await bo.loadOlder('chat', 100));
    expect(pages).toEqual([100, 100, 50]);
    expect(bo.chat.map((m) => m.text)).toEqual(Array.from({ length: 300 }, (_, i) => `message ${i + 1}`));
    expect(await bo.loadOlder('chat')).toBe(0);

    while (bo.hasOlder('activity')) await bo.loadOlder('activity');
    expect(bo.activity.map((e) => e.seq)).toEqual(Array.from({ length: bo.activity.length }, (_, i) => i + 1));
    expect(bo.activity[0]).toMatchObject({ kind: 'join', member: { name: 'Ada' } });
    // Live messages still arrive after the loaded history, and nothing is trimmed.
    ada.destroy();
    const cy = await member(server.wsUrl, 'long', 'Cy');
    cy.sendChat('after the scroll-back');
    await until(() => bo.chat.at(-1)?.text === 'after the scroll-back', 'Bo gets the live message', 5_000, bo);
    expect(bo.chat).toHaveLength(301);
    expect(bo.getSnapshot().olderChat).toBe(false);
  }, 60_000);

  it('refuses a page larger than 100 or a bad log name with bad_message, and keeps the connection', async () => {
    const server = await startServer();
    const watcher = client(server.wsUrl, 'paging', { name: 'Watcher' });
    await watcher.whenJoined();
    const ws = await rawSocket(server.wsUrl, 'paging', SUBPROTOCOL);
    const replies: Array<{ type: string; code?: string }> = [];
    ws.on('message', (data, isBinary) => {
      if (!isBinary) replies.push(JSON.parse(String(data)));
    });
    ws.send(JSON.stringify({ type: 'join', name: 'Raw' }));
    ws.send(JSON.stringify({ type: 'history', log: 'chat', before: 10, limit: 1_000 }));
    ws.send(JSON.stringify({ type: 'history', log: 'secrets', before: 10, limit: 10 }));
    ws.send(JSON.stringify({ type: 'history', log: 'chat', before: 10, limit: 10 }));
    await until(() => replies.some((r) => r.type === 'history'), 'the valid request is answered');
    expect(replies.filter((r) => r.type === 'error').map((r) => r.code)).toEqual(['bad_message', 'bad_message']);
    expect(replies.find((r) => r.type === 'history')).toMatchObject({ log: 'chat', before: 10, entries: [], complete: true });
  });
});
