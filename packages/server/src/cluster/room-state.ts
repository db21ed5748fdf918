import { emptyQueue, type Queue, type Sending } from './append-queue.js';
import type { roomKeys } from './keys.js';

/** What a node's StreamLog keeps for one room it holds: where it has read to, and what it is appending. */
export interface RoomState {
  keys: ReturnType<typeof roomKeys>;
  epoch: string;
  /** The id of the newest log entry delivered to the room. */
  lastId: string;
  /** The newest seqs delivered: entries read twice (after a log was rebuilt) are not delivered again. */
  seen: { chat: number; activity: number; event: number };
  reading: boolean;
  released: boolean;
  /** The room was deleted: nothing queued for it is appended any more. */
  deleted: boolean;
  queue: Queue;
  sending: Sending | null;
  /** Own batches appended and not yet read back: how many of the room's updates each carries. */
  own: Map<number, number>;
  waiters: Array<{ resolve(): void; reject(error: unknown): void }>;
  /** Bytes of the room's updates queued or being appended. */
  unsavedBytes: number;
}

export function newRoomState(keys: ReturnType<typeof roomKeys>): RoomState {
  return {
    keys,
    epoch: '',
    lastId: '0-0',
    seen: { chat: 0, activity: 0, event: 0 },
    reading: false,
    released: false,
    deleted: false,
    queue: emptyQueue(),
    sending: null,
    own: new Map(),
    waiters: [],
    unsavedBytes: 0,
  };
}
