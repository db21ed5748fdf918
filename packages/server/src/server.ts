import { readFileSync } from 'node:fs';
import type { Member } from '@tandem/protocol';
import type { AddressInfo } from 'node:net';
import { guestAuthenticator, jwtAuthenticator, type Authenticator } from './auth/authenticator.js';
import type { Bus } from './cluster/bus.js';
import { InProcessBus } from './cluster/bus.js';
import { NO_RELAY } from './cluster/admin-relay.js';
import type { Cluster } from './cluster/cluster.js';
import type { StreamLog } from './cluster/stream-log.js';
import type { Config } from './config.js';
import { createHttpApp, type RouteOptions } from './http/app.js';
import { serveMetrics } from './http/metrics.js';
import { Metrics } from './lib/metrics.js';
import { LogLimiter } from './lib/log-limiter.js';
import { Traffic } from './lib/traffic.js';
import { createLogger, type Logger } from './log.js';
import type { RoomHooks } from './rooms/hooks.js';
import { RoomRegistry } from './rooms/registry.js';
import { AdminActions } from './rooms/admin-actions.js';
import { committedWrites, type RoomCopy } from './storage/room-log.js';
import { PostgresStorage } from './storage/postgres.js';
import { SqliteStorage } from './storage/sqlite.js';
import type { Storage } from './storage/storage.js';
import { describeUnsaved, WriteBehind } from './storage/write-behind.js';
import { Gateway } from './transport/gateway.js';
import { Webhooks } from './webhooks/webhooks.js';

export interface TandemServer {
  readonly port: number;
  /** http://host:port of the listening server. */
  readonly url: string;
  readonly registry: RoomRegistry;
  /** The Prometheus metrics (also at /metrics). */
  readonly metrics: Metrics;
  /** This node's part of the cluster (null on a single node). */
  readonly cluster: Cluster | null;
  readonly log: Logger;
  /** Stops accepting, closes every socket with 1001, flushes storage. Safe to call twice. */
  close(): Promise<void>;
}

export interface StartOptions {
  /** Defaults to SQLite under config.dataDir. Closed by `close()`. */
  storage?: Storage;
  /** Defaults to an in-process bus of its own. */
  bus?: Bus;
  /** Defaults to the one `config.auth` selects (guest or JWT). */
  authenticator?: Authenticator;
  logger?: Logger;
  /** Whether clients reach this server over https/wss (it then knows its own origin as https). Defaults to whether TLS is configured. */
  secure?: boolean;
  /** The app's logic around rooms (see RoomHooks). */
  hooks?: RoomHooks;
}

/**
 * Tandem without a server of its own: rooms, storage, the WebSocket gateway and the HTTP routes,
 * to put on an app's HTTP server or Fastify (see embed.ts and docs/embedding.md).
 */
export interface TandemCore {
  readonly registry: RoomRegistry;
  readonly metrics: Metrics;
  readonly cluster: Cluster | null;
  readonly log: Logger;
  readonly gateway: Gateway;
  /** What the HTTP routes need (see http/app.ts). */
  readonly routes: RouteOptions;
  /** True once close() has begun. */
  readonly closing: boolean;
  /** Stops accepting, closes every socket with 1001, flushes storage; `beforeStorage` runs once the sockets are closed. */
  close(beforeStorage?: () => Promise<void>): Promise<void>;
}

