/**
 * Whether this handle holds local document changes the server has not confirmed durable, from
 * the server's `saved` receipts. The update-carrying frames sent on a socket are numbered from 1
 * (as the server numbers them); a change sent as frame k is saved once `saved.through >= k`. A
 * change made with no open socket, or sent on one lost before it was confirmed, waits for the
 * step 2 of the next socket's sync, which carries everything the server lacks.
 */
export class SaveTracker {
  readonly #changed: (unsaved: boolean) => void;
  #framesSent = 0;
  #savedThrough = 0;
  /** The newest frame on this socket that carried local changes. */
  #awaitedFrame = 0;
  /** Local changes wait for a socket. */
  #unsent = false;
  #unsaved = false;

  /** `changed`: called when `unsaved` flips. */
  constructor(changed: (unsaved: boolean) => void) {
    this.#changed = changed;
  }

  get unsaved(): boolean {
    return this.#unsaved;
  }

  /** A socket opened: frame numbers start again. */
  opened(): void {
    this.#framesSent = this.#savedThrough = 0;
  }

  /** The socket was lost: what it did not confirm waits for the next one. */
  lost(): void {
    if (this.#awaitedFrame > this.#savedThrough) this.#unsent = true;
    this.#awaitedFrame = 0;
  }

  /** A frame carrying a document update was sent (true) or could not be (false); returns its number (0: not sent). */
  sent(wasSent: boolean): number {
    return wasSent ? ++this.#framesSent : 0;
  }

  /** A local change went out as frame `frame` (0: there was no open socket). */
  localChange(frame: number): void {
    if (frame > 0) this.#awaitedFrame = frame;
    else this.#unsent = true;
    this.#update();
  }

  /** The reply to the server's sync step 1 went out as frame `frame`: it carries whatever waited for a socket. */
  syncReply(frame: number): void {
    if (frame === 0 || !this.#unsent) return;
    this.#unsent = false;
    this.#awaitedFrame = frame;
  }

  saved(through: number): void {
    this.#savedThrough = Math.max(this.#savedThrough, through);
    this.#update();
  }

  /** Without edit rights nothing is sent, so changes waiting for a socket will never be saved: they are not pending. */
  cannotEdit(): void {
    this.#unsent = false;
    this.#update();
  }

  #update(): void {
    const unsaved = this.#unsent || this.#awaitedFrame > this.#savedThrough;
    if (unsaved === this.#unsaved) return;
    this.#unsaved = unsaved;
    this.#changed(unsaved);
  }
}
