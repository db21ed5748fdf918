/**
 * The Redis keys of cluster mode. A room's keys share a hash tag ({room}), so a Redis Cluster
 * keeps them on one shard and the room's Lua scripts may touch them together.
 */
export const roomKeys = (room: string) => {
  const tag = `tandem:{${room}}`;
  return {
    /** The room's shared log: document updates, chat, activity and events in one order. */
    log: `${tag}:log`,
    /** epoch, the newest chat/activity/event seqs, and `queued` while a compaction task is open. */
    meta: `${tag}:meta`,
    /** Recent chat ids, scored by seq: a message re-sent to any node is stored once. */
    chatIds: `${tag}:chat-ids`,
    /** Per node, the newest batch it appended: a retried append is not appended twice. */
    batches: `${tag}:batches`,
    /** Per node, its members here and when it last refreshed them (see RedisPresence). */
    presence: `${tag}:presence`,
    /** Member changes and typing between nodes (pub/sub). */
    members: `${tag}:members`,
    /** Awareness (cursors) between nodes: ephemeral, so pub/sub. */
    awareness: `${tag}:awareness`,
  };
};

/** The room's name back from its log key. */
export function roomOfLogKey(key: string): string {
  return key.slice('tandem:{'.length, -'}:log'.length);
}

/** Rooms whose log has entries not yet compacted into PostgreSQL, one task each (a consumer group reads it). */
export const COMPACTION_TASKS = 'tandem:compaction-tasks';
export const COMPACTORS_GROUP = 'compactors';

/** Admin actions (disconnect, close, read-only, delete) between nodes (pub/sub). */
export const ADMIN_CHANNEL = 'tandem:admin';
