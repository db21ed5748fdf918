/**
 * A token bucket: `rate` tokens a second, holding at most `burst`. Taking more than it holds
 * leaves a debt, and `waitMs` says how long until it is paid back.
 */
export class TokenBucket {
  readonly #rate: number;
  readonly #burst: number;
  #level: number;
  #at: number;

  constructor(rate: number, burst: number, now = performance.now()) {
    this.#rate = rate;
    this.#burst = burst;
    this.#level = burst;
    this.#at = now;
  }

  #refill(now: number): void {
    this.#level = Math.min(this.#burst, this.#level + ((now - this.#at) / 1000) * this.#rate);
    this.#at = now;
  }

  /** Takes `amount` (going into debt if need be); returns false if the bucket was short. */
  take(amount: number, now = performance.now()): boolean {
    this.#refill(now);
    this.#level -= amount;
    return this.#level >= 0;
  }

  /** Milliseconds until `amount` can be taken (0: now). More than a full bucket waits for a full one. */
  waitMs(amount: number, now = performance.now()): number {
    this.#refill(now);
    const missing = Math.min(amount, this.#burst) - this.#level;
    return missing <= 0 ? 0 : Math.ceil((missing / this.#rate) * 1000);
  }

  /** True when the bucket is full again: an entry for it can be forgotten. */
  full(now = performance.now()): boolean {
    this.#refill(now);
    return this.#level >= this.#burst;
  }
}
