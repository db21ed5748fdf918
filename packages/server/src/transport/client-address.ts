import type { IncomingMessage } from 'node:http';
import { isIPv4 } from 'node:net';
import proxyAddr from '@fastify/proxy-addr';

/**
 * The client address that the per-address limits count (connections, handshakes a second,
 * activity a minute). Behind a proxy every client arrives from the proxy's address, and the one
 * the proxy saw is in `X-Forwarded-For`. Any client can write that header, so it is read only when
 * the TCP peer is a trusted proxy (`TRUST_PROXY`), and then from the right, hop by hop, up to the
 * first address that is not a trusted proxy: that one is the client. Entries to its left were
 * written by the client and may be forged.
 */
export class ClientAddresses {
  readonly #trusted: (address: string, hop: number) => boolean;

  /** `trustProxy`: IPs, CIDR ranges, or `loopback`, `linklocal`, `uniquelocal`; empty trusts no one. */
  constructor(trustProxy: readonly string[]) {
    this.#trusted = proxyAddr.compile([...trustProxy]);
  }

  /**
   * The address a new socket counts against before its request is read: its peer's, or null when
   * the peer is a trusted proxy (the client behind it is named by the request's headers).
   */
  ofSocket(socket: { readonly remoteAddress?: string | undefined }): string | null {
    const peer = socket.remoteAddress;
    if (peer === undefined) return 'unknown';
    return this.#trusted(peer, 0) ? null : canonical(peer);
  }

  /** The client that sent `req`: its peer, or behind trusted proxies the right-most untrusted `X-Forwarded-For` entry. */
  ofRequest(req: IncomingMessage): string {
    if (req.socket.remoteAddress === undefined) return 'unknown';
    return canonical(proxyAddr(req, this.#trusted));
  }

  /**
   * The scheme the client used to reach a trusted proxy: the right-most `X-Forwarded-Proto` entry
   * (the nearest proxy's), so that a page served over https by a TLS-terminating proxy counts as
   * the server's own origin. Null when the peer is not trusted or names no scheme.
   */
  forwardedScheme(req: IncomingMessage): 'http' | 'https' | null {
    const peer = req.socket.remoteAddress;
    if (peer === undefined || !this.#trusted(peer, 0)) return null;
    const header = req.headers['x-forwarded-proto'];
    const nearest = (Array.isArray(header) ? header.join(',') : (header ?? '')).split(',').at(-1)?.trim().toLowerCase();
    return nearest === 'http' || nearest === 'https' ? nearest : null;
  }
}

/** An IPv4 client of a dual-stack socket appears as `::ffff:1.2.3.4`; it counts as `1.2.3.4` however it arrives. */
function canonical(address: string): string {
  const lower = address.toLowerCase();
  const mapped = lower.startsWith('::ffff:') ? lower.slice('::ffff:'.length) : '';
  return isIPv4(mapped) ? mapped : lower;
}
