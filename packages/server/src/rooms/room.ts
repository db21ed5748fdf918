import type { Logger } from 'pino';
import {
  applyYMessage,
  checkUpdate,
  CloseCode,
  colorForName,
  encodeAwarenessStates,
  encodeSyncStep1,
  errorMessage,
  MalformedMessageError,
  parseClientMessage,
  RESUME_PAGE,
  WELCOME_HISTORY,
  YMessageType,
  type ActivityEntry,
  type AppEvent,
  type ChatMessage,
  type ClientMessage,
  type Member,
  type ServerMessage,
  type UpdateVerdict,
  type YMessageTarget,
} from '@tandem/protocol';
import { Awareness, applyAwarenessUpdate, removeAwarenessStates } from 'y-protocols/awareness';
import * as Y from 'yjs';
import { writePermissionDenied } from 'y-protocols/auth';
import * as encoding from 'lib0/encoding';
import { AuthError, type Authenticator } from '../auth/authenticator.js';
import { canChat, canEdit, rightFor } from '../auth/rights.js';
import type { Bus, BusChannel, BusMessage } from '../cluster/bus.js';
import type { RoomWrites, Storage } from '../storage/storage.js';
import type { StorageHealth, WriteBehind } from '../storage/write-behind.js';
import type { ActivityLimiter } from './activity-limiter.js';
import { Connection } from './connection.js';
import { Fanout } from './fanout.js';
import { PresenceBatch, presenceIntervalMs } from './presence.js';
import { SEQ_LOG_TAIL, SeqLog } from './seq-log.js';

/** Chat ids remembered per room to drop re-sent messages. */
const DEDUPE_WINDOW = 10_000;
/**
 * Chat messages and events a room may hold waiting for storage while it fails; past that they
 * are refused (storage_backlog) rather than held in memory without bound.
 */
const MAX_UNSTORED = 1_000;
/** Frames a connection may send before its room has loaded (their bytes are bounded by config too). */
const MAX_PENDING_FRAMES = 1_000;

const LOAD_ORIGIN = Symbol('load');
const BUS_ORIGIN = Symbol('bus');

export interface RoomContext {
  storage: Storage;
  persistence: WriteBehind;
  bus: Bus;
  log: Logger;
  authenticator: Authenticator;
  compactAfterUpdates: number;
  fanoutIntervalMs: number;
  idleMs: number;
  maxDocumentBytes: number;
  maxPendingBytes: number;
  /** A leave is recorded this long after it happens, unless the same person comes back first. */
  leaveGraceMs: number;
  activityLimiter: ActivityLimiter;
  /** True while the server shuts down: departures then are not recorded as "left". */
  isShuttingDown(): boolean;
  /** Called once the room has left memory (unloaded, or failed to load). */
  onGone(room: Room): void;
}

export type RoomState = 'loading' | 'ready' | 'failed' | 'gone';

/** Who a member is across connections: the token's user, or a guest's name. */
function personKey(conn: Connection, name: string): string {
  return conn.identity.userId === null ? `guest:${name}` : `user:${conn.identity.userId}`;
}

function storageMessage(health: StorageHealth): ServerMessage {
  return health.ok
    ? { type: 'storage', state: 'ok', message: 'Changes are being stored again.' }
    : {
        type: 'storage',
        state: 'failing',
        message: `The server cannot store changes (${health.error}); they are kept in memory and not acknowledged until it can.`,
      };
}

/**
 * One document with its members, chat and activity. Lifecycle: loading → ready → (idle grace,
 * final flush) → gone. Frames that arrive while loading wait, so nobody edits an empty document
 * in place of the stored one; a join during the final flush keeps the room in memory.
 */
