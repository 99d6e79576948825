import hdr from 'hdr-histogram-js';

const MAX_US = 3_600_000_000; // one hour, the longest a run may last

export type LatencyStats = { min: number; mean: number; p50: number; p90: number; p99: number; max: number };
export type HistogramBucket = { upToMs: number; count: number };

/** Latencies in an HDR histogram (microseconds, 3 significant digits): constant memory per run. */
export class LatencyRecorder {
  #h = new hdr.Int32Histogram(1, MAX_US, 3);

  recordMs(ms: number): void {
    this.#h.recordValue(Math.min(MAX_US, Math.max(1, Math.round(ms * 1000))));
  }

  get count(): number {
    return this.#h.totalCount;
  }

  /** Milliseconds, rounded to the microsecond. */
  stats(): LatencyStats {
    const h = this.#h;
    if (h.totalCount === 0) return { min: 0, mean: 0, p50: 0, p90: 0, p99: 0, max: 0 };
    // Percentiles report the top of their bucket, which can pass the exact maximum: clamp.
    const max = h.maxValue;
    const ms = (us: number) => Math.round(Math.min(us, max)) / 1000;
    return {
      min: ms(h.minNonZeroValue),
      mean: ms(h.mean),
      p50: ms(h.getValueAtPercentile(50)),
      p90: ms(h.getValueAtPercentile(90)),
      p99: ms(h.getValueAtPercentile(99)),
      max: ms(max),
    };
  }

  /**
   * `n` buckets from the fastest to the slowest request: equal widths, or equal ratios when the
   * range spans more than a factor of 20 (retry backoff makes long tails).
   */
  buckets(n = 10): HistogramBucket[] {
    const h = this.#h;
    if (h.totalCount === 0) return [];
    const lo = h.minNonZeroValue;
    const hi = h.maxValue;
    if (hi <= lo) return [{ upToMs: hi / 1000, count: h.totalCount }];
    const log = hi / lo > 20;
    const bounds = Array.from({ length: n }, (_, i) =>
      i === n - 1 ? hi : log ? lo * Math.pow(hi / lo, (i + 1) / n) : lo + ((hi - lo) * (i + 1)) / n,
    );
    const counts = new Array<number>(n).fill(0);
    const it = h.recordedValuesIterator;
    it.reset();
    let b = 0;
    while (it.hasNext()) {
      const v = it.next();
      const value = Math.min(v.valueIteratedTo, hi);
      while (b < n - 1 && value > bounds[b]!) b++;
      counts[b]! += v.countAtValueIteratedTo;
    }
    return bounds.map((upTo, i) => ({ upToMs: Math.round(upTo) / 1000, count: counts[i]! }));
  }
}
