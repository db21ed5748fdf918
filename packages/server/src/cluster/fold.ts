import type { StoredRoom } from '../storage/storage.js';
import type { LogEntry } from './entry.js';

/** Adds the log's entries after storage's position to what storage returned for a room. */
export function foldInto(stored: StoredRoom, entries: readonly LogEntry[], tail: number): void {
  for (const entry of entries) {
    if (entry.update) {
      stored.updates.push(entry.update);
      stored.logLength++;
    }
    for (const message of entry.chat) {
      if (message.seq <= stored.chatSeq) continue;
      stored.chat.push(message);
      stored.recentChatIds.push({ id: message.id, seq: message.seq });
      stored.chatSeq = message.seq;
    }
    for (const item of entry.activity) {
      if (item.seq <= stored.activitySeq) continue;
      stored.activity.push(item);
      stored.activitySeq = item.seq;
    }
    for (const event of entry.events) stored.eventSeq = Math.max(stored.eventSeq, event.seq);
  }
  if (stored.chat.length > tail) stored.chat.splice(0, stored.chat.length - tail);
  if (stored.activity.length > tail) stored.activity.splice(0, stored.activity.length - tail);
}