/** Builds everything but the HTTP server. */
export async function createTandemCore(config: Config, options: StartOptions = {}): Promise<TandemCore> {
  const log = options.logger ?? createLogger(config.logLevel);
  const retention = { keep: config.activityRetention, maxAgeMs: config.activityRetentionDays * 86_400_000 };
  const traffic = new Traffic();
  const logLimiter = new LogLimiter(log);
  const metrics = new Metrics({
    traffic,
    roomSizes: () => registry.roomSizes(),
    unsaved: () => {
      const unsaved = persistence.unsaved();
      return {
        updates: unsaved.reduce((sum, room) => sum + room.updates, 0),
        entries: unsaved.reduce((sum, room) => sum + room.chat + room.activity + room.events, 0),
      };
    },
  });
  const postgres = config.databaseUrl ? await PostgresStorage.open(config.databaseUrl, retention) : null;
  const storage = options.storage ?? postgres ?? new SqliteStorage(config.dataDir, { retention });
  // Cluster mode's modules (ioredis among them) load only when it is configured.
  const cluster: Cluster | null = config.redisUrl
    ? await (
        await import('./cluster/cluster.js')
      ).startCluster({
        redisUrl: config.redisUrl,
        storage: postgres!,
        log,
        compactDelayMs: config.compactDelayMs,
        metrics,
        onCommitted: (room, batch) => registry.committed(room, batch),
        onHealth: (health) => registry.storageChanged(health),
        copyOf: (room): RoomCopy | null => registry.copyOf(room),
        onResync: (room): void => registry.resync(room),
      })
    : null;
  const persistence: StreamLog | WriteBehind =
    cluster?.log ??
    new WriteBehind(storage, {
      intervalMs: config.flushIntervalMs,
      log,
      onCommitted: (room, writes) => registry.committed(room, committedWrites(writes)),
      onHealth: (health) => registry.storageChanged(health),
      onCommit: (seconds, ok) => metrics.committed(seconds, ok),
    });
  const bus = options.bus ?? cluster?.bus ?? new InProcessBus();
  const webhooks =
    config.webhookUrls.length > 0
      ? new Webhooks({
          urls: config.webhookUrls,
          secret: config.webhookSecret!,
          events: config.webhookEvents,
          documentExists: async (room) => (await storage.getDocument(room)) !== null,
          log,
          counted: (outcome) => metrics.webhookDelivery(outcome),
        })
      : null;
  const authenticator =
    options.authenticator ??
    (config.auth === 'jwt'
      ? await jwtAuthenticator({
          secret: config.jwtSecret,
          publicKeyFile: config.jwtPublicKeyFile,
          jwksUrl: config.jwtJwksUrl,
          issuer: config.jwtIssuer,
          audience: config.jwtAudience,
        })
      : guestAuthenticator);
  const registry: RoomRegistry = new RoomRegistry({
    authenticator,
    storage,
    persistence,
    bus,
    presence: cluster?.presence ?? null,
    metrics,
    logLimiter,
    log,
    settings: config,
    hooks: webhooks?.around(options.hooks ?? {}) ?? options.hooks ?? {},
  });
  const whoIsIn = async (rooms: readonly string[]): Promise<Map<string, Member[]>> =>
    cluster?.presence.members(rooms) ?? new Map(rooms.map((room) => [room, registry.get(room)?.members ?? []]));
  const secure = options.secure ?? Boolean(config.tlsCert && config.tlsKey);
  const gateway = new Gateway({ registry, log, authenticator, config, secure, traffic, logLimiter });
  const routes: RouteOptions = {
    log,
    storage: webhooks?.announcingCreation(storage) ?? storage,
    authenticator,
    stats: () => ({ rooms: registry.size, connections: gateway.connections }),
    storageHealth: () => persistence.health,
    // On METRICS_PORT instead, when that is set.
    metrics: config.metricsPort === undefined ? metrics : null,
    metricsToken: config.metricsToken ?? null,
    admin: {
      token: config.adminToken ?? null,
      registry,
      actions: new AdminActions({
        registry,
        storage,
        persistence,
        relay: cluster?.adminRelay ?? NO_RELAY,
        whoIsIn,
        log,
        onDeleted: (room) => webhooks?.documentDeleted(room),
      }),
      traffic,
      storageHealth: () => persistence.health,
      compactor: cluster?.compactor ?? null,
      log,
    },
    shuttingDown: () => closing !== null,
    whoIsIn,
    readinessProblems: async () => {
      const problems = cluster?.problems() ?? [];
      const database = await postgres?.problem(1_000);
      return database ? [...problems, database] : problems;
    },
    probeHandshake: (req) => gateway.probe(req),
  };
  let closing: Promise<void> | null = null;
  const close = async (beforeStorage?: () => Promise<void>): Promise<void> => {
    registry.beginShutdown();
    await gateway.close(config.shutdownGraceMs);
    registry.prepareShutdown();
    // Increments first (compaction only once they are stored), retried while storage fails.
    const unsaved = await persistence.drain(Date.now() + config.shutdownGraceMs);
    registry.dispose();
    webhooks?.close();
    await persistence.stop();
    await cluster?.close();
    await beforeStorage?.();
    logLimiter.flush();
    await bus.close();
    await storage.close();
    if (unsaved.length > 0) {
      const message = `shutdown: storage kept failing, and this was not saved: ${describeUnsaved(unsaved)}`;
      log.error({ unsaved }, message);
      throw new Error(message);
    }
    log.info('Tandem stopped');
  };
  return {
    registry,
    metrics,
    cluster,
    log,
    gateway,
    routes,
    get closing() {
      return closing !== null;
    },
    close: (beforeStorage) => (closing ??= close(beforeStorage)),
  };
}

/** Starts HTTP and WebSocket on one port and returns once it listens. */
export async function startTandem(config: Config, options: StartOptions = {}): Promise<TandemServer> {
  const core = await createTandemCore(config, options);
  const { gateway, log } = core;
  const tls = config.tlsCert && config.tlsKey ? { cert: readFileSync(config.tlsCert), key: readFileSync(config.tlsKey) } : null;
  const metricsServer =
    config.metricsPort === undefined
      ? null
      : await serveMetrics(core.metrics, config.metricsToken ?? null, config.metricsPort, config.host);
  const app = await createHttpApp({ ...core.routes, staticDir: config.staticDir, tls, handshakeTimeoutMs: config.handshakeTimeoutMs });
  // Over TLS the socket a request arrives on is the TLS socket, known once its handshake is done.
  app.server.on(tls ? 'secureConnection' : 'connection', gateway.handleConnection);
  app.server.on('request', gateway.handleRequest);
  app.server.on('upgrade', gateway.handleUpgrade);
  await app.listen({ port: config.port, host: config.host ?? '::' });
  const { port } = app.server.address() as AddressInfo;
  const url = `${tls ? 'https' : 'http'}://${config.host && config.host !== '::' && config.host !== '0.0.0.0' ? config.host : 'localhost'}:${port}`;
  log.info({ port, url }, `Tandem listening on ${url}`);
  return {
    port,
    url,
    registry: core.registry,
    metrics: core.metrics,
    cluster: core.cluster,
    log,
    close: () =>
      core.close(async () => {
        await app.close();
        await metricsServer?.close();
      }),
  };
}
