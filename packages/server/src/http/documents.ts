import { randomBytes } from 'node:crypto';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { canEdit, type Member, type Rights } from '@tandem/protocol';
import { AuthError, type Authenticator, type Identity } from '../auth/authenticator.js';
import { rightFor } from '../auth/rights.js';
import { tokenFromRequest } from '../auth/token.js';
import type { DocumentInfo, Storage } from '../storage/storage.js';

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
 * documents its rights cover.
 */
export function registerDocumentRoutes(
  app: FastifyInstance,
  storage: Storage,
  whoIsIn: (rooms: readonly string[]) => Promise<Map<string, Member[]>>,
  authenticator: Authenticator,
): void {
  const identify = async (request: FastifyRequest, reply: FastifyReply): Promise<Identity | null> => {
    try {
      return await authenticator.verify(tokenFromRequest(request.raw));
    } catch (error) {
      if (!(error instanceof AuthError)) throw error;
      await reply.code(401).send({ error: error.message });
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

  // Any room name is a document (rooms are created by joining), so an unknown name is not an
  // error: it describes the document that joining will create, titled by its name.
  app.get<{ Params: { name: string } }>('/api/documents/:name', async (request, reply) => {
    const identity = await identify(request, reply);
    if (!identity) return reply;
    const { name } = request.params;
    if (!allowed(identity, name, 'read')) return reply.code(403).send({ error: `no access to document "${name}"` });
    const document = (await storage.getDocument(name)) ?? { name, title: name, createdAt: 0, updatedAt: 0 };
    const members = await whoIsIn([name]);
    return withMembers(document, members.get(name) ?? []);
  });

  app.post<{ Body: { title: string } }>(
    '/api/documents',
    {
      bodyLimit: 16 * 1024,
      schema: {
        body: {
          type: 'object',
          required: ['title'],
          additionalProperties: false,
          properties: { title: { type: 'string', minLength: 1, maxLength: MAX_TITLE } },
        },
      },
    },
    async (request, reply) => {
      const identity = await identify(request, reply);
      if (!identity) return reply;
      const title = request.body.title.trim();
      if (!title) return reply.code(400).send({ error: 'title must not be blank' });
      const name = documentName(title);
      if (!allowed(identity, name, 'write')) {
        return reply.code(403).send({ error: `the token does not allow creating "${name}"` });
      }
      const document = await storage.createDocument(name, title);
      return reply.code(201).send(withMembers(document, []));
    },
  );
}

/** A document as the API shows it: with who is in it now (on any node) and how many. */
function withMembers(document: DocumentInfo, members: Member[]): DocumentInfo & { online: number; members: Member[] } {
  return { ...document, online: members.length, members };
}
