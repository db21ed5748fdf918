import type { ClientKind } from './lib/clients.js';

export type ServerName = 'tandem' | 'hocuspocus' | 'y-websocket' | 'relay' | 'socketio';

export interface Target {
  id: string;
  label: string;
  server: ServerName;
  client: ClientKind | 'socketio';
  /** Appended to ws://host:port to make the base URL the client library expects. */
  path: string;
  /** A peer to compare with (false for Tandem's own rows). */
  peer: boolean;
  /** Two nodes of `server` sharing a private redis-server, and a private PostgreSQL when `postgres` (lib/services.ts). */
  cluster?: { postgres: boolean };
}

export const TARGETS: Record<string, Target> = {
  'tandem-sdk': { id: 'tandem-sdk', label: 'Tandem · SDK clients', server: 'tandem', client: 'tandem', path: '', peer: false },
  'tandem-stock': {
    id: 'tandem-stock',
    label: 'Tandem · stock y-websocket clients',
    server: 'tandem',
    client: 'yws',
    path: '/ws',
    peer: false,
  },
  hocuspocus: { id: 'hocuspocus', label: 'Hocuspocus 4.7', server: 'hocuspocus', client: 'hocuspocus', path: '', peer: true },
  'y-websocket': { id: 'y-websocket', label: '@y/websocket-server 0.1.1', server: 'y-websocket', client: 'yws', path: '', peer: true },
  relay: { id: 'relay', label: 'raw ws relay (no CRDT)', server: 'relay', client: 'relay', path: '', peer: true },
  socketio: { id: 'socketio', label: 'Socket.IO 4 room broadcast', server: 'socketio', client: 'socketio', path: '', peer: true },
  'tandem-cluster': {
    id: 'tandem-cluster',
    label: 'Tandem · 2 nodes + Redis + PostgreSQL · SDK clients',
    server: 'tandem',
    client: 'tandem',
    path: '',
    peer: false,
    cluster: { postgres: true },
  },
  'hocuspocus-redis': {
    id: 'hocuspocus-redis',
    label: 'Hocuspocus 4.7 · 2 nodes + Redis',
    server: 'hocuspocus',
    client: 'hocuspocus',
    path: '',
    peer: true,
    cluster: { postgres: false },
  },
};

export const DOC_TARGETS = ['tandem-sdk', 'tandem-stock', 'hocuspocus', 'y-websocket', 'relay'];
export const CLUSTER_TARGETS = ['tandem-cluster', 'hocuspocus-redis'];
