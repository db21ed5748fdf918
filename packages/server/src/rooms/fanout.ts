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

/**
 * A room's flushes may keep the event loop busy at most a third of the time: the interval is at
 * least this many times what a flush costs (sends and their system calls, which on loopback also
 * do the receiving side's work), up to MAX_COST_INTERVAL_MS. A flush to a thousand members costs
 * thousands of writes, so a big room sends fewer, fuller frames, and its members read fewer too;
 * a small room's flushes cost too little for this to matter.
 */
const DUTY_FACTOR = 3;
const MAX_COST_INTERVAL_MS = 50;

/** A document update waiting to be sent, with where it came from and (for a client's) its frame number. */
export interface PendingUpdate {
  update: Uint8Array;
  origin: unknown;
  frame: number;
}

export interface FanoutSinks {
  /** A merged group of document updates was sent; `origin` is the one source of all of them, if any. */
  afterUpdate(update: Uint8Array, soleOrigin: unknown, group: readonly PendingUpdate[]): void;
  /** An awareness update was sent (same `origin` rule). */
  afterAwareness(update: Uint8Array, soleOrigin: unknown): void;
  /** A flush that sent something is over: what it cost (with its system calls) and how many frames it sent. */
  flushed?(seconds: number, frames: number): void;
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
  #updates: PendingUpdate[] = [];
  #awarenessClients = new Set<number>();
  #awarenessOrigins = new Set<unknown>();
  readonly #pacer = new Pacer(() => this.flush());
  readonly #stretch = new Stretch(MAX_STRETCH, BUSY_FLUSH);
  readonly #baseIntervalMs: number;
  /** Moving average of what a flush costs, in ms (see DUTY_FACTOR). */
  #flushCostMs = 0;
  /** Frames the current flush sent. */
  #framesSent = 0;

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

  /** `frame`: the update's frame number on its connection (see SaveReceipts), 0 for none. */
  update(update: Uint8Array, origin: unknown, frame = 0): void {
    this.#updates.push({ update, origin, frame });
    this.#pacer.schedule();
  }

  awarenessChange(clients: number[], origin: unknown): void {
    for (const client of clients) this.#awarenessClients.add(client);
    this.#awarenessOrigins.add(origin);
    this.#pacer.schedule();
  }

  /** Sends everything pending now. */
  flush(): void {
    const started = performance.now();
    const items = this.#updates.length + (this.#awarenessClients.size > 0 ? 1 : 0);
    this.#stretch.adapt(this.#pacer.held, items);
    this.#pacer.flushed(this.intervalMs);
    const updates = this.#updates;
    this.#updates = [];
    for (let i = 0; i < updates.length; i += MERGE_GROUP) {
      const group = updates.slice(i, i + MERGE_GROUP);
      const update = group.length === 1 ? group[0]!.update : Y.mergeUpdates(group.map((entry) => entry.update));
      const soleOrigin = group.every((entry) => entry.origin === group[0]!.origin) ? group[0]!.origin : undefined;
      this.#send(encodeUpdateMessage(update), soleOrigin);
      this.#sinks.afterUpdate(update, soleOrigin, group);
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
    // The sockets written to are uncorked on the next tick (ws-socket.ts), which queued its
    // callback before this one: measured then, the cost includes the system calls.
    if (items > 0) process.nextTick(this.#measureFlush, started, this.#framesSent);
    this.#framesSent = 0;
  }

  readonly #measureFlush = (started: number, frames: number): void => {
    const cost = performance.now() - started;
    this.#flushCostMs += (cost - this.#flushCostMs) / 4;
    this.#sinks.flushed?.(cost / 1_000, frames);
  };

  /** The current shortest time between two flushes, in ms (0: every event-loop turn, as configured). */
  get intervalMs(): number {
    const paced = this.#baseIntervalMs * this.#stretch.factor;
    if (paced === 0) return 0;
    return Math.max(paced, Math.min(DUTY_FACTOR * this.#flushCostMs, MAX_COST_INTERVAL_MS));
  }

  #send(message: Uint8Array, except: unknown): void {
    for (const conn of this.#connections) if (conn !== except) conn.send(message);
    this.#framesSent += this.#connections.size - (except instanceof Object && this.#connections.has(except as Connection) ? 1 : 0);
  }

  dispose(): void {
    this.#pacer.cancel();
    this.#updates = [];
    this.#awarenessClients.clear();
  }
}
