/**
 * What the dashboard shows, read from the running proxy: the topology (listeners, routes,
 * clusters; changes with the config) and a stats sample (cumulative counters plus rates, success
 * rate and latency percentiles over the last interval). Everything here reads numbers the request
 * path keeps anyway; a sample of 50 clusters with 10 hosts each takes well under a millisecond.
 */
import type { Cluster } from '../../dataplane/upstream/cluster.js';
import { addCells, cellsQuantiles, HistogramWindow, newCells, type Histogram } from '../../dataplane/stats/histogram.js';
import type { AdminContext } from '../admin-context.js';
import { configState, describeAction, describeMatch } from '../handlers/config.js';

/** Hosts listed per cluster; the rest are counted (`hosts_total`), so a huge cluster stays cheap. */
export const MAX_HOSTS_PER_CLUSTER = 100;

const QUANTILES = [0.5, 0.9, 0.99] as const;

export type Topology = {
  config_version: string;
  config_loaded_at: string | null;
  legate_version: string;
  listeners: {
    name: string;
    address: string;
    port: number;
    virtual_hosts: { name: string; domains: string[]; routes: { name: string; match: string; destination: string }[] }[];
  }[];
  clusters: { name: string; lb_policy: string; hosts: number }[];
};

/** Requests completed over the last interval; null fields when there is no previous sample yet. */
export type Window = {
  requests: number | null;
  rps: number | null;
  /** Completed responses that were not 5xx, as a fraction; null when nothing completed. */
  success_rate: number | null;
  p50_ms: number | null;
  p90_ms: number | null;
  p99_ms: number | null;
};

export type StatsSample = {
  time: number;
  interval_ms: number;
  state: string;
  uptime_s: number;
  config_version: string;
  /** Every listener together (what clients saw). */
  overall: Window;
  listeners: {
    name: string;
    accepting: boolean;
    cx_active: number;
    rq_active: number;
    rq_total: number;
    rq_2xx: number;
    rq_4xx: number;
    rq_5xx: number;
    no_route: number;
    faults: { aborts: number; delays: number; overflow: number; active: number } | null;
    window: Window;
  }[];
  routes: {
    virtual_host: string;
    route: string;
    rq_total: number;
    rq_5xx: number;
    retry: number;
    retry_success: number;
    retry_limit_exceeded: number;
    retry_overflow: number;
    timeout: number;
    window: Window;
  }[];
  clusters: {
    name: string;
    rq_active: number;
    rq_pending: number;
    cx_active: number;
    rq_total: number;
    rq_2xx: number;
    rq_4xx: number;
    rq_5xx: number;
    retry: number;
    retry_success: number;
    retry_limit_exceeded: number;
    timeout: number;
    per_try_timeout: number;
    /** Circuit-breaker overflows: requests (pending), connections and retries refused. */
    overflow: { pending: number; cx: number; retry: number };
    cx_connect_fail: number;
    ejections_active: number;
    ejections_total: number;
    hosts_total: number;
    hosts_healthy: number;
    hosts: {
      address: string;
      health_flags: string;
      healthy: boolean;
      ejected: boolean;
      rq_active: number;
      rq_total: number;
      rq_error: number;
      /** Outlier detection's last success rate for the host (percent), when it computed one. */
      success_rate: number | null;
      ejections: number;
    }[];
    window: Window;
  }[];
};

export function topology(ctx: AdminContext): Topology {
  const proxy = ctx.sources.proxy;
  const cs = configState(ctx);
  const cfg = proxy.config;
  return {
    config_version: cs.version,
    config_loaded_at: cs.loadedAt > 0 ? new Date(cs.loadedAt).toISOString() : null,
    legate_version: ctx.version,
    listeners: (cfg?.listeners ?? []).map((l) => {
      const live = proxy.listener(l.name);
      return {
        name: l.name,
        address: live?.address ?? l.address,
        port: live?.port ?? l.port,
        virtual_hosts: l.virtualHosts.map((vh) => ({
          name: vh.name,
          domains: vh.domains,
          routes: vh.routes.map((r) => ({ name: r.name, match: describeMatch(r.match), destination: describeAction(r.action) })),
        })),
      };
    }),
    clusters: proxy.clusters.map((c) => ({ name: c.name, lb_policy: c.config.lbPolicy, hosts: c.hosts.length })),
  };
}

/** What changes the topology: a new config version or a new apply (endpoint updates included). */
export function topologyKey(ctx: AdminContext): string {
  return `${configState(ctx).version}\u0000${ctx.sources.proxy.appliedAt ?? 0}`;
}

type Previous = { counts: number[]; window: HistogramWindow | null };

/** A counter's growth since the previous sample; a counter below it was reset (/reset_counters). */
const grown = (cur: number, prev: number) => (cur >= prev ? cur - prev : cur);

/** To 1/1000 (a microsecond, a thousandth of a request): what a screen shows, and shorter JSON. */
const round3 = (v: number) => Math.round(v * 1000) / 1000;
const finite = (v: number | undefined) => (v === undefined || Number.isNaN(v) ? null : round3(v));

/**
 * Samples the proxy for one stream interval. Keeps the previous counts per stats object (by
 * identity: a cluster rebuilt by a reload is a new object whose counts start at 0) to turn
 * cumulative counters into per-interval numbers.
 */
export class Sampler {
  readonly #ctx: AdminContext;
  #prev = new WeakMap<object, Previous>();
  #lastMono = 0;
  #first = true;

  constructor(ctx: AdminContext) {
    this.#ctx = ctx;
  }

