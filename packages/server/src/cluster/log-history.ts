import type { Redis } from 'ioredis';
import { storedHistory, type StoredHistory, type StoredLog } from '../storage/room-log.js';
import type { Storage } from '../storage/storage.js';
import { decodeEntry, type LogEntry } from './entry.js';

/** Entries read per XRANGE page. */
const PAGE = 1_000;

/**
 * A room's chat and activity in a cluster. PostgreSQL holds what has been compacted; the room's
 * Redis log holds everything after that (and a margin before it, see the Compactor). Where
 * PostgreSQL stops short of what was asked for, the rest is read from the log: a member who
 * missed more than a node holds in memory, or scrolls back past it, sees no gap while
 * compaction lags behind (a compacting node died, PostgreSQL is down, or it is just slow).
 */
export function clusterHistory(redis: Redis, storage: Storage, room: string, logKey: string): StoredHistory {
  const stored = storedHistory(storage, room);
  return {
    chat: withLog(stored.chat, (visit) => scanLog(redis, logKey, (entry) => entry.chat, visit)),
    activity: withLog(stored.activity, (visit) => scanLog(redis, logKey, (entry) => entry.activity, visit)),
  };
}

/** Shows `visit` the log's entries of one kind, oldest first, until it returns false. */
type LogScan<T> = (visit: (entry: T) => boolean) => Promise<void>;

function withLog<T extends { seq: number }>(stored: StoredLog<T>, scan: LogScan<T>): StoredLog<T> {
  return {
    async after(afterSeq, limit) {
      const entries = await stored.after(afterSeq, limit);
      if (entries.length >= limit) return entries;
      // Storage has nothing after its last one: whatever follows is in the log only. Seqs rise along the log.
      const reached = entries.at(-1)?.seq ?? afterSeq;
      await scan((entry) => (entry.seq > reached ? entries.push(entry) < limit : true));
      return entries;
    },
    async before(beforeSeq, limit) {
      const entries = await stored.before(beforeSeq, limit);
      // Storage reaches up to the seq asked for: nothing newer can be missing.
      if (beforeSeq <= 1 || entries.at(-1)?.seq === beforeSeq - 1) return entries;
      const newest = entries.at(-1)?.seq ?? 0;
      const fromLog: T[] = [];
      await scan((entry) => {
        if (entry.seq >= beforeSeq) return false;
        if (entry.seq > newest && fromLog.push(entry) > 2 * limit) fromLog.splice(0, limit);
        return true;
      });
      return entries.concat(fromLog).slice(-limit);
    },
  };
}

async function scanLog<T>(redis: Redis, key: string, pick: (entry: LogEntry) => T[], visit: (entry: T) => boolean): Promise<void> {
  for (let start = '-'; ;) {
    const page = await redis.xrangeBuffer(key, start, '+', 'COUNT', PAGE);
    for (const [id, fields] of page) for (const item of pick(decodeEntry(id, fields))) if (!visit(item)) return;
    if (page.length < PAGE) return;
    start = `(${page.at(-1)![0].toString()}`;
  }
}
