import type { ServerMessage } from '@tandem/protocol';
import type { PeerSocket } from '../src/rooms/peer-socket.js';

/** A PeerSocket that records what a room sends it: control messages parsed, binary frames as they are. */
export class FakeSocket implements PeerSocket {
  readonly protocol: string;
  readonly bufferedAmount = 0;
  readonly json: ServerMessage[] = [];
  readonly binary: Uint8Array[] = [];
  closed: { code: number; reason: string } | null = null;
  paused = false;

  constructor(protocol = 'tandem.v1') {
    this.protocol = protocol;
  }

  send(data: Uint8Array | string): void {
    if (typeof data === 'string') this.json.push(JSON.parse(data));
    else this.binary.push(data);
  }
  sendText(utf8: Uint8Array): void {
    this.json.push(JSON.parse(Buffer.from(utf8).toString('utf8')));
  }
  close(code: number, reason: string): void {
    this.closed = { code, reason };
  }
  terminate(): void {
    this.closed = { code: 1006, reason: '' };
  }
  pause(): void {
    this.paused = true;
  }
  resume(): void {
    this.paused = false;
  }
  of<T extends ServerMessage['type']>(type: T): Array<Extract<ServerMessage, { type: T }>> {
    return this.json.filter((m): m is Extract<ServerMessage, { type: T }> => m.type === type);
  }
}
