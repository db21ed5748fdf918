import { Server } from '@hocuspocus/server';
import { ready } from './ready.js';

// Hocuspocus with no extensions (no persistence), as its quick start runs it.
const server = new Server({ port: 0, address: '127.0.0.1', quiet: true, stopOnSignals: false });
await server.listen();
ready(server.address.port);
