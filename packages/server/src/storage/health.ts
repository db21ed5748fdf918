import type { Logger } from 'pino';

export type StorageHealth = { ok: true } | { ok: false; since: number; error: string };

/**
 * Whether writes to a store succeed, and how many failed in a row (for backoff). A change of
 * health is logged once and reported to `onChange`; the failures themselves are the caller's to log.
 */
export class HealthTracker {
  readonly #what: string;
  readonly #log: Logger;
  readonly #onChange: (health: StorageHealth) => void;
  #health: StorageHealth = { ok: true };
  #failures = 0;

  /** `what`: how the log lines name the store ("storage", "appending to Redis"). */
  constructor(what: string, log: Logger, onChange: (health: StorageHealth) => void) {
    this.#what = what;
    this.#log = log;
    this.#onChange = onChange;
  }

  get health(): StorageHealth {
    return this.#health;
  }

  /** Failures since the last success. */
  get failures(): number {
    return this.#failures;
  }

  failed(error: string): void {
    this.#failures++;
    if (!this.#health.ok) return;
    this.#health = { ok: false, since: Date.now(), error };
    this.#onChange(this.#health);
  }

  succeeded(): void {
    this.#failures = 0;
    if (this.#health.ok) return;
    this.#log.info({ failedForMs: Date.now() - this.#health.since }, `${this.#what} works again`);
    this.#health = { ok: true };
    this.#onChange(this.#health);
  }
}
