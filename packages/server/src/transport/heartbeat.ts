import type { WebSocket } from 'ws';

/**
 * Pings every socket each interval; a socket that has not answered the previous ping by the next
 * one is terminated, which closes it in its room like any other departure.
 */
export class Heartbeat {
  readonly #answered = new WeakSet<WebSocket>();
  readonly #sockets: Set<WebSocket>;
  readonly #timer: NodeJS.Timeout;
  /** One listener shared by every socket (`this` is the socket that answered). */
  readonly #onPong: (this: WebSocket) => void;

  constructor(sockets: Set<WebSocket>, intervalMs: number) {
    this.#sockets = sockets;
    const answered = this.#answered;
    this.#onPong = function (this: WebSocket) {
      answered.add(this);
    };
    this.#timer = setInterval(() => this.#beat(), intervalMs);
    this.#timer.unref();
  }

  track(ws: WebSocket): void {
    this.#answered.add(ws);
    ws.on('pong', this.#onPong);
  }

  #beat(): void {
    for (const ws of this.#sockets) {
      if (!this.#answered.has(ws)) {
        ws.terminate();
        continue;
      }
      this.#answered.delete(ws);
      ws.ping();
    }
  }

  stop(): void {
    clearInterval(this.#timer);
  }
}
