/**
 * Circuit-breaker limits of a cluster as resources with live counts (Envoy's ResourceManager).
 * The retry resource is either the `max_retries` threshold or, when a retry budget is set, a
 * share of the cluster's active and pending requests.
 */
export class RetryResource {
  readonly #max: number;
  readonly #budget: { percent: number; minConcurrency: number } | undefined;
  readonly #load: () => number;
  active = 0;

  constructor(max: number, budget: { percent: number; minConcurrency: number } | undefined, load: () => number) {
    this.#max = max;
    this.#budget = budget;
    this.#load = load;
  }

  /** The current limit: the threshold, or max(budget% of active+pending requests, min concurrency). */
  get limit(): number {
    const b = this.#budget;
    if (!b) return this.#max;
    return Math.max(Math.floor((b.percent / 100) * this.#load()), b.minConcurrency);
  }

  canCreate(): boolean {
    return this.active < this.limit;
  }

  inc(): void {
    this.active++;
  }

  dec(): void {
    if (this.active > 0) this.active--;
  }

  /** Envoy's `remaining_retries` gauge: forced to 0 when budgets are in use. */
  get remaining(): number {
    return this.#budget ? 0 : Math.max(0, this.#max - this.active);
  }

  /** `rq_retry_open`: 1 while no more retries can start. */
  get open(): number {
    return this.canCreate() ? 0 : 1;
  }
}

/** One circuit-breaker threshold with its live count. */
export class Limit {
  readonly max: number;
  count = 0;
  constructor(max: number) {
    this.max = max;
  }
  canCreate(): boolean {
    return this.count < this.max;
  }
  inc(): void {
    this.count++;
  }
  dec(): void {
    if (this.count > 0) this.count--;
  }
  get remaining(): number {
    return Math.max(0, this.max - this.count);
  }
  /** Envoy's `*_open` gauges: 1 while the limit is reached. */
  get open(): number {
    return this.count >= this.max ? 1 : 0;
  }
}

/** The circuit-breaker resources of one cluster (Envoy's default priority). */
export type ClusterResources = {
  connections: Limit;
  pending: Limit;
  requests: Limit;
  retries: RetryResource;
};

/** Counters the pools bump; a subset of the cluster's stats. */
export type PoolStats = {
  upstream_cx_overflow: number;
  upstream_rq_pending_overflow: number;
  upstream_rq_pending_total: number;
  upstream_rq_pending_active: number;
  upstream_cx_total: number;
  upstream_cx_active: number;
  upstream_cx_max_requests: number;
  upstream_cx_max_duration_reached: number;
};
