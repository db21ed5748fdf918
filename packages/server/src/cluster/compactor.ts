import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import * as Y from 'yjs';
import type { LogCompaction, SharedStorage } from '../storage/storage.js';
import { decodeEntry } from './entry.js';
import { COMPACTION_TASKS, COMPACTORS_GROUP, roomKeys } from './keys.js';

/** Log entries folded into one compaction at most; the rest wait for the next task. */
const MAX_ENTRIES = 20_000;
/** How often each node looks for tasks a dead node claimed, and how long they must have been idle. */
const RECLAIM_EVERY_MS = 5_000;
const RECLAIM_IDLE_MS = 15_000;
const MAX_RETRY_MS = 30_000;

export interface CompactorOptions {
  redis: Redis;
  /** For the blocking XREADGROUP. */
  reader: Redis;
  storage: SharedStorage;
  node: string;
  log: Logger;
  /** A task waits this long after it was queued, so a busy room is compacted once per interval, not once per write. */
  delayMs: number;
  /** How far below a compacted position the log is trimmed: a node loading the room meanwhile still finds the entries after its snapshot. */
  trimMarginMs: number;
  /** Each compaction's outcome. */
  onCompacted?(outcome: 'stored' | 'skipped' | 'failed'): void;
}

/**
 * Folds rooms' Redis logs into PostgreSQL, with no single owner: appends queue a task per room
 * on a stream that every node reads through one consumer group, so each task goes to one node;
 * a node that dies holding tasks has them re-claimed (XAUTOCLAIM) by the others. A compaction
 * reads storage's snapshot and the log after it, writes the new snapshot and the entries in one
 * transaction that also records the position reached (refused if storage already reaches
 * further), and only then trims the log below that position, less a safety margin.
 */
export class Compactor {
  readonly #options: CompactorOptions;
  readonly #running = new Map<string, Promise<void>>();
  readonly #timers = new Set<NodeJS.Timeout>();
  #stopped = false;
  #loop: Promise<void> = Promise.resolve();
  #reclaimTimer: NodeJS.Timeout | null = null;

  constructor(options: CompactorOptions) {
    this.#options = options;
  }

  async start(): Promise<void> {
    await this.#createGroup();
    this.#loop = this.#readLoop();
    this.#reclaimTimer = setInterval(() => void this.#reclaim(), RECLAIM_EVERY_MS);
  }

