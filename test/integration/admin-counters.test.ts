/**
 * Counters the admin API shows after overflow, timeouts, faults, unmatched routes and failing
 * active health checks, read through /stats, /clusters and /stats/prometheus.
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { Proxy } from '../../src/dataplane/proxy.js';
import { AdminServer } from '../../src/admin/admin-server.js';
import type * as ir from '../../src/ir/index.js';
import { config, cluster, route } from '../helpers/ir.js';
import { h1Backend, h1Request } from '../helpers/backends.js';
import { parsePrometheus, sampleValue } from '../helpers/prometheus.js';

// /slow answers after 200 ms; /healthz fails (503); anything else answers at once.
const be = await h1Backend((req, res) => {
  if (req.url === '/healthz') {
    res.writeHead(503);
    res.end();
  } else if (req.url?.startsWith('/slow')) setTimeout(() => res.end('slow'), 200);
  else res.end('ok');
});

// Answers and closes the connection, so each request opens a connection that then ends.
const closing = await h1Backend((_req, res) => {
  res.writeHead(200, { connection: 'close' });
  res.end('bye');
});

const hc: ir.HealthCheck = {
  kind: 'http',
  intervalMs: 30,
  timeoutMs: 1000,
  healthyThreshold: 1,
  unhealthyThreshold: 1,
  noTrafficIntervalMs: 30,
  http: { path: '/healthz', expectedStatuses: [[200, 201]] },
  origin: {},
};
const limited = cluster('limited', [be.port], { protocol: 'http1' });
limited.circuitBreakers = { ...limited.circuitBreakers, maxConnections: 1, maxPendingRequests: 1 };

const proxy = await Proxy.start(
  config(
    [
      route('timeout', {
        match: { path: { kind: 'prefix', value: '/slow-timeout', segmentAware: false } },
        timeout: { requestMs: 50, origin: {} },
        cluster: 'backend',
      }),
      route('limited', { match: { path: { kind: 'prefix', value: '/slow', segmentAware: false } }, cluster: 'limited' }),
      route('fault', {
        match: { path: { kind: 'prefix', value: '/fault', segmentAware: true } },
        fault: { abort: { httpStatus: 418, percent: { numerator: 100, denominator: 100 } }, scope: 'request', origin: {} },
      }),
      route('checked', { match: { path: { kind: 'prefix', value: '/checked', segmentAware: true } }, cluster: 'checked' }),
      route('closing', { match: { path: { kind: 'prefix', value: '/closing', segmentAware: true } }, cluster: 'closing' }),
      route('all', { match: { path: { kind: 'prefix', value: '/ok', segmentAware: true } } }),
    ],
    [
      cluster('backend', [be.port], { protocol: 'http1' }),
      limited,
      cluster('closing', [closing.port], { protocol: 'http1' }),
      // No panic routing: with its only host failing checks, the cluster has no healthy upstream.
      cluster('checked', [be.port], { protocol: 'http1', healthChecks: [hc], healthyPanicThreshold: 0 }),
    ],
  ),
);
const port = proxy.port('main');
const admin = new AdminServer({ sources: { proxy }, port: 0 });
await admin.start();
after(async () => {
  await admin.close();
  await proxy.close(100);
  await Promise.all([be.close(), closing.close()]);
});

async function stats(filter: string): Promise<Map<string, number>> {
  const body = await (await fetch(`${admin.url}/stats?filter=${encodeURIComponent(filter)}`)).text();
  return new Map(
    body
      .trim()
      .split('\n')
      .filter((l) => /: -?\d+$/.test(l))
      .map((l) => [l.slice(0, l.lastIndexOf(': ')), Number(l.slice(l.lastIndexOf(': ') + 2))]),
  );
}

test('circuit-breaker overflow: pending overflow, the 503 charged to the cluster, breaker gauges', async () => {
  // Warm one connection; then 3 at once: one served, one pending, one over the pending limit.
  assert.equal((await h1Request(port, { path: '/slow' })).status, 200);
  const results = await Promise.all([0, 1, 2].map(() => h1Request(port, { path: '/slow' })));
  assert.deepEqual(results.map((r) => r.status).sort(), [200, 200, 503]);
  const s = await stats('^cluster\\.limited\\.');
  assert.equal(s.get('cluster.limited.upstream_rq_pending_overflow'), 1);
  assert.equal(s.get('cluster.limited.upstream_rq_503'), 1, 'the overflow reply is charged as the cluster 503');
  assert.equal(s.get('cluster.limited.upstream_rq_200'), 3);
  // At rest: the one allowed connection is open, so the connection breaker is at its limit.
  assert.equal(s.get('cluster.limited.circuit_breakers.default.cx_open'), 1);
  assert.equal(s.get('cluster.limited.circuit_breakers.default.remaining_cx'), 0);
  assert.equal(s.get('cluster.limited.circuit_breakers.default.rq_pending_open'), 0);
  assert.equal(s.get('cluster.limited.circuit_breakers.default.remaining_pending'), 1);
  assert.equal(s.get('cluster.limited.circuit_breakers.default.remaining_retries'), 3);
  const route = await stats('^vhost\\.default\\.route\\.limited\\.');
  assert.equal(route.get('vhost.default.route.limited.upstream_rq_total'), 4);
  assert.equal(route.get('vhost.default.route.limited.upstream_rq_503'), 1);
});

test('a route timeout: 504 charged to cluster and route, upstream_rq_timeout on both', async () => {
  const r = await h1Request(port, { path: '/slow-timeout' });
  assert.equal(r.status, 504);
  const s = await stats('^(cluster\\.backend|vhost\\.default\\.route\\.timeout)\\.upstream_rq_(timeout|504)$');
  assert.deepEqual(Object.fromEntries(s), {
    'cluster.backend.upstream_rq_504': 1,
    'cluster.backend.upstream_rq_timeout': 1,
    'vhost.default.route.timeout.upstream_rq_504': 1,
    'vhost.default.route.timeout.upstream_rq_timeout': 1,
  });
  const reset = await stats('^cluster\\.backend\\.upstream_rq_(tx|rx)_reset$');
  assert.deepEqual(Object.fromEntries(reset), { 'cluster.backend.upstream_rq_rx_reset': 0, 'cluster.backend.upstream_rq_tx_reset': 1 });
});

test('fault abort, no route: http.<listener>.fault.* and no_route; the downstream code classes', async () => {
  assert.equal((await h1Request(port, { path: '/fault' })).status, 418);
  assert.equal((await h1Request(port, { path: '/nowhere' })).status, 404);
  const s = await stats('^http\\.main\\.(fault\\.aborts_injected|no_route|downstream_rq_4xx)$');
  assert.equal(s.get('http.main.fault.aborts_injected'), 1);
  assert.equal(s.get('http.main.no_route'), 1);
  assert.equal(s.get('http.main.downstream_rq_4xx'), 2);
  const fams = parsePrometheus(await (await fetch(`${admin.url}/stats/prometheus`)).text());
  assert.equal(sampleValue(fams, 'envoy_http_fault_aborts_injected', { envoy_http_conn_manager_prefix: 'main' }), 1);
  assert.equal(sampleValue(fams, 'envoy_http_no_route', { envoy_http_conn_manager_prefix: 'main' }), 1);
});

test('a failing active health check: /failed_active_hc in /clusters, health_check.* stats, no_healthy_upstream counted', async () => {
  const c = proxy.cluster('checked')!;
  const end = Date.now() + 3000;
  while (c.healthChecker!.stats.failure < 1 && Date.now() < end) await new Promise((r) => setTimeout(r, 10));
  const lines = (await (await fetch(`${admin.url}/clusters`)).text()).split('\n');
  assert.ok(lines.includes(`checked::127.0.0.1:${be.port}::health_flags::/failed_active_hc`), lines.join('\n'));
  assert.equal((await h1Request(port, { path: '/checked' })).status, 503);
  const s = await stats('^cluster\\.checked\\.');
  assert.ok(s.get('cluster.checked.health_check.attempt')! >= 1);
  assert.ok(s.get('cluster.checked.health_check.failure')! >= 1);
  assert.equal(s.get('cluster.checked.health_check.healthy'), 0);
  assert.equal(s.get('cluster.checked.upstream_cx_none_healthy'), 1);
  assert.equal(s.get('cluster.checked.membership_healthy'), 0);
});

test('downstream counters: totals, connection counts and request time per listener', async () => {
  const s = await stats(
    '^(http\\.main|listener\\.127\\.0\\.0\\.1_\\d+)\\.downstream_(rq_total|rq_active|cx_total|cx_destroy|rq_completed)$',
  );
  assert.ok(s.get('http.main.downstream_rq_total')! >= 8);
  assert.equal(s.get('http.main.downstream_rq_active'), 0);
  assert.equal(s.get('http.main.downstream_rq_completed'), s.get('http.main.downstream_rq_total'));
  assert.equal(s.get(`listener.127.0.0.1_${port}.downstream_cx_total`), s.get('http.main.downstream_cx_total'));
  const fams = parsePrometheus(await (await fetch(`${admin.url}/stats/prometheus?filter=downstream_rq_time`)).text());
  assert.equal(
    sampleValue(fams, 'envoy_http_downstream_rq_time_count', { envoy_http_conn_manager_prefix: 'main' }),
    s.get('http.main.downstream_rq_completed'),
  );
});

test('upstream_cx_connect_ms and upstream_cx_length_ms: one value per connection, in /stats/prometheus', async () => {
  const prom = async (filter: string) =>
    parsePrometheus(await (await fetch(`${admin.url}/stats/prometheus?filter=${encodeURIComponent(filter)}`)).text());
  const value = (fams: Awaited<ReturnType<typeof prom>>, name: string, labels: Record<string, string>) => {
    const v = sampleValue(fams, name, labels);
    assert.notEqual(v, undefined, `${name} ${JSON.stringify(labels)}`);
    return v!;
  };
  for (let i = 0; i < 3; i++) assert.equal((await h1Request(port, { path: '/closing' })).status, 200);
  const tag = { envoy_cluster_name: 'closing' };
  // The length is recorded once the connection has closed, a moment after the response.
  let fams = await prom('^cluster\\.closing\\.upstream_cx');
  for (let i = 0; i < 200 && value(fams, 'envoy_cluster_upstream_cx_length_ms_count', tag) < 3; i++) {
    await new Promise((r) => setTimeout(r, 10));
    fams = await prom('^cluster\\.closing\\.upstream_cx');
  }
  assert.equal(value(fams, 'envoy_cluster_upstream_cx_total', tag), 3);
  assert.equal(value(fams, 'envoy_cluster_upstream_cx_connect_ms_count', tag), 3);
  assert.equal(value(fams, 'envoy_cluster_upstream_cx_length_ms_count', tag), 3);
  assert.equal(fams.get('envoy_cluster_upstream_cx_connect_ms')!.type, 'histogram');
  assert.equal(value(fams, 'envoy_cluster_upstream_cx_connect_ms_bucket', { ...tag, le: '+Inf' }), 3);
  const connect = value(fams, 'envoy_cluster_upstream_cx_connect_ms_sum', tag);
  const length = value(fams, 'envoy_cluster_upstream_cx_length_ms_sum', tag);
  assert.ok(connect > 0 && length > connect, `connect ${connect} ms, length ${length} ms`);

  // A kept-alive connection has connected and not ended.
  assert.equal((await h1Request(port, { path: '/ok' })).status, 200);
  const kept = await prom('^cluster\\.backend\\.upstream_cx');
  const b = { envoy_cluster_name: 'backend' };
  const total = value(kept, 'envoy_cluster_upstream_cx_total', b);
  assert.equal(value(kept, 'envoy_cluster_upstream_cx_connect_ms_count', b), total);
  assert.ok(value(kept, 'envoy_cluster_upstream_cx_length_ms_count', b) < total);
});
