import {
  applyYMessage,
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
import { Awareness } from 'y-protocols/awareness';
import * as Y from 'yjs';
import { DEFAULT_BACKOFF } from './backoff.js';
import { Conversation, type HistoryLog, type PendingChat } from './chat.js';
import { OlderPages } from './older-pages.js';
import { Connection, type Status, type WebSocketLike } from './connection.js';
import { EditRights } from './read-only.js';
import { PresenceLink } from './presence-link.js';
import type { ConnectOptions, RoomEvents, RoomSnapshot, StorageStatus } from './types.js';
import { Roster } from './roster.js';
import { SaveTracker } from './saves.js';
import { Typing } from './typing.js';
import { roomUrl } from './url.js';

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
  #synced = false;
  #joined = false;
  readonly #roster = new Roster();
  #snapshot: RoomSnapshot | null = null;
  #storage: StorageStatus = { state: 'ok' };
  #closed = false;
  /** `history` requests waiting for their answer, by log and seq. */
  readonly #olderPages: OlderPages;
  readonly #edits: EditRights;
  readonly #presence: PresenceLink;
  readonly #saves = new SaveTracker((unsaved) => {
    this.#changed();
    if (!unsaved) this.emit('saved', []);
  });

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
    this.#olderPages = new OlderPages(this.#conversation, send);
    this.#edits = new EditRights(this.doc, this, {
      refused: (message) => this.emit('error', [{ code: 'read_only', message }]),
      changed: () => this.#changed(),
      cannotEdit: () => this.#saves.cannotEdit(),
    });
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
    this.doc.on('afterTransaction', this.#edits.afterTransaction);
    this.#presence = new PresenceLink(this.awareness, (data) => this.#connection.send(data), this);
    this.#connection = new Connection(
      { url: this.url, WebSocket: WebSocketImpl, backoff: { ...DEFAULT_BACKOFF, ...options.backoff }, token: options.token },
      {
        open: () => this.#onOpen(),
        control: (message) => this.#onControl(message),
        binary: (data) => this.#onBinary(data),
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
    return this.#roster.me;
  }
  get rights(): Rights {
    return this.#edits.rights;
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
    return this.#edits.diverged;
  }
  /**
   * True while local document changes are not confirmed durable (see SaveTracker); a server that
   * sends no `saved` confirms nothing, so there it stays true from the first local edit on.
   */
  get unsaved(): boolean {
    return this.#saves.unsaved;
  }
  get members(): Member[] {
    return this.#roster.members;
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

  /** Whether the server may store chat (or activity) older than the oldest this handle holds. */
  hasOlder(log: HistoryLog): boolean {
    return this.#conversation.hasOlder(log);
  }

  /**
   * Loads up to `count` (at most 100) chat messages or activity entries older than the oldest
   * held, for scrolling back; they stay in `chat`/`activity` beyond the history limit. Resolves
   * with how many arrived (0 when there are none older); rejects while not joined.
   */
  loadOlder(log: HistoryLog, count = 50): Promise<number> {
    return this.#olderPages.load(log, count, this.#joined);
  }

  /** An immutable view for UI frameworks (React's useSyncExternalStore); a new object after each change. */
  getSnapshot = (): RoomSnapshot => {
    this.#snapshot ??= {
      status: this.status,
      synced: this.#synced,
      me: this.#roster.me,
      rights: this.#edits.rights,
      members: this.members,
      // Copies: the handle appends to its own lists in place.
      chat: this.chat.slice(),
      pendingChat: this.pendingChat,
      activity: this.activity.slice(),
      typing: this.#typing.others,
      storage: this.#storage,
      unsaved: this.#saves.unsaved,
      olderChat: this.#conversation.hasOlder('chat'),
      olderActivity: this.#conversation.hasOlder('activity'),
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
    if (!this.#saves.unsaved) return Promise.resolve();
    return new Promise((resolve) => this.once('saved', resolve));
  }

  /** Resolves once the server has welcomed this handle as a member. */
  whenJoined(): Promise<Member> {
    const me = this.#roster.me;
    if (this.#joined && me) return Promise.resolve(me);
    return new Promise((resolve) => {
      const onMembers = (): void => {
        const me = this.#roster.me;
        if (!this.#joined || !me) return;
        this.off('members', onMembers);
        resolve(me);
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
    this.#conversation.stopRetrying();
    this.#presence.close();
    this.doc.off('update', this.#onDocUpdate);
    this.doc.off('afterTransaction', this.#edits.afterTransaction);
    this.#connection.close();
  }

  override destroy(): void {
    this.close();
    super.destroy();
  }

  #onOpen(): void {
    this.#saves.opened();
    this.#connection.send(encodeSyncStep1(this.doc));
    this.#presence.opened();
    if (this.#name !== undefined) this.#connection.sendJson({ type: 'join', name: this.#name });
  }

  #onLost(): void {
    this.#joined = false;
    this.#olderPages.lost();
    this.#conversation.stopRetrying();
    this.#synced = false;
    this.#saves.lost();
    this.#presence.lost();
    this.#roster.clear();
    this.#typing.clear();
  }

  // ---- document and presence -------------------------------------------------------------

  readonly #onDocUpdate = (update: Uint8Array, origin: unknown): void => {
    // Offline edits are not queued: on reconnect the sync exchange sends whatever the server lacks.
    // Without edit rights nothing is sent: the server would refuse it (see EditRights).
    if (origin === this || !this.#edits.canEdit) return;
    this.#saves.localChange(this.#saves.sent(this.#connection.send(encodeUpdateMessage(update))));
  };

  #onBinary(data: ArrayBuffer): void {
    const result = applyYMessage(new Uint8Array(data), { doc: this.doc, awareness: this.awareness, origin: this });
    if (result.kind === 'sync') {
      // The reply to the server's step 1 carries all local changes it lacks; without edit rights they would be refused.
      if (result.reply && this.#edits.canEdit) this.#saves.syncReply(this.#saves.sent(this.#connection.send(result.reply)));
      if (result.step === 'step2' && !this.#synced) {
        this.#synced = true;
        this.emit('synced', []);
        this.#changed();
      }
    } else if (result.kind === 'queryAwareness') {
      this.#presence.queried();
    }
  }

  // ---- control channel -------------------------------------------------------------------

  #onControl(message: ServerMessage): void {
    switch (message.type) {
      case 'welcome':
        this.#onWelcome(message);
        break;
      case 'members':
        this.#roster.changed(message.changed, message.left);
        for (const id of message.left) this.#typing.remove(id);
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
      case 'history':
        this.#olderPages.received(message);
        break;
      case 'authenticated':
      case 'rights':
        this.#edits.set(message.rights);
        break;
      case 'storage':
        this.#storage = message.state === 'ok' ? { state: 'ok' } : { state: 'failing', message: message.message };
        this.emit('storage', [this.#storage]);
        // What the server refused while its storage failed (storage_backlog) is worth sending again.
        if (message.state === 'ok' && this.#joined) this.#conversation.resendChat();
        break;
      case 'saved':
        this.#saves.saved(message.through);
        return;
      case 'resync':
        // The server rebuilt its log: a full sync gives it whatever it lacks (its own step 1 follows, answered in #onBinary).
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
    if (message.code === 'read_only') this.#edits.refusedByServer();
    if (message.code === 'resume_failed') this.#conversation.resumeFailed();
    if (message.code === 'history_failed') this.#olderPages.failed(message.message);
    this.emit('error', [message.ref === undefined ? { code: message.code, message: message.message } : message]);
  }

  #onWelcome(message: ServerMessageOf<'welcome'>): void {
    this.#joined = true;
    this.#edits.set(message.rights);
    this.#roster.welcomed(message.you, message.members);
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

/** Connects to `room` on the Tandem server at `url` and keeps the connection alive. */
export function connect(url: string, room: string, options: ConnectOptions = {}): RoomHandle {
  return new RoomHandle(url, room, options);
}
