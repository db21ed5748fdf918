import { Redis, type Result } from 'ioredis';
import { APPEND, COMPACTED, DELETE_ROOM, ENSURE_EPOCH, PRESENCE, REAP_PRESENCE } from './scripts.js';

type Arg = string | Buffer | number;

declare module 'ioredis' {
  interface RedisCommander<Context> {
    tandemAppend(...args: Arg[]): Result<[string, string], Context>;
    tandemEnsureEpoch(...args: Arg[]): Result<string, Context>;
    tandemCompacted(...args: Arg[]): Result<number, Context>;
    tandemPresence(...args: Arg[]): Result<number, Context>;
    tandemReapPresence(...args: Arg[]): Result<number, Context>;
    tandemDeleteRoom(...args: Arg[]): Result<number, Context>;
  }
}

/**
 * A connection to Redis with Tandem's scripts. RESP2, so replies have the same shapes on every
 * Redis version; no offline queue, so a command while Redis is unreachable fails at once and
 * the caller (which keeps what it could not write) decides when to retry.
 */
export function connectRedis(url: string, options: { blocking?: boolean } = {}): Redis {
  const redis = new Redis(url, {
    protocol: 2,
    lazyConnect: true,
    enableOfflineQueue: false,
    maxRetriesPerRequest: 0,
    // A blocking read is not re-sent after a reconnect: its reader re-issues it with fresh ids.
    autoResendUnfulfilledCommands: !options.blocking,
    retryStrategy: (times) => Math.min(50 * 2 ** Math.min(times, 6), 2_000),
    scripts: {
      tandemAppend: { numberOfKeys: 5, lua: APPEND },
      tandemEnsureEpoch: { numberOfKeys: 1, lua: ENSURE_EPOCH },
      tandemCompacted: { numberOfKeys: 3, lua: COMPACTED },
      tandemPresence: { numberOfKeys: 1, lua: PRESENCE },
      tandemReapPresence: { numberOfKeys: 1, lua: REAP_PRESENCE },
      tandemDeleteRoom: { numberOfKeys: 4, lua: DELETE_ROOM },
    },
  });
  // Errors surface through the commands that fail; the connection retries by itself.
  redis.on('error', () => {});
  return redis;
}
