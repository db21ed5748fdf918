import {
  applyYMessage,
  canEdit,
  encodeAwarenessStates,
  encodeSyncStep1,
  encodeUpdateMessage,
  type ActivityEntry,
  type ChatMessage,
  type JsonValue,
  type Member,
  type Rights,
  type ServerMessage,
  type ServerMessageOf,
} from '@tandem/protocol';
import { ObservableV2 } from 'lib0/observable';
import { Awareness, removeAwarenessStates } from 'y-protocols/awareness';
import * as Y from 'yjs';
import { DEFAULT_BACKOFF } from './backoff.js';
import { Conversation, type PendingChat } from './chat.js';
import { Connection, type Status, type WebSocketLike } from './connection.js';
import { undoRefusedChange } from './read-only.js';
import type { ConnectOptions, RoomEvents, RoomSnapshot, StorageStatus } from './types.js';
import { Typing } from './typing.js';

/**
 * A live room: the shared Y.Doc and awareness, members, chat, activity, typing and events, over
 * one WebSocket that reconnects by itself (Connection). Offline, edits stay in the doc and chat
 * and events queue (Conversation); on reconnect Yjs state vectors merge the edits, the queue is
 * sent in order, and missed chat and activity are resumed by sequence number.
 */
export class RoomHandle extends ObservableV2<RoomEvents> {
  readonly room: string;
  readonly url: string;
  readonly doc: Y.Doc;
  readonly awareness: Awareness;
  readonly #connection: Connection;
  readonly #conversation: Conversation;
  readonly #typing: Typing;
  #name: string | undefined;
  #rights: Rights = 'write';
  #synced = false;
  #joined = false;
  #me: Member | null = null;
  #members = new Map<string, Member>();
  #snapshot: RoomSnapshot | null = null;
  #storage: StorageStatus = { state: 'ok' };
  #diverged = false;
  #closed = false;
  // Save receipts: the update-carrying frames sent on this socket, the last of them the server
  // confirmed durable (`saved`), the last that carried local changes, and whether local changes
  // wait for a socket (made offline, or sent on one that was lost before they were confirmed).
  #framesSent = 0;
  #savedThrough = 0;
  #awaitedFrame = 0;
  #unsent = false;
  #unsaved = false;

