import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Member, Rights } from '@tandem/protocol';
import type { Authenticator } from '../auth/authenticator.js';
import { EXPORT_FORMATS, loadConversions, type ExportFormat } from '../content/formats.js';
import type { AdminActions } from '../rooms/admin-actions.js';
import type { RoomRegistry } from '../rooms/registry.js';
import type { DocumentInfo, Storage } from '../storage/storage.js';
import { admitToDocument } from './access.js';
import { CONTENT_BODY_LIMIT, contentOf, contentProperties, writeToRoom, type Mode } from './document-content.js';
import { MAX_TITLE, withMembers } from './documents.js';
import { sendError } from './errors.js';
import { documentParams, errors, tokenSecurity } from './schemas.js';

export interface DocumentApiOptions {
  authenticator: Authenticator;
  storage: Storage;
  whoIsIn: (rooms: readonly string[]) => Promise<Map<string, Member[]>>;
  registry: RoomRegistry;
  actions: AdminActions;
}

interface PatchBody {
  title?: string;
  markdown?: string;
  html?: string;
  text?: string;
  json?: object;
  mode?: Mode;
}

/**
 * What the API does with a document's content and life: export in any format, change it while
 * people edit (PATCH: content and title), and delete it. Content changes go into the live room
 * as one update, like a member's edit: stored, sent to everyone in it, on every node.
 */
export function registerDocumentApiRoutes(app: FastifyInstance, options: DocumentApiOptions): void {
  const { authenticator, storage, whoIsIn, registry, actions } = options;
  const membersOf = async (name: string): Promise<Member[]> => (await whoIsIn([name])).get(name) ?? [];

  /** The document the request names, if the caller may do `needed` to it; otherwise the error is sent and the answer is null. */
  const target = async (
    request: FastifyRequest<{ Params: { name: string } }>,
    reply: FastifyReply,
    needed: Rights,
  ): Promise<DocumentInfo | null> => {
    if (!(await admitToDocument(authenticator, request, reply, needed))) return null;
    const { name } = request.params;
    const document = await storage.getDocument(name);
    if (document) return document;
    // Joined but not stored yet (see GET /api/documents/:name).
    if ((await membersOf(name)).length > 0) return { name, title: name, createdAt: Date.now(), updatedAt: Date.now(), readOnly: false };
    await sendError(reply, 404, 'not_found', `no document named "${name}"`);
    return null;
  };

  app.get<{ Params: { name: string }; Querystring: { format?: ExportFormat } }>(
    '/api/documents/:name/export',
    {
      schema: {
        summary: 'Download a document',
        security: tokenSecurity,
        params: documentParams,
        querystring: {
          type: 'object',
          properties: { format: { type: 'string', enum: [...EXPORT_FORMATS], default: 'markdown' } },
        },
        response: {
          200: {
            description: 'The document as an attachment named after its title',
            content: {
              'text/markdown': { schema: { type: 'string' } },
              'text/html': { schema: { type: 'string' } },
              'text/plain': { schema: { type: 'string' } },
              'application/json': { schema: { type: 'object', description: 'ProseMirror JSON' } },
              'application/octet-stream': {
                schema: { type: 'string', format: 'binary', description: 'The whole Y.Doc as one Yjs update' },
              },
            },
          },
          ...errors(400, 401, 403, 404, 503),
        },
      },
    },
    async (request, reply) => {
      const document = await target(request, reply, 'read');
      if (!document) return reply;
      const room = await registry.open(document.name);
      if (!room) return sendError(reply, 503, 'unavailable', `document "${document.name}" could not be loaded; try again later`);
      const { exportDocument } = await loadConversions();
      const exported = exportDocument(room.doc, request.query.format ?? 'markdown');
      const body =
        typeof exported.body === 'string'
          ? exported.body
          : Buffer.from(exported.body.buffer, exported.body.byteOffset, exported.body.byteLength);
      return reply
        .type(exported.contentType)
        .header('content-disposition', attachment(document.title, exported.extension))
        .header('cache-control', 'no-store')
        .send(body);
    },
  );

  app.patch<{ Params: { name: string }; Body: PatchBody }>(
    '/api/documents/:name',
    {
      bodyLimit: CONTENT_BODY_LIMIT,
      schema: {
        summary: 'Change a document’s content or title while people edit it',
        security: tokenSecurity,
        params: documentParams,
        body: {
          type: 'object',
          additionalProperties: false,
          minProperties: 1,
          properties: {
            title: { type: 'string', minLength: 1, maxLength: MAX_TITLE },
            ...contentProperties,
            mode: {
              type: 'string',
              enum: ['append', 'replace'],
              description: 'With content: add it after the document’s blocks, or make the document equal to it (a minimal diff)',
            },
          },
        },
        response: { 200: { $ref: 'Document#' }, ...errors(400, 401, 403, 404, 413, 503) },
      },
    },
    async (request, reply) => {
      const document = await target(request, reply, 'write');
      if (!document) return reply;
      const { mode } = request.body;
      const content = await contentOf(request.body, reply);
      if (content === undefined) return reply;
      if ((content === null) !== (mode === undefined)) {
        return sendError(reply, 400, 'bad_request', content ? 'content needs a mode: "append" or "replace"' : 'mode needs content');
      }
      const title = request.body.title?.trim();
      if (title === '') return sendError(reply, 400, 'bad_request', 'title must not be blank');
      if (content && !(await writeToRoom(registry, document.name, content, mode!, reply))) return reply;
      const changed: DocumentInfo = title === undefined ? document : await storage.renameDocument(document.name, title);
      return withMembers(changed, await membersOf(document.name));
    },
  );

  app.delete<{ Params: { name: string } }>(
    '/api/documents/:name',
    {
      schema: {
        summary: 'Delete a document and everything stored of it (its sessions close with 4003 on every node)',
        security: tokenSecurity,
        params: documentParams,
        response: {
          200: {
            type: 'object',
            required: ['deleted', 'closed'],
            properties: { deleted: { type: 'boolean' }, closed: { type: 'integer' } },
          },
          ...errors(400, 401, 403, 404),
        },
      },
    },
    async (request, reply) => {
      const document = await target(request, reply, 'write');
      if (!document) return reply;
      const result = await actions.delete(document.name);
      if (!result) return sendError(reply, 404, 'not_found', `no document named "${document.name}"`);
      request.log.info({ room: document.name, ...result }, 'document deleted through the API');
      return { deleted: true, ...result };
    },
  );
}

/** `attachment` with a file name from the title (an ASCII fallback and the exact name, RFC 6266). */
function attachment(title: string, extension: string): string {
  const base =
    title
      .replace(/[\p{Cc}/\\:*?"<>|]+/gu, ' ')
      .replace(/\s+/g, ' ')
      .trim()
      .slice(0, 100) || 'document';
  const file = `${base}.${extension}`;
  const ascii = file.replace(/[^\x20-\x7e]/g, '_');
  const encoded = encodeURIComponent(file).replace(/['()]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
  return `attachment; filename="${ascii}"; filename*=UTF-8''${encoded}`;
}
