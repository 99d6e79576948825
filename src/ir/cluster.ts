import type { Origins } from './origin.js';

export type Locality = { region?: string; zone?: string; subZone?: string };

export type Endpoint = {
  /** IP address or host name. */
  address: string;
  port: number;
  weight: number;
  priority: number;
  locality?: Locality;
  labels?: Record<string, string>;
  /** Name shown in /clusters (pod name, service entry host). */
  hostname?: string;
  /** Health reported by the source (EndpointSlice conditions); `unhealthy` hosts get no traffic. */
  health?: 'healthy' | 'unhealthy' | 'draining';
};

export type LbPolicy = 'round_robin' | 'least_request' | 'random' | 'ring_hash' | 'maglev';

/**
 * `http1` / `http2`: always that protocol upstream. `downstream`: whatever the client used.
 * gRPC requests always go upstream over HTTP/2 whatever this says.
 */
export type UpstreamProtocol = 'http1' | 'http2' | 'downstream';

export type CircuitBreakers = {
  maxConnections: number;
  maxPendingRequests: number;
  maxRequests: number;
  maxRetries: number;
  retryBudget?: { budgetPercent: number; minRetryConcurrency: number };
  origin: Origins;
};

export type PoolSettings = {
  connectTimeoutMs: number;
  /** Close an idle upstream connection after this long; 0 = never. */
  idleTimeoutMs: number;
  /** Drain a connection after this long; 0 = unlimited. */
  maxConnectionDurationMs: number;
  /** 0 = unlimited. */
  maxRequestsPerConnection: number;
  h2MaxConcurrentStreams: number;
  tcpKeepalive?: { probes?: number; timeSec?: number; intervalSec?: number };
  origin: Origins;
};

export type OutlierDetection = {
  consecutive5xx: number;
  consecutiveGatewayFailure: number;
  consecutiveLocalOriginFailure: number;
  intervalMs: number;
  baseEjectionTimeMs: number;
  maxEjectionTimeMs: number;
  maxEjectionPercent: number;
  alwaysEjectOneHost: boolean;
  enforcingConsecutive5xx: number;
  enforcingConsecutiveGatewayFailure: number;
  enforcingConsecutiveLocalOriginFailure: number;
  enforcingSuccessRate: number;
  enforcingFailurePercentage: number;
  successRateMinimumHosts: number;
  successRateRequestVolume: number;
  successRateStdevFactor: number;
  failurePercentageThreshold: number;
  failurePercentageMinimumHosts: number;
  failurePercentageRequestVolume: number;
  splitExternalLocalOriginErrors: boolean;
  /** Envoy 100; Envoy Gateway sets 0 with split mode. */
  enforcingLocalOriginSuccessRate?: number;
  /** Envoy 0. */
  enforcingFailurePercentageLocalOrigin?: number;
  /** Envoy true: a passing active health check unejects an ejected host. */
  successfulActiveHealthCheckUnejectHost?: boolean;
  origin: Origins;
};

export type HealthCheck = {
  kind: 'http' | 'grpc' | 'tcp';
  intervalMs: number;
  timeoutMs: number;
  healthyThreshold: number;
  unhealthyThreshold: number;
  intervalJitterMs?: number;
  noTrafficIntervalMs?: number;
  http?: { path: string; host?: string; expectedStatuses: [number, number][] };
  grpc?: { serviceName: string; authority?: string };
  tcp?: { send?: string; receive?: string[] };
  origin: Origins;
};

export type Cluster = {
  name: string;
  protocol: UpstreamProtocol;
  lbPolicy: LbPolicy;
  leastRequestChoiceCount?: number;
  endpoints: Endpoint[];
  circuitBreakers: CircuitBreakers;
  pool: PoolSettings;
  outlierDetection?: OutlierDetection;
  healthChecks?: HealthCheck[];
  /** Percent of healthy hosts under which the load balancer ignores health (0 disables). */
  healthyPanicThreshold: number;
  /**
   * Istio's localityLbSetting, applied at build time against legate's own locality: failover
   * priorities (only with outlier detection, as Istio), `distribute` locality weights, or
   * `failoverPriority` by labels.
   */
  localityLb?: LocalityLbSetting;
  /**
   * Envoy's slow start (round robin, least request): a new or newly healthy host's weight grows
   * over `windowMs` as (elapsed / window)^(1 / aggression), never below `minWeightPercent`.
   */
  slowStart?: { windowMs: number; aggression: number; minWeightPercent: number };
  /** Use TLS to the upstream. */
  tls?: { sni?: string; insecureSkipVerify?: boolean };
  origin: Origins;
};

export type LocalityLbSetting = {
  enabled: boolean;
  /** For clients in `from`, traffic shares per `to` locality pattern (percent; unlisted localities get none). */
  distribute?: { from: string; to: Record<string, number> }[];
  /** For clients in region `from`, other regions except `to` become the last priority. */
  failover?: { from: string; to: string }[];
  /** Label keys (or key=value) ranking endpoints by how many of them match the client. */
  failoverPriority?: string[];
  origin: Origins;
};
