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

/** A histogram as plain data (min/max are null in JSON when nothing was recorded). */
export type HistogramState = { count: number; sum: number; min: number; max: number; cells: number[] };

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
    const v = cellQuantile(this.#cells, this.count, q);
    return Number.isNaN(v) ? this.max : this.#clamp(v);
  }

  /** Copies the sub-bucket counts into `into` (length `Histogram.CELLS`), for windows over time. */
  copyCells(into: Float64Array): void {
    into.set(this.#cells);
  }

  static readonly CELLS = NB * SUB + 1;

  /** Plain data for another process (workers send theirs to the admin API's process). */
  exportState(): HistogramState {
    return { count: this.count, sum: this.sum, min: this.min, max: this.max, cells: Array.from(this.#cells) };
  }

  /** Adds another histogram's recordings (same bounds) to this one. */
  mergeState(h: HistogramState): void {
    this.count += h.count;
    this.sum += h.sum;
    if (h.min < this.min) this.min = h.min;
    if (h.max > this.max) this.max = h.max;
    const c = this.#cells;
    for (let i = 0; i < c.length && i < h.cells.length; i++) c[i]! += h.cells[i]!;
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

/**
 * The value at fraction `q` (0 < q < 1) of `count` values spread over `cells`, interpolated
 * inside the sub-bucket; NaN when it lies in the overflow cell (above the last bound).
 */
function cellQuantile(c: Float64Array, count: number, q: number): number {
  const rank = q * count;
  let acc = 0;
  for (let i = 0; i < NB; i++) {
    const lo = i === 0 ? 0 : BOUNDS[i - 1]!;
    const width = (BOUNDS[i]! - lo) / SUB;
    for (let s = 0; s < SUB; s++) {
      const n = c[i * SUB + s]!;
      if (n === 0) continue;
      if (acc + n >= rank) return lo + s * width + ((rank - acc) / n) * width;
      acc += n;
    }
  }
  return NaN;
}

/**
 * What a histogram recorded between two calls of `next` (the live views' "last interval"), as the
 * difference of its sub-bucket counts. Histograms are never reset, so the difference is never
 * negative; a histogram replaced by a new one needs a new window.
 */
export class HistogramWindow {
  readonly #prev = new Float64Array(Histogram.CELLS);
  readonly #delta = new Float64Array(Histogram.CELLS);

  /** Starts at the histogram's current counts (`fromZero`: at an empty histogram). */
  constructor(h: Histogram, fromZero = false) {
    if (!fromZero) h.copyCells(this.#prev);
  }

  /** The sub-bucket counts recorded since the previous call; the array is reused by the next call. */
  next(h: Histogram): Float64Array {
    const d = this.#delta;
    const prev = this.#prev;
    h.copyCells(d);
    for (let i = 0; i < d.length; i++) {
      const cur = d[i]!;
      d[i] = cur - prev[i]!;
      prev[i] = cur;
    }
    return d;
  }
}

/** An empty set of sub-bucket counts, to add windows into (`addCells`). */
export function newCells(): Float64Array {
  return new Float64Array(Histogram.CELLS);
}

export function addCells(into: Float64Array, cells: Float64Array): void {
  for (let i = 0; i < into.length; i++) into[i]! += cells[i]!;
}

/**
 * The number of values in sub-bucket counts (from `HistogramWindow.next` or `addCells`) and the
 * values at fractions `qs` (0 < q < 1); NaN each when there are none. Values above the last
 * bound count as the last bound (a window has no max).
 */
export function cellsQuantiles(cells: Float64Array, qs: readonly number[]): { count: number; quantiles: number[] } {
  let count = 0;
  for (let i = 0; i < cells.length; i++) count += cells[i]!;
  if (count === 0) return { count, quantiles: qs.map(() => NaN) };
  return {
    count,
    quantiles: qs.map((q) => {
      const v = cellQuantile(cells, count, q);
      return Number.isNaN(v) ? BOUNDS[NB - 1]! : v;
    }),
  };
}
