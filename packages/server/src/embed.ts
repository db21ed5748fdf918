import type { IncomingMessage, Server as HttpServer } from 'node:http';
import type { Server as HttpsServer } from 'node:https';
import type { Duplex } from 'node:stream';
import type { FastifyInstance } from 'fastify';
import { hookAuthenticator, type AuthenticateHook } from './auth/authenticator.js';
import type { Config } from './config.js';
import { registerTandemRoutes } from './http/app.js';
import { handleErrors } from './http/errors.js';
import type { RoomHooks } from './rooms/hooks.js';
import { createTandemCore, type StartOptions, type TandemCore } from './server.js';

export interface EmbedOptions extends Omit<StartOptions, 'authenticator'>, RoomHooks {
  /**
   * Decides who connects, for WebSocket handshakes and the HTTP API, from the request (its cookies,
   * headers …) and the token it carries; in place of `config.auth`.
   */
  authenticate?: AuthenticateHook;
}

/** Tandem inside an app's own HTTP server or Fastify: no port of its own, no web app. */
export interface Tandem extends Pick<TandemCore, 'registry' | 'metrics' | 'cluster' | 'log'> {
  /**
   * Takes a WebSocket upgrade whose path is Tandem's (`/ws/<room>`, `/ws`, `/hocuspocus`) and
   * returns true; returns false and leaves the socket alone for any other path.
   */
  handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): boolean;
  /**
   * Serves Tandem's WebSockets on a server: its upgrades to Tandem's paths, counted against the
   * per-address limits. Upgrades to other paths are left to the server's other 'upgrade'
   * listeners, or refused with 404 when it has none.
   */
  attach(server: HttpServer | HttpsServer): void;
  /**
   * A Fastify plugin: Tandem's HTTP API (documents, admin, /healthz, /readyz, /metrics, the
   * handshake probe at GET /ws/<room>) and its WebSockets on the app's server. Closing the app
   * closes Tandem.
   */
  plugin(app: FastifyInstance): Promise<void>;
  /** Stops accepting, closes every socket with 1001, flushes storage. Safe to call twice. */
  close(): Promise<void>;
}

const TANDEM_PATH = /^\/(?:ws(?:\/[^?#]*)?|hocuspocus)(?:[?#]|$)/;

/** Builds Tandem for an app to mount (see docs/embedding.md); `startTandem` runs it on a port of its own. */
export async function createTandem(config: Config, options: EmbedOptions = {}): Promise<Tandem> {
  const { authenticate, onChange, onJoin, onLeave, onChat, ...start } = options;
  const core = await createTandemCore(config, {
    ...start,
    ...(authenticate ? { authenticator: hookAuthenticator(authenticate) } : {}),
    hooks: { onChange, onJoin, onLeave, onChat },
  });
  const { gateway } = core;
  const handleUpgrade = (req: IncomingMessage, socket: Duplex, head: Buffer): boolean => {
    if (!TANDEM_PATH.test(req.url ?? '')) return false;
    gateway.handleUpgrade(req, socket, head);
    return true;
  };
  const attach = (server: HttpServer | HttpsServer): void => {
    server.on('connection', gateway.handleConnection);
    server.on('request', gateway.handleRequest);
    server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
      // Not Tandem's, and nobody else listens: refused with Tandem's 404 rather than left hanging.
      if (!handleUpgrade(req, socket, head) && server.listenerCount('upgrade') === 1) gateway.handleUpgrade(req, socket, head);
    });
  };
  return {
    registry: core.registry,
    metrics: core.metrics,
    cluster: core.cluster,
    log: core.log,
    handleUpgrade,
    attach,
    async plugin(app) {
      handleErrors(app);
      registerTandemRoutes(app, core.routes);
      attach(app.server);
      app.addHook('onClose', () => core.close());
    },
    close: () => core.close(),
  };
}
