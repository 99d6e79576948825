import type { CircuitBreakers, Cluster, Endpoint, OutlierDetection, PoolSettings } from './cluster.js';
import { ENVOY, LEGATE } from './defaults.js';
import type { Listener } from './listener.js';
import type { Config } from './index.js';
import type { RetryPolicy } from './policy.js';
import { defaultOrigin, type Dialect, type Origins } from './origin.js';

/** Envoy's cluster defaults, each with its origin. Translators override what manifests set. */
export function clusterDefaults(name: string, endpoints: Endpoint[], dialect: Dialect = 'envoy'): Cluster {
  const d = (n: string) => defaultOrigin(dialect === 'istio' ? 'istio' : 'envoy', n);
  const circuitBreakers: CircuitBreakers = {
    maxConnections: ENVOY.MAX_CONNECTIONS,
    maxPendingRequests: ENVOY.MAX_PENDING_REQUESTS,
    maxRequests: ENVOY.MAX_REQUESTS,
    maxRetries: ENVOY.MAX_RETRIES,
    origin: {
      maxConnections: d('ENVOY.MAX_CONNECTIONS'),
      maxPendingRequests: d('ENVOY.MAX_PENDING_REQUESTS'),
      maxRequests: d('ENVOY.MAX_REQUESTS'),
      maxRetries: d('ENVOY.MAX_RETRIES'),
    },
  };
  const pool: PoolSettings = {
    connectTimeoutMs: ENVOY.CONNECT_TIMEOUT_MS,
    idleTimeoutMs: ENVOY.UPSTREAM_IDLE_TIMEOUT_MS,
    maxConnectionDurationMs: 0,
    maxRequestsPerConnection: 0,
    h2MaxConcurrentStreams: ENVOY.H2_MAX_CONCURRENT_STREAMS,
    origin: {
      connectTimeoutMs: d('ENVOY.CONNECT_TIMEOUT_MS'),
      idleTimeoutMs: d('ENVOY.UPSTREAM_IDLE_TIMEOUT_MS'),
      h2MaxConcurrentStreams: d('ENVOY.H2_MAX_CONCURRENT_STREAMS'),
    },
  };
  const origin: Origins = {
    protocol: d("upstream protocol: the client's"),
    lbPolicy: d('round_robin'),
    healthyPanicThreshold: d('ENVOY.HEALTHY_PANIC_THRESHOLD'),
  };
  return {
    name,
    protocol: 'downstream',
    lbPolicy: 'round_robin',
    endpoints,
    circuitBreakers,
    pool,
    healthyPanicThreshold: ENVOY.HEALTHY_PANIC_THRESHOLD,
    origin,
  };
}

/** A listener with Envoy's downstream defaults and no virtual hosts. */
export function listenerDefaults(name: string, address: string, port: number): Listener {
  const d = (n: string) => defaultOrigin('envoy', n);
  return {
    name,
    address,
    port,
    virtualHosts: [],
    limits: {
      maxRequestHeadersKb: ENVOY.MAX_REQUEST_HEADERS_KB,
      maxHeadersCount: ENVOY.MAX_HEADERS_COUNT,
      maxConcurrentStreams: LEGATE.DOWNSTREAM_MAX_CONCURRENT_STREAMS,
      idleTimeoutMs: ENVOY.DOWNSTREAM_IDLE_TIMEOUT_MS,
      requestTimeoutMs: 0,
      requestHeadersTimeoutMs: 0,
      streamIdleTimeoutMs: ENVOY.STREAM_IDLE_TIMEOUT_MS,
      maxConnections: 0,
      h2InitialStreamWindowSize: LEGATE.DOWNSTREAM_H2_STREAM_WINDOW,
      h2InitialConnectionWindowSize: LEGATE.DOWNSTREAM_H2_CONNECTION_WINDOW,
    },
    trustedCidrs: [],
    preserveExternalRequestId: true,
    origin: {
      'limits.maxRequestHeadersKb': d('ENVOY.MAX_REQUEST_HEADERS_KB'),
      'limits.maxHeadersCount': d('ENVOY.MAX_HEADERS_COUNT'),
      'limits.maxConcurrentStreams': defaultOrigin('legate', 'LEGATE.DOWNSTREAM_MAX_CONCURRENT_STREAMS'),
      'limits.idleTimeoutMs': d('ENVOY.DOWNSTREAM_IDLE_TIMEOUT_MS'),
      'limits.streamIdleTimeoutMs': d('ENVOY.STREAM_IDLE_TIMEOUT_MS'),
      'limits.h2InitialStreamWindowSize': defaultOrigin('legate', 'LEGATE.DOWNSTREAM_H2_STREAM_WINDOW'),
      'limits.h2InitialConnectionWindowSize': defaultOrigin('legate', 'LEGATE.DOWNSTREAM_H2_CONNECTION_WINDOW'),
    },
  };
}