  /** Creates the consumer group (and the task stream), unless it exists. */
  async #createGroup(): Promise<void> {
    try {
      await this.#options.redis.xgroup('CREATE', COMPACTION_TASKS, COMPACTORS_GROUP, '0', 'MKSTREAM');
    } catch (error) {
      if (!String((error as Error).message).includes('BUSYGROUP')) throw error;
    }
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    if (this.#reclaimTimer) clearInterval(this.#reclaimTimer);
    for (const timer of this.#timers) clearTimeout(timer);
    this.#options.reader.disconnect();
    await this.#loop;
    await Promise.allSettled(this.#running.values());
  }

  async #readLoop(): Promise<void> {
    const { reader, node, log } = this.#options;
    while (!this.#stopped) {
      try {
        if (reader.status !== 'ready') await reader.connect().catch(() => {});
        const reply = (await reader.xreadgroup(
          'GROUP',
          COMPACTORS_GROUP,
          node,
          'COUNT',
          16,
          'BLOCK',
          2_000,
          'STREAMS',
          COMPACTION_TASKS,
          '>',
        )) as Array<[string, Array<[string, string[]]>]> | null;
        for (const [, tasks] of reply ?? []) for (const [id, fields] of tasks) this.#schedule(id, fields[1] ?? '', 0);
      } catch (error) {
        if (this.#stopped) break;
        // Redis restarted without its data: the group is gone with the task stream.
        if (String((error as Error).message).includes('NOGROUP')) await this.#createGroup().catch(() => {});
        else log.warn({ err: error }, 'reading compaction tasks from Redis failed; retrying');
        await new Promise((resolve) => setTimeout(resolve, 500));
      }
    }
  }

  /** Takes over tasks that another node claimed and has not finished for a while (it died). */
  async #reclaim(): Promise<void> {
    const { redis, node, log } = this.#options;
    try {
      const [, tasks] = (await redis.xautoclaim(COMPACTION_TASKS, COMPACTORS_GROUP, node, RECLAIM_IDLE_MS, '0-0', 'COUNT', 16)) as [
        string,
        Array<[string, string[]] | null>,
      ];
      for (const task of tasks) if (task) this.#schedule(task[0], task[1][1] ?? '', 0);
    } catch (error) {
      if (!this.#stopped) log.warn({ err: error }, 'reclaiming compaction tasks failed');
    }
  }

  /** Runs the task once it is `delayMs` old (its id is the time it was queued). */
  #schedule(taskId: string, room: string, failures: number): void {
    if (this.#stopped || !room) return;
    const queuedAt = Number(taskId.split('-')[0]);
    const backoff = failures === 0 ? 0 : Math.min(1_000 * 2 ** failures, MAX_RETRY_MS);
    const wait = Math.max(queuedAt + this.#options.delayMs - Date.now(), backoff, 0);
    const timer = setTimeout(() => {
      this.#timers.delete(timer);
      void this.#run(taskId, room, failures);
    }, wait);
    this.#timers.add(timer);
  }

  async #run(taskId: string, room: string, failures: number): Promise<void> {
    // One compaction of a room at a time on this node; a second task for it waits for the first.
    const previous = this.#running.get(room) ?? Promise.resolve();
    const run = previous.then(async () => {
      if (this.#stopped) return;
      try {
        await this.compact(room);
        await this.#options.redis.multi().xack(COMPACTION_TASKS, COMPACTORS_GROUP, taskId).xdel(COMPACTION_TASKS, taskId).exec();
      } catch (error) {
        this.#options.onCompacted?.('failed');
        this.#options.log.warn(
          { err: error, room, failures: failures + 1 },
          'compaction failed; the log keeps everything and it is retried',
        );
        this.#schedule(taskId, room, failures + 1);
      }
    });
    this.#running.set(room, run);
    await run;
    if (this.#running.get(room) === run) this.#running.delete(room);
  }

  /** Folds the room's log after storage's position into storage; returns the position reached (null: nothing to do). */
  async compact(room: string): Promise<string | null> {
    const { redis, storage, log } = this.#options;
    const keys = roomKeys(room);
    const stored = await storage.loadRoom(room, { tail: 0, dedupeWindow: 0 });
    const position = stored.logPosition ?? '0-0';
    const raw = await redis.xrangeBuffer(keys.log, `(${position}`, '+', 'COUNT', MAX_ENTRIES);
    if (raw.length === 0) {
      await this.#closeTask(room, position);
      return null;
    }
    const doc = new Y.Doc();
    const compaction: LogCompaction = { snapshot: new Uint8Array(), position, chat: [], activity: [], events: [] };
    Y.transact(doc, () => {
      for (const update of stored.updates) Y.applyUpdate(doc, update);
      for (const [id, fields] of raw) {
        const entry = decodeEntry(id, fields);
        if (entry.update) Y.applyUpdate(doc, entry.update);
        compaction.chat.push(...entry.chat.filter((message) => message.seq > stored.chatSeq));
        compaction.activity.push(...entry.activity.filter((item) => item.seq > stored.activitySeq));
        compaction.events.push(...entry.events.filter((event) => event.seq > stored.eventSeq));
        compaction.position = entry.id;
      }
    });
    compaction.snapshot = Y.encodeStateAsUpdate(doc);
    doc.destroy();
    const replaced = await storage.compactFromLog(room, compaction);
    this.#options.onCompacted?.(replaced ? 'stored' : 'skipped');
    log.debug({ room, position: compaction.position, entries: raw.length, replaced }, 'compacted');
    await this.#closeTask(room, compaction.position);
    return compaction.position;
  }

  async #closeTask(room: string, position: string): Promise<void> {
    const keys = roomKeys(room);
    const ms = Number(position.split('-')[0]);
    const trimBelow = `${Math.max(0, ms - this.#options.trimMarginMs)}-0`;
    await this.#options.redis.tandemCompacted(keys.meta, keys.log, COMPACTION_TASKS, position, room, trimBelow);
  }
}
