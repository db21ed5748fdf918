import type { ActivityEntry, ChatMessage, ClientMessage, JsonValue, ServerMessageOf } from '@tandem/protocol';
import { contiguousSeq, dropAfter, mergeBySeq } from './history.js';

/** A chat message sent from this handle that the server has not confirmed yet. */
export interface PendingChat {
  id: string;
  text: string;
  time: number;
}

type Outgoing = ({ kind: 'chat' } & PendingChat) | { kind: 'event'; name: string; data: JsonValue | undefined };

/** How long after a failed `resume` it is sent again. */
const RESUME_RETRY_MS = 2_000;

const sameChat = (a: ChatMessage, b: ChatMessage): boolean => a.id === b.id;
const sameActivity = (a: ActivityEntry, b: ActivityEntry): boolean => a.time === b.time && a.kind === b.kind && a.member.id === b.member.id;

function eventMessage(name: string, data: JsonValue | undefined): ClientMessage {
  return data === undefined ? { type: 'event', name } : { type: 'event', name, data };
}

/**
 * A handle's chat and activity, and what it sends that must not be lost: the outbox of chat
 * messages (kept until the server's broadcast acknowledges them, re-sent after every reconnect)
 * and of events queued while offline. Entries are kept by seq; the marks say up to which seq
 * each log has no gap, which is where a `resume` asks the server to continue.
 */
export type HistoryLog = 'chat' | 'activity';

export class Conversation {
  /** How many entries of each log to keep: the history limit, raised by every older page loaded on request. */
  readonly #keep: Record<HistoryLog, number>;
  /** The server said no entries older than those held are stored. */
  readonly #reachedStart: Record<HistoryLog, boolean> = { chat: false, activity: false };
  readonly #send: (message: ClientMessage) => void;
  #chat: ChatMessage[] = [];
  #activity: ActivityEntry[] = [];
  #chatMark = 0;
  #activityMark = 0;
  #outbox: Outgoing[] = [];
  #everWelcomed = false;
  /** A `resume` the server could not answer (its storage failed), asked again when this fires. */
  #resumeRetry: ReturnType<typeof setTimeout> | null = null;

  constructor(historyLimit: number, send: (message: ClientMessage) => void) {
    this.#keep = { chat: historyLimit, activity: historyLimit };
    this.#send = send;
  }

  /** The chat so far, oldest first (a live view). */
  get chat(): readonly ChatMessage[] {
    return this.#chat;
  }

  /** The activity so far, oldest first (a live view). */
  get activity(): readonly ActivityEntry[] {
    return this.#activity;
  }

