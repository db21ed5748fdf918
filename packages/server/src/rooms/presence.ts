import type { ActivityEntry, Member, ServerMessage } from '@tandem/protocol';
import { Pacer, Stretch } from './pacer.js';

/**
 * The shortest time between two presence flushes in a room of `connections`: 50 ms, 5 ms per
 * connection in rooms of more than 10, at most 1 s. Every flush is a frame for each member to
 * parse, so a big room batches longer: 100 people reconnecting over a few seconds get a couple
 * of frames a second each instead of one per join. The first change after a quiet spell still
 * goes out at once.
 */
export function presenceIntervalMs(connections: number): number {
  return Math.min(1_000, Math.max(50, connections * 5));
}

/**
 * During a join storm (flushes that waited for the interval and still carried 2 or more joins,
 * leaves or renames) the interval stretches up to 4×, to at most 2 s: roster frames to every
 * member are most of a reconnecting room's cost (see Stretch; measured in docs/architecture.md).
 */
const MAX_STRETCH = 4;
const BUSY_FLUSH = 2;
const MAX_STRETCHED_MS = 2_000;

/**
 * Who joined, left or was renamed in a room, and the activity entries that record it, sent to
 * the members as at most one `members` and one `activity` message per interval (longer in a
 * bigger room). Without it a join storm (a room of hundreds reconnecting after a restart) sends
 * every member a frame per join: N² frames to parse. Chat, typing and events are not batched:
 * they are not N².
 *
 * A member who joins within an interval gets the whole state in its welcome and may then see
 * its own join, or entries it holds, again in the batch: `changed` is idempotent and clients
 * drop activity entries by `seq`.
 */
export class PresenceBatch {
  readonly #intervalMs: () => number;
  readonly #broadcast: (message: ServerMessage) => void;
  readonly #pacer = new Pacer(() => this.flush());
  readonly #stretch = new Stretch(MAX_STRETCH, BUSY_FLUSH);
  #changed = new Map<string, Member>();
  #left: string[] = [];
  #activity: ActivityEntry[] = [];

  /**
   * `intervalMs`: asked at each flush for the time until the next one may go out.
   * `broadcast`: sends one control message, encoded once, to every joined member.
   */
  constructor(intervalMs: () => number, broadcast: (message: ServerMessage) => void) {
    this.#intervalMs = intervalMs;
    this.#broadcast = broadcast;
  }

  /** A member joined or was renamed. */
  changed(member: Member): void {
    this.#changed.set(member.id, member);
    this.#pacer.schedule();
  }

  left(id: string): void {
    this.#changed.delete(id);
    this.#left.push(id);
    this.#pacer.schedule();
  }

  activity(entry: ActivityEntry): void {
    this.#activity.push(entry);
    this.#pacer.schedule();
  }

  /** The current shortest time between two flushes, in ms. */
  get intervalMs(): number {
    return Math.min(this.#intervalMs() * this.#stretch.factor, MAX_STRETCHED_MS);
  }

  /** Sends everything pending now. */
  flush(): void {
    // Each join, leave or rename records one activity entry, so these count the changes (a
    // member renamed twice is one entry in `changed` but two here).
    this.#stretch.adapt(this.#pacer.held, this.#activity.length);
    this.#pacer.flushed(this.intervalMs);
    if (this.#changed.size > 0 || this.#left.length > 0) {
      this.#broadcast({ type: 'members', changed: [...this.#changed.values()], left: this.#left });
      this.#changed = new Map();
      this.#left = [];
    }
    if (this.#activity.length > 0) {
      this.#broadcast({ type: 'activity', entries: this.#activity });
      this.#activity = [];
    }
  }

  dispose(): void {
    this.#pacer.cancel();
    this.#changed.clear();
    this.#left = [];
    this.#activity = [];
  }
}
