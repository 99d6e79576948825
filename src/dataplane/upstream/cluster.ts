import type * as ir from '../../ir/index.js';
import type { Random } from '../../common/random.js';
import { defineStats, type StatsOf } from '../stats/define-stats.js';
import { CLUSTER_STATS } from '../stats/catalog.js';
import { Host, type HostPoolSettings } from './host.js';
import { createLoadBalancer, type LoadBalancer } from './load-balancer.js';
import { Limit, RetryResource, type ClusterResources } from './resource-manager.js';

/** A named group of hosts with its load balancer, pools and counters. */
export class Cluster {
  readonly name: string;
  readonly config: ir.Cluster;
  readonly stats: StatsOf<typeof CLUSTER_STATS> = defineStats(CLUSTER_STATS);
  readonly hosts: Host[];
  /** Circuit-breaker resources with live counts (Envoy's default priority). */
  readonly resources: ClusterResources;
  #lb: LoadBalancer;
  readonly #random: Random;

  constructor(config: ir.Cluster, random: Random) {
    this.name = config.name;
    this.config = config;
    this.#random = random;
    const cb = config.circuitBreakers;
    const budget = cb.retryBudget ? { percent: cb.retryBudget.budgetPercent, minConcurrency: cb.retryBudget.minRetryConcurrency } : undefined;
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
      h2MaxConcurrentStreams: config.pool.h2MaxConcurrentStreams,
      tls: config.tls
        ? { ...(config.tls.sni ? { servername: config.tls.sni } : {}), rejectUnauthorized: !config.tls.insecureSkipVerify }
        : undefined,
      keepaliveTimeSec: config.pool.tcpKeepalive?.timeSec,
      resources: this.resources,
      stats: this.stats,
    };
    this.hosts = config.endpoints.map((ep) => new Host(ep, settings));
    this.#lb = this.#buildLb();
  }

  #buildLb(): LoadBalancer {
    const healthy = this.hosts.filter((h) => h.healthy);
    this.stats.membership_total = this.hosts.length;
    this.stats.membership_healthy = healthy.length;
    return createLoadBalancer(this.config.lbPolicy, healthy, this.#random, this.config.leastRequestChoiceCount);
  }

  /** Rebuilds the balancer after a health change. */
  refreshHealth(): void {
    this.#lb = this.#buildLb();
  }

  /** Undefined means "no healthy upstream". */
  chooseHost(): Host | undefined {
    return this.#lb.choose();
  }

  async close(): Promise<void> {
    await Promise.all(this.hosts.map((h) => h.close()));
  }

  destroy(): void {
    for (const h of this.hosts) h.destroy();
  }
}
