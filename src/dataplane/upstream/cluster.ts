import type * as ir from '../../ir/index.js';
import type { Random } from '../../common/random.js';
import { systemClock, type Clock } from '../../common/clock.js';
import { noopOutlierMonitor, OutlierDetector, type OutlierMonitor } from './outlier-detector.js';
import { HealthChecker } from './health-checker.js';
import { localityKey, planLocality, type ProxyPlacement } from './locality.js';
import { defineStats, type StatsOf } from '../stats/define-stats.js';
import { CLUSTER_STATS, RETRY_CODE_STATS } from '../stats/catalog.js';
import { Histogram } from '../stats/histogram.js';
import { newCodeCounts } from '../stats/scopes.js';
import { Host, hostKey, type HostPoolSettings } from './host.js';
import { createLoadBalancer, type LoadBalancer } from './load-balancer.js';
import { Limit, RetryResource, type ClusterResources } from './resource-manager.js';
import { computePriorityLoad, type PriorityLoad } from './priority-load.js';
import { isConnectFailure, type ResetReason } from './reset-reason.js';

const NOWHERE: ProxyPlacement = { locality: {}, labels: {} };

/**
 * Fields `update` takes in place: endpoints and how they are balanced. A change anywhere else
 * (pools, TLS, circuit breakers, outlier detection, health checks) needs a new Cluster.
 */
export const IN_PLACE_CLUSTER_FIELDS: ReadonlySet<string> = new Set([
  'endpoints',
  'lbPolicy',
  'leastRequestChoiceCount',
  'healthyPanicThreshold',
  'localityLb',
  'slowStart',
  'protocol',
  'origin',
]);

/** A named group of hosts with its load balancer, pools and counters. */
export class Cluster {
  readonly name: string;
  readonly stats: StatsOf<typeof CLUSTER_STATS> = defineStats(CLUSTER_STATS);
  #config: ir.Cluster;
  #hosts: Host[];
  readonly #settings: HostPoolSettings;
  readonly #placement: ProxyPlacement;
  /** `upstream_rq_<code>` of the responses sent on (the classes are in `stats`). */
  readonly codes = newCodeCounts();
  /** `retry.upstream_rq_*`: responses dropped for a retry. */
  readonly retryStats: StatsOf<typeof RETRY_CODE_STATS> = defineStats(RETRY_CODE_STATS);
  readonly retryCodes = newCodeCounts();
  /** `upstream_rq_time`: from the end of the downstream request to the end of the response. */
  readonly rqTime = new Histogram();
  /** `upstream_cx_connect_ms` and `upstream_cx_length_ms`. */
  readonly cxConnectMs = new Histogram();
  readonly cxLengthMs = new Histogram();
  /** Circuit-breaker resources with live counts (Envoy's default priority). */
  readonly resources: ClusterResources;
  readonly #random: Random;

  /** Passive health: reports from the request path; a no-op without outlier detection. */
  readonly outlier: OutlierMonitor;
  readonly outlierDetector: OutlierDetector | undefined;
  /** Active health checking (the cluster's first health check), when configured. */
  readonly healthChecker: HealthChecker | undefined;

