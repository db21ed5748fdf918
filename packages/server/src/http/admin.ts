import { timingSafeEqual } from 'node:crypto';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Logger } from 'pino';
import type { Compactor } from '../cluster/compactor.js';
import type { Traffic } from '../lib/traffic.js';
import type { RoomRegistry } from '../rooms/registry.js';
import type { StorageHealth } from '../storage/health.js';

const LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;

export interface AdminOptions {
  /** null: the admin API is off, and answers 403 saying how to turn it on. */
  token: string | null;
  registry: RoomRegistry;
  traffic: Traffic;
  storageHealth: () => StorageHealth;
  /** In cluster mode, compaction into PostgreSQL runs through the compactor. */
  compactor: Compactor | null;
  log: Logger;
}

/** For a message rate between two calls of the room list: frames received, and when, per room. */
const lastSample = new WeakMap<object, { frames: number; at: number }>();

/**
 * The admin API under /api/admin (for the /admin page and `npm run admin`): live rooms with their
 * members, connections, sizes and rates; refusals by code; and actions on a room, each written to
 * its activity history. Every request needs `Authorization: Bearer <ADMIN_TOKEN>`. Actions reach
 * the members connected to this node (in a cluster, call the node that serves them).
 */
export function registerAdminRoutes(app: FastifyInstance, options: AdminOptions): void {
  const { registry, traffic, log } = options;
  const authorized = async (request: FastifyRequest, reply: FastifyReply): Promise<boolean> => {
    if (options.token === null) {
      await reply.code(403).send({ error: 'the admin API is off: start the server with ADMIN_TOKEN set' });
      return false;
    }
    const given = Buffer.from(/^Bearer (.+)$/i.exec(request.headers.authorization ?? '')?.[1] ?? '');
    const expected = Buffer.from(options.token);
    if (given.length !== expected.length || !timingSafeEqual(given, expected)) {
      await reply.code(401).header('WWW-Authenticate', 'Bearer').send({ error: 'the admin API needs Authorization: Bearer <ADMIN_TOKEN>' });
      return false;
    }
    return true;
  };
  const room = async (name: string, reply: FastifyReply) => {
    const found = registry.get(name);
    if (!found) await reply.code(404).send({ error: `room "${name}" is not loaded on this node` });
    return found ?? null;
  };

  app.get('/api/admin/rooms', async (request, reply) => {
    if (!(await authorized(request, reply))) return reply;
    const now = Date.now();
    const rooms = registry.rooms().map((entry) => {
      const overview = entry.overview();
      const previous = lastSample.get(entry) ?? { frames: 0, at: overview.loadedAt };
      lastSample.set(entry, { frames: overview.framesReceived, at: now });
      const seconds = Math.max((now - previous.at) / 1_000, 0.001);
      const { framesReceived, ...rest } = overview;
      return {
        name: entry.name,
        ...rest,
        framesReceived,
        messagesPerSecond: Math.round(((framesReceived - previous.frames) / seconds) * 10) / 10,
      };
    });
    const health = options.storageHealth();
    return {
      rooms,
      refusals: Object.fromEntries(traffic.refusals),
      closes: Object.fromEntries(traffic.closes),
      errors: Object.fromEntries(traffic.errors),
      storage: health.ok ? { ok: true } : { ok: false, error: health.error, since: health.since },
    };
  });

  app.post<{ Params: { name: string }; Body: { member: string } }>(
    '/api/admin/rooms/:name/disconnect',
    {
      schema: {
        body: {
          type: 'object',
          required: ['member'],
          additionalProperties: false,
          properties: { member: { type: 'string', minLength: 1 } },
        },
      },
    },
    async (request, reply) => {
      if (!(await authorized(request, reply))) return reply;
      const target = await room(request.params.name, reply);
      if (!target) return reply;
      const disconnected = target.disconnect(request.body.member);
      if (disconnected === 0) return reply.code(404).send({ error: `no member "${request.body.member}" on this node in "${target.name}"` });
      log.info({ room: target.name, member: request.body.member }, 'admin: member disconnected');
      return { disconnected };
    },
  );

  app.post<{ Params: { name: string } }>('/api/admin/rooms/:name/close', async (request, reply) => {
    if (!(await authorized(request, reply))) return reply;
    const target = await room(request.params.name, reply);
    if (!target) return reply;
    const closed = target.closeByAdmin();
    log.info({ room: target.name, closed }, 'admin: room closed');
    return { closed };
  });

  app.post<{ Params: { name: string } }>('/api/admin/rooms/:name/compact', async (request, reply) => {
    if (!(await authorized(request, reply))) return reply;
    const { name } = request.params;
    if (options.compactor) {
      const position = await options.compactor.compact(name);
      log.info({ room: name, position }, 'admin: room compacted');
      return { compacted: true, position };
    }
    const target = await room(name, reply);
    if (!target) return reply;
    await target.compactByAdmin();
    log.info({ room: name }, 'admin: room compacted');
    return { compacted: true };
  });

  app.put<{ Body: { level: (typeof LEVELS)[number] } }>(
    '/api/admin/log-level',
    {
      schema: { body: { type: 'object', required: ['level'], additionalProperties: false, properties: { level: { enum: [...LEVELS] } } } },
    },
    async (request, reply) => {
      if (!(await authorized(request, reply))) return reply;
      log.level = request.body.level;
      log.warn({ level: log.level }, `admin: log level is now ${log.level}`);
      return { level: log.level };
    },
  );
}
