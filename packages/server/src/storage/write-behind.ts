import type { ActivityEntry, AppEvent, ChatMessage } from '@tandem/protocol';
import type { Logger } from 'pino';
import { HealthTracker, type StorageHealth } from './health.js';
import { storedHistory, type RoomLog, type StoredHistory } from './room-log.js';
import type { LoadOptions, RoomWrites, Storage, StoredRoom } from './storage.js';

/**
 * Chat, activity and events are sent to anyone only once committed, so they are committed at
 * the end of the event-loop turn that queued them (0: setImmediate), instead of waiting for the
 * document's flush interval. Everything queued in that turn shares the transaction.
 */
const ACK_DELAY_MS = 0;
/** Longest wait between two retries while storage fails. */
const MAX_RETRY_MS = 2_000;

/** What a room has queued that is not in storage yet. */
export interface Unsaved {
  room: string;
  updates: number;
  updateBytes: number;
  chat: number;
  activity: number;
  events: number;
}

/** "notes" (12 updates, 3,400 bytes; 2 chat messages), …: for the log line a failed shutdown ends with. */
export function describeUnsaved(unsaved: readonly Unsaved[]): string {
  return unsaved
    .map(({ room, updates, updateBytes, chat, activity, events }) => {
      const parts = [
        updates > 0 ? `${updates} document updates, ${updateBytes} bytes` : '',
        chat > 0 ? `${chat} chat messages` : '',
        activity > 0 ? `${activity} activity entries` : '',
        events > 0 ? `${events} events` : '',
      ].filter(Boolean);
      return `${JSON.stringify(room)} (${parts.join('; ')})`;
    })
    .join(', ');
}

export interface WriteBehindOptions {
  /** The longest a document update waits before it is committed: the crash-loss window for edits. */
  intervalMs: number;
  log: Logger;
  /** After each commit, for each room in it, with what was committed (in seq order). */
  onCommitted: (room: string, writes: RoomWrites) => void;
  /** Storage started failing, or works again. */
  onHealth: (health: StorageHealth) => void;
  /** Each commit of increments: how long it took, and whether it succeeded. */
  onCommit?: (seconds: number, ok: boolean) => void;
}

/**
 * Collects the writes of every room and commits them together in one storage transaction:
 * document updates at most `intervalMs` after the first, chat, activity and events at the end
 * of the turn that queued them (they are acknowledged only once committed, see `onCommitted`). A failed commit
 * is put back in front of newer writes and retried with backoff, so nothing is dropped.
 *
 * Compaction (replacing a room's update log by one snapshot) runs only after every increment is
 * committed, in a transaction of its own: it needs the most space, so when the disk is nearly
 * full it may fail while increments still fit, and a failed compaction loses nothing.
 */
export class WriteBehind implements RoomLog {
  readonly #storage: Storage;
  readonly #options: WriteBehindOptions;
  #pending = new Map<string, RoomWrites>();
  /** Bytes of each room's queued updates, pending or being committed. */
  readonly #unsavedBytes = new Map<string, number>();
  readonly #compactions = new Map<string, () => Uint8Array>();
  #timer: { timeout: NodeJS.Timeout } | { immediate: NodeJS.Immediate } | null = null;
  #timerAt = 0;
  #committing: Promise<void> = Promise.resolve();
  readonly #health: HealthTracker;

  constructor(storage: Storage, options: WriteBehindOptions) {
    this.#storage = storage;
    this.#options = options;
    this.#health = new HealthTracker('storage', options.log, options.onHealth);
  }

  get health(): StorageHealth {
    return this.#health.health;
  }

