import type { Member } from '@tandem/protocol';
import type { Logger } from 'pino';
import type { RoomLog } from '../storage/room-log.js';
import type { DocumentInfo, Storage } from '../storage/storage.js';
import type { AdminRelay, RelayedAction } from '../cluster/admin-relay.js';
import type { RoomRegistry } from './registry.js';

export interface AdminActionsOptions {
  registry: RoomRegistry;
  storage: Storage;
  persistence: RoomLog;
  relay: AdminRelay;
  /** Who is in each room, on every node. */
  whoIsIn: (rooms: readonly string[]) => Promise<Map<string, Member[]>>;
  log: Logger;
  /** After a document was deleted here (webhooks). */
  onDeleted?: (room: string) => void;
}

/**
 * What an administrator can do to a room, across the cluster: the node the request came to
 * writes the action to the room's activity history (loading the room if it is not in memory
 * here) and relays it, and every node applies it to the connections it serves.
 */
export class AdminActions {
  readonly #options: AdminActionsOptions;

  constructor(options: AdminActionsOptions) {
    this.#options = options;
    options.relay.subscribe((action) => {
      const applied = this.#apply(action);
      options.log.info({ room: action.room, action: action.action, connections: applied }, 'admin action from another node applied');
    });
  }

  /** Closes a member's connections (clients do not reconnect by themselves); null when the member is in no node's room. */
  async disconnect(room: string, memberId: string): Promise<{ disconnected: number } | null> {
    const member = (await this.#members(room)).find((candidate) => candidate.id === memberId);
    if (!member) return null;
    await this.#record(room, 'disconnect', member);
    return { disconnected: await this.#everywhere({ action: 'disconnect', room, member: memberId }) };
  }

  /** Closes every connection to the room; null when nobody is in it and it is not in memory here. */
  async close(room: string): Promise<{ closed: number } | null> {
    if (!this.#options.registry.get(room) && (await this.#members(room)).length === 0) return null;
    await this.#record(room, 'close');
    return { closed: await this.#everywhere({ action: 'close', room }) };
  }

  /** Turns editing of the document off or on (members whose rights change are told at once); null when there is no such document. */
  async setReadOnly(room: string, readOnly: boolean): Promise<DocumentInfo | null> {
    if (!(await this.#exists(room))) return null;
    const document = await this.#options.storage.setReadOnly(room, readOnly);
    await this.#record(room, readOnly ? 'read_only' : 'writable');
    await this.#everywhere({ action: 'read_only', room, readOnly });
    return document;
  }

  /**
   * Deletes the document and everything stored of it: every connection closes with 4003 and the
   * room's queued writes are dropped on every node first. Null when there is no such document.
   */
  async delete(room: string): Promise<{ closed: number } | null> {
    if (!(await this.#exists(room))) return null;
    const closed = await this.#everywhere({ action: 'delete', room });
    await this.#options.persistence.deleteRoom(room);
    this.#options.onDeleted?.(room);
    return { closed };
  }

  /** Stored, in memory here, or joined on another node (and not stored yet). */
  async #exists(room: string): Promise<boolean> {
    const { registry, storage } = this.#options;
    return registry.get(room) !== undefined || (await storage.getDocument(room)) !== null || (await this.#members(room)).length > 0;
  }

  async #members(room: string): Promise<Member[]> {
    return (await this.#options.whoIsIn([room])).get(room) ?? [];
  }

  async #record(room: string, action: 'disconnect' | 'close' | 'read_only' | 'writable', target?: Member): Promise<void> {
    const loaded = await this.#options.registry.open(room);
    if (!loaded) throw new Error(`room "${room}" could not be loaded to record the action`);
    loaded.recordAdmin(action, target);
  }

  /** Relays the action to the other nodes and applies it here; returns how many connections it closed here. */
  async #everywhere(action: RelayedAction): Promise<number> {
    await this.#options.relay.publish(action);
    return this.#apply(action);
  }

  #apply(action: RelayedAction): number {
    const room = this.#options.registry.get(action.room);
    if (!room) return 0;
    switch (action.action) {
      case 'disconnect':
        return room.disconnect(action.member);
      case 'close':
        return room.closeByAdmin();
      case 'read_only':
        room.setReadOnly(action.readOnly);
        return 0;
      case 'delete':
        return room.deleted();
    }
  }
}
