/**
 * The little a room needs from a client connection. `ws` is adapted to it in ws-socket.ts;
 * keeping rooms behind this interface lets them be tested and moved without touching `ws`.
 */
export interface PeerSocket {
  /** The negotiated subprotocol ('' when none). */
  readonly protocol: string;
  /** Bytes queued in user space and not yet handed to the kernel. */
  readonly bufferedAmount: number;
  /** A binary frame for bytes, a text frame for a string. */
  send(data: Uint8Array | string): void;
  /** A text frame from text already UTF-8 encoded (a broadcast encodes it once for everyone). */
  sendText(utf8: Uint8Array): void;
  close(code: number, reason: string): void;
  /** Drops the connection without a close handshake (for a peer that no longer reads). */
  terminate(): void;
  /** Stops reading from the peer (TCP then holds the sender back) until `resume`. */
  pause(): void;
  resume(): void;
}
