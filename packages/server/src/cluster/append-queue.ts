import type { ActivityEntry, AppEvent, ChatMessage } from '@tandem/protocol';
import type { Unsaved } from '../storage/write-behind.js';

/** What a room queued for its next append to its log. */
export interface Queue {
  updates: Uint8Array[];
  /** How many of `updates` the room appended (and awaits as its own); a republished state is not one. */
  own: number;
  chat: ChatMessage[];
  activity: ActivityEntry[];
  events: AppEvent[];
}

/** An append under way: its batch number (see the append script), its merged update, its entries. */
export interface Sending {
  no: number;
  update: Uint8Array | null;
  entries: Queue;
}

export const emptyQueue = (): Queue => ({ updates: [], own: 0, chat: [], activity: [], events: [] });

export const isEmpty = (q: Queue): boolean => q.updates.length + q.chat.length + q.activity.length + q.events.length === 0;

/** What a room holds that is not in the log yet (queued, or being appended), or null when nothing. */
export function unsavedOf(room: string, queues: readonly Queue[]): Unsaved | null {
  const sum = (pick: (q: Queue) => number): number => queues.reduce((total, q) => total + pick(q), 0);
  const updates = sum((q) => q.updates.length);
  const chat = sum((q) => q.chat.length);
  const activity = sum((q) => q.activity.length);
  const events = sum((q) => q.events.length);
  if (updates + chat + activity + events === 0) return null;
  const updateBytes = sum((q) => q.updates.reduce((total, u) => total + u.byteLength, 0));
  return { room, updates, updateBytes, chat, activity, events };
}
