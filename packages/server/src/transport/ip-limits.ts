import { TokenBucket } from './token-bucket.js';

export interface IpLimitOptions {
  maxConnectionsPerIp: number;
  handshakesPerSecondPerIp: number;
}

/** Concurrent connections and handshake rate per client address. */
export class IpLimits {
  readonly #options: IpLimitOptions;
  readonly #connections = new Map<string, number>();
  readonly #handshakes = new Map<string, TokenBucket>();
  readonly #sweeper: NodeJS.Timeout;

  constructor(options: IpLimitOptions) {
    this.#options = options;
    // Forget addresses whose buckets have refilled, so the map cannot grow without bound.
    this.#sweeper = setInterval(() => {
      for (const [ip, bucket] of this.#handshakes) if (bucket.full()) this.#handshakes.delete(ip);
    }, 10_000);
    this.#sweeper.unref();
  }

  /** Counts a handshake; false when the address is over its rate. */
  allowHandshake(ip: string): boolean {
    let bucket = this.#handshakes.get(ip);
    if (!bucket) {
      const rate = this.#options.handshakesPerSecondPerIp;
      bucket = new TokenBucket(rate, rate);
      this.#handshakes.set(ip, bucket);
    }
    return bucket.take(1);
  }

  /** Reserves a connection slot; false when the address has all its connections open. */
  open(ip: string): boolean {
    const count = this.#connections.get(ip) ?? 0;
    if (count >= this.#options.maxConnectionsPerIp) return false;
    this.#connections.set(ip, count + 1);
    return true;
  }

  release(ip: string): void {
    const count = (this.#connections.get(ip) ?? 1) - 1;
    if (count <= 0) this.#connections.delete(ip);
    else this.#connections.set(ip, count);
  }

  stop(): void {
    clearInterval(this.#sweeper);
  }
}