  sample(intervalMs: number): StatsSample {
    const proxy = this.#ctx.sources.proxy;
    const now = performance.now();
    const seconds = this.#first ? 0 : (now - this.#lastMono) / 1000;
    this.#lastMono = now;
    const overallCells = newCells();
    let overallDone = 0;
    let overall5xx = 0;

    const window = (key: object, completed: number, e5xx: number, h: Histogram, toOverall = false): Window => {
      let prev = this.#prev.get(key);
      const fresh = !prev;
      // A stats object first seen after the first sample is new since then: it counts from 0.
      if (!prev) this.#prev.set(key, (prev = { counts: this.#first ? [completed, e5xx] : [0, 0], window: null }));
      if (!prev.window) prev.window = new HistogramWindow(h, !this.#first);
      const done = grown(completed, prev.counts[0]!);
      const bad = grown(e5xx, prev.counts[1]!);
      prev.counts[0] = completed;
      prev.counts[1] = e5xx;
      const cells = prev.window.next(h);
      if (this.#first && fresh) return emptyWindow();
      if (toOverall) {
        overallDone += done;
        overall5xx += bad;
        addCells(overallCells, cells);
      }
      return windowOf(done, bad, seconds, cellsQuantiles(cells, QUANTILES).quantiles);
    };

    const listeners = proxy.listeners.map((l) => {
      const s = l.stats;
      const f = proxy.faults(l.name)?.stats;
      return {
        name: l.name,
        accepting: !l.closing,
        cx_active: s.downstream_cx_active,
        rq_active: s.downstream_rq_active,
        rq_total: s.downstream_rq_total,
        rq_2xx: s.downstream_rq_2xx,
        rq_4xx: s.downstream_rq_4xx,
        rq_5xx: s.downstream_rq_5xx,
        no_route: s.no_route,
        faults: f ? { aborts: f.aborts_injected, delays: f.delays_injected, overflow: f.faults_overflow, active: f.active_faults } : null,
        window: window(l.http, s.downstream_rq_completed, s.downstream_rq_5xx, l.http.downstreamRqTime, true),
      };
    });

    const routes = proxy.statsRegistry.routes.map((r) => {
      const c = r.counters;
      return {
        virtual_host: r.virtualHost,
        route: r.route,
        rq_total: c.upstream_rq_total,
        rq_5xx: c.upstream_rq_5xx,
        retry: c.upstream_rq_retry,
        retry_success: c.upstream_rq_retry_success,
        retry_limit_exceeded: c.upstream_rq_retry_limit_exceeded,
        retry_overflow: c.upstream_rq_retry_overflow,
        timeout: c.upstream_rq_timeout,
        window: window(r, c.upstream_rq_completed, c.upstream_rq_5xx, r.rqTime),
      };
    });

    const clusters = proxy.clusters.map((c) =>
      this.#cluster(c, window(c, c.stats.upstream_rq_completed, c.stats.upstream_rq_5xx, c.rqTime)),
    );

    const overall = this.#first
      ? emptyWindow()
      : windowOf(overallDone, overall5xx, seconds, cellsQuantiles(overallCells, QUANTILES).quantiles);
    this.#first = false;
    return {
      time: Date.now(),
      interval_ms: intervalMs,
      state: proxy.state,
      uptime_s: Math.floor((Date.now() - proxy.startedAt) / 1000),
      config_version: configState(this.#ctx).version,
      overall,
      listeners,
      routes,
      clusters,
    };
  }

  #cluster(c: Cluster, w: Window): StatsSample['clusters'][number] {
    const s = c.stats;
    const od = c.outlierDetector;
    let healthy = 0;
    for (const h of c.hosts) if (h.healthy) healthy++;
    return {
      name: c.name,
      rq_active: s.upstream_rq_active,
      rq_pending: s.upstream_rq_pending_active,
      cx_active: s.upstream_cx_active,
      rq_total: s.upstream_rq_total,
      rq_2xx: s.upstream_rq_2xx,
      rq_4xx: s.upstream_rq_4xx,
      rq_5xx: s.upstream_rq_5xx,
      retry: s.upstream_rq_retry,
      retry_success: s.upstream_rq_retry_success,
      retry_limit_exceeded: s.upstream_rq_retry_limit_exceeded,
      timeout: s.upstream_rq_timeout,
      per_try_timeout: s.upstream_rq_per_try_timeout,
      overflow: { pending: s.upstream_rq_pending_overflow, cx: s.upstream_cx_overflow, retry: s.upstream_rq_retry_overflow },
      cx_connect_fail: s.upstream_cx_connect_fail,
      ejections_active: od?.stats.ejections_active ?? 0,
      ejections_total: od?.stats.ejections_enforced_total ?? 0,
      hosts_total: c.hosts.length,
      hosts_healthy: healthy,
      hosts: c.hosts.slice(0, MAX_HOSTS_PER_CLUSTER).map((h) => {
        const o = od?.hostSnapshot(h);
        return {
          address: h.key,
          health_flags: h.healthFlags,
          healthy: h.healthy,
          ejected: h.failedOutlierCheck,
          rq_active: h.stats.rq_active,
          rq_total: h.stats.rq_total,
          rq_error: h.stats.rq_error,
          success_rate: o && o.successRate >= 0 ? o.successRate : null,
          ejections: o?.numEjections ?? 0,
        };
      }),
      window: w,
    };
  }
}

function emptyWindow(): Window {
  return { requests: null, rps: null, success_rate: null, p50_ms: null, p90_ms: null, p99_ms: null };
}

function windowOf(done: number, bad: number, seconds: number, q: number[]): Window {
  return {
    requests: done,
    rps: seconds > 0 ? round3(done / seconds) : null,
    success_rate: done > 0 ? Math.round(((done - bad) / done) * 1e6) / 1e6 : null,
    p50_ms: finite(q[0]),
    p90_ms: finite(q[1]),
    p99_ms: finite(q[2]),
  };
}
