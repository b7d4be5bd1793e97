// Shared clock and a mergeable latency histogram. Everything here runs in both the
// orchestrator and the load-generator processes, so it must stay dependency-free.

/**
 * Milliseconds since the Unix epoch with sub-millisecond resolution.
 * performance.timeOrigin is taken from the wall clock once at process start and
 * performance.now() is monotonic, so sender and receiver processes on the same box
 * agree to within a few tens of microseconds — good enough for end-to-end latency.
 */
export function now(): number {
  return performance.timeOrigin + performance.now();
}

// Log-linear buckets (like HdrHistogram with 5 sub-bucket bits): values are microseconds,
// each power of two is split into 32 linear buckets, so every bucket is within ~3% of the
// true value. Fixed layout = histograms from different processes merge by adding arrays.
const SUB_BITS = 5;
const SUB = 1 << SUB_BITS;
const MAJORS = 27; // values are clamped below 2^31 µs (~36 min): far above any bounded run
const SIZE = (MAJORS + 1) * SUB;

function bucketOf(us: number): number {
  if (us < SUB) return us;
  const major = 31 - Math.clz32(us) - SUB_BITS + 1;
  const minor = (us >>> (major - 1)) - SUB;
  return Math.min(SIZE - 1, major * SUB + minor);
}

function lowerBoundOf(bucket: number): number {
  const major = Math.floor(bucket / SUB);
  const minor = bucket % SUB;
  if (major === 0) return minor;
  return (SUB + minor) * 2 ** (major - 1);
}

/** Sparse wire form: [bucket, count] pairs plus exact max, cheap to send over IPC. */
export interface HistogramData {
  buckets: Array<[number, number]>;
  count: number;
  maxUs: number;
}

export class Histogram {
  private counts = new Float64Array(SIZE);
  count = 0;
  maxUs = 0;

  /** Records a duration in milliseconds (negative clock skew is clamped to 0). */
  recordMs(ms: number): void {
    const us = ms <= 0 ? 0 : Math.min(2 ** 31 - 1, Math.round(ms * 1000));
    this.counts[bucketOf(us)]++;
    this.count++;
    if (us > this.maxUs) this.maxUs = us;
  }

  merge(data: HistogramData): void {
    for (const [b, c] of data.buckets) this.counts[b] += c;
    this.count += data.count;
    if (data.maxUs > this.maxUs) this.maxUs = data.maxUs;
  }

  toData(): HistogramData {
    const buckets: Array<[number, number]> = [];
    for (let i = 0; i < SIZE; i++) if (this.counts[i] > 0) buckets.push([i, this.counts[i]]);
    return { buckets, count: this.count, maxUs: this.maxUs };
  }

  /** Percentile in ms (bucket midpoint), or null when nothing was recorded. */
  percentileMs(p: number): number | null {
    if (this.count === 0) return null;
    const rank = Math.max(1, Math.ceil((p / 100) * this.count));
    let seen = 0;
    for (let i = 0; i < SIZE; i++) {
      seen += this.counts[i];
      if (seen >= rank) {
        const lo = lowerBoundOf(i);
        const hi = lowerBoundOf(i + 1);
        return Math.min(this.maxUs, (lo + hi) / 2) / 1000;
      }
    }
    return this.maxUs / 1000;
  }

  summary(): LatencySummary {
    return {
      count: this.count,
      p50: this.percentileMs(50),
      p95: this.percentileMs(95),
      p99: this.percentileMs(99),
      max: this.count === 0 ? null : this.maxUs / 1000,
    };
  }

  static from(parts: HistogramData[]): Histogram {
    const h = new Histogram();
    for (const part of parts) h.merge(part);
    return h;
  }
}

export interface LatencySummary {
  count: number;
  p50: number | null;
  p95: number | null;
  p99: number | null;
  max: number | null;
}

export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));
