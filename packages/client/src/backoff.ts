export interface BackoffOptions {
  /** The first retry waits up to this long. */
  baseMs: number;
  /** No retry waits longer than this. */
  capMs: number;
  /** A connection that stayed open this long resets the retry count. */
  stableMs: number;
}

export const DEFAULT_BACKOFF: BackoffOptions = { baseMs: 500, capMs: 30_000, stableMs: 10_000 };

/**
 * Exponential backoff with full jitter: a uniform wait in [0, min(cap, base·2^attempt)). The
 * jitter spreads the reconnects of many clients after a server restart instead of having them
 * arrive together ("AWS Architecture Blog: Exponential Backoff and Jitter").
 */
export function backoffDelay(attempt: number, options: BackoffOptions, random: () => number = Math.random): number {
  const ceiling = Math.min(options.capMs, options.baseMs * 2 ** Math.min(attempt, 30));
  return Math.floor(random() * ceiling);
}
