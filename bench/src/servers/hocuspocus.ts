import { parseArgs } from 'node:util';
import { Redis } from '@hocuspocus/extension-redis';
import { Server } from '@hocuspocus/server';
import { ready } from './ready.js';

// Hocuspocus with no persistence, as its quick start runs it. With --redis-url, one node of a
// cluster: @hocuspocus/extension-redis relays updates and awareness between the nodes.
const { values } = parseArgs({ options: { 'redis-url': { type: 'string' } } });
const redis = values['redis-url'] === undefined ? null : new URL(values['redis-url']);
const server = new Server({
  port: 0,
  address: '127.0.0.1',
  quiet: true,
  stopOnSignals: false,
  extensions: redis ? [new Redis({ host: redis.hostname, port: Number(redis.port) })] : [],
});
await server.listen();
ready(server.address.port);
