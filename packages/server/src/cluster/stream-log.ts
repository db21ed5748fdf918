import { randomBytes } from 'node:crypto';
import type { ActivityEntry, AppEvent, ChatMessage } from '@tandem/protocol';
import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import * as Y from 'yjs';
import type { CommittedBatch, RoomCopy, RoomLog, StoredHistory } from '../storage/room-log.js';
import type { LoadOptions, SharedStorage, StoredRoom } from '../storage/storage.js';
import { HealthTracker, type StorageHealth } from '../storage/health.js';
import type { Unsaved } from '../storage/write-behind.js';
import { compareIds, decodeEntry, encodeEntries, type LogEntry } from './entry.js';
import { emptyQueue, isEmpty, unsavedOf, type Queue, type Sending } from './append-queue.js';
import { newRoomState, type RoomState } from './room-state.js';
import { foldInto } from './fold.js';
import { COMPACTION_TASKS, roomKeys, roomOfLogKey } from './keys.js';
import { DELETED_EPOCH } from './scripts.js';
import { LogReader } from './log-reader.js';
import { clusterHistory } from './log-history.js';

/** Longest wait between two retries of a failed append. */
const MAX_RETRY_MS = 2_000;
/** How long a deleted room's tombstone epoch stays in Redis: longer than any append can be under way. */
const DELETED_TOMBSTONE_SECONDS = 3_600;
/** Entries read per XRANGE page while a room loads. */
const LOAD_PAGE = 1_000;

export interface StreamLogOptions {
  /** For appends and reads. */
  redis: Redis;
  /** For the one blocking XREAD over every room this node holds. */
  reader: Redis;
  storage: SharedStorage;
  /** This process's id in the log (an entry's `n`). */
  node: string;
  log: Logger;
  onCommitted(room: string, batch: CommittedBatch): void;
  onHealth(health: StorageHealth): void;
  /** The room as this node holds it, to republish after Redis lost the room's log. */
  copyOf(room: string): RoomCopy | null;
  /** Redis lost the room's log and it was rebuilt: the room's clients should run a full sync. */
  onResync(room: string): void;
  /** Each append: how long it took, and whether it succeeded. */
  onAppend?(seconds: number, ok: boolean): void;
}

const newEpoch = (): string => randomBytes(8).toString('hex');
const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Cluster mode's RoomLog: every room has one Redis stream that carries its document updates,
 * chat, activity and events in one total order. A node appends its writes in batches (one per
 * room per event-loop turn, and one in flight per room), and everything, its own entries
 * included, becomes visible to members when this node reads it back from the stream: so every
 * node shows the same entries with the same seqs in the same order, and a write is acknowledged
 * only once it is in Redis. Compaction into PostgreSQL is the Compactor's job.
 */
export class StreamLog implements RoomLog {
  readonly #options: StreamLogOptions;
  readonly #rooms = new Map<string, RoomState>();
  readonly #dirty = new Set<string>();
  #flushTimer: NodeJS.Immediate | null = null;
  #batchNo = 0;
  readonly #health: HealthTracker;
  #stopped = false;
  readonly #reader: LogReader;

  constructor(options: StreamLogOptions) {
    this.#options = options;
    this.#health = new HealthTracker('appending to Redis', options.log, options.onHealth);
    this.#reader = new LogReader({
      reader: options.reader,
      redis: options.redis,
      log: options.log,
      positions: () =>
        [...this.#rooms.values()].filter((state) => state.reading).map((state) => ({ key: state.keys.log, after: state.lastId })),
      deliver: (key, id, fields) => {
        const room = roomOfLogKey(key);
        const state = this.#rooms.get(room);
        if (state?.reading) this.#deliver(room, state, decodeEntry(id, fields));
      },
    });
    // Back after a disconnect: Redis may have restarted without its data.
    options.redis.on('ready', () => void this.#checkEpochs());
  }

  get health(): StorageHealth {
    return this.#health.health;
  }