  constructor(url: string, room: string, options: ConnectOptions = {}) {
    super();
    const WebSocketImpl = options.WebSocket ?? (globalThis.WebSocket as WebSocketLike | undefined);
    if (!WebSocketImpl) {
      throw new Error('No WebSocket implementation: pass options.WebSocket (for example `WebSocket` from the "ws" package).');
    }
    this.room = room;
    this.url = roomUrl(url, room);
    this.doc = options.doc ?? new Y.Doc();
    this.awareness = new Awareness(this.doc);
    this.#name = options.name;
    const send = (message: Parameters<Connection['sendJson']>[0]): void => this.#connection.sendJson(message);
    this.#conversation = new Conversation(options.historyLimit ?? 1_000, send);
    this.#typing = new Typing({
      send: (on) => {
        if (this.#joined) send({ type: 'typing', on });
      },
      changed: (typing) => {
        this.emit('typing', [typing]);
        this.#changed();
      },
    });
    this.doc.on('update', this.#onDocUpdate);
    this.doc.on('afterTransaction', this.#onTransaction);
    this.awareness.on('update', this.#onAwarenessUpdate);
    this.#connection = new Connection(
      { url: this.url, WebSocket: WebSocketImpl, backoff: { ...DEFAULT_BACKOFF, ...options.backoff }, token: options.token },
      {
        open: () => this.#onOpen(),
        message: (data) => this.#onMessage(data),
        lost: () => this.#onLost(),
        status: (status) => {
          this.emit('status', [status]);
          this.#changed();
        },
        error: (error) => this.emit('error', [error]),
      },
    );
  }

  get status(): Status {
    return this.#connection.status;
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
  /**
   * True while this handle holds local document changes the server has not confirmed durable:
   * from an edit until the server's `saved` covers the frame that carried it (an edit made offline
   * goes out in the sync exchange after the reconnect). A server that sends no `saved` confirms
   * nothing, so there it stays true from the first local edit on.
   */
  get unsaved(): boolean {
    return this.#unsaved;
  }
  get members(): Member[] {
    return [...this.#members.values()];
  }
  /** The chat so far, oldest first (a live view: copy it to keep it). */
  get chat(): readonly ChatMessage[] {
    return this.#conversation.chat;
  }
  /** The activity so far, oldest first (a live view: copy it to keep it). */
  get activity(): readonly ActivityEntry[] {
    return this.#conversation.activity;
  }
  get pendingChat(): PendingChat[] {
    return this.#conversation.pendingChat;
  }

  /** An immutable view for UI frameworks (React's useSyncExternalStore); a new object after each change. */
  getSnapshot = (): RoomSnapshot => {
    this.#snapshot ??= {
      status: this.status,
      synced: this.#synced,
      me: this.#me,
      rights: this.#rights,
      members: this.members,
      // Copies: the handle appends to its own lists in place.
      chat: this.chat.slice(),
      pendingChat: this.pendingChat,
      activity: this.activity.slice(),
      typing: this.#typing.others,
      storage: this.#storage,
      unsaved: this.#unsaved,
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

  /** Resolves once every local document change so far is durable on the server (at once if none is pending). */
  whenSaved(): Promise<void> {
    if (!this.#unsaved) return Promise.resolve();
    return new Promise((resolve) => this.once('saved', resolve));
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

  /** Sends a chat message (queued while offline, sent exactly once) and returns its id. */
  sendChat(text: string): string {
    const id = this.#conversation.sendChat(text, this.#joined);
    this.#changed();
    return id;
  }

  /** Broadcasts an app-defined event to the other members (queued while offline). */
  sendEvent(name: string, data?: JsonValue): void {
    this.#conversation.sendEvent(name, data, this.#joined);
  }

  /** Call on every keystroke with true, and with false when the input is cleared or sent. */
  setTyping(on: boolean): void {
    this.#typing.set(on);
  }

  /** Joins with `name`, or renames if already joined. */
  setName(name: string): void {
    if (name === this.#name) return;
    const previous = this.#name;
    this.#name = name;
    if (this.#joined) this.#connection.sendJson({ type: 'rename', name });
    else if (previous === undefined && this.#connection.isOpen) this.#connection.sendJson({ type: 'join', name });
  }

  /** Leaves the room for good: clears presence, closes the socket, stops reconnecting. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#typing.dispose();
    // Sent while the socket is still open: the others see this member's cursor go at once.
    this.awareness.setLocalState(null);
    this.doc.off('update', this.#onDocUpdate);
    this.doc.off('afterTransaction', this.#onTransaction);
    this.awareness.off('update', this.#onAwarenessUpdate);
    this.awareness.destroy();
    this.#connection.close();
  }

  override destroy(): void {
    this.close();
    super.destroy();
  }

  #onOpen(): void {
    this.#framesSent = this.#savedThrough = 0;
    this.#connection.send(encodeSyncStep1(this.doc));
    if (this.awareness.getLocalState() !== null) this.#connection.send(encodeAwarenessStates(this.awareness, [this.doc.clientID]));
    if (this.#name !== undefined) this.#connection.sendJson({ type: 'join', name: this.#name });
  }

  #onLost(): void {
    this.#joined = false;
    this.#synced = false;
    if (this.#awaitedFrame > this.#savedThrough) this.#unsent = true;
    this.#awaitedFrame = 0;
    // Everyone else's presence is unknown until the next sync.
    const others = [...this.awareness.getStates().keys()].filter((id) => id !== this.doc.clientID);
    removeAwarenessStates(this.awareness, others, this);
    this.#members.clear();
    this.#typing.clear();
  }

  // ---- document and presence -------------------------------------------------------------

  readonly #onDocUpdate = (update: Uint8Array, origin: unknown): void => {
    // Offline edits are not queued: on reconnect the sync exchange sends whatever the server lacks.
    // Without edit rights nothing is sent: the server would refuse it (see #onTransaction).
    if (origin === this || !canEdit(this.#rights)) return;
    const frame = this.#sendUpdate(encodeUpdateMessage(update));
    if (frame > 0) this.#awaitedFrame = frame;
    else this.#unsent = true;
    this.#updateSaved();
  };

  /** Sends a frame that carries a document update; returns its number on this socket, or 0 when there is no open socket. */
  #sendUpdate(frame: Uint8Array): number {
    return this.#connection.send(frame) ? ++this.#framesSent : 0;
  }

  #updateSaved(): void {
    const unsaved = this.#unsent || this.#awaitedFrame > this.#savedThrough;
    if (unsaved === this.#unsaved) return;
    this.#unsaved = unsaved;
    this.#changed();
    if (!unsaved) this.emit('saved', []);
  }

  /** A local change without edit rights is undone (see undoRefusedChange), and the handle says so. */
  readonly #onTransaction = (transaction: Y.Transaction): void => {
    if (canEdit(this.#rights) || transaction.origin === this || !transaction.local) return;
    const undone = undoRefusedChange(this.doc, transaction, this);
    if (undone === 'nothing') return;
    if (undone === 'diverged') this.#diverged = true;
    const message =
      undone === 'diverged'
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
    this.#connection.send(encodeAwarenessStates(this.awareness, added.concat(updated, removed)));
  };

  #onMessage(data: ArrayBuffer | string): void {
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
      // The reply to the server's step 1 carries all local changes it lacks; without edit rights they would be refused.
      if (result.reply && canEdit(this.#rights)) {
        const frame = this.#sendUpdate(result.reply);
        if (frame > 0 && this.#unsent) {
          this.#unsent = false;
          this.#awaitedFrame = frame;
        }
      }
      if (result.step === 'step2' && !this.#synced) {
        this.#synced = true;
        this.emit('synced', []);
        this.#changed();
      }
    } else if (result.kind === 'queryAwareness') {
      this.#connection.send(encodeAwarenessStates(this.awareness, [...this.awareness.getStates().keys()]));
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
          this.#typing.remove(id);
        }
        if (this.#me && this.#members.has(this.#me.id)) this.#me = this.#members.get(this.#me.id) ?? this.#me;
        this.emit('members', [this.members]);
        break;
      case 'chat':
        for (const added of this.#conversation.chatReceived(message.message)) this.emit('chat', [added]);
        break;
      case 'activity':
        // Batched by the server: a member who just joined may get entries its welcome had.
        for (const entry of this.#conversation.addActivity(message.entries)) this.emit('activity', [entry]);
        break;
      case 'typing':
        this.#typing.remote(message.member, message.on);
        return;
      case 'event':
        this.emit('event', [message.name, message.data, message.from]);
        return;
      case 'resumed':
        this.#conversation.resumed(message);
        break;
      case 'authenticated':
        this.#setRights(message.rights);
        break;
      case 'storage':
        this.#storage = message.state === 'ok' ? { state: 'ok' } : { state: 'failing', message: message.message };
        this.emit('storage', [this.#storage]);
        // What the server refused while its storage failed (storage_backlog) is worth sending again.
        if (message.state === 'ok' && this.#joined) this.#conversation.resendChat();
        break;
      case 'saved':
        this.#savedThrough = Math.max(this.#savedThrough, message.through);
        this.#updateSaved();
        return;
      case 'resync':
        // The server rebuilt its log: a full sync gives it whatever it lacks (its own step 1 follows, answered in #onMessage).
        this.#connection.send(encodeSyncStep1(this.doc));
        return;
      case 'error':
        this.#onError(message);
        return;
      default: {
        // Every type this SDK knows is handled above (the compiler checks); one from a newer server is ignored.
        const unknown: never = message;
        void unknown;
        return;
      }
    }
    this.#changed();
  }

  #onError(message: ServerMessageOf<'error'>): void {
    if (message.code === 'token_expiring') void this.#connection.renewToken();
    // A refusal that retrying cannot fix: the message leaves the queue instead of being re-sent forever.
    if (message.code === 'forbidden' && message.ref !== undefined && this.#conversation.refused(message.ref)) this.#changed();
    // An edit made before this handle knew it may not edit reached the server and was refused.
    if (message.code === 'read_only' && !this.#diverged) {
      this.#diverged = true;
      this.#changed();
    }
    this.emit('error', [message.ref === undefined ? { code: message.code, message: message.message } : message]);
  }

  #setRights(rights: Rights): void {
    this.#rights = rights;
    // Without edit rights nothing is sent, so changes waiting for a socket will never be saved: they are not pending.
    if (!canEdit(rights)) this.#unsent = false;
    this.#updateSaved();
  }

  #onWelcome(message: ServerMessageOf<'welcome'>): void {
    this.#joined = true;
    this.#me = message.you;
    this.#setRights(message.rights);
    this.#members = new Map(message.members.map((m) => [m.id, m]));
    // A storage problem is announced again right after the welcome.
    if (this.#storage.state !== 'ok') {
      this.#storage = { state: 'ok' };
      this.emit('storage', [this.#storage]);
    }
    this.#conversation.welcomed(message);
    if (this.#typing.on) this.#connection.sendJson({ type: 'typing', on: true });
    this.emit('members', [this.members]);
  }
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
