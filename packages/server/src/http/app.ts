import { createServer, type RequestListener } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import fastifyHelmet from '@fastify/helmet';
import Fastify, { LogController, type FastifyBaseLogger, type FastifyInstance, type FastifySchema } from 'fastify';
import type { Logger } from 'pino';
import { MAX_ROOM_NAME, type Member } from '@tandem/protocol';
import type { Authenticator } from '../auth/authenticator.js';
import type { Storage } from '../storage/storage.js';
import type { StorageHealth } from '../storage/health.js';
import type { Metrics } from '../lib/metrics.js';
import type { Gateway } from '../transport/gateway.js';
import { registerAdminRoutes, type AdminOptions } from './admin.js';
import { registerDocumentRoutes } from './documents.js';
import { registerDocumentApiRoutes } from './document-api.js';
import { registerVersionRoutes } from './versions.js';
import { handleErrors, sendError } from './errors.js';
import { answerScrape } from './metrics.js';
import { serveOpenApi } from './openapi.js';
import { addSharedSchemas, errors } from './schemas.js';
import { serveWebApp } from './web-app.js';

/** What Tandem's HTTP routes need: on its own server, or inside an app's Fastify (see embed.ts). */
export interface RouteOptions {
  log: Logger;
  storage: Storage;
  authenticator: Authenticator;
  stats: () => Record<string, number>;
  storageHealth: () => StorageHealth;
  /** True once the server has begun to shut down. */
  shuttingDown: () => boolean;
  /** The admin API's options (see http/admin.ts). */
  admin: AdminOptions;
  /** Served at /metrics (null: not on this port). */
  metrics: Metrics | null;
  metricsToken: string | null;
  /** Who is in each room (across the cluster in cluster mode). */
  whoIsIn: (rooms: readonly string[]) => Promise<Map<string, Member[]>>;
  /** What keeps this node from serving new clients besides storage writes (Redis, PostgreSQL unreachable). */
  readinessProblems: () => Promise<string[]>;
  /** What a WebSocket handshake to a request's URL would get (see Gateway.probe). */
  probeHandshake: Gateway['probe'];
}

export interface HttpAppOptions extends RouteOptions {
  staticDir: string;
  /** Serve https (and so wss) with this certificate and key. */
  tls: { cert: Buffer; key: Buffer } | null;
  /** A request (an upgrade included) whose headers have not all arrived by then is closed. */
  handshakeTimeoutMs: number;
}

/** Tandem's own server: its HTTP routes and the built web app, on the server that takes WebSocket upgrades. */
export async function createHttpApp(options: HttpAppOptions): Promise<FastifyInstance> {
  const { log, staticDir, tls, handshakeTimeoutMs } = options;
  // Node's defaults let a request take 60 s to send its headers, checked every 30 s: half-open
  // upgrade requests then held sockets for up to 90 s.
  const timeouts = {
    headersTimeout: handshakeTimeoutMs,
    connectionsCheckingInterval: Math.max(100, Math.min(1_000, handshakeTimeoutMs / 4)),
  };
  const app = Fastify({
    serverFactory: (handler: RequestListener) =>
      tls ? createHttpsServer({ ...tls, ...timeouts, handshakeTimeout: handshakeTimeoutMs }, handler) : createServer(timeouts, handler),
    loggerInstance: log as FastifyBaseLogger,
    // One log line per request is noise next to the WebSocket traffic this server exists for.
    logController: new LogController({ disableRequestLogging: true }),
    forceCloseConnections: true,
    // Refuse wrong types and unknown keys instead of silently converting or dropping them.
    ajv: { customOptions: { coerceTypes: false, removeAdditional: false } },
    // Document names in URLs: each of up to 128 characters is up to 9 once percent-encoded. Longer
    // names still reach the route, which says what is wrong with them.
    routerOptions: { maxParamLength: MAX_ROOM_NAME * 9 },
  });
  handleErrors(app);

  await app.register(fastifyHelmet, {
    contentSecurityPolicy: {
      useDefaults: false,
      directives: {
        defaultSrc: ["'self'"],
        scriptSrc: ["'self'"],
        // The editor positions remote carets and selections with style attributes.
        styleSrc: ["'self'"],
        styleSrcAttr: ["'unsafe-inline'"],
        imgSrc: ["'self'", 'data:'],
        connectSrc: ["'self'"],
        fontSrc: ["'self'"],
        objectSrc: ["'none'"],
        baseUri: ["'self'"],
        formAction: ["'self'"],
        frameAncestors: ["'none'"],
      },
    },
    // Plain-http deployments (a LAN, localhost) must keep working: no forced upgrade or HSTS there.
    strictTransportSecurity: tls !== null,
    crossOriginEmbedderPolicy: false,
  });
  await serveOpenApi(app);
  registerTandemRoutes(app, options);
  await serveWebApp(app, staticDir);
  return app;
}

