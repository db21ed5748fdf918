import { describe, expect, it } from 'vitest';
import { SqliteStorage, type Storage } from '../src/index.js';
import { client, member, startServer, tempDir, until } from './helpers.js';
import { switchableProxy } from './proxy.js';

/** SQLite storage whose chat reads fail while `failing` is set (as a disk error would make them). */
function flakyReads(dataDir: string): { storage: Storage; failing: { chat: boolean } } {
  const failing = { chat: false };
  const storage = new SqliteStorage(dataDir);
  const refuse = (): never => {
    throw new Error('disk I/O error (injected)');
  };
  const flaky = new Proxy(storage, {
    get(target, key) {
      if ((key === 'readChat' || key === 'readChatBefore') && failing.chat) return async () => refuse();
      const value: unknown = Reflect.get(target, key, target);
      return typeof value === 'function' ? value.bind(target) : value;
    },
  });
  return { storage: flaky, failing };
}

/** More than a room keeps in memory (it trims to the newest 200 once it holds 400). */
const MESSAGES = 450;
const seqs = (count: number): number[] => Array.from({ length: count }, (_, i) => i + 1);

describe('reading chat history from storage fails for a while', () => {
  it('the SDK asks again after resume_failed, and catches up once storage reads work', async () => {
    const dataDir = tempDir();
    const { storage, failing } = flakyReads(dataDir);
    const server = await startServer({ dataDir }, { storage });
    const proxy = await switchableProxy(server.port);
    const bo = client(proxy.url, 'flaky', { name: 'Bo', backoff: { baseMs: 200, capMs: 200 } });
    await bo.whenJoined();
    const errors: string[] = [];
    bo.on('error', (error) => errors.push(error.code));
    const ada = await member(server.wsUrl, 'flaky', 'Ada');
    ada.sendChat('first');
    await until(() => bo.chat.length === 1, 'Bo has the first message', 5_000, bo);

    // Bo is away while more is written than the room keeps in memory; then storage reads fail.
    proxy.cut({ refuse: true });
    await until(() => bo.status.state !== 'open', 'Bo lost the connection');
    for (let i = 2; i <= MESSAGES; i++) ada.sendChat(`message ${i}`);
    await until(() => ada.chat.length === MESSAGES, 'every message is stored', 20_000, ada);
    failing.chat = true;
    proxy.accept();
    await until(() => errors.includes('resume_failed'), 'Bo is told the resume failed', 10_000);
    expect(bo.chat.length).toBeLessThan(MESSAGES);

    failing.chat = false;
    await until(() => bo.chat.length === MESSAGES, 'Bo caught up by asking again', 10_000, bo);
    expect(bo.chat.map((m) => m.seq)).toEqual(seqs(MESSAGES));
  }, 60_000);

  it('loadOlder rejects with the reason on history_failed, and works once storage reads do', async () => {
    const dataDir = tempDir();
    const { storage, failing } = flakyReads(dataDir);
    const server = await startServer({ dataDir }, { storage });
    const ada = await member(server.wsUrl, 'older', 'Ada');
    for (let i = 1; i <= MESSAGES; i++) ada.sendChat(`message ${i}`);
    await until(() => ada.chat.length === MESSAGES, 'every message is stored', 20_000, ada);

    const bo = await member(server.wsUrl, 'older', 'Bo');
    failing.chat = true;
    // Pages from memory load; the first that needs storage fails, with the reason.
    let failure: Error | null = null;
    while (bo.hasOlder('chat') && !failure) await bo.loadOlder('chat', 100).catch((error: Error) => (failure = error));
    expect(String(failure)).toContain('older entries could not be loaded');
    expect(bo.hasOlder('chat')).toBe(true);

    failing.chat = false;
    while (bo.hasOlder('chat')) await bo.loadOlder('chat', 100);
    expect(bo.chat.map((m) => m.seq)).toEqual(seqs(MESSAGES));
  }, 60_000);
});
