import { canEdit, encodeSyncStep1, MalformedMessageError, roomNameProblem, type Rights } from '@tandem/protocol';
import { AuthError, type Authenticator, type Identity } from '../auth/authenticator.js';
import { rightFor } from '../auth/rights.js';
import type { Config } from '../config.js';
import type { Traffic } from '../lib/traffic.js';
import { Connection } from '../rooms/connection.js';
import type { RoomRegistry } from '../rooms/registry.js';
import type { Room } from '../rooms/room.js';
import { ChannelSocket, type ChannelHost } from './hocuspocus-channel-socket.js';
import {
  documentOf,
  encodeAuthenticated,
  encodeKey,
  encodePermissionDenied,
  encodeStateless,
  encodeSyncStatus,
  encodeTokenRequest,
  HocuspocusType,
  readStateless,
  readToken,
  syncStep,
  withKey,
  type HocuspocusFrame,
  type Scope,
} from './hocuspocus-wire.js';

/** How long before its token expires a provider is asked for a fresh one (or halfway, for a short-lived token). */
const REFRESH_BEFORE_MS = 60_000;
/** setTimeout fires at once for delays past 2^31 - 1 ms (about 24.8 days). */
const MAX_TIMER_MS = 2 ** 31 - 1;

export interface ChannelServices {
  registry: RoomRegistry;
  authenticator: Authenticator;
  traffic: Traffic;
  config: Pick<Config, 'maxBufferedBytes' | 'maxConnectionsPerRoom'>;
  stateless: StatelessRelay;
}

/** The WebSocket a channel belongs to, as the channel uses it. */
export interface ChannelOwner extends ChannelHost {
  readonly address: string;
  /** The token of the upgrade request (`?token=`, cookie), used when the provider sends none. */
  readonly handshakeToken: string | null;
  /** Runs a channel's asynchronous work inside the WebSocket's error boundary. */
  guard(what: string, work: Promise<void>): void;
  /** Counts a frame held before authentication; false (and the WebSocket closes) past the limits. */
  hold(bytes: number): boolean;
  release(frames: number, bytes: number): void;
  /** The channel is over: a later message with its key starts a new one. */
  ended(channel: HocuspocusChannel): void;
}

interface Joined {
  conn: Connection;
  room: Room;
  socket: ChannelSocket;
}

function scopeOf(rights: Rights): Scope {
  return canEdit(rights) ? 'read-write' : 'readonly';
}

/**
 * One document on a Hocuspocus WebSocket. Its frames are held until its auth message has been
 * checked like a handshake (name, token, rights, room capacity) and its room has loaded; then it
 * is a plain Yjs connection of the room (see ChannelSocket), and each document update it sends
 * is answered with a SyncStatus once the room has applied (or refused) it.
 */
export class HocuspocusChannel {
  readonly key: string;
  readonly document: string;
  readonly #keyBytes: Uint8Array;
  readonly #owner: ChannelOwner;
  readonly #services: ChannelServices;
  /** Frames held until the document is open (null from then on). */
  #held: HocuspocusFrame[] | null = [];
  #heldBytes = 0;
  #authenticating = false;
  #joined: Joined | null = null;
  #syncRequests = 0;
  #refreshTimer: NodeJS.Timeout | null = null;
  #refreshFor: number | null = null;
  #ended = false;

  constructor(key: string, owner: ChannelOwner, services: ChannelServices) {
    this.key = key;
    this.document = documentOf(key);
    this.#keyBytes = encodeKey(key);
    this.#owner = owner;
    this.#services = services;
  }

