/**
 * The fan-out seam between server nodes. A room joins a channel when it loads and publishes
 * every document and awareness update it applies; the bus delivers them to the same room on
 * the other nodes (never back to the publisher). In-process now; Redis when clustered.
 * Chat and activity stay node-local until the cluster work gives them one shared sequence.
 */
export interface BusMessage {
  kind: 'update' | 'awareness';
  payload: Uint8Array;
}

export interface BusChannel {
  publish(message: BusMessage): void;
  leave(): void;
}

export interface Bus {
  join(room: string, onMessage: (message: BusMessage) => void): BusChannel;
  close(): Promise<void>;
}

/** Connects every node created with the same instance, inside one process. */
export class InProcessBus implements Bus {
  readonly #rooms = new Map<string, Set<(message: BusMessage) => void>>();

  join(room: string, onMessage: (message: BusMessage) => void): BusChannel {
    let listeners = this.#rooms.get(room);
    if (!listeners) {
      listeners = new Set();
      this.#rooms.set(room, listeners);
    }
    listeners.add(onMessage);
    const rooms = this.#rooms;
    return {
      publish(message) {
        const others = rooms.get(room);
        if (!others || others.size < 2) return;
        // Delivered on a later tick, as a network bus would, so a publisher never re-enters itself.
        queueMicrotask(() => {
          for (const listener of others) if (listener !== onMessage) listener(message);
        });
      },
      leave() {
        listeners.delete(onMessage);
        if (listeners.size === 0) rooms.delete(room);
      },
    };
  }

  async close(): Promise<void> {
    this.#rooms.clear();
  }
}
