import { HocuspocusProvider } from '@hocuspocus/provider';
import { connect as tandemConnect } from '@tandem/client';
import { applyYMessage, encodeUpdateMessage } from '@tandem/protocol';
import { io as socketIo } from 'socket.io-client';
import { Awareness } from 'y-protocols/awareness';
import { WebsocketProvider } from 'y-websocket';
import WebSocket from 'ws';
import * as Y from 'yjs';

export type ClientKind = 'tandem' | 'yws' | 'hocuspocus' | 'relay';

/** One document client under load, whatever library drives it. */
export interface DocClient {
  doc: Y.Doc;
  synced: Promise<void>;
  close(): void;
}

export interface DocClientOptions {
  /** Fixed Yjs client id, so every process can tell a writer's k-th insert by its clock. */
  clientId?: number;
  name?: string;
}

const REMOTE = Symbol('remote');

/** The relay has no server state to sync from: its clients just send and apply updates. */
function relayClient(base: string, room: string, doc: Y.Doc): DocClient {
  const ws = new WebSocket(`${base}/${encodeURIComponent(room)}`);
  ws.binaryType = 'nodebuffer';
  const awareness = new Awareness(doc);
  awareness.setLocalState(null);
  ws.on('message', (data: Buffer) => applyYMessage(data, { doc, awareness, origin: REMOTE }));
  doc.on('update', (update: Uint8Array, origin: unknown) => {
    if (origin !== REMOTE && ws.readyState === ws.OPEN) ws.send(encodeUpdateMessage(update));
  });
  return {
    doc,
    synced: new Promise((resolve, reject) => {
      ws.once('open', () => resolve());
      ws.once('error', reject);
    }),
    close: () => {
      awareness.destroy();
      ws.close();
    },
  };
}

export function openDocClient(kind: ClientKind, base: string, room: string, options: DocClientOptions = {}): DocClient {
  const doc = new Y.Doc();
  if (options.clientId !== undefined) doc.clientID = options.clientId;
  switch (kind) {
    case 'tandem': {
      const handle = tandemConnect(base, room, { doc, WebSocket, ...(options.name ? { name: options.name } : {}) });
      return { doc, synced: handle.whenSynced(), close: () => handle.destroy() };
    }
    case 'yws': {
      const provider = new WebsocketProvider(base, room, doc, { WebSocketPolyfill: WebSocket as never, disableBc: true });
      const synced = new Promise<void>((resolve) => {
        if (provider.synced) resolve();
        else provider.once('sync', () => resolve());
      });
      return { doc, synced, close: () => provider.destroy() };
    }
    case 'hocuspocus': {
      let resolveSynced!: () => void;
      const synced = new Promise<void>((resolve) => (resolveSynced = resolve));
      // Given a url, the provider builds its own socket from the same options, polyfill included.
      const socketOptions = { WebSocketPolyfill: WebSocket } as object;
      const provider = new HocuspocusProvider({ url: base, name: room, document: doc, onSynced: () => resolveSynced(), ...socketOptions });
      return { doc, synced, close: () => provider.destroy() };
    }
    case 'relay':
      return relayClient(base, room, doc);
  }
}

/** A chat member: Tandem's control channel, or a Socket.IO room. */
export interface ChatClient {
  ready: Promise<void>;
  send(text: string): void;
  onMessage(listener: (text: string) => void): void;
  close(): void;
}

/**
 * How many chat messages each member keeps, on both sides: what a chat panel shows (and what a
 * Tandem welcome carries). The SDK keeps 1,000 by default, which is nothing for one browser but,
 * times the 100 members sharing a load-generator process, made that process's garbage collector
 * the latency tail; Socket.IO's client keeps nothing by itself.
 */
const CHAT_KEPT = 50;

export function openChatClient(kind: 'tandem' | 'socketio', base: string, room: string, name: string): ChatClient {
  if (kind === 'tandem') {
    const handle = tandemConnect(base, room, { name, WebSocket, historyLimit: CHAT_KEPT });
    return {
      ready: handle.whenJoined().then(() => {}),
      send: (text) => void handle.sendChat(text),
      onMessage: (listener) => handle.on('chat', (message) => listener(message.text)),
      close: () => handle.destroy(),
    };
  }
  const socket = socketIo(base.replace('ws', 'http'), { transports: ['websocket'], query: { room }, forceNew: true });
  const kept: string[] = [];
  return {
    ready: new Promise((resolve) => socket.once('connect', () => resolve())),
    send: (text) => void socket.emit('chat', text),
    onMessage: (listener) =>
      socket.on('chat', (text: string) => {
        kept.push(text);
        if (kept.length > CHAT_KEPT) kept.shift();
        listener(text);
      }),
    close: () => socket.close(),
  };
}
