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
};
const LEGATE = { DOWNSTREAM_MAX_CONCURRENT_STREAMS: 1000 };

const d = (name, dialect = 'envoy') => ({ kind: 'default', dialect, name });
const bench = (field) => ({ kind: 'manifest', object: 'bench/lib/ir.mjs', field });

/** Every field of the Cluster type, with Envoy's defaults; `protocol` is "http1" or "http2". */
export function cluster(name, protocol, host, port) {
  return {
    name,
    protocol,
    lbPolicy: 'round_robin',
    endpoints: [{ address: host, port, weight: 1, priority: 0, hostname: `${host}:${port}`, health: 'healthy' }],
    circuitBreakers: {
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

export function listener(name, address, port, clusterName) {
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

/** The whole config: { version, listeners, clusters }. */
export function benchIr({ listenPort, backend, protocol }) {
  return {
    version: 'bench-1',
    listeners: [listener('bench', '127.0.0.1', listenPort, 'backend')],
    clusters: [cluster('backend', protocol, backend.host, backend.port)],
  };
}
