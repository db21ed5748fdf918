import { StatelessRelay } from './hocuspocus-channel.js';
import { HocuspocusSocket, type SocketServices } from './hocuspocus-socket.js';
import type { WsSocket } from './ws-socket.js';

export type HocuspocusOptions = Omit<SocketServices, 'stateless'>;

/**
 * `/hocuspocus`, and a bare `/ws`: a Hocuspocus provider connects to the URL it is given, with
 * no room in it, and y-websocket and SDK clients always name one (`/ws/<room>`).
 */
export function isHocuspocusPath(url: string | undefined): boolean {
  const path = (url ?? '').split('?')[0];
  return path === '/hocuspocus' || path === '/ws';
}

/**
 * Serves @hocuspocus/provider (TipTap's collaboration provider) next to y-websocket and the SDK:
 * each document it opens is a plain Yjs connection of that document's room, so all three meet in
 * the same rooms. The gateway has checked the upgrade (address limits, origin); each document is
 * authenticated by its own auth message (see HocuspocusChannel).
 */
export class HocuspocusEndpoint {
  readonly #services: SocketServices;

  constructor(options: HocuspocusOptions) {
    this.#services = { ...options, stateless: new StatelessRelay() };
  }

  /** Serves an upgraded WebSocket; `onClosed` runs once it has closed. */
  accept(peer: WsSocket, address: string, handshakeToken: string | null, onClosed: () => void): void {
    new HocuspocusSocket(peer, this.#services, address, handshakeToken).listen(onClosed);
  }
}
