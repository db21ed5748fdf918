import { CloseCode, errorMessage } from '@tandem/protocol';
import type { Connection } from '../rooms/connection.js';
import { TokenBucket } from '../lib/token-bucket.js';

export interface ThrottleOptions {
  messagesPerSecond: number;
  bytesPerSecond: number;
  /** A connection kept over its rate this long is closed with 1008. */
  closeAfterMs: number;
  /** Bytes that may wait in the queue; more closes the connection with 1008. */
  maxQueuedBytes: number;
}

type Deliver = (data: Uint8Array, isBinary: boolean) => void;

/** What a throttle needs of the connection it reads for (a room's connection, or a Hocuspocus WebSocket). */
export type Throttled = Pick<Connection, 'closed' | 'traffic' | 'socket' | 'sendJson' | 'close'>;

/** The `rate_limited` warning is repeated at most this often. */
const WARN_EVERY_MS = 5_000;

/**
 * Per-connection rate limit that drops nothing. Frames within the budget are handled at once;
 * a frame over it waits in an ordered queue, and the socket is paused so the sender is held back
 * by TCP (the socket still hands over what it had already read, which is why the queue exists). The client
 * is told once with `rate_limited`; one that stays over its rate for `closeAfterMs` is closed
 * with 1008.
 */
export class Throttle {
  readonly #conn: Throttled;
  readonly #options: ThrottleOptions;
  readonly #deliver: Deliver;
  readonly #messages: TokenBucket;
  readonly #bytes: TokenBucket;
  /** Frames waiting for the budget, oldest first (null while none ever had to wait). */
  #queue: Array<{ data: Uint8Array; isBinary: boolean }> | null = null;
  #queuedBytes = 0;
  #timer: NodeJS.Timeout | null = null;
  #overSince: number | null = null;
  #warnedAt = -Infinity;

  constructor(conn: Throttled, options: ThrottleOptions, deliver: Deliver) {
    this.#conn = conn;
    this.#options = options;
    this.#deliver = deliver;
    this.#messages = new TokenBucket(options.messagesPerSecond, options.messagesPerSecond * 2);
    this.#bytes = new TokenBucket(options.bytesPerSecond, options.bytesPerSecond * 2);
  }

  /** Handles a received frame now, or queues it until the budget allows. */
  push(data: Uint8Array, isBinary: boolean): void {
    if (this.#conn.closed) return;
    const now = performance.now();
    if (!this.#queue?.length && this.#wait(data.byteLength, now) === 0) {
      this.#take(data.byteLength, now);
      this.#deliver(data, isBinary);
      return;
    }
    (this.#queue ??= []).push({ data, isBinary });
    this.#conn.traffic.rateLimited++;
    this.#queuedBytes += data.byteLength;
    this.#overSince ??= now;
    if (now - this.#warnedAt > WARN_EVERY_MS) {
      this.#warnedAt = now;
      const { messagesPerSecond, bytesPerSecond } = this.#options;
      this.#conn.sendJson(
        errorMessage(
          'rate_limited',
          `Sending faster than ${messagesPerSecond} messages or ${bytesPerSecond} bytes a second: reading from this connection is slowed down.`,
        ),
      );
    }
    if (now - this.#overSince > this.#options.closeAfterMs || this.#queuedBytes > this.#options.maxQueuedBytes) {
      this.#close();
      return;
    }
    this.#conn.socket.pause();
    this.#schedule(now);
  }

  #wait(size: number, now: number): number {
    return Math.max(this.#messages.waitMs(1, now), this.#bytes.waitMs(size, now));
  }

  #take(size: number, now: number): void {
    this.#messages.take(1, now);
    this.#bytes.take(size, now);
  }

  #schedule(now: number): void {
    if (this.#timer || !this.#queue?.length) return;
    this.#timer = setTimeout(() => this.#drain(), this.#wait(this.#queue[0]!.data.byteLength, now));
  }

  #drain(): void {
    this.#timer = null;
    const now = performance.now();
    const queue = this.#queue ?? [];
    while (queue.length > 0) {
      const next = queue[0]!;
      if (this.#wait(next.data.byteLength, now) > 0) break;
      queue.shift();
      this.#queuedBytes -= next.data.byteLength;
      this.#take(next.data.byteLength, now);
      this.#deliver(next.data, next.isBinary);
      if (this.#conn.closed) return this.stop();
    }
    if (queue.length > 0) {
      if (now - this.#overSince! > this.#options.closeAfterMs) return this.#close();
      return this.#schedule(now);
    }
    this.#overSince = null;
    this.#queue = null;
    this.#conn.socket.resume();
  }

  #close(): void {
    this.stop();
    this.#conn.close(CloseCode.policyViolation, 'rate limit exceeded');
  }

  stop(): void {
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = null;
    this.#queue = null;
    this.#queuedBytes = 0;
  }
}