  async loadRoom(room: string, options: LoadOptions): Promise<StoredRoom> {
    const keys = roomKeys(room);
    const state = newRoomState(keys);
    this.#rooms.set(room, state);
    const { redis } = this.#options;
    for (let attempt = 0; ; attempt++) {
      const stored = await this.#options.storage.loadRoom(room, options);
      const position = stored.logPosition ?? '0-0';
      state.epoch = await redis.tandemEnsureEpoch(keys.meta, newEpoch(), stored.chatSeq, stored.activitySeq, stored.eventSeq);
      const entries = await this.#readAfter(keys.log, position);
      // Another node compacted further and trimmed the log after storage was read: read again.
      // (After Redis lost its data the gap is real and stays; then the log starts where it can.)
      const [oldest] = await redis.xrange(keys.log, '-', '+', 'COUNT', 1);
      if (oldest && position !== '0-0' && compareIds(oldest[0], position) > 0 && attempt < 2) continue;
      foldInto(stored, entries, options.tail);
      state.lastId = entries.at(-1)?.id ?? position;
      state.seen = { chat: stored.chatSeq, activity: stored.activitySeq, event: stored.eventSeq };
      if (!state.released) {
        state.reading = true;
        this.#reader.refresh();
      }
      return stored;
    }
  }

