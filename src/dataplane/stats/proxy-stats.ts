/**
 * Reads every stat of a running proxy into one flat list, named as Envoy names them
 * (`cluster.backend.upstream_rq_retry`) and tagged as Envoy's default tag extractors would tag
 * them (`envoy_cluster_name="backend"`), so the text and Prometheus renderers need no regexes.
 * Runs on scrape only; the hot path never sees it.
 */
import type { Proxy } from '../proxy.js';
import type { Cluster } from '../upstream/cluster.js';
import { OUTLIER_DETECTION_STATS } from '../upstream/outlier-detector.js';
import { HEALTH_CHECK_STATS } from '../upstream/health-checker.js';
import { FAULT_STATS } from '../request/fault.js';
import { resetCounters, type StatCatalog } from './define-stats.js';
import {
  CIRCUIT_BREAKER_STATS,
  CLUSTER_STATS,
  HOST_STATS,
  LISTENER_HTTP_SCOPE_STATS,
  LISTENER_SCOPE_STATS,
  LISTENER_STATS,
  LOCAL_RUNTIME_STATS,
  RETRY_CODE_STATS,
  ROUTE_STATS,
  SERVER_STATS,
} from './catalog.js';
import type { Histogram } from './histogram.js';

/** A Prometheus label as Envoy's tag extractors produce it. */
export type Tag = readonly [name: string, value: string];

export type StatType = 'counter' | 'gauge' | 'histogram';

type Base = {
  /** Envoy's full stat name. */
  name: string;
  /** The name with tag values taken out (Envoy's tag-extracted name), dots kept. */
  base: string;
  tags: Tag[];
};

export type ScalarStat = Base & { type: 'counter' | 'gauge'; value: number };
export type HistogramStat = Base & { type: 'histogram'; histogram: Histogram };
export type Stat = ScalarStat | HistogramStat;

export type LocalRuntimeStats = {
  [K in (typeof LOCAL_RUNTIME_STATS)['counters'][number] | (typeof LOCAL_RUNTIME_STATS)['gauges'][number]]: number;
};

export type CollectOptions = {
  /** Stats of the local runtime's processes, when something runs them. */
  localRuntime?: (() => LocalRuntimeStats) | undefined;
  /** Sort by name (default true); the Prometheus renderer orders by family itself. */
  sorted?: boolean;
};

const CODE = /_rq_(\d{3})$/;
const CODE_CLASS = /_rq_(\d)xx$/;

/** One stat scope: a name prefix, its tag-extracted form and its tags. */
class Scope {
  readonly #out: Stat[];
  readonly #prefix: string;
  readonly #base: string;
  readonly #tags: Tag[];

  constructor(out: Stat[], prefix: string, base: string, tags: Tag[]) {
    this.#out = out;
    this.#prefix = prefix;
    this.#base = base;
    this.#tags = tags;
  }

