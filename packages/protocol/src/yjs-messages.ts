/**
 * The binary half of the protocol: the standard Yjs messages of y-protocols, framed exactly as
 * y-websocket frames them (a varint message type, then the payload), so stock Yjs providers
 * can talk to Tandem. Both the server and the client read and write them through this module.
 */
import * as decoding from 'lib0/decoding';
import * as encoding from 'lib0/encoding';
import { writePermissionDenied } from 'y-protocols/auth';
import * as awarenessProtocol from 'y-protocols/awareness';
import * as syncProtocol from 'y-protocols/sync';
import * as Y from 'yjs';

export const YMessageType = { sync: 0, awareness: 1, auth: 2, queryAwareness: 3 } as const;

export function encodeSyncStep1(doc: Y.Doc): Uint8Array {
  const encoder = encoding.createEncoder();
  encoding.writeVarUint(encoder, YMessageType.sync);
  syncProtocol.writeSyncStep1(encoder, doc);
  return encoding.toUint8Array(encoder);
}

/** A document update (already encoded by Yjs) wrapped as a sync "update" message. */
export function encodeUpdateMessage(update: Uint8Array): Uint8Array {
  const encoder = encoding.createEncoder();
  encoding.writeVarUint(encoder, YMessageType.sync);
  syncProtocol.writeUpdate(encoder, update);
  return encoding.toUint8Array(encoder);
}

/** An awareness update (already encoded by y-protocols) wrapped as an awareness message. */
export function encodeAwarenessMessage(awarenessUpdate: Uint8Array): Uint8Array {
  const encoder = encoding.createEncoder();
  encoding.writeVarUint(encoder, YMessageType.awareness);
  encoding.writeVarUint8Array(encoder, awarenessUpdate);
  return encoding.toUint8Array(encoder);
}

export function encodeAwarenessStates(awareness: awarenessProtocol.Awareness, clients: number[]): Uint8Array {
  return encodeAwarenessMessage(awarenessProtocol.encodeAwarenessUpdate(awareness, clients));
}

export const QUERY_AWARENESS_MESSAGE: Uint8Array = Uint8Array.of(YMessageType.queryAwareness);

/** The y-protocols "permission denied" auth message: how a plain Yjs client learns an update was refused. */
export function encodePermissionDenied(reason: string): Uint8Array {
  const encoder = encoding.createEncoder();
  encoding.writeVarUint(encoder, YMessageType.auth);
  writePermissionDenied(encoder, reason);
  return encoding.toUint8Array(encoder);
}

/** Why the server refuses a document update (each is also an error code of the control channel). */
export type RefusalReason = 'read_only' | 'too_large' | 'storage_backlog';

/** What to do with a received document update. */
export type UpdateVerdict = 'apply' | 'skip' | { refused: RefusalReason };

export interface YMessageTarget {
  doc: Y.Doc;
  awareness: awarenessProtocol.Awareness;
  /** Passed as the transaction origin, so update listeners can tell who made a change. */
  origin: unknown;
  /**
   * Called with each document update (sync step 2 or update) before it is applied: it may be
   * applied, skipped (it holds nothing: applying it would only cost a transaction) or refused
   * with a reason. Without it every update is applied.
   */
  admitUpdate?: (update: Uint8Array) => UpdateVerdict;
  /**
   * What the document holds beyond a state vector (the answer to sync step 1); the server passes
   * one that caches the whole document for fresh clients. Defaults to Y.encodeStateAsUpdate.
   */
  stateAsUpdate?: (stateVector: Uint8Array) => Uint8Array;
}

export type YMessageResult =
  | {
      kind: 'sync';
      step: 'step1' | 'step2' | 'update';
      reply: Uint8Array | null;
      /** The document update that was applied (step 2 and update; not when skipped or refused). */
      update?: Uint8Array;
      refused?: RefusalReason;
    }
  | { kind: 'awareness' }
  | { kind: 'queryAwareness' }
  | { kind: 'auth' };

function applySyncMessage(decoder: decoding.Decoder, target: YMessageTarget): YMessageResult {
  let syncType: number;
  let payload: Uint8Array;
  try {
    syncType = decoding.readVarUint(decoder);
    payload = decoding.readVarUint8Array(decoder);
  } catch (err) {
    throw new MalformedMessageError(`invalid sync message: ${(err as Error).message}`);
  }
  if (syncType === syncProtocol.messageYjsSyncStep1) {
    try {
      Y.decodeStateVector(payload);
    } catch (err) {
      throw new MalformedMessageError(`invalid state vector: ${(err as Error).message}`);
    }
    const encoder = encoding.createEncoder();
    encoding.writeVarUint(encoder, YMessageType.sync);
    encoding.writeVarUint(encoder, syncProtocol.messageYjsSyncStep2);
    encoding.writeVarUint8Array(encoder, target.stateAsUpdate?.(payload) ?? Y.encodeStateAsUpdate(target.doc, payload));
    return { kind: 'sync', step: 'step1', reply: encoding.toUint8Array(encoder) };
  }
  const step = syncType === syncProtocol.messageYjsSyncStep2 ? 'step2' : syncType === syncProtocol.messageYjsUpdate ? 'update' : null;
  if (!step) throw new MalformedMessageError(`unknown sync message type ${syncType}`);
  const verdict = target.admitUpdate?.(payload) ?? 'apply';
  if (verdict === 'skip') return { kind: 'sync', step, reply: null };
  if (verdict !== 'apply') return { kind: 'sync', step, reply: null, refused: verdict.refused };
  try {
    Y.applyUpdate(target.doc, payload, target.origin);
  } catch (err) {
    throw new MalformedMessageError(`invalid update: ${(err as Error).message}`);
  }
  return { kind: 'sync', step, reply: null, update: payload };
}

/**
 * Throws MalformedMessageError unless `update` decodes completely as a Yjs update. Decoding before
 * applying keeps a malformed update from being half applied (Yjs integrates the structs of an
 * update before it reads its delete set). Returns whether the update changes anything.
 */
export function checkUpdate(update: Uint8Array): { empty: boolean } {
  try {
    const { structs, ds } = Y.decodeUpdate(update);
    return { empty: structs.length === 0 && ds.clients.size === 0 };
  } catch (err) {
    throw new MalformedMessageError(`invalid update: ${(err as Error).message}`);
  }
}

/** Thrown for a frame that is not a well-formed Yjs message; nothing was applied from it. */
export class MalformedMessageError extends Error {
  override name = 'MalformedMessageError';
}

/**
 * Applies one binary frame to a document and awareness. Returns what kind of message it was and,
 * for sync step 1, the reply to send back. Throws MalformedMessageError for anything else.
 */
export function applyYMessage(frame: Uint8Array, target: YMessageTarget): YMessageResult {
  const decoder = decoding.createDecoder(frame);
  let type: number;
  try {
    type = decoding.readVarUint(decoder);
  } catch {
    throw new MalformedMessageError('empty or truncated message type');
  }
  switch (type) {
    case YMessageType.sync:
      return applySyncMessage(decoder, target);
    case YMessageType.awareness: {
      let update: Uint8Array;
      try {
        update = decoding.readVarUint8Array(decoder);
        awarenessProtocol.applyAwarenessUpdate(target.awareness, update, target.origin);
      } catch (err) {
        throw new MalformedMessageError(`invalid awareness message: ${(err as Error).message}`);
      }
      return { kind: 'awareness' };
    }
    case YMessageType.queryAwareness:
      return { kind: 'queryAwareness' };
    case YMessageType.auth:
      return { kind: 'auth' };
    default:
      throw new MalformedMessageError(`unknown message type ${type}`);
  }
}