  get pendingChat(): PendingChat[] {
    const pending: PendingChat[] = [];
    for (const item of this.#outbox) if (item.kind === 'chat') pending.push({ id: item.id, text: item.text, time: item.time });
    return pending;
  }

  /** Queues a chat message, sending it now when `joined`; returns its id. */
  sendChat(text: string, joined: boolean): string {
    const item: Outgoing = { kind: 'chat', id: globalThis.crypto.randomUUID(), text, time: Date.now() };
    this.#outbox.push(item);
    if (joined) this.#send({ type: 'chat', id: item.id, text });
    return item.id;
  }

  /** Sends an event now when `joined`, or queues it until the next welcome. */
  sendEvent(name: string, data: JsonValue | undefined, joined: boolean): void {
    if (joined) this.#send(eventMessage(name, data));
    else this.#outbox.push({ kind: 'event', name, data });
  }

  /**
   * Takes a welcome: reconciles what is held with the server's newest seqs, asks for what was
   * missed since the last connection, and sends the outbox (chat in order; events leave it).
   */
  welcomed(message: ServerMessageOf<'welcome'>): void {
    this.stopRetrying();
    const resuming = this.#everWelcomed;
    this.#everWelcomed = true;
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
    this.addChat(message.chat);
    this.addActivity(message.activity);
    if (resuming && (chatFrom < message.chatSeq || activityFrom < message.activitySeq)) {
      this.#send({ type: 'resume', chatSeq: chatFrom, activitySeq: activityFrom });
    }
    for (const item of this.#outbox) {
      this.#send(item.kind === 'chat' ? { type: 'chat', id: item.id, text: item.text } : eventMessage(item.name, item.data));
    }
    this.#outbox = this.#outbox.filter((item) => item.kind === 'chat');
  }

  /** A chat broadcast: acknowledges this handle's message with that id; returns what was new. */
  chatReceived(message: ChatMessage): ChatMessage[] {
    const index = this.#outbox.findIndex((item) => item.kind === 'chat' && item.id === message.id);
    if (index >= 0) this.#outbox.splice(index, 1);
    return this.addChat([message]);
  }

  /** A page of missed entries; asks for the next page when there is more. */
  resumed(message: ServerMessageOf<'resumed'>): void {
    this.addChat(message.chat);
    this.addActivity(message.activity);
    if (!message.complete) this.#send({ type: 'resume', chatSeq: this.#chatMark, activitySeq: this.#activityMark });
  }

  /** The server could not read what was missed (`resume_failed`): asks again in a while, from where the entries held stop. */
  resumeFailed(): void {
    this.#resumeRetry ??= setTimeout(() => {
      this.#resumeRetry = null;
      this.#send({ type: 'resume', chatSeq: this.#chatMark, activitySeq: this.#activityMark });
    }, RESUME_RETRY_MS);
  }

  /** No resume is asked again (a welcome asks anew; the handle closed). */
  stopRetrying(): void {
    if (this.#resumeRetry) clearTimeout(this.#resumeRetry);
    this.#resumeRetry = null;
  }

  /** Whether the server may hold entries of `log` older than the oldest held here. */
  hasOlder(log: HistoryLog): boolean {
    const oldest = (log === 'chat' ? this.#chat : this.#activity)[0]?.seq;
    return oldest !== undefined && oldest > 1 && !this.#reachedStart[log];
  }

  /** The seq an older page of `log` must come before, or null when none can exist. */
  olderThan(log: HistoryLog): number | null {
    return this.hasOlder(log) ? (log === 'chat' ? this.#chat : this.#activity)[0]!.seq : null;
  }

  /** A page of older entries asked for: kept (the history limit grows by the page), oldest first. Returns how many were new. */
  older(message: ServerMessageOf<'history'>): number {
    this.#keep[message.log] += message.entries.length;
    if (message.complete) this.#reachedStart[message.log] = true;
    // The schema pairs `log` with the kind of its entries.
    return message.log === 'chat'
      ? this.addChat(message.entries as ChatMessage[]).length
      : this.addActivity(message.entries as ActivityEntry[]).length;
  }

  /** The server refused a chat message for good (rights): it leaves the outbox. Returns whether it was there. */
  refused(id: string): boolean {
    const before = this.#outbox.length;
    this.#outbox = this.#outbox.filter((item) => item.kind !== 'chat' || item.id !== id);
    return this.#outbox.length !== before;
  }

  /** Sends every unacknowledged chat message again (the server keeps the first of each id). */
  resendChat(): void {
    for (const item of this.#outbox) if (item.kind === 'chat') this.#send({ type: 'chat', id: item.id, text: item.text });
  }

  /** Merges chat by seq (the server's entry wins over a different one held at its seq); returns what was new. */
  addChat(entries: readonly ChatMessage[]): ChatMessage[] {
    const { list, added } = mergeBySeq(this.#chat, entries, this.#keep.chat, sameChat);
    this.#chat = list;
    this.#chatMark = contiguousSeq(this.#chat, this.#chatMark);
    return added;
  }

  addActivity(entries: readonly ActivityEntry[]): ActivityEntry[] {
    const { list, added } = mergeBySeq(this.#activity, entries, this.#keep.activity, sameActivity);
    this.#activity = list;
    this.#activityMark = contiguousSeq(this.#activity, this.#activityMark);
    return added;
  }
}
