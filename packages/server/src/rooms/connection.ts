import { randomBytes } from 'node:crypto';
import type { Member, ServerMessage } from '@tandem/protocol';
import type { PeerSocket } from '../transport/socket.js';

/** One client connection inside a room. */
export class Connection {
  readonly id = randomBytes(9).toString('base64url');
  readonly socket: PeerSocket;
  /** True when the client negotiated the control channel (tandem.v1). */
  readonly control: boolean;
  member: Member | null = null;
  typing = false;
  /** Awareness client ids this connection has announced, removed when it leaves. */
  readonly awarenessClients = new Set<number>();
  /** Frames that arrived while the room was still loading, in order. */
  pending: Array<{ data: Uint8Array; isBinary: boolean }> | null = [];
  closed = false;

  constructor(socket: PeerSocket) {
    this.socket = socket;
    this.control = socket.protocol !== '';
  }

  send(data: Uint8Array | string): void {
    if (!this.closed) this.socket.send(data);
  }

  sendJson(message: ServerMessage): void {
    this.send(JSON.stringify(message));
  }

  close(code: number, reason: string): void {
    if (this.closed) return;
    this.closed = true;
    this.socket.close(code, reason);
  }
}
