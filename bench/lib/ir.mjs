// The IR legate is started with: one listener, one catch-all route, one cluster. Built with the
// project's own IR builders (Envoy's defaults with their origins), so the bench states only what
// it changes. `npm run bench` builds dist/ first.
import { clusterDefaults, listenerDefaults, retryPolicyDefaults, ENVOY } from '../../dist/src/ir/index.js';
import { routeName } from './workloads.mjs';

const bench = (field) => ({ kind: 'manifest', object: 'bench/lib/ir.mjs', field });

/**
 * A cluster with Envoy's defaults; `protocol` is "http1" or "http2". `maxRetries` overrides the
 * retry circuit breaker (Envoy's default is 3 concurrent retries).
 */
export function cluster(name, protocol, host, port, { maxRetries } = {}) {
  const c = clusterDefaults(name, [{ address: host, port, weight: 1, priority: 0, hostname: `${host}:${port}`, health: 'healthy' }]);
  c.protocol = protocol;
  c.origin.protocol = bench('protocol');
  if (maxRetries !== undefined) {
    c.circuitBreakers.maxRetries = maxRetries;
    c.circuitBreakers.origin.maxRetries = bench('retryCircuitBreaker');
  }
  return c;
}

/** A route retry policy: `retryOn` and `numRetries` from the workload, Envoy's defaults otherwise. */
export function retryPolicy({ retryOn, numRetries }) {
  const p = retryPolicyDefaults(retryOn);
  p.numRetries = numRetries;
  p.origin.retryOn = bench('workload.retry.retryOn');
  p.origin.numRetries = bench('workload.retry.numRetries');
  return p;
}

function route(name, prefix, clusterName, retry) {
  return {
    name,
    match: { path: { kind: 'prefix', value: prefix, segmentAware: false } },
    action: { kind: 'forward', clusters: [{ cluster: clusterName, weight: 1 }] },
    ...(retry ? { retry } : {}),
    origin: {},
  };
}

/**
 * One virtual host `*` with ordered routes: the catch-all route `all` (prefix `/`) to `clusterName`,
 * or, with `routes` (names from routeName), one prefix route `/<name>/` per cluster of that name.
 */
export function listener(name, address, port, clusterName, { retry, routes } = {}) {
  const l = listenerDefaults(name, address, port);
  l.virtualHosts = [
    {
      name: 'bench',
      domains: ['*'],
      routeOrder: 'ordered',
      routes: routes ? routes.map((r) => route(r, `/${r}/`, r, retry)) : [route('all', '/', clusterName, retry)],
      origin: {},
    },
  ];
  return l;
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
 * `routes` (a count, routes-1000) makes that many prefix routes, each to its own cluster
 * (names from routeName, all pointing at the backend).
 */
export function benchIr({ listenPort, backend, protocol, retry, routes }) {
  const names = routes ? Array.from({ length: routes }, (_, i) => routeName(i)) : ['backend'];
  const clusterOpts = retry ? { maxRetries: RETRY_WORKLOAD_MAX_RETRIES } : {};
  return {
    version: 'bench-1',
    listeners: [
      listener('bench', '127.0.0.1', listenPort, 'backend', {
        retry: retry ? retryPolicy(retry) : undefined,
        routes: routes ? names : undefined,
      }),
    ],
    clusters: names.map((n) => cluster(n, protocol, backend.host, backend.port, clusterOpts)),
  };
}
