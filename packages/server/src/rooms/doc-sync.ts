import {
  applyYMessage,
  canEdit,
  checkUpdate,
  CloseCode,
  encodeAwarenessStates,
  encodePermissionDenied,
  encodeSyncStep1,
  errorMessage,
  MalformedMessageError,
  type RefusalReason,
  type UpdateVerdict,
  type YMessageTarget,
} from '@tandem/protocol';
import type { Logger } from 'pino';
import { applyAwarenessUpdate, Awareness, removeAwarenessStates } from 'y-protocols/awareness';
import * as Y from 'yjs';
import type { Bus, BusChannel, BusMessage } from '../cluster/bus.js';
import type { StoredRoom } from '../storage/storage.js';
import { Connection } from './connection.js';
import { Fanout, type PendingUpdate } from './fanout.js';
import type { LogLimiter } from '../lib/log-limiter.js';
import type { Metrics } from '../lib/metrics.js';
import type { RoomLog } from '../storage/room-log.js';
import type { RoomSettings } from './settings.js';
import { callHook, type RoomHooks } from './hooks.js';

const LOAD_ORIGIN = Symbol('load');
const BUS_ORIGIN = Symbol('bus');
/** Updates read from the room's shared log (cluster mode): stored already. */
const LOG_ORIGIN = Symbol('log');
/** Changes the server itself makes (the document API). */
const SERVER_ORIGIN = Symbol('server');

export interface DocSyncContext {
  room: string;
  persistence: RoomLog;
  bus: Bus;
  log: Logger;
  /** For what clients can make happen over and over (see LogLimiter). */
  logLimiter: LogLimiter;
  metrics?: Metrics;
  settings: Pick<RoomSettings, 'compactAfterUpdates' | 'fanoutIntervalMs' | 'maxDocumentBytes' | 'maxPendingBytes'>;
  hooks: RoomHooks;
  /** A connection's update was applied and handed to storage. */
  edited?: (conn: Connection) => void;
}

/**
 * A room's document and awareness: the Yjs sync exchange with each connection, admission of
 * updates (rights, size), fan-out, storage of updates and compaction, and the bridge to the
 * other nodes' copies of the room.
 */
export class DocSync {
  readonly doc = new Y.Doc();
  readonly awareness = new Awareness(this.doc);
  readonly #ctx: DocSyncContext;
  readonly #fanout: Fanout;
  #bus: BusChannel | null = null;
  #logLength = 0;
  /** Size of the last snapshot (or of everything loaded). */
  #snapshotBytes = 0;
  /** Bytes appended to the update log since then. */
  #logBytes = 0;
  /** Bytes of updates applied and waiting in the fan-out, not yet handed to storage. */
  #fanoutBytes = 0;
  /** The whole document as one update, kept until the next change: fresh joiners and snapshots share it. */
  #wholeState: Uint8Array | null = null;
  /**
   * One entry per update handed to storage, in order: the connections whose frames it carries
   * and the newest such frame of each, confirmed to them (`saved`) once storage has it.
   */
  readonly #awaitingStore: Array<Map<Connection, number> | null> = [];
  /** Reused for every binary frame (each is handled synchronously), so none allocates one. */
  readonly #target: YMessageTarget & { origin: Connection | null };

