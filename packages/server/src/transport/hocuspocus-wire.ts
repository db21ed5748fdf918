import { MalformedMessageError } from '@tandem/protocol';
import * as decoding from 'lib0/decoding';
import * as encoding from 'lib0/encoding';

/**
 * The Hocuspocus wire format (as @hocuspocus/provider 4.x speaks it): every message is varString(key) +
 * varUint(type) + payload, where the key is the document name, or `name\0session` for a provider
 * with `sessionAwareness`. Types 0, 1 and 3 carry exactly the y-websocket payloads, so
 * `frame.body` (the type and what follows) is a y-websocket frame as it is.
 */
export const HocuspocusType = {
  sync: 0,
  awareness: 1,
  auth: 2,
  queryAwareness: 3,
  stateless: 5,
  close: 7,
  syncStatus: 8,
} as const;

/** The sub-type of an auth message. */
const Auth = { token: 0, permissionDenied: 1, authenticated: 2 } as const;

export type Scope = 'read-write' | 'readonly';

export interface HocuspocusFrame {
  /** The whole message, as received. */
  data: Uint8Array;
  key: string;
  type: number;
  /** From the type on: for sync, awareness and query awareness, a y-websocket frame. */
  body: Uint8Array;
  /** Positioned after the type. */
  decoder: decoding.Decoder;
}

export function parseFrame(data: Uint8Array): HocuspocusFrame {
  const decoder = decoding.createDecoder(data);
  try {
    const key = decoding.readVarString(decoder);
    const start = decoder.pos;
    const type = decoding.readVarUint(decoder);
    return { data, key, type, body: data.subarray(start), decoder };
  } catch {
    throw new MalformedMessageError('not a Hocuspocus message (a document name, then a message type)');
  }
}

/** The document a key names: a session-aware provider appends `\0<session>`. */
export function documentOf(key: string): string {
  const end = key.indexOf('\0');
  return end === -1 ? key : key.slice(0, end);
}

/** The token of an auth message ('' when the provider has none); the provider's version after it is ignored. */
export function readToken(frame: HocuspocusFrame): string {
  try {
    if (decoding.readVarUint(frame.decoder) !== Auth.token) throw new Error();
    return decoding.readVarString(frame.decoder);
  } catch {
    throw new MalformedMessageError('invalid Hocuspocus auth message (expected a token)');
  }
}

export function readStateless(frame: HocuspocusFrame): string {
  try {
    return decoding.readVarString(frame.decoder);
  } catch {
    throw new MalformedMessageError('invalid Hocuspocus stateless message');
  }
}

/** The sync sub-type of a sync message (0 step 1, 1 step 2, 2 update), or -1 if it has none. */
export function syncStep(frame: HocuspocusFrame): number {
  return frame.body.length > 1 ? frame.body[1]! : -1;
}

/** Every message to one channel starts with its key, encoded once. */
export function encodeKey(key: string): Uint8Array {
  const encoder = encoding.createEncoder();
  encoding.writeVarString(encoder, key);
  return encoding.toUint8Array(encoder);
}

/** A y-websocket frame sent on a channel. */
export function withKey(key: Uint8Array, frame: Uint8Array): Uint8Array {
  const message = new Uint8Array(key.length + frame.length);
  message.set(key);
  message.set(frame, key.length);
  return message;
}

function message(key: Uint8Array, write: (encoder: encoding.Encoder) => void): Uint8Array {
  const encoder = encoding.createEncoder();
  encoding.writeUint8Array(encoder, key);
  write(encoder);
  return encoding.toUint8Array(encoder);
}

export function encodeAuthenticated(key: Uint8Array, scope: Scope): Uint8Array {
  return message(key, (encoder) => {
    encoding.writeVarUint(encoder, HocuspocusType.auth);
    encoding.writeVarUint(encoder, Auth.authenticated);
    encoding.writeVarString(encoder, scope);
  });
}

export function encodePermissionDenied(key: Uint8Array, reason: string): Uint8Array {
  return message(key, (encoder) => {
    encoding.writeVarUint(encoder, HocuspocusType.auth);
    encoding.writeVarUint(encoder, Auth.permissionDenied);
    encoding.writeVarString(encoder, reason);
  });
}

/** Asks the provider for its token again (it answers with an auth message). */
export function encodeTokenRequest(key: Uint8Array): Uint8Array {
  return message(key, (encoder) => {
    encoding.writeVarUint(encoder, HocuspocusType.auth);
    encoding.writeVarUint(encoder, Auth.token);
  });
}

/** Whether a document update (sync step 2 or update) was applied: the provider counts its `unsyncedChanges` down on true. */
export function encodeSyncStatus(key: Uint8Array, applied: boolean): Uint8Array {
  return message(key, (encoder) => {
    encoding.writeVarUint(encoder, HocuspocusType.syncStatus);
    encoding.writeVarInt(encoder, applied ? 1 : 0);
  });
}

export function encodeStateless(key: Uint8Array, payload: string): Uint8Array {
  return message(key, (encoder) => {
    encoding.writeVarUint(encoder, HocuspocusType.stateless);
    encoding.writeVarString(encoder, payload);
  });
}

/** Ends one document's channel; the WebSocket and its other documents stay. */
export function encodeClose(key: Uint8Array, reason: string): Uint8Array {
  return message(key, (encoder) => {
    encoding.writeVarUint(encoder, HocuspocusType.close);
    encoding.writeVarString(encoder, reason);
  });
}
