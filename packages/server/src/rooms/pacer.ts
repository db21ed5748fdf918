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

/**
 * How far a batching interval stretches while changes keep coming: a flush that had to wait for
 * the interval and then carried `busyItems` or more doubles the stretch (up to `max` times the
 * base interval); one that carried a single item halves it again. A room with a few writers or
 * the odd join keeps the short interval, and so does one that gets a single clump (a paste, a
 * burst of joins in one turn); a flooded one sends fewer, bigger frames, and the delay it adds
 * stays bounded.
 */
export class Stretch {
  readonly #max: number;
  readonly #busyItems: number;
  #factor = 1;

  constructor(max: number, busyItems: number) {
    this.#max = max;
    this.#busyItems = busyItems;
  }

  /** The multiple of the base interval the next flush waits for. */
  get factor(): number {
    return this.#factor;
  }

  /** To be called by each flush, with whether it waited for the interval and what it carries. */
  adapt(held: boolean, items: number): void {
    if (held && items >= this.#busyItems) this.#factor = Math.min(this.#factor * 2, this.#max);
    else if (items <= 1) this.#factor = Math.max(this.#factor / 2, 1);
  }
}