  child(segment: string, tag?: readonly [string, string]): Scope {
    if (!tag) return new Scope(this.#out, `${this.#prefix}${segment}.`, `${this.#base}${segment}.`, this.#tags);
    // A tagged segment `<kind>.<value>.`: the value leaves the base name and becomes a label.
    return new Scope(this.#out, `${this.#prefix}${segment}.${tag[1]}.`, `${this.#base}${segment}.`, [...this.#tags, tag]);
  }

  scalar(type: 'counter' | 'gauge', stat: string, value: number): void {
    let base = stat;
    let tags = this.#tags;
    // Envoy's response-code extractors: upstream_rq_503 -> upstream_rq{code}, _5xx -> _xx{class}.
    let m = CODE.exec(stat);
    if (m) {
      base = stat.slice(0, m.index) + '_rq';
      tags = [['envoy_response_code', m[1]!], ...tags];
    } else if ((m = CODE_CLASS.exec(stat))) {
      base = stat.slice(0, m.index) + '_rq_xx';
      tags = [['envoy_response_code_class', m[1]!], ...tags];
    }
    this.#out.push({ type, name: this.#prefix + stat, base: this.#base + base, tags, value });
  }

  catalog(catalog: StatCatalog, values: object, only?: readonly string[]): void {
    const v = values as Record<string, number>;
    for (const n of catalog.counters) if (!only || only.includes(n)) this.scalar('counter', n, v[n] ?? 0);
    for (const n of catalog.gauges) if (!only || only.includes(n)) this.scalar('gauge', n, v[n] ?? 0);
  }

  codes(codes: Float64Array): void {
    for (let code = 100; code < 600; code++) if (codes[code]! > 0) this.scalar('counter', `upstream_rq_${code}`, codes[code]!);
  }

  histogram(stat: string, h: Histogram): void {
    this.#out.push({ type: 'histogram', name: this.#prefix + stat, base: this.#base + stat, tags: this.#tags, histogram: h });
  }
}

/** Envoy's listener stat prefix: `<address>_<port>` (IPv6 in brackets, colons as underscores). */
export function listenerStatPrefix(address: string, port: number): string {
  const a = address.includes(':') ? `[${address}]` : address;
  return `${a}_${port}`.replaceAll(':', '_');
}

const SERVER_STATE_CODE = { LIVE: 0, DRAINING: 1, PRE_INITIALIZING: 2 } as const;

/** Every stat of the proxy, sorted by name unless asked not to. */
export function collectStats(proxy: Proxy, opts: CollectOptions = {}): Stat[] {
  const out: Stat[] = [];
  const root = new Scope(out, '', '', []);

  const server = root.child('server');
  const mem = process.memoryUsage();
  let connections = 0;
  for (const l of proxy.listeners) connections += l.stats.downstream_cx_active;
  const serverValues = {
    concurrency: 1,
    live: proxy.state === 'LIVE' ? 1 : 0,
    memory_allocated: mem.heapUsed,
    memory_heap_size: mem.heapTotal,
    state: SERVER_STATE_CODE[proxy.state],
    total_connections: connections,
    uptime: Math.floor((Date.now() - proxy.startedAt) / 1000),
  };
  server.catalog(SERVER_STATS, serverValues);

  for (const l of proxy.listeners) {
    const http = root.child('http', ['envoy_http_conn_manager_prefix', l.name]);
    http.catalog(LISTENER_STATS, l.stats);
    http.histogram('downstream_rq_time', l.http.downstreamRqTime);
    http.histogram('downstream_cx_length_ms', l.http.downstreamCxLength);
    const faults = proxy.faults(l.name);
    if (faults) http.child('fault').catalog(FAULT_STATS, faults.stats);

    const listener = root.child('listener', ['envoy_listener_address', listenerStatPrefix(l.address, l.port)]);
    listener.catalog(LISTENER_STATS, l.stats, LISTENER_SCOPE_STATS);
    listener.histogram('downstream_cx_length_ms', l.cxLength);
    // Envoy's tag order here: the HCM prefix before the listener address.
    const perListener = new Scope(out, `listener.${listenerStatPrefix(l.address, l.port)}.http.${l.name}.`, 'listener.http.', [
      ['envoy_http_conn_manager_prefix', l.name],
      ['envoy_listener_address', listenerStatPrefix(l.address, l.port)],
    ]);
    perListener.catalog(LISTENER_STATS, l.stats, LISTENER_HTTP_SCOPE_STATS);
  }

  for (const r of proxy.statsRegistry.routes) {
    const route = root.child('vhost', ['envoy_virtual_host', r.virtualHost]).child('route', ['envoy_route', r.route]);
    route.catalog(ROUTE_STATS, r.counters);
    route.codes(r.codes);
    route.histogram('upstream_rq_time', r.rqTime);
  }

  for (const c of proxy.clusters) collectCluster(root.child('cluster', ['envoy_cluster_name', c.name]), c);

  if (opts.localRuntime) root.child('local_runtime').catalog(LOCAL_RUNTIME_STATS, opts.localRuntime());

  if (opts.sorted !== false) out.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  return out;
}

function collectCluster(s: Scope, c: Cluster): void {
  s.catalog(CLUSTER_STATS, c.stats);
  s.codes(c.codes);
  s.histogram('upstream_rq_time', c.rqTime);
  s.histogram('upstream_cx_connect_ms', c.cxConnectMs);
  s.histogram('upstream_cx_length_ms', c.cxLengthMs);
  const retry = s.child('retry');
  retry.catalog(RETRY_CODE_STATS, c.retryStats);
  retry.codes(c.retryCodes);
  const r = c.resources;
  s.child('circuit_breakers').child('default').catalog(CIRCUIT_BREAKER_STATS, {
    cx_open: r.connections.open,
    remaining_cx: r.connections.remaining,
    remaining_pending: r.pending.remaining,
    remaining_retries: r.retries.remaining,
    remaining_rq: r.requests.remaining,
    rq_open: r.requests.open,
    rq_pending_open: r.pending.open,
    rq_retry_open: r.retries.open,
  });
  if (c.outlierDetector) s.child('outlier_detection').catalog(OUTLIER_DETECTION_STATS, c.outlierDetector.stats);
  if (c.healthChecker) s.child('health_check').catalog(HEALTH_CHECK_STATS, c.healthChecker.stats);
}

/**
 * Envoy's /reset_counters: every counter back to 0 (host counters too); gauges and histograms
 * keep their values.
 */
export function resetProxyCounters(proxy: Proxy): void {
  for (const l of proxy.listeners) {
    l.http.resetCounters();
    const f = proxy.faults(l.name);
    if (f) resetCounters(FAULT_STATS, f.stats);
  }
  for (const r of proxy.statsRegistry.routes) r.resetCounters();
  for (const c of proxy.clusters) {
    resetCounters(CLUSTER_STATS, c.stats);
    c.codes.fill(0);
    resetCounters(RETRY_CODE_STATS, c.retryStats);
    c.retryCodes.fill(0);
    for (const h of c.hosts) resetCounters(HOST_STATS, h.stats);
    if (c.outlierDetector) resetCounters(OUTLIER_DETECTION_STATS, c.outlierDetector.stats);
    if (c.healthChecker) resetCounters(HEALTH_CHECK_STATS, c.healthChecker.stats);
  }
}
