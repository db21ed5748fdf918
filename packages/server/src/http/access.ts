import type { FastifyReply, FastifyRequest } from 'fastify';
import { canEdit, roomNameProblem, type Rights } from '@tandem/protocol';
import { AuthError, type Authenticator, type Identity } from '../auth/authenticator.js';
import { rightFor } from '../auth/rights.js';
import { tokenFromRequest } from '../auth/token.js';
import { sendError } from './errors.js';

/** Who sent an API request (the same token as for WebSockets); null once a 401 has been sent. */
export async function identify(authenticator: Authenticator, request: FastifyRequest, reply: FastifyReply): Promise<Identity | null> {
  try {
    return await authenticator.verify(tokenFromRequest(request.raw), request.raw);
  } catch (error) {
    if (!(error instanceof AuthError)) throw error;
    await sendError(reply, 401, 'unauthorized', error.message);
    return null;
  }
}

/** Whether the identity's rights on a document cover reading it, or (`write`) editing it. */
export function allowed(identity: Identity, name: string, needed: Rights): boolean {
  const rights = rightFor(identity.grants, name);
  return rights !== null && (needed === 'read' || canEdit(rights));
}

/**
 * The caller's identity when the request's `:name` is a valid document name and the caller may do
 * `needed` to it; otherwise the error (401, 400, 403) has been sent and the answer is null.
 */
export async function admitToDocument(
  authenticator: Authenticator,
  request: FastifyRequest<{ Params: { name: string } }>,
  reply: FastifyReply,
  needed: Rights,
): Promise<Identity | null> {
  const identity = await identify(authenticator, request, reply);
  if (!identity) return null;
  const { name } = request.params;
  const problem = roomNameProblem(name);
  if (problem) {
    await sendError(reply, 400, 'invalid_name', problem);
    return null;
  }
  if (!allowed(identity, name, needed)) {
    await sendError(reply, 403, 'forbidden', `the token does not allow ${needed === 'read' ? 'reading' : 'changing'} "${name}"`);
    return null;
  }
  return identity;
}
