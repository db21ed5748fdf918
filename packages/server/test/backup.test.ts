import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import type { RoomHandle } from '@tandem/client';
import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import * as Y from 'yjs';
import { SqliteStorage } from '../src/index.js';
import { databaseFile } from '../src/storage/sqlite.js';
import { member, startServer, tempDir, until } from './helpers.js';

const repoRoot = fileURLToPath(new URL('../../../', import.meta.url));

/** Runs the backup command (its TypeScript source; `npm run backup` runs the same compiled) to its end. */
function backupCli(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const child = spawn(process.execPath, ['--conditions=@tandem/source', '--import', 'tsx', 'packages/server/src/backup-cli.ts', ...args], {
    cwd: repoRoot,
    env: { ...process.env, DATA_DIR: '', DATABASE_URL: '' },
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk) => (stdout += chunk));
  child.stderr.on('data', (chunk) => (stderr += chunk));
  return new Promise((resolve) => child.once('close', (code) => resolve({ code, stdout, stderr })));
}

/** Rooms with a document of `bytes` each, written before the server starts, so that the copy takes many steps. */
async function seed(dataDir: string, rooms: number, bytes: number): Promise<void> {
  const storage = new SqliteStorage(dataDir);
  for (let i = 0; i < rooms; i++) {
    const doc = new Y.Doc();
    doc.getText('t').insert(0, `${i}`.padEnd(bytes, '.'));
    const writes = { snapshot: Y.encodeStateAsUpdate(doc), updates: [], chat: [], activity: [], events: [] };
    await storage.write(new Map([[`filler-${i}`, writes]]));
  }
  await storage.close();
}

async function storedChat(dataDir: string): Promise<string[]> {
  const storage = new SqliteStorage(dataDir);
  const chat = await storage.readChat('notes', 0, 100_000);
  await storage.close();
  return chat.map((message) => `${message.seq}:${message.id}:${message.text}`);
}

function integrity(file: string): string {
  const db = new Database(file, { readonly: true, fileMustExist: true });
  try {
    return (db.pragma('integrity_check') as Array<{ integrity_check: string }>).map((row) => row.integrity_check).join('; ');
  } finally {
    db.close();
  }
}

const text = (handle: RoomHandle): string => handle.doc.getText('t').toString();

describe('npm run backup', () => {
  it('backs up a server while clients write, and a restored copy holds everything acknowledged before the backup began', async () => {
    const dataDir = tempDir();
    await seed(dataDir, 32, 256 * 1024);
    const server = await startServer({ dataDir });
    const ada = await member(server.wsUrl, 'notes', 'Ada');
    const bob = await member(server.wsUrl, 'notes', 'Bob');
    const type = (word: string): void => bob.doc.getText('t').insert(text(bob).length, `${word} `);

    for (let i = 0; i < 20; i++) {
      ada.sendChat(`before ${i}`);
      type(`before-${i}`);
    }
    await until(() => ada.chat.length === 20, 'the chat sent before the backup to be acknowledged');
    await bob.whenSaved();
    const chatBefore = ada.chat.map((message) => `${message.seq}:${message.id}:${message.text}`);
    const textBefore = text(bob);

    // Both keep writing, within the per-connection rate, for as long as the backup runs.
    let writing = true;
    const writer = (async () => {
      for (let i = 0; writing; i++) {
        ada.sendChat(`during ${i}`);
        type(`during-${i}`);
        await sleep(10);
      }
    })();
    const file = join(tempDir(), 'tandem-backup.db');
    const backup = await backupCli(['--data', dataDir, file]);
    const acknowledgedDuring = ada.chat.length - chatBefore.length;
    writing = false;
    await writer;
    expect(backup, backup.stderr).toMatchObject({ code: 0, stdout: expect.stringMatching(/^Backed up to .*integrity check ok/) });
    expect(backup.stderr).toMatch(/^Backing up .*tandem\.db \(\d+ pages\) to .*tandem-backup\.db\n/);
    expect(acknowledgedDuring).toBeGreaterThan(0);

    // The server has the database open: restoring over it is refused, and nothing changes.
    const refused = await backupCli(['--data', dataDir, '--restore', file]);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/tandem\.db is in use: .*Stop the server first/);

    await server.close();
    const liveChat = await storedChat(dataDir);

    const restoredDir = join(tempDir(), 'data');
    const restore = await backupCli(['--data', restoredDir, '--restore', file]);
    expect(restore, restore.stderr).toMatchObject({
      code: 0,
      stdout: expect.stringMatching(/^Restored .* \(integrity check ok\)\. Start Tandem/),
    });
    expect(integrity(databaseFile(restoredDir))).toBe('ok');
    // The backup is the database as it was at one moment: what was acknowledged before it began,
    // then some of what came during it, in order, with nothing missing in between.
    const restoredChat = await storedChat(restoredDir);
    expect(restoredChat.slice(0, chatBefore.length)).toEqual(chatBefore);
    expect(restoredChat).toEqual(liveChat.slice(0, restoredChat.length));

    const restored = await startServer({ dataDir: restoredDir });
    const carol = await member(restored.wsUrl, 'notes', 'Carol');
    expect(text(carol).startsWith(textBefore)).toBe(true);
    const filler = await member(restored.wsUrl, 'filler-31', 'Carol');
    expect(text(filler)).toBe('31'.padEnd(256 * 1024, '.'));
  });

  it('restores only a sound Tandem database, and keeps the one it replaces', async () => {
    const dataDir = tempDir();
    const server = await startServer({ dataDir });
    const ada = await member(server.wsUrl, 'notes', 'Ada');
    ada.sendChat('kept');
    await until(() => ada.chat.length === 1, 'the message to be acknowledged');
    const file = join(tempDir(), 'backup.db');
    expect((await backupCli(['--data', dataDir, file])).code).toBe(0);
    ada.sendChat('after the backup');
    await until(() => ada.chat.length === 2, 'the second message to be acknowledged');
    await server.close();

    const notSqlite = join(tempDir(), 'notes.txt');
    writeFileSync(notSqlite, 'not a database');
    const refusedFile = await backupCli(['--data', dataDir, '--restore', notSqlite]);
    expect([refusedFile.code, refusedFile.stderr]).toEqual([
      1,
      expect.stringMatching(/is not a readable SQLite database .*pick another backup/),
    ]);
    const other = join(tempDir(), 'other.db');
    new Database(other).exec('CREATE TABLE t (x)').close();
    const refusedOther = await backupCli(['--data', dataDir, '--restore', other]);
    expect([refusedOther.code, refusedOther.stderr]).toEqual([
      1,
      expect.stringMatching(/is not a Tandem database \(it has no doc_snapshots/),
    ]);
    expect(await storedChat(dataDir)).toHaveLength(2);

    const restore = await backupCli(['--data', dataDir, '--restore', file]);
    expect(restore.code, restore.stderr).toBe(0);
    const keptAs = /kept as (\S+);/.exec(restore.stdout)?.[1];
    expect(keptAs).toMatch(/tandem\.db\.before-restore-/);
    expect((await storedChat(dataDir)).map((entry) => entry.split(':').at(-1))).toEqual(['kept']);
    expect(integrity(keptAs!)).toBe('ok');
  });
});
