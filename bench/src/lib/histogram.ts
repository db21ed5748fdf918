/**
 * A latency histogram with about 1% resolution: counts per bucket, so millions of samples
 * cost a few kilobytes and histograms from several processes merge by adding counts.
 */
export interface HistogramData {
  counts: Record<string, number>;
  count: number;
  max: number;
}

const GROWTH = Math.log(1.01);
/** Bucket of a latency in ms: linear by 0.01 ms below 1 ms, then 1% steps. */
const bucketOf = (ms: number): number => (ms < 1 ? Math.floor(ms * 100) : 100 + Math.floor(Math.log(ms) / GROWTH));
const valueOf = (bucket: number): number => (bucket < 100 ? (bucket + 1) / 100 : Math.exp((bucket - 99) * GROWTH));

export class Histogram {
  counts = new Map<number, number>();
  count = 0;
  max = 0;

  record(ms: number): void {
    const value = Math.max(0, ms);
    const bucket = bucketOf(value);
    this.counts.set(bucket, (this.counts.get(bucket) ?? 0) + 1);
    this.count++;
    if (value > this.max) this.max = value;
  }

  merge(data: HistogramData): void {
    for (const [bucket, n] of Object.entries(data.counts)) this.counts.set(Number(bucket), (this.counts.get(Number(bucket)) ?? 0) + n);
    this.count += data.count;
    this.max = Math.max(this.max, data.max);
  }

  /** The latency below which `p` (0..1) of the samples fall; NaN without samples. */
  percentile(p: number): number {
    if (this.count === 0) return Number.NaN;
    const rank = Math.ceil(p * this.count);
    let seen = 0;
    for (const bucket of [...this.counts.keys()].sort((a, b) => a - b)) {
      seen += this.counts.get(bucket)!;
      if (seen >= rank) return Math.min(valueOf(bucket), this.max);
    }
    return this.max;
  }

  toJSON(): HistogramData {
    return { counts: Object.fromEntries(this.counts), count: this.count, max: this.max };
  }

  static from(parts: HistogramData[]): Histogram {
    const histogram = new Histogram();
    for (const part of parts) histogram.merge(part);
    return histogram;
  }
}

/** Wall-clock milliseconds with sub-millisecond precision, comparable across processes. */
export const now = (): number => performance.timeOrigin + performance.now();
