/**
 * Which of one connection's document updates are durable, for its `saved` messages. The client
 * numbers the update-carrying frames it sends on a connection from 1 (sync step 2 and update),
 * and so does the server; `through` is the highest number up to which every frame is stored.
 * Frames that needed no storing (empty, refused) are settled as soon as nothing before them waits.
 */
export class SaveReceipts {
  #received = 0;
  /** Frames whose update waits for storage, oldest first. */
  #waiting: number[] = [];
  #confirmed = 0;

  /** An update-carrying frame arrived; returns its number. */
  received(): number {
    return ++this.#received;
  }

  /** Frame `frame` carries an update that waits for storage. */
  waiting(frame: number): void {
    this.#waiting.push(frame);
  }

  /** Every frame up to `frame` that waited is stored. */
  stored(frame: number): void {
    let done = 0;
    while (done < this.#waiting.length && this.#waiting[done]! <= frame) done++;
    if (done > 0) this.#waiting.splice(0, done);
  }

  /** The `through` to confirm now, or null when the client already has it. */
  confirm(): number | null {
    const through = this.#waiting.length > 0 ? this.#waiting[0]! - 1 : this.#received;
    if (through <= this.#confirmed) return null;
    this.#confirmed = through;
    return through;
  }
}
