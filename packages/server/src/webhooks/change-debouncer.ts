import type * as Y from 'yjs';

export interface DebounceTiming {
  /** A room's changes are announced once they have stopped for this long… */
  quietMs: number;
  /** …or once they have gone on this long since the first unannounced one. */
  maxWaitMs: number;
}

export const DEBOUNCE: DebounceTiming = { quietMs: 2_000, maxWaitMs: 10_000 };

interface Burst {
  doc: Y.Doc;
  startedAt: number;
  timer: NodeJS.Timeout;
}

/** Turns a room's stream of changes into one call per burst, trailing, with the document as it is then. */
export class ChangeDebouncer {
  readonly #bursts = new Map<string, Burst>();
  readonly #timing: DebounceTiming;
  readonly #announce: (room: string, doc: Y.Doc) => void;

  constructor(timing: DebounceTiming, announce: (room: string, doc: Y.Doc) => void) {
    this.#timing = timing;
    this.#announce = announce;
  }

  /** Returns true for the first change of a burst. */
  changed(room: string, doc: Y.Doc): boolean {
    const burst = this.#bursts.get(room);
    const now = Date.now();
    if (burst) clearTimeout(burst.timer);
    const startedAt = burst?.startedAt ?? now;
    const delay = Math.max(0, Math.min(this.#timing.quietMs, startedAt + this.#timing.maxWaitMs - now));
    const timer = setTimeout(() => {
      this.#bursts.delete(room);
      this.#announce(room, doc);
    }, delay);
    timer.unref();
    this.#bursts.set(room, { doc, startedAt, timer });
    return burst === undefined;
  }

  /** Forgets a room's pending burst (its document was deleted). */
  forget(room: string): void {
    clearTimeout(this.#bursts.get(room)?.timer);
    this.#bursts.delete(room);
  }

  stop(): void {
    for (const room of [...this.#bursts.keys()]) this.forget(room);
  }
}
