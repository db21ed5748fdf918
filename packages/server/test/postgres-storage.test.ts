import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PostgresStorage } from '../src/index.js';
import type { Retention } from '../src/storage/storage.js';
import { member, onCleanup, startServer, until } from './helpers.js';
import { startPostgres, type PostgresInstance } from './postgres.js';
import { storageContract } from './storage-contract.js';

let postgres: PostgresInstance;
let databases = 0;

beforeAll(async () => {
  postgres = await startPostgres();
}, 60_000);

afterAll(async () => {
  await postgres?.stop();
});

/** A fresh database on this file's PostgreSQL server: no test sees another's rows. */
async function freshDatabase(): Promise<string> {
  const name = `tandem_${++databases}`;
  const admin = new pg.Client({ connectionString: postgres.url });
  await admin.connect();
  try {
    await admin.query(`CREATE DATABASE ${name}`);
  } finally {
    await admin.end();
  }
  return postgres.url.replace(/\/postgres$/, `/${name}`);
}

async function openStorage(url: string, retention?: Retention): Promise<PostgresStorage> {
  const storage = await PostgresStorage.open(url, retention);
  onCleanup(() => storage.close());
  return storage;
}

storageContract('PostgreSQL', async (retention) => openStorage(await freshDatabase(), retention));

describe('PostgreSQL storage', () => {
  it('migrates once when several nodes open the same database at the same time', async () => {
    const url = await freshDatabase();
    const nodes = await Promise.all([1, 2, 3, 4].map(() => openStorage(url)));
    expect(nodes).toHaveLength(4);
    const check = new pg.Client({ connectionString: url });
    await check.connect();
    const { rows } = await check.query('SELECT version FROM tandem_migrations ORDER BY version');
    await check.end();
    expect(rows.map((row) => row.version)).toEqual([1, 2, 3, 4]);
  });

  it('serves a room from PostgreSQL: a second server on the same database has the document, chat and activity', async () => {
    const databaseUrl = await freshDatabase();
    const first = await startServer({ databaseUrl });
    const ada = await member(first.wsUrl, 'shared', 'Ada');
    ada.doc.getText('t').insert(0, 'stored in PostgreSQL');
    ada.sendChat('hello from the first node');
    await until(() => ada.chat.length === 1, 'the chat acknowledged', 5_000, ada);
    ada.destroy();
    // Ada's departure reaches the server before the shutdown (a shutdown records no one leaving).
    await until(() => first.registry.get('shared')?.connectionCount === 0, 'Ada gone from the room');
    await first.close();

    const second = await startServer({ databaseUrl });
    const grace = await member(second.wsUrl, 'shared', 'Grace');
    expect(grace.doc.getText('t').toString()).toBe('stored in PostgreSQL');
    expect(grace.chat.map((m) => [m.seq, m.text])).toEqual([[1, 'hello from the first node']]);
    expect(grace.activity.map((e) => `${e.member.name} ${e.kind}`)).toEqual(['Ada join', 'Ada leave', 'Grace join']);
    const documents = (await (await fetch(`${second.url}/api/documents`)).json()) as { documents: Array<{ name: string }> };
    expect(JSON.stringify(documents)).toContain('shared');
  });

  it('refuses to start with a database it cannot reach, saying which', async () => {
    await expect(startServer({ databaseUrl: 'postgres://nobody@127.0.0.1:1/none' })).rejects.toThrow(/ECONNREFUSED|connect/);
  });
});
