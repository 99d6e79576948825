/**
 * Success-rate maths for outlier detection (Envoy's `SuccessRateAccumulator` and
 * `successRateEjectionThreshold`, spec section 5.6). Pure apart from the accumulator's two buckets.
 */

/**
 * Two buckets of request counts: the request path writes the current one; each interval tick
 * swaps them, so the detector always reads the previous full interval.
 */
export class SuccessRateAccumulator {
  #curSuccess = 0;
  #curTotal = 0;
  #prevSuccess = 0;
  #prevTotal = 0;

  /** Counts one request in the current bucket. */
  add(success: boolean): void {
    this.#curTotal++;
    if (success) this.#curSuccess++;
  }

  /** Interval tick: the current bucket becomes the one read, and a fresh bucket is written. */
  swap(): void {
    this.#prevSuccess = this.#curSuccess;
    this.#prevTotal = this.#curTotal;
    this.#curSuccess = 0;
    this.#curTotal = 0;
  }

  /** Success rate in percent and request volume of the previous interval; undefined without requests. */
  rateAndVolume(): { rate: number; volume: number } | undefined {
    if (this.#prevTotal === 0) return undefined;
    return { rate: (this.#prevSuccess * 100) / this.#prevTotal, volume: this.#prevTotal };
  }
}

/**
 * Mean and ejection threshold of a set of success rates (percent): `mean - factor * stdev` with the
 * population standard deviation. `factor` is `success_rate_stdev_factor / 1000`.
 * Example: {50, 100, 100, 100, 100} with factor 1.9 -> mean 90, stdev 20, threshold 52.
 */
export function successRateEjectionThreshold(rates: readonly number[], factor: number): { mean: number; threshold: number } {
  if (rates.length === 0) return { mean: -1, threshold: -1 };
  let sum = 0;
  for (const r of rates) sum += r;
  const mean = sum / rates.length;
  let variance = 0;
  for (const r of rates) variance += (r - mean) ** 2;
  variance /= rates.length;
  return { mean, threshold: mean - factor * Math.sqrt(variance) };
}
