import { existsSync } from 'node:fs';
import { join, resolve, sep } from 'node:path';
import fastifyStatic from '@fastify/static';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { sendError } from './errors.js';

/** The web app's own routes (see apps/web/src/router.ts): `/`, `/d/<name>`, `/admin`. */
const APP_ROUTE = /^\/(?:d\/[^/]+\/?|admin\/?)?$/;

/**
 * The built web app (apps/web/dist). Vite names every file under assets/ after a hash of its
 * content, so those are cached for good; everything else (index.html names the current assets) is
 * revalidated on each load. The build writes a brotli and a gzip copy next to each text file,
 * served to clients that accept them. Page URLs the app does not know get its page too, which
 * shows "Page not found", with status 404; other unknown paths get a JSON 404.
 */
export async function serveWebApp(app: FastifyInstance, staticDir: string): Promise<void> {
  if (!existsSync(join(staticDir, 'index.html'))) {
    app.log.warn({ staticDir }, 'the web app is not built; run "npm run build" to serve it');
    app.get('/', async (_request, reply) =>
      reply.code(503).type('text/plain').send('The Tandem web app is not built yet. Run "npm run build", then restart.\n'),
    );
    app.setNotFoundHandler(notFound);
    return;
  }
  const assets = join(resolve(staticDir), 'assets') + sep;
  await app.register(fastifyStatic, {
    root: staticDir,
    preCompressed: true,
    cacheControl: false,
    setHeaders: (res, path) => {
      res.setHeader('cache-control', path.startsWith(assets) ? 'public, max-age=31536000, immutable' : 'no-cache');
      res.setHeader('vary', 'accept-encoding');
    },
  });
  app.setNotFoundHandler((request, reply) => {
    const path = request.url.split('?')[0] ?? '';
    if ((request.method === 'GET' || request.method === 'HEAD') && !path.startsWith('/api/')) {
      if (APP_ROUTE.test(path)) return reply.sendFile('index.html');
      // A page a browser navigates to (not a script or an image: those must not get HTML).
      if (request.headers.accept?.includes('text/html')) return reply.code(404).sendFile('index.html');
    }
    return notFound(request, reply);
  });
}

function notFound(request: FastifyRequest, reply: FastifyReply): FastifyReply {
  return sendError(reply, 404, 'not_found', `no route for ${request.method} ${request.url.split('?')[0]}`);
}