  #room(room: string, delayMs: number): RoomWrites {
    let writes = this.#pending.get(room);
    if (!writes) {
      writes = { updates: [], chat: [], activity: [], events: [] };
      this.#pending.set(room, writes);
    }
    this.#schedule(delayMs);
    return writes;
  }

  /** Arms the commit timer for `delayMs` from now, unless it would fire sooner already. */
  #schedule(delayMs: number): void {
    // While storage fails, nothing hurries a retry: the backoff holds.
    const delay = this.#health.failures > 0 ? Math.max(delayMs, this.#retryDelay()) : delayMs;
    const at = Date.now() + delay;
    if (this.#timer) {
      if (this.#timerAt <= at) return;
      this.#clearTimer();
    }
    this.#timerAt = at;
    const fire = (): void => {
      this.#timer = null;
      this.flush().catch(() => {
        // Reported through onHealth and the log; the failed commit re-armed the timer.
      });
    };
    this.#timer = delay === 0 ? { immediate: setImmediate(fire) } : { timeout: setTimeout(fire, delay) };
  }

  #clearTimer(): void {
    if (!this.#timer) return;
    if ('immediate' in this.#timer) clearImmediate(this.#timer.immediate);
    else clearTimeout(this.#timer.timeout);
    this.#timer = null;
  }

  #retryDelay(): number {
    return Math.min(this.#options.intervalMs * 2 ** this.#health.failures, MAX_RETRY_MS);
  }

  loadRoom(room: string, options: LoadOptions): Promise<StoredRoom> {
    return this.#storage.loadRoom(room, options);
  }

  release(): void {
    // Nothing is held per room between commits.
  }

  history(room: string): StoredHistory {
    return storedHistory(this.#storage, room);
  }

  appendUpdate(room: string, update: Uint8Array): void {
    this.#room(room, this.#options.intervalMs).updates.push(update);
    this.#unsavedBytes.set(room, (this.#unsavedBytes.get(room) ?? 0) + update.byteLength);
  }

  unsavedBytes(room: string): number {
    return this.#unsavedBytes.get(room) ?? 0;
  }

  appendChat(room: string, message: ChatMessage): void {
    this.#room(room, ACK_DELAY_MS).chat.push(message);
  }

  appendActivity(room: string, entry: ActivityEntry): void {
    this.#room(room, ACK_DELAY_MS).activity.push(entry);
  }

  appendEvent(room: string, event: AppEvent): void {
    this.#room(room, ACK_DELAY_MS).events.push(event);
  }

  /** Once everything queued is committed, replace the room's stored document and log by `snapshot()`. */
  compact(room: string, snapshot: () => Uint8Array): void {
    this.#compactions.set(room, snapshot);
    this.#schedule(this.#options.intervalMs);
  }

  /** Commits everything queued so far; resolves once it is in storage, rejects while storage fails. */
  flush(): Promise<void> {
    this.#clearTimer();
    this.#committing = this.#committing.catch(() => {}).then(() => this.#commit());
    return this.#committing;
  }

  discard(room: string): void {
    this.#pending.delete(room);
    this.#compactions.delete(room);
    this.#unsavedBytes.delete(room);
  }

  async deleteRoom(room: string): Promise<boolean> {
    this.discard(room);
    // A commit under way may hold the room's writes (or put them back, failing): it must not write them after the delete.
    await this.#committing.catch(() => {});
    this.discard(room);
    return this.#storage.deleteDocument(room);
  }

  /**
   * Flushes, retrying with backoff until everything is stored or `deadline` (ms since the epoch)
   * passes. Returns what could not be stored (empty when all of it was).
   */
  async drain(deadline: number): Promise<Unsaved[]> {
    for (;;) {
      try {
        await this.flush();
        return [];
      } catch {
        const wait = Math.min(this.#retryDelay(), deadline - Date.now());
        if (wait <= 0) return this.unsaved();
        await new Promise((resolve) => setTimeout(resolve, wait));
      }
    }
  }

  /** What is queued and not stored, per room. */
  unsaved(): Unsaved[] {
    return [...this.#pending].map(([room, writes]) => ({
      room,
      updates: writes.updates.length,
      updateBytes: writes.updates.reduce((sum, update) => sum + update.byteLength, 0),
      chat: writes.chat.length,
      activity: writes.activity.length,
      events: writes.events.length,
    }));
  }

  /** Stops the timer (after the last drain at shutdown). */
  stop(): void {
    this.#clearTimer();
  }

  async #commit(): Promise<void> {
    if (this.#pending.size > 0) {
      const batch = this.#pending;
      this.#pending = new Map();
      const started = performance.now();
      try {
        await this.#storage.write(batch);
        this.#options.onCommit?.((performance.now() - started) / 1_000, true);
      } catch (error) {
        this.#options.onCommit?.((performance.now() - started) / 1_000, false);
        this.#requeue(batch);
        this.#failed(error);
        throw error;
      }
      this.#health.succeeded();
      for (const [room, writes] of batch) {
        const left = (this.#unsavedBytes.get(room) ?? 0) - writes.updates.reduce((sum, update) => sum + update.byteLength, 0);
        if (left > 0) this.#unsavedBytes.set(room, left);
        else this.#unsavedBytes.delete(room);
        try {
          this.#options.onCommitted(room, writes);
        } catch (error) {
          this.#options.log.error({ err: error, room }, 'handling a commit failed');
        }
      }
    }
    for (const [room, snapshot] of this.#compactions) {
      this.#compactions.delete(room);
      try {
        await this.#storage.write(new Map([[room, { snapshot: snapshot(), updates: [], chat: [], activity: [], events: [] }]]));
      } catch (error) {
        this.#options.log.warn({ err: error, room }, 'compaction failed; the update log is kept and nothing is lost');
      }
    }
  }

  #failed(error: unknown): void {
    this.#health.failed(error instanceof Error ? error.message : String(error));
    this.#schedule(this.#retryDelay());
    this.#options.log.error({ err: error, failures: this.#health.failures, unsaved: this.unsaved() }, 'storage write failed; retrying');
  }

  /** Puts a failed batch back in front of whatever was queued since. */
  #requeue(batch: Map<string, RoomWrites>): void {
    for (const [room, newer] of this.#pending) {
      const older = batch.get(room);
      if (!older) {
        batch.set(room, newer);
        continue;
      }
      // Loops, not push(...spread): a long outage can queue more items than a call takes arguments.
      for (const update of newer.updates) older.updates.push(update);
      for (const message of newer.chat) older.chat.push(message);
      for (const entry of newer.activity) older.activity.push(entry);
      for (const event of newer.events) older.events.push(event);
    }
    this.#pending = batch;
  }
}
