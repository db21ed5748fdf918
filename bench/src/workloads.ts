import type { Step } from './lib/schedule.js';

/** Sizes of every workload; `smoke` runs the same code paths in seconds (CI keeps the harness working). */
export interface Sizes {
  w1: { clients: number[]; writers: number; rate: number; seconds: number };
  w2: { clients: number; writers: number; steps: Step[]; workers: number };
  /** unloadMs: how long W3 waits after its warm-up clients leave, for servers to unload their rooms. */
  w3: { clients: number; rooms: number; workers: number; unloadMs: number };
  w4: { updates: number; charsPerUpdate: number; joiners: number };
  w5: { members: number; senders: number; steps: Step[]; workers: number };
  /** observers 'light': the members that only read are light observers (lib/observers.ts). */
  w6: { clients: number; writers: number; rate: number; seconds: number; workers: number; observers: 'full' | 'light' };
}

export const FULL: Sizes = {
  w1: { clients: [50, 200], writers: 5, rate: 10, seconds: 10 },
  w2: { clients: 100, writers: 10, steps: [10, 25, 50, 100, 200].map((rate) => ({ rate, seconds: 3 })), workers: 2 },
  w3: { clients: 2000, rooms: 100, workers: 4, unloadMs: 6_000 },
  w4: { updates: 20_000, charsPerUpdate: 10, joiners: 20 },
  w5: { members: 200, senders: 5, steps: [50, 100, 200, 400].map((rate) => ({ rate, seconds: 3 })), workers: 2 },
  w6: { clients: 1000, writers: 5, rate: 10, seconds: 10, workers: 2, observers: 'light' },
};

export const SMOKE: Sizes = {
  w1: { clients: [6], writers: 2, rate: 10, seconds: 1 },
  w2: { clients: 6, writers: 2, steps: [10, 20].map((rate) => ({ rate, seconds: 0.5 })), workers: 2 },
  w3: { clients: 20, rooms: 4, workers: 2, unloadMs: 0 },
  w4: { updates: 200, charsPerUpdate: 10, joiners: 2 },
  w5: { members: 6, senders: 2, steps: [{ rate: 10, seconds: 1 }], workers: 2 },
  w6: { clients: 12, writers: 2, rate: 10, seconds: 1, workers: 2, observers: 'light' },
};
