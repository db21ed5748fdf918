import type { Rights } from '@tandem/protocol';
import type { Identity } from './authenticator.js';
import { rightFor } from './rights.js';

/** How long before a token expires the client is asked for a fresh one. */
const EXPIRY_WARNING_MS = 60_000;
const RANK: Record<Rights, number> = { read: 0, comment: 1, write: 2 };
/** setTimeout fires at once for delays past 2^31 - 1 ms (about 24.8 days). */
const MAX_TIMER_MS = 2 ** 31 - 1;

export interface SessionEvents {
  /** The token expires within a minute. */
  expiring(expiresAt: number): void;
  /** The token expired without a fresh one. */
  expired(): void;
}

/**
 * Who is on a connection and what they may do in its room: set at the handshake, renewed with a
 * fresh token for the same user (rights recomputed), ended when the token expires.
 */
export class Session {
  readonly room: string;
  readonly #events: SessionEvents;
  #identity: Identity;
  #rights: Rights;
  /** A cap on the token's rights from the document itself (read-only: `comment`). */
  #cap: Rights | null = null;
  #timers: NodeJS.Timeout[] | null = null;

  constructor(room: string, identity: Identity, rights: Rights, events: SessionEvents) {
    this.room = room;
    this.#identity = identity;
    this.#rights = rights;
    this.#events = events;
    this.#arm();
  }

  get identity(): Identity {
    return this.#identity;
  }

  /** What the member may do: the token's rights, capped by the document's. */
  get rights(): Rights {
    return this.#cap !== null && RANK[this.#cap] < RANK[this.#rights] ? this.#cap : this.#rights;
  }

  /** Caps the rights whatever the token grants (null: no cap). Returns whether `rights` changed. */
  cap(cap: Rights | null): boolean {
    const before = this.rights;
    this.#cap = cap;
    return this.rights !== before;
  }

  /**
   * Takes a fresh identity: the same user, with rights for this room recomputed and the expiry
   * clock restarted. Returns the new rights (capped), or null (and changes nothing) when the identity is
   * another user's or gives no rights here.
   */
  renew(identity: Identity): Rights | null {
    const rights = rightFor(identity.grants, this.room);
    if (identity.userId !== this.#identity.userId || rights === null) return null;
    this.#identity = identity;
    this.#rights = rights;
    this.#arm();
    return this.rights;
  }

  /** Stops the expiry clock (the connection closed). */
  end(): void {
    if (this.#timers) for (const timer of this.#timers) clearTimeout(timer);
    this.#timers = null;
  }

  /** Warns a minute before the token expires, and ends the session when it does. */
  #arm(): void {
    this.end();
    const expiresAt = this.#identity.expiresAt;
    if (expiresAt === null) return;
    const left = expiresAt - Date.now();
    if (left - EXPIRY_WARNING_MS > MAX_TIMER_MS) {
      this.#timers = [setTimeout(() => this.#arm(), MAX_TIMER_MS)];
      return;
    }
    this.#timers = [
      setTimeout(() => this.#events.expiring(expiresAt), Math.max(0, left - EXPIRY_WARNING_MS)),
      setTimeout(() => this.#events.expired(), Math.max(0, left)),
    ];
  }
}