  async #readAfter(key: string, position: string): Promise<LogEntry[]> {
    const entries: LogEntry[] = [];
    for (let after = position; ;) {
      const page = await this.#options.redis.xrangeBuffer(key, `(${after}`, '+', 'COUNT', LOAD_PAGE);
      for (const [id, fields] of page) entries.push(decodeEntry(id, fields));
      if (page.length < LOAD_PAGE) return entries;
      after = entries.at(-1)!.id;
    }
  }

  history(room: string): StoredHistory {
    return clusterHistory(this.#options.redis, this.#options.storage, room, roomKeys(room).log);
  }

  release(room: string): void {
    const state = this.#rooms.get(room);
    if (!state) return;
    state.released = true;
    state.reading = false;
    this.#rooms.delete(room);
    this.#reader.refresh();
  }

  discard(room: string): void {
    const state = this.#rooms.get(room);
    if (!state) return;
    state.deleted = true;
    state.queue = emptyQueue();
    state.unsavedBytes = 0;
    this.release(room);
  }

  async deleteRoom(room: string): Promise<boolean> {
    const state = this.#rooms.get(room);
    this.discard(room);
    if (state) {
      // An append under way lands first, so that deleting the log cannot race it.
      while (state.sending) await sleep(10);
      for (const waiter of state.waiters.splice(0)) waiter.resolve();
    }
    const keys = roomKeys(room);
    await this.#options.redis.tandemDeleteRoom(keys.meta, keys.log, keys.chatIds, keys.batches, DELETED_TOMBSTONE_SECONDS);
    return this.#options.storage.deleteDocument(room);
  }

  appendUpdate(room: string, update: Uint8Array): void {
    const queue = this.#queue(room);
    if (!queue) return;
    queue.updates.push(update);
    queue.own++;
    this.#rooms.get(room)!.unsavedBytes += update.byteLength;
  }

  unsavedBytes(room: string): number {
    return this.#rooms.get(room)?.unsavedBytes ?? 0;
  }

  appendChat(room: string, message: ChatMessage): void {
    this.#queue(room)?.chat.push(message);
  }

  appendActivity(room: string, entry: ActivityEntry): void {
    this.#queue(room)?.activity.push(entry);
  }

  appendEvent(room: string, event: AppEvent): void {
    this.#queue(room)?.events.push(event);
  }

  /**
   * Compaction is the Compactor's work, from the stream into PostgreSQL. The room still takes its
   * snapshot, off the hot path: that is how it keeps its document size accounting exact.
   */
  compact(_room: string, snapshot: () => Uint8Array): void {
    setImmediate(snapshot);
  }

  #queue(room: string): Queue | null {
    const state = this.#rooms.get(room);
    if (!state) return null;
    this.#dirty.add(room);
    this.#flushTimer ??= setImmediate(() => {
      this.#flushTimer = null;
      this.#sendDirty();
    });
    return state.queue;
  }

  #sendDirty(): void {
    for (const room of this.#dirty) {
      const state = this.#rooms.get(room);
      if (state) this.#send(room, state);
    }
    this.#dirty.clear();
  }

  /** Starts appending what the room queued, unless an append of it is under way (it follows that one). */
  #send(room: string, state: RoomState): void {
    if (state.sending) return;
    if (isEmpty(state.queue)) {
      for (const waiter of state.waiters.splice(0)) waiter.resolve();
      return;
    }
    const entries = state.queue;
    state.queue = emptyQueue();
    const update =
      entries.updates.length === 0 ? null : entries.updates.length === 1 ? entries.updates[0]! : Y.mergeUpdates(entries.updates);
    const sending: Sending = { no: ++this.#batchNo, update, entries };
    state.sending = sending;
    if (entries.own > 0) state.own.set(sending.no, entries.own);
    void this.#append(room, state, sending);
  }

  async #append(room: string, state: RoomState, sending: Sending): Promise<void> {
    const { redis, node } = this.#options;
    const { keys } = state;
    const json = encodeEntries(sending.entries);
    while (!this.#stopped && !state.deleted) {
      const started = performance.now();
      try {
        const [status, value] = await redis.tandemAppend(
          keys.meta,
          keys.log,
          keys.chatIds,
          keys.batches,
          COMPACTION_TASKS,
          state.epoch,
          node,
          sending.no,
          sending.update ? Buffer.from(sending.update.buffer, sending.update.byteOffset, sending.update.byteLength) : '',
          json,
          sending.entries.activity.length,
          sending.entries.events.length,
          room,
          ...sending.entries.chat.map((message) => message.id),
        );
        this.#options.onAppend?.((performance.now() - started) / 1_000, true);
        if (status === 'EPOCH' && value === DELETED_EPOCH) {
          this.#options.log.warn({ room }, 'the room was deleted while this node appended to it; its last writes are dropped');
          break;
        }
        if (status === 'EPOCH') {
          await this.#rebuild(room, state, value, sending);
          continue;
        }
        break;
      } catch (error) {
        this.#options.onAppend?.((performance.now() - started) / 1_000, false);
        this.#health.failed(`cannot reach Redis (${error instanceof Error ? error.message : String(error)})`);
        this.#options.log.error({ err: error, failures: this.#health.failures }, 'appending to the room log in Redis failed; retrying');
        for (const waiter of state.waiters.splice(0)) waiter.reject(error);
        await sleep(Math.min(50 * 2 ** this.#health.failures, MAX_RETRY_MS));
      }
    }
    this.#health.succeeded();
    state.sending = null;
    state.unsavedBytes = Math.max(0, state.unsavedBytes - sending.entries.updates.reduce((sum, update) => sum + update.byteLength, 0));
    if (!state.released || !isEmpty(state.queue)) this.#send(room, state);
  }

  /**
   * The room's epoch in Redis is not the one this node knows: Redis lost the room's log (it
   * restarted without persistence) and this or another node started a new one. This node
   * republishes its whole document in the batch it is sending, and stores the chat and activity
   * it holds straight into PostgreSQL (the log may have lost them before they were compacted),
   * so nothing it holds is lost; then it re-reads the new log from its start and has its clients
   * run a full sync. Seqs go on from the newest this node has seen, so none is handed out twice.
   */
  async #rebuild(room: string, state: RoomState, found: string, sending: Sending): Promise<void> {
    const { seen, keys } = state;
    const epoch = await this.#options.redis.tandemEnsureEpoch(keys.meta, newEpoch(), seen.chat, seen.activity, seen.event);
    this.#options.log.warn({ room, was: state.epoch, found: found || null, now: epoch }, "the room's log in Redis was lost; republishing");
    state.epoch = epoch;
    // Own batches not yet read back may be gone with the old log; the republished document holds
    // them, so they all count as stored once this batch is read back.
    let own = 0;
    for (const count of state.own.values()) own += count;
    state.own.clear();
    if (own > 0) state.own.set(sending.no, own);
    const copy = this.#options.copyOf(room);
    if (copy) {
      sending.update = sending.update ? Y.mergeUpdates([copy.document, sending.update]) : copy.document;
      await this.#options.storage.storeEntries(room, { chat: copy.chat, activity: copy.activity, events: [] }).catch((error: unknown) => {
        this.#options.log.error(
          { err: error, room },
          'could not store the chat and activity this node holds; they stay in its memory only',
        );
      });
    }
    state.lastId = '0-0';
    this.#reader.refresh();
    this.#options.onResync(room);
  }

  /** After a reconnect: any room whose epoch changed (or vanished) is rebuilt at once, not at its next write. */
  async #checkEpochs(): Promise<void> {
    for (const [room, state] of this.#rooms) {
      if (!state.reading) continue;
      try {
        const epoch = await this.#options.redis.hget(state.keys.meta, 'epoch');
        if (epoch === state.epoch) continue;
        // An empty append with the old epoch goes through #rebuild, in the room's append order.
        state.queue.updates.push(new Uint8Array([0, 0]));
        this.#dirty.add(room);
        this.#sendDirty();
      } catch (error) {
        this.#options.log.warn({ err: error, room }, 'could not check the room epoch after a reconnect');
      }
    }
  }

  /** Resolves once everything queued so far is in Redis; rejects while appends fail. */
  flush(): Promise<void> {
    if (this.#flushTimer) {
      clearImmediate(this.#flushTimer);
      this.#flushTimer = null;
    }
    this.#sendDirty();
    const pending: Array<Promise<void>> = [];
    for (const [room, state] of this.#rooms) {
      if (!state.sending && isEmpty(state.queue)) continue;
      pending.push(new Promise((resolve, reject) => state.waiters.push({ resolve, reject })));
      this.#send(room, state);
    }
    return Promise.all(pending).then(() => {});
  }

  async drain(deadline: number): Promise<Unsaved[]> {
    for (;;) {
      try {
        await this.flush();
        return [];
      } catch {
        const wait = Math.min(MAX_RETRY_MS, deadline - Date.now());
        if (wait <= 0) return this.unsaved();
        await sleep(wait);
      }
    }
  }

  unsaved(): Unsaved[] {
    const unsaved: Unsaved[] = [];
    for (const [room, state] of this.#rooms) {
      const waiting = unsavedOf(room, state.sending ? [state.sending.entries, state.queue] : [state.queue]);
      if (waiting) unsaved.push(waiting);
    }
    return unsaved;
  }

  /** Stops appending and reading (after the last drain at shutdown). */
  async stop(): Promise<void> {
    this.#stopped = true;
    await this.#reader.stop();
  }

  #deliver(room: string, state: RoomState, entry: LogEntry): void {
    if (compareIds(entry.id, state.lastId) <= 0) return;
    state.lastId = entry.id;
    const own = entry.node === this.#options.node;
    let ownUpdates = 0;
    if (own) {
      ownUpdates = state.own.get(entry.batch) ?? 0;
      state.own.delete(entry.batch);
    }
    const { seen } = state;
    const chat = entry.chat.filter((message) => message.seq > seen.chat);
    const activity = entry.activity.filter((item) => item.seq > seen.activity);
    const events = entry.events.filter((event) => event.seq > seen.event);
    seen.chat = Math.max(seen.chat, ...entry.chat.map((m) => m.seq));
    seen.activity = Math.max(seen.activity, ...entry.activity.map((a) => a.seq));
    seen.event = Math.max(seen.event, ...entry.events.map((e) => e.seq));
    this.#options.onCommitted(room, {
      remoteUpdates: own || !entry.update ? [] : [entry.update],
      ownUpdates,
      chat,
      activity,
      events,
      ownEntries: own ? entry.chat.length + entry.duplicates.length + entry.events.length : 0,
      duplicates: own ? entry.duplicates : [],
    });
  }
}
