/**
 * Latency histograms with Envoy's default bucket bounds (milliseconds), so `/stats/prometheus`
 * prints the same `le` lines Envoy does. Each Envoy bucket is split into SUB linear sub-buckets
 * so quantiles for `/stats` are within a few percent of the bucket width. Recording is a short
 * scan over the bounds and two additions: no allocation, no logarithm.
 */

/** Envoy's default histogram bucket upper bounds (`supported_buckets`), in ms. */
export const ENVOY_DEFAULT_BUCKETS: readonly number[] = [
  0.5, 1, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000, 30000, 60000, 300000, 600000, 1800000, 3600000,
];

/** The quantiles Envoy prints in /stats (`supported_quantiles`), as fractions. */
export const ENVOY_QUANTILES: readonly number[] = [0, 0.25, 0.5, 0.75, 0.9, 0.95, 0.99, 0.995, 0.999, 1];

const SUB = 16;
const BOUNDS = ENVOY_DEFAULT_BUCKETS;
const NB = BOUNDS.length;

export type HistogramSnapshot = {
  count: number;
  sum: number;
  /** Cumulative counts per Envoy bound (`le`), then the total for `+Inf`. */
  buckets: number[];
  /** Values at ENVOY_QUANTILES; NaN when nothing was recorded. */
  quantiles: number[];
};

export class Histogram {
  count = 0;
  sum = 0;
  min = Infinity;
  max = -Infinity;
  /** NB * SUB sub-bucket counts, then one overflow cell for values above the last bound. */
  readonly #cells = new Float64Array(NB * SUB + 1);

  /** Records one value in ms (negative values count as 0). */
  record(ms: number): void {
    let v = ms > 0 ? ms : 0;
    if (v !== v) v = 0; // NaN
    this.count++;
    this.sum += v;
    if (v < this.min) this.min = v;
    if (v > this.max) this.max = v;
    let i = 0;
    while (i < NB && v > BOUNDS[i]!) i++;
    if (i === NB) {
      this.#cells[NB * SUB]!++;
      return;
    }
    // Bucket i covers (lo, hi]; the sub-bucket is linear inside it.
    const lo = i === 0 ? 0 : BOUNDS[i - 1]!;
    const hi = BOUNDS[i]!;
    let s = Math.floor(((v - lo) / (hi - lo)) * SUB);
    if (s >= SUB) s = SUB - 1;
    this.#cells[i * SUB + s]!++;
  }

  reset(): void {
    this.count = 0;
    this.sum = 0;
    this.min = Infinity;
    this.max = -Infinity;
    this.#cells.fill(0);
  }

  /** Cumulative counts at each Envoy bound; the last element is the `+Inf` count. */
  cumulativeBuckets(): number[] {
    const out: number[] = new Array(NB + 1);
    const c = this.#cells;
    let acc = 0;
    for (let i = 0; i < NB; i++) {
      for (let s = 0; s < SUB; s++) acc += c[i * SUB + s]!;
      out[i] = acc;
    }
    out[NB] = acc + c[NB * SUB]!;
    return out;
  }

  /**
   * The value below which a fraction `q` of the recorded values fall, interpolated linearly
   * inside the sub-bucket and clamped to the observed min and max. NaN when empty.
   */
  quantile(q: number): number {
    if (this.count === 0) return NaN;
    if (q <= 0) return this.min;
    if (q >= 1) return this.max;
    const rank = q * this.count;
    const c = this.#cells;
    let acc = 0;
    for (let i = 0; i < NB; i++) {
      const lo = i === 0 ? 0 : BOUNDS[i - 1]!;
      const width = (BOUNDS[i]! - lo) / SUB;
      for (let s = 0; s < SUB; s++) {
        const n = c[i * SUB + s]!;
        if (n === 0) continue;
        if (acc + n >= rank) {
          const from = lo + s * width;
          return this.#clamp(from + ((rank - acc) / n) * width);
        }
        acc += n;
      }
    }
    return this.max;
  }

  #clamp(v: number): number {
    return v < this.min ? this.min : v > this.max ? this.max : v;
  }

  snapshot(): HistogramSnapshot {
    return {
      count: this.count,
      sum: this.sum,
      buckets: this.cumulativeBuckets(),
      quantiles: ENVOY_QUANTILES.map((q) => this.quantile(q)),
    };
  }
}