/** Envoy's outlier-detection defaults (spec 5.1), each with its origin. */
export function outlierDetectionDefaults(dialect: Dialect = 'envoy'): OutlierDetection {
  const values = {
    consecutive5xx: 5,
    consecutiveGatewayFailure: 5,
    consecutiveLocalOriginFailure: 5,
    intervalMs: 10_000,
    baseEjectionTimeMs: 30_000,
    maxEjectionTimeMs: 300_000,
    maxEjectionPercent: 10,
    alwaysEjectOneHost: false,
    enforcingConsecutive5xx: 100,
    enforcingConsecutiveGatewayFailure: 0,
    enforcingConsecutiveLocalOriginFailure: 100,
    enforcingSuccessRate: 100,
    enforcingFailurePercentage: 0,
    successRateMinimumHosts: 5,
    successRateRequestVolume: 100,
    successRateStdevFactor: 1900,
    failurePercentageThreshold: 85,
    failurePercentageMinimumHosts: 5,
    failurePercentageRequestVolume: 50,
    splitExternalLocalOriginErrors: false,
  };
  const origin: Origins = {};
  for (const k of Object.keys(values)) origin[k] = defaultOrigin(dialect, `outlier_detection.${k}`);
  return { ...values, origin };
}

/** Envoy's defaults for a retry policy that sets only `retryOn` (spec 2.1), each with its origin. */
export function retryPolicyDefaults(retryOn: RetryPolicy['retryOn'] = [], dialect: Dialect = 'envoy'): RetryPolicy {
  const d = (n: string) => defaultOrigin(dialect, n);
  return {
    retryOn,
    numRetries: ENVOY.NUM_RETRIES,
    perTryTimeoutMs: 0,
    perTryIdleTimeoutMs: 0,
    retriableStatusCodes: [],
    retriableHeaders: [],
    retriableRequestHeaders: [],
    backoff: {
      baseIntervalMs: ENVOY.RETRY_BASE_INTERVAL_MS,
      maxIntervalMs: ENVOY.RETRY_BASE_INTERVAL_MS * ENVOY.RETRY_MAX_INTERVAL_FACTOR,
    },
    previousHosts: false,
    hostSelectionRetryMaxAttempts: ENVOY.HOST_SELECTION_RETRY_MAX_ATTEMPTS,
    bufferLimitBytes: ENVOY.BUFFER_LIMIT_BYTES,
    origin: {
      numRetries: d('ENVOY.NUM_RETRIES'),
      'backoff.baseIntervalMs': d('ENVOY.RETRY_BASE_INTERVAL_MS'),
      'backoff.maxIntervalMs': { kind: 'derived', from: 'backoff.baseIntervalMs x ENVOY.RETRY_MAX_INTERVAL_FACTOR' },
      hostSelectionRetryMaxAttempts: d('ENVOY.HOST_SELECTION_RETRY_MAX_ATTEMPTS'),
      bufferLimitBytes: d('ENVOY.BUFFER_LIMIT_BYTES'),
    },
  };
}

/**
 * An IR written by hand may leave listener limits out (or predate some): they take the defaults,
 * as translated IR always has them.
 */
export function fillListenerDefaults(config: Config): Config {
  if (!config || typeof config !== 'object' || !Array.isArray(config.listeners)) return config;
  return {
    ...config,
    listeners: config.listeners.map((l) => {
      const d = listenerDefaults(l.name, l.address, l.port);
      return { ...l, limits: { ...d.limits, ...l.limits }, origin: { ...d.origin, ...l.origin } };
    }),
  };
}
