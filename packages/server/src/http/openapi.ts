import { readFileSync } from 'node:fs';
import fastifySwagger from '@fastify/swagger';
import type { FastifyInstance } from 'fastify';

const { version } = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };

/**
 * Describes every route registered after it in an OpenAPI 3 document, built from the routes'
 * schemas (shared ones by $id become components), served at /api/openapi.json.
 */
export async function serveOpenApi(app: FastifyInstance): Promise<void> {
  await app.register(fastifySwagger, {
    openapi: {
      openapi: '3.0.3',
      info: {
        title: 'Tandem HTTP API',
        version,
        description:
          'Documents (list, create, import, export, change, rename, delete), the admin API, health and metrics. ' +
          'Errors have the body `{"error", "code"}` (HttpError). Real-time editing runs over WebSockets at /ws/<document>; see docs/protocol.md.',
      },
      components: {
        securitySchemes: {
          token: {
            type: 'http',
            scheme: 'bearer',
            description: 'In jwt mode: the same token as for WebSockets (or the tandem_token cookie, or ?token=)',
          },
          adminToken: { type: 'http', scheme: 'bearer', description: 'ADMIN_TOKEN, for /api/admin' },
        },
      },
    },
    // Shared schemas keep their $id as their component name.
    refResolver: { buildLocalReference: (json, _baseUri, _fragment, i) => (typeof json.$id === 'string' ? json.$id : `def-${i}`) },
  });
  app.get('/api/openapi.json', { schema: { hide: true } }, async () => app.swagger());
}
