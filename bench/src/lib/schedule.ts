/**
 * When each writer makes each insert. Every process computes the same schedule from the same
 * start time, so an observer in any process knows when writer w sent its k-th character (its
 * Yjs clock k) and latency needs no clock messages.
 */
export interface Step {
  /** Inserts per second per writer. */
  rate: number;
  seconds: number;
}

export const insertsInStep = (step: Step): number => Math.round(step.rate * step.seconds);
export const insertsPerWriter = (steps: Step[]): number => steps.reduce((sum, step) => sum + insertsInStep(step), 0);
export const durationMs = (steps: Step[]): number => steps.reduce((sum, step) => sum + step.seconds * 1000, 0);

/** Offset from the start (ms) of writer `w`'s k-th insert; writers are spread over an interval. */
export function insertTime(steps: Step[], writers: number, w: number, k: number): number {
  let start = 0;
  for (const step of steps) {
    const n = insertsInStep(step);
    if (k < n) return start + ((k + w / writers) * 1000) / step.rate;
    k -= n;
    start += step.seconds * 1000;
  }
  return start;
}

/** The step an insert belongs to. */
export function stepOf(steps: Step[], k: number): number {
  for (let s = 0; s < steps.length; s++) {
    const n = insertsInStep(steps[s]!);
    if (k < n) return s;
    k -= n;
  }
  return steps.length - 1;
}

/** Base Yjs client id of writers: writer w has WRITER_ID + w. */
export const WRITER_ID = 1_000_000;
