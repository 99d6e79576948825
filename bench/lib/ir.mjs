// The IR legate is started with: one listener, one catch-all route, one cluster.
// Shapes follow src/ir/*.ts; cluster values are Envoy's defaults (src/ir/builders.ts clusterDefaults,
// src/ir/defaults.ts ENVOY.*), restated here so the bench needs no build of the IR module.

const ENVOY = {
  CONNECT_TIMEOUT_MS: 5_000,
  UPSTREAM_IDLE_TIMEOUT_MS: 3_600_000,
  MAX_CONNECTIONS: 1024,
  MAX_PENDING_REQUESTS: 1024,
  MAX_REQUESTS: 1024,
  MAX_RETRIES: 3,
  H2_MAX_CONCURRENT_STREAMS: 2_147_483_647,
  HEALTHY_PANIC_THRESHOLD: 50,
  MAX_REQUEST_HEADERS_KB: 60,
  MAX_HEADERS_COUNT: 100,
  RETRY_BASE_INTERVAL_MS: 25,
  RETRY_MAX_INTERVAL_FACTOR: 10,
  HOST_SELECTION_RETRY_MAX_ATTEMPTS: 1,
  BUFFER_LIMIT_BYTES: 1_048_576,
};
const LEGATE = { DOWNSTREAM_MAX_CONCURRENT_STREAMS: 1000 };

const d = (name, dialect = 'envoy') => ({ kind: 'default', dialect, name });
const bench = (field) => ({ kind: 'manifest', object: 'bench/lib/ir.mjs', field });

/**
 * Every field of the Cluster type, with Envoy's defaults; `protocol` is "http1" or "http2".
 * `maxRetries` overrides the retry circuit breaker (Envoy's default is 3 concurrent retries).
 */
export function cluster(name, protocol, host, port, { maxRetries } = {}) {
  return {
    name,
    protocol,
    lbPolicy: 'round_robin',
    endpoints: [{ address: host, port, weight: 1, priority: 0, hostname: `${host}:${port}`, health: 'healthy' }],
    circuitBreakers: {
      maxConnections: ENVOY.MAX_CONNECTIONS,
      maxPendingRequests: ENVOY.MAX_PENDING_REQUESTS,
      maxRequests: ENVOY.MAX_REQUESTS,
      maxRetries: maxRetries ?? ENVOY.MAX_RETRIES,
      origin: {
        maxConnections: d('ENVOY.MAX_CONNECTIONS'),
        maxPendingRequests: d('ENVOY.MAX_PENDING_REQUESTS'),
        maxRequests: d('ENVOY.MAX_REQUESTS'),
        maxRetries: maxRetries === undefined ? d('ENVOY.MAX_RETRIES') : bench('retryCircuitBreaker'),
      },
    },
    pool: {
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
    },
    healthyPanicThreshold: ENVOY.HEALTHY_PANIC_THRESHOLD,
    origin: {
      protocol: bench('protocol'),
      lbPolicy: d('round_robin'),
      healthyPanicThreshold: d('ENVOY.HEALTHY_PANIC_THRESHOLD'),
    },
  };
}

/**
 * A route retry policy (src/ir/policy.ts RetryPolicy): `retryOn` and `numRetries` from the workload,
 * everything else Envoy's default for a policy that sets only those: backoff 25 ms base, 250 ms
 * max; no per-try timeouts; previous_hosts off; host selection 1 attempt; 1 MiB replay buffer.
 */
export function retryPolicy({ retryOn, numRetries }) {
  return {
    retryOn,
    numRetries,
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
      retryOn: bench('workload.retry.retryOn'),
      numRetries: bench('workload.retry.numRetries'),
      'backoff.baseIntervalMs': d('ENVOY.RETRY_BASE_INTERVAL_MS'),
      'backoff.maxIntervalMs': { kind: 'derived', from: 'backoff.baseIntervalMs x ENVOY.RETRY_MAX_INTERVAL_FACTOR' },
      hostSelectionRetryMaxAttempts: d('ENVOY.HOST_SELECTION_RETRY_MAX_ATTEMPTS'),
      bufferLimitBytes: d('ENVOY.BUFFER_LIMIT_BYTES'),
    },
  };
}

export function listener(name, address, port, clusterName, { retry } = {}) {
  return {
    name,
    address,
    port,
    virtualHosts: [
      {
        name: 'bench',
        domains: ['*'],
        routeOrder: 'ordered',
        routes: [
          {
            name: 'all',
            match: { path: { kind: 'prefix', value: '/', segmentAware: false } },
            action: { kind: 'forward', clusters: [{ cluster: clusterName, weight: 1 }] },
            ...(retry ? { retry } : {}),
            origin: {},
          },
        ],
        origin: {},
      },
    ],
    limits: {
      maxRequestHeadersKb: ENVOY.MAX_REQUEST_HEADERS_KB,
      maxHeadersCount: ENVOY.MAX_HEADERS_COUNT,
      maxConcurrentStreams: LEGATE.DOWNSTREAM_MAX_CONCURRENT_STREAMS,
      idleTimeoutMs: 0,
    },
    trustedCidrs: [],
    preserveExternalRequestId: true,
    origin: {
      'limits.maxRequestHeadersKb': d('ENVOY.MAX_REQUEST_HEADERS_KB'),
      'limits.maxHeadersCount': d('ENVOY.MAX_HEADERS_COUNT'),
      'limits.maxConcurrentStreams': d('LEGATE.DOWNSTREAM_MAX_CONCURRENT_STREAMS', 'legate'),
    },
  };
}

/**
 * Concurrent retries allowed on the cluster when the route retries. Envoy's default of 3 would
 * turn most retries into circuit-breaker overflows at the retry workloads' concurrency (hundreds
 * of requests in flight, about half of them holding a retry); the workloads measure the cost of
 * retrying, so the breaker is set to the request limit and never trips.
 */
export const RETRY_WORKLOAD_MAX_RETRIES = ENVOY.MAX_REQUESTS;

/**
 * The whole config: { version, listeners, clusters }. `retry` ({ retryOn, numRetries }, from the
 * workload) adds a retry policy to the route and raises the cluster's retry circuit breaker.
 */
export function benchIr({ listenPort, backend, protocol, retry }) {
  return {
    version: 'bench-1',
    listeners: [listener('bench', '127.0.0.1', listenPort, 'backend', { retry: retry ? retryPolicy(retry) : undefined })],
    clusters: [
      cluster('backend', protocol, backend.host, backend.port, retry ? { maxRetries: RETRY_WORKLOAD_MAX_RETRIES } : {}),
    ],
  };
}
