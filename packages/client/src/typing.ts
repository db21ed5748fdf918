import type { Member } from '@tandem/protocol';

/** A remote "typing" without a refresh expires after this long. */
const TYPING_EXPIRY_MS = 6_000;
/** While typing, "on" is re-sent this often so others do not expire it. */
const TYPING_REFRESH_MS = 3_000;
/** Local typing turns itself off after this long without a keystroke. */
const TYPING_IDLE_MS = 4_000;

export interface TypingHandlers {
  /** Tell the server this member's typing state (while joined). */
  send(on: boolean): void;
  /** The set of others typing changed. */
  changed(typing: Member[]): void;
}

/**
 * Typing indicators both ways: this member's (sent on change, refreshed while typing, off after
 * a pause) and the others' (each expires unless refreshed, so a lost "off" cannot stick).
 */
export class Typing {
  readonly #handlers: TypingHandlers;
  readonly #others = new Map<string, { member: Member; expires: number }>();
  #expiry: ReturnType<typeof setTimeout> | null = null;
  #on = false;
  #sentAt = 0;
  #idle: ReturnType<typeof setTimeout> | null = null;

  constructor(handlers: TypingHandlers) {
    this.#handlers = handlers;
  }

  /** Whether this member is typing. */
  get on(): boolean {
    return this.#on;
  }

  /** The others typing now. */
  get others(): Member[] {
    return [...this.#others.values()].map((t) => t.member);
  }

  /** Call on every keystroke with true, and with false when the input is cleared or sent. */
  set(on: boolean): void {
    if (this.#idle) clearTimeout(this.#idle);
    this.#idle = null;
    if (on) this.#idle = setTimeout(() => this.set(false), TYPING_IDLE_MS);
    const now = Date.now();
    if (on === this.#on && !(on && now - this.#sentAt > TYPING_REFRESH_MS)) return;
    this.#on = on;
    this.#sentAt = now;
    this.#handlers.send(on);
  }

  /** Another member started or stopped typing. */
  remote(member: Member, on: boolean): void {
    if (on) this.#others.set(member.id, { member, expires: Date.now() + TYPING_EXPIRY_MS });
    else this.#others.delete(member.id);
    this.#scheduleExpiry();
    this.#handlers.changed(this.others);
  }

  /** A member left. */
  remove(id: string): void {
    this.#others.delete(id);
  }

  /** The connection dropped: who is typing is unknown until the next welcome. */
  clear(): void {
    this.#others.clear();
  }

  dispose(): void {
    for (const timer of [this.#expiry, this.#idle]) if (timer) clearTimeout(timer);
    this.#expiry = this.#idle = null;
  }

  #scheduleExpiry(): void {
    if (this.#expiry) clearTimeout(this.#expiry);
    this.#expiry = null;
    if (this.#others.size === 0) return;
    const next = Math.min(...[...this.#others.values()].map((t) => t.expires));
    this.#expiry = setTimeout(
      () => {
        const now = Date.now();
        for (const [id, t] of this.#others) if (t.expires <= now) this.#others.delete(id);
        this.#scheduleExpiry();
        this.#handlers.changed(this.others);
      },
      Math.max(0, next - Date.now()),
    );
  }
}
