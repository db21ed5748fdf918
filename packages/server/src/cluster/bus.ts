import type { Member } from '@tandem/protocol';

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

/** What another node says about its members in a room: all of them (a snapshot), or one typing change. */
export type RemotePresence =
  | { kind: 'members'; node: string; members: Member[] }
  | { kind: 'typing'; node: string; member: Member; on: boolean }
  /** The node stopped refreshing its entry (it died): its members are gone. `record`: this node won the right to record their departures. */
  | { kind: 'gone'; node: string; members: Member[]; record: boolean };

export interface PresenceChannel {
  /** This node's members in the room now (sent to the other nodes, and kept in Redis with a TTL). */
  update(members: Member[]): void;
  typing(member: Member, on: boolean): void;
  leave(): void;
}

/**
 * Members across nodes (cluster mode): each node keeps its members of each room in Redis with a
 * TTL it refreshes and tells the others when they change; a node that stops refreshing is dead,
 * and exactly one of the others records its members' departures.
 */
export interface Presence {
  join(room: string, onRemote: (change: RemotePresence) => void): PresenceChannel;
  /** Who is in each room across the cluster. */
  members(rooms: readonly string[]): Promise<Map<string, Member[]>>;
  close(): Promise<void>;
}
