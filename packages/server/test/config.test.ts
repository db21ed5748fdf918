import { describe, expect, it } from 'vitest';
import { ConfigError, configFromProcess, makeConfig } from '../src/index.js';

describe('configuration', () => {
  it('fills in defaults and freezes the result', () => {
    const config = makeConfig();
    expect(config).toMatchObject({ port: 8000, dataDir: './data', pingIntervalMs: 30_000, flushIntervalMs: 50 });
    expect(Object.isFrozen(config)).toBe(true);
  });

  it('prefers command-line flags over environment variables', () => {
    const config = configFromProcess(['--port', '9001'], { PORT: '9002', DATA_DIR: '/tmp/x', PING_INTERVAL_MS: '1000' });
    expect(config).toMatchObject({ port: 9001, dataDir: '/tmp/x', pingIntervalMs: 1000 });
  });

  it('names the flag and variable of every bad setting', () => {
    expect(() => configFromProcess(['--port', '70000'], { FLUSH_INTERVAL_MS: 'soon' })).toThrow(ConfigError);
    try {
      configFromProcess(['--port', '70000'], { FLUSH_INTERVAL_MS: 'soon' });
    } catch (error) {
      expect((error as Error).message).toMatch(/port \(--port \/ PORT\): .*65535/);
      expect((error as Error).message).toMatch(/flushIntervalMs \(--flush-interval \/ FLUSH_INTERVAL_MS\)/);
    }
  });

  it('refuses an unknown flag with the usage text', () => {
    expect(() => configFromProcess(['--prot', '1'], {})).toThrow(/Unknown option '--prot'[\s\S]*Usage: tandem/);
  });

  it("allows Vite's dev origins by default only under NODE_ENV=development", () => {
    const dev = ['http://localhost:5173', 'http://127.0.0.1:5173'];
    expect(makeConfig().allowedOrigins).toEqual([]);
    expect(configFromProcess([], {}).allowedOrigins).toEqual([]);
    expect(configFromProcess([], { NODE_ENV: 'production' }).allowedOrigins).toEqual([]);
    expect(configFromProcess([], { NODE_ENV: 'test' }).allowedOrigins).toEqual([]);
    expect(configFromProcess([], { NODE_ENV: 'development' }).allowedOrigins).toEqual(dev);
    const given = { NODE_ENV: 'development', ALLOWED_ORIGINS: 'https://App.example/' };
    expect(configFromProcess([], given).allowedOrigins).toEqual(['https://app.example']);
    expect(configFromProcess(['--allowed-origins', '*'], { NODE_ENV: 'development' }).allowedOrigins).toEqual(['*']);
  });

  it('chooses the mode from REDIS_URL and DATABASE_URL, and refuses Redis without PostgreSQL, naming the setting', () => {
    const single = configFromProcess([], {});
    expect([single.redisUrl, single.databaseUrl]).toEqual([undefined, undefined]);
    expect(configFromProcess([], { DATABASE_URL: 'postgres://db/tandem' })).toMatchObject({ databaseUrl: 'postgres://db/tandem' });
    const cluster = configFromProcess([], { DATABASE_URL: 'postgres://db/tandem', REDIS_URL: 'redis://cache:6379' });
    expect(cluster).toMatchObject({ redisUrl: 'redis://cache:6379', databaseUrl: 'postgres://db/tandem' });
    expect(() => configFromProcess([], { REDIS_URL: 'redis://cache:6379' })).toThrow(
      /redisUrl \(--redis-url \/ REDIS_URL\): cluster mode needs DATABASE_URL/,
    );
    expect(() => configFromProcess([], { REDIS_URL: 'http://cache', DATABASE_URL: 'postgres://db/x' })).toThrow(
      /REDIS_URL\): must be a redis:\/\//,
    );
  });
});
