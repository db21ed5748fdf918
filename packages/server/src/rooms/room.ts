import { CloseCode, errorMessage, type ActivityEntry, type ChatMessage, type Member, type RefusalReason } from '@tandem/protocol';
import * as Y from 'yjs';
import type { PresenceChannel } from '../cluster/bus.js';
import type { VersionInfo } from '../storage/storage.js';
import { Versioner } from '../history/versioner.js';
import type { StorageHealth } from '../storage/health.js';
import type { Connection } from './connection.js';
import { ControlMessages, guardWork } from './control-messages.js';
import { DocSync } from './doc-sync.js';
import { capRights, closeWhere } from './moderation.js';
import { DEDUPE_WINDOW, Journal } from './journal.js';
import { Members } from './members.js';
import type { CommittedBatch, RoomCopy } from '../storage/room-log.js';
import { SEQ_LOG_TAIL } from './seq-log.js';
import { callHook } from './hooks.js';
import type { RoomContext } from './room-context.js';

export type RoomState = 'loading' | 'ready' | 'failed' | 'gone';

/**
 * One document with its members, chat and activity: the lifecycle, the connection set and the
 * routing of frames to the document (DocSync), the people (Members) and the history (Journal).
 * Lifecycle: loading → ready → (idle grace, final flush) → gone. Frames that arrive while
 * loading are held, so nobody edits an empty document in place of the stored one; a join during
 * the final flush keeps the room in memory.
 */
export class Room {
  readonly name: string;
  #state: RoomState = 'loading';
  readonly #ctx: RoomContext;
  readonly #connections = new Set<Connection>();
  readonly #sync: DocSync;
  readonly #journal: Journal;
  readonly #members: Members;
  readonly #versioner: Versioner;
  readonly #control: ControlMessages;
  /** Frames received since the room loaded, for the admin page's message rate. */
  #framesReceived = 0;
  readonly #since = Date.now();
  #presence: PresenceChannel | null = null;
  #idleTimer: NodeJS.Timeout | null = null;
  /** An administrator turned editing off: every member's rights are capped at `comment`. */
  #readOnly = false;
  readonly #loaded: Promise<void>;

