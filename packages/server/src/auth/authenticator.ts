import { readFileSync } from 'node:fs';
import type { IncomingMessage } from 'node:http';
import { createRemoteJWKSet, importSPKI, jwtVerify, type JWTVerifyGetKey } from 'jose';
import { z } from 'zod';
import { LIMITS, Rights } from '@tandem/protocol';
import { GUEST_GRANTS, grantsFromClaim, type Grants } from './rights.js';

/** Who is connecting, as far as the server can tell. */
export interface Identity {
  /** The token's subject; null for guests. */
  userId: string | null;
  /** The display name the token gives (it wins over the one sent in `join`). */
  name: string | null;
  grants: Grants;
  /** Milliseconds since the epoch; null when the identity does not expire. */
  expiresAt: number | null;
}

export class AuthError extends Error {
  override name = 'AuthError';
}

export interface Authenticator {
  /**
   * Resolves with the identity a token proves, or rejects with AuthError saying why not.
   * `request`: the HTTP request (a WebSocket handshake or an API call) the token came with; none
   * for a token sent over an open connection (`auth`, a Hocuspocus provider's auth message).
   */
  verify(token: string | null, request?: IncomingMessage): Promise<Identity>;
}

/** What an app's `authenticate` hook answers: who this is and what they may do, or why not. */
export type AuthenticateResult =
  | {
      user: { id: string; name?: string };
      /** One right for every room, or room-name patterns (`*` matches any run) and the right each grants. */
      rights: Rights | Record<string, Rights>;
      /** When this identity stops being valid (ms since the epoch); the connection is then closed unless renewed. */
      expiresAt?: number;
    }
  | { refuse: string };

/** An app's own authentication (sessions, API keys …) in place of JWTs: see docs/embedding.md. */
export type AuthenticateHook = (input: { token: string | null; request: IncomingMessage | null }) => Promise<AuthenticateResult>;

export function hookAuthenticator(authenticate: AuthenticateHook): Authenticator {
  return {
    async verify(token, request) {
      const result = await authenticate({ token, request: request ?? null });
      if ('refuse' in result) throw new AuthError(result.refuse);
      const { user, rights, expiresAt } = result;
      return {
        userId: user.id,
        name: user.name ?? null,
        grants: typeof rights === 'string' ? [{ pattern: '*', right: rights }] : grantsFromClaim(rights),
        expiresAt: expiresAt ?? null,
      };
    },
  };
}

/** Every guest has this identity; it is never modified, so connections share it. */
const GUEST: Identity = Object.freeze({ userId: null, name: null, grants: GUEST_GRANTS, expiresAt: null });

export const guestAuthenticator: Authenticator = {
  async verify() {
    return GUEST;
  },
};

const Claims = z.object({
  sub: z.string().min(1),
  name: z.string().trim().min(1).max(LIMITS.nameLength).optional(),
  rooms: z.record(z.string().min(1).max(256), Rights),
});

export interface JwtOptions {
  secret?: string | undefined;
  publicKeyFile?: string | undefined;
  jwksUrl?: string | undefined;
  issuer?: string | undefined;
  audience?: string | undefined;
}

/**
 * Verifies JWTs with `jose`: HS256 with a shared secret, or RS256/ES256 with a public key (PEM
 * file) or a JWKS URL. Tokens must carry `sub`, `rooms` (pattern → read | comment | write) and
 * `exp`; `name` is optional.
 */
export async function jwtAuthenticator(options: JwtOptions): Promise<Authenticator> {
  let key: Uint8Array | CryptoKey | JWTVerifyGetKey | undefined;
  let algorithms: string[] = [];
  if (options.secret) {
    key = new TextEncoder().encode(options.secret);
    algorithms = ['HS256'];
  } else if (options.publicKeyFile) {
    const pem = readFileSync(options.publicKeyFile, 'utf8');
    for (const alg of ['RS256', 'ES256']) {
      key = await importSPKI(pem, alg).catch(() => undefined);
      if (key) {
        algorithms = [alg];
        break;
      }
    }
    if (!key) throw new Error(`${options.publicKeyFile} is not an RSA or EC public key in PEM (SPKI) form`);
  } else if (options.jwksUrl) {
    key = createRemoteJWKSet(new URL(options.jwksUrl));
    algorithms = ['RS256', 'ES256'];
  } else {
    throw new Error('jwt mode needs a secret, a public key file or a JWKS URL');
  }
  const verifyKey = key;
  return {
    async verify(token) {
      if (!token)
        throw new AuthError('a token is required: send it as ?token=, the tandem_token cookie, or a "tandem.auth.<token>" subprotocol');
      let payload: unknown;
      try {
        ({ payload } = await jwtVerify(token, verifyKey as Uint8Array, {
          algorithms,
          requiredClaims: ['exp', 'sub'],
          ...(options.issuer ? { issuer: options.issuer } : {}),
          ...(options.audience ? { audience: options.audience } : {}),
        }));
      } catch (error) {
        const code = (error as { code?: string }).code;
        throw new AuthError(
          code === 'ERR_JWT_EXPIRED' ? 'the token has expired' : `the token is not valid (${code ?? (error as Error).message})`,
        );
      }
      const claims = Claims.safeParse(payload);
      if (!claims.success) throw new AuthError(`the token's claims are not usable: ${z.prettifyError(claims.error).replace(/\n+/g, '; ')}`);
      const { exp } = payload as { exp: number };
      return { userId: claims.data.sub, name: claims.data.name ?? null, grants: grantsFromClaim(claims.data.rooms), expiresAt: exp * 1000 };
    },
  };
}
