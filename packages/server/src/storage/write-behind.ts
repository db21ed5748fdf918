import type { ActivityEntry, ChatMessage } from '@tandem/protocol';
import type { RoomWrites, Storage } from './storage.js';

interface PendingWrites extends RoomWrites {
  /** Set when the room asked for compaction: produces the snapshot at flush time. */
  compact?: () => Uint8Array;
}

export interface WriteBehindOptions {
  /** The longest a write waits before it is committed: the crash-loss window. */
  intervalMs: number;
  onError: (error: unknown) => void;
}

/**
 * Collects the writes of every room and commits them together, at most `intervalMs` after the
 * first one, in a single storage transaction. Keeps storage off the send path: rooms broadcast
 * first and only queue here. A failed commit is put back in front of newer writes and retried,
 * so nothing is dropped; `flush()` rejects while storage keeps failing.
 */
export class WriteBehind {
  readonly #storage: Storage;
  readonly #options: WriteBehindOptions;
  #pending = new Map<string, PendingWrites>();
  #timer: NodeJS.Timeout | null = null;
  #committing: Promise<void> = Promise.resolve();
  #failures = 0;

  constructor(storage: Storage, options: WriteBehindOptions) {
    this.#storage = storage;
    this.#options = options;
  }

  #room(room: string): PendingWrites {
    let writes = this.#pending.get(room);
    if (!writes) {
      writes = { updates: [], chat: [], activity: [] };
      this.#pending.set(room, writes);
    }
    this.#schedule();
    return writes;
  }

  #schedule(delay = this.#options.intervalMs): void {
    if (this.#timer) return;
    this.#timer = setTimeout(() => {
      this.#timer = null;
      this.flush().catch(this.#options.onError);
    }, delay);
  }

  appendUpdate(room: string, update: Uint8Array): void {
    this.#room(room).updates.push(update);
  }

  appendChat(room: string, message: ChatMessage): void {
    this.#room(room).chat.push(message);
  }

  appendActivity(room: string, entry: ActivityEntry): void {
    this.#room(room).activity.push(entry);
  }

  /** At the next flush, replace the room's stored document and log by `snapshot()`. */
  compact(room: string, snapshot: () => Uint8Array): void {
    this.#room(room).compact = snapshot;
  }

  /** Commits everything queued so far; resolves once it is in storage. */
  flush(): Promise<void> {
    if (this.#timer) {
      clearTimeout(this.#timer);
      this.#timer = null;
    }
    this.#committing = this.#committing.catch(() => {}).then(() => this.#commit());
    return this.#committing;
  }

  async #commit(): Promise<void> {
    if (this.#pending.size === 0) return;
    const batch = this.#pending;
    this.#pending = new Map();
    for (const writes of batch.values()) {
      if (writes.compact) {
        // The snapshot is the whole document as of now, so it covers every queued update.
        writes.snapshot = writes.compact();
        writes.updates = [];
        delete writes.compact;
      }
    }
    try {
      await this.#storage.write(batch);
      this.#failures = 0;
    } catch (error) {
      this.#requeue(batch);
      this.#failures++;
      this.#schedule(Math.min(this.#options.intervalMs * 2 ** this.#failures, 5_000));
      throw error;
    }
  }

  /** Puts a failed batch back in front of whatever was queued since. */
  #requeue(batch: Map<string, PendingWrites>): void {
    for (const [room, newer] of this.#pending) {
      const older = batch.get(room);
      if (!older) {
        batch.set(room, newer);
        continue;
      }
      // A newer compaction supersedes the older snapshot and updates when it runs.
      if (newer.compact) older.compact = newer.compact;
      older.updates.push(...newer.updates);
      older.chat.push(...newer.chat);
      older.activity.push(...newer.activity);
    }
    this.#pending = batch;
  }
}