  receive(frame: HocuspocusFrame): void {
    if (this.#ended) return;
    if (this.#held === null) return this.#handle(this.#joined!, frame);
    if (frame.type === HocuspocusType.close) return this.end();
    if (frame.type === HocuspocusType.auth && !this.#authenticating) {
      this.#authenticating = true;
      this.#owner.guard('Hocuspocus authentication', this.#open(readToken(frame)));
      return;
    }
    if (!this.#owner.hold(frame.data.byteLength)) return;
    this.#held.push(frame);
    this.#heldBytes += frame.data.byteLength;
  }

  /** Authenticated, and joined to its room. */
  get open(): boolean {
    return this.#joined !== null;
  }

  sendStateless(payload: string): void {
    this.#owner.send(encodeStateless(this.#keyBytes, payload));
  }

  /** Leaves the room, if it joined one, and drops what it held. */
  end(): void {
    if (this.#ended) return;
    this.#ended = true;
    if (this.#refreshTimer) clearTimeout(this.#refreshTimer);
    this.#unhold();
    if (this.#joined) {
      this.#services.stateless.leave(this);
      this.#services.traffic.yjsConnections--;
      this.#joined.room.leave(this.#joined.conn);
    }
    this.#owner.ended(this);
  }

  async #open(token: string): Promise<void> {
    const { registry, config, traffic } = this.#services;
    const name = this.document;
    const problem = roomNameProblem(name);
    if (problem !== null) return this.#deny(problem);
    const identity = await this.#verify(token);
    if (typeof identity === 'string') return this.#deny(identity);
    if (this.#ended) return;
    const rights = rightFor(identity.grants, name);
    if (rights === null) return this.#deny(`the token gives no access to document "${name}"`);
    if ((registry.get(name)?.connectionCount ?? 0) >= config.maxConnectionsPerRoom) {
      return this.#deny(`document "${name}" is full (${config.maxConnectionsPerRoom} connections)`);
    }
    const socket = new ChannelSocket(this.#keyBytes, this.#owner, () => this.end());
    const { address } = this.#owner;
    const conn = new Connection({ socket, address, room: name, identity, rights, maxBufferedBytes: config.maxBufferedBytes, traffic });
    traffic.yjsConnections++;
    const room = registry.attach(name, conn);
    this.#joined = { conn, room, socket };
    // Until the room has loaded, frames stay held here: handled now, each update can be acknowledged.
    if (!(await room.whenLoaded()) || conn.closed) return;
    socket.announce(encodeAuthenticated(this.#keyBytes, scopeOf(conn.rights)));
    this.#services.stateless.join(this);
    this.#refreshBefore(identity.expiresAt);
    for (const frame of this.#unhold()) if (!this.#ended) this.#handle(this.#joined, frame);
  }

  /** Stops holding frames: returns those held, and gives their share of the WebSocket's limits back. */
  #unhold(): HocuspocusFrame[] {
    const held = this.#held ?? [];
    this.#owner.release(held.length, this.#heldBytes);
    this.#held = null;
    this.#heldBytes = 0;
    return held;
  }

  /** The identity a token proves, or why it proves none. */
  async #verify(token: string): Promise<Identity | string> {
    try {
      return await this.#services.authenticator.verify(token || this.#owner.handshakeToken);
    } catch (error) {
      if (!(error instanceof AuthError)) throw error;
      return error.message;
    }
  }

  /** Refuses the document; a later auth message for it is a fresh attempt. */
  #deny(reason: string): void {
    if (this.#ended) return;
    this.#owner.send(encodePermissionDenied(this.#keyBytes, reason));
    this.end();
  }

  #handle({ conn, room, socket }: Joined, frame: HocuspocusFrame): void {
    switch (frame.type) {
      case HocuspocusType.sync:
      case HocuspocusType.awareness:
      case HocuspocusType.queryAwareness:
        room.receive(conn, frame.body, true);
        if (conn.closed) return;
        if (frame.type === HocuspocusType.awareness) {
          // Echoed as Hocuspocus does: a provider reconnects after 30 s without a message, and its own
          // awareness, renewed every 15 s, is what a quiet document sends it.
          this.#owner.send(frame.data);
        } else if (frame.type === HocuspocusType.sync) {
          this.#answerSync(room, socket, syncStep(frame));
        }
        return;
      case HocuspocusType.auth:
        this.#owner.guard('Hocuspocus re-authentication', this.#renew(conn, readToken(frame)));
        return;
      case HocuspocusType.stateless:
        this.#services.stateless.relay(this, readStateless(frame));
        return;
      case HocuspocusType.close:
        this.end();
        return;
      default:
        throw new MalformedMessageError(`Hocuspocus message type ${frame.type} is not accepted from a client`);
    }
  }

  #answerSync(room: Room, socket: ChannelSocket, step: number): void {
    if (step === 0) {
      // The room sent its step 1 when the channel opened; a later step 1 (the provider's
      // forceSync) waits for the server's, as Hocuspocus sends it, to count its changes as synced.
      if (this.#syncRequests++ > 0) this.#owner.send(withKey(this.#keyBytes, encodeSyncStep1(room.doc)));
      return;
    }
    this.#owner.send(encodeSyncStatus(this.#keyBytes, !socket.takeRefusal()));
  }

  /** A fresh token for an open document: the same user, rights recomputed, expiry moved. */
  async #renew(conn: Connection, token: string): Promise<void> {
    const identity = await this.#verify(token);
    if (this.#ended) return;
    const rights = typeof identity === 'string' ? null : conn.session.renew(identity);
    if (rights === null) {
      // Refused, the old token stays in force until it expires.
      const reason = typeof identity === 'string' ? identity : 'the new token is for another user or gives no access to this document';
      this.#owner.send(encodePermissionDenied(this.#keyBytes, reason));
      return;
    }
    this.#owner.send(encodeAuthenticated(this.#keyBytes, scopeOf(rights)));
    this.#refreshBefore(conn.identity.expiresAt);
  }

  /**
   * Asks the provider for its token again before this one expires (it calls its `token` function
   * and sends the result); the room closes the connection at expiry otherwise. Once per expiry:
   * a provider with a fixed token sends the same one back.
   */
  #refreshBefore(expiresAt: number | null): void {
    if (expiresAt === this.#refreshFor) return;
    this.#refreshFor = expiresAt;
    if (this.#refreshTimer) clearTimeout(this.#refreshTimer);
    this.#refreshTimer = null;
    if (expiresAt === null) return;
    const left = expiresAt - Date.now();
    const delay = Math.max(left - REFRESH_BEFORE_MS, left / 2);
    if (delay > MAX_TIMER_MS) return;
    this.#refreshTimer = setTimeout(() => this.#owner.send(encodeTokenRequest(this.#keyBytes)), delay);
  }
}

/**
 * Stateless messages between the Hocuspocus providers of a document on this node: each goes to
 * every other open channel of that document. They are not stored, and not sent to other nodes
 * nor to SDK or y-websocket clients.
 */
export class StatelessRelay {
  readonly #channels = new Map<string, Set<HocuspocusChannel>>();

  join(channel: HocuspocusChannel): void {
    let channels = this.#channels.get(channel.document);
    if (!channels) this.#channels.set(channel.document, (channels = new Set()));
    channels.add(channel);
  }

  leave(channel: HocuspocusChannel): void {
    const channels = this.#channels.get(channel.document);
    if (channels?.delete(channel) && channels.size === 0) this.#channels.delete(channel.document);
  }

  relay(from: HocuspocusChannel, payload: string): void {
    for (const channel of this.#channels.get(from.document) ?? []) if (channel !== from) channel.sendStateless(payload);
  }
}
