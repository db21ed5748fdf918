/**
 * RoomHandle against a fake WebSocket and a fake clock: what it sends, when it reconnects, and
 * what it keeps, with no server.
 */
import { encodeSyncStep1, type ChatMessage, type Member, type ServerMessage } from '@tandem/protocol';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import * as Y from 'yjs';
import { connect, type RoomHandle } from '../src/index.js';

class FakeWebSocket {
  static sockets: FakeWebSocket[] = [];
  readonly url: string;
  readonly protocols: string[];
  readyState = 0;
  binaryType = 'blob';
  readonly sent: Array<string | Uint8Array> = [];
  onopen: (() => void) | null = null;
  onmessage: ((event: { data: unknown }) => void) | null = null;
  onclose: ((event: { code: number; reason: string }) => void) | null = null;
  onerror: (() => void) | null = null;

  constructor(url: string, protocols: string | string[] = []) {
    this.url = url;
    this.protocols = Array.isArray(protocols) ? protocols : [protocols];
    FakeWebSocket.sockets.push(this);
  }
  send(data: string | Uint8Array): void {
    this.sent.push(data);
  }
  close(): void {
    this.readyState = 3;
  }
  // ---- what the server side does
  open(): void {
    this.readyState = 1;
    this.onopen?.();
  }
  receive(message: ServerMessage): void {
    this.onmessage?.({ data: JSON.stringify(message) });
  }
  receiveBinary(frame: Uint8Array): void {
    this.onmessage?.({ data: frame.slice().buffer });
  }
  drop(code = 1006): void {
    this.readyState = 3;
    this.onclose?.({ code, reason: '' });
  }
  json(): Array<Record<string, unknown>> {
    return this.sent.filter((d): d is string => typeof d === 'string').map((d) => JSON.parse(d));
  }
}

const me: Member = { id: 'm1', name: 'Ada', color: '#0891b2' };
const chat = (seq: number, id = `c${seq}`): ChatMessage => ({ seq, id, author: me, text: `text ${seq}`, time: seq });
const welcome = (chatSeq: number, history: ChatMessage[] = []): ServerMessage => ({
  type: 'welcome',
  you: me,
  members: [me],
  activity: [],
  chat: history,
  chatSeq,
  activitySeq: 0,
  rights: 'write',
});

let handle: RoomHandle;

beforeEach(() => {
  FakeWebSocket.sockets = [];
  vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
  vi.spyOn(Math, 'random').mockReturnValue(0.5);
});

afterEach(() => {
  handle?.destroy();
  vi.useRealTimers();
  vi.restoreAllMocks();
});

async function opened(): Promise<FakeWebSocket> {
  await vi.advanceTimersByTimeAsync(0); // the token promise
  const socket = FakeWebSocket.sockets.at(-1)!;
  socket.open();
  return socket;
}

