import type { StorageHealth } from '../storage/health.js';
import { ActivityLimiter } from './activity-limiter.js';
import type { Connection } from './connection.js';
import type { CommittedBatch, RoomCopy } from '../storage/room-log.js';
import { Room } from './room.js';
import type { RoomServices } from './room-context.js';

/** The rooms in memory, created on first join and dropped once they have unloaded. */
export class RoomRegistry {
  readonly #rooms = new Map<string, Room>();
  readonly #services: RoomServices;
  readonly #activityLimiter: ActivityLimiter;
  #shuttingDown = false;

  constructor(services: RoomServices) {
    this.#services = services;
    this.#activityLimiter = new ActivityLimiter(services.settings.activityPerMinute);
  }

  get size(): number {
    return this.#rooms.size;
  }

  get(name: string): Room | undefined {
    return this.#rooms.get(name);
  }

  /** Puts a connection into its room, loading the room if it is not in memory. */
  attach(name: string, conn: Connection): Room {
    const room = this.#room(name);
    room.attach(conn);
    return room;
  }

  /** The room loaded (without a connection it unloads after the idle time), or null if it failed to load. */
  async open(name: string): Promise<Room | null> {
    const room = this.#room(name);
    return (await room.whenLoaded()) ? room : null;
  }

  #room(name: string): Room {
    let room = this.#rooms.get(name);
    if (!room) {
      room = new Room(name, {
        ...this.#services,
        activityLimiter: this.#activityLimiter,
        isShuttingDown: () => this.#shuttingDown,
        onGone: (gone) => {
          if (this.#rooms.get(gone.name) === gone) this.#rooms.delete(gone.name);
        },
      });
      this.#rooms.set(name, room);
    }
    return room;
  }

  /** A room's writes are durable (see RoomLog). */
  committed(name: string, batch: CommittedBatch): void {
    this.#rooms.get(name)?.committed(batch);
  }

  /** Every loaded room. */
  rooms(): Room[] {
    return [...this.#rooms.values()];
  }

  /** How many members each loaded room has on this node. */
  roomSizes(): number[] {
    return [...this.#rooms.values()].map((room) => room.memberCount);
  }

  /** What this node holds of a room, if it is in memory. */
  copyOf(name: string): RoomCopy | null {
    return this.#rooms.get(name)?.copy() ?? null;
  }

  /** The room's shared log was rebuilt: its clients run a full sync. */
  resync(name: string): void {
    this.#rooms.get(name)?.resync('The server rebuilt its log of this document; send what you have that it lacks.');
  }

  /** Storage failed or recovered: every room tells its members. */
  storageChanged(health: StorageHealth): void {
    for (const room of this.#rooms.values()) room.storageChanged(health);
  }

  /** From now on departures are shutdown closes, not people leaving. */
  beginShutdown(): void {
    this.#shuttingDown = true;
  }

  /** Queues each room's final compaction; call before the last flush. */
  prepareShutdown(): void {
    for (const room of this.#rooms.values()) room.prepareShutdown();
  }

  /** Drops every room (and its timers); call after the last flush. */
  dispose(): void {
    for (const room of [...this.#rooms.values()]) room.dispose();
  }
}
