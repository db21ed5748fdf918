import { FATAL_CLOSE_CODES, YMessageType } from '@tandem/protocol';
import type { PeerSocket } from '../rooms/peer-socket.js';
import { encodeClose, withKey } from './hocuspocus-wire.js';

/** The WebSocket a document channel shares with the provider's other documents. */
export interface ChannelHost {
  readonly bufferedAmount: number;
  /** Sends a message the room's connection has counted already. */
  write(message: Uint8Array): void;
  /** Sends (and counts) a message of the Hocuspocus protocol itself. */
  send(message: Uint8Array): void;
  close(code: number, reason: string): void;
  terminate(): void;
}

/**
 * One document of a Hocuspocus WebSocket, as its room sees it: a plain Yjs connection. What the
 * room sends goes out behind the channel's key. Its y-protocols "permission denied" (a refused
 * update) is kept for the SyncStatus answer instead: to a Hocuspocus provider that auth message
 * would mean "send your token". A close ends only this document when the client should not come
 * back (FATAL_CLOSE_CODES); any other closes the WebSocket, so the provider reconnects and
 * resyncs, as the room asks of a client it closes.
 */
export class ChannelSocket implements PeerSocket {
  readonly protocol = '';
  readonly #key: Uint8Array;
  readonly #host: ChannelHost;
  readonly #onEnded: () => void;
  /** What the room sent before the channel was announced: its Authenticated message goes first. */
  #outbox: Uint8Array[] | null = [];
  #refused = false;

  constructor(key: Uint8Array, host: ChannelHost, onEnded: () => void) {
    this.#key = key;
    this.#host = host;
    this.#onEnded = onEnded;
  }

  get bufferedAmount(): number {
    return this.#host.bufferedAmount;
  }

  send(data: Uint8Array | string): void {
    // Strings are control messages, which a plain Yjs connection is never sent.
    if (typeof data === 'string') return;
    if (data[0] === YMessageType.auth) {
      this.#refused = true;
      return;
    }
    const message = withKey(this.#key, data);
    if (this.#outbox) this.#outbox.push(message);
    else this.#host.write(message);
  }

  /** Never called: text frames go to control connections only. */
  sendText(): void {}

  /** Sends `authenticated`, then what the room sent meanwhile; from now on frames go out at once. */
  announce(authenticated: Uint8Array): void {
    this.#host.send(authenticated);
    for (const message of this.#outbox ?? []) this.#host.write(message);
    this.#outbox = null;
  }

  /** Whether the room refused an update since the last call. */
  takeRefusal(): boolean {
    const refused = this.#refused;
    this.#refused = false;
    return refused;
  }

  close(code: number, reason: string): void {
    if (!FATAL_CLOSE_CODES.has(code)) return this.#host.close(code, reason);
    this.#host.send(encodeClose(this.#key, reason));
    this.#onEnded();
  }

  terminate(): void {
    this.#host.terminate();
  }

  // The WebSocket's throttle pauses reading for all its documents at once, never for one.
  pause(): void {}
  resume(): void {}
}
