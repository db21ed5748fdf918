import { randomBytes } from 'node:crypto';
import type { Logger } from 'pino';
import type { Metrics } from '../lib/metrics.js';
import type { CommittedBatch, RoomCopy } from '../storage/room-log.js';
import type { SharedStorage } from '../storage/storage.js';
import type { StorageHealth } from '../storage/health.js';
import { Compactor } from './compactor.js';
import { RedisAdminRelay } from './redis-admin-relay.js';
import { RedisBus } from './redis-bus.js';
import { RedisPresence } from './redis-presence.js';
import { connectRedis } from './redis.js';
import { StreamLog } from './stream-log.js';

export interface ClusterOptions {
  redisUrl: string;
  storage: SharedStorage;
  log: Logger;
  compactDelayMs: number;
  metrics?: Metrics;
  onCommitted(room: string, batch: CommittedBatch): void;
  onHealth(health: StorageHealth): void;
  copyOf(room: string): RoomCopy | null;
  onResync(room: string): void;
}

export interface Cluster {
  readonly node: string;
  readonly log: StreamLog;
  readonly bus: RedisBus;
  readonly presence: RedisPresence;
  readonly compactor: Compactor;
  readonly adminRelay: RedisAdminRelay;
  /** Why this node cannot serve new clients now (empty when it can). */
  problems(): string[];
  close(): Promise<void>;
}

/** How far below a compacted position a room's log is trimmed (see Compactor). */
const TRIM_MARGIN_MS = 60_000;

/** Connects to Redis (four connections: commands, the log reader, the task reader, pub/sub) and starts this node's part of the cluster. */
export async function startCluster(options: ClusterOptions): Promise<Cluster> {
  const node = randomBytes(8).toString('hex');
  const redis = connectRedis(options.redisUrl);
  const reader = connectRedis(options.redisUrl, { blocking: true });
  const taskReader = connectRedis(options.redisUrl, { blocking: true });
  const subscriber = connectRedis(options.redisUrl);
  const connections = [redis, reader, taskReader, subscriber];
  try {
    await Promise.all(connections.map((connection) => connection.connect()));
  } catch (error) {
    for (const connection of connections) connection.disconnect();
    const where = options.redisUrl.replace(/\/\/[^@]*@/, '//');
    throw new Error(`cannot reach Redis at ${where} (${(error as Error).message}); start Redis or fix REDIS_URL`, { cause: error });
  }
  const log = options.log.child({ node });
  const streamLog = new StreamLog({
    redis,
    reader,
    storage: options.storage,
    node,
    log,
    onCommitted: options.onCommitted,
    onHealth: options.onHealth,
    copyOf: options.copyOf,
    onResync: options.onResync,
    onAppend: (seconds, ok) => {
      options.metrics?.redisAppended(seconds, ok);
      options.metrics?.committed(seconds, ok);
    },
  });
  const compactor = new Compactor({
    redis,
    reader: taskReader,
    storage: options.storage,
    node,
    log,
    delayMs: options.compactDelayMs,
    onCompacted: (outcome) => options.metrics?.compacted(outcome),
    trimMarginMs: TRIM_MARGIN_MS,
  });
  await compactor.start();
  const presence = new RedisPresence(redis, subscriber, node, log);
  log.info({ node }, 'joined the cluster');
  return {
    node,
    log: streamLog,
    bus: new RedisBus(redis, subscriber, node),
    presence,
    compactor,
    adminRelay: new RedisAdminRelay(redis, subscriber, node, log),
    problems: () => (redis.status === 'ready' ? [] : [`cannot reach Redis (connection ${redis.status})`]),
    async close() {
      await presence.close();
      await streamLog.stop();
      await compactor.stop();
      for (const connection of connections) connection.disconnect();
    },
  };
}
