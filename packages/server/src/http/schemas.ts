import type { FastifyInstance } from 'fastify';
import { HttpErrorCodes } from '@tandem/protocol';

/**
 * The JSON schemas the routes share, added once by $id: Fastify validates and serializes with
 * them, and @fastify/swagger turns them into components of /api/openapi.json.
 */
export function addSharedSchemas(app: FastifyInstance): void {
  app.addSchema({
    $id: 'HttpError',
    type: 'object',
    description: 'Every error answer: a reason for people and a code for programs.',
    required: ['error', 'code'],
    properties: { error: { type: 'string' }, code: { type: 'string', enum: Object.keys(HttpErrorCodes) } },
  });
  app.addSchema({
    $id: 'Member',
    type: 'object',
    required: ['id', 'name', 'color'],
    properties: { id: { type: 'string' }, name: { type: 'string' }, color: { type: 'string' } },
  });
  app.addSchema({
    $id: 'Document',
    type: 'object',
    additionalProperties: true,
    required: ['name', 'title', 'createdAt', 'updatedAt', 'readOnly', 'online', 'members'],
    properties: {
      name: { type: 'string' },
      title: { type: 'string' },
      createdAt: { type: 'number', description: 'ms since the epoch' },
      updatedAt: { type: 'number', description: 'ms since the epoch' },
      readOnly: { type: 'boolean' },
      online: { type: 'integer', description: 'how many members are in it now, on any node' },
      members: { type: 'array', items: { $ref: 'Member#' } },
    },
  });
}

/** A `:name` path parameter: a document (room) name. */
export const documentParams = {
  type: 'object',
  required: ['name'],
  properties: { name: { type: 'string', description: 'The document (room) name' } },
} as const;

/** A route that takes the same token as the WebSocket (in jwt mode). */
export const tokenSecurity = [{ token: [] }];

const error = { $ref: 'HttpError#' } as const;

/** Error answers by status, for a route's `response` schema. */
export function errors(...statuses: number[]): Record<number, typeof error> {
  return Object.fromEntries(statuses.map((status) => [status, error]));
}
