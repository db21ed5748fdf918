import {
  errorMessage,
  RESUME_PAGE,
  type ActivityEntry,
  type AppEvent,
  type ChatMessage,
  type JsonValue,
  type Member,
} from '@tandem/protocol';
import type { Logger } from 'pino';
import type { StoredRoom } from '../storage/storage.js';
import type { Connection } from './connection.js';
import type { CommittedBatch, RoomLog, StoredHistory } from '../storage/room-log.js';
import { SeqLog } from './seq-log.js';

/** Who admin entries name as their author. */
const ADMINISTRATOR: Member = { id: 'admin', name: 'An administrator', color: '#475569' };

/** Chat ids remembered per room to drop re-sent messages. */
export const DEDUPE_WINDOW = 10_000;
/**
 * Chat messages and events a room may hold waiting for storage while it fails; past that they
 * are refused (storage_backlog) rather than held in memory without bound.
 */
const MAX_UNSTORED = 1_000;

export interface JournalContext {
  room: string;
  persistence: RoomLog;
  log: Logger;
  /** Runs a frame's asynchronous work inside the room's error boundary. */
  guard(conn: Connection, what: string, work: Promise<void>): void;
}

/** What the room does with entries once storage has committed them, in this order. */
export interface CommittedSinks {
  activity(entry: ActivityEntry): void;
  chat(message: ChatMessage): void;
  event(event: AppEvent): void;
}

/**
 * A room's sequenced history: chat, activity and app events. Entries are queued for storage and
 * shown to members only once durable (`committed`), with the seq the log gave them, so an
 * acknowledged entry survives a crash and no seq is ever given to two entries. Chat is
 * de-duplicated by the client's id, so a re-send after a lost acknowledgement is stored once.
 */
export class Journal {
  readonly #ctx: JournalContext;
  /** Where entries older than the logs' in-memory tails are read from. */
  readonly #history: StoredHistory;
  #chat: SeqLog<ChatMessage>;
  #activity: SeqLog<ActivityEntry>;
  #eventSeq = 0;
  /** Chat messages and events queued for storage and not yet committed. */
  #unstored = 0;
  /** Chat id → seq, for committed chat. */
  readonly #chatIds = new Map<string, number>();
  /** Chat queued by this node and not yet durable, by id: its sender, then the connections that re-sent it meanwhile. */
  readonly #queuedChat = new Map<string, Connection[]>();

  constructor(ctx: JournalContext) {
    this.#ctx = ctx;
    this.#history = ctx.persistence.history(ctx.room);
    this.#chat = new SeqLog([], 0, this.#history.chat);
    this.#activity = new SeqLog([], 0, this.#history.activity);
  }

  load(stored: StoredRoom): void {
    this.#chat = new SeqLog(stored.chat, stored.chatSeq, this.#history.chat);
    this.#activity = new SeqLog(stored.activity, stored.activitySeq, this.#history.activity);
    this.#eventSeq = stored.eventSeq;
    for (const { id, seq } of stored.recentChatIds) this.#chatIds.set(id, seq);
  }

  /** The newest committed entries and seqs, for a welcome. */
  history(count: number): { chat: ChatMessage[]; activity: ActivityEntry[]; chatSeq: number; activitySeq: number } {
    return {
      chat: this.#chat.recent(count),
      activity: this.#activity.recent(count),
      chatSeq: this.#chat.committedSeq,
      activitySeq: this.#activity.committedSeq,
    };
  }

