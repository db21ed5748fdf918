import { readFileSync } from 'node:fs';
import type { Member } from '@tandem/protocol';
import type { AddressInfo } from 'node:net';
import { guestAuthenticator, jwtAuthenticator, type Authenticator } from './auth/authenticator.js';
import type { Bus } from './cluster/bus.js';
import { InProcessBus } from './cluster/bus.js';
import { NO_RELAY } from './cluster/admin-relay.js';
import { startCluster, type Cluster } from './cluster/cluster.js';
import type { StreamLog } from './cluster/stream-log.js';
import type { Config } from './config.js';
import { createHttpApp } from './http/app.js';
import { serveMetrics } from './http/metrics.js';
import { Metrics } from './lib/metrics.js';
import { LogLimiter } from './lib/log-limiter.js';
import { Traffic } from './lib/traffic.js';
import { createLogger, type Logger } from './log.js';
import { RoomRegistry } from './rooms/registry.js';
import { AdminActions } from './rooms/admin-actions.js';
import { committedWrites, type RoomCopy } from './storage/room-log.js';
import { PostgresStorage } from './storage/postgres.js';
import { SqliteStorage } from './storage/sqlite.js';
import type { Storage } from './storage/storage.js';
import { describeUnsaved, WriteBehind } from './storage/write-behind.js';
import { Gateway } from './transport/gateway.js';

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
}

/** Starts HTTP and WebSocket on one port and returns once it listens. */
export async function startTandem(config: Config, options: StartOptions = {}): Promise<TandemServer> {
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
  const cluster: Cluster | null = config.redisUrl
    ? await startCluster({
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
  });
  const whoIsIn = async (rooms: readonly string[]): Promise<Map<string, Member[]>> =>
    cluster?.presence.members(rooms) ?? new Map(rooms.map((room) => [room, registry.get(room)?.members ?? []]));
  const tls = config.tlsCert && config.tlsKey ? { cert: readFileSync(config.tlsCert), key: readFileSync(config.tlsKey) } : null;
  const gateway = new Gateway({ registry, log, authenticator, config, secure: tls !== null, traffic, logLimiter });
  const metricsServer =
    config.metricsPort === undefined ? null : await serveMetrics(metrics, config.metricsToken ?? null, config.metricsPort, config.host);
  const app = await createHttpApp({
    log,
    staticDir: config.staticDir,
    tls,
    storage,
    authenticator,
    stats: () => ({ rooms: registry.size, connections: gateway.connections }),
    storageHealth: () => persistence.health,
    // On METRICS_PORT instead, when that is set.
    metrics: config.metricsPort === undefined ? metrics : null,
    metricsToken: config.metricsToken ?? null,
    admin: {
      token: config.adminToken ?? null,
      registry,
      actions: new AdminActions({ registry, storage, persistence, relay: cluster?.adminRelay ?? NO_RELAY, whoIsIn, log }),
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
    handshakeTimeoutMs: config.handshakeTimeoutMs,
    probeHandshake: (req) => gateway.probe(req),
  });
  // Over TLS the socket a request arrives on is the TLS socket, known once its handshake is done.
  app.server.on(tls ? 'secureConnection' : 'connection', gateway.handleConnection);
  app.server.on('request', gateway.handleRequest);
  app.server.on('upgrade', gateway.handleUpgrade);
  await app.listen({ port: config.port, host: config.host ?? '::' });
  const { port } = app.server.address() as AddressInfo;
  const url = `${tls ? 'https' : 'http'}://${config.host && config.host !== '::' && config.host !== '0.0.0.0' ? config.host : 'localhost'}:${port}`;
  log.info({ port, url }, `Tandem listening on ${url}`);

  let closing: Promise<void> | null = null;
  const close = async (): Promise<void> => {
    registry.beginShutdown();
    await gateway.close(config.shutdownGraceMs);
    registry.prepareShutdown();
    // Increments first (compaction only once they are stored), retried while storage fails.
    const unsaved = await persistence.drain(Date.now() + config.shutdownGraceMs);
    registry.dispose();
    await persistence.stop();
    await cluster?.close();
    await app.close();
    await metricsServer?.close();
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
    port,
    url,
    registry,
    metrics,
    cluster,
    log,
    close: () => (closing ??= close()),
  };
}
