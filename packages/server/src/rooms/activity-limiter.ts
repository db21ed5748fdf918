import { TokenBucket } from '../lib/token-bucket.js';

/** Addresses remembered before the ones whose buckets have refilled are forgotten. */
const SWEEP_AT = 10_000;

/**
 * How fast one client address may add to activity histories: joins, leaves and renames each
 * write an entry, so without a limit one address reconnecting in a loop writes gigabytes a
 * day. Over the limit the person still joins, leaves and renames; it is just not recorded.
 */
export class ActivityLimiter {
  readonly #perMinute: number;
  readonly #buckets = new Map<string, TokenBucket>();

  constructor(perMinute: number) {
    this.#perMinute = perMinute;
  }

  /** Counts one entry for `address`; false when the address is over its rate. */
  allow(address: string): boolean {
    let bucket = this.#buckets.get(address);
    if (!bucket) {
      if (this.#buckets.size >= SWEEP_AT) this.#sweep();
      bucket = new TokenBucket(this.#perMinute / 60, this.#perMinute);
      this.#buckets.set(address, bucket);
    }
    // No debt: a flood must not keep the address unrecorded long after it stops.
    if (bucket.waitMs(1) > 0) return false;
    return bucket.take(1);
  }

  #sweep(): void {
    for (const [address, bucket] of this.#buckets) if (bucket.full()) this.#buckets.delete(address);
  }
}
