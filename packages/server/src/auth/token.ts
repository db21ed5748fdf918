import type { IncomingMessage } from 'node:http';
import { TOKEN_PROTOCOL_PREFIX } from '@tandem/protocol';

export function offeredProtocols(req: IncomingMessage): string[] {
  return (req.headers['sec-websocket-protocol'] ?? '')
    .split(',')
    .map((p) => p.trim())
    .filter(Boolean);
}

/**
 * The token of a request: from an `Authorization: Bearer` header, the subprotocol list, the
 * `token` query parameter, or the `tandem_token` cookie.
 */
export function tokenFromRequest(req: IncomingMessage): string | null {
  const bearer = /^Bearer\s+(\S+)$/i.exec(req.headers.authorization ?? '');
  if (bearer?.[1]) return bearer[1];
  const fromProtocol = offeredProtocols(req).find((p) => p.startsWith(TOKEN_PROTOCOL_PREFIX));
  if (fromProtocol) return fromProtocol.slice(TOKEN_PROTOCOL_PREFIX.length);
  const query = new URL(req.url ?? '/', 'http://localhost').searchParams.get('token');
  if (query) return query;
  for (const cookie of (req.headers.cookie ?? '').split(';')) {
    const [name, ...value] = cookie.trim().split('=');
    if (name === 'tandem_token' && value.length > 0) return decodeURIComponent(value.join('='));
  }
  return null;
}
