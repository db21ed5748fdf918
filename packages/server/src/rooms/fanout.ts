import { encodeAwarenessMessage, encodeUpdateMessage } from '@tandem/protocol';
import { encodeAwarenessUpdate, type Awareness } from 'y-protocols/awareness';
import * as Y from 'yjs';
import type { Connection } from './connection.js';
import { Pacer, Stretch } from './pacer.js';

/**
 * Merging more updates than this at once gets slow: Y.mergeUpdates sorts and re-encodes the
 * whole group, so a burst of thousands is merged in groups of this size.
 */
const MERGE_GROUP = 64;

/** A busy room's interval stretches up to 4× while its flushes carry 4 updates or more (see Stretch). */
const MAX_STRETCH = 4;
const BUSY_FLUSH = 4;

export interface FanoutSinks {
  /** A merged group of document updates was sent; `origin` is the one source of all of them, if any. */
  afterUpdate(update: Uint8Array, soleOrigin: unknown): void;
  /** An awareness update was sent (same `origin` rule). */
  afterAwareness(update: Uint8Array, soleOrigin: unknown): void;
}

/**
 * Sends a room's document updates and awareness changes to its connections, coalesced per
 * event-loop turn (and, in a busy room, per interval): everything applied while one batch of
 * socket reads is handled goes out as few frames, each encoded once and sent to every
 * connection as the same buffer. A burst
 * becomes a handful of merged updates instead of one frame per keystroke per member, and
 * presence changes cannot multiply into N² frames. A frame is not sent back to a connection
 * that alone produced everything in it.
 */
export class Fanout {
  readonly #connections: ReadonlySet<Connection>;
  readonly #awareness: Awareness;
  readonly #sinks: FanoutSinks;
  #updates: Array<{ update: Uint8Array; origin: unknown }> = [];
  #awarenessClients = new Set<number>();
  #awarenessOrigins = new Set<unknown>();
  readonly #pacer = new Pacer(() => this.flush());
  readonly #stretch = new Stretch(MAX_STRETCH, BUSY_FLUSH);
  readonly #baseIntervalMs: number;

  /**
   * `intervalMs`: the shortest time between two flushes. A room whose updates are further apart
   * sends each at once (at the end of the event-loop turn); a busy room batches what arrives in
   * that time into one frame, so the frames sent, and the CPU they cost (mostly the writev
   * system call per recipient), stop growing with the rate of updates. The interval adapts to
   * the room's rate between `intervalMs` and MAX_STRETCH times that.
   */
  constructor(connections: ReadonlySet<Connection>, awareness: Awareness, intervalMs: number, sinks: FanoutSinks) {
    this.#connections = connections;
    this.#baseIntervalMs = intervalMs;
    this.#awareness = awareness;
    this.#sinks = sinks;
  }

  update(update: Uint8Array, origin: unknown): void {
    this.#updates.push({ update, origin });
    this.#pacer.schedule();
  }

  awarenessChange(clients: number[], origin: unknown): void {
    for (const client of clients) this.#awarenessClients.add(client);
    this.#awarenessOrigins.add(origin);
    this.#pacer.schedule();
  }

  /** Sends everything pending now. */
  flush(): void {
    this.#stretch.adapt(this.#pacer.held, this.#updates.length + (this.#awarenessClients.size > 0 ? 1 : 0));
    this.#pacer.flushed(this.intervalMs);
    const updates = this.#updates;
    this.#updates = [];
    for (let i = 0; i < updates.length; i += MERGE_GROUP) {
      const group = updates.slice(i, i + MERGE_GROUP);
      const update = group.length === 1 ? group[0]!.update : Y.mergeUpdates(group.map((entry) => entry.update));
      const soleOrigin = group.every((entry) => entry.origin === group[0]!.origin) ? group[0]!.origin : undefined;
      this.#send(encodeUpdateMessage(update), soleOrigin);
      this.#sinks.afterUpdate(update, soleOrigin);
    }
    if (this.#awarenessClients.size > 0) {
      const clients = [...this.#awarenessClients];
      const soleOrigin = this.#awarenessOrigins.size === 1 ? [...this.#awarenessOrigins][0] : undefined;
      this.#awarenessClients = new Set();
      this.#awarenessOrigins = new Set();
      const update = encodeAwarenessUpdate(this.#awareness, clients);
      this.#send(encodeAwarenessMessage(update), soleOrigin);
      this.#sinks.afterAwareness(update, soleOrigin);
    }
  }

  /** The current shortest time between two flushes, in ms. */
  get intervalMs(): number {
    return this.#baseIntervalMs * this.#stretch.factor;
  }

  #send(message: Uint8Array, except: unknown): void {
    for (const conn of this.#connections) if (conn !== except) conn.send(message);
  }

  dispose(): void {
    this.#pacer.cancel();
    this.#updates = [];
    this.#awarenessClients.clear();
  }
}