export class Room {
  readonly name: string;
  readonly doc = new Y.Doc();
  readonly awareness = new Awareness(this.doc);
  #state: RoomState = 'loading';
  readonly #ctx: RoomContext;
  readonly #connections = new Set<Connection>();
  readonly #fanout: Fanout;
  readonly #presence = new PresenceBatch(
    () => presenceIntervalMs(this.#connections.size),
    (message) => this.#broadcastJoined(message),
  );
  #bus: BusChannel | null = null;
  #chat: SeqLog<ChatMessage>;
  #activity: SeqLog<ActivityEntry>;
  #eventSeq = 0;
  /** Chat messages and events queued for storage and not yet committed. */
  #unstored = 0;
  /** Chat id → seq, for chat committed or queued: a re-send is not stored twice. */
  readonly #chatIds = new Map<string, number>();
  /** Joiners whose welcome waits for their "joined" entry to be committed, by its seq. */
  readonly #awaitingWelcome = new Map<number, Connection>();
  /** Connections that re-sent a chat message still being stored: confirmed to them once it is, by seq. */
  readonly #awaitingReplay = new Map<number, Connection[]>();
  /** Leaves waiting out the grace period, by person: a quick return records neither. */
  readonly #heldLeaves = new Map<string, { member: Member; timer: NodeJS.Timeout }>();
  #logLength = 0;
  /** Size of the last snapshot (or of everything loaded). */
  #snapshotBytes = 0;
  /** Bytes appended to the update log since then. */
  #logBytes = 0;
  /** The whole document as one update, kept until the next change: fresh joiners and snapshots share it. */
  #wholeState: Uint8Array | null = null;
  /** Reused for every binary frame (each is handled synchronously), so none allocates one. */
  readonly #target: YMessageTarget & { origin: Connection | null };
  #idleTimer: NodeJS.Timeout | null = null;

