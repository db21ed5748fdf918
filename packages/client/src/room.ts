import {
  applyYMessage,
  encodeAwarenessStates,
  encodeSyncStep1,
  encodeUpdateMessage,
  CloseCode,
  FATAL_CLOSE_CODES,
  SUBPROTOCOL,
  TOKEN_PROTOCOL_PREFIX,
  type ActivityEntry,
  type ChatMessage,
  type ClientMessage,
  type ErrorCode,
  type JsonValue,
  type Member,
  type Rights,
  type ServerMessage,
  type ServerMessageOf,
} from '@tandem/protocol';
import { ObservableV2 } from 'lib0/observable';
import { Awareness, removeAwarenessStates } from 'y-protocols/awareness';
import * as Y from 'yjs';
import { backoffDelay, DEFAULT_BACKOFF, type BackoffOptions } from './backoff.js';
import { contiguousSeq, dropAfter, mergeBySeq } from './history.js';

/** The part of the WebSocket constructor the SDK uses: the browser's, or `ws` in Node. */
export type WebSocketLike = {
  new (url: string, protocols?: string | string[]): WebSocket;
};

export interface ConnectOptions {
  /** The display name to join with. Without a name the connection syncs the document only. */
  name?: string;
  /** Defaults to globalThis.WebSocket; pass `WebSocket` from the `ws` package on Node 20. */
  WebSocket?: WebSocketLike;
  /** An existing document to bind (for example one an editor already holds). */
  doc?: Y.Doc;
  backoff?: Partial<BackoffOptions>;
  /** How many chat messages and activity entries the handle keeps in memory. */
  historyLimit?: number;
  /**
   * A token for servers that require one, or a function returning one (called for every
   * connection attempt and when the server asks for a fresh token before the current expires).
   */
  token?: string | (() => string | Promise<string>);
}

export type Status =
  | { state: 'connecting'; attempt: number }
  | { state: 'open' }
  | { state: 'reconnecting'; attempt: number; delayMs: number; retryAt: number; closeCode: number }
  /** `code`: why retrying cannot help, when the handle gave up by itself (for example `token_expired`). */
  | { state: 'closed'; reason: string; code?: ErrorCode };

/** The server's error codes, and two of the SDK's own: a token function failed, a server frame was not JSON. */
export type RoomErrorCode = ErrorCode | 'token_unavailable' | 'bad_server_message';

/** Whether the server can store what this handle sends (see the `storage` message of the protocol). */
export type StorageStatus = { state: 'ok' } | { state: 'failing'; message: string };

/** A chat message sent from this handle that the server has not confirmed yet. */
export interface PendingChat {
  id: string;
  text: string;
  time: number;
}

export interface RoomSnapshot {
  status: Status;
  synced: boolean;
  me: Member | null;
  /** What this member may do (known once joined; `write` until then). */
  rights: Rights;
  members: readonly Member[];
  chat: readonly ChatMessage[];
  pendingChat: readonly PendingChat[];
  activity: readonly ActivityEntry[];
  /** Other members typing right now. */
  typing: readonly Member[];
  storage: StorageStatus;
}

export type RoomEvents = {
  status: (status: Status) => void;
  storage: (storage: StorageStatus) => void;
  synced: () => void;
  members: (members: readonly Member[]) => void;
  chat: (message: ChatMessage) => void;
  activity: (entry: ActivityEntry) => void;
  typing: (typing: readonly Member[]) => void;
  event: (name: string, data: unknown, from: Member) => void;
  error: (error: { code: RoomErrorCode; message: string; ref?: string }) => void;
  /** Anything in the snapshot changed. */
  change: () => void;
};

type Outgoing = { kind: 'chat'; id: string; text: string; time: number } | { kind: 'event'; name: string; data: JsonValue | undefined };

/** A remote "typing" without a refresh expires after this long. */
const TYPING_EXPIRY_MS = 6_000;
/** While typing, "on" is re-sent this often so others do not expire it. */
const TYPING_REFRESH_MS = 3_000;
/** Local typing turns itself off after this long without a keystroke. */
const TYPING_IDLE_MS = 4_000;

function newId(): string {
  return globalThis.crypto.randomUUID();
}

