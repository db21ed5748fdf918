import { timingSafeEqual } from 'node:crypto';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Logger } from 'pino';
import type { Compactor } from '../cluster/compactor.js';
import type { Traffic } from '../lib/traffic.js';
import type { AdminActions } from '../rooms/admin-actions.js';
import type { RoomRegistry } from '../rooms/registry.js';
import type { StorageHealth } from '../storage/health.js';
import { sendError } from './errors.js';
import { documentParams, errors } from './schemas.js';

const LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;

export interface AdminOptions {
  /** null: the admin API is off, and answers 403 saying how to turn it on. */
  token: string | null;
  registry: RoomRegistry;
  actions: AdminActions;
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
 * its activity history. Every request needs `Authorization: Bearer <ADMIN_TOKEN>`. The room list
 * shows this node's rooms; actions reach every node's members (see AdminActions).
 */
export function registerAdminRoutes(app: FastifyInstance, options: AdminOptions): void {
  const { registry, actions, traffic, log } = options;
  const authorized = async (request: FastifyRequest, reply: FastifyReply): Promise<boolean> => {
    if (options.token === null) {
      await sendError(reply, 403, 'forbidden', 'the admin API is off: start the server with ADMIN_TOKEN set');
      return false;
    }
    const given = Buffer.from(/^Bearer (.+)$/i.exec(request.headers.authorization ?? '')?.[1] ?? '');
    const expected = Buffer.from(options.token);
    if (given.length !== expected.length || !timingSafeEqual(given, expected)) {
      reply.header('WWW-Authenticate', 'Bearer');
      await sendError(reply, 401, 'unauthorized', 'the admin API needs Authorization: Bearer <ADMIN_TOKEN>');
      return false;
    }
    return true;
  };
  const room = async (name: string, reply: FastifyReply) => {
    const found = registry.get(name);
    if (!found) await sendError(reply, 404, 'not_found', `room "${name}" is not loaded on this node`);
    return found ?? null;
  };

  const security = [{ adminToken: [] }];
  const roomsSchema = {
    summary: 'Live rooms on this node, refusals, closes, errors and storage health',
    security,
    response: {
      200: {
        type: 'object',
        additionalProperties: true,
        properties: { rooms: { type: 'array', items: { type: 'object', additionalProperties: true } } },
      },
      ...errors(401, 403),
    },
  };
  app.get('/api/admin/rooms', { schema: roomsSchema }, async (request, reply) => {
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
        summary: 'Disconnect a member on every node (4001)',
        security,
        params: documentParams,
        response: { 200: { type: 'object', properties: { disconnected: { type: 'integer' } } }, ...errors(400, 401, 403, 404) },
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
      const { name } = request.params;
      const { member } = request.body;
      const result = await actions.disconnect(name, member);
      if (!result) return sendError(reply, 404, 'not_found', `no member "${member}" in "${name}"`);
      log.info({ room: name, member, ...result }, 'admin: member disconnected');
      return result;
    },
  );

  const closeSchema = {
    summary: 'Close every connection to the room on every node (4002)',
    security,
    params: documentParams,
    response: { 200: { type: 'object', properties: { closed: { type: 'integer' } } }, ...errors(401, 403, 404) },
  };
  app.post<{ Params: { name: string } }>('/api/admin/rooms/:name/close', { schema: closeSchema }, async (request, reply) => {
    if (!(await authorized(request, reply))) return reply;
    const { name } = request.params;
    const result = await actions.close(name);
    if (!result) return sendError(reply, 404, 'not_found', `nobody is in room "${name}"`);
    log.info({ room: name, ...result }, 'admin: room closed');
    return result;
  });

  app.post<{ Params: { name: string }; Body: { readOnly: boolean } }>(
    '/api/admin/rooms/:name/read-only',
    {
      schema: {
        summary: 'Turn editing of the document off or on',
        security,
        params: documentParams,
        body: { type: 'object', required: ['readOnly'], additionalProperties: false, properties: { readOnly: { type: 'boolean' } } },
        response: { 200: { type: 'object', properties: { readOnly: { type: 'boolean' } } }, ...errors(400, 401, 403, 404) },
      },
    },
    async (request, reply) => {
      if (!(await authorized(request, reply))) return reply;
      const { name } = request.params;
      const document = await actions.setReadOnly(name, request.body.readOnly);
      if (!document) return sendError(reply, 404, 'not_found', `no document "${name}"`);
      log.info({ room: name, readOnly: document.readOnly }, `admin: document made ${document.readOnly ? 'read-only' : 'writable'}`);
      return { readOnly: document.readOnly };
    },
  );

  const deleteSchema = {
    summary: 'Delete the document and everything stored of it (its sessions close with 4003 on every node)',
    security,
    params: documentParams,
    response: {
      200: { type: 'object', properties: { deleted: { type: 'boolean' }, closed: { type: 'integer' } } },
      ...errors(401, 403, 404),
    },
  };
  app.delete<{ Params: { name: string } }>('/api/admin/rooms/:name', { schema: deleteSchema }, async (request, reply) => {
    if (!(await authorized(request, reply))) return reply;
    const { name } = request.params;
    const result = await actions.delete(name);
    if (!result) return sendError(reply, 404, 'not_found', `no document "${name}"`);
    log.warn({ room: name, ...result }, 'admin: document deleted');
    return { deleted: true, ...result };
  });

  const compactSchema = {
    summary: 'Compact the room’s update log now',
    security,
    params: documentParams,
    response: {
      // position: how far into the room's stream (cluster mode), or null
      200: { type: 'object', additionalProperties: true, properties: { compacted: { type: 'boolean' } } },
      ...errors(401, 403, 404),
    },
  };
  app.post<{ Params: { name: string } }>('/api/admin/rooms/:name/compact', { schema: compactSchema }, async (request, reply) => {
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
      schema: {
        summary: 'Change the log level',
        security,
        body: { type: 'object', required: ['level'], additionalProperties: false, properties: { level: { enum: [...LEVELS] } } },
        response: { 200: { type: 'object', properties: { level: { type: 'string' } } }, ...errors(400, 401, 403) },
      },
    },
    async (request, reply) => {
      if (!(await authorized(request, reply))) return reply;
      log.level = request.body.level;
      log.warn({ level: log.level }, `admin: log level is now ${log.level}`);
      return { level: log.level };
    },
  );
}
