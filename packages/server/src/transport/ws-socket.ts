import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { CloseCode, SUBPROTOCOL } from '@tandem/protocol';
import { WebSocketServer, type WebSocket } from 'ws';
import type { PeerSocket } from '../rooms/peer-socket.js';

/** The one file that knows `ws`: the WebSocket server, its heartbeat, and each socket as a PeerSocket. */

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

  pause(): void {
    this.#ws.pause();
  }

  resume(): void {
    this.#ws.resume();
  }

  /** Calls `onFrame` for every frame received, `onClose` once the socket has closed. */
  listen(onFrame: (data: Uint8Array, isBinary: boolean) => void, onClose: () => void, onError: (error: Error) => void): void {
    this.#ws.on('message', onFrame);
    this.#ws.on('close', onClose);
    this.#ws.on('error', onError);
  }
}

export interface WsEndpointOptions {
  maxPayloadBytes: number;
  compression: boolean;
  compressionThreshold: number;
  pingIntervalMs: number;
  /** A socket that did not answer a ping was dropped. */
  onHeartbeatTimeout?: () => void;
}

/**
 * The WebSocket server (no HTTP server of its own: upgrades are handed to it after the
 * gateway's checks). It pings every socket each interval and terminates one that has not
 * answered the previous ping by the next, which closes it in its room like any departure.
 */
export class WsEndpoint {
  readonly #wss: WebSocketServer;
  readonly #answered = new WeakSet<WebSocket>();
  readonly #heartbeat: NodeJS.Timeout;
  readonly #onTimeout: () => void;
  /** One listener shared by every socket (`this` is the socket that answered). */
  readonly #onPong: (this: WebSocket) => void;

  constructor(options: WsEndpointOptions) {
    this.#wss = new WebSocketServer({
      noServer: true,
      maxPayload: options.maxPayloadBytes,
      perMessageDeflate: options.compression ? { threshold: options.compressionThreshold } : false,
      handleProtocols: (offered) => (offered.has(SUBPROTOCOL) ? SUBPROTOCOL : false),
    });
    const answered = this.#answered;
    this.#onPong = function (this: WebSocket) {
      answered.add(this);
    };
    this.#onTimeout = options.onHeartbeatTimeout ?? (() => {});
    this.#heartbeat = setInterval(() => this.#beat(), options.pingIntervalMs);
    this.#heartbeat.unref();
  }

  /** Open WebSockets. */
  get size(): number {
    return this.#wss.clients.size;
  }

  /** Completes an upgrade the gateway accepted; `accepted` gets the socket once it is open. */
  upgrade(req: IncomingMessage, socket: Duplex, head: Buffer, accepted: (peer: WsSocket) => void): void {
    this.#wss.handleUpgrade(req, socket, head, (ws) => {
      this.#answered.add(ws);
      ws.on('pong', this.#onPong);
      accepted(new WsSocket(ws, socket));
    });
  }

  #beat(): void {
    for (const ws of this.#wss.clients) {
      if (!this.#answered.has(ws)) {
        this.#onTimeout();
        ws.terminate();
        continue;
      }
      this.#answered.delete(ws);
      ws.ping();
    }
  }

  /** Closes every socket with 1001 and waits for them to go, terminating those that do not answer within `graceMs`. */
  async close(graceMs: number): Promise<void> {
    clearInterval(this.#heartbeat);
    const sockets = [...this.#wss.clients];
    const closed = sockets.map(
      (ws) =>
        new Promise<void>((resolve) => {
          if (ws.readyState === ws.CLOSED) return resolve();
          ws.once('close', () => resolve());
        }),
    );
    for (const ws of sockets) ws.close(CloseCode.goingAway, 'server shutting down');
    const deadline = setTimeout(() => {
      for (const ws of sockets) ws.terminate();
    }, graceMs);
    await Promise.all(closed);
    clearTimeout(deadline);
    await new Promise<void>((resolve) => this.#wss.close(() => resolve()));
  }
}
