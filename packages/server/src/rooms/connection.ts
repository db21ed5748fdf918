import { randomBytes } from 'node:crypto';
import { CloseCode, errorMessage, type Rights, type ServerMessage } from '@tandem/protocol';
import type { Identity } from '../auth/authenticator.js';
import { Session } from '../auth/session.js';
import { Traffic } from '../lib/traffic.js';
import type { PeerSocket } from './peer-socket.js';
import { SaveReceipts } from './save-receipts.js';

const NONE: readonly number[] = Object.freeze([]);
/** Frames a connection may have held at once (their bytes are bounded by config too). */
const MAX_HELD_FRAMES = 1_000;

export interface Frame {
  data: Uint8Array;
  isBinary: boolean;
}

export interface ConnectionOptions {
  socket: PeerSocket;
  /** The client's address, as the per-address limits count it. */
  address: string;
  room: string;
  identity: Identity;
  rights: Rights;
  /** Bytes queued for a client that does not read before it is dropped. */
  maxBufferedBytes: number;
  /** The server's traffic counters (see lib/traffic.ts). */
  traffic?: Traffic;
}

/**
 * One client connection inside a room: its socket, its session (identity, rights, token
 * expiry), the awareness clients it announced, and the frames held while it must wait.
 */
export class Connection {
  readonly id = randomBytes(9).toString('base64url');
  readonly socket: PeerSocket;
  readonly address: string;
  readonly room: string;
  readonly session: Session;
  /** True when the client negotiated the control channel (tandem.v1). */
  readonly control: boolean;
  readonly #maxBufferedBytes: number;
  readonly traffic: Traffic;
  /** Which of its document updates are stored (control connections only: plain Yjs has no `saved`). */
  readonly receipts: SaveReceipts | null;
  /**
   * Awareness client ids this connection has announced, removed when it leaves: almost always
   * one, so a one-element array (or null) rather than a Set, which costs ten times the memory.
   */
  #awarenessClients: number[] | null = null;
  /** Frames held while the room loads or the welcome waits, in order (null: none held). Held from the start. */
  #held: Frame[] | null = [];
  #heldBytes = 0;
  #closed = false;

  constructor({ socket, address, room, identity, rights, maxBufferedBytes, traffic }: ConnectionOptions) {
    this.socket = socket;
    this.room = room;
    this.traffic = traffic ?? new Traffic();
    this.address = address;
    this.#maxBufferedBytes = maxBufferedBytes;
    this.control = socket.protocol !== '';
    this.receipts = this.control ? new SaveReceipts() : null;
    this.session = new Session(room, identity, rights, {
      expiring: (expiresAt) =>
        this.sendJson(
          errorMessage('token_expiring', `The token expires at ${new Date(expiresAt).toISOString()}; send "auth" with a fresh one.`),
        ),
      expired: () => {
        this.sendJson(errorMessage('token_expired', 'The token expired; reconnect with a fresh one.'));
        this.close(CloseCode.policyViolation, 'token expired');
      },
    });
  }

  /** What every log line about this connection carries. */
  get logFields(): { conn: string; address: string; room: string } {
    return { conn: this.id, address: this.address, room: this.room };
  }

  get identity(): Identity {
    return this.session.identity;
  }

  get rights(): Rights {
    return this.session.rights;
  }

  /** Closed by either side: nothing more is sent or handled. */
  get closed(): boolean {
    return this.#closed;
  }

  get awarenessClients(): readonly number[] {
    return this.#awarenessClients ?? NONE;
  }

  /** Records the awareness clients a message from this connection added, updated or removed. */
  trackAwareness(change: { added: number[]; updated: number[]; removed: number[] }): void {
    for (const id of change.added) this.#announce(id);
    for (const id of change.updated) this.#announce(id);
    if (change.removed.length > 0 && this.#awarenessClients) {
      this.#awarenessClients = this.#awarenessClients.filter((id) => !change.removed.includes(id));
    }
  }

  #announce(id: number): void {
    if (!this.#awarenessClients) this.#awarenessClients = [id];
    else if (!this.#awarenessClients.includes(id)) this.#awarenessClients.push(id);
  }

  /** Whether frames are being held (see `hold`). */
  get holding(): boolean {
    return this.#held !== null;
  }

  /** From now on frames are held until `release`. */
  hold(): void {
    this.#held ??= [];
  }

  /** Holds a frame; false (holding nothing) when that would pass the frame or `maxBytes` limit. */
  holdFrame(frame: Frame, maxBytes: number): boolean {
    const held = (this.#held ??= []);
    this.#heldBytes += frame.data.byteLength;
    if (held.length >= MAX_HELD_FRAMES || this.#heldBytes > maxBytes) return false;
    held.push(frame);
    return true;
  }

  /** Stops holding and returns the held frames, oldest first. */
  release(): Frame[] {
    const frames = this.#held ?? [];
    this.#held = null;
    this.#heldBytes = 0;
    return frames;
  }

  send(data: Uint8Array | string): void {
    if (!this.#writable()) return;
    this.socket.send(data);
    if (typeof data === 'string') {
      this.traffic.controlFramesOut++;
      this.traffic.controlBytesOut += data.length;
    } else {
      this.traffic.yjsFramesOut++;
      this.traffic.yjsBytesOut += data.byteLength;
    }
  }

  /** Tells the client which of its document updates are stored, if that moved on. */
  confirmSaved(): void {
    const through = this.receipts?.confirm();
    if (through != null) this.sendJson({ type: 'saved', through });
  }

  sendJson(message: ServerMessage): void {
    if (!this.control) return;
    if (message.type === 'error') Traffic.bump(this.traffic.errors, message.code);
    this.send(JSON.stringify(message));
  }

  /** A control message serialized and UTF-8 encoded once for a whole broadcast. */
  sendEncodedJson(utf8: Uint8Array): void {
    if (!this.control || !this.#writable()) return;
    this.socket.sendText(utf8);
    this.traffic.controlFramesOut++;
    this.traffic.controlBytesOut += utf8.byteLength;
  }

  #writable(): boolean {
    if (this.#closed) return false;
    // A client that stops reading would make the server hold everything sent to it. It is
    // dropped instead (it would not read a close frame either); on reconnect the sync exchange
    // brings it up to date.
    if (this.socket.bufferedAmount > this.#maxBufferedBytes) {
      this.#end();
      Traffic.bump(this.traffic.closes, 1006);
      this.socket.terminate();
      return false;
    }
    return true;
  }

  close(code: number, reason: string): void {
    if (this.#closed) return;
    this.#end();
    Traffic.bump(this.traffic.closes, code);
    this.socket.close(code, reason);
  }

  /** The socket closed: stop everything this connection runs. */
  detach(): void {
    this.#end();
  }

  #end(): void {
    this.#closed = true;
    this.session.end();
  }
}
