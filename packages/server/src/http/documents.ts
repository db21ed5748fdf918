import { randomBytes } from 'node:crypto';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { canEdit, roomNameProblem, type Member, type Rights } from '@tandem/protocol';
import { AuthError, type Authenticator, type Identity } from '../auth/authenticator.js';
import { rightFor } from '../auth/rights.js';
import { tokenFromRequest } from '../auth/token.js';
import type { DocumentInfo, Storage } from '../storage/storage.js';
import { sendError } from './errors.js';

const MAX_TITLE = 120;
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
): void {
  const identify = async (request: FastifyRequest, reply: FastifyReply): Promise<Identity | null> => {
    try {
      return await authenticator.verify(tokenFromRequest(request.raw), request.raw);
    } catch (error) {
      if (!(error instanceof AuthError)) throw error;
      await sendError(reply, 401, 'unauthorized', error.message);
      return null;
    }
  };
  const allowed = (identity: Identity, name: string, needed: Rights): boolean => {
    const rights = rightFor(identity.grants, name);
    return rights !== null && (needed === 'read' || canEdit(rights));
  };

  app.get('/api/documents', async (request, reply) => {
    const identity = await identify(request, reply);
    if (!identity) return reply;
    const documents = (await storage.listDocuments(LIST_LIMIT)).filter((doc) => allowed(identity, doc.name, 'read'));
    const members = await whoIsIn(documents.map((doc) => doc.name));
    return { documents: documents.map((doc) => withMembers(doc, members.get(doc.name) ?? [])) };
  });

  app.get<{ Params: { name: string } }>('/api/documents/:name', async (request, reply) => {
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
  app.post<{ Body: { title?: string; name?: string } }>(
    '/api/documents',
    {
      bodyLimit: 16 * 1024,
      schema: {
        body: {
          type: 'object',
          anyOf: [{ required: ['title'] }, { required: ['name'] }],
          additionalProperties: false,
          properties: { title: { type: 'string', minLength: 1, maxLength: MAX_TITLE }, name: { type: 'string' } },
        },
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
      const taken = (): FastifyReply => sendError(reply, 409, 'conflict', `a document named "${name}" exists already`);
      if (await storage.getDocument(name)) return taken();
      try {
        const document = await storage.createDocument(name, title);
        return reply.code(201).send(withMembers(document, []));
      } catch (error) {
        // Created in the meantime (by another request, or a first edit in the room).
        if (await storage.getDocument(name)) return taken();
        throw error;
      }
    },
  );
}

/** A document as the API shows it: with who is in it now (on any node) and how many. */
function withMembers(document: DocumentInfo, members: Member[]): DocumentInfo & { online: number; members: Member[] } {
  return { ...document, online: members.length, members };
}
