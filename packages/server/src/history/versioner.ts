import type { Logger } from 'pino';
import * as Y from 'yjs';
import type { Storage, VersionInfo } from '../storage/storage.js';
import type { RoomSettings } from '../rooms/settings.js';

export type Author = VersionInfo['authors'][number];
type VersionSettings = Pick<RoomSettings, 'versionQuietMs' | 'versionMaxIntervalMs' | 'versionRetention' | 'versionRetentionDays'>;

/**
 * A room's automatic versions: one once edits pause for `versionQuietMs`, at least every
 * `versionMaxIntervalMs` while they go on, and one when the last person leaves; named versions on
 * request. Each carries who edited since the previous one. Saves run one at a time; storage drops
 * a state equal to the newest stored one, so a quiet room (or another node) adds no duplicates.
 */
export class Versioner {
  readonly #room: string;
  readonly #doc: Y.Doc;
  readonly #storage: Storage;
  readonly #settings: VersionSettings;
  readonly #log: Logger;
  /** Who edited since the last version; null while nothing changed. */
  #authors: Map<string, Author> | null = null;
  #quietTimer: NodeJS.Timeout | null = null;
  #maxTimer: NodeJS.Timeout | null = null;
  #saving: Promise<unknown> = Promise.resolve();

  constructor(room: string, doc: Y.Doc, ctx: { storage: Storage; settings: VersionSettings; log: Logger }) {
    this.#room = room;
    this.#doc = doc;
    this.#storage = ctx.storage;
    this.#settings = ctx.settings;
    this.#log = ctx.log;
  }

  /** The document changed, by `author` (null: a client that did not join as a member). */
  edited(author: Author | null): void {
    if (!this.#authors) {
      this.#authors = new Map();
      this.#maxTimer = setTimeout(() => void this.#auto(), this.#settings.versionMaxIntervalMs);
    }
    if (author) this.#authors.set(author.id, { id: author.id, name: author.name });
    if (this.#quietTimer) clearTimeout(this.#quietTimer);
    this.#quietTimer = setTimeout(() => void this.#auto(), this.#settings.versionQuietMs);
  }

  /** Everyone left: what changed is kept as a version now. */
  lastLeft(): void {
    if (this.#authors) void this.#auto();
  }

  /** Saves a named version of the document as it is now. */
  async saveNamed(name: string): Promise<VersionInfo | null> {
    return this.#save(name);
  }

  /** Stops the timers (the room leaves memory; what is unsaved was saved by `lastLeft`). */
  dispose(): void {
    this.#clearTimers();
  }

  async #auto(): Promise<void> {
    await this.#save(null).catch((error: unknown) => this.#log.error({ err: error, room: this.#room }, 'saving a version failed'));
  }

  #save(name: string | null): Promise<VersionInfo | null> {
    this.#clearTimers();
    const authors = [...(this.#authors?.values() ?? [])];
    this.#authors = null;
    // The state is taken now, not when the previous save is done.
    const state = Y.encodeStateAsUpdate(this.#doc);
    const time = Date.now();
    const saved = this.#saving.then(async () => {
      const { versionRetention: keep, versionRetentionDays: days } = this.#settings;
      const version = await this.#storage.saveVersion(this.#room, { time, name, authors, state });
      if (version) await this.#storage.pruneVersions(this.#room, { keep, maxAgeMs: days * 86_400_000 }, time);
      return version;
    });
    this.#saving = saved.catch(() => {});
    return saved;
  }

  #clearTimers(): void {
    if (this.#quietTimer) clearTimeout(this.#quietTimer);
    if (this.#maxTimer) clearTimeout(this.#maxTimer);
    this.#quietTimer = this.#maxTimer = null;
  }
}
