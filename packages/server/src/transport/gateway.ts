import { STATUS_CODES, type IncomingMessage } from 'node:http';
import type { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { CloseCode, MAX_ROOM_NAME, roomNameProblem, SUBPROTOCOL, TOKEN_PROTOCOL_PREFIX, type Rights } from '@tandem/protocol';
import type { Logger } from 'pino';
import { AuthError, type Authenticator, type Identity } from '../auth/authenticator.js';
import { rightFor } from '../auth/rights.js';
import { offeredProtocols, tokenFromRequest } from '../auth/token.js';
import type { Config } from '../config.js';
import { Connection } from '../rooms/connection.js';
import type { RoomRegistry } from '../rooms/registry.js';
import { codeForStatus, errorBody } from '../lib/http-error.js';
import type { LogLimiter } from '../lib/log-limiter.js';
import { Traffic } from '../lib/traffic.js';
import { ClientAddresses } from './client-address.js';
import { HocuspocusEndpoint, isHocuspocusPath } from './hocuspocus.js';
import { IpLimits } from './ip-limits.js';
import { Throttle, type ThrottleOptions } from './throttle.js';
import { WsEndpoint, type WsSocket } from './ws-socket.js';

export type GatewayConfig = Pick<
  Config,
  | 'maxPayloadBytes'
  | 'pingIntervalMs'
  | 'compression'
  | 'compressionThreshold'
  | 'allowedOrigins'
  | 'maxConnectionsPerIp'
  | 'handshakesPerSecondPerIp'
  | 'maxConnectionsPerRoom'
  | 'messagesPerSecond'
  | 'bytesPerSecond'
  | 'rateLimitCloseAfterMs'
  | 'maxPendingBytes'
  | 'maxBufferedBytes'
  | 'trustProxy'
>;

export interface GatewayOptions {
  registry: RoomRegistry;
  log: Logger;
  authenticator: Authenticator;
  config: GatewayConfig;
  /** Whether the server runs TLS, for telling its own origin. */
  secure: boolean;
  traffic: Traffic;
  /** Refusals are logged through it: a flood of them is a line or two per interval. */
  logLimiter: LogLimiter;
}

const ROOM_PATH = /^\/ws\/([^/?#]+)$/;

/** Refuses an upgrade with an HTTP status and a JSON reason, before any WebSocket exists. */
function refuse(socket: Duplex, status: number, reason: string, headers: Record<string, string> = {}): void {
  if (socket.destroyed) return;
  const body = JSON.stringify(errorBody(codeForStatus(status), reason));
  const extra = Object.entries(headers)
    .map(([name, value]) => `${name}: ${value}\r\n`)
    .join('');
  socket.end(
    `HTTP/1.1 ${status} ${STATUS_CODES[status] ?? 'Error'}\r\nConnection: close\r\nContent-Type: application/json\r\n` +
      `Content-Length: ${Buffer.byteLength(body)}\r\n${extra}\r\n${body}`,
  );
}

/** Parses the room name out of `/ws/<room>`, or returns null. */
export function roomFromPath(url: string | undefined): string | null {
  const path = (url ?? '').split('?')[0] ?? '';
  const match = ROOM_PATH.exec(path);
  if (!match?.[1]) return null;
  let name: string;
  try {
    name = decodeURIComponent(match[1]);
  } catch {
    return null;
  }
  return roomNameProblem(name) === null ? name : null;
}

/** Before the upgrade, a socket error ends the handshake (ws handles errors after it). */
function destroySocket(this: Duplex): void {
  this.destroy();
}

/**
 * The WebSocket edge. Every check that can refuse a client runs here, before a socket exists:
 * path, handshake rate and connections per address, origin, subprotocol, token and rights, room
 * capacity. Refusals are HTTP statuses with a JSON reason. Accepted sockets are rate limited and
 * handed to their rooms (ws-socket.ts adapts `ws` to them).
 */
export class Gateway {
  readonly #options: GatewayOptions;
  readonly #endpoint: WsEndpoint;
  readonly #ipLimits: IpLimits;
  readonly #addresses: ClientAddresses;
  readonly #allowedOrigins: ReadonlySet<string>;
  /** Shared by every connection's Throttle. */
  readonly #throttleOptions: ThrottleOptions;
  readonly #hocuspocus: HocuspocusEndpoint;
  /** Sockets before their upgrade, counted against their address's limit (a WebSocket's close releases its own count). */
  readonly #handshakes = new Map<Duplex, { ip: string; onClose: () => void }>();
  #accepting = true;

  constructor(options: GatewayOptions) {
    this.#options = options;
    const { config } = options;
    this.#endpoint = new WsEndpoint({ ...config, onHeartbeatTimeout: () => Traffic.bump(options.traffic.closes, 1006) });
    this.#ipLimits = new IpLimits(config);
    this.#addresses = new ClientAddresses(config.trustProxy);
    this.#throttleOptions = {
      messagesPerSecond: config.messagesPerSecond,
      bytesPerSecond: config.bytesPerSecond,
      closeAfterMs: config.rateLimitCloseAfterMs,
      maxQueuedBytes: config.maxPendingBytes,
    };
    this.#allowedOrigins = new Set(config.allowedOrigins);
    this.#hocuspocus = new HocuspocusEndpoint({ ...options, throttle: this.#throttleOptions });
  }

  get connections(): number {
    return this.#endpoint.size;
  }

  /**
   * Every new socket counts against its address's connection limit until it turns out to be a
   * plain HTTP request (see `handleRequest`) or closes. So half-open handshakes, which the
   * server's header deadline closes, count too. A trusted proxy's sockets count from their
   * upgrade request on, against the client it names.
   */
  readonly handleConnection = (socket: Socket): void => {
    const ip = this.#addresses.ofSocket(socket);
    if (ip !== null) this.#count(socket, ip);
  };

  /** An HTTP request (not an upgrade) arrived on a socket: it is no WebSocket handshake. */
  readonly handleRequest = (req: IncomingMessage): void => {
    this.#uncount(req.socket);
  };

  #count(socket: Duplex, ip: string): void {
    if (this.#handshakes.has(socket)) return;
    const onClose = (): void => this.#uncount(socket);
    this.#handshakes.set(socket, { ip, onClose });
    this.#ipLimits.open(ip);
    socket.once('close', onClose);
  }

  #uncount(socket: Duplex): void {
    const handshake = this.#handshakes.get(socket);
    if (!handshake) return;
    this.#handshakes.delete(socket);
    socket.off('close', handshake.onClose);
    this.#ipLimits.release(handshake.ip);
  }

  readonly handleUpgrade = (req: IncomingMessage, socket: Duplex, head: Buffer): void => {
    socket.on('error', destroySocket);
    this.#upgrade(req, socket, head).catch((error: unknown) => {
      this.#options.log.error({ err: error }, 'upgrade failed');
      this.#refuse(req, socket, 500, 'internal error');
    });
  };

  async #upgrade(req: IncomingMessage, socket: Duplex, head: Buffer): Promise<void> {
    const { config, authenticator, registry } = this.#options;
    if (!this.#accepting) return this.#refuse(req, socket, 503, 'server shutting down');
    const room = roomFromPath(req.url);
    if (room === null && !isHocuspocusPath(req.url)) {
      return this.#refuse(
        req,
        socket,
        404,
        `WebSocket endpoint is /ws/<room> (a room name of 1-${MAX_ROOM_NAME} characters), or /hocuspocus for Hocuspocus providers`,
      );
    }
    const ip = this.#addresses.ofRequest(req);
    // A keep-alive socket that served HTTP requests before its upgrade counts from now on.
    this.#count(socket, ip);
    if (!this.#ipLimits.allowHandshake(ip)) {
      return this.#refuse(req, socket, 429, `more than ${config.handshakesPerSecondPerIp} connection attempts a second from this address`, {
        'Retry-After': '1',
      });
    }
    const origin = req.headers.origin;
    if (origin !== undefined && !this.#originAllowed(origin, req)) {
      return this.#refuse(req, socket, 403, `origin ${origin} may not open WebSockets here (see ALLOWED_ORIGINS)`);
    }
    if (room === null) return this.#upgradeHocuspocus(req, socket, head, ip);
    const offered = offeredProtocols(req);
    const named = offered.filter((p) => !p.startsWith(TOKEN_PROTOCOL_PREFIX));
    if (named.length > 0 && !named.includes(SUBPROTOCOL)) {
      return this.#refuse(
        req,
        socket,
        400,
        `unsupported subprotocol ${named.map((p) => `"${p}"`).join(', ')}: this server speaks "${SUBPROTOCOL}", or plain Yjs when no subprotocol is offered`,
      );
    }
    if (named.length < offered.length && !named.includes(SUBPROTOCOL)) {
      return this.#refuse(
        req,
        socket,
        400,
        `a token in Sec-WebSocket-Protocol needs "${SUBPROTOCOL}" offered beside it; plain Yjs clients can send ?token=`,
      );
    }
    let identity: Identity;
    try {
      identity = await authenticator.verify(tokenFromRequest(req));
    } catch (error) {
      if (!(error instanceof AuthError)) throw error;
      return this.#refuse(req, socket, 401, error.message);
    }
    const rights = rightFor(identity.grants, room);
    if (rights === null) return this.#refuse(req, socket, 403, `the token gives no access to room "${room}"`);
    if ((registry.get(room)?.connectionCount ?? 0) >= config.maxConnectionsPerRoom) {
      return this.#refuse(req, socket, 503, `room "${room}" is full (${config.maxConnectionsPerRoom} connections)`, { 'Retry-After': '5' });
    }
    if (this.#ipLimits.overLimit(ip)) {
      return this.#refuse(req, socket, 429, `this address has ${config.maxConnectionsPerIp} connections open already`);
    }
    this.#complete(req, socket, head, (peer) => this.#accept(peer, room, ip, identity, rights));
  }

  /** Hocuspocus providers authenticate each document in their first message (see hocuspocus.ts): only the address limit is left. */
  #upgradeHocuspocus(req: IncomingMessage, socket: Duplex, head: Buffer, ip: string): void {
    const offered = offeredProtocols(req);
    if (offered.length > 0) return this.#refuse(req, socket, 400, 'a Hocuspocus provider offers no subprotocol');
    if (this.#ipLimits.overLimit(ip)) {
      return this.#refuse(req, socket, 429, `this address has ${this.#options.config.maxConnectionsPerIp} connections open already`);
    }
    this.#complete(req, socket, head, (peer) => this.#hocuspocus.accept(peer, ip, tokenFromRequest(req), () => this.#ipLimits.release(ip)));
  }

  #complete(req: IncomingMessage, socket: Duplex, head: Buffer, accepted: (peer: WsSocket) => void): void {
    if (socket.destroyed) return;
    this.#endpoint.upgrade(req, socket, head, (peer) => {
      // From here the WebSocket owns the socket: its close releases the count, and ws handles
      // errors. The handshake's listeners would only hold memory for the life of the connection.
      const handshake = this.#handshakes.get(socket);
      if (handshake) {
        this.#handshakes.delete(socket);
        socket.off('close', handshake.onClose);
      }
      socket.off('error', destroySocket);
      accepted(peer);
    });
  }

  #refuse(req: IncomingMessage, socket: Duplex, status: number, reason: string, headers?: Record<string, string>): void {
    if (socket.destroyed) return;
    Traffic.bump(this.#options.traffic.refusals, status);
    // The client's address: behind a trusted proxy, the one it names (TRUST_PROXY).
    const address = this.#addresses.ofRequest(req);
    this.#options.logLimiter.log('info', `refused:${status}:${address}`, { status, address, reason }, 'WebSocket upgrade refused');
    refuse(socket, status, reason, headers);
  }

  #originAllowed(origin: string, req: IncomingMessage): boolean {
    const normalized = origin.toLowerCase();
    if (this.#allowedOrigins.has('*') || this.#allowedOrigins.has(normalized)) return true;
    const scheme = this.#options.secure ? 'https' : (this.#addresses.forwardedScheme(req) ?? 'http');
    const own = `${scheme}://${(req.headers.host ?? '').toLowerCase()}`;
    return normalized === own;
  }

  #accept(peer: WsSocket, roomName: string, ip: string, identity: Identity, rights: Rights): void {
    const { registry, log, config } = this.#options;
    const conn = new Connection({
      socket: peer,
      address: ip,
      room: roomName,
      identity,
      rights,
      maxBufferedBytes: config.maxBufferedBytes,
      traffic: this.#options.traffic,
    });
    const { traffic } = this.#options;
    if (conn.control) traffic.controlConnections++;
    else traffic.yjsConnections++;
    const room = registry.attach(roomName, conn);
    const throttle = new Throttle(conn, this.#throttleOptions, (data, isBinary) => {
      try {
        room.receive(conn, data, isBinary);
      } catch (error) {
        // A bug must cost this one connection, never the process or the other members.
        log.error({ err: error, ...conn.logFields }, 'unexpected error while handling a frame');
        conn.close(CloseCode.internalError, 'internal error');
      }
    });
    peer.listen(
      (data, isBinary) => {
        traffic.received(isBinary, data.byteLength);
        throttle.push(data, isBinary);
      },
      () => {
        if (conn.control) traffic.controlConnections--;
        else traffic.yjsConnections--;
        throttle.stop();
        this.#ipLimits.release(ip);
        room.leave(conn);
      },
      (error) => log.debug({ err: error, ...conn.logFields }, 'socket error'),
    );
  }

  /**
   * Refuses new upgrades, closes every socket with 1001 and waits for them to go (terminating
   * those that do not answer within `graceMs`).
   */
  async close(graceMs: number): Promise<void> {
    this.#accepting = false;
    this.#ipLimits.stop();
    await this.#endpoint.close(graceMs);
  }
}
