/**
 * room.unsaved, the `saved` event and whenSaved() against a real Tandem server (SQLite in a temp
 * directory): what the handle says is saved is in the server's storage.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { makeConfig, SqliteStorage, startTandem, type TandemServer } from '@tandem/server';
import { afterEach, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import * as Y from 'yjs';
import { connect, type RoomHandle } from '../src/index.js';

const cleanups: Array<() => unknown> = [];
afterEach(async () => {
  while (cleanups.length > 0) await cleanups.pop()?.();
});

/** A server on `port` (0: a free one) storing in `dataDir` (a fresh temp directory by default), closed after the test. */
async function startServer(port = 0, dataDir?: string): Promise<TandemServer & { dataDir: string }> {
  if (!dataDir) {
    const dir = mkdtempSync(join(tmpdir(), 'tandem-client-test-'));
    cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
    dataDir = dir;
  }
  // A long flush interval, so that an edit stays unsaved long enough to be seen so.
  const server = await startTandem(makeConfig({ port, host: '127.0.0.1', dataDir, logLevel: 'silent', flushIntervalMs: 100 }));
  cleanups.push(() => server.close());
  return Object.assign(server, { dataDir });
}

function client(server: TandemServer, room: string, name: string): RoomHandle {
  const handle = connect(server.url, room, { name, WebSocket, backoff: { baseMs: 50, capMs: 200 } });
  cleanups.push(() => handle.destroy());
  return handle;
}

/** The document's text `t` as the server's SQLite database holds it now. */
async function storedText(dataDir: string, room: string): Promise<string> {
  const storage = new SqliteStorage(dataDir);
  const stored = await storage.loadRoom(room, { tail: 0, dedupeWindow: 0 });
  await storage.close();
  const doc = new Y.Doc();
  for (const update of stored.updates) Y.applyUpdate(doc, update);
  return doc.getText('t').toString();
}

/** Rejects after `ms` unless `promise` settles first. */
function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  return Promise.race([promise, new Promise<never>((_, reject) => setTimeout(() => reject(new Error(`timed out: ${what}`)), ms))]);
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('room.unsaved against a real server', () => {
  it('is true from a local edit until the server has stored it, then emits saved', async () => {
    const server = await startServer();
    const handle = client(server, 'notes', 'Ada');
    await handle.whenSynced();
    let savedEvents = 0;
    handle.on('saved', () => savedEvents++);
    handle.doc.getText('t').insert(0, 'hello');
    expect(handle.unsaved).toBe(true);
    expect(handle.getSnapshot().unsaved).toBe(true);
    await within(handle.whenSaved(), 5_000, 'whenSaved');
    expect(handle.unsaved).toBe(false);
    expect(handle.getSnapshot().unsaved).toBe(false);
    expect(savedEvents).toBe(1);
    expect(await storedText(server.dataDir, 'notes')).toBe('hello');
    await handle.whenSaved(); // nothing pending: at once
  });

  it('keeps an edit made while the server is down unsaved until it reached the restarted server', async () => {
    const first = await startServer();
    const handle = client(first, 'outage', 'Ada');
    await handle.whenSynced();
    handle.doc.getText('t').insert(0, 'before.');
    await within(handle.whenSaved(), 5_000, 'the first edit saved');
    await first.close();
    await within(
      new Promise<void>((resolve) => handle.on('status', (status) => status.state === 'reconnecting' && resolve())),
      5_000,
      'reconnecting',
    );
    let savedEvents = 0;
    handle.on('saved', () => savedEvents++);
    handle.doc.getText('t').insert(7, ' offline.');
    expect(handle.unsaved).toBe(true);
    await sleep(300);
    expect(handle.unsaved).toBe(true);
    expect(savedEvents).toBe(0);

    const second = await startServer(first.port, first.dataDir);
    await within(handle.whenSaved(), 10_000, 'the offline edit saved after the restart');
    expect(handle.unsaved).toBe(false);
    expect(savedEvents).toBe(1);
    expect(second.registry.get('outage')?.doc.getText('t').toString()).toBe('before. offline.');
    expect(await storedText(second.dataDir, 'outage')).toBe('before. offline.');
  });

  it('is false for a handle that only received the document', async () => {
    const server = await startServer();
    const writer = client(server, 'shared', 'Ada');
    await writer.whenSynced();
    writer.doc.getText('t').insert(0, 'from Ada');
    await within(writer.whenSaved(), 5_000, "Ada's edit saved");

    const reader = client(server, 'shared', 'Bob');
    const seen: boolean[] = [];
    reader.on('change', () => seen.push(reader.getSnapshot().unsaved));
    await Promise.all([reader.whenSynced(), reader.whenJoined()]);
    writer.doc.getText('t').insert(8, ', and more');
    await within(
      new Promise<void>((resolve) => reader.doc.on('update', () => reader.doc.getText('t').toString().endsWith('more') && resolve())),
      5_000,
      "Ada's second edit at Bob",
    );
    expect(reader.doc.getText('t').toString()).toBe('from Ada, and more');
    expect(reader.unsaved).toBe(false);
    expect(seen).not.toContain(true);
    await reader.whenSaved();
  });
});
