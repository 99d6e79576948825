/**
 * Stat scopes that outlive the objects that bump them: a listener's HTTP stats and a route's
 * stats are looked up by name at build time, so a reload that rebuilds routes or rebinds a
 * listener keeps counting where it was (Envoy's stats are keyed by name the same way).
 */
import { defineStats, resetCounters, type StatsOf } from './define-stats.js';
import { LISTENER_STATS, RETRY_CODE_STATS, ROUTE_STATS } from './catalog.js';
import { Histogram } from './histogram.js';

export type ListenerStats = StatsOf<typeof LISTENER_STATS>;
export type CodeClassStats = StatsOf<typeof RETRY_CODE_STATS>;

/** `upstream_rq_<code>` counts, indexed by status (Envoy makes one counter per code seen). */
export function newCodeCounts(): Float64Array {
  return new Float64Array(600);
}

/** Charges one response: `upstream_rq_completed`, `upstream_rq_<N>xx` and `upstream_rq_<code>`. */
export function chargeCode(stats: CodeClassStats, codes: Float64Array, status: number): void {
  stats.upstream_rq_completed++;
  if (status < 100 || status >= 600) return;
  codes[status]!++;
  if (status >= 500) stats.upstream_rq_5xx++;
  else if (status >= 400) stats.upstream_rq_4xx++;
  else if (status >= 300) stats.upstream_rq_3xx++;
  else if (status >= 200) stats.upstream_rq_2xx++;
  else stats.upstream_rq_1xx++;
}

/** One listener's HTTP connection manager stats (`http.<listener>.`) and its histograms. */
export class HttpStats {
  readonly counters: ListenerStats = defineStats(LISTENER_STATS);
  readonly downstreamRqTime = new Histogram();
  readonly downstreamCxLength = new Histogram();

  resetCounters(): void {
    resetCounters(LISTENER_STATS, this.counters);
  }
}

/** One route's stats (`vhost.<vh>.route.<route>.`). */
export class RouteStats {
  readonly virtualHost: string;
  readonly route: string;
  readonly counters: StatsOf<typeof ROUTE_STATS> = defineStats(ROUTE_STATS);
  readonly codes = newCodeCounts();
  readonly rqTime = new Histogram();

  constructor(virtualHost: string, route: string) {
    this.virtualHost = virtualHost;
    this.route = route;
  }

  resetCounters(): void {
    resetCounters(ROUTE_STATS, this.counters);
    this.codes.fill(0);
  }
}

/** Named stat scopes kept by the proxy across reloads. */
export class StatsRegistry {
  readonly #http = new Map<string, HttpStats>();
  readonly #routes = new Map<string, RouteStats>();

  http(listener: string): HttpStats {
    let s = this.#http.get(listener);
    if (!s) this.#http.set(listener, (s = new HttpStats()));
    return s;
  }

  route(virtualHost: string, route: string): RouteStats {
    const key = routeKey(virtualHost, route);
    let s = this.#routes.get(key);
    if (!s) this.#routes.set(key, (s = new RouteStats(virtualHost, route)));
    return s;
  }

  get routes(): RouteStats[] {
    return [...this.#routes.values()];
  }

  /** Drops the scopes of listeners and routes that are no longer configured. */
  retain(listeners: ReadonlySet<string>, routes: ReadonlySet<string>): void {
    for (const k of this.#http.keys()) if (!listeners.has(k)) this.#http.delete(k);
    for (const k of this.#routes.keys()) if (!routes.has(k)) this.#routes.delete(k);
  }
}

export function routeKey(virtualHost: string, route: string): string {
  return `${virtualHost}\u0000${route}`;
}
