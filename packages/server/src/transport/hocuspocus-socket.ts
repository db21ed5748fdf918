import { CloseCode, MalformedMessageError } from '@tandem/protocol';
import type { Logger } from 'pino';
import type { Config } from '../config.js';
import type { LogLimiter } from '../lib/log-limiter.js';
import { Traffic } from '../lib/traffic.js';
import type { PeerSocket } from '../rooms/peer-socket.js';
import { HocuspocusChannel, type ChannelOwner, type ChannelServices } from './hocuspocus-channel.js';
import { parseFrame } from './hocuspocus-wire.js';
import { Throttle, type ThrottleOptions } from './throttle.js';
import type { WsSocket } from './ws-socket.js';

/** Documents one WebSocket may have open or waiting at once. */
const MAX_DOCUMENTS = 100;
/** Frames one WebSocket may have held for documents not open yet (their bytes are bounded by MAX_PENDING_BYTES). */
const MAX_HELD_FRAMES = 1_000;

export interface SocketServices extends ChannelServices {
  log: Logger;
  logLimiter: LogLimiter;
  config: Pick<Config, 'maxBufferedBytes' | 'maxConnectionsPerRoom' | 'maxPendingBytes' | 'handshakeTimeoutMs'>;
  throttle: ThrottleOptions;
}

/**
 * A Hocuspocus provider's WebSocket: it carries any number of documents, each a channel named by
 * the key every message starts with. The rate limit, the bound on what is held before
 * authentication and the protocol errors (1003, 1007) apply to the WebSocket as a whole.
 */
export class HocuspocusSocket implements ChannelOwner {
  readonly socket: PeerSocket;
  readonly traffic: Traffic;
  readonly address: string;
  readonly handshakeToken: string | null;
  readonly #peer: WsSocket;
  readonly #services: SocketServices;
  readonly #throttle: Throttle;
  readonly #channels = new Map<string, HocuspocusChannel>();
  #heldFrames = 0;
  #heldBytes = 0;
  #closed = false;
  /** Closes a WebSocket that has not opened a document by then: its handshake checked no token. */
  #authDeadline: NodeJS.Timeout | null = null;

  constructor(peer: WsSocket, services: SocketServices, address: string, handshakeToken: string | null) {
    this.socket = this.#peer = peer;
    this.#services = services;
    this.traffic = services.traffic;
    this.address = address;
    this.handshakeToken = handshakeToken;
    this.#throttle = new Throttle(this, services.throttle, (data, isBinary) => this.#receive(data, isBinary));
  }

  /** Reads frames until the WebSocket closes; then every document leaves its room and `onClosed` runs. */
  listen(onClosed: () => void): void {
    const { handshakeTimeoutMs } = this.#services.config;
    this.#authDeadline = setTimeout(() => {
      if (![...this.#channels.values()].some((channel) => channel.open)) {
        this.close(CloseCode.policyViolation, `no document authenticated within ${handshakeTimeoutMs} ms`);
      }
    }, handshakeTimeoutMs * 2);
    this.#peer.listen(
      (data, isBinary) => {
        this.traffic.received(isBinary, data.byteLength);
        this.#throttle.push(data, isBinary);
      },
      () => {
        this.#closed = true;
        if (this.#authDeadline) clearTimeout(this.#authDeadline);
        this.#throttle.stop();
        for (const channel of [...this.#channels.values()]) channel.end();
        onClosed();
      },
      (error) => this.#services.log.debug({ err: error, address: this.address }, 'socket error'),
    );
  }

  get closed(): boolean {
    return this.#closed;
  }

  get bufferedAmount(): number {
    return this.#peer.bufferedAmount;
  }

  /** The throttle's `rate_limited` warning: Hocuspocus has no message for it. */
  sendJson(): void {}

  write(message: Uint8Array): void {
    this.#peer.send(message);
  }

  send(message: Uint8Array): void {
    if (this.#closed) return;
    this.traffic.yjsFramesOut++;
    this.traffic.yjsBytesOut += message.byteLength;
    this.#peer.send(message);
  }

  close(code: number, reason: string): void {
    if (this.#closed) return;
    this.#closed = true;
    Traffic.bump(this.traffic.closes, code);
    this.#peer.close(code, reason);
  }

  terminate(): void {
    this.#closed = true;
    this.#peer.terminate();
  }

  guard(what: string, work: Promise<void>): void {
    work.catch((error: unknown) => this.#fail(what, error));
  }

  hold(bytes: number): boolean {
    this.#heldFrames++;
    this.#heldBytes += bytes;
    if (this.#heldFrames <= MAX_HELD_FRAMES && this.#heldBytes <= this.#services.config.maxPendingBytes) return true;
    this.close(CloseCode.policyViolation, 'too much sent for documents not authenticated yet');
    return false;
  }

  release(frames: number, bytes: number): void {
    this.#heldFrames -= frames;
    this.#heldBytes -= bytes;
  }

  ended(channel: HocuspocusChannel): void {
    if (this.#channels.get(channel.key) === channel) this.#channels.delete(channel.key);
  }

  #receive(data: Uint8Array, isBinary: boolean): void {
    try {
      this.#route(data, isBinary);
    } catch (error) {
      this.#fail('handling a frame', error);
    }
  }

  #route(data: Uint8Array, isBinary: boolean): void {
    if (!isBinary) return this.close(CloseCode.unsupportedData, 'text frames are not part of the Hocuspocus protocol');
    const frame = parseFrame(data);
    let channel = this.#channels.get(frame.key);
    if (!channel) {
      if (this.#channels.size >= MAX_DOCUMENTS)
        return this.close(CloseCode.policyViolation, `more than ${MAX_DOCUMENTS} documents on one connection`);
      channel = new HocuspocusChannel(frame.key, this, this.#services);
      this.#channels.set(frame.key, channel);
    }
    channel.receive(frame);
  }

  /** The error boundary of the WebSocket's work: a malformed message closes it with 1007, a bug with 1011. */
  #fail(what: string, error: unknown): void {
    if (error instanceof MalformedMessageError) {
      const fields = { address: this.address, reason: error.message };
      this.#services.logLimiter.log('info', `malformed:${this.address}`, fields, 'malformed Hocuspocus frame');
      return this.close(CloseCode.invalidPayload, error.message.slice(0, 120));
    }
    this.#services.log.error({ err: error, address: this.address }, `${what} failed; closing the Hocuspocus connection`);
    this.close(CloseCode.internalError, 'internal error');
  }
}
