import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { CloseCode, SUBPROTOCOL } from '@tandem/protocol';
import type { Logger } from 'pino';
import { WebSocketServer, type WebSocket } from 'ws';
import { Connection } from '../rooms/connection.js';
import type { RoomRegistry } from '../rooms/registry.js';
import { Heartbeat } from './heartbeat.js';
import { WsSocket } from './ws-socket.js';

export interface GatewayOptions {
  registry: RoomRegistry;
  log: Logger;
  maxPayloadBytes: number;
  pingIntervalMs: number;
  /** Frames at least this large are sent with permessage-deflate (when the client offers it). */
  compressionThreshold: number;
}

const ROOM_PATH = /^\/ws\/([^/?#]+)$/;
const MAX_ROOM_NAME = 128;

/** Why an upgrade was refused: sent as an HTTP response before any WebSocket exists. */
function refuse(socket: Duplex, status: number, reason: string): void {
  const body = JSON.stringify({ error: reason });
  const statusText = { 400: 'Bad Request', 404: 'Not Found', 503: 'Service Unavailable' }[status] ?? 'Error';
  socket.end(
    `HTTP/1.1 ${status} ${statusText}\r\nConnection: close\r\nContent-Type: application/json\r\n` +
      `Content-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`,
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
  // Control characters would end up in logs and storage keys; slashes in URLs built from names.
  if (name.length > MAX_ROOM_NAME || /[\u0000-\u001f\u007f/]/.test(name)) return null;
  return name;
}

/**
 * The WebSocket edge: checks the path and subprotocol of each upgrade, refuses with an HTTP
 * status and a JSON reason, and hands accepted sockets to their rooms. This is the only file
 * that knows about `ws` connections.
 */
export class Gateway {
  readonly #options: GatewayOptions;
  readonly #wss: WebSocketServer;
  readonly #heartbeat: Heartbeat;
  #accepting = true;

  constructor(options: GatewayOptions) {
    this.#options = options;
    this.#wss = new WebSocketServer({
      noServer: true,
      maxPayload: options.maxPayloadBytes,
      perMessageDeflate: { threshold: options.compressionThreshold },
      handleProtocols: (offered) => (offered.has(SUBPROTOCOL) ? SUBPROTOCOL : false),
    });
    this.#heartbeat = new Heartbeat(this.#wss.clients, options.pingIntervalMs);
  }

  get connections(): number {
    return this.#wss.clients.size;
  }

  readonly handleUpgrade = (req: IncomingMessage, socket: Duplex, head: Buffer): void => {
    socket.on('error', () => socket.destroy());
    if (!this.#accepting) return refuse(socket, 503, 'server shutting down');
    const room = roomFromPath(req.url);
    if (room === null) {
      return refuse(socket, 404, `WebSocket endpoint is /ws/<room> (a room name of 1-${MAX_ROOM_NAME} characters)`);
    }
    const offered = (req.headers['sec-websocket-protocol'] ?? '')
      .split(',')
      .map((p) => p.trim())
      .filter(Boolean);
    if (offered.length > 0 && !offered.includes(SUBPROTOCOL)) {
      return refuse(
        socket,
        400,
        `unsupported subprotocol ${offered.map((p) => `"${p}"`).join(', ')}: this server speaks "${SUBPROTOCOL}", or plain Yjs when no subprotocol is offered`,
      );
    }
    this.#wss.handleUpgrade(req, socket, head, (ws) => this.#accept(ws, room));
  };

  #accept(ws: WebSocket, roomName: string): void {
    const { registry, log } = this.#options;
    this.#heartbeat.track(ws);
    const conn = new Connection(new WsSocket(ws));
    const room = registry.attach(roomName, conn);
    ws.on('message', (data: Buffer, isBinary: boolean) => {
      try {
        room.receive(conn, data, isBinary);
      } catch (error) {
        // A bug must cost this one connection, never the process or the other members.
        log.error({ err: error, room: roomName, conn: conn.id }, 'unexpected error while handling a frame');
        conn.close(CloseCode.internalError, 'internal error');
      }
    });
    ws.on('close', () => room.leave(conn));
    ws.on('error', (error) => log.debug({ err: error, conn: conn.id }, 'socket error'));
  }

  /**
   * Refuses new upgrades, closes every socket with 1001 and waits for them to go (terminating
   * those that do not answer within `graceMs`).
   */
  async close(graceMs: number): Promise<void> {
    this.#accepting = false;
    this.#heartbeat.stop();
    const sockets = [...this.#wss.clients];
    const closed = sockets.map((ws) => new Promise<void>((resolve) => {
      if (ws.readyState === ws.CLOSED) return resolve();
      ws.once('close', () => resolve());
    }));
    for (const ws of sockets) ws.close(CloseCode.goingAway, 'server shutting down');
    const deadline = setTimeout(() => {
      for (const ws of sockets) ws.terminate();
    }, graceMs);
    await Promise.all(closed);
    clearTimeout(deadline);
    await new Promise<void>((resolve) => this.#wss.close(() => resolve()));
  }
}
