import type { Duplex } from 'node:stream';
import type { WebSocket } from 'ws';
import type { PeerSocket } from '../rooms/peer-socket.js';

/** Sockets that were sent a frame since the current callback began, each corked once. */
const corked: WsSocket[] = [];

function uncorkAll(): void {
  for (const socket of corked) socket.uncork();
  corked.length = 0;
}

/**
 * Adapts a `ws` WebSocket to the PeerSocket the rooms talk to.
 *
 * Frames sent to one socket within one callback leave in one write: the first send corks the
 * underlying stream and a single nextTick uncorks every socket written to. A join (welcome,
 * roster, activity) or a fan-out flush (updates, then awareness) then costs each member one
 * system call, however many frames it carries; on loopback most of a frame's cost is that call.
 */
export class WsSocket implements PeerSocket {
  readonly #ws: WebSocket;
  readonly #stream: Duplex;
  #corked = false;

  /** `stream`: the connection `ws` writes to (the upgraded socket). */
  constructor(ws: WebSocket, stream: Duplex) {
    this.#ws = ws;
    this.#stream = stream;
  }

  get protocol(): string {
    return this.#ws.protocol;
  }

  get bufferedAmount(): number {
    return this.#ws.bufferedAmount;
  }

  send(data: Uint8Array | string): void {
    if (this.#ws.readyState !== this.#ws.OPEN) return;
    this.#cork();
    this.#ws.send(data);
  }

  sendText(utf8: Uint8Array): void {
    if (this.#ws.readyState !== this.#ws.OPEN) return;
    this.#cork();
    this.#ws.send(utf8, { binary: false });
  }

  #cork(): void {
    if (this.#corked) return;
    this.#corked = true;
    this.#stream.cork();
    if (corked.push(this) === 1) process.nextTick(uncorkAll);
  }

  /** Hands what this callback sent to the kernel (called once the callback is done). */
  uncork(): void {
    this.#corked = false;
    this.#stream.uncork();
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
