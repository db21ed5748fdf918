import type { FastifyError, FastifyInstance, FastifyReply } from 'fastify';
import type { HttpErrorCode } from '@tandem/protocol';
import { codeForStatus, errorBody } from '../lib/http-error.js';

/** Answers with an error in the one shape every route uses: `{"error": "<reason>", "code": "<code>"}`. */
export function sendError(reply: FastifyReply, status: number, code: HttpErrorCode, message: string): FastifyReply {
  return reply.code(status).type('application/json; charset=utf-8').send(errorBody(code, message));
}

/**
 * Fastify's own errors (schema validation, malformed JSON, body size, media type) in that shape
 * too; unexpected errors are logged and answered without their details.
 */
export function handleErrors(app: FastifyInstance): void {
  app.setErrorHandler((error: FastifyError, request, reply) => {
    const status = error.statusCode ?? 500;
    if (status >= 500) {
      request.log.error({ err: error, method: request.method, url: request.url }, 'request failed');
      return sendError(reply, 500, 'internal', 'internal error');
    }
    return sendError(reply, status, codeForStatus(status), error.message);
  });
}
