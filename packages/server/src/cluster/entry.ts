import type { ActivityEntry, AppEvent, ChatMessage } from '@tandem/protocol';

/** One entry of a room's log, decoded, with the seqs the log gave its entries. */
export interface LogEntry {
  id: string;
  node: string;
  batch: number;
  update: Uint8Array | null;
  chat: ChatMessage[];
  /** Chat messages the log already held under their id: the seq they have. */
  duplicates: Array<{ id: string; seq: number }>;
  activity: ActivityEntry[];
  events: AppEvent[];
}

/** The JSON part of an entry (seqs are given by the log, in fields of their own). */
interface Entries {
  c?: ChatMessage[];
  a?: ActivityEntry[];
  e?: AppEvent[];
}

/** The entries JSON of an append ('' when it has none). */
export function encodeEntries(batch: { chat: ChatMessage[]; activity: ActivityEntry[]; events: AppEvent[] }): string {
  if (batch.chat.length + batch.activity.length + batch.events.length === 0) return '';
  const entries: Entries = {};
  if (batch.chat.length > 0) entries.c = batch.chat;
  if (batch.activity.length > 0) entries.a = batch.activity;
  if (batch.events.length > 0) entries.e = batch.events;
  return JSON.stringify(entries);
}

/** Decodes an entry as XREAD/XRANGE return it with buffers: [id, [field, value, ...]]. */
export function decodeEntry(id: Buffer, fields: Buffer[]): LogEntry {
  const entry: LogEntry = { id: id.toString(), node: '', batch: 0, update: null, chat: [], duplicates: [], activity: [], events: [] };
  let json: Entries = {};
  let chatSeqs: number[] = [];
  let firstActivity = 0;
  let firstEvent = 0;
  for (let i = 0; i + 1 < fields.length; i += 2) {
    const value = fields[i + 1]!;
    switch (fields[i]!.toString()) {
      case 'n':
        entry.node = value.toString();
        break;
      case 'b':
        entry.batch = Number(value.toString());
        break;
      case 'u':
        entry.update = new Uint8Array(value.buffer, value.byteOffset, value.byteLength);
        break;
      case 's':
        chatSeqs = value.toString().split(',').map(Number);
        break;
      case 'a':
        firstActivity = Number(value.toString());
        break;
      case 'e':
        firstEvent = Number(value.toString());
        break;
      case 'j':
        json = JSON.parse(value.toString()) as Entries;
        break;
    }
  }
  (json.c ?? []).forEach((message, i) => {
    const seq = chatSeqs[i] ?? 0;
    if (seq < 0) entry.duplicates.push({ id: message.id, seq: -seq });
    else entry.chat.push({ ...message, seq });
  });
  entry.activity = (json.a ?? []).map((item, i) => ({ ...item, seq: firstActivity + i }));
  entry.events = (json.e ?? []).map((event, i) => ({ ...event, seq: firstEvent + i }));
  return entry;
}

/** Compares two stream ids ("ms-seq"). */
export function compareIds(a: string, b: string): number {
  const [am = 0, as = 0] = a.split('-').map(Number);
  const [bm = 0, bs = 0] = b.split('-').map(Number);
  return am - bm || as - bs;
}
