import type { WebSocket } from 'ws';
import type { PeerSocket } from './socket.js';

/** Adapts a `ws` WebSocket to the PeerSocket the rooms talk to. */
export class WsSocket implements PeerSocket {
  readonly #ws: WebSocket;

  constructor(ws: WebSocket) {
    this.#ws = ws;
  }

  get protocol(): string {
    return this.#ws.protocol;
  }

  get bufferedAmount(): number {
    return this.#ws.bufferedAmount;
  }

  send(data: Uint8Array | string): void {
    if (this.#ws.readyState === this.#ws.OPEN) this.#ws.send(data);
  }

  sendText(utf8: Uint8Array): void {
    if (this.#ws.readyState === this.#ws.OPEN) this.#ws.send(utf8, { binary: false });
  }

  close(code: number, reason: string): void {
    // A socket paused by the rate limit would never read the client's close reply.
    this.#ws.resume();
    this.#ws.close(code, reason);
  }

  terminate(): void {
    this.#ws.terminate();
  }
}
