import type { Clock } from '../../common/clock.js';
import type { Random } from '../../common/random.js';
import type { Cluster } from '../upstream/cluster.js';
import { JitteredBackoff, rateLimitedDelayMs, rateLimitedIntervalMs } from './backoff.js';
import type { RetryConditions, RetryReason } from './retry-decision.js';
import { parseRetryOn, RetryOn, type CompiledRetryPolicy } from './retry-policy.js';
import { compileHeaderMatch } from '../router/compile-route-match.js';

/** The retry counters a route keeps beside its cluster's (`vhost.<vh>.route.<r>.upstream_rq_retry*`). */
export type RouteRetryStats = {
  upstream_rq_retry: number;
  upstream_rq_retry_limit_exceeded: number;
  upstream_rq_retry_overflow: number;
  upstream_rq_retry_success: number;
};

export type RetryVerdict =
  | { kind: 'yes'; delayMs: number; backoff: 'exponential' | 'ratelimited' | 'pushback' }
  | { kind: 'no' }
  | { kind: 'limit' }
  | { kind: 'overflow' };

/**
 * Per-request retry state: the effective conditions (policy plus trusted x-envoy-retry-*
 * headers), the remaining count and the backoff. `shouldRetry` is the one effectful step: it
 * counts, checks the limit and the retry circuit breaker, bumps stats and picks the delay, in
 * Envoy's order.
 */
export class RetryState implements RetryConditions {
  readonly retryOn: number;
  readonly statusCodes: readonly number[];
  readonly retriableHeaders: RetryConditions['retriableHeaders'];
  readonly policy: CompiledRetryPolicy;
  remaining: number;
  readonly #backoff: JitteredBackoff;
  readonly #routeStats: RouteRetryStats | undefined;
  /** A retry was scheduled and holds the cluster's retry resource until the next decision. */
  #holding: Cluster | null = null;
  #scheduled = false;

  private constructor(
    policy: CompiledRetryPolicy,
    retryOn: number,
    remaining: number,
    codes: readonly number[],
    headers: RetryConditions['retriableHeaders'],
    routeStats: RouteRetryStats | undefined,
  ) {
    this.policy = policy;
    this.#routeStats = routeStats;
    this.retryOn = retryOn;
    this.remaining = remaining;
    this.statusCodes = codes;
    this.retriableHeaders = headers;
    this.#backoff = new JitteredBackoff(policy.baseIntervalMs, policy.maxIntervalMs);
  }

  /**
   * Builds the state, or returns null when no retry is possible for this request (Envoy's
   * RetryStateImpl::create). `control` holds the x-envoy-retry-* headers of a trusted client.
   */
  static create(
    policy: CompiledRetryPolicy | null,
    control: { retryOn?: string; grpcRetryOn?: string; maxRetries?: string; statusCodes?: string; headerNames?: string } | null,
    requestHeaders: Record<string, string | string[] | undefined>,
    empty: CompiledRetryPolicy,
    routeStats?: RouteRetryStats,
  ): RetryState | null {
    const p = policy ?? empty;
    let retryOn = p.retryOn;
    if (control) retryOn |= parseRetryOn(control.retryOn) | parseRetryOn(control.grpcRetryOn);
    if (retryOn === 0) return null;
    if (p.retriableRequestHeaders.length > 0 && !p.retriableRequestHeaders.some((m) => requestHeaderMatches(m, requestHeaders)))
      return null;
    let remaining = p.numRetries;
    if (control?.maxRetries !== undefined && /^[0-9]+$/.test(control.maxRetries)) remaining = Number(control.maxRetries);
    let codes = p.statusCodes;
    let headers = p.retriableHeaders;
    if (control?.statusCodes) {
      const extra = control.statusCodes
        .split(',')
        .map((s) => s.trim())
        .filter((s) => /^[0-9]+$/.test(s))
        .map(Number);
      codes = [...codes, ...extra];
    }
    if (control?.headerNames) {
      const extra = control.headerNames
        .split(',')
        .map((s) => s.trim().toLowerCase())
        .filter((s) => s.length > 0)
        .map((name) => compileHeaderMatch({ name, match: { kind: 'present' } }));
      headers = [...headers, ...extra];
    }
    return new RetryState(p, retryOn, remaining, codes, headers, routeStats);
  }

  get onlyGrpc(): boolean {
    return (
      (this.retryOn &
        ~(RetryOn.cancelled | RetryOn['deadline-exceeded'] | RetryOn.internal | RetryOn['resource-exhausted'] | RetryOn.unavailable)) ===
      0
    );
  }

  shouldRetry(
    reason: RetryReason,
    cluster: Cluster,
    random: Random,
    clock: Clock,
    response: { headers: string[]; pushbackMs?: number | undefined } | null,
  ): RetryVerdict {
    const stats = cluster.stats;
    const rs = this.#routeStats;
    if (this.#scheduled && reason === null) {
      stats.upstream_rq_retry_success++;
      if (rs) rs.upstream_rq_retry_success++;
    }
    this.#release();
    if (reason === null) return { kind: 'no' };
    if (this.remaining === 0) {
      stats.upstream_rq_retry_limit_exceeded++;
      if (rs) rs.upstream_rq_retry_limit_exceeded++;
      return { kind: 'limit' };
    }
    this.remaining--;
    const retries = cluster.resources.retries;
    if (!retries.canCreate()) {
      stats.upstream_rq_retry_overflow++;
      if (rs) rs.upstream_rq_retry_overflow++;
      return { kind: 'overflow' };
    }
    retries.inc();
    this.#holding = cluster;
    this.#scheduled = true;
    stats.upstream_rq_retry++;
    if (rs) rs.upstream_rq_retry++;
    // A server's own pushback (grpc-retry-pushback-ms, with the trailer option) wins.
    if (response?.pushbackMs !== undefined) return { kind: 'yes', delayMs: response.pushbackMs, backoff: 'pushback' };
    const rl = this.policy.rateLimited;
    if (rl && reason.rateLimited && response) {
      const interval = rateLimitedIntervalMs(response.headers, rl.resetHeaders, rl.maxIntervalMs, clock.wallNow());
      if (interval !== undefined && interval > 1) {
        stats.upstream_rq_retry_backoff_ratelimited++;
        return { kind: 'yes', delayMs: rateLimitedDelayMs(interval, random), backoff: 'ratelimited' };
      }
    }
    stats.upstream_rq_retry_backoff_exponential++;
    return { kind: 'yes', delayMs: this.#backoff.nextMs(random), backoff: 'exponential' };
  }

  /** Ends the request's hold on the retry resource (next decision, or the request is over). */
  #release(): void {
    if (this.#holding) {
      this.#holding.resources.retries.dec();
      this.#holding = null;
    }
  }

  done(): void {
    this.#release();
  }
}

function requestHeaderMatches(m: ReturnType<typeof compileHeaderMatch>, headers: Record<string, string | string[] | undefined>): boolean {
  const raw = headers[m.name];
  if (raw === undefined) return false;
  const v = Array.isArray(raw) ? raw.join(',') : raw;
  const ok = m.test === null ? true : m.test(v);
  return m.invert ? !ok : ok;
}