  /** Every committed entry held in memory, oldest first. */
  held(): { chat: ChatMessage[]; activity: ActivityEntry[] } {
    return { chat: this.#chat.recent(Infinity), activity: this.#activity.recent(Infinity) };
  }

  /** Queues an entry saying what an administrator did. */
  recordAdmin(action: NonNullable<ActivityEntry['action']>, target?: Member): void {
    const entry: ActivityEntry = { seq: this.#activity.nextSeq(), time: Date.now(), kind: 'admin', member: ADMINISTRATOR, action };
    if (target) entry.target = target;
    this.#ctx.persistence.appendActivity(this.#ctx.room, entry);
  }

  /** Records that a member brought back a stored version of the document. */
  recordRestore(member: Member, version: NonNullable<ActivityEntry['version']>): void {
    const entry: ActivityEntry = { seq: this.#activity.nextSeq(), time: Date.now(), kind: 'restore', member, version };
    this.#ctx.persistence.appendActivity(this.#ctx.room, entry);
  }

  /** Queues an activity entry. */
  record(kind: Exclude<ActivityEntry['kind'], 'admin' | 'restore'>, member: Member, previousName?: string): void {
    const entry: ActivityEntry = { seq: this.#activity.nextSeq(), time: Date.now(), kind, member };
    if (previousName !== undefined) entry.previousName = previousName;
    this.#ctx.persistence.appendActivity(this.#ctx.room, entry);
  }

  /** Queues a chat message; it is broadcast, and so acknowledged, once committed. */
  chat(conn: Connection, author: Member, id: string, text: string): void {
    if (this.#backlogged(conn, id)) return;
    // A re-send (the client did not see its acknowledgement) is confirmed to the sender only, once stored.
    const knownSeq = this.#chatIds.get(id);
    if (knownSeq !== undefined) {
      this.#ctx.guard(conn, 'confirming a re-sent chat message', this.#replay(conn, knownSeq));
      return;
    }
    const waiting = this.#queuedChat.get(id);
    if (waiting) {
      waiting.push(conn);
      return;
    }
    const message: ChatMessage = { seq: this.#chat.nextSeq(), id, author, text, time: Date.now() };
    this.#queuedChat.set(id, [conn]);
    this.#unstored++;
    this.#ctx.persistence.appendChat(this.#ctx.room, message);
    this.#warnUnstored(conn, id);
  }

  /** Queues an app event; it is relayed to the others once committed. */
  event(conn: Connection, from: Member, name: string, data: JsonValue | undefined): void {
    if (this.#backlogged(conn)) return;
    const seq = ++this.#eventSeq;
    const event: AppEvent = data === undefined ? { seq, from, name } : { seq, from, name, data };
    this.#unstored++;
    this.#ctx.persistence.appendEvent(this.#ctx.room, event);
    this.#warnUnstored(conn);
  }

  /** These entries are durable: they join the logs and go to `sinks`, activity first. */
  committed(batch: CommittedBatch, sinks: CommittedSinks): void {
    this.#unstored -= batch.ownEntries;
    for (const entry of batch.activity) {
      this.#activity.committed(entry);
      sinks.activity(entry);
    }
    for (const message of batch.chat) {
      this.#chat.committed(message);
      this.#rememberChatId(message.id, message.seq);
      sinks.chat(message);
      const senders = this.#queuedChat.get(message.id);
      if (!senders) continue;
      this.#queuedChat.delete(message.id);
      // The first sender had the broadcast; those who re-sent it meanwhile may not be members yet.
      for (const conn of senders.slice(1)) conn.sendJson({ type: 'chat', message });
    }
    // Queued here, but the log held it already (sent to another node before): its senders get the stored one.
    for (const { id, seq } of batch.duplicates) {
      const senders = this.#queuedChat.get(id) ?? [];
      this.#queuedChat.delete(id);
      this.#rememberChatId(id, seq);
      for (const conn of senders) this.#ctx.guard(conn, 'confirming a re-sent chat message', this.#replay(conn, seq));
    }
    for (const event of batch.events) sinks.event(event);
  }

  #rememberChatId(id: string, seq: number): void {
    this.#chatIds.set(id, seq);
    if (this.#chatIds.size > DEDUPE_WINDOW) this.#chatIds.delete(this.#chatIds.keys().next().value as string);
  }

  /** Answers `resume`: what came after the client's seqs, a page of each log at most. */
  async resume(conn: Connection, chatSeq: number, activitySeq: number): Promise<void> {
    try {
      const [chat, activity] = await Promise.all([
        this.#chat.readAfter(chatSeq, RESUME_PAGE),
        this.#activity.readAfter(activitySeq, RESUME_PAGE),
      ]);
      conn.sendJson({ type: 'resumed', chat, activity, complete: chat.length < RESUME_PAGE && activity.length < RESUME_PAGE });
    } catch (error) {
      this.#ctx.log.error({ err: error, room: this.#ctx.room }, 'resume failed');
      conn.sendJson(errorMessage('resume_failed', 'Missed messages could not be read; send "resume" again.'));
    }
  }

  /** Older entries of one log, for a member scrolling back. */
  async older(conn: Connection, log: 'chat' | 'activity', before: number, limit: number): Promise<void> {
    try {
      const entries = await (log === 'chat' ? this.#chat : this.#activity).readBefore(before, limit);
      conn.sendJson({ type: 'history', log, before, entries, complete: (entries[0]?.seq ?? 1) <= 1 || entries.length < limit });
    } catch (error) {
      this.#ctx.log.error({ err: error, room: this.#ctx.room }, 'reading older entries failed');
      conn.sendJson(errorMessage('history_failed', `Older ${log} could not be read; ask again.`));
    }
  }

  /** Confirms a re-sent chat message that is stored: from memory, else from storage. */
  async #replay(conn: Connection, seq: number): Promise<void> {
    const [message] = await this.#chat.readAfter(seq - 1, 1);
    if (message?.seq === seq) conn.sendJson({ type: 'chat', message });
  }

  /** Refuses a chat message or event while storage fails and this room holds too many unstored. */
  #backlogged(conn: Connection, ref?: string): boolean {
    if (this.#unstored < MAX_UNSTORED || this.#ctx.persistence.health.ok) return false;
    const text = `Storage is failing and this room already holds ${MAX_UNSTORED} unstored messages; send it again later.`;
    conn.sendJson(errorMessage('storage_backlog', text, ref));
    return true;
  }

  /** Tells the sender, while storage fails, why its message is not acknowledged yet (it is kept, and sent once stored). */
  #warnUnstored(conn: Connection, ref?: string): void {
    const health = this.#ctx.persistence.health;
    if (health.ok) return;
    const text = `Not saved yet: the server cannot store changes (${health.error}). It is kept and sent once storage works again.`;
    conn.sendJson(errorMessage('storage_failed', text, ref));
  }
}
