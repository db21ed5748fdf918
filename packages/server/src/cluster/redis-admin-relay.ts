import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import type { AdminRelay, RelayedAction } from './admin-relay.js';
import { ADMIN_CHANNEL } from './keys.js';

/** Admin actions between nodes over Redis pub/sub: each node applies them to the connections it serves. */
export class RedisAdminRelay implements AdminRelay {
  readonly #publisher: Redis;
  readonly #subscriber: Redis;
  readonly #node: string;
  readonly #log: Logger;

  constructor(publisher: Redis, subscriber: Redis, node: string, log: Logger) {
    this.#publisher = publisher;
    this.#subscriber = subscriber;
    this.#node = node;
    this.#log = log;
  }

  async publish(action: RelayedAction): Promise<void> {
    await this.#publisher.publish(ADMIN_CHANNEL, JSON.stringify({ node: this.#node, ...action }));
  }

  subscribe(apply: (action: RelayedAction) => void): void {
    this.#subscriber.on('message', (channel: string, text: string) => {
      if (channel !== ADMIN_CHANNEL) return;
      try {
        const { node, ...action } = JSON.parse(text) as RelayedAction & { node: string };
        if (node !== this.#node) apply(action as RelayedAction);
      } catch (error) {
        this.#log.error({ err: error }, 'an admin action from another node could not be applied');
      }
    });
    this.#subscriber.subscribe(ADMIN_CHANNEL).catch((error: unknown) => {
      this.#log.error({ err: error }, 'cannot subscribe to admin actions; other nodes cannot reach this one');
    });
  }
}
