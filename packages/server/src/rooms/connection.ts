import { randomBytes } from 'node:crypto';
import { CloseCode, errorMessage, type Member, type Rights, type ServerMessage } from '@tandem/protocol';
import type { Identity } from '../auth/authenticator.js';
import type { PeerSocket } from './peer-socket.js';

/** How long before a token expires the client is asked for a fresh one. */
const EXPIRY_WARNING_MS = 60_000;
/** setTimeout fires at once for delays past 2^31 - 1 ms (about 24.8 days). */
const MAX_TIMER_MS = 2 ** 31 - 1;
const NONE: readonly number[] = Object.freeze([]);

/** One client connection inside a room. */
export class Connection {
  readonly id = randomBytes(9).toString('base64url');
  readonly socket: PeerSocket;
  /** The client's address, as the per-address limits count it. */
  readonly address: string;
  /** False when this member's join was not recorded in the activity history (over the address's rate): nor is its leave. */
  joinRecorded = true;
  /** True when the client negotiated the control channel (tandem.v1). */
  readonly control: boolean;
  identity: Identity;
  rights: Rights;
  member: Member | null = null;
  /** Sent its `welcome`: from then on it gets the room's broadcasts. */
  welcomed = false;
  typing = false;
  /**
   * Awareness client ids this connection has announced, removed when it leaves: almost always
   * one, so a one-element array (or null) rather than a Set, which costs ten times the memory.
   */
  #awarenessClients: number[] | null = null;
  /** Frames that arrived while the room was still loading, in order, and their size. */
  pending: Array<{ data: Uint8Array; isBinary: boolean }> | null = [];
  pendingBytes = 0;
  closed = false;
  #expiryTimers: NodeJS.Timeout[] | null = null;

  readonly #maxBufferedBytes: number;

  constructor(socket: PeerSocket, address: string, identity: Identity, rights: Rights, maxBufferedBytes: number) {
    this.socket = socket;
    this.address = address;
    this.#maxBufferedBytes = maxBufferedBytes;
    this.control = socket.protocol !== '';
    this.identity = identity;
    this.rights = rights;
    this.#armExpiry();
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

  send(data: Uint8Array | string): void {
    if (this.#writable()) this.socket.send(data);
  }

  sendJson(message: ServerMessage): void {
    if (this.control) this.send(JSON.stringify(message));
  }

  /** A control message serialized and UTF-8 encoded once for a whole broadcast. */
  sendEncodedJson(utf8: Uint8Array): void {
    if (this.control && this.#writable()) this.socket.sendText(utf8);
  }

  #writable(): boolean {
    if (this.closed) return false;
    // A client that stops reading would make the server hold everything sent to it. It is
    // dropped instead (it would not read a close frame either); on reconnect the sync exchange
    // brings it up to date.
    if (this.socket.bufferedAmount > this.#maxBufferedBytes) {
      this.closed = true;
      this.dispose();
      this.socket.terminate();
      return false;
    }
    return true;
  }

  close(code: number, reason: string): void {
    if (this.closed) return;
    this.closed = true;
    this.dispose();
    this.socket.close(code, reason);
  }

  /** Takes a fresh identity (re-authentication) and restarts the expiry clock. */
  renew(identity: Identity, rights: Rights): void {
    this.identity = identity;
    this.rights = rights;
    this.#armExpiry();
  }

  dispose(): void {
    if (this.#expiryTimers) for (const timer of this.#expiryTimers) clearTimeout(timer);
    this.#expiryTimers = null;
  }

  /** Warns a minute before the token expires, and closes with 1008 when it does. */
  #armExpiry(): void {
    this.dispose();
    const expiresAt = this.identity.expiresAt;
    if (expiresAt === null) return;
    const left = expiresAt - Date.now();
    if (left - EXPIRY_WARNING_MS > MAX_TIMER_MS) {
      this.#expiryTimers = [setTimeout(() => this.#armExpiry(), MAX_TIMER_MS)];
      return;
    }
    this.#expiryTimers = [
      setTimeout(
        () => {
          this.sendJson(
            errorMessage('token_expiring', `The token expires at ${new Date(expiresAt).toISOString()}; send "auth" with a fresh one.`),
          );
        },
        Math.max(0, left - EXPIRY_WARNING_MS),
      ),
      setTimeout(
        () => {
          this.sendJson(errorMessage('token_expired', 'The token expired; reconnect with a fresh one.'));
          this.close(CloseCode.policyViolation, 'token expired');
        },
        Math.max(0, left),
      ),
    ];
  }
}