  constructor(config: ir.Cluster, random: Random, clock: Clock = systemClock, placement: ProxyPlacement = NOWHERE) {
    this.name = config.name;
    this.#config = config;
    this.#random = random;
    this.#placement = placement;
    const cb = config.circuitBreakers;
    const budget = cb.retryBudget
      ? { percent: cb.retryBudget.budgetPercent, minConcurrency: cb.retryBudget.minRetryConcurrency }
      : undefined;
    this.resources = {
      connections: new Limit(cb.maxConnections),
      pending: new Limit(cb.maxPendingRequests),
      requests: new Limit(cb.maxRequests),
      retries: new RetryResource(cb.maxRetries, budget, () => this.stats.upstream_rq_active + this.stats.upstream_rq_pending_active),
    };
    const settings: HostPoolSettings = {
      connectTimeoutMs: config.pool.connectTimeoutMs,
      idleTimeoutMs: config.pool.idleTimeoutMs,
      maxRequestsPerConnection: config.pool.maxRequestsPerConnection,
      maxConnectionDurationMs: config.pool.maxConnectionDurationMs,
      h2MaxConcurrentStreams: config.pool.h2MaxConcurrentStreams,
      tls: config.tls
        ? { ...(config.tls.sni ? { servername: config.tls.sni } : {}), rejectUnauthorized: !config.tls.insecureSkipVerify }
        : undefined,
      keepaliveTimeSec: config.pool.tcpKeepalive?.timeSec,
      resources: this.resources,
      stats: this.stats,
      histograms: { connectMs: this.cxConnectMs, lengthMs: this.cxLengthMs },
    };
    this.#settings = settings;
    this.#clock = clock;
    const born = clock.now();
    this.#hosts = this.#placeEndpoints(config).map((ep) => {
      const h = new Host(ep, settings);
      h.since = born;
      return h;
    });
    this.#ramp = rampOf(config, clock);
    this.outlierDetector = config.outlierDetection
      ? new OutlierDetector(config.outlierDetection, this.hosts, clock, random, () => this.refreshHealth())
      : undefined;
    this.outlierDetector?.start();
    this.outlier = this.outlierDetector ?? noopOutlierMonitor;
    const hc = config.healthChecks?.[0];
    this.healthChecker = hc
      ? new HealthChecker(hc, config.name, this.hosts, clock, random, () => this.refreshHealth(), {
          tls: settings.tls,
          // A passing check unejects an outlier-ejected host (Envoy's default).
          onCheckComplete: (host, result) => {
            if (result === 'success') this.outlierDetector?.successfulActiveHealthCheck(host);
          },
        })
      : undefined;
    this.healthChecker?.start();
    this.#rebuild();
  }

  get config(): ir.Cluster {
    return this.#config;
  }

  get hosts(): readonly Host[] {
    return this.#hosts;
  }

  /**
   * Istio's locality rules decide priorities and locality weights against legate's own locality.
   * Returns the endpoints with their planned priority and sets the locality weights.
   */
  #placeEndpoints(config: ir.Cluster): ir.Endpoint[] {
    const plan = planLocality(config.endpoints, config.localityLb, this.#placement, config.outlierDetection !== undefined);
    const eps = config.endpoints.map((ep, i) => (plan.priorities[i] === ep.priority ? ep : { ...ep, priority: plan.priorities[i]! }));
    this.#localityWeights = plan.localityWeights ? new Map(eps.map((ep, i) => [hostKey(ep), plan.localityWeights![i]!])) : undefined;
    return eps;
  }

  /**
   * Takes a new config that differs only in IN_PLACE_CLUSTER_FIELDS (the caller checks). A host
   * whose address:port remains is kept, with its outlier and health-check state, slow-start
   * clock, counters and connections, and takes its new weight and placement; new endpoints get
   * new hosts (checked at once by active health checking, slow start from now); removed hosts
   * leave the balancers at once and their pools drain: requests in flight finish.
   */
  update(config: ir.Cluster): void {
    const byKey = new Map<string, Host[]>();
    for (const h of this.#hosts) {
      const list = byKey.get(h.key);
      if (list) list.push(h);
      else byKey.set(h.key, [h]);
    }
    this.#config = config;
    const now = this.#clock.now();
    this.#hosts = this.#placeEndpoints(config).map((ep) => {
      const kept = byKey.get(hostKey(ep))?.shift();
      if (kept) {
        kept.update(ep);
        return kept;
      }
      const h = new Host(ep, this.#settings);
      h.since = now;
      return h;
    });
    this.#ramp = rampOf(config, this.#clock);
    this.outlierDetector?.setHosts(this.#hosts);
    this.healthChecker?.setHosts(this.#hosts);
    for (const list of byKey.values()) {
      for (const h of list) {
        this.#unhealthy.delete(h);
        void h.close();
      }
    }
    this.#rebuild();
  }

  /**
   * Rebuilds the host sets after a membership or health change: hosts grouped by priority, the
   * priority load (overprovisioning 1.4) and panic per priority. With one priority and no panic
   * the request path takes a single balancer (the common case).
   */
  #rebuild(): void {
    const byPriority = new Map<number, Host[]>();
    for (const h of this.hosts) {
      let list = byPriority.get(h.priority);
      if (!list) byPriority.set(h.priority, (list = []));
      list.push(h);
    }
    const levels = [...byPriority.keys()].sort((a, b) => a - b).map((p) => byPriority.get(p)!);
    const c = this.config;
    let healthyCount = 0;
    // A host that just became healthy starts its slow start again.
    const now = this.#clock.now();
    for (const h of this.hosts) {
      if (h.healthy && this.#unhealthy.has(h)) h.since = now;
      if (h.healthy) this.#unhealthy.delete(h);
      else this.#unhealthy.add(h);
    }
    this.#sets = levels.map((hosts) => {
      const healthy = hosts.filter((h) => h.healthy);
      healthyCount += healthy.length;
      const lb = createLoadBalancer(c.lbPolicy, healthy, this.#random, c.leastRequestChoiceCount, this.#ramp);
      return {
        hosts,
        healthy,
        healthyLb: this.#localityWeights ? this.#localityLb(hosts) : lb,
        allLb: null as LoadBalancer | null,
      };
    });
    this.stats.membership_total = this.hosts.length;
    this.stats.membership_healthy = healthyCount;
    this.#load = computePriorityLoad(
      this.#sets.map((s) => ({ total: s.hosts.length, healthy: s.healthy.length })),
      c.healthyPanicThreshold,
    );
    this.#sets.forEach((s, i) => {
      if (this.#load.panic[i]) s.allLb = createLoadBalancer(c.lbPolicy, s.hosts, this.#random, c.leastRequestChoiceCount);
    });
    let sum = 0;
    this.#cumulative = this.#load.load.map((l) => (sum += l));
    const only = this.#sets.length === 1 ? this.#sets[0]! : undefined;
    this.#fast = only && !this.#load.panic[0] ? only.healthyLb : null;
  }

  #sets: { hosts: Host[]; healthy: Host[]; healthyLb: LoadBalancer; allLb: LoadBalancer | null }[] = [];
  /** Locality weight per host key, when localities are weighted. */
  #localityWeights: Map<string, number> | undefined;
  readonly #clock: Clock;
  #ramp: ((h: Host) => number) | undefined;
  readonly #unhealthy = new Set<Host>();

  /**
   * Locality-weighted choice within one priority (Istio's distribute): a locality by its weight
   * scaled by min(1, 1.4 x healthy / total), then a host inside it. Weight 0 gets no traffic.
   */
  #localityLb(hosts: Host[]): LoadBalancer {
    const c = this.config;
    const groups = new Map<string, { weight: number; hosts: Host[] }>();
    for (const h of hosts) {
      const key = localityKey(h.locality);
      let g = groups.get(key);
      if (!g) groups.set(key, (g = { weight: this.#localityWeights!.get(h.key) ?? 0, hosts: [] }));
      g.hosts.push(h);
    }
    const choices: { cum: number; lb: LoadBalancer }[] = [];
    let total = 0;
    for (const g of groups.values()) {
      const healthy = g.hosts.filter((h) => h.healthy);
      const eff = g.weight * Math.min(1, (1.4 * healthy.length) / g.hosts.length);
      if (eff <= 0) continue;
      total += eff;
      choices.push({ cum: total, lb: createLoadBalancer(c.lbPolicy, healthy, this.#random, c.leastRequestChoiceCount) });
    }
    const random = this.#random;
    return {
      choose: () => {
        if (total === 0) return undefined;
        const r = random.next() * total;
        for (const ch of choices) if (r < ch.cum) return ch.lb.choose();
        return choices[choices.length - 1]!.lb.choose();
      },
    };
  }
  #load: PriorityLoad = { load: [], panic: [] };
  #cumulative: number[] = [];
  #fast: LoadBalancer | null = null;

  /** Rebuilds the balancers after a health change (outlier ejection, health check). */
  refreshHealth(): void {
    this.#rebuild();
  }

  /** Counts an upstream request reset in the cluster's and host's stats and tells outlier detection. */
  noteReset(host: Host, reason: ResetReason): void {
    const st = this.stats;
    if (reason !== 'overflow') this.outlier.reportLocalOrigin(host, isConnectFailure(reason) ? 'connect-failure' : 'reset');
    if (isConnectFailure(reason)) {
      st.upstream_cx_connect_fail++;
      host.stats.cx_connect_fail++;
      if (reason === 'connection timeout') st.upstream_cx_connect_timeout++;
    } else if (reason === 'remote reset' || reason === 'remote refused stream reset') {
      st.upstream_rq_rx_reset++;
    } else if (reason === 'connection termination') {
      st.upstream_cx_destroy_remote_with_active_rq++;
    } else if (reason === 'protocol error') {
      st.upstream_cx_protocol_error++;
    }
  }

  /** Undefined means "no healthy upstream". */
  chooseHost(hash?: number, attempt = 0, excludedPriorities?: ReadonlySet<number>): Host | undefined {
    this.healthChecker?.markTraffic();
    if (excludedPriorities && excludedPriorities.size > 0 && this.#sets.length > 1)
      return this.#chooseExcluding(excludedPriorities, hash, attempt);
    const fast = this.#fast;
    if (fast) return hash !== undefined && fast.chooseFor ? fast.chooseFor(hash, attempt) : fast.choose();
    const cum = this.#cumulative;
    if (cum.length === 0) return undefined;
    // Envoy: a number in 1..100 walks the cumulative priority loads.
    const h = Math.floor(this.#random.next() * 100) + 1;
    let p = 0;
    while (p < cum.length - 1 && h > cum[p]!) p++;
    const set = this.#sets[p]!;
    const lb = this.#load.panic[p] ? set.allLb! : set.healthyLb;
    if (this.#load.panic[p]) this.stats.lb_healthy_panic++;
    return hash !== undefined && lb.chooseFor ? lb.chooseFor(hash, attempt) : lb.choose();
  }

  /**
   * Everything the admin API shows about this cluster and its hosts (Envoy's /clusters): health
   * flags, placement, weights, live requests and connections, counters, outlier state and the
   * circuit-breaker thresholds with their current use.
   */
  snapshot(): ClusterSnapshot {
    const od = this.outlierDetector;
    const r = this.resources;
    return {
      name: this.name,
      lbPolicy: this.config.lbPolicy,
      priorityLoad: this.#load.load.slice(),
      panic: this.#load.panic.slice(),
      circuitBreakers: {
        maxConnections: r.connections.max,
        maxPendingRequests: r.pending.max,
        maxRequests: r.requests.max,
        maxRetries: this.config.circuitBreakers.maxRetries,
        cxOpen: r.connections.open,
        rqPendingOpen: r.pending.open,
        rqOpen: r.requests.open,
        rqRetryOpen: r.retries.open,
        remainingCx: r.connections.remaining,
        remainingPending: r.pending.remaining,
        remainingRq: r.requests.remaining,
        remainingRetries: r.retries.remaining,
      },
      outlier: od
        ? {
            ejectionsActive: od.stats.ejections_active,
            successRateAverage: od.successRateAverage,
            successRateEjectionThreshold: od.successRateEjectionThreshold,
          }
        : undefined,
      stats: { ...this.stats },
      hosts: this.hosts.map((h) => {
        const o = od?.hostSnapshot(h);
        return {
          address: h.key,
          hostname: h.hostname,
          healthFlags: h.healthFlags,
          priority: h.priority,
          weight: h.weight,
          locality: h.locality ?? {},
          labels: h.labels,
          rqActive: h.stats.rq_active,
          rqTotal: h.stats.rq_total,
          rqSuccess: h.stats.rq_success,
          rqError: h.stats.rq_error,
          rqTimeout: h.stats.rq_timeout,
          cxConnectFail: h.stats.cx_connect_fail,
          cxActive: h.connections,
          successRate: o?.successRate ?? -1,
          numEjections: o?.numEjections ?? 0,
        };
      }),
    };
  }

  /**
   * Retries with previous_priorities: the load is recomputed as if the priorities already tried
   * had no healthy host (Envoy resets the exclusion when it would leave nothing).
   */
  #chooseExcluding(excluded: ReadonlySet<number>, hash: number | undefined, attempt: number): Host | undefined {
    const levels = [...new Set(this.hosts.map((h) => h.priority))].sort((a, b) => a - b);
    const health = this.#sets.map((s, i) => ({ total: s.hosts.length, healthy: excluded.has(levels[i]!) ? 0 : s.healthy.length }));
    if (health.every((h) => h.healthy === 0)) return this.chooseHost(hash, attempt);
    const load = computePriorityLoad(health, this.config.healthyPanicThreshold);
    const h = Math.floor(this.#random.next() * 100) + 1;
    let p = 0;
    for (let cum = load.load[0]!; p < load.load.length - 1 && h > cum; cum += load.load[++p]!);
    const set = this.#sets[p]!;
    const lb = this.#load.panic[p] ? set.allLb! : set.healthyLb;
    return hash !== undefined && lb.chooseFor ? lb.chooseFor(hash, attempt) : lb.choose();
  }

  /** Per-priority load and panic, for the admin snapshot. */
  get priorityLoad(): PriorityLoad {
    return this.#load;
  }

  async close(): Promise<void> {
    this.outlierDetector?.close();
    this.healthChecker?.close();
    await Promise.all(this.hosts.map((h) => h.close()));
  }

  destroy(): void {
    this.outlierDetector?.close();
    this.healthChecker?.close();
    for (const h of this.hosts) h.destroy();
  }
}

export type HostSnapshot = {
  address: string;
  hostname: string | undefined;
  healthFlags: string;
  priority: number;
  weight: number;
  locality: ir.Locality;
  labels: Record<string, string>;
  rqActive: number;
  rqTotal: number;
  rqSuccess: number;
  rqError: number;
  rqTimeout: number;
  cxConnectFail: number;
  cxActive: number;
  successRate: number;
  numEjections: number;
};

export type ClusterSnapshot = {
  name: string;
  lbPolicy: string;
  priorityLoad: number[];
  panic: boolean[];
  circuitBreakers: Record<string, number>;
  outlier: { ejectionsActive: number; successRateAverage: number; successRateEjectionThreshold: number } | undefined;
  stats: Record<string, number>;
  hosts: HostSnapshot[];
};

function rampOf(config: ir.Cluster, clock: Clock): ((h: Host) => number) | undefined {
  const ss = config.slowStart;
  return ss && ss.windowMs > 0 ? (h) => slowStartFactor(clock.now() - h.since, ss.windowMs, ss.aggression, ss.minWeightPercent) : undefined;
}

/** Envoy's slow-start factor: (elapsed / window)^(1 / aggression), at least minWeightPercent, 1 after the window. */
export function slowStartFactor(elapsedMs: number, windowMs: number, aggression: number, minWeightPercent: number): number {
  if (elapsedMs >= windowMs) return 1;
  const f = Math.pow(Math.max(0, elapsedMs) / windowMs, 1 / (aggression > 0 ? aggression : 1));
  return Math.max(minWeightPercent / 100, f);
}
