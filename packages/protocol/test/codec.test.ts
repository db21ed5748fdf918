import { Awareness } from 'y-protocols/awareness';
import { describe, expect, it } from 'vitest';
import * as Y from 'yjs';
import {
  applyYMessage,
  colorForName,
  encodeSyncStep1,
  encodeUpdateMessage,
  MalformedMessageError,
  parseClientMessage,
  QUERY_AWARENESS_MESSAGE,
} from '../src/index.js';

function target(doc = new Y.Doc()) {
  return { doc, awareness: new Awareness(doc), origin: 'test' };
}

describe('Yjs messages', () => {
  it('frames messages byte for byte as y-websocket does', () => {
    const update = Uint8Array.of(9, 8, 7);
    // [messageSync=0][messageYjsUpdate=2][varint length=3][payload]
    expect([...encodeUpdateMessage(update)]).toEqual([0, 2, 3, 9, 8, 7]);
    expect([...QUERY_AWARENESS_MESSAGE]).toEqual([3]);
    // An empty document's state vector is a single 0: [sync][step1][length 1][0]
    expect([...encodeSyncStep1(new Y.Doc())]).toEqual([0, 0, 1, 0]);
  });

  it('answers sync step 1 with step 2 carrying what the asker lacks', () => {
    const server = target();
    server.doc.getText('t').insert(0, 'hi');
    const result = applyYMessage(encodeSyncStep1(new Y.Doc()), server);
    expect(result).toMatchObject({ kind: 'sync', step: 'step1' });
    const asker = target();
    const reply = result.kind === 'sync' ? result.reply : null;
    expect(applyYMessage(reply!, asker)).toMatchObject({ kind: 'sync', step: 'step2', reply: null });
    expect(asker.doc.getText('t').toString()).toBe('hi');
  });

  it.each([
    ['an empty frame', []],
    ['an unknown message type', [7]],
    ['an unknown sync step', [0, 9]],
    ['a truncated update length', [0, 2, 0xff]],
    ['an update whose length exceeds the frame', [0, 2, 10, 1, 2]],
    ['an update of garbage bytes', [0, 2, 4, 0xff, 0xff, 0xff, 0xff]],
    ['a truncated awareness update', [1, 5, 1]],
  ])('refuses %s without changing the document', (_label, bytes) => {
    const t = target();
    t.doc.getText('t').insert(0, 'safe');
    const before = Y.encodeStateAsUpdate(t.doc);
    expect(() => applyYMessage(Uint8Array.from(bytes), t)).toThrow(MalformedMessageError);
    expect(Y.encodeStateAsUpdate(t.doc)).toEqual(before);
  });
});

describe('control messages', () => {
  it('accepts each client message type', () => {
    for (const message of [
      { type: 'join', name: 'Alice' },
      { type: 'rename', name: 'Alicia' },
      { type: 'chat', id: 'c1', text: 'hi' },
      { type: 'typing', on: true },
      { type: 'event', name: 'ping', data: { deep: [1, 'two', null] } },
      { type: 'resume', chatSeq: 4, activitySeq: 0 },
    ]) {
      expect(parseClientMessage(JSON.stringify(message))).toEqual({ ok: true, message });
    }
  });

  it.each([
    ['not JSON', '{', /not valid JSON/],
    ['an unknown type', '{"type":"warp"}', /type/],
    ['a wrong field type', '{"type":"typing","on":"yes"}', /on/],
    ['an extra key', '{"type":"join","name":"A","role":"admin"}', /role/],
    ['a __proto__ key', '{"type":"join","name":"A","__proto__":{"admin":true}}', /__proto__/],
    ['a negative seq', '{"type":"resume","chatSeq":-1,"activitySeq":0}', /chatSeq/],
    ['an over-long name', JSON.stringify({ type: 'join', name: 'x'.repeat(65) }), /at most 64/],
    ['a blank name', '{"type":"join","name":"   "}', /must not be empty/],
    ['an array', '[1,2]', /object|type/i],
    ['data nested too deeply', `{"type":"event","name":"e","data":${'['.repeat(20_000)}${']'.repeat(20_000)}}`, /nested deeper than 32/],
  ])('refuses %s with a readable reason', (_label, text, reason) => {
    const result = parseClientMessage(text);
    expect(result.ok).toBe(false);
    if (!result.ok) expect(result.error).toMatch(reason);
  });

  it('accepts nesting up to the limit, and brackets inside strings do not count', () => {
    const nested = `${'['.repeat(30)}"[[[[{{{{"${']'.repeat(30)}`;
    expect(parseClientMessage(`{"type":"event","name":"e","data":${nested}}`).ok).toBe(true);
  });

  it('trims names', () => {
    expect(parseClientMessage('{"type":"join","name":"  Bob  "}')).toEqual({ ok: true, message: { type: 'join', name: 'Bob' } });
  });

  it('gives a name the same color in every session (a pinned hash) and spreads names over the palette', () => {
    expect(['Alice', 'Bob', 'Carol'].map(colorForName)).toEqual(['#0891b2', '#4f46e5', '#c026d3']);
    expect(new Set(['Alice', 'Bob', 'Carol', 'Dave', 'Erin', 'Frank'].map(colorForName)).size).toBeGreaterThan(3);
  });
});
