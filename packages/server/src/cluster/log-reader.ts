import type { Redis } from 'ioredis';
import type { Logger } from 'pino';

export interface LogReaderOptions {
  /** The connection that blocks in XREAD (nothing else runs on it). */
  reader: Redis;
  /** For CLIENT UNBLOCK. */
  redis: Redis;
  log: Logger;
  /** The streams to read now, each from the id after which it continues. */
  positions(): Array<{ key: string; after: string }>;
  /** An entry read from stream `key`, in stream order. */
  deliver(key: string, id: Buffer, fields: Buffer[]): void;
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * One blocking `XREAD` over every stream this node follows, re-issued after each reply. When the
 * set of streams changes (`refresh`), the blocked read is interrupted with CLIENT UNBLOCK so the
 * next one covers the new set at once.
 */
export class LogReader {
  readonly #options: LogReaderOptions;
  #stopped = false;
  #readerId: number | null = null;
  /** Set while there is no stream to read. */
  #wake: (() => void) | null = null;
  /** Counts the reads issued, so an unblock meant for one read does not hit the next. */
  #round = 0;
  readonly #loop: Promise<void>;

  constructor(options: LogReaderOptions) {
    this.#options = options;
    this.#loop = this.#run();
  }

  /** Has the blocked read start again with the streams as they are now. */
  refresh(): void {
    if (this.#wake) {
      this.#wake();
      return;
    }
    const round = this.#round;
    const id = this.#readerId;
    if (id === null) return;
    // CLIENT UNBLOCK may reach Redis before the XREAD it should interrupt: then it says 0, and is
    // sent again until that read returns.
    const unblock = async (tries: number): Promise<void> => {
      if (this.#stopped || round !== this.#round) return;
      const done = await this.#options.redis.client('UNBLOCK', id).catch(() => 1);
      if (Number(done) === 0 && tries > 0 && round === this.#round) setTimeout(() => void unblock(tries - 1), 2);
    };
    void unblock(50);
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    this.refresh();
    this.#options.reader.disconnect();
    await this.#loop;
  }

  async #run(): Promise<void> {
    const { reader, log } = this.#options;
    while (!this.#stopped) {
      const positions = this.#options.positions();
      if (positions.length === 0) {
        await new Promise<void>((resolve) => (this.#wake = resolve));
        this.#wake = null;
        continue;
      }
      let reply;
      try {
        if (reader.status !== 'ready') await reader.connect().catch(() => {});
        this.#readerId ??= Number(await reader.client('ID'));
        this.#round++;
        reply = await reader.xreadBuffer(
          'COUNT',
          1_000,
          'BLOCK',
          0,
          'STREAMS',
          ...positions.map((p) => p.key),
          ...positions.map((p) => p.after),
        );
      } catch (error) {
        this.#readerId = null;
        if (this.#stopped) break;
        log.warn({ err: error }, 'reading the room logs from Redis failed; retrying');
        await sleep(250);
        continue;
      }
      if (!reply) continue; // unblocked: the set of streams changed
      for (const [key, items] of reply) for (const [id, fields] of items) this.#options.deliver(key.toString(), id, fields);
    }
  }
}
