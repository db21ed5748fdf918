import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { makeConfig, startTandem } from '@tandem/server';
import { ready } from './ready.js';

// Tandem as shipped (SQLite persistence on), with the abuse limits lifted: the load generator
// opens thousands of connections from one address. With --redis-url and --database-url, one node
// of a cluster (Redis streams between the nodes, PostgreSQL for storage).
const { values } = parseArgs({ options: { 'redis-url': { type: 'string' }, 'database-url': { type: 'string' } } });
const server = await startTandem(
  makeConfig({
    port: 0,
    host: '127.0.0.1',
    logLevel: 'warn',
    // A node on PostgreSQL has no SQLite file.
    ...(values['database-url'] ? { databaseUrl: values['database-url'] } : { dataDir: mkdtempSync(join(tmpdir(), 'tandem-bench-')) }),
    redisUrl: values['redis-url'],
    maxConnectionsPerIp: 1_000_000,
    handshakesPerSecondPerIp: 1_000_000,
    maxConnectionsPerRoom: 1_000_000,
    messagesPerSecond: 1_000_000,
    bytesPerSecond: 1024 * 1024 * 1024,
    // Every join is recorded, as before there was a per-address activity rate.
    activityPerMinute: 1_000_000,
    // The fan-out interval trades latency for CPU under load: FANOUT_INTERVAL_MS=0 npm run bench … compares.
    ...(process.env.FANOUT_INTERVAL_MS ? { fanoutIntervalMs: process.env.FANOUT_INTERVAL_MS } : {}),
  }),
);
ready(server.port);
