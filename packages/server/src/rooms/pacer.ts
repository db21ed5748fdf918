/**
 * Paces a batching flush: the first change after a quiet spell is flushed at the end of the
 * event-loop turn (`setImmediate`, once the current batch of socket reads is handled), and
 * changes arriving within `intervalMs` of a flush wait for that interval's end. A lone change
 * waits for nothing; a stream of them goes out at most once per interval.
 */
export class Pacer {
  readonly #flush: () => void;
  #immediate: NodeJS.Immediate | null = null;
  #timer: NodeJS.Timeout | null = null;
  /** performance.now() before which the next flush waits. */
  #nextAt = 0;

  constructor(flush: () => void) {
    this.#flush = flush;
  }

  /** Whether the pending flush is held back by the interval (changes come that often). */
  get held(): boolean {
    return this.#timer !== null;
  }

  /** Makes sure a flush is pending. */
  schedule(): void {
    if (this.#immediate || this.#timer) return;
    const wait = this.#nextAt - performance.now();
    if (wait > 0) this.#timer = setTimeout(this.#flush, wait);
    else this.#immediate = setImmediate(this.#flush);
  }

  /** To be called by each flush: drops the pending one, and holds the next for `intervalMs`. */
  flushed(intervalMs: number): void {
    this.cancel();
    this.#nextAt = performance.now() + intervalMs;
  }

  cancel(): void {
    if (this.#immediate) clearImmediate(this.#immediate);
    if (this.#timer) clearTimeout(this.#timer);
    this.#immediate = this.#timer = null;
  }
}
