import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { z } from 'zod';

const defaultStaticDir = fileURLToPath(new URL('../../../apps/web/dist', import.meta.url));

const int = (min: number, max: number) => z.coerce.number().int().min(min).max(max);

/** Every setting, its type, bounds and default. The README's configuration table mirrors it. */
const ConfigSchema = z.strictObject({
  port: int(0, 65535).default(8000),
  host: z.string().min(1).optional(),
  dataDir: z.string().min(1).default('./data'),
  staticDir: z.string().min(1).default(defaultStaticDir),
  pingIntervalMs: int(100, 3_600_000).default(30_000),
  roomIdleMs: int(0, 3_600_000).default(5_000),
  flushIntervalMs: int(1, 10_000).default(50),
  compactAfterUpdates: int(1, 1_000_000).default(500),
  maxPayloadBytes: int(1024, 256 * 1024 * 1024).default(1024 * 1024),
  compressionThreshold: int(0, 256 * 1024 * 1024).default(1024),
  shutdownGraceMs: int(0, 60_000).default(2_000),
  logLevel: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
});

export type Config = Readonly<z.infer<typeof ConfigSchema>>;
export type ConfigInput = z.input<typeof ConfigSchema>;

/** Command-line flag, environment variable and config key of each setting. */
const SOURCES = {
  port: ['port', 'PORT'],
  host: ['host', 'HOST'],
  dataDir: ['data', 'DATA_DIR'],
  staticDir: ['static', 'STATIC_DIR'],
  pingIntervalMs: ['ping-interval', 'PING_INTERVAL_MS'],
  roomIdleMs: ['room-idle', 'ROOM_IDLE_MS'],
  flushIntervalMs: ['flush-interval', 'FLUSH_INTERVAL_MS'],
  compactAfterUpdates: ['compact-after', 'COMPACT_AFTER_UPDATES'],
  maxPayloadBytes: ['max-payload', 'MAX_PAYLOAD_BYTES'],
  compressionThreshold: ['compression-threshold', 'COMPRESSION_THRESHOLD'],
  shutdownGraceMs: ['shutdown-grace', 'SHUTDOWN_GRACE_MS'],
  logLevel: ['log-level', 'LOG_LEVEL'],
} as const satisfies Record<keyof Config, readonly [string, string]>;

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
  const options = Object.fromEntries(
    Object.values(SOURCES).map(([flag]) => [flag, { type: 'string' as const }]),
  );
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
  return makeConfig(input as ConfigInput);
}

export function usage(): string {
  const lines = Object.entries(SOURCES).map(([, [flag, envName]]) => `  --${flag.padEnd(22)} ${envName}`);
  return `Usage: tandem [options]\n\nEvery option can also be set by the environment variable beside it:\n${lines.join('\n')}`;
}
