import type { StoredLog } from '../storage/room-log.js';

/** Entries kept in memory per log (they serve the welcome and most resumes). */
export const SEQ_LOG_TAIL = 200;

/**
 * One of a room's sequenced logs (chat or activity). It hands out seqs as entries are queued
 * for storage, and holds only entries that storage has committed: those are the ones anyone
 * may see, so a seq that was seen is never handed out again, even after a crash.
 */
export class SeqLog<T extends { seq: number }> {
  readonly #stored: StoredLog<T>;
  #tail: T[];
  #handedOut: number;
  #committed: number;

  /** `tail`: the newest stored entries, oldest first; `newestSeq`: the newest stored seq. */
  constructor(tail: T[], newestSeq: number, stored: StoredLog<T>) {
    this.#tail = tail;
    this.#handedOut = this.#committed = newestSeq;
    this.#stored = stored;
  }

  /** The seq for a new entry, to be committed before it is shown to anyone. */
  nextSeq(): number {
    return ++this.#handedOut;
  }

  /** The newest committed seq (0 while the log is empty). */
  get committedSeq(): number {
    return this.#committed;
  }

  /** Storage committed `entry`; entries arrive in seq order. */
  committed(entry: T): void {
    this.#tail.push(entry);
    // Trimmed in steps, so the cost of dropping old entries is spread over many appends.
    if (this.#tail.length > SEQ_LOG_TAIL * 2) this.#tail.splice(0, this.#tail.length - SEQ_LOG_TAIL);
    this.#committed = entry.seq;
  }

  /** The newest `count` committed entries, oldest first. */
  recent(count: number): T[] {
    return count >= this.#tail.length ? this.#tail.slice() : this.#tail.slice(-count);
  }

  /** Committed entries after `afterSeq`, oldest first: from memory when it reaches back that far. */
  async readAfter(afterSeq: number, limit: number): Promise<T[]> {
    const oldestInMemory = this.#tail[0]?.seq ?? this.#committed + 1;
    if (afterSeq >= oldestInMemory - 1) {
      const entries: T[] = [];
      for (const entry of this.#tail) {
        if (entry.seq <= afterSeq) continue;
        if (entries.push(entry) >= limit) break;
      }
      return entries;
    }
    return this.#stored.after(afterSeq, limit);
  }

  /** The newest `limit` committed entries below `beforeSeq`, oldest first: from memory when it holds them all. */
  async readBefore(beforeSeq: number, limit: number): Promise<T[]> {
    const below = Math.min(beforeSeq, this.#committed + 1);
    const oldestInMemory = this.#tail[0]?.seq ?? this.#committed + 1;
    // The tail has no gaps: it holds them all when it reaches down to the first one wanted (or to seq 1).
    if (oldestInMemory <= Math.max(1, below - limit)) return this.#tail.filter((entry) => entry.seq < below).slice(-limit);
    return this.#stored.before(below, limit);
  }
}