  constructor(name: string, ctx: RoomContext) {
    this.name = name;
    this.#ctx = ctx;
    this.#chat = this.#chatLog([], 0);
    this.#activity = this.#activityLog([], 0);
    this.#target = {
      doc: this.doc,
      awareness: this.awareness,
      origin: null,
      stateAsUpdate: this.#stateAsUpdate,
      admitUpdate: (update) => this.#admitUpdate(this.#target.origin!, update),
    };
    this.#fanout = new Fanout(this.#connections, this.awareness, ctx.fanoutIntervalMs, {
      afterUpdate: (update, origin) => this.#afterUpdate(update, origin),
      afterAwareness: (update, origin) => this.#afterAwareness(update, origin),
    });
    // Presence is owned by clients; the server holds no awareness state of its own.
    this.awareness.setLocalState(null);
    // Cheap, unlike an 'update' listener: Yjs encodes nothing for it.
    this.doc.on('afterTransaction', () => (this.#wholeState = null));
    void this.#load();
  }

  get state(): RoomState {
    return this.#state;
  }

  get connectionCount(): number {
    return this.#connections.size;
  }

  /** Connections that have joined as members. */
  get memberCount(): number {
    let count = 0;
    for (const conn of this.#connections) if (conn.member) count++;
    return count;
  }

  #chatLog(tail: ChatMessage[], newestSeq: number): SeqLog<ChatMessage> {
    return new SeqLog(tail, newestSeq, (afterSeq, limit) => this.#ctx.storage.readChat(this.name, afterSeq, limit));
  }

  #activityLog(tail: ActivityEntry[], newestSeq: number): SeqLog<ActivityEntry> {
    return new SeqLog(tail, newestSeq, (afterSeq, limit) => this.#ctx.storage.readActivity(this.name, afterSeq, limit));
  }

  async #load(): Promise<void> {
    try {
      const stored = await this.#ctx.storage.loadRoom(this.name, { tail: SEQ_LOG_TAIL, dedupeWindow: DEDUPE_WINDOW });
      // Disposed by a shutdown while the load was under way.
      if (this.#state === 'gone') return;
      Y.transact(
        this.doc,
        () => {
          for (const update of stored.updates) Y.applyUpdate(this.doc, update, LOAD_ORIGIN);
        },
        LOAD_ORIGIN,
      );
      this.#logLength = stored.logLength;
      this.#snapshotBytes = stored.updates.reduce((sum, update) => sum + update.byteLength, 0);
      this.#chat = this.#chatLog(stored.chat, stored.chatSeq);
      this.#activity = this.#activityLog(stored.activity, stored.activitySeq);
      this.#eventSeq = stored.eventSeq;
      for (const { id, seq } of stored.recentChatIds) this.#chatIds.set(id, seq);
    } catch (error) {
      if (this.#state === 'gone') return;
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
    // No doc 'update' listener on purpose: with one, Yjs re-encodes every transaction (quadratic
    // on long runs of typing). The fan-out sends the bytes that arrived, once validated and applied.
    this.awareness.on('update', this.#onAwareness);
    this.#bus = this.#ctx.bus.join(this.name, this.#onBus);
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
    conn.send(encodeSyncStep1(this.doc));
    const states = this.awareness.getStates();
    if (states.size > 0) conn.send(encodeAwarenessStates(this.awareness, [...states.keys()]));
    this.#drainPending(conn);
  }

  receive(conn: Connection, data: Uint8Array, isBinary: boolean): void {
    if (conn.closed) return;
    if (conn.pending) {
      conn.pendingBytes += data.byteLength;
      if (conn.pending.length >= MAX_PENDING_FRAMES || conn.pendingBytes > this.#ctx.maxPendingBytes) {
        conn.close(CloseCode.policyViolation, 'too much sent before the room was ready');
        return;
      }
      conn.pending.push({ data, isBinary });
      return;
    }
    if (isBinary) this.#receiveBinary(conn, data);
    else this.#receiveText(conn, Buffer.from(data.buffer, data.byteOffset, data.byteLength).toString('utf8'));
  }

  #receiveBinary(conn: Connection, frame: Uint8Array): void {
    this.#target.origin = conn;
    try {
      const result = applyYMessage(frame, this.#target);
      if (result.kind === 'sync') {
        if (result.refused) this.#refuseUpdate(conn, result.refused);
        else if (result.reply) conn.send(result.reply);
        else if (result.update) this.#fanout.update(result.update, conn);
      } else if (result.kind === 'queryAwareness') {
        conn.send(encodeAwarenessStates(this.awareness, [...this.awareness.getStates().keys()]));
      }
    } catch (error) {
      if (!(error instanceof MalformedMessageError)) throw error;
      this.#ctx.log.info({ room: this.name, conn: conn.id, reason: error.message }, 'malformed binary frame');
      conn.close(CloseCode.invalidPayload, error.message.slice(0, 120));
    } finally {
      this.#target.origin = null;
    }
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
    // The stored form of the document: exact after a snapshot, an upper bound between.
    if (this.#snapshotBytes + this.#logBytes + update.byteLength > this.#ctx.maxDocumentBytes) return { refused: 'too_large' };
    return 'apply';
  }

  #refuseUpdate(conn: Connection, reason: string): void {
    const tooLarge = reason === 'too_large';
    const text = tooLarge
      ? `The document would grow past ${this.#ctx.maxDocumentBytes} bytes; the update was not applied.`
      : 'You may not edit this document; the update was not applied.';
    if (conn.control) {
      conn.sendJson(errorMessage(tooLarge ? 'too_large' : 'read_only', text));
    } else {
      // Plain Yjs clients get the standard y-protocols "permission denied" message.
      const encoder = encoding.createEncoder();
      encoding.writeVarUint(encoder, YMessageType.auth);
      writePermissionDenied(encoder, text);
      conn.send(encoding.toUint8Array(encoder));
    }
    // Later updates from this client build on the refused one: have it resync from scratch.
    if (tooLarge) conn.close(CloseCode.messageTooBig, 'document size limit reached');
  }

  #receiveText(conn: Connection, text: string): void {
    if (!conn.control) {
      conn.close(CloseCode.unsupportedData, 'text frames need the tandem.v1 subprotocol');
      return;
    }
    const parsed = parseClientMessage(text);
    if (!parsed.ok) {
      conn.sendJson(errorMessage('bad_message', parsed.error));
      return;
    }
    const message = parsed.message;
    if (message.type === 'join') {
      this.#join(conn, message.name);
      return;
    }
    const member = conn.member;
    if (!member) {
      conn.sendJson(errorMessage('not_joined', `"${message.type}" needs a member: send "join" first.`));
      return;
    }
    this.#dispatch(conn, member, message);
  }

  #dispatch(conn: Connection, member: Member, message: Exclude<ClientMessage, { type: 'join' }>): void {
    switch (message.type) {
      case 'rename': {
        const previousName = member.name;
        if (previousName === message.name) return;
        const renamed = { ...member, name: message.name, color: colorForName(message.name) };
        conn.member = renamed;
        this.#presence.changed(renamed);
        if (this.#ctx.activityLimiter.allow(conn.address)) this.#recordActivity('rename', renamed, previousName);
        return;
      }
      case 'chat':
        if (!canChat(conn.rights)) {
          conn.sendJson(errorMessage('forbidden', 'Your rights here do not include chat.', message.id));
          return;
        }
        if (this.#backlogged(conn, message.id)) return;
        this.#chatMessage(conn, member, message.id, message.text);
        this.#warnUnstored(conn, message.id);
        return;
      case 'typing':
        conn.typing = message.on;
        this.#broadcastJoined({ type: 'typing', member, on: message.on }, conn.id);
        return;
      case 'event': {
        if (this.#backlogged(conn)) return;
        const seq = ++this.#eventSeq;
        const event: AppEvent =
          message.data === undefined
            ? { seq, from: member, name: message.name }
            : { seq, from: member, name: message.name, data: message.data };
        this.#unstored++;
        this.#ctx.persistence.appendEvent(this.name, event);
        this.#warnUnstored(conn);
        return;
      }
      case 'resume':
        this.#guard(conn, 'resume', this.#resume(conn, message.chatSeq, message.activitySeq));
        return;
      case 'auth':
        this.#guard(conn, 're-authentication', this.#reauthenticate(conn, message.token));
        return;
    }
  }

  /**
   * The one error boundary for a frame's asynchronous work: a failure is logged with the
   * connection and costs that connection (1011), never the process or the other members.
   */
  #guard(conn: Connection, what: string, work: Promise<void>): void {
    work.catch((error: unknown) => {
      this.#ctx.log.error({ err: error, room: this.name, conn: conn.id }, `${what} failed; closing the connection`);
      conn.close(CloseCode.internalError, 'internal error');
    });
  }

  /** Refuses a chat message or event while storage fails and this room holds too many unstored. */
  #backlogged(conn: Connection, ref?: string): boolean {
    if (this.#unstored < MAX_UNSTORED || this.#ctx.persistence.health.ok) return false;
    conn.sendJson(
      errorMessage(
        'storage_backlog',
        `Storage is failing and this room already holds ${MAX_UNSTORED} unstored messages; send it again later.`,
        ref,
      ),
    );
    return true;
  }

  /** Tells the sender, while storage fails, why its message is not acknowledged yet (it is kept, and sent once stored). */
  #warnUnstored(conn: Connection, ref?: string): void {
    const health = this.#ctx.persistence.health;
    if (health.ok) return;
    conn.sendJson(
      errorMessage(
        'storage_failed',
        `Not saved yet: the server cannot store changes (${health.error}). It is kept and sent once storage works again.`,
        ref,
      ),
    );
  }

  /** A fresh token for a live connection: same user, rights recomputed, expiry moved. */
  async #reauthenticate(conn: Connection, token: string): Promise<void> {
    let identity;
    try {
      identity = await this.#ctx.authenticator.verify(token);
    } catch (error) {
      if (!(error instanceof AuthError)) throw error;
      conn.sendJson(errorMessage('unauthorized', error.message));
      return;
    }
    const rights = rightFor(identity.grants, this.name);
    if (identity.userId !== conn.identity.userId || rights === null) {
      conn.sendJson(errorMessage('forbidden', 'The new token is for another user or does not cover this room.'));
      return;
    }
    conn.renew(identity, rights);
    conn.sendJson({ type: 'authenticated', rights, expiresAt: identity.expiresAt });
  }

  #members(): Member[] {
    const members: Member[] = [];
    for (const conn of this.#connections) if (conn.member) members.push(conn.member);
    return members;
  }

  #join(conn: Connection, name: string): void {
    if (conn.member) {
      conn.sendJson(errorMessage('already_joined', 'This connection has joined already; send "rename" to change the name.'));
      return;
    }
    const displayName = conn.identity.name ?? name;
    const member: Member = { id: conn.id, name: displayName, color: colorForName(displayName) };
    conn.member = member;
    const seq = this.#recordJoin(conn, member);
    // The welcome holds only committed history, the joiner's own "joined" entry included: it
    // waits for that entry's commit (a few ms), unless storage is failing. Frames the client
    // sends meanwhile wait too, as while the room loads, so they are handled as after the welcome.
    if (seq !== null && this.#ctx.persistence.health.ok) {
      this.#awaitingWelcome.set(seq, conn);
      conn.pending = [];
    } else {
      this.#welcome(conn, member);
    }
  }

  #welcome(conn: Connection, member: Member): void {
    conn.welcomed = true;
    conn.sendJson({
      type: 'welcome',
      you: member,
      members: this.#members(),
      activity: this.#activity.recent(WELCOME_HISTORY),
      chat: this.#chat.recent(WELCOME_HISTORY),
      chatSeq: this.#chat.committedSeq,
      activitySeq: this.#activity.committedSeq,
      rights: conn.rights,
    });
    const health = this.#ctx.persistence.health;
    if (!health.ok) conn.sendJson(storageMessage(health));
    this.#presence.changed(member);
    this.#drainPending(conn);
  }

  /** Handles the frames that waited for the room to load or for the welcome, in order. */
  #drainPending(conn: Connection): void {
    const pending = conn.pending ?? [];
    conn.pending = null;
    conn.pendingBytes = 0;
    // None of them can make the connection wait again: only a first join does.
    for (const frame of pending) this.receive(conn, frame.data, frame.isBinary);
  }

  /**
   * Records "joined", unless the same person left moments ago (then neither is recorded) or the
   * address is over its rate. Returns the entry's seq, or null when nothing was recorded.
   */
  #recordJoin(conn: Connection, member: Member): number | null {
    const key = personKey(conn, member.name);
    const held = this.#heldLeaves.get(key);
    if (held) {
      clearTimeout(held.timer);
      this.#heldLeaves.delete(key);
      return null;
    }
    conn.joinRecorded = this.#ctx.activityLimiter.allow(conn.address);
    return conn.joinRecorded ? this.#recordActivity('join', member) : null;
  }

  /** Records "left" once the grace period passes without the person coming back. */
  #recordLeave(conn: Connection, member: Member): void {
    // Over its rate the join was not recorded, and a leave without its join would be noise.
    if (!conn.joinRecorded) return;
    if (this.#ctx.leaveGraceMs === 0) {
      this.#recordActivity('leave', member);
      return;
    }
    const key = personKey(conn, member.name);
    const earlier = this.#heldLeaves.get(key);
    if (earlier) this.#releaseLeave(key, earlier);
    const timer = setTimeout(() => this.#releaseLeave(key, held), this.#ctx.leaveGraceMs);
    const held = { member, timer };
    this.#heldLeaves.set(key, held);
  }

  #releaseLeave(key: string, held: { member: Member; timer: NodeJS.Timeout }): void {
    clearTimeout(held.timer);
    this.#heldLeaves.delete(key);
    this.#recordActivity('leave', held.member);
  }

  #releaseHeldLeaves(): void {
    for (const [key, held] of this.#heldLeaves) this.#releaseLeave(key, held);
  }

  /** Queues an activity entry for storage; members see it once it is committed (see `committed`). Returns its seq. */
  #recordActivity(kind: ActivityEntry['kind'], member: Member, previousName?: string): number {
    const entry: ActivityEntry = { seq: this.#activity.nextSeq(), time: Date.now(), kind, member };
    if (previousName !== undefined) entry.previousName = previousName;
    this.#ctx.persistence.appendActivity(this.name, entry);
    return entry.seq;
  }

  /** Queues a chat message for storage; it is broadcast, and so acknowledged, once committed. */
  #chatMessage(conn: Connection, author: Member, id: string, text: string): void {
    const knownSeq = this.#chatIds.get(id);
    if (knownSeq !== undefined) {
      // A re-send (the client did not see its acknowledgement): confirmed to the sender only,
      // once stored.
      if (knownSeq <= this.#chat.committedSeq) this.#guard(conn, 'confirming a re-sent chat message', this.#replayChat(conn, knownSeq));
      else this.#awaitingReplay.set(knownSeq, [...(this.#awaitingReplay.get(knownSeq) ?? []), conn]);
      return;
    }
    const message: ChatMessage = { seq: this.#chat.nextSeq(), id, author, text, time: Date.now() };
    this.#chatIds.set(id, message.seq);
    if (this.#chatIds.size > DEDUPE_WINDOW) {
      this.#chatIds.delete(this.#chatIds.keys().next().value as string);
    }
    this.#unstored++;
    this.#ctx.persistence.appendChat(this.name, message);
  }

  /** Storage committed these writes of this room: now members may see them. */
  committed(writes: RoomWrites): void {
    if (this.#state !== 'ready') return;
    this.#unstored -= writes.chat.length + writes.events.length;
    // Activity first: a joiner is welcomed with history up to its own entry, and then gets
    // this batch's chat and events as broadcasts like everyone else (its welcome's chatSeq is
    // where those continue).
    for (const entry of writes.activity) {
      this.#activity.committed(entry);
      this.#presence.activity(entry);
      const joiner = this.#awaitingWelcome.get(entry.seq);
      if (joiner) {
        this.#awaitingWelcome.delete(entry.seq);
        if (!joiner.closed && joiner.member) this.#welcome(joiner, joiner.member);
      }
    }
    for (const message of writes.chat) {
      this.#chat.committed(message);
      this.#broadcastJoined({ type: 'chat', message });
      const replays = this.#awaitingReplay.get(message.seq);
      if (replays) {
        this.#awaitingReplay.delete(message.seq);
        for (const conn of replays) conn.sendJson({ type: 'chat', message });
      }
    }
    for (const event of writes.events) {
      this.#broadcastJoined({ type: 'event', ...event }, event.from.id);
    }
  }

  /** Tells every control connection that storage failed or works again. */
  storageChanged(health: StorageHealth): void {
    const utf8 = Buffer.from(JSON.stringify(storageMessage(health)));
    for (const conn of this.#connections) conn.sendEncodedJson(utf8);
    if (health.ok) return;
    // Joiners are not kept waiting on a commit that may not come soon (the welcome tells them storage fails).
    for (const conn of this.#awaitingWelcome.values()) if (!conn.closed && conn.member) this.#welcome(conn, conn.member);
    this.#awaitingWelcome.clear();
  }

  /** Confirms a re-sent chat message that is stored: from memory, else from storage. */
  async #replayChat(conn: Connection, seq: number): Promise<void> {
    try {
      const [message] = await this.#chat.readAfter(seq - 1, 1);
      if (message?.seq === seq) conn.sendJson({ type: 'chat', message });
    } catch (error) {
      this.#ctx.log.error({ err: error, room: this.name }, 'could not read a chat message to confirm a re-send');
    }
  }

  async #resume(conn: Connection, chatSeq: number, activitySeq: number): Promise<void> {
    try {
      const [chat, activity] = await Promise.all([
        this.#chat.readAfter(chatSeq, RESUME_PAGE),
        this.#activity.readAfter(activitySeq, RESUME_PAGE),
      ]);
      conn.sendJson({
        type: 'resumed',
        chat,
        activity,
        complete: chat.length < RESUME_PAGE && activity.length < RESUME_PAGE,
      });
    } catch (error) {
      this.#ctx.log.error({ err: error, room: this.name }, 'resume failed');
      conn.sendJson(errorMessage('resume_failed', 'Missed messages could not be read; send "resume" again.'));
    }
  }

  /** Sends one control message, encoded once, to every joined member except the one with id `exceptId`. */
  #broadcastJoined(message: ServerMessage, exceptId: string | null = null): void {
    const utf8 = Buffer.from(JSON.stringify(message));
    for (const conn of this.#connections) {
      if (conn.welcomed && conn.id !== exceptId) conn.sendEncodedJson(utf8);
    }
  }

  readonly #onAwareness = (change: { added: number[]; updated: number[]; removed: number[] }, origin: unknown): void => {
    if (origin instanceof Connection) origin.trackAwareness(change);
    this.#fanout.awarenessChange(change.added.concat(change.updated, change.removed), origin);
  };

  /** After the fan-out sent a (merged) update: store it and pass it to the other nodes. */
  readonly #afterUpdate = (update: Uint8Array, soleOrigin: unknown): void => {
    this.#ctx.persistence.appendUpdate(this.name, update);
    this.#logBytes += update.byteLength;
    // Encoding a snapshot costs in proportion to the whole document, so it waits until the log
    // holds half a snapshot's worth of bytes too: compaction then costs O(1) per byte written,
    // where a fixed count of updates made a large, busy document re-encode itself many times a
    // second (and stall fan-out while it did).
    if (++this.#logLength >= this.#ctx.compactAfterUpdates && this.#logBytes * 2 >= this.#snapshotBytes) this.#compact();
    if (soleOrigin !== BUS_ORIGIN) this.#bus?.publish({ kind: 'update', payload: update });
  };

  readonly #afterAwareness = (update: Uint8Array, soleOrigin: unknown): void => {
    if (soleOrigin !== BUS_ORIGIN) this.#bus?.publish({ kind: 'awareness', payload: update });
  };

  readonly #onBus = (message: BusMessage): void => {
    if (this.#state !== 'ready') return;
    if (message.kind === 'update') {
      Y.applyUpdate(this.doc, message.payload, BUS_ORIGIN);
      this.#fanout.update(message.payload, BUS_ORIGIN);
    } else {
      applyAwarenessUpdate(this.awareness, message.payload, BUS_ORIGIN);
    }
  };

  #compact(): void {
    this.#logLength = 0;
    this.#ctx.persistence.compact(this.name, () => {
      // Evaluated at flush time: the snapshot covers everything appended until now.
      const snapshot = this.#encodeWholeState();
      this.#snapshotBytes = snapshot.byteLength;
      this.#logBytes = 0;
      return snapshot;
    });
  }

  /** A connection closed. */
  leave(conn: Connection): void {
    if (!this.#connections.delete(conn)) return;
    conn.closed = true;
    conn.dispose();
    if (!conn.welcomed && conn.member) {
      for (const [seq, waiting] of this.#awaitingWelcome) if (waiting === conn) this.#awaitingWelcome.delete(seq);
    }
    if (this.#state !== 'ready') return;
    if (conn.awarenessClients.length > 0) {
      removeAwarenessStates(this.awareness, [...conn.awarenessClients], null);
    }
    const member = conn.member;
    if (member && !this.#ctx.isShuttingDown()) {
      if (conn.typing) this.#broadcastJoined({ type: 'typing', member, on: false });
      this.#presence.left(member.id);
      this.#recordLeave(conn, member);
    }
    if (this.#connections.size === 0) this.#scheduleUnload();
  }

  /**
   * Before the final flush at shutdown: sends what is batched and records the leaves still in
   * their grace period. Compaction is queued too; it runs only once every increment is stored.
   */
  prepareShutdown(): void {
    this.#fanout.flush();
    this.#releaseHeldLeaves();
    this.#presence.flush();
    if (this.#state === 'ready' && this.#logLength > 0) this.#compact();
  }

  /** Drops the room from memory at shutdown, after the final flush. */
  dispose(): void {
    if (this.#state === 'ready' || this.#state === 'loading') this.#destroy();
  }

  #scheduleUnload(): void {
    if (this.#idleTimer || this.#state !== 'ready') return;
    this.#idleTimer = setTimeout(() => void this.#unload(), this.#ctx.idleMs);
  }

  async #unload(): Promise<void> {
    this.#idleTimer = null;
    if (this.#connections.size > 0 || this.#state !== 'ready') return;
    this.#fanout.flush();
    this.#releaseHeldLeaves();
    if (this.#logLength > 0) this.#compact();
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
    for (const held of this.#heldLeaves.values()) clearTimeout(held.timer);
    this.#heldLeaves.clear();
    this.#bus?.leave();
    this.#bus = null;
    this.#fanout.dispose();
    this.#presence.dispose();
    this.awareness.destroy();
    this.doc.destroy();
    this.#ctx.onGone(this);
  }
}
