import * as decoding from 'lib0/decoding';
import * as encoding from 'lib0/encoding';
import WebSocket from 'ws';
import type { ClientKind } from './clients.js';

/**
 * A light observer: a member of the room that reads the document updates the server sends and
 * hands them on, without keeping a Y.Doc. A thousand full Yjs clients need more CPU than a
 * 2-core machine has next to the server (W6), so most members of a big room are these: the
 * server does exactly the same work for them (same handshake, same frames), and the load
 * generator stays out of the measurement. Each speaks its server's wire protocol.
 */
export interface Observer {
  /** Resolves once the server has sent its copy of the document (sync step 2). */
  synced: Promise<void>;
  close(): void;
}

const SYNC = 0;
const STEP1 = 0;
const STEP2 = 1;
const UPDATE = 2;
/** Hocuspocus prefixes each message with the document name and has two more types. */
const HOCUSPOCUS_AUTH = 2;
const HOCUSPOCUS_SYNC_REPLY = 4;
/** The state vector of an empty document. */
const EMPTY_STATE_VECTOR = Uint8Array.of(0);

function message(documentName: string | null, write: (encoder: encoding.Encoder) => void): Uint8Array {
  const encoder = encoding.createEncoder();
  if (documentName !== null) encoding.writeVarString(encoder, documentName);
  write(encoder);
  return encoding.toUint8Array(encoder);
}

const syncStep1 = (documentName: string | null): Uint8Array =>
  message(documentName, (e) => {
    encoding.writeVarUint(e, SYNC);
    encoding.writeVarUint(e, STEP1);
    encoding.writeVarUint8Array(e, EMPTY_STATE_VECTOR);
  });

export function openObserver(kind: ClientKind, base: string, room: string, name: string, onUpdate: (update: Uint8Array) => void): Observer {
  const hocuspocus = kind === 'hocuspocus';
  // The SDK is given the server's address and adds /ws itself; the y-websocket clients are given /ws.
  const url = hocuspocus ? base : `${base}${kind === 'tandem' ? '/ws' : ''}/${encodeURIComponent(room)}`;
  const ws = kind === 'tandem' ? new WebSocket(url, 'tandem.v1') : new WebSocket(url);
  ws.binaryType = 'nodebuffer';
  let resolveSynced!: () => void;
  const synced = new Promise<void>((resolve, reject) => {
    resolveSynced = resolve;
    ws.once('error', reject);
    ws.once('close', (code) => reject(new Error(`observer ${name} closed (${code}) before it synced`)));
  });
  ws.once('open', () => {
    if (kind === 'relay') return resolveSynced(); // nothing to sync from
    if (kind === 'tandem') ws.send(JSON.stringify({ type: 'join', name }));
    if (hocuspocus) {
      ws.send(
        message(room, (e) => {
          encoding.writeVarUint(e, HOCUSPOCUS_AUTH);
          encoding.writeVarUint(e, 0); // token
          encoding.writeVarString(e, '');
          encoding.writeVarString(e, 'bench');
        }),
      );
    }
    ws.send(syncStep1(hocuspocus ? room : null));
  });
  ws.on('message', (data: Buffer, isBinary: boolean) => {
    if (!isBinary) return; // control messages (members, activity)
    const decoder = decoding.createDecoder(data);
    if (hocuspocus) decoding.readVarString(decoder);
    const type = decoding.readVarUint(decoder);
    if (type !== SYNC && !(hocuspocus && type === HOCUSPOCUS_SYNC_REPLY)) return; // awareness and the like
    const step = decoding.readVarUint(decoder);
    if (step === STEP1) return; // the server's state vector: an observer has nothing to add
    onUpdate(decoding.readVarUint8Array(decoder));
    if (step === STEP2) resolveSynced();
    else if (step !== UPDATE) throw new Error(`observer ${name}: unknown sync step ${step}`);
  });
  return { synced, close: () => ws.close() };
}
