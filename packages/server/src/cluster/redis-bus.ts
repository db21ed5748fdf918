import type { Redis } from 'ioredis';
import type { Bus, BusChannel, BusMessage } from './bus.js';
import { roomKeys } from './keys.js';

/**
 * Awareness (cursors, selections) between nodes over Redis pub/sub: it is ephemeral, each message
 * supersedes the last, and a lost one is repaired by the next. Document updates do not travel
 * here: they are in the room's stream (StreamLog), which keeps them in order and loses none.
 */
export class RedisBus implements Bus {
  readonly #publisher: Redis;
  readonly #subscriber: Redis;
  /** Prefixed to every message, so a node ignores its own. */
  readonly #self: Buffer;
  readonly #rooms = new Map<string, (message: BusMessage) => void>();

  constructor(publisher: Redis, subscriber: Redis, node: string) {
    this.#publisher = publisher;
    this.#subscriber = subscriber;
    this.#self = Buffer.from(node.padEnd(16).slice(0, 16));
    subscriber.on('messageBuffer', (channel: Buffer, message: Buffer) => {
      if (message.subarray(0, 16).equals(this.#self)) return;
      const listener = this.#rooms.get(channel.toString());
      listener?.({ kind: 'awareness', payload: new Uint8Array(message.buffer, message.byteOffset + 16, message.byteLength - 16) });
    });
  }

  join(room: string, onMessage: (message: BusMessage) => void): BusChannel {
    const channel = roomKeys(room).awareness;
    this.#rooms.set(channel, onMessage);
    void this.#subscriber.subscribe(channel).catch(() => {});
    return {
      publish: (message) => {
        if (message.kind !== 'awareness') return;
        void this.#publisher.publish(channel, Buffer.concat([this.#self, message.payload])).catch(() => {});
      },
      leave: () => {
        if (this.#rooms.get(channel) !== onMessage) return;
        this.#rooms.delete(channel);
        void this.#subscriber.unsubscribe(channel).catch(() => {});
      },
    };
  }

  async close(): Promise<void> {
    this.#rooms.clear();
  }
}
