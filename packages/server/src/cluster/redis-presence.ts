import type { Member } from '@tandem/protocol';
import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import type { Presence, PresenceChannel, RemotePresence } from './bus.js';
import { roomKeys } from './keys.js';

/** How often a node refreshes its entries; an entry not refreshed for PRESENCE_TTL_MS is a dead node's. */
export const PRESENCE_REFRESH_MS = 2_500;
export const PRESENCE_TTL_MS = 10_000;

type Message = { node: string; members: Member[] } | { node: string; typing: { member: Member; on: boolean } };

interface RoomPresence {
  onRemote(change: RemotePresence): void;
  /** This node's members, as last updated. */
  members: Member[];
  /** The other nodes' members as last heard (from their messages or the hash). */
  remote: Map<string, Member[]>;
  writeTimer: NodeJS.Timeout | null;
}

/**
 * Presence across nodes over Redis: per room a hash (`presence`: node → its members, and when it
 * last refreshed them, by Redis's clock) and a pub/sub channel for prompt changes. Every
 * PRESENCE_REFRESH_MS a node refreshes its entries and reads the others'; an entry older than
 * PRESENCE_TTL_MS belongs to a dead node, and the node whose script removes it (one, atomically)
 * records its members' departures.
 */
export class RedisPresence implements Presence {
  readonly #redis: Redis;
  readonly #subscriber: Redis;
  readonly #node: string;
  readonly #log: Logger;
  readonly #rooms = new Map<string, RoomPresence>();
  readonly #timer: NodeJS.Timeout;

  constructor(redis: Redis, subscriber: Redis, node: string, log: Logger) {
    this.#redis = redis;
    this.#subscriber = subscriber;
    this.#node = node;
    this.#log = log;
    subscriber.on('message', (channel: string, text: string) => this.#onMessage(channel, text));
    this.#timer = setInterval(() => void this.#refreshAll(), PRESENCE_REFRESH_MS);
    this.#timer.unref();
  }

  join(room: string, onRemote: (change: RemotePresence) => void): PresenceChannel {
    const keys = roomKeys(room);
    const state: RoomPresence = { onRemote, members: [], remote: new Map(), writeTimer: null };
    this.#rooms.set(room, state);
    void this.#subscriber.subscribe(keys.members).catch(() => {});
    void this.#refresh(room, state);
    return {
      update: (members) => {
        state.members = members;
        // Coalesced: a join storm writes the hash and publishes a few times, not once per join.
        state.writeTimer ??= setTimeout(() => {
          state.writeTimer = null;
          void this.#write(room, state);
        }, 20);
      },
      typing: (member, on) => {
        void this.#redis.publish(keys.members, JSON.stringify({ node: this.#node, typing: { member, on } })).catch(() => {});
      },
      leave: () => {
        if (this.#rooms.get(room) !== state) return;
        this.#rooms.delete(room);
        if (state.writeTimer) clearTimeout(state.writeTimer);
        void this.#subscriber.unsubscribe(keys.members).catch(() => {});
        // This node's members left the room with it.
        void this.#redis.hdel(keys.presence, this.#node, `${this.#node}:at`).catch(() => {});
      },
    };
  }

  async members(rooms: readonly string[]): Promise<Map<string, Member[]>> {
    const members = new Map<string, Member[]>();
    if (rooms.length === 0) return members;
    const pipeline = this.#redis.pipeline();
    for (const room of rooms) pipeline.hgetall(roomKeys(room).presence);
    const replies = (await pipeline.exec()) ?? [];
    const [seconds, micros] = await this.#redis.time();
    const now = Number(seconds) * 1_000 + Math.floor(Number(micros) / 1_000);
    rooms.forEach((room, i) => {
      const hash = (replies[i]?.[1] ?? {}) as Record<string, string>;
      members.set(room, liveMembers(hash, now));
    });
    return members;
  }

  async close(): Promise<void> {
    clearInterval(this.#timer);
    const rooms = [...this.#rooms.keys()];
    await Promise.all(rooms.map((room) => this.#redis.hdel(roomKeys(room).presence, this.#node, `${this.#node}:at`).catch(() => {})));
    this.#rooms.clear();
  }

  async #write(room: string, state: RoomPresence): Promise<void> {
    const keys = roomKeys(room);
    const members = JSON.stringify(state.members);
    try {
      await this.#redis.tandemPresence(keys.presence, this.#node, members, PRESENCE_TTL_MS * 4);
      await this.#redis.publish(keys.members, JSON.stringify({ node: this.#node, members: state.members }));
    } catch (error) {
      this.#log.warn({ err: error, room }, 'could not share this node’s members; retried at the next refresh');
    }
  }

  async #refreshAll(): Promise<void> {
    for (const [room, state] of this.#rooms) await this.#refresh(room, state);
  }

  /** Writes this node's entry, reads the others', and removes (and reports) those of dead nodes. */
  async #refresh(room: string, state: RoomPresence): Promise<void> {
    const keys = roomKeys(room);
    try {
      await this.#redis.tandemPresence(keys.presence, this.#node, JSON.stringify(state.members), PRESENCE_TTL_MS * 4);
      const hash = await this.#redis.hgetall(keys.presence);
      const [seconds, micros] = await this.#redis.time();
      const now = Number(seconds) * 1_000 + Math.floor(Number(micros) / 1_000);
      const live = new Set<string>();
      for (const [field, value] of Object.entries(hash)) {
        if (field.endsWith(':at') || field === this.#node) continue;
        const at = Number(hash[`${field}:at`] ?? 0);
        const members = JSON.parse(value) as Member[];
        if (now - at <= PRESENCE_TTL_MS) {
          live.add(field);
          this.#remote(state, field, members);
          continue;
        }
        const reaped = await this.#redis.tandemReapPresence(keys.presence, field, now - PRESENCE_TTL_MS);
        state.remote.delete(field);
        state.onRemote({ kind: 'gone', node: field, members, record: reaped === 1 });
      }
      // Nodes that left cleanly (their entry removed) and whose last message was missed.
      for (const [node, members] of state.remote) {
        if (live.has(node)) continue;
        state.remote.delete(node);
        state.onRemote({ kind: 'gone', node, members, record: false });
      }
    } catch (error) {
      if (this.#rooms.get(room) === state) this.#log.warn({ err: error, room }, 'refreshing presence in Redis failed');
    }
  }

  #remote(state: RoomPresence, node: string, members: Member[]): void {
    state.remote.set(node, members);
    state.onRemote({ kind: 'members', node, members });
  }

  #onMessage(channel: string, text: string): void {
    if (!channel.endsWith(':members')) return;
    const room = channel.slice('tandem:{'.length, -'}:members'.length);
    const state = this.#rooms.get(room);
    if (!state) return;
    let message: Message;
    try {
      message = JSON.parse(text) as Message;
    } catch {
      return;
    }
    if (message.node === this.#node) return;
    if ('typing' in message) state.onRemote({ kind: 'typing', node: message.node, ...message.typing });
    else this.#remote(state, message.node, message.members);
  }
}

/** The members in a presence hash whose node refreshed within the TTL. */
function liveMembers(hash: Record<string, string>, now: number): Member[] {
  const members: Member[] = [];
  for (const [field, value] of Object.entries(hash)) {
    if (field.endsWith(':at') || now - Number(hash[`${field}:at`] ?? 0) > PRESENCE_TTL_MS) continue;
    members.push(...(JSON.parse(value) as Member[]));
  }
  return members;
}
