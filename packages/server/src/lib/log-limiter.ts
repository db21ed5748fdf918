import type { Logger } from 'pino';

interface Repeated {
  level: 'info' | 'warn';
  fields: Record<string, unknown>;
  message: string;
  /** Occurrences after the first, in this interval. */
  more: number;
}

/** Kinds of repeated lines remembered per interval; past that, lines are only counted. */
const MAX_KINDS = 1_000;

/**
 * Keeps what clients can trigger from flooding the log: the first line of a kind (say, malformed
 * frames from one address) in an interval is written; the rest are counted, and one line with the
 * count closes the interval. So 1,200 bad frames from one address are two lines, not 1,200.
 */
export class LogLimiter {
  readonly #log: Logger;
  readonly #intervalMs: number;
  readonly #seen = new Map<string, Repeated>();
  #dropped = 0;
  #timer: NodeJS.Timeout | null = null;

  constructor(log: Logger, intervalMs = 10_000) {
    this.#log = log;
    this.#intervalMs = intervalMs;
  }

  /** Logs a line of kind `key`, unless one was logged in this interval (then it is counted). */
  log(level: 'info' | 'warn', key: string, fields: Record<string, unknown>, message: string): void {
    const seen = this.#seen.get(key);
    if (seen) {
      seen.more++;
      return;
    }
    if (this.#seen.size >= MAX_KINDS) {
      this.#dropped++;
      return;
    }
    this.#seen.set(key, { level, fields, message, more: 0 });
    this.#log[level](fields, message);
    if (!this.#timer) {
      this.#timer = setTimeout(() => this.flush(), this.#intervalMs);
      this.#timer.unref();
    }
  }

  /** Ends the interval: one line per kind that repeated, with how often. */
  flush(): void {
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = null;
    const interval = this.#intervalMs >= 1_000 ? `${Math.round(this.#intervalMs / 1_000)} s` : `${this.#intervalMs} ms`;
    for (const { level, fields, message, more } of this.#seen.values()) {
      if (more > 0) this.#log[level]({ ...fields, repeated: more }, `${message} (${more} more in the last ${interval})`);
    }
    this.#seen.clear();
    if (this.#dropped > 0)
      this.#log.warn({ dropped: this.#dropped }, `${this.#dropped} more repeated log lines of other kinds were not written`);
    this.#dropped = 0;
  }
}
