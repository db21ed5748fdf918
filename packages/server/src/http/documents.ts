import { randomBytes } from 'node:crypto';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { roomNameProblem, type Member } from '@tandem/protocol';
import type { Authenticator, Identity } from '../auth/authenticator.js';
import type { RoomRegistry } from '../rooms/registry.js';
import type { DocumentInfo, Storage } from '../storage/storage.js';
import { allowed, identify as identifyRequest } from './access.js';
import { CONTENT_BODY_LIMIT, contentOf, contentProperties, writeToRoom } from './document-content.js';
import { sendError } from './errors.js';
import { documentParams, errors, tokenSecurity } from './schemas.js';

export const MAX_TITLE = 120;
const LIST_LIMIT = 200;

/** A readable, URL-safe room name: "Team notes!" → "team-notes-3f9a1c2b". */
export function documentName(title: string): string {
  const slug = title
    .normalize('NFKD')
    .replace(/[\u0300-\u036f]/g, '')
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-+|-+$/g, '')
    .slice(0, 40)
    .replace(/-+$/, '');
  return `${slug || 'doc'}-${randomBytes(4).toString('hex')}`;
}

/**
 * The document list: GET to read it (with who is online), POST to create a document. With
 * authentication on, the same token as for WebSockets is needed, and a member sees only the
 * documents its rights cover. A room joined over WebSocket becomes a document with its first
 * stored change; until then (or without any) its name is not found here.
 */
export function registerDocumentRoutes(
  app: FastifyInstance,
  storage: Storage,
  whoIsIn: (rooms: readonly string[]) => Promise<Map<string, Member[]>>,
  authenticator: Authenticator,
  registry: RoomRegistry,
): void {
  const identify = (request: FastifyRequest, reply: FastifyReply): Promise<Identity | null> =>
    identifyRequest(authenticator, request, reply);

  const listSchema = {
    summary: 'The documents the token may read, most recently updated first',
    security: tokenSecurity,
    response: {
      200: { type: 'object', required: ['documents'], properties: { documents: { type: 'array', items: { $ref: 'Document#' } } } },
      ...errors(401),
    },
  };
  app.get('/api/documents', { schema: listSchema }, async (request, reply) => {
    const identity = await identify(request, reply);
    if (!identity) return reply;
    const documents = (await storage.listDocuments(LIST_LIMIT)).filter((doc) => allowed(identity, doc.name, 'read'));
    const members = await whoIsIn(documents.map((doc) => doc.name));
    return { documents: documents.map((doc) => withMembers(doc, members.get(doc.name) ?? [])) };
  });

  const getSchema = {
    summary: 'One document',
    security: tokenSecurity,
    params: documentParams,
    response: { 200: { $ref: 'Document#' }, ...errors(400, 401, 403, 404) },
  };
  app.get<{ Params: { name: string } }>('/api/documents/:name', { schema: getSchema }, async (request, reply) => {
    const identity = await identify(request, reply);
    if (!identity) return reply;
    const { name } = request.params;
    const problem = roomNameProblem(name);
    if (problem) return sendError(reply, 400, 'invalid_name', problem);
    if (!allowed(identity, name, 'read')) return sendError(reply, 403, 'forbidden', `no access to document "${name}"`);
    const [document, members] = await Promise.all([storage.getDocument(name), whoIsIn([name]).then((all) => all.get(name) ?? [])]);
    if (document) return withMembers(document, members);
    // Joined but not stored yet (a document is registered with its first edit): it exists since people are in it.
    if (members.length > 0)
      return withMembers({ name, title: name, createdAt: Date.now(), updatedAt: Date.now(), readOnly: false }, members);
    return sendError(reply, 404, 'not_found', `no document named "${name}"`);
  });

  // `{title}` names the document after its title; `{name, title?}` creates it under that name (as
  // a link to a document not yet created would), refusing names the WebSocket gateway refuses.
  // With `markdown`, `html` or `text` (an import) the document starts with that content.
  app.post<{ Body: { title?: string; name?: string; markdown?: string; html?: string; text?: string } }>(
    '/api/documents',
    {
      bodyLimit: CONTENT_BODY_LIMIT,
      schema: {
        summary: 'Create a document, empty or with imported content',
        security: tokenSecurity,
        body: {
          type: 'object',
          anyOf: [{ required: ['title'] }, { required: ['name'] }],
          additionalProperties: false,
          properties: {
            title: { type: 'string', minLength: 1, maxLength: MAX_TITLE },
            name: { type: 'string' },
            markdown: contentProperties.markdown,
            html: contentProperties.html,
            text: contentProperties.text,
          },
        },
        response: { 201: { $ref: 'Document#' }, ...errors(400, 401, 403, 409, 413, 415, 503) },
      },
    },
    async (request, reply) => {
      const identity = await identify(request, reply);
      if (!identity) return reply;
      const { name: asked } = request.body;
      const problem = asked === undefined ? null : roomNameProblem(asked);
      if (problem) return sendError(reply, 400, 'invalid_name', problem);
      const title = request.body.title?.trim() ?? asked ?? '';
      if (!title) return sendError(reply, 400, 'bad_request', 'title must not be blank');
      const name = asked ?? documentName(title);
      if (!allowed(identity, name, 'write')) return sendError(reply, 403, 'forbidden', `the token does not allow creating "${name}"`);
      const content = await contentOf(request.body, reply);
      if (content === undefined) return reply;
      const taken = (): FastifyReply => sendError(reply, 409, 'conflict', `a document named "${name}" exists already`);
      if (await storage.getDocument(name)) return taken();
      let document: DocumentInfo;
      try {
        document = await storage.createDocument(name, title);
      } catch (error) {
        // Created in the meantime (by another request, or a first edit in the room).
        if (await storage.getDocument(name)) return taken();
        throw error;
      }
      if (content && !(await writeToRoom(registry, name, content, 'replace', reply))) return reply;
      return reply.code(201).send(withMembers(document, []));
    },
  );
}

/** A document as the API shows it: with who is in it now (on any node) and how many. */
export function withMembers(document: DocumentInfo, members: Member[]): DocumentInfo & { online: number; members: Member[] } {
  return { ...document, online: members.length, members };
}