const sameChat = (a: ChatMessage, b: ChatMessage): boolean => a.id === b.id;
const sameActivity = (a: ActivityEntry, b: ActivityEntry): boolean => a.time === b.time && a.kind === b.kind && a.member.id === b.member.id;

/** When a JWT expires (ms since the epoch), read without verifying it; null if it is not a JWT with `exp`. */
function tokenExpiry(token: string): number | null {
  try {
    const payload = token.split('.')[1];
    if (!payload) return null;
    const json = JSON.parse(atob(payload.replace(/-/g, '+').replace(/_/g, '/'))) as { exp?: unknown };
    return typeof json.exp === 'number' ? json.exp * 1000 : null;
  } catch {
    return null;
  }
}

/**
 * A live room: the shared Y.Doc and awareness, members, chat, activity, typing and events, over
 * one WebSocket that reconnects by itself. Offline, edits stay in the doc and chat/events queue;
 * on reconnect Yjs state vectors merge the edits, the queue is sent in order, and missed chat and
 * activity are resumed by sequence number.
 */
export class RoomHandle extends ObservableV2<RoomEvents> {
  readonly room: string;
  readonly url: string;
  readonly doc: Y.Doc;
  readonly awareness: Awareness;
  readonly #WebSocket: WebSocketLike;
  readonly #backoff: BackoffOptions;
  readonly #historyLimit: number;
  #name: string | undefined;
  readonly #token: ConnectOptions['token'];
  #rights: Rights = 'write';
  #ws: WebSocket | null = null;
  #status: Status = { state: 'connecting', attempt: 0 };
  #attempt = 0;
  #retryTimer: ReturnType<typeof setTimeout> | null = null;
  #stableTimer: ReturnType<typeof setTimeout> | null = null;
  #closedByUser = false;
  #synced = false;
  #joined = false;
  #everJoined = false;
  #me: Member | null = null;
  #members = new Map<string, Member>();
  #chat: ChatMessage[] = [];
  #activity: ActivityEntry[] = [];
  /** Highest seq up to which chat / activity have no gap since this handle first joined. */
  #chatMark = 0;
  #activityMark = 0;
  #outbox: Outgoing[] = [];
  #typing = new Map<string, { member: Member; expires: number }>();
  #typingExpiry: ReturnType<typeof setTimeout> | null = null;
  #typingOn = false;
  #typingSentAt = 0;
  #typingIdle: ReturnType<typeof setTimeout> | null = null;
  #snapshot: RoomSnapshot | null = null;
  #storage: StorageStatus = { state: 'ok' };
  #diverged = false;

