import type { Logger } from 'pino';
import type { WebhookEvent } from './events.js';
import { webhookSignature } from './signature.js';

export interface DeliveryPolicy {
  /** How long one attempt may take before it is abandoned (and retried). */
  timeoutMs: number;
  /** Attempts in all, the first included, before an event is dropped. */
  attempts: number;
  /** Delay before the first retry; it doubles (with jitter) up to maxDelayMs. */
  baseDelayMs: number;
  maxDelayMs: number;
  /** Deliveries in flight (or waiting for their retry) at once. */
  concurrency: number;
  /** Events waiting beyond these push out the oldest. */
  maxQueued: number;
}

export const DEFAULT_DELIVERY_POLICY: DeliveryPolicy = {
  timeoutMs: 5_000,
  attempts: 6,
  baseDelayMs: 2_000,
  maxDelayMs: 30_000,
  concurrency: 4,
  maxQueued: 10_000,
};

/** delivered: 2xx; retried: an attempt failed and another follows; rejected: a 4xx other than 408/429 (not retried); dropped: gave up, or pushed out of a full queue. */
export type DeliveryOutcome = 'delivered' | 'retried' | 'rejected' | 'dropped';

interface Queued {
  event: WebhookEvent;
  body: string;
}

/**
 * One configured URL: a bounded queue of events and a few deliveries in flight. Nothing here is
 * awaited by a room; fetch and its timers run beside the event loop's other work.
 */
export class WebhookEndpoint {
  readonly url: string;
  readonly #secret: string;
  readonly #policy: DeliveryPolicy;
  readonly #log: Logger;
  readonly #counted: (outcome: DeliveryOutcome) => void;
  readonly #queue: Queued[] = [];
  readonly #stopped = new AbortController();
  #inFlight = 0;

  constructor(options: { url: string; secret: string; policy: DeliveryPolicy; log: Logger; counted: (outcome: DeliveryOutcome) => void }) {
    this.url = options.url;
    this.#secret = options.secret;
    this.#policy = options.policy;
    this.#log = options.log;
    this.#counted = options.counted;
  }

  enqueue(event: WebhookEvent, body: string): void {
    if (this.#stopped.signal.aborted) return;
    this.#queue.push({ event, body });
    if (this.#queue.length > this.#policy.maxQueued) {
      const oldest = this.#queue.shift()!;
      this.#dropped(oldest.event, 'the queue is full');
    }
    this.#pump();
  }

  /** Abandons what is in flight and queued, logging how many events that was. */
  stop(): void {
    if (this.#stopped.signal.aborted) return;
    this.#stopped.abort();
    const abandoned = this.#queue.length + this.#inFlight;
    this.#queue.length = 0;
    if (abandoned > 0) this.#log.warn({ endpoint: this.url, events: abandoned }, 'webhook events not delivered before shutdown');
  }

  #pump(): void {
    while (this.#inFlight < this.#policy.concurrency && this.#queue.length > 0) {
      const next = this.#queue.shift()!;
      this.#inFlight++;
      void this.#deliver(next).finally(() => {
        this.#inFlight--;
        this.#pump();
      });
    }
  }

  async #deliver({ event, body }: Queued): Promise<void> {
    for (let attempt = 1; !this.#stopped.signal.aborted; attempt++) {
      const result = await this.#attempt(event, body);
      if (this.#stopped.signal.aborted) return;
      if (result.ok) return this.#counted('delivered');
      if (!result.retry) {
        this.#log.warn({ endpoint: this.url, eventId: event.id, type: event.type, problem: result.problem }, 'webhook delivery rejected');
        return this.#counted('rejected');
      }
      if (attempt >= this.#policy.attempts) return this.#dropped(event, `${attempt} attempts failed, the last with ${result.problem}`);
      this.#counted('retried');
      await this.#sleep(Math.max(this.#backoff(attempt), result.retryAfterMs ?? 0));
    }
  }

  async #attempt(
    event: WebhookEvent,
    body: string,
  ): Promise<{ ok: true } | { ok: false; retry: boolean; problem: string; retryAfterMs?: number }> {
    const timestamp = Math.floor(Date.now() / 1000);
    try {
      const response = await fetch(this.url, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          'user-agent': 'Tandem-Webhooks',
          'webhook-id': event.id,
          'webhook-timestamp': String(timestamp),
          'webhook-signature': webhookSignature(this.#secret, event.id, timestamp, body),
        },
        body,
        redirect: 'manual',
        signal: AbortSignal.any([AbortSignal.timeout(this.#policy.timeoutMs), this.#stopped.signal]),
      });
      // The answer's body is not used; cancelling it frees the connection.
      await response.body?.cancel().catch(() => {});
      if (response.ok) return { ok: true };
      const retry = response.status >= 500 || response.status === 408 || response.status === 429;
      return { ok: false, retry, problem: `HTTP ${response.status}`, retryAfterMs: retryAfterMs(response.headers.get('retry-after')) };
    } catch (error) {
      const { name, message, cause } = error as Error & { cause?: { code?: string; message?: string } };
      const problem =
        name === 'TimeoutError' ? `no answer within ${this.#policy.timeoutMs} ms` : (cause?.code ?? cause?.message ?? message);
      return { ok: false, retry: true, problem };
    }
  }

  /** Exponential with full jitter between half and all of it, so retries of many events spread out. */
  #backoff(attempt: number): number {
    const ceiling = Math.min(this.#policy.maxDelayMs, this.#policy.baseDelayMs * 2 ** (attempt - 1));
    return ceiling / 2 + Math.random() * (ceiling / 2);
  }

  #sleep(ms: number): Promise<void> {
    const signal = this.#stopped.signal;
    return new Promise((resolve) => {
      const done = (): void => {
        clearTimeout(timer);
        signal.removeEventListener('abort', done);
        resolve();
      };
      const timer = setTimeout(done, Math.min(ms, this.#policy.maxDelayMs));
      timer.unref();
      signal.addEventListener('abort', done);
    });
  }

  #dropped(event: WebhookEvent, reason: string): void {
    this.#log.error({ endpoint: this.url, eventId: event.id, type: event.type, reason }, 'webhook delivery dropped');
    this.#counted('dropped');
  }
}

/** Retry-After in seconds or as an HTTP date, in ms (undefined when absent or unreadable). */
function retryAfterMs(header: string | null): number | undefined {
  if (!header) return undefined;
  const seconds = Number(header);
  if (Number.isFinite(seconds)) return Math.max(0, seconds * 1000);
  const date = Date.parse(header);
  return Number.isNaN(date) ? undefined : Math.max(0, date - Date.now());
}
