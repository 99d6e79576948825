/**
 * fake-service's service time (timing/timing.go): p50 for 90% of requests, p90 for the next 9%,
 * p99 for the last 1%; an unset p90 takes p50 and an unset p99 takes p90; TIMING_VARIANCE adds up
 * to that percentage on top.
 */
import { randomInt, type Random } from '../common/random.js';

export class RequestDuration {
  #p50: number;
  #p90: number;
  #p99: number;
  #variance: number;
  #random: Random;

  /** Durations in nanoseconds; variance in percent. */
  constructor(p50: number, p90: number, p99: number, variance: number, random: Random) {
    if (p50 > 0 && p90 === 0) p90 = p50;
    if (p90 > 0 && p99 === 0) p99 = p90;
    this.#p50 = p50;
    this.#p90 = p90;
    this.#p99 = p99;
    this.#variance = variance;
    this.#random = random;
  }

  /** A new randomised duration in nanoseconds (variance drawn first, then the percentile, as the original). */
  calculate(): number {
    const rv = this.#variance > 0 ? randomInt(this.#random, this.#variance) : 0;
    const p = randomInt(this.#random, 100);
    const base = p < 90 ? this.#p50 : p < 99 ? this.#p90 : this.#p99;
    return base + Math.trunc((base * rv) / 100);
  }
}
