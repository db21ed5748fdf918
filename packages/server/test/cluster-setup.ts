import pg from 'pg';
import { afterAll, beforeAll } from 'vitest';
import WebSocket from 'ws';
import { WebsocketProvider } from 'y-websocket';
import * as Y from 'yjs';
import type { ConfigInput } from '../src/index.js';
import { onCleanup, startServer, type TestServer } from './helpers.js';
import { startPostgres, type PostgresInstance } from './postgres.js';
import { startRedis, type RedisInstance } from './redis.js';

let postgres: PostgresInstance | undefined;
let databases = 0;

/** Starts one PostgreSQL server for the test file (each test gets a database of its own on it). */
export function useClusterServices(): void {
  beforeAll(async () => {
    postgres = await startPostgres();
  }, 60_000);
  afterAll(async () => {
    await postgres?.stop();
  });
}

/** The file's PostgreSQL server (see useClusterServices). */
export function postgresServer(): PostgresInstance {
  if (!postgres) throw new Error('call useClusterServices() in the test file first');
  return postgres;
}

/** A fresh database on the file's PostgreSQL server. */
export async function freshDatabase(): Promise<string> {
  const server = postgresServer();
  const name = `cluster_${++databases}`;
  const admin = new pg.Client({ connectionString: server.url });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${name}`).finally(() => admin.end());
  return server.url.replace(/\/postgres$/, `/${name}`);
}

export interface TestCluster {
  redis: RedisInstance;
  databaseUrl: string;
  nodes: TestServer[];
  /** Starts one more node. */
  start(config?: ConfigInput): Promise<TestServer>;
}

/** Redis, a fresh database and `count` nodes sharing them, each a server of its own on a free port. */
export async function startCluster(count: number, options: { appendonly?: boolean; config?: ConfigInput } = {}): Promise<TestCluster> {
  const redis = await startRedis({ appendonly: options.appendonly });
  onCleanup(() => redis.stop());
  const databaseUrl = await freshDatabase();
  const cluster: TestCluster = {
    redis,
    databaseUrl,
    nodes: [],
    async start(config = {}) {
      const node = await startServer({ redisUrl: redis.url, databaseUrl, compactDelayMs: 100, ...options.config, ...config });
      cluster.nodes.push(node);
      return node;
    },
  };
  for (let i = 0; i < count; i++) await cluster.start();
  return cluster;
}

/** A stock y-websocket client (no subprotocol: plain Yjs). */
export function stockClient(wsUrl: string, room: string): WebsocketProvider {
  const provider = new WebsocketProvider(`${wsUrl}/ws`, room, new Y.Doc(), { WebSocketPolyfill: WebSocket as never, disableBc: true });
  onCleanup(() => provider.destroy());
  return provider;
}