  constructor(url: string, room: string, options: ConnectOptions = {}) {
    super();
    const WebSocketImpl = options.WebSocket ?? (globalThis.WebSocket as WebSocketLike | undefined);
    if (!WebSocketImpl) {
      throw new Error('No WebSocket implementation: pass options.WebSocket (for example `WebSocket` from the "ws" package).');
    }
    this.#WebSocket = WebSocketImpl;
    this.room = room;
    this.url = roomUrl(url, room);
    this.doc = options.doc ?? new Y.Doc();
    this.awareness = new Awareness(this.doc);
    this.#name = options.name;
    this.#token = options.token;
    this.#backoff = { ...DEFAULT_BACKOFF, ...options.backoff };
    this.#historyLimit = options.historyLimit ?? 1_000;
    this.doc.on('update', this.#onDocUpdate);
    this.doc.on('afterTransaction', this.#onTransaction);
    this.awareness.on('update', this.#onAwarenessUpdate);
    if (typeof window !== 'undefined') window.addEventListener('online', this.#retryNow);
    this.#open();
  }

  get status(): Status {
    return this.#status;
  }
  get synced(): boolean {
    return this.#synced;
  }
  get me(): Member | null {
    return this.#me;
  }
  get rights(): Rights {
    return this.#rights;
  }
  /** Whether the server can store changes right now. */
  get storage(): StorageStatus {
    return this.#storage;
  }
  /**
   * True when this handle's document holds local changes the server refused and that could not
   * be undone (a deletion made without edit rights): it differs from the server's until reopened.
   */
  get diverged(): boolean {
    return this.#diverged;
  }
  get members(): Member[] {
    return [...this.#members.values()];
  }
  /** The chat so far, oldest first (a live view: copy it to keep it). */
  get chat(): readonly ChatMessage[] {
    return this.#chat;
  }
  /** The activity so far, oldest first (a live view: copy it to keep it). */
  get activity(): readonly ActivityEntry[] {
    return this.#activity;
  }
  get pendingChat(): PendingChat[] {
    const pending: PendingChat[] = [];
    for (const item of this.#outbox) if (item.kind === 'chat') pending.push({ id: item.id, text: item.text, time: item.time });
    return pending;
  }

  /** An immutable view for UI frameworks (React's useSyncExternalStore); a new object after each change. */
  getSnapshot = (): RoomSnapshot => {
    this.#snapshot ??= {
      status: this.#status,
      synced: this.#synced,
      me: this.#me,
      rights: this.#rights,
      members: this.members,
      // Copies: the handle appends to its own lists in place.
      chat: this.#chat.slice(),
      pendingChat: this.pendingChat,
      activity: this.#activity.slice(),
      typing: [...this.#typing.values()].map((t) => t.member),
      storage: this.#storage,
    };
    return this.#snapshot;
  };

  /** Calls `listener` after every change; returns the unsubscribe function. */
  subscribe = (listener: () => void): (() => void) => {
    this.on('change', listener);
    return () => this.off('change', listener);
  };

  #changed(): void {
    this.#snapshot = null;
    this.emit('change', []);
  }

  /** Resolves once the document has synced with the server. */
  whenSynced(): Promise<void> {
    if (this.#synced) return Promise.resolve();
    return new Promise((resolve) => this.once('synced', resolve));
  }

  /** Resolves once the server has welcomed this handle as a member. */
  whenJoined(): Promise<Member> {
    if (this.#joined && this.#me) return Promise.resolve(this.#me);
    return new Promise((resolve) => {
      const onMembers = (): void => {
        if (!this.#joined || !this.#me) return;
        this.off('members', onMembers);
        resolve(this.#me);
      };
      this.on('members', onMembers);
    });
  }

  /** Sends a chat message (queued while offline) and returns its id. */
  sendChat(text: string): string {
    const item: Outgoing = { kind: 'chat', id: newId(), text, time: Date.now() };
    this.#outbox.push(item);
    if (this.#joined) this.#sendJson({ type: 'chat', id: item.id, text });
    this.#changed();
    return item.id;
  }

  /** Broadcasts an app-defined event to the other members (queued while offline). */
  sendEvent(name: string, data?: JsonValue): void {
    if (this.#joined) this.#sendJson(eventMessage(name, data));
    else this.#outbox.push({ kind: 'event', name, data });
  }

  /** Call on every keystroke with true, and with false when the input is cleared or sent. */
  setTyping(on: boolean): void {
    if (this.#typingIdle) clearTimeout(this.#typingIdle);
    this.#typingIdle = null;
    if (on) this.#typingIdle = setTimeout(() => this.setTyping(false), TYPING_IDLE_MS);
    const now = Date.now();
    if (on === this.#typingOn && !(on && now - this.#typingSentAt > TYPING_REFRESH_MS)) return;
    this.#typingOn = on;
    this.#typingSentAt = now;
    if (this.#joined) this.#sendJson({ type: 'typing', on });
  }

  /** Joins with `name`, or renames if already joined. */
  setName(name: string): void {
    if (name === this.#name) return;
    const previous = this.#name;
    this.#name = name;
    if (this.#joined) this.#sendJson({ type: 'rename', name });
    else if (previous === undefined && this.#ws?.readyState === 1) this.#sendJson({ type: 'join', name });
  }

  /** Leaves the room for good: clears presence, closes the socket, stops reconnecting. */
  close(): void {
    if (this.#closedByUser) return;
    this.#closedByUser = true;
    this.#clearTimers();
    if (typeof window !== 'undefined') window.removeEventListener('online', this.#retryNow);
    this.awareness.setLocalState(null);
    this.#ws?.close(CloseCode.normal, 'client closed');
    this.#ws = null;
    this.doc.off('update', this.#onDocUpdate);
    this.doc.off('afterTransaction', this.#onTransaction);
    this.awareness.off('update', this.#onAwarenessUpdate);
    this.awareness.destroy();
    this.#setStatus({ state: 'closed', reason: 'closed by the client' });
  }

  override destroy(): void {
    this.close();
    super.destroy();
  }

  // ---- connection -----------------------------------------------------------------------

  #open(): void {
    // A fixed token that has expired will be refused on every attempt: say so and stop.
    const expiresAt = typeof this.#token === 'string' ? tokenExpiry(this.#token) : null;
    if (expiresAt !== null && expiresAt <= Date.now()) {
      this.#giveUp(
        'token_expired',
        `the token expired at ${new Date(expiresAt).toISOString()}; connect again with a fresh one (or pass a function that returns one)`,
      );
      return;
    }
    this.#setStatus({ state: 'connecting', attempt: this.#attempt });
    void this.#protocols().then(
      (protocols) => {
        if (this.#closedByUser) return;
        let ws: WebSocket;
        try {
          ws = new this.#WebSocket(this.url, protocols);
        } catch (error) {
          this.#setStatus({ state: 'closed', reason: `cannot connect to ${this.url}: ${(error as Error).message}` });
          return;
        }
        ws.binaryType = 'arraybuffer';
        this.#ws = ws;
        ws.onopen = () => this.#onOpen(ws);
        ws.onmessage = (event: MessageEvent) => this.#onMessage(ws, event.data as ArrayBuffer | string);
        ws.onclose = (event: CloseEvent) => this.#onClose(ws, event.code, event.reason);
        // An error is always followed by a close event, which does the work.
        ws.onerror = () => {};
      },
      (error: unknown) => {
        this.emit('error', [{ code: 'token_unavailable', message: `could not get a token: ${(error as Error).message}` }]);
        this.#scheduleRetry(1006);
      },
    );
  }

  /** The subprotocol list: tandem.v1, and the token when there is one. */
  async #protocols(): Promise<string[]> {
    const token = await this.#currentToken();
    return token ? [SUBPROTOCOL, TOKEN_PROTOCOL_PREFIX + token] : [SUBPROTOCOL];
  }

  async #currentToken(): Promise<string | undefined> {
    return typeof this.#token === 'function' ? this.#token() : this.#token;
  }

  #onOpen(ws: WebSocket): void {
    if (ws !== this.#ws) return;
    this.#setStatus({ state: 'open' });
    this.#stableTimer = setTimeout(() => {
      this.#attempt = 0;
    }, this.#backoff.stableMs);
    ws.send(encodeSyncStep1(this.doc));
    if (this.awareness.getLocalState() !== null) {
      ws.send(encodeAwarenessStates(this.awareness, [this.doc.clientID]));
    }
    if (this.#name !== undefined) this.#sendJson({ type: 'join', name: this.#name });
  }

  #onClose(ws: WebSocket, code: number, reason: string): void {
    if (ws !== this.#ws) return;
    this.#ws = null;
    this.#joined = false;
    this.#synced = false;
    if (this.#stableTimer) clearTimeout(this.#stableTimer);
    this.#stableTimer = null;
    // Everyone else's presence is unknown until the next sync.
    const others = [...this.awareness.getStates().keys()].filter((id) => id !== this.doc.clientID);
    removeAwarenessStates(this.awareness, others, this);
    this.#members.clear();
    this.#typing.clear();
    if (this.#closedByUser) return;
    if (FATAL_CLOSE_CODES.has(code)) {
      this.#setStatus({ state: 'closed', reason: `server closed the connection (${code}${reason ? `: ${reason}` : ''})` });
      return;
    }
    this.#scheduleRetry(code);
  }

  /** Stops for good after a refusal that retrying cannot fix. */
  #giveUp(code: ErrorCode, reason: string): void {
    this.#clearTimers();
    this.#setStatus({ state: 'closed', reason, code });
    // Later, so that listeners added right after connect() hear it too.
    queueMicrotask(() => this.emit('error', [{ code, message: reason }]));
  }

  #scheduleRetry(closeCode: number): void {
    const delayMs = backoffDelay(this.#attempt, this.#backoff);
    this.#attempt++;
    this.#setStatus({ state: 'reconnecting', attempt: this.#attempt, delayMs, retryAt: Date.now() + delayMs, closeCode });
    this.#retryTimer = setTimeout(() => {
      this.#retryTimer = null;
      this.#open();
    }, delayMs);
  }

  /** The browser says the network is back: skip the rest of the wait. */
  readonly #retryNow = (): void => {
    if (!this.#retryTimer) return;
    clearTimeout(this.#retryTimer);
    this.#retryTimer = null;
    this.#open();
  };

  #setStatus(status: Status): void {
    this.#status = status;
    this.emit('status', [status]);
    this.#changed();
  }

  #clearTimers(): void {
    for (const timer of [this.#retryTimer, this.#stableTimer, this.#typingExpiry, this.#typingIdle]) {
      if (timer) clearTimeout(timer);
    }
    this.#retryTimer = this.#stableTimer = this.#typingExpiry = this.#typingIdle = null;
  }

  #send(data: Uint8Array | string): void {
    if (this.#ws?.readyState === 1) this.#ws.send(data);
  }

  #sendJson(message: ClientMessage): void {
    this.#send(JSON.stringify(message));
  }

  // ---- document and presence -------------------------------------------------------------

  readonly #onDocUpdate = (update: Uint8Array, origin: unknown): void => {
    // Offline edits are not queued: on reconnect the sync exchange sends whatever the server lacks.
    // Without edit rights nothing is sent: the server would refuse it (see #onTransaction).
    if (origin !== this && this.#rights === 'write') this.#send(encodeUpdateMessage(update));
  };

  /**
   * A local change without edit rights is undone at once, so the document never silently
   * differs from the server's: what this client inserted is deleted again. A deletion of
   * others' content cannot be undone in Yjs (their content is gone); then `diverged` is set.
   */
  readonly #onTransaction = (transaction: Y.Transaction): void => {
    if (this.#rights === 'write' || transaction.origin === this || !transaction.local) return;
    const clientId = this.doc.clientID;
    const from = transaction.beforeState.get(clientId) ?? 0;
    const to = transaction.afterState.get(clientId) ?? 0;
    let deletedOthers = false;
    transaction.deleteSet.clients.forEach((ranges, client) => {
      if (client !== clientId || ranges.some((range) => range.clock < from)) deletedOthers = true;
    });
    if (to === from && !deletedOthers) return;
    if (to > from) {
      // In a transaction of its own (origin: this handle), once Yjs has finished this one.
      queueMicrotask(() =>
        this.doc.transact((undo) => {
          for (const struct of this.doc.store.clients.get(clientId) ?? []) {
            if (struct.id.clock >= from && struct.id.clock < to && struct instanceof Y.Item && !struct.deleted) struct.delete(undo);
          }
        }, this),
      );
    }
    if (deletedOthers) this.#diverged = true;
    const message = deletedOthers
      ? "You may not edit this document: your local deletions cannot be undone, so your copy differs from the server's until you reopen it."
      : 'You may not edit this document; the local change was undone.';
    this.emit('error', [{ code: 'read_only', message }]);
    this.#changed();
  };

  readonly #onAwarenessUpdate = (
    { added, updated, removed }: { added: number[]; updated: number[]; removed: number[] },
    origin: unknown,
  ): void => {
    if (origin === this) return;
    this.#send(encodeAwarenessStates(this.awareness, added.concat(updated, removed)));
  };

  #onMessage(ws: WebSocket, data: ArrayBuffer | string): void {
    if (ws !== this.#ws) return;
    if (typeof data === 'string') {
      // The server validates what it receives and builds what it sends from the protocol's
      // types, so the client parses without re-validating each message (80k/s in a busy room).
      let message: ServerMessage;
      try {
        message = JSON.parse(data) as ServerMessage;
      } catch {
        this.emit('error', [{ code: 'bad_server_message', message: 'a control frame was not JSON' }]);
        return;
      }
      this.#onControl(message);
      return;
    }
    const result = applyYMessage(new Uint8Array(data), { doc: this.doc, awareness: this.awareness, origin: this });
    if (result.kind === 'sync') {
      // The reply to the server's step 1 carries local changes; without edit rights they would be refused.
      if (result.reply && this.#rights === 'write') this.#send(result.reply);
      if (result.step === 'step2' && !this.#synced) {
        this.#synced = true;
        this.emit('synced', []);
        this.#changed();
      }
    } else if (result.kind === 'queryAwareness') {
      this.#send(encodeAwarenessStates(this.awareness, [...this.awareness.getStates().keys()]));
    }
  }

  // ---- control channel -------------------------------------------------------------------

  #onControl(message: ServerMessage): void {
    switch (message.type) {
      case 'welcome':
        this.#onWelcome(message);
        break;
      case 'members':
        for (const member of message.changed) this.#members.set(member.id, member);
        for (const id of message.left) {
          this.#members.delete(id);
          this.#typing.delete(id);
        }
        if (this.#me && this.#members.has(this.#me.id)) this.#me = this.#members.get(this.#me.id) ?? this.#me;
        this.emit('members', [this.members]);
        break;
      case 'chat':
        this.#onChat(message.message);
        break;
      case 'activity':
        // Batched by the server: a member who just joined may get entries its welcome had.
        for (const entry of this.#addActivity(message.entries)) this.emit('activity', [entry]);
        break;
      case 'typing':
        this.#onTyping(message.member, message.on);
        break;
      case 'event':
        this.emit('event', [message.name, message.data, message.from]);
        return;
      case 'resumed':
        this.#addChat(message.chat);
        this.#addActivity(message.activity);
        if (!message.complete) this.#sendJson({ type: 'resume', chatSeq: this.#chatMark, activitySeq: this.#activityMark });
        break;
      case 'authenticated':
        this.#rights = message.rights;
        break;
      case 'storage':
        this.#storage = message.state === 'ok' ? { state: 'ok' } : { state: 'failing', message: message.message };
        this.emit('storage', [this.#storage]);
        // What the server refused while its storage failed (storage_backlog) is worth sending again.
        if (message.state === 'ok' && this.#joined) this.#resendChat();
        break;
      case 'error':
        this.#onError(message);
        return;
    }
    this.#changed();
  }

  #onError(message: ServerMessageOf<'error'>): void {
    if (message.code === 'token_expiring') void this.#renewToken();
    // A refusal that retrying cannot fix: the message leaves the queue instead of being re-sent forever.
    if (message.code === 'forbidden' && message.ref !== undefined) {
      const before = this.#outbox.length;
      this.#outbox = this.#outbox.filter((item) => item.kind !== 'chat' || item.id !== message.ref);
      if (this.#outbox.length !== before) this.#changed();
    }
    // An edit made before this handle knew it may not edit reached the server and was refused.
    if (message.code === 'read_only' && !this.#diverged) {
      this.#diverged = true;
      this.#changed();
    }
    this.emit('error', [message.ref === undefined ? { code: message.code, message: message.message } : message]);
  }

  #onWelcome(message: ServerMessageOf<'welcome'>): void {
    const resuming = this.#everJoined;
    this.#joined = this.#everJoined = true;
    this.#me = message.you;
    this.#rights = message.rights;
    this.#members = new Map(message.members.map((m) => [m.id, m]));
    // A storage problem is announced again right after the welcome.
    if (this.#storage.state !== 'ok') {
      this.#storage = { state: 'ok' };
      this.emit('storage', [this.#storage]);
    }
    if (!resuming) {
      this.#chatMark = message.chatSeq;
      this.#activityMark = message.activitySeq;
    }
    // Entries newer than the server's newest no longer exist there (its storage lost them):
    // drop them, so the seqs they held are taken by the server's entries, not skipped.
    this.#chat = dropAfter(this.#chat, message.chatSeq);
    this.#activity = dropAfter(this.#activity, message.activitySeq);
    this.#chatMark = Math.min(this.#chatMark, message.chatSeq);
    this.#activityMark = Math.min(this.#activityMark, message.activitySeq);
    const chatFrom = this.#chatMark;
    const activityFrom = this.#activityMark;
    this.#addChat(message.chat);
    this.#addActivity(message.activity);
    if (resuming && (chatFrom < message.chatSeq || activityFrom < message.activitySeq)) {
      this.#sendJson({ type: 'resume', chatSeq: chatFrom, activitySeq: activityFrom });
    }
    this.#flushOutbox();
    if (this.#typingOn) this.#sendJson({ type: 'typing', on: true });
    this.emit('members', [this.members]);
  }

  /** Answers the server's "token expiring" with a fresh token, when the handle can get one. */
  async #renewToken(): Promise<void> {
    if (typeof this.#token !== 'function') return;
    try {
      const token = await this.#token();
      this.#sendJson({ type: 'auth', token });
    } catch (error) {
      this.emit('error', [{ code: 'token_unavailable', message: `could not renew the token: ${(error as Error).message}` }]);
    }
  }

  #resendChat(): void {
    for (const item of this.#outbox) if (item.kind === 'chat') this.#sendJson({ type: 'chat', id: item.id, text: item.text });
  }

  /** Sends queued chat (all unconfirmed, in order) and events; events leave the queue once sent. */
  #flushOutbox(): void {
    for (const item of this.#outbox) {
      this.#sendJson(item.kind === 'chat' ? { type: 'chat', id: item.id, text: item.text } : eventMessage(item.name, item.data));
    }
    this.#outbox = this.#outbox.filter((item) => item.kind === 'chat');
  }

  #onChat(message: ChatMessage): void {
    if (this.#outbox.length > 0) {
      const index = this.#outbox.findIndex((item) => item.kind === 'chat' && item.id === message.id);
      if (index >= 0) this.#outbox.splice(index, 1);
    }
    for (const added of this.#addChat([message])) this.emit('chat', [added]);
  }

  /** Merges chat by seq (the server's entry wins over a different one held at its seq); returns what was new. */
  #addChat(entries: readonly ChatMessage[]): ChatMessage[] {
    const { list, added } = mergeBySeq(this.#chat, entries, this.#historyLimit, sameChat);
    this.#chat = list;
    this.#chatMark = contiguousSeq(this.#chat, this.#chatMark);
    return added;
  }

  #addActivity(entries: readonly ActivityEntry[]): ActivityEntry[] {
    const { list, added } = mergeBySeq(this.#activity, entries, this.#historyLimit, sameActivity);
    this.#activity = list;
    this.#activityMark = contiguousSeq(this.#activity, this.#activityMark);
    return added;
  }

  #onTyping(member: Member, on: boolean): void {
    if (on) this.#typing.set(member.id, { member, expires: Date.now() + TYPING_EXPIRY_MS });
    else this.#typing.delete(member.id);
    this.#scheduleTypingExpiry();
    this.emit('typing', [[...this.#typing.values()].map((t) => t.member)]);
  }

  #scheduleTypingExpiry(): void {
    if (this.#typingExpiry) clearTimeout(this.#typingExpiry);
    this.#typingExpiry = null;
    if (this.#typing.size === 0) return;
    const next = Math.min(...[...this.#typing.values()].map((t) => t.expires));
    this.#typingExpiry = setTimeout(
      () => {
        const now = Date.now();
        for (const [id, t] of this.#typing) if (t.expires <= now) this.#typing.delete(id);
        this.#scheduleTypingExpiry();
        this.emit('typing', [[...this.#typing.values()].map((t) => t.member)]);
        this.#changed();
      },
      Math.max(0, next - Date.now()),
    );
  }
}

function eventMessage(name: string, data: JsonValue | undefined): ClientMessage {
  return data === undefined ? { type: 'event', name } : { type: 'event', name, data };
}

/** `ws(s)://host/ws/<room>` from a base URL given as ws(s):// or http(s)://. */
export function roomUrl(base: string, room: string): string {
  const url = new URL(base);
  if (url.protocol === 'http:') url.protocol = 'ws:';
  else if (url.protocol === 'https:') url.protocol = 'wss:';
  url.pathname = `${url.pathname.replace(/\/$/, '')}/ws/${encodeURIComponent(room)}`;
  return url.toString();
}

/** Connects to `room` on the Tandem server at `url` and keeps the connection alive. */
export function connect(url: string, room: string, options: ConnectOptions = {}): RoomHandle {
  return new RoomHandle(url, room, options);
}