/** Health, readiness, metrics, the handshake probe, and the document and admin APIs. */
export function registerTandemRoutes(app: FastifyInstance, options: RouteOptions): void {
  const { log, storage, authenticator, stats, storageHealth, shuttingDown, readinessProblems, whoIsIn, admin, metrics, metricsToken } =
    options;
  const { probeHandshake } = options;
  addSharedSchemas(app);
  const health = { type: 'object', required: ['status'], additionalProperties: true, properties: { status: { type: 'string' } } };
  const healthSchema = { summary: 'Liveness: whether storage takes writes, with counts', response: { 200: health, 503: health } };
  app.get('/healthz', { schema: healthSchema }, async (_request, reply) => {
    const health = storageHealth();
    if (health.ok) return { status: 'ok', ...stats() };
    // 503 so that a load balancer or monitor notices: acknowledged work cannot be stored.
    return reply.code(503).send({
      status: 'failing',
      reason: `storage writes are failing: ${health.error}`,
      since: new Date(health.since).toISOString(),
      ...stats(),
    });
  });
  // Readiness (for a load balancer): 503 with the reasons while this node should get no new clients.
  const readiness = {
    type: 'object',
    required: ['status'],
    properties: { status: { type: 'string', enum: ['pass', 'fail'] }, notes: { type: 'array', items: { type: 'string' } } },
  };
  const readySchema = { summary: 'Readiness for new clients, with the reasons when not', response: { 200: readiness, 503: readiness } };
  app.get('/readyz', { schema: readySchema }, async (_request, reply) => {
    const health = storageHealth();
    const notes = [
      ...(health.ok ? [] : [`storage writes are failing: ${health.error}`]),
      ...(shuttingDown() ? ['shutting down'] : []),
      ...(await readinessProblems()),
    ];
    return reply
      .code(notes.length === 0 ? 200 : 503)
      .type('application/health+json')
      .send(notes.length === 0 ? { status: 'pass' } : { status: 'fail', notes });
  });
  const metricsSchema = {
    summary: 'Prometheus metrics (Authorization: Bearer METRICS_TOKEN when that is set)',
    response: {
      200: { description: 'Prometheus text format', content: { 'text/plain': { schema: { type: 'string' } } } },
      ...errors(401, 404),
    },
  };
  app.get('/metrics', { schema: metricsSchema }, async (request, reply) => {
    if (!metrics) return sendError(reply, 404, 'not_found', 'the metrics are served on METRICS_PORT');
    reply.hijack();
    await answerScrape(metrics, metricsToken, request.raw, reply.raw).catch((error: unknown) => {
      log.error({ err: error }, 'collecting the metrics failed');
      if (!reply.raw.headersSent) reply.raw.writeHead(500);
      reply.raw.end();
    });
  });
  // Browsers hide why a handshake was refused; the SDK asks here (any origin may read the answer: it holds nothing private).
  const probeSchema: FastifySchema = {
    summary: 'What a WebSocket handshake to /ws/<document> would get (the token as ?token=)',
    params: { type: 'object', properties: { '*': { type: 'string', description: 'The document name' } } },
    response: { 200: { type: 'object', properties: { ok: { type: 'boolean' } } }, ...errors(400, 401, 403, 404, 429, 503) },
  };
  app.get('/ws/*', { schema: probeSchema }, async (request, reply) => {
    const { status, body, headers } = await probeHandshake(request.raw);
    return reply
      .code(status)
      .headers({ ...headers, 'access-control-allow-origin': '*', 'cache-control': 'no-store' })
      .send(body);
  });
  registerDocumentRoutes(app, storage, whoIsIn, authenticator, admin.registry);
  registerDocumentApiRoutes(app, { authenticator, storage, whoIsIn, registry: admin.registry, actions: admin.actions });
  registerVersionRoutes(app, storage, admin.registry, authenticator);
  registerAdminRoutes(app, admin);
}
