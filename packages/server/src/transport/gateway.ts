import { STATUS_CODES, type IncomingMessage } from 'node:http';
import type { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import {
  CloseCode,
  MAX_ROOM_NAME,
  roomNameProblem,
  SUBPROTOCOL,
  TOKEN_PROTOCOL_PREFIX,
  type HttpErrorBody,
  type HttpErrorCode,
  type Rights,
} from '@tandem/protocol';
import type { Logger } from 'pino';
import { AuthError, type Authenticator, type Identity } from '../auth/authenticator.js';
import { rightFor } from '../auth/rights.js';
import { offeredProtocols, tokenFromRequest } from '../auth/token.js';
import type { Config } from '../config.js';
import { Connection } from '../rooms/connection.js';
import type { RoomRegistry } from '../rooms/registry.js';
import { errorBody } from '../lib/http-error.js';
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
  | 'handshakeTimeoutMs'
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

/** Why a handshake is refused: its HTTP status, error code and a reason a person can act on. */
interface Refusal {
  status: number;
  code: HttpErrorCode;
  reason: string;
  headers?: Record<string, string>;
}

/** A handshake that passed the checks: to a room, or (room null) a Hocuspocus provider's socket. */
type Admission = { room: string; identity: Identity; rights: Rights } | { room: null };

/** Refuses an upgrade with an HTTP status and a JSON reason, before any WebSocket exists. */
function refuse(socket: Duplex, status: number, error: HttpErrorBody, headers: Record<string, string> = {}): void {
  if (socket.destroyed) return;
  const body = JSON.stringify(error);
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
      this.#refuse(req, socket, { status: 500, code: 'internal', reason: 'internal error' });
    });
  };

  async #upgrade(req: IncomingMessage, socket: Duplex, head: Buffer): Promise<void> {
    const ip = this.#addresses.ofRequest(req);
    // A keep-alive socket that served HTTP requests before its upgrade counts from now on.
    this.#count(socket, ip);
    const verdict = await this.#admit(req, ip, true);
    if ('status' in verdict) return this.#refuse(req, socket, verdict);
    if (verdict.room === null) {
      const release = (): void => this.#ipLimits.release(ip);
      return this.#complete(req, socket, head, (peer) => this.#hocuspocus.accept(peer, ip, tokenFromRequest(req), release));
    }
    const { room, identity, rights } = verdict;
    this.#complete(req, socket, head, (peer) => this.#accept(peer, room, ip, identity, rights));
  }

  /**
   * What a WebSocket handshake to this URL would get, for `GET /ws/<room>` without an upgrade:
   * browsers hide the status of a refused handshake, so the SDK asks here why it was refused.
   * Subprotocols aside, the same checks run, the handshake rate limit included.
   */
  async probe(req: IncomingMessage): Promise<{ status: number; body: HttpErrorBody | { ok: true }; headers: Record<string, string> }> {
    const verdict = await this.#admit(req, this.#addresses.ofRequest(req), false);
    if ('status' in verdict)
      return { status: verdict.status, body: errorBody(verdict.code, verdict.reason), headers: verdict.headers ?? {} };
    return { status: 200, body: { ok: true }, headers: {} };
  }

  /** The handshake checks in order: the first that fails refuses it. `handshake`: a real upgrade, whose subprotocols are checked too. */
  async #admit(req: IncomingMessage, ip: string, handshake: boolean): Promise<Refusal | Admission> {
    const { config, authenticator, registry } = this.#options;
    if (!this.#accepting) return { status: 503, code: 'unavailable', reason: 'server shutting down' };
    const room = roomFromPath(req.url);
    if (room === null && !isHocuspocusPath(req.url)) {
      const reason = `WebSocket endpoint is /ws/<room> (a room name of 1-${MAX_ROOM_NAME} characters), or /hocuspocus for Hocuspocus providers`;
      return { status: 404, code: 'not_found', reason };
    }
    if (!this.#ipLimits.allowHandshake(ip)) {
      const reason = `more than ${config.handshakesPerSecondPerIp} connection attempts a second from this address`;
      return { status: 429, code: 'rate_limited', reason, headers: { 'Retry-After': '1' } };
    }
    const origin = req.headers.origin;
    if (origin !== undefined && !this.#originAllowed(origin, req)) {
      return { status: 403, code: 'origin_not_allowed', reason: `origin ${origin} may not open WebSockets here (see ALLOWED_ORIGINS)` };
    }
    const offered = handshake ? offeredProtocols(req) : [];
    if (room === null) {
      // Hocuspocus providers authenticate each document in their first message (see hocuspocus.ts).
      if (offered.length > 0) return { status: 400, code: 'bad_request', reason: 'a Hocuspocus provider offers no subprotocol' };
      return this.#overLimit(ip) ?? { room: null };
    }
    const named = offered.filter((p) => !p.startsWith(TOKEN_PROTOCOL_PREFIX));
    if (named.length > 0 && !named.includes(SUBPROTOCOL)) {
      const list = named.map((p) => `"${p}"`).join(', ');
      const reason = `unsupported subprotocol ${list}: this server speaks "${SUBPROTOCOL}", or plain Yjs when no subprotocol is offered`;
      return { status: 400, code: 'bad_request', reason };
    }
    if (named.length < offered.length && !named.includes(SUBPROTOCOL)) {
      const reason = `a token in Sec-WebSocket-Protocol needs "${SUBPROTOCOL}" offered beside it; plain Yjs clients can send ?token=`;
      return { status: 400, code: 'bad_request', reason };
    }
    let identity: Identity;
    try {
      identity = await authenticator.verify(tokenFromRequest(req), req);
    } catch (error) {
      if (!(error instanceof AuthError)) throw error;
      return { status: 401, code: 'unauthorized', reason: error.message };
    }
    const rights = rightFor(identity.grants, room);
    if (rights === null) return { status: 403, code: 'forbidden', reason: `the token gives no access to room "${room}"` };
    if ((registry.get(room)?.connectionCount ?? 0) >= config.maxConnectionsPerRoom) {
      const reason = `room "${room}" is full (${config.maxConnectionsPerRoom} connections)`;
      return { status: 503, code: 'room_full', reason, headers: { 'Retry-After': '5' } };
    }
    return this.#overLimit(ip) ?? { room, identity, rights };
  }

  #overLimit(ip: string): Refusal | null {
    if (!this.#ipLimits.overLimit(ip)) return null;
    return {
      status: 429,
      code: 'rate_limited',
      reason: `this address has ${this.#options.config.maxConnectionsPerIp} connections open already`,
    };
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

  #refuse(req: IncomingMessage, socket: Duplex, { status, code, reason, headers }: Refusal): void {
    if (socket.destroyed) return;
    Traffic.bump(this.#options.traffic.refusals, status);
    // The client's address: behind a trusted proxy, the one it names (TRUST_PROXY).
    const address = this.#addresses.ofRequest(req);
    this.#options.logLimiter.log('info', `refused:${status}:${address}`, { status, code, address, reason }, 'WebSocket upgrade refused');
    refuse(socket, status, errorBody(code, reason), headers);
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
