import { HISTORY_PAGE, type ClientMessage, type ServerMessageOf } from '@tandem/protocol';
import type { Conversation, HistoryLog } from './chat.js';

interface Waiting {
  page: Promise<number>;
  resolve(added: number): void;
  reject(error: Error): void;
}

/**
 * Scrolling back: `history` requests for entries older than the oldest held, one per log and seq
 * at a time, each answered by the page the server sends (merged into the Conversation).
 */
export class OlderPages {
  readonly #conversation: Conversation;
  readonly #send: (message: ClientMessage) => void;
  readonly #waiting = new Map<string, Waiting>();

  constructor(conversation: Conversation, send: (message: ClientMessage) => void) {
    this.#conversation = conversation;
    this.#send = send;
  }

  /** See RoomHandle.loadOlder. */
  load(log: HistoryLog, count: number, joined: boolean): Promise<number> {
    const before = this.#conversation.olderThan(log);
    if (before === null) return Promise.resolve(0);
    if (!joined) return Promise.reject(new Error('not connected: older entries can be loaded once joined'));
    const key = `${log}:${before}`;
    const waiting = this.#waiting.get(key);
    if (waiting) return waiting.page;
    let settle!: Omit<Waiting, 'page'>;
    const page = new Promise<number>((resolve, reject) => (settle = { resolve, reject }));
    this.#waiting.set(key, { page, ...settle });
    this.#send({ type: 'history', log, before, limit: Math.min(Math.max(1, Math.floor(count)), HISTORY_PAGE) });
    return page;
  }

  /** The server's answer: merged, and the request it answers resolved. */
  received(message: ServerMessageOf<'history'>): void {
    const added = this.#conversation.older(message);
    const key = `${message.log}:${message.before}`;
    this.#waiting.get(key)?.resolve(added);
    this.#waiting.delete(key);
  }

  /** The server could not read older entries (`history_failed`, which does not say for which request): every waiting load fails. */
  failed(reason: string): void {
    for (const waiting of this.#waiting.values()) waiting.reject(new Error(`older entries could not be loaded: ${reason}`));
    this.#waiting.clear();
  }

  /** The connection was lost: no answer will come. */
  lost(): void {
    for (const waiting of this.#waiting.values())
      waiting.reject(new Error('the connection was lost; load older entries again once reconnected'));
    this.#waiting.clear();
  }
}