describe('RoomHandle (fake WebSocket, fake clock)', () => {
  it('offers tandem.v1 and a token, then sends sync step 1 and join on open', async () => {
    handle = connect('http://example.test', 'notes', { name: 'Ada', token: 'opaque-token', WebSocket: FakeWebSocket });
    const socket = await opened();
    expect(socket.url).toBe('ws://example.test/ws/notes');
    expect(socket.protocols).toEqual(['tandem.v1', 'tandem.auth.opaque-token']);
    expect(socket.sent[0]).toBeInstanceOf(Uint8Array); // sync step 1
    expect(socket.json()).toEqual([{ type: 'join', name: 'Ada' }]);
  });

  it('reconnects with exponential backoff after drops, and resets it once a connection stayed up', async () => {
    handle = connect('ws://example.test', 'r', {
      WebSocket: FakeWebSocket,
      backoff: { baseMs: 100, capMs: 1_000, stableMs: 5_000 },
    });
    const delays: number[] = [];
    handle.on('status', (status) => status.state === 'reconnecting' && delays.push(status.delayMs));
    for (let i = 0; i < 5; i++) {
      const socket = await opened();
      socket.drop();
      await vi.advanceTimersByTimeAsync(delays.at(-1)!);
    }
    // Full jitter at random() = 0.5: half of 100, 200, 400, 800, then the 1,000 cap.
    expect(delays).toEqual([50, 100, 200, 400, 500]);
    const stable = await opened();
    await vi.advanceTimersByTimeAsync(5_000);
    stable.drop();
    expect(delays.at(-1)).toBe(50);
  });

  it('keeps chat until the server acknowledges it, re-sends it after a reconnect, and asks for what it missed', async () => {
    handle = connect('ws://example.test', 'r', { name: 'Ada', WebSocket: FakeWebSocket, backoff: { baseMs: 10, capMs: 10 } });
    const first = await opened();
    first.receive(welcome(2, [chat(1), chat(2)]));
    const id = handle.sendChat('unacknowledged');
    expect(handle.pendingChat.map((p) => p.id)).toEqual([id]);
    first.drop();
    await vi.advanceTimersByTimeAsync(10);
    const second = await opened();
    second.receive(welcome(5, [chat(4), chat(5)]));
    // join, then resume from the last seq held without a gap, then the queued message again
    expect(second.json()).toEqual([
      { type: 'join', name: 'Ada' },
      { type: 'resume', chatSeq: 2, activitySeq: 0 },
      { type: 'chat', id, text: 'unacknowledged' },
    ]);
    second.receive({ type: 'resumed', chat: [chat(3)], activity: [], complete: true });
    second.receive({ type: 'chat', message: { ...chat(6, id), text: 'unacknowledged' } });
    expect(handle.chat.map((m) => m.seq)).toEqual([1, 2, 3, 4, 5, 6]);
    expect(handle.pendingChat).toEqual([]);
  });

  it('drops a forbidden chat message from the queue and stops for good on a fatal close code', async () => {
    handle = connect('ws://example.test', 'r', { name: 'Ada', WebSocket: FakeWebSocket });
    const socket = await opened();
    socket.receive(welcome(0));
    const id = handle.sendChat('may I?');
    socket.receive({ type: 'error', code: 'forbidden', message: 'no chat', ref: id });
    expect(handle.pendingChat).toEqual([]);
    socket.drop(1003);
    await vi.advanceTimersByTimeAsync(60_000);
    expect(handle.status).toMatchObject({ state: 'closed', reason: expect.stringMatching(/1003/) });
    expect(FakeWebSocket.sockets).toHaveLength(1);
  });

  it("shows the server's storage status, and re-sends pending chat when storage works again", async () => {
    handle = connect('ws://example.test', 'r', { name: 'Ada', WebSocket: FakeWebSocket });
    const socket = await opened();
    socket.receive(welcome(0));
    socket.receive({ type: 'storage', state: 'failing', message: 'disk full' });
    expect(handle.storage).toEqual({ state: 'failing', message: 'disk full' });
    const id = handle.sendChat('later');
    socket.receive({ type: 'error', code: 'storage_backlog', message: 'later', ref: id });
    expect(handle.pendingChat.map((p) => p.id)).toEqual([id]); // kept: retrying can help here
    socket.receive({ type: 'storage', state: 'ok', message: 'stored again' });
    expect(handle.storage).toEqual({ state: 'ok' });
    expect(socket.json().filter((m) => m.type === 'chat' && m.id === id)).toHaveLength(2);
  });

  it('numbers the update frames of each socket and is unsaved until the frame of every local change is confirmed', async () => {
    handle = connect('ws://example.test', 'r', { WebSocket: FakeWebSocket, backoff: { baseMs: 10, capMs: 10 } });
    let savedEvents = 0;
    handle.on('saved', () => savedEvents++);
    const first = await opened();
    const text = handle.doc.getText('t');
    text.insert(0, 'a'); // frame 1
    text.insert(1, 'b'); // frame 2
    expect(handle.unsaved).toBe(true);
    first.receive({ type: 'saved', through: 1 });
    expect(handle.unsaved).toBe(true);
    first.receive({ type: 'saved', through: 2 });
    expect([handle.unsaved, handle.getSnapshot().unsaved, savedEvents]).toEqual([false, false, 1]);

    text.insert(2, 'c'); // frame 3, lost with its socket
    first.drop();
    await vi.advanceTimersByTimeAsync(10);
    const second = await opened();
    text.insert(3, 'd'); // frame 1 of the new socket
    second.receive({ type: 'saved', through: 1 });
    expect(handle.unsaved).toBe(true); // "c" has not reached this server yet
    second.receiveBinary(encodeSyncStep1(new Y.Doc())); // answered with step 2, frame 2, holding "c"
    expect([...(second.sent.at(-1) as Uint8Array).subarray(0, 2)]).toEqual([0, 1]); // sync, step 2
    second.receive({ type: 'saved', through: 2 });
    expect([handle.unsaved, savedEvents]).toEqual([false, 2]);
    await handle.whenSaved();
  });

  it('is not left unsaved by local changes a handle without edit rights undoes, and answers resync with its step 1', async () => {
    handle = connect('ws://example.test', 'r', { name: 'Ada', WebSocket: FakeWebSocket });
    const socket = await opened();
    socket.receive({ type: 'welcome', you: me, members: [me], activity: [], chat: [], chatSeq: 0, activitySeq: 0, rights: 'read' });
    handle.doc.getText('t').insert(0, 'not mine to write');
    await vi.advanceTimersByTimeAsync(0); // the undo
    expect(handle.doc.getText('t').toString()).toBe('');
    expect(handle.unsaved).toBe(false);
    socket.receiveBinary(encodeSyncStep1(new Y.Doc()));
    // No step 2 in reply: the only sync frame sent (type 0) is the step 1 (subtype 0) on open.
    const syncFrames = () => socket.sent.filter((frame): frame is Uint8Array => frame instanceof Uint8Array && frame[0] === 0);
    expect(syncFrames().map((frame) => frame[1])).toEqual([0]);

    socket.receive({ type: 'resync', reason: 'log rebuilt' });
    expect(syncFrames().at(-1)).toEqual(encodeSyncStep1(handle.doc));
  });
});