  constructor(connections: ReadonlySet<Connection>, ctx: DocSyncContext) {
    this.#ctx = ctx;
    this.#target = {
      doc: this.doc,
      awareness: this.awareness,
      origin: null,
      stateAsUpdate: this.#stateAsUpdate,
      admitUpdate: (update) => this.#admitUpdate(this.#target.origin!, update),
    };
    this.#fanout = new Fanout(connections, this.awareness, ctx.settings.fanoutIntervalMs, {
      afterUpdate: (update, origin, group) => this.#afterUpdate(update, origin, group),
      afterAwareness: (update, origin) => this.#afterAwareness(update, origin),
      flushed: ctx.metrics ? (seconds, frames) => ctx.metrics!.fanoutFlushed(seconds, frames) : undefined,
    });
    // Presence is owned by clients; the server holds no awareness state of its own.
    this.awareness.setLocalState(null);
    // Cheap, unlike an 'update' listener: Yjs encodes nothing for it.
    this.doc.on('afterTransaction', () => (this.#wholeState = null));
  }

  /** Applies the stored document. */
  load(stored: StoredRoom): void {
    Y.transact(
      this.doc,
      () => {
        for (const update of stored.updates) Y.applyUpdate(this.doc, update, LOAD_ORIGIN);
      },
      LOAD_ORIGIN,
    );
    this.#logLength = stored.logLength;
    this.#snapshotBytes = stored.updates.reduce((sum, update) => sum + update.byteLength, 0);
  }

  /** Starts relaying: awareness changes and the other nodes' updates. */
  start(): void {
    // No doc 'update' listener on purpose: with one, Yjs re-encodes every transaction (quadratic
    // on long runs of typing). The fan-out sends the bytes that arrived, once validated and applied.
    this.awareness.on('update', this.#onAwareness);
    this.#bus = this.#ctx.bus.join(this.#ctx.room, this.#onBus);
  }

  /** Opens the sync exchange with a connection: sync step 1 and everyone's presence. */
  greet(conn: Connection): void {
    conn.send(encodeSyncStep1(this.doc));
    const states = this.awareness.getStates();
    if (states.size > 0) conn.send(encodeAwarenessStates(this.awareness, [...states.keys()]));
  }

  /** Handles one binary (Yjs) frame. */
  receive(conn: Connection, frame: Uint8Array): void {
    this.#target.origin = conn;
    try {
      const result = applyYMessage(frame, this.#target);
      if (result.kind === 'sync') {
        const frame = result.step === 'step1' ? 0 : (conn.receipts?.received() ?? 0);
        if (result.refused) this.#refuseUpdate(conn, result.refused);
        else if (result.reply) conn.send(result.reply);
        else if (result.update) {
          if (frame > 0) conn.receipts!.waiting(frame);
          this.#fanoutBytes += result.update.byteLength;
          this.#fanout.update(result.update, conn, frame);
        }
        // Nothing to store (empty or refused): confirmed at once unless an earlier frame waits.
        if (frame > 0 && !result.update) conn.confirmSaved();
      } else if (result.kind === 'queryAwareness') {
        conn.send(encodeAwarenessStates(this.awareness, [...this.awareness.getStates().keys()]));
      }
    } catch (error) {
      if (!(error instanceof MalformedMessageError)) throw error;
      this.#ctx.logLimiter.log('info', `malformed:${conn.address}`, { ...conn.logFields, reason: error.message }, 'malformed binary frame');
      conn.close(CloseCode.invalidPayload, error.message.slice(0, 120));
    } finally {
      this.#target.origin = null;
    }
  }

  /**
   * Applies a change the server makes (the document API) as one update that is admitted,
   * stored, sent to the members and passed to the other nodes like a member's. The change runs
   * on a copy first, so a refused one never reaches the document. Null when applied (or empty).
   */
  applyServerChange(change: (doc: Y.Doc) => void): RefusalReason | null {
    const draft = new Y.Doc();
    // Set by the listener below (a plain annotation would narrow it to null for the checker).
    let update = null as Uint8Array | null;
    try {
      Y.applyUpdate(draft, this.#encodeWholeState());
      draft.on('update', (made: Uint8Array) => (update = made));
      Y.transact(draft, () => change(draft));
    } finally {
      draft.destroy();
    }
    if (!update) return null;
    const verdict = this.#admitBytes(update);
    if (verdict !== 'apply' && verdict !== 'skip') return verdict.refused;
    Y.applyUpdate(this.doc, update, SERVER_ORIGIN);
    this.#fanout.update(update, SERVER_ORIGIN);
    return null;
  }

  /** A connection left: its presence goes with it. */
  forget(conn: Connection): void {
    if (conn.awarenessClients.length > 0) removeAwarenessStates(this.awareness, [...conn.awarenessClients], null);
  }

  /** The document's stored size: exact after a snapshot, an upper bound between. */
  get storedBytes(): number {
    return this.#snapshotBytes + this.#logBytes;
  }

  /** Sends what the fan-out holds now. */
  flush(): void {
    this.#fanout.flush();
  }

  /** Queues a compaction of the update log if it holds anything (before the room leaves memory). */
  compactLog(): void {
    if (this.#logLength > 0) this.#compact();
  }

  destroy(): void {
    this.#bus?.leave();
    this.#bus = null;
    this.#fanout.dispose();
    this.awareness.destroy();
    this.doc.destroy();
  }

  /** What the document holds beyond a client's state vector; a fresh client's answer is cached. */
  readonly #stateAsUpdate = (stateVector: Uint8Array): Uint8Array => {
    const empty = stateVector.length === 1 && stateVector[0] === 0;
    return empty ? this.#encodeWholeState() : Y.encodeStateAsUpdate(this.doc, stateVector);
  };

  #encodeWholeState(): Uint8Array {
    return (this.#wholeState ??= Y.encodeStateAsUpdate(this.doc));
  }

  /**
   * Checks an update before it is applied: well-formed, allowed for this member, within the size
   * limit. An empty one (a fresh client's sync step 2) is skipped: applying it would still be a
   * transaction, which drops the cached encoding of the document every joiner shares.
   */
  #admitUpdate(conn: Connection, update: Uint8Array): UpdateVerdict {
    if (checkUpdate(update).empty) return 'skip';
    if (!canEdit(conn.rights)) return { refused: 'read_only' };
    return this.#admitBytes(update);
  }

  /** Whether storage can take the update now and the document stays within its size limit. */
  #admitBytes(update: Uint8Array): UpdateVerdict {
    // While storage (or Redis) fails, a room holds a bounded backlog of unstored edits.
    const { persistence, room, settings } = this.#ctx;
    if (!persistence.health.ok && persistence.unsavedBytes(room) + this.#fanoutBytes + update.byteLength > settings.maxPendingBytes) {
      return { refused: 'storage_backlog' };
    }
    // The stored form of the document: exact after a snapshot, an upper bound between.
    const size = this.#snapshotBytes + this.#logBytes + update.byteLength;
    if (size > this.#ctx.settings.maxDocumentBytes) return { refused: 'too_large' };
    return 'apply';
  }

  #refuseUpdate(conn: Connection, reason: RefusalReason): void {
    const text = {
      too_large: `The document would grow past ${this.#ctx.settings.maxDocumentBytes} bytes; the update was not applied.`,
      read_only: 'You may not edit this document; the update was not applied.',
      storage_backlog: 'The server cannot store edits right now and holds as many unstored ones as it may; reconnect later.',
    }[reason];
    // Plain Yjs clients get the standard y-protocols "permission denied" message.
    if (conn.control) conn.sendJson(errorMessage(reason, text));
    else conn.send(encodePermissionDenied(text));
    // Later updates from this client build on the refused one: have it resync from scratch (its
    // edit is kept on its side and sent again by that sync).
    if (reason === 'too_large') conn.close(CloseCode.messageTooBig, 'document size limit reached');
    if (reason === 'storage_backlog') conn.close(CloseCode.tryAgainLater, 'storage is failing; try again later');
  }

  readonly #onAwareness = (change: { added: number[]; updated: number[]; removed: number[] }, origin: unknown): void => {
    if (origin instanceof Connection) origin.trackAwareness(change);
    this.#fanout.awarenessChange(change.added.concat(change.updated, change.removed), origin);
  };

  /** Applies updates other nodes appended to the room's log, and relays them to this node's members. */
  applyRemote(updates: readonly Uint8Array[]): void {
    for (const update of updates) {
      Y.applyUpdate(this.doc, update, LOG_ORIGIN);
      this.#fanout.update(update, LOG_ORIGIN);
    }
  }

  /** Storage has the oldest `count` updates handed to it: their senders are told. */
  stored(count: number): void {
    if (count === 0) return;
    const touched = new Set<Connection>();
    for (const acks of this.#awaitingStore.splice(0, count)) {
      if (!acks) continue;
      for (const [conn, frame] of acks) {
        conn.receipts!.stored(frame);
        touched.add(conn);
      }
    }
    for (const conn of touched) conn.confirmSaved();
  }

  /** After the fan-out sent a (merged) update: store it and pass it to the other nodes. */
  readonly #afterUpdate = (update: Uint8Array, soleOrigin: unknown, group: readonly PendingUpdate[]): void => {
    for (const entry of group) if (entry.origin instanceof Connection) this.#fanoutBytes -= entry.update.byteLength;
    if (soleOrigin === LOG_ORIGIN) return;
    // What came from the shared log is stored already: only this node's own updates are appended.
    const own = group.some((entry) => entry.origin === LOG_ORIGIN) ? group.filter((entry) => entry.origin !== LOG_ORIGIN) : group;
    const ownUpdate = own === group ? update : Y.mergeUpdates(own.map((entry) => entry.update));
    this.#ctx.persistence.appendUpdate(this.#ctx.room, ownUpdate);
    for (const entry of own) if (entry.origin instanceof Connection) this.#ctx.edited?.(entry.origin);
    // The event is built only when the app set the hook (this runs every fan-out flush).
    if (this.#ctx.hooks.onChange && soleOrigin !== BUS_ORIGIN)
      callHook(this.#ctx.hooks, 'onChange', { room: this.#ctx.room, update: ownUpdate, doc: this.doc }, this.#ctx.log);
    this.#awaitingStore.push(receiptsOf(own));
    this.#logBytes += update.byteLength;
    // Encoding a snapshot costs in proportion to the whole document, so it waits until the log
    // also holds half a snapshot's worth of bytes: compaction then costs O(1) per byte written.
    if (++this.#logLength >= this.#ctx.settings.compactAfterUpdates && this.#logBytes * 2 >= this.#snapshotBytes) this.#compact();
    if (soleOrigin !== BUS_ORIGIN) this.#bus?.publish({ kind: 'update', payload: update });
  };

  readonly #afterAwareness = (update: Uint8Array, soleOrigin: unknown): void => {
    if (soleOrigin !== BUS_ORIGIN) this.#bus?.publish({ kind: 'awareness', payload: update });
  };

  readonly #onBus = (message: BusMessage): void => {
    if (message.kind === 'update') {
      Y.applyUpdate(this.doc, message.payload, BUS_ORIGIN);
      this.#fanout.update(message.payload, BUS_ORIGIN);
    } else {
      applyAwarenessUpdate(this.awareness, message.payload, BUS_ORIGIN);
    }
  };

  #compact(): void {
    this.#logLength = 0;
    this.#ctx.persistence.compact(this.#ctx.room, () => {
      // Evaluated at flush time: the snapshot covers everything appended until now.
      const snapshot = this.#encodeWholeState();
      this.#snapshotBytes = snapshot.byteLength;
      this.#logBytes = 0;
      return snapshot;
    });
  }
}

/** The connections whose frames a merged group carries, each with its newest frame; null when none. */
function receiptsOf(group: readonly PendingUpdate[]): Map<Connection, number> | null {
  let acks: Map<Connection, number> | null = null;
  for (const { origin, frame } of group) {
    if (frame === 0 || !(origin instanceof Connection)) continue;
    acks ??= new Map();
    acks.set(origin, frame);
  }
  return acks;
}
