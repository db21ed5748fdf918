import { TokenBucket } from '../lib/token-bucket.js';

export interface IpLimitOptions {
  maxConnectionsPerIp: number;
  handshakesPerSecondPerIp: number;
}

/** Concurrent connections (handshakes under way and WebSockets) and handshake rate per client address. */
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

  /** Counts an open socket of the address (a handshake under way, or a WebSocket). */
  open(ip: string): void {
    this.#connections.set(ip, (this.#connections.get(ip) ?? 0) + 1);
  }

  /** Whether the address has more sockets open than it may (the one asking included). */
  overLimit(ip: string): boolean {
    return (this.#connections.get(ip) ?? 0) > this.#options.maxConnectionsPerIp;
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
