import { encodeUpdateMessage, SUBPROTOCOL } from '@tandem/protocol';
import { describe, expect, it } from 'vitest';
import * as Y from 'yjs';
import { SqliteStorage } from '../src/storage/sqlite.js';
import { controlMessages, rawSocket, startServer, until } from './helpers.js';

/** A Yjs update inserting `text` from a document of its own. */
function insert(text: string): Uint8Array {
  const doc = new Y.Doc();
  doc.getText('t').insert(0, text);
  return Y.encodeStateAsUpdate(doc);
}

describe('saved: a client is told which of its document updates are stored', () => {
  it('confirms update frames by number once committed, and only then', async () => {
    const server = await startServer({ flushIntervalMs: 200 });
    const ws = await rawSocket(server.wsUrl, 'acks', SUBPROTOCOL);
    const messages = controlMessages(ws);
    const saved = () => messages.filter((m) => m.type === 'saved').map((m) => m.through as number);
    ws.send(encodeUpdateMessage(insert('one')));
    ws.send(encodeUpdateMessage(insert('two')));
    await new Promise((resolve) => setTimeout(resolve, 80));
    // Within the 200 ms flush interval: relayed, not stored, so not confirmed.
    expect(saved()).toEqual([]);
    await until(() => saved().includes(2), 'saved through 2');
    // Confirmed only after the commit: the updates are in the database by now.
    const storage = new SqliteStorage(server.dataDir);
    const stored = await storage.loadRoom('acks', { tail: 10, dedupeWindow: 10 });
    await storage.close();
    const doc = new Y.Doc();
    for (const update of stored.updates) Y.applyUpdate(doc, update);
    expect(doc.getText('t').toString()).toContain('one');
    expect(doc.getText('t').toString()).toContain('two');
    expect(saved().every((through, i, all) => i === 0 || through > all[i - 1]!)).toBe(true);
  });

  it('counts frames that needed no storing, confirming them at once when nothing waits', async () => {
    const server = await startServer({ flushIntervalMs: 200 });
    const ws = await rawSocket(server.wsUrl, 'mixed', SUBPROTOCOL);
    const messages = controlMessages(ws);
    // An empty update (what a fresh client's step 2 carries) is frame 1: nothing to store.
    ws.send(encodeUpdateMessage(Y.encodeStateAsUpdate(new Y.Doc())));
    await until(() => messages.some((m) => m.type === 'saved' && m.through === 1), 'saved through 1 at once');
    ws.send(encodeUpdateMessage(insert('x'))); // frame 2: waits for the commit
    ws.send(encodeUpdateMessage(Y.encodeStateAsUpdate(new Y.Doc()))); // frame 3: empty, but after 2
    await new Promise((resolve) => setTimeout(resolve, 60));
    expect(messages.filter((m) => m.type === 'saved').map((m) => m.through)).toEqual([1]);
    await until(() => messages.some((m) => m.type === 'saved' && m.through === 3), 'saved through 3 after the commit');
  });

  it('sends nothing to plain Yjs clients', async () => {
    const server = await startServer({ flushIntervalMs: 10 });
    const ws = await rawSocket(server.wsUrl, 'plain');
    const texts: string[] = [];
    ws.on('message', (data, isBinary) => !isBinary && texts.push(data.toString()));
    ws.send(encodeUpdateMessage(insert('plain')));
    await new Promise((resolve) => setTimeout(resolve, 150));
    expect(texts).toEqual([]);
    expect(server.registry.get('plain')?.doc.getText('t').toString()).toBe('plain');
  });
});
