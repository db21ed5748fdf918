import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import proxyAddr from '@fastify/proxy-addr';
import { z } from 'zod';
import { WEBHOOK_EVENT_TYPES } from './webhooks/events.js';

/**
 * The web app: the repository's build (apps/web/dist) when there is one, else the copy packed
 * into the installed package (./web, see scripts/web.js). The first is named when neither exists.
 */
function defaultStaticDir(): string {
  const candidates = ['../../../apps/web/dist', '../web'].map((path) => fileURLToPath(new URL(path, import.meta.url)));
  return candidates.find((dir) => existsSync(join(dir, 'index.html'))) ?? candidates[0]!;
}

const int = (min: number, max: number) => z.coerce.number().int().min(min).max(max);
const commaList = z
  .string()
  .default('')
  .transform((list) =>
    list
      .split(',')
      .map((entry) => entry.trim())
      .filter(Boolean),
  );

/** Every setting, its type, bounds and default. The README's configuration table mirrors it. */
const ConfigSchema = z
  .strictObject({
    port: int(0, 65535).default(8000),
    host: z.string().min(1).optional(),
    dataDir: z.string().min(1).default('./data'),
    /** PostgreSQL instead of the embedded SQLite file (postgres://user:password@host:port/database). */
    databaseUrl: z
      .string()
      .regex(/^postgres(ql)?:\/\//, 'must be a postgres:// or postgresql:// URL')
      .optional(),
    /** Cluster mode: the Redis that carries every room's shared log (redis://host:port); needs DATABASE_URL too. */
    redisUrl: z
      .string()
      .regex(/^rediss?:\/\//, 'must be a redis:// or rediss:// URL')
      .optional(),
    /** Cluster mode: how long a room's log waits after a write before it is compacted into PostgreSQL. */
    compactDelayMs: int(0, 600_000).default(2_000),
    staticDir: z.string().min(1).default(defaultStaticDir),
    pingIntervalMs: int(100, 3_600_000).default(30_000),
    roomIdleMs: int(0, 3_600_000).default(5_000),
    flushIntervalMs: int(1, 10_000).default(50),
    compactAfterUpdates: int(1, 1_000_000).default(500),
    /** A busy room sends its batched updates at most this often; a flooded one stretches it up to 4× (see rooms/fanout.ts). */
    fanoutIntervalMs: int(0, 1_000).default(5),
    maxPayloadBytes: int(1024, 256 * 1024 * 1024).default(1024 * 1024),
    /**
     * permessage-deflate is off by default: ws compresses a broadcast once per recipient and keeps
     * zlib state per connection, while Yjs frames are small and dense (docs/architecture.md).
     */
    compression: z.stringbool().default(false),
    compressionThreshold: int(0, 256 * 1024 * 1024).default(1024),
    /** How long shutdown waits for clients to close, and then again for storage to take what is queued. */
    shutdownGraceMs: int(0, 60_000).default(2_000),
    /** An HTTP or upgrade request whose headers have not all arrived by then is closed. */
    handshakeTimeoutMs: int(500, 120_000).default(5_000),
    /** A leave is recorded this long after it happens, unless the same person comes back first (then neither is). */
    leaveGraceMs: int(0, 600_000).default(3_000),
    /** Activity entries (joins, leaves, renames) one address may cause per minute; beyond, they are not recorded. */
    activityPerMinute: int(1, 1_000_000).default(60),
    /** Newest activity entries and app events kept per room. */
    activityRetention: int(50, 100_000_000).default(1_000),
    /** Activity entries older than this many days are deleted (the newest one stays). */
    activityRetentionDays: int(1, 100_000).default(90),
    /** An automatic version of a document is taken once edits have paused this long (see history/versioner.ts). */
    versionQuietMs: int(10, 86_400_000).default(30_000),
    /** …and at least this often while editing goes on. */
    versionMaxIntervalMs: int(10, 86_400_000).default(300_000),
    /** Newest automatic versions kept per document (named versions are always kept). */
    versionRetention: int(1, 1_000_000).default(200),
    /** Automatic versions older than this many days are deleted (the newest version always stays). */
    versionRetentionDays: int(1, 100_000).default(30),
    /** Turns the admin API (/api/admin, the /admin page, `npm run admin`) on; it needs `Authorization: Bearer <token>`. */
    adminToken: z.string().min(16, 'must be at least 16 characters').optional(),
    /** Serve /metrics on this port (on `host`) instead of the main port. */
    metricsPort: int(1, 65535).optional(),
    /** When set, /metrics needs `Authorization: Bearer <token>`. */
    metricsToken: z.string().min(16, 'must be at least 16 characters').optional(),
    logLevel: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),

    tlsCert: z.string().min(1).optional(),
    tlsKey: z.string().min(1).optional(),

    auth: z.enum(['guest', 'jwt']).default('guest'),
    jwtSecret: z.string().min(32, 'must be at least 32 characters (256 bits) for HS256').optional(),
    jwtPublicKeyFile: z.string().min(1).optional(),
    jwtJwksUrl: z.url().optional(),
    jwtIssuer: z.string().min(1).optional(),
    jwtAudience: z.string().min(1).optional(),

    /** Comma-separated origins allowed to open WebSockets besides the server's own; `*` allows any. */
    allowedOrigins: z
      .string()
      .default('')
      .transform((list) =>
        list
          .split(',')
          .map((origin) => origin.trim().toLowerCase().replace(/\/$/, ''))
          .filter(Boolean),
      ),
    /**
     * Proxies whose `X-Forwarded-For` names the client for the per-address limits (comma-separated
     * IPs or CIDR ranges, or `loopback`, `linklocal`, `uniquelocal`); see transport/client-address.ts.
     */
    trustProxy: commaList.superRefine((entries, ctx) => {
      for (const entry of entries) {
        try {
          proxyAddr.compile(entry);
        } catch {
          ctx.addIssue({ code: 'custom', message: `"${entry}" is not an IP address, a CIDR range, loopback, linklocal or uniquelocal` });
        }
      }
    }),
    maxConnectionsPerIp: int(1, 1_000_000).default(256),
    handshakesPerSecondPerIp: int(1, 1_000_000).default(50),
    maxConnectionsPerRoom: int(1, 1_000_000).default(2_000),
    messagesPerSecond: int(1, 1_000_000).default(200),
    bytesPerSecond: int(1024, 1024 * 1024 * 1024).default(4 * 1024 * 1024),
    rateLimitCloseAfterMs: int(100, 600_000).default(5_000),
    maxDocumentBytes: int(1024, 1024 * 1024 * 1024).default(32 * 1024 * 1024),
    maxPendingBytes: int(1024, 1024 * 1024 * 1024).default(8 * 1024 * 1024),
    maxBufferedBytes: int(1024, 1024 * 1024 * 1024).default(16 * 1024 * 1024),

    /** Comma-separated http(s) URLs that receive signed webhook events (docs/webhooks.md). */
    webhookUrls: commaList.superRefine((urls, ctx) => {
      for (const url of urls) {
        if (!/^https?:\/\/[^/]/.test(url) || !URL.canParse(url))
          ctx.addIssue({ code: 'custom', message: `"${url}" is not an http(s) URL` });
      }
    }),
    /** The HMAC-SHA256 key webhook deliveries are signed with. */
    webhookSecret: z.string().min(16, 'must be at least 16 characters').optional(),
    /** Comma-separated event types to send (default: all). */
    webhookEvents: commaList.pipe(z.array(z.enum(WEBHOOK_EVENT_TYPES))),
  })
  .superRefine((config, ctx) => {
    if (config.redisUrl !== undefined && config.databaseUrl === undefined) {
      ctx.addIssue({
        code: 'custom',
        path: ['redisUrl'],
        message:
          'cluster mode needs DATABASE_URL as well: the nodes share their storage in PostgreSQL (set both, or neither for one node on SQLite)',
      });
    }
    if (config.webhookUrls.length > 0 && config.webhookSecret === undefined) {
      ctx.addIssue({ code: 'custom', path: ['webhookSecret'], message: 'WEBHOOK_URLS needs a secret to sign the deliveries with' });
    }
    if ((config.tlsCert === undefined) !== (config.tlsKey === undefined)) {
      ctx.addIssue({ code: 'custom', path: ['tlsKey'], message: 'TLS needs both --tls-cert and --tls-key' });
    }
    const keys = [config.jwtSecret, config.jwtPublicKeyFile, config.jwtJwksUrl].filter(Boolean).length;
    if (config.auth === 'jwt' && keys !== 1) {
      ctx.addIssue({
        code: 'custom',
        path: ['auth'],
        message: 'jwt mode needs exactly one of JWT_SECRET, JWT_PUBLIC_KEY_FILE, JWT_JWKS_URL',
      });
    }
  });

export type Config = Readonly<z.infer<typeof ConfigSchema>>;
export type ConfigInput = z.input<typeof ConfigSchema>;

/** Command-line flag, environment variable and config key of each setting. */
const SOURCES = {
  port: ['port', 'PORT'],
  host: ['host', 'HOST'],
  dataDir: ['data', 'DATA_DIR'],
  databaseUrl: ['database-url', 'DATABASE_URL'],
  redisUrl: ['redis-url', 'REDIS_URL'],
  compactDelayMs: ['compact-delay', 'COMPACT_DELAY_MS'],
  staticDir: ['static', 'STATIC_DIR'],
  pingIntervalMs: ['ping-interval', 'PING_INTERVAL_MS'],
  roomIdleMs: ['room-idle', 'ROOM_IDLE_MS'],
  flushIntervalMs: ['flush-interval', 'FLUSH_INTERVAL_MS'],
  compactAfterUpdates: ['compact-after', 'COMPACT_AFTER_UPDATES'],
  fanoutIntervalMs: ['fanout-interval', 'FANOUT_INTERVAL_MS'],
  maxPayloadBytes: ['max-payload', 'MAX_PAYLOAD_BYTES'],
  compression: ['compression', 'COMPRESSION'],
  compressionThreshold: ['compression-threshold', 'COMPRESSION_THRESHOLD'],
  shutdownGraceMs: ['shutdown-grace', 'SHUTDOWN_GRACE_MS'],
  handshakeTimeoutMs: ['handshake-timeout', 'HANDSHAKE_TIMEOUT_MS'],
  leaveGraceMs: ['leave-grace', 'LEAVE_GRACE_MS'],
  activityPerMinute: ['activity-per-minute', 'ACTIVITY_PER_MINUTE_PER_IP'],
  activityRetention: ['activity-retention', 'ACTIVITY_RETENTION'],
  activityRetentionDays: ['activity-retention-days', 'ACTIVITY_RETENTION_DAYS'],
  versionQuietMs: ['version-quiet', 'VERSION_QUIET_MS'],
  versionMaxIntervalMs: ['version-max-interval', 'VERSION_MAX_INTERVAL_MS'],
  versionRetention: ['version-retention', 'VERSION_RETENTION'],
  versionRetentionDays: ['version-retention-days', 'VERSION_RETENTION_DAYS'],
  adminToken: ['admin-token', 'ADMIN_TOKEN'],
  metricsPort: ['metrics-port', 'METRICS_PORT'],
  metricsToken: ['metrics-token', 'METRICS_TOKEN'],
  logLevel: ['log-level', 'LOG_LEVEL'],
  tlsCert: ['tls-cert', 'TLS_CERT'],
  tlsKey: ['tls-key', 'TLS_KEY'],
  auth: ['auth', 'AUTH_MODE'],
  jwtSecret: ['jwt-secret', 'JWT_SECRET'],
  jwtPublicKeyFile: ['jwt-public-key', 'JWT_PUBLIC_KEY_FILE'],
  jwtJwksUrl: ['jwt-jwks-url', 'JWT_JWKS_URL'],
  jwtIssuer: ['jwt-issuer', 'JWT_ISSUER'],
  jwtAudience: ['jwt-audience', 'JWT_AUDIENCE'],
  allowedOrigins: ['allowed-origins', 'ALLOWED_ORIGINS'],
  trustProxy: ['trust-proxy', 'TRUST_PROXY'],
  maxConnectionsPerIp: ['max-connections-per-ip', 'MAX_CONNECTIONS_PER_IP'],
  handshakesPerSecondPerIp: ['handshakes-per-second', 'HANDSHAKES_PER_SECOND_PER_IP'],
  maxConnectionsPerRoom: ['max-connections-per-room', 'MAX_CONNECTIONS_PER_ROOM'],
  messagesPerSecond: ['messages-per-second', 'MESSAGES_PER_SECOND'],
  bytesPerSecond: ['bytes-per-second', 'BYTES_PER_SECOND'],
  rateLimitCloseAfterMs: ['rate-limit-close-after', 'RATE_LIMIT_CLOSE_AFTER_MS'],
  maxDocumentBytes: ['max-document-bytes', 'MAX_DOCUMENT_BYTES'],
  maxPendingBytes: ['max-pending-bytes', 'MAX_PENDING_BYTES'],
  maxBufferedBytes: ['max-buffered-bytes', 'MAX_BUFFERED_BYTES'],
  webhookUrls: ['webhook-urls', 'WEBHOOK_URLS'],
  webhookSecret: ['webhook-secret', 'WEBHOOK_SECRET'],
  webhookEvents: ['webhook-events', 'WEBHOOK_EVENTS'],
} as const satisfies Record<keyof Config, readonly [string, string]>;

/**
 * Pages on Vite's dev server that connect to :8000 directly, allowed by default only under
 * NODE_ENV=development. Through Vite's proxy, which keeps the Host header, the app is same-origin.
 */
const DEV_ORIGINS = 'http://localhost:5173,http://127.0.0.1:5173';

export class ConfigError extends Error {
  override name = 'ConfigError';
}

/** Validates settings (with defaults filled in) and freezes them. */
export function makeConfig(input: ConfigInput = {}): Config {
  const result = ConfigSchema.safeParse(input);
  if (!result.success) {
    const problems = result.error.issues.map((issue) => {
      const key = issue.path[0] as keyof Config | undefined;
      const where = key && key in SOURCES ? `${key} (--${SOURCES[key][0]} / ${SOURCES[key][1]})` : String(key ?? 'config');
      return `  ${where}: ${issue.message}`;
    });
    throw new ConfigError(`Invalid configuration:\n${problems.join('\n')}`);
  }
  return Object.freeze(result.data);
}

/** Reads settings from command-line flags first, then environment variables. */
export function configFromProcess(argv: string[], env: NodeJS.ProcessEnv): Config {
  const options = Object.fromEntries(Object.values(SOURCES).map(([flag]) => [flag, { type: 'string' as const }]));
  let values: Record<string, string | boolean | undefined>;
  try {
    ({ values } = parseArgs({ args: argv, options: { ...options, help: { type: 'boolean' } }, strict: true }));
  } catch (error) {
    throw new ConfigError(`${(error as Error).message}\n${usage()}`);
  }
  if (values.help) throw new ConfigError(usage());
  const input: Record<string, string> = {};
  for (const [key, [flag, envName]] of Object.entries(SOURCES)) {
    const value = values[flag] ?? env[envName];
    if (typeof value === 'string' && value !== '') input[key] = value;
  }
  if (input.allowedOrigins === undefined && env.NODE_ENV === 'development') input.allowedOrigins = DEV_ORIGINS;
  return makeConfig(input as ConfigInput);
}

export function usage(): string {
  const lines = Object.entries(SOURCES).map(([, [flag, envName]]) => `  --${flag.padEnd(22)} ${envName}`);
  return `Usage: tandem-server [options]\n\nEvery option can also be set by the environment variable beside it:\n${lines.join('\n')}`;
}
