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
});
