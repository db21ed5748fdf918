import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { Member, type Rights } from '@tandem/protocol';
import type * as Y from 'yjs';
import type { Authenticator, Identity } from '../auth/authenticator.js';
import type { RoomRegistry } from '../rooms/registry.js';
import type { Room } from '../rooms/room.js';
import type { Storage } from '../storage/storage.js';
import { admitToDocument } from './access.js';
import { sendError } from './errors.js';
import { documentParams, errors, tokenSecurity } from './schemas.js';

const LIST_LIMIT = 500;
const MAX_VERSION_NAME = 120;
/** How an API client's restore is shown when its token names nobody. */
const API_COLOR = '#475569';

type Params = { name: string; id?: string };

const versionParams = {
  type: 'object',
  required: ['name', 'id'],
  properties: { ...documentParams.properties, id: { type: 'string', description: 'The version id' } },
} as const;
const version = {
  type: 'object',
  required: ['id', 'time', 'name', 'authors', 'size'],
  properties: {
    id: { type: 'integer' },
    time: { type: 'number', description: 'ms since the epoch' },
    name: { type: ['string', 'null'], description: 'null for automatic versions' },
    authors: {
      type: 'array',
      description: 'who edited since the previous version',
      items: { type: 'object', required: ['id', 'name'], properties: { id: { type: 'string' }, name: { type: 'string' } } },
    },
    size: { type: 'integer', description: 'bytes of the stored state' },
  },
} as const;

/**
 * A document's version history: GET to list (newest first) or fetch one (its whole state as a
 * Yjs update, `application/octet-stream`), POST to save a named version now or to restore one.
 * Reading needs read rights on the document, saving and restoring write rights.
 */
export function registerVersionRoutes(app: FastifyInstance, storage: Storage, registry: RoomRegistry, authenticator: Authenticator): void {
  /** The identity when it may act on the document; otherwise the error has been sent. */
  const admit = (request: FastifyRequest<{ Params: Params }>, reply: FastifyReply, needed: Rights): Promise<Identity | null> =>
    admitToDocument(authenticator, request, reply, needed);
  const versionId = (reply: FastifyReply, id: string | undefined): number | null => {
    const parsed = Number(id);
    if (Number.isSafeInteger(parsed) && parsed > 0) return parsed;
    void sendError(reply, 404, 'not_found', `no version "${id}"`);
    return null;
  };
  const openRoom = async (name: string, reply: FastifyReply): Promise<Room | null> => {
    const room = await registry.open(name);
    if (!room) await sendError(reply, 503, 'unavailable', `document "${name}" could not be loaded; try again later`);
    return room;
  };

  const listSchema = {
    summary: "List a document's versions, newest first",
    security: tokenSecurity,
    params: documentParams,
    response: {
      200: { type: 'object', required: ['versions'], properties: { versions: { type: 'array', items: version } } },
      ...errors(400, 401, 403),
    },
  };
  app.get<{ Params: Params }>('/api/documents/:name/versions', { schema: listSchema }, async (request, reply) => {
    if (!(await admit(request, reply, 'read'))) return reply;
    return { versions: await storage.listVersions(request.params.name, LIST_LIMIT) };
  });

  const getSchema = {
    summary: "A version's whole document, as one Yjs update (application/octet-stream)",
    security: tokenSecurity,
    params: versionParams,
    response: { ...errors(400, 401, 403, 404) },
  };
  app.get<{ Params: Params }>('/api/documents/:name/versions/:id', { schema: getSchema }, async (request, reply) => {
    if (!(await admit(request, reply, 'read'))) return reply;
    const id = versionId(reply, request.params.id);
    if (id === null) return reply;
    const found = await storage.getVersion(request.params.name, id);
    if (!found) return sendError(reply, 404, 'not_found', `no version ${id} of "${request.params.name}"`);
    return reply.type('application/octet-stream').send(Buffer.from(found.state.buffer, found.state.byteOffset, found.state.byteLength));
  });

  const saveSchema = {
    summary: 'Save a named version of the document as it is now',
    security: tokenSecurity,
    params: documentParams,
    body: {
      type: 'object',
      required: ['name'],
      additionalProperties: false,
      properties: { name: { type: 'string', minLength: 1, maxLength: MAX_VERSION_NAME } },
    },
    response: { 201: version, ...errors(400, 401, 403, 503) },
  };
  app.post<{ Params: Params; Body: { name: string } }>(
    '/api/documents/:name/versions',
    { bodyLimit: 16 * 1024, schema: saveSchema },
    async (request, reply) => {
      if (!(await admit(request, reply, 'write'))) return reply;
      const label = request.body.name.trim();
      if (!label) return sendError(reply, 400, 'bad_request', 'name must not be blank');
      const room = await openRoom(request.params.name, reply);
      if (!room) return reply;
      const saved = await room.saveVersion(label);
      if (!saved) return sendError(reply, 503, 'unavailable', 'the document is not loaded; try again');
      return reply.code(201).send(saved);
    },
  );

  // `applied: true`: the caller's editor made the change itself (so that its user can undo it);
  // only the activity entry is recorded, as `member` when that member is in the room.
  const restoreSchema = {
    summary: 'Restore a version: the document becomes it by a minimal change on top, recorded in the activity',
    security: tokenSecurity,
    params: versionParams,
    body: {
      type: ['object', 'null'],
      additionalProperties: false,
      properties: { applied: { type: 'boolean' }, member: { $ref: 'Member#' } },
    },
    response: {
      200: {
        type: 'object',
        required: ['restored'],
        properties: {
          restored: {
            type: 'object',
            properties: { id: version.properties.id, time: version.properties.time, name: version.properties.name },
          },
        },
      },
      ...errors(400, 401, 403, 404, 413, 503),
    },
  };
  app.post<{ Params: Params; Body: { applied?: boolean; member?: Member } | null }>(
    '/api/documents/:name/versions/:id/restore',
    { bodyLimit: 16 * 1024, schema: restoreSchema },
    async (request, reply) => {
      const identity = await admit(request, reply, 'write');
      if (!identity) return reply;
      const id = versionId(reply, request.params.id);
      if (id === null) return reply;
      const { name } = request.params;
      const found = await storage.getVersion(name, id);
      if (!found) return sendError(reply, 404, 'not_found', `no version ${id} of "${name}"`);
      // Loaded on first use, before the room opens: the editor's schema (TipTap, ProseMirror) costs
      // memory that a node which never restores need not pay.
      const { restoreContent } = await import('../history/restore.js');
      const change = request.body?.applied ? null : (doc: Y.Doc) => restoreContent(doc, found.state);
      const room = await openRoom(name, reply);
      if (!room) return reply;
      const asked = request.body?.member;
      const member = asked && room.members.some((m) => m.id === asked.id) ? Member.parse(asked) : apiMember(identity);
      const refused = await room.restore(change, member, found);
      if (refused === 'read_only') return sendError(reply, 403, 'forbidden', `document "${name}" is read-only`);
      if (refused === 'too_large') return sendError(reply, 413, 'too_large', 'the restored document would be too large');
      if (refused) return sendError(reply, 503, 'unavailable', 'the server cannot store edits right now; try again later');
      return { restored: { id: found.id, time: found.time, name: found.name } };
    },
  );
}

function apiMember(identity: Identity): Member {
  return { id: identity.userId ?? 'api', name: identity.name ?? identity.userId ?? 'An API client', color: API_COLOR };
}