  constructor(name: string, ctx: RoomContext) {
    this.name = name;
    this.#ctx = ctx;
    this.#sync = new DocSync(this.#connections, { room: name, ...ctx, edited: (conn) => this.#versioner.edited(this.#members.of(conn)) });
    this.#versioner = new Versioner(name, this.#sync.doc, ctx);
    this.#journal = new Journal({ room: name, ...ctx, guard: (conn, what, work) => guardWork(ctx.log, conn, what, work) });
    this.#members = new Members(this.#connections, {
      journal: this.#journal,
      persistence: ctx.persistence,
      activityLimiter: ctx.activityLimiter,
      leaveGraceMs: ctx.settings.leaveGraceMs,
      isShuttingDown: ctx.isShuttingDown,
      onWelcomed: (conn) => this.#handleHeld(conn),
      onJoined: (member) => callHook(ctx.hooks, 'onJoin', { room: name, member }, ctx.log),
      onLeft: (member) => callHook(ctx.hooks, 'onLeave', { room: name, member }, ctx.log),
    });
    this.#control = new ControlMessages({ members: this.#members, journal: this.#journal, authenticator: ctx.authenticator, log: ctx.log });
    this.#loaded = this.#load();
  }

  /** Resolves once the room has loaded (true) or failed to (false). */
  async whenLoaded(): Promise<boolean> {
    await this.#loaded;
    return this.#state === 'ready';
  }

  get state(): RoomState {
    return this.#state;
  }

  get doc(): Y.Doc {
    return this.#sync.doc;
  }

  get connectionCount(): number {
    return this.#connections.size;
  }

  /** The members, on this node and (cluster mode) on the others. */
  get members(): Member[] {
    return this.#members.list();
  }

  /** Connections that have joined as members. */
  get memberCount(): number {
    return this.#members.count;
  }

  async #load(): Promise<void> {
    const started = performance.now();
    try {
      const stored = await this.#ctx.persistence.loadRoom(this.name, { tail: SEQ_LOG_TAIL, dedupeWindow: DEDUPE_WINDOW });
      // Disposed by a shutdown while the load was under way.
      if (this.#state === 'gone') return;
      this.#sync.load(stored);
      this.#journal.load(stored);
      this.#readOnly = stored.readOnly;
    } catch (error) {
      if (this.#state === 'gone') return;
      this.#ctx.metrics?.roomLoaded((performance.now() - started) / 1_000, false);
      this.#state = 'failed';
      this.#ctx.log.error({ err: error, room: this.name }, 'room failed to load; nothing will be written for it');
      for (const conn of this.#connections) {
        conn.sendJson(errorMessage('room_unavailable', `Room "${this.name}" could not be loaded; try again later.`));
        conn.close(CloseCode.internalError, 'room failed to load');
      }
      this.#connections.clear();
      this.#destroy();
      return;
    }
    this.#ctx.metrics?.roomLoaded((performance.now() - started) / 1_000, true);
    this.#sync.start();
    this.#presence = this.#ctx.presence?.join(this.name, (change) => this.#members.remote(change)) ?? null;
    this.#members.connectPresence(this.#presence);
    this.#state = 'ready';
    for (const conn of this.#connections) this.#start(conn);
    if (this.#connections.size === 0) this.#scheduleUnload();
  }

  /** Adds a connection; it is served once the room has loaded. */
  attach(conn: Connection): void {
    if (this.#idleTimer) {
      clearTimeout(this.#idleTimer);
      this.#idleTimer = null;
    }
    this.#connections.add(conn);
    if (this.#state === 'ready') this.#start(conn);
  }

  #start(conn: Connection): void {
    conn.session.cap(this.#readOnly ? 'comment' : null);
    this.#sync.greet(conn);
    this.#handleHeld(conn);
  }

  /** Handles the frames held while the room loaded or the welcome waited, in order. */
  #handleHeld(conn: Connection): void {
    // A join among them holds the ones after it again: receive() queues them behind it.
    for (const frame of conn.release()) this.receive(conn, frame.data, frame.isBinary);
  }

  receive(conn: Connection, data: Uint8Array, isBinary: boolean): void {
    if (conn.closed) return;
    this.#framesReceived++;
    if (conn.holding) {
      if (!conn.holdFrame({ data, isBinary }, this.#ctx.settings.maxPendingBytes)) {
        conn.close(CloseCode.policyViolation, 'too much sent before the room was ready');
      }
      return;
    }
    if (isBinary) this.#sync.receive(conn, data);
    else this.#control.receive(conn, Buffer.from(data.buffer, data.byteOffset, data.byteLength).toString('utf8'));
  }

  /** These writes of this room are durable: now members may see them. */
  committed(batch: CommittedBatch): void {
    if (this.#state !== 'ready') return;
    this.#sync.applyRemote(batch.remoteUpdates);
    this.#sync.stored(batch.ownUpdates);
    // Activity first: a joiner is welcomed with history up to its own entry, and then gets this
    // batch's chat and events as broadcasts like everyone else (its welcome's chatSeq is where
    // those continue).
    this.#journal.committed(batch, {
      activity: (entry) => this.#members.activityCommitted(entry),
      chat: (message) => {
        this.#members.broadcast({ type: 'chat', message });
        this.#chatHook(message);
      },
      event: (event) => this.#members.broadcast({ type: 'event', ...event }, event.from.id),
    });
  }

  /** The app's onChat, once: on the node the author is on (looked up only when the app asked for it). */
  #chatHook(message: ChatMessage): void {
    if (this.#ctx.hooks.onChat && this.#members.isLocal(message.author.id))
      callHook(this.#ctx.hooks, 'onChat', { room: this.name, message }, this.#ctx.log);
  }

  /** What the admin API shows of the room. */
  overview(): {
    connections: number;
    members: Member[];
    documentBytes: number;
    framesReceived: number;
    loadedAt: number;
    readOnly: boolean;
  } {
    return {
      readOnly: this.#readOnly,
      connections: this.#connections.size,
      members: this.#members.list(),
      documentBytes: this.#state === 'ready' ? this.#sync.storedBytes : 0,
      framesReceived: this.#framesReceived,
      loadedAt: this.#since,
    };
  }

  /** Writes what an administrator did to the activity history (on the node the action came to). */
  recordAdmin(action: NonNullable<ActivityEntry['action']>, target?: Member): void {
    if (this.#state === 'ready') this.#journal.recordAdmin(action, target);
  }

  /** Closes this node's connections of a member (their clients do not reconnect by themselves). Returns how many closed. */
  disconnect(memberId: string): number {
    return closeWhere(this.#connections, (conn) => this.#members.of(conn)?.id === memberId, CloseCode.disconnectedByAdmin);
  }

  /** Closes every connection of this node (clients do not reconnect by themselves). Returns how many closed. */
  closeByAdmin(): number {
    return closeWhere(this.#connections, () => true, CloseCode.roomClosedByAdmin);
  }

  /** Turns editing off or on for every member; those whose rights change are told at once. */
  setReadOnly(readOnly: boolean): void {
    this.#readOnly = readOnly;
    capRights(this.#connections, readOnly);
  }

  /** The document was deleted: every connection closes (4003) and nothing queued for it is written. Returns how many closed. */
  deleted(): number {
    const connections = [...this.#connections];
    this.#ctx.persistence.discard(this.name);
    // Gone before the closes: their departures are not recorded, and nothing is flushed.
    this.#destroy();
    this.#connections.clear();
    closeWhere(connections, () => true, CloseCode.documentDeleted);
    for (const conn of connections) conn.detach();
    return connections.length;
  }

  /**
   * The server changes the document (the document API): one update, stored and sent to every
   * member on every node as a member's would be. Resolves once storage has it; to the reason
   * when it was refused (while storage fails too: the caller can try again, a member cannot).
   */
  async applyServerChange(change: (doc: Y.Doc) => void): Promise<RefusalReason | null> {
    if (this.#state !== 'ready') throw new Error(`room "${this.name}" is ${this.#state}, not ready for a change`);
    if (this.#readOnly) return 'read_only';
    if (!this.#ctx.persistence.health.ok) return 'storage_backlog';
    const refused = this.#sync.applyServerChange(change);
    if (refused) return refused;
    this.#sync.flush();
    // Storage failing just now: the change is live and queued like members' edits, stored once
    // storage works again (the failure is reported through the storage health, not here).
    await this.#ctx.persistence.flush().catch(() => {});
    return null;
  }

  /** An administrator compacts the room's update log now (on one node; in a cluster the compactor does it). */
  async compactByAdmin(): Promise<void> {
    if (this.#state !== 'ready') return;
    this.#journal.recordAdmin('compact');
    this.#sync.compactLog();
    await this.#ctx.persistence.flush();
  }

  /** What this node holds of the room (see RoomCopy), while it is loaded. */
  copy(): RoomCopy | null {
    if (this.#state !== 'ready') return null;
    return { document: Y.encodeStateAsUpdate(this.#sync.doc), ...this.#journal.held() };
  }

  /** Saves a named version of the document now; null while the room is not loaded. */
  async saveVersion(name: string): Promise<VersionInfo | null> {
    return this.#state === 'ready' ? this.#versioner.saveNamed(name) : null;
  }

  /**
   * Brings back a version as a new change on top of the document (`change`, see
   * applyServerChange) and records who did it. With `change` null the member's own client made
   * the change (so that its user can undo it) and only the record is made.
   */
  async restore(
    change: ((doc: Y.Doc) => void) | null,
    member: Member,
    version: Pick<VersionInfo, 'id' | 'time' | 'name'>,
  ): Promise<RefusalReason | null> {
    if (change) {
      const refused = await this.applyServerChange(change);
      if (refused) return refused;
      this.#versioner.edited(member);
    }
    if (this.#state === 'ready')
      this.#journal.recordRestore(member, { id: version.id, time: version.time, ...(version.name === null ? {} : { name: version.name }) });
    return null;
  }

  /** Every connection runs a full sync: told why (tandem.v1), and sent the server's sync step 1. */
  resync(reason: string): void {
    if (this.#state !== 'ready') return;
    for (const conn of this.#connections) {
      conn.sendJson({ type: 'resync', reason });
      this.#sync.greet(conn);
    }
  }

  /** Storage failed or works again: the members are told. */
  storageChanged(health: StorageHealth): void {
    this.#members.storageChanged(health);
  }

  /** A connection closed. */
  leave(conn: Connection): void {
    if (!this.#connections.delete(conn)) return;
    conn.detach();
    if (this.#state !== 'ready') return;
    this.#sync.forget(conn);
    this.#members.leave(conn);
    if (this.#connections.size === 0) {
      // Not at shutdown: storage closes before a version could be stored.
      if (!this.#ctx.isShuttingDown()) this.#versioner.lastLeft();
      this.#scheduleUnload();
    }
  }

  /**
   * Before the final flush at shutdown: sends what is batched and records the leaves still in
   * their grace period. Compaction is queued too; it runs only once every increment is stored.
   */
  prepareShutdown(): void {
    if (this.#state !== 'ready') return;
    this.#settle();
  }

  /** Drops the room from memory at shutdown, after the final flush. */
  dispose(): void {
    if (this.#state === 'ready' || this.#state === 'loading') this.#destroy();
  }

  #settle(): void {
    this.#sync.flush();
    this.#members.settle();
    this.#sync.compactLog();
  }

  #scheduleUnload(): void {
    if (this.#idleTimer || this.#state !== 'ready') return;
    this.#idleTimer = setTimeout(() => void this.#unload(), this.#ctx.settings.roomIdleMs);
  }

  async #unload(): Promise<void> {
    this.#idleTimer = null;
    if (this.#connections.size > 0 || this.#state !== 'ready') return;
    // Changes made without members (the document API) are kept as a version too.
    this.#versioner.lastLeft();
    this.#settle();
    try {
      await this.#ctx.persistence.flush();
    } catch (error) {
      this.#ctx.log.error({ err: error, room: this.name }, 'final flush failed; the room stays in memory and retries');
      this.#scheduleUnload();
      return;
    }
    // Someone joined while the flush ran: stay loaded and keep serving them from memory.
    if (this.#connections.size > 0 || this.#state !== 'ready') return;
    this.#destroy();
  }

  #destroy(): void {
    if (this.#state !== 'failed') this.#state = 'gone';
    if (this.#idleTimer) clearTimeout(this.#idleTimer);
    this.#idleTimer = null;
    this.#members.dispose();
    this.#versioner.dispose();
    this.#presence?.leave();
    this.#presence = null;
    this.#sync.destroy();
    this.#ctx.persistence.release(this.name);
    this.#ctx.onGone(this);
  }
}
