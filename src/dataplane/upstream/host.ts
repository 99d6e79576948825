import type * as ir from '../../ir/index.js';
import { defineStats, type StatsOf } from '../stats/define-stats.js';
import { HOST_STATS } from '../stats/catalog.js';
import { H1Pool } from './h1-pool.js';
import { H2Pool } from './h2-pool.js';
import type { ClusterResources, PoolStats } from './resource-manager.js';
import type { ConnectOptions, CxHistograms } from './connect.js';

export type HostPoolSettings = {
  connectTimeoutMs: number;
  idleTimeoutMs: number;
  maxRequestsPerConnection: number;
  /** Close a connection (after its current request) once it is this old; 0 = never. */
  maxConnectionDurationMs?: number;
  h2MaxConcurrentStreams: number;
  tls?: { servername?: string; rejectUnauthorized: boolean } | undefined;
  keepaliveTimeSec?: number | undefined;
  /** The cluster's circuit-breaker resources and counters, shared by every host's pools. */
  resources: ClusterResources;
  stats: PoolStats;
  histograms?: CxHistograms | undefined;
};

/** `address:port` (IPv6 in brackets): how hosts are named and matched across reloads. */
export function hostKey(ep: { address: string; port: number }): string {
  return ep.address.includes(':') ? `[${ep.address}]:${ep.port}` : `${ep.address}:${ep.port}`;
}

/** One upstream endpoint: its address, weight, placement, counters and connection pools. */
export class Host {
  readonly address: string;
  readonly port: number;
  /** `address:port`, as Envoy names hosts in /clusters and the access log. */
  readonly key: string;
  // Placement and weight change in place on reload (Cluster.update); identity is address:port.
  weight: number;
  priority: number;
  locality: ir.Locality | undefined;
  hostname: string | undefined;
  labels: Record<string, string>;
  readonly stats: StatsOf<typeof HOST_STATS> = defineStats(HOST_STATS);
  /** Health as the source reported it (EndpointSlice conditions, IR `health`). */
  sourceHealthy: boolean;
  /** Set by outlier detection while the host is ejected (`/failed_outlier_check`). */
  failedOutlierCheck = false;
  /** Set by active health checking while checks fail (`/failed_active_hc`). */
  failedActiveHc = false;
  /** When the host was added or last became healthy (slow start counts from here). */
  since = 0;
  /** The last active check timed out (`/active_hc_timeout`). */
  activeHcTimeout = false;
  readonly #settings: HostPoolSettings;
  #h1: H1Pool | null = null;
  #h2: H2Pool | null = null;

  constructor(ep: ir.Endpoint, settings: HostPoolSettings) {
    this.address = ep.address;
    this.port = ep.port;
    this.key = hostKey(ep);
    this.weight = ep.weight;
    this.priority = ep.priority;
    this.locality = ep.locality;
    this.hostname = ep.hostname;
    this.labels = ep.labels ?? {};
    this.sourceHealthy = ep.health !== 'unhealthy' && ep.health !== 'draining';
    this.#settings = settings;
  }

  /** Takes the new weight, placement and source health of the same endpoint; pools and state stay. */
  update(ep: ir.Endpoint): void {
    this.weight = ep.weight;
    this.priority = ep.priority;
    this.locality = ep.locality;
    this.hostname = ep.hostname;
    this.labels = ep.labels ?? {};
    this.sourceHealthy = ep.health !== 'unhealthy' && ep.health !== 'draining';
  }

  /** Healthy unless a source, outlier detection or active health checking says otherwise. */
  get healthy(): boolean {
    return this.sourceHealthy && !this.failedOutlierCheck && !this.failedActiveHc;
  }

  /** Envoy's health flag tokens for /clusters, in Envoy's order; `healthy` when none. */
  get healthFlags(): string {
    let f = '';
    if (this.failedActiveHc) f += '/failed_active_hc';
    if (this.failedOutlierCheck) f += '/failed_outlier_check';
    if (!this.sourceHealthy) f += '/failed_eds_health';
    if (this.activeHcTimeout) f += '/active_hc_timeout';
    return f || 'healthy';
  }

  /** How to open a connection of its own to this host (websocket upgrades), with the pools' settings. */
  connectOptions(alpn: string[]): ConnectOptions {
    const s = this.#settings;
    return {
      host: this.address,
      port: this.port,
      timeoutMs: s.connectTimeoutMs,
      tls: s.tls ? { ...s.tls, alpn } : undefined,
      keepalive: s.keepaliveTimeSec !== undefined ? { timeSec: s.keepaliveTimeSec } : undefined,
      histograms: s.histograms,
    };
  }

  h1(): H1Pool {
    return (this.#h1 ??= new H1Pool({
      host: this.address,
      port: this.port,
      connectTimeoutMs: this.#settings.connectTimeoutMs,
      idleTimeoutMs: this.#settings.idleTimeoutMs,
      maxRequestsPerConnection: this.#settings.maxRequestsPerConnection,
      maxConnectionDurationMs: this.#settings.maxConnectionDurationMs ?? 0,
      tls: this.#settings.tls,
      keepaliveTimeSec: this.#settings.keepaliveTimeSec,
      resources: this.#settings.resources,
      stats: this.#settings.stats,
      histograms: this.#settings.histograms,
    }));
  }

  h2(): H2Pool {
    return (this.#h2 ??= new H2Pool({
      host: this.address,
      port: this.port,
      connectTimeoutMs: this.#settings.connectTimeoutMs,
      idleTimeoutMs: this.#settings.idleTimeoutMs,
      maxConcurrentStreams: this.#settings.h2MaxConcurrentStreams,
      maxRequestsPerConnection: this.#settings.maxRequestsPerConnection,
      maxConnectionDurationMs: this.#settings.maxConnectionDurationMs ?? 0,
      tls: this.#settings.tls,
      keepaliveTimeSec: this.#settings.keepaliveTimeSec,
      resources: this.#settings.resources,
      stats: this.#settings.stats,
      histograms: this.#settings.histograms,
    }));
  }

  get connections(): number {
    return (this.#h1?.connections ?? 0) + (this.#h2?.connections ?? 0);
  }

  async close(): Promise<void> {
    await Promise.all([this.#h1?.close(), this.#h2?.close()]);
  }

  destroy(): void {
    this.#h1?.destroy();
    this.#h2?.destroy();
  }
}
