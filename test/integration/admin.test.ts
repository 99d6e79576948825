/**
 * The admin API against a real proxy and real backends: every endpoint and format, and counters
 * that match what the traffic did (retries, a per-status count, outlier ejection, circuit-breaker
 * gauges, histograms).
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { Proxy } from '../../src/dataplane/proxy.js';
import { AdminServer } from '../../src/admin/admin-server.js';
import type { ConfigState } from '../../src/admin/admin-context.js';
import { outlierDetectionDefaults } from '../../src/ir/index.js';
import { config, cluster, route } from '../helpers/ir.js';
import { h1Backend, h1Request } from '../helpers/backends.js';
import { retryPolicy, scriptedBackend } from '../helpers/retry.js';
import { parsePrometheus, sampleValue } from '../helpers/prometheus.js';

const be = await scriptedBackend();
// The outlier cluster: `bad` always answers 503, `good` 200.
const bad = await h1Backend((_req, res) => {
  res.writeHead(503);
  res.end('bad');
});
const good = await h1Backend((_req, res) => res.end('good'));

const cfg = config(
  [
    route('healthz', {
      match: { path: { kind: 'exact', value: '/healthz' } },
      action: { kind: 'direct', response: { status: 200, body: 'ok' } },
    }),
    route('retry', {
      match: { path: { kind: 'prefix', value: '/retry', segmentAware: true } },
      retry: retryPolicy({ retryOn: ['5xx'], numRetries: 2, backoff: { baseIntervalMs: 1, maxIntervalMs: 2 } }),
    }),
    route('od', { match: { path: { kind: 'prefix', value: '/od', segmentAware: true } }, cluster: 'od' }),
    route('all'),
  ],
  [
    cluster('backend', [be.port], { protocol: 'http1' }),
    cluster('od', [bad.port, good.port], {
      protocol: 'http1',
      outlierDetection: { ...outlierDetectionDefaults(), consecutive5xx: 2, maxEjectionPercent: 50 },
    }),
  ],
  { listener: { origin: { port: { kind: 'manifest', object: 'Gateway/default/eg', field: 'spec.listeners[0].port' } } } },
);
const proxy = await Proxy.start(cfg);
const port = proxy.port('main');
const state: ConfigState = {
  version: 'v7',
  loadedAt: Date.UTC(2026, 0, 2, 3, 4, 5),
  diagnostics: [{ severity: 'warning', code: 'E_TEST', message: 'something to look at', object: 'HTTPRoute/default/r' }],
  status: [{ kind: 'HTTPRoute', name: 'r', conditions: [{ type: 'Accepted', status: 'True' }] }],
  policyStatus: [],
  sources: ['manifests/'],
};
const admin = new AdminServer({ sources: { proxy, configState: () => state }, port: 0, version: 'test-version' });
await admin.start();
after(async () => {
  await admin.close();
  await proxy.close();
  await Promise.all([be.close(), bad.close(), good.close()]);
});

async function get(path: string, method = 'GET'): Promise<{ status: number; type: string; body: string }> {
  const res = await fetch(admin.url + path, { method });
  return { status: res.status, type: res.headers.get('content-type') ?? '', body: await res.text() };
}
const getJson = async (path: string) => JSON.parse((await get(path)).body) as Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any
const reset = async () => assert.equal((await get('/reset_counters', 'POST')).body, 'OK\n');

/** `/stats` text as a name -> value map (counters and gauges). */
async function statsMap(filter?: string): Promise<Map<string, number>> {
  const body = (await get(`/stats${filter ? `?filter=${encodeURIComponent(filter)}` : ''}`)).body;
  const m = new Map<string, number>();
  for (const line of body.split('\n')) {
    const i = line.lastIndexOf(': ');
    if (i > 0 && /^-?[0-9.]+$/.test(line.slice(i + 2))) m.set(line.slice(0, i), Number(line.slice(i + 2)));
  }
  return m;
}

test('binds 127.0.0.1; /ready is LIVE; / lists the endpoints; unknown paths 404; mutations need POST', async () => {
  assert.equal(admin.address, '127.0.0.1');
  const r = await get('/ready');
  assert.deepEqual([r.status, r.body], [200, 'LIVE\n']);
  const help = (await get('/')).body;
  for (const p of ['/config_dump', '/clusters', '/listeners', '/routes', '/stats', '/stats/prometheus', '/reset_counters', '/drain'])
    assert.ok(help.includes(p), p);
  assert.equal((await get('/nope')).status, 404);
  assert.equal((await get('/reset_counters')).status, 405);
  assert.equal((await get('/drain')).status, 405);
  assert.equal(proxy.state, 'LIVE', 'a GET never drains');
});

test('retries: cluster, retry. and route counters, per-code stats and host counters match the traffic', async () => {
  await reset();
  // Each request fails once with 503, then succeeds.
  be.script = (n, _req, res) => {
    res.writeHead(n === 1 ? 503 : 200);
    res.end(n === 1 ? 'try again' : 'ok');
  };
  for (let i = 0; i < 3; i++) assert.equal((await h1Request(port, { path: '/retry', headers: { 'x-key': `r${i}` } })).status, 200);
  // One plain request that the backend fails: not retried (route `all` has no policy).
  be.script = (_n, _req, res) => {
    res.writeHead(500);
    res.end();
  };
  assert.equal((await h1Request(port, { path: '/plain', headers: { 'x-key': 'p' } })).status, 500);

  const s = await statsMap('^(cluster\\.backend\\.|vhost\\.default\\.route\\.retry\\.)');
  assert.equal(s.get('cluster.backend.upstream_rq_retry'), 3);
  assert.equal(s.get('cluster.backend.upstream_rq_retry_success'), 3);
  assert.equal(s.get('cluster.backend.upstream_rq_retry_limit_exceeded'), 0);
  assert.equal(s.get('cluster.backend.upstream_rq_total'), 7, 'attempts: 3 x 2 + 1');
  assert.equal(s.get('cluster.backend.upstream_rq_200'), 3);
  assert.equal(s.get('cluster.backend.upstream_rq_500'), 1);
  assert.equal(s.get('cluster.backend.upstream_rq_503'), undefined, 'a retried 503 is not a response sent on');
  assert.equal(s.get('cluster.backend.upstream_rq_2xx'), 3);
  assert.equal(s.get('cluster.backend.upstream_rq_5xx'), 1);
  assert.equal(s.get('cluster.backend.upstream_rq_completed'), 4);
  assert.equal(s.get('cluster.backend.retry.upstream_rq_503'), 3);
  assert.equal(s.get('cluster.backend.retry.upstream_rq_5xx'), 3);
  assert.equal(s.get('vhost.default.route.retry.upstream_rq_total'), 3);
  assert.equal(s.get('vhost.default.route.retry.upstream_rq_retry'), 3);
  assert.equal(s.get('vhost.default.route.retry.upstream_rq_retry_success'), 3);
  assert.equal(s.get('vhost.default.route.retry.upstream_rq_200'), 3);

  // /clusters: Envoy's `cluster::host::stat::value` lines.
  const lines = (await get('/clusters')).body.split('\n');
  const host = `backend::127.0.0.1:${be.port}`;
  assert.ok(lines.includes(`${host}::rq_total::7`), lines.filter((l) => l.startsWith(host)).join('\n'));
  assert.ok(lines.includes(`${host}::rq_success::3`));
  assert.ok(lines.includes(`${host}::rq_error::4`), 'each retried 503 and the 500 are host errors');
  assert.ok(lines.includes(`${host}::health_flags::healthy`));
  assert.ok(lines.includes('backend::observability_name::backend'));
  assert.ok(lines.includes('backend::default_priority::max_retries::3'));

  // ?format=json: ClusterStatuses, uint64 values as strings.
  const j = await getJson('/clusters?format=json');
  const backend = j.cluster_statuses.find((c: { name: string }) => c.name === 'backend');
  const hs = backend.host_statuses[0];
  assert.deepEqual(hs.address, { socket_address: { address: '127.0.0.1', port_value: be.port } });
  assert.deepEqual(
    hs.stats.find((x: { name: string }) => x.name === 'rq_total'),
    { name: 'rq_total', value: '7' },
  );
  assert.deepEqual(
    hs.stats.find((x: { name: string }) => x.name === 'rq_active'),
    { type: 'GAUGE', name: 'rq_active', value: '0' },
  );
  assert.equal(hs.health_status.eds_health_status, 'HEALTHY');
  assert.deepEqual(backend.circuit_breakers.thresholds[0], {
    max_connections: 1024,
    max_pending_requests: 1024,
    max_requests: 1024,
    max_retries: 3,
  });
});

test('outlier ejection shows in /clusters health flags, outlier_detection.* stats and Prometheus', async () => {
  await reset();
  // Round robin over bad and good: 4 requests give `bad` its 2 consecutive 503s.
  const statuses: number[] = [];
  for (let i = 0; i < 4; i++) statuses.push((await h1Request(port, { path: '/od' })).status);
  assert.deepEqual(statuses.filter((s) => s === 503).length, 2);
  const lines = (await get('/clusters')).body.split('\n');
  assert.ok(lines.includes(`od::127.0.0.1:${bad.port}::health_flags::/failed_outlier_check`), lines.join('\n'));
  assert.ok(lines.includes(`od::127.0.0.1:${good.port}::health_flags::healthy`));
  assert.ok(lines.includes('od::outlier::success_rate_average::-1'));
  const s = await statsMap('^cluster\\.od\\.');
  assert.equal(s.get('cluster.od.outlier_detection.ejections_active'), 1);
  assert.equal(s.get('cluster.od.outlier_detection.ejections_enforced_consecutive_5xx'), 1);
  assert.equal(s.get('cluster.od.outlier_detection.ejections_detected_consecutive_5xx'), 1);
  assert.equal(s.get('cluster.od.membership_healthy'), 1);
  assert.equal(s.get('cluster.od.membership_total'), 2);
  const fams = parsePrometheus((await get('/stats/prometheus')).body);
  assert.equal(sampleValue(fams, 'envoy_cluster_outlier_detection_ejections_active', { envoy_cluster_name: 'od' }), 1);
  const j = await getJson('/clusters?format=json');
  const od = j.cluster_statuses.find((c: { name: string }) => c.name === 'od');
  const badHost = od.host_statuses.find(
    (h: { address: { socket_address: { port_value: number } } }) => h.address.socket_address.port_value === bad.port,
  );
  assert.equal(badHost.health_status.failed_outlier_check, true);
  assert.equal(badHost.health_flags, '/failed_outlier_check');
});

test('/stats: filter, usedonly, type, JSON, histograms as quantiles; a bad regex is a 400', async () => {
  await reset();
  be.script = (_n, _req, res) => res.end('ok');
  for (let i = 0; i < 4; i++) await h1Request(port, { path: '/x' });
  await h1Request(port, { path: '/healthz' });

  const filtered = (await get('/stats?filter=upstream_rq_retry$')).body.trim().split('\n');
  assert.ok(filtered.length >= 3);
  assert.ok(
    filtered.every((l) => /upstream_rq_retry: \d+$/.test(l)),
    filtered.join('\n'),
  );

  const used = (await get('/stats?usedonly&filter=^http\\.main\\.')).body;
  assert.match(used, /^http\.main\.downstream_rq_2xx: 5$/m);
  assert.match(used, /^http\.main\.rq_direct_response: 1$/m);
  assert.doesNotMatch(used, /downstream_rq_5xx/, 'unused (zero) stats are left out');

  const text = (await get('/stats?filter=^cluster\\.backend\\.upstream_rq_time$')).body;
  assert.match(
    text,
    /^cluster\.backend\.upstream_rq_time: P0\(nan,[0-9.e-]+\) P25\(nan,[0-9.e-]+\) P50\(nan,[0-9.e-]+\) .* P100\(nan,[0-9.e-]+\)\n$/,
  );
  assert.match((await get('/stats?filter=^cluster\\.od\\.upstream_rq_time$')).body, /^cluster\.od\.upstream_rq_time: /);

  const onlyHist = (await get('/stats?type=Histograms')).body.trim().split('\n');
  assert.ok(onlyHist.every((l) => / P0\(|No recorded values/.test(l)));

  const j = await getJson('/stats?format=json&filter=^http\\.main\\.(downstream_rq_total|downstream_rq_time)$');
  assert.deepEqual(j.stats[0], { name: 'http.main.downstream_rq_total', value: 5 });
  const h = j.stats[1].histograms;
  assert.deepEqual(h.supported_quantiles, [0, 25, 50, 75, 90, 95, 99, 99.5, 99.9, 100]);
  assert.equal(h.computed_quantiles[0].name, 'http.main.downstream_rq_time');
  assert.equal(h.computed_quantiles[0].values.length, 10);

  const badRegex = await get('/stats?filter=(');
  assert.equal(badRegex.status, 400);
  assert.equal((await get('/stats?type=Nope')).status, 400);
});

test('/stats/prometheus parses, has TYPE lines, Envoy-style names and labels, histogram buckets', async () => {
  await reset();
  be.script = (_n, _req, res) => res.end('ok');
  for (let i = 0; i < 3; i++) await h1Request(port, { path: '/y' });
  const r = await get('/stats/prometheus');
  assert.equal(r.status, 200);
  assert.match(r.type, /^text\/plain; version=0\.0\.4/);
  const fams = parsePrometheus(r.body);
  assert.equal(fams.get('envoy_cluster_upstream_rq_retry')?.type, 'counter');
  assert.equal(fams.get('envoy_cluster_upstream_rq_active')?.type, 'gauge');
  assert.equal(fams.get('envoy_cluster_upstream_rq_time')?.type, 'histogram');
  assert.equal(fams.get('envoy_http_downstream_rq_time')?.type, 'histogram');
  assert.equal(sampleValue(fams, 'envoy_cluster_upstream_rq', { envoy_response_code: '200', envoy_cluster_name: 'backend' }), 3);
  assert.equal(sampleValue(fams, 'envoy_cluster_upstream_rq_xx', { envoy_response_code_class: '2', envoy_cluster_name: 'backend' }), 3);
  assert.equal(
    sampleValue(fams, 'envoy_http_downstream_rq_xx', { envoy_response_code_class: '2', envoy_http_conn_manager_prefix: 'main' }),
    3,
  );
  assert.equal(
    sampleValue(fams, 'envoy_listener_http_downstream_rq_xx', {
      envoy_response_code_class: '2',
      envoy_http_conn_manager_prefix: 'main',
      envoy_listener_address: `127.0.0.1_${port}`,
    }),
    3,
  );
  assert.equal(sampleValue(fams, 'envoy_vhost_route_upstream_rq_total', { envoy_virtual_host: 'default', envoy_route: 'all' }), 3);
  assert.equal(sampleValue(fams, 'envoy_cluster_circuit_breakers_default_remaining_rq', { envoy_cluster_name: 'backend' }), 1024);
  assert.equal(sampleValue(fams, 'envoy_server_live'), 1);
  // Histograms were not reset by /reset_counters: earlier traffic is still in them.
  const count = sampleValue(fams, 'envoy_cluster_upstream_rq_time_count', { envoy_cluster_name: 'backend' })!;
  assert.ok(count >= 3);
  assert.equal(sampleValue(fams, 'envoy_cluster_upstream_rq_time_bucket', { envoy_cluster_name: 'backend', le: '+Inf' }), count);
  assert.ok(sampleValue(fams, 'envoy_cluster_upstream_rq_time_sum', { envoy_cluster_name: 'backend' })! >= 0);
  const filtered = parsePrometheus((await get('/stats/prometheus?filter=^server\\.')).body);
  assert.deepEqual(
    [...filtered.keys()].every((k) => k.startsWith('envoy_server_')),
    true,
  );
});

test('/reset_counters zeroes counters (host counters too) and keeps gauges', async () => {
  be.script = (_n, _req, res) => res.end('ok');
  await h1Request(port, { path: '/z' });
  let s = await statsMap('^cluster\\.backend\\.(upstream_rq_total|membership_total)$|^server\\.live$');
  assert.ok(s.get('cluster.backend.upstream_rq_total')! > 0);
  await reset();
  s = await statsMap('^cluster\\.backend\\.(upstream_rq_total|membership_total)$|^server\\.live$');
  assert.equal(s.get('cluster.backend.upstream_rq_total'), 0);
  assert.equal(s.get('cluster.backend.membership_total'), 1, 'gauge kept');
  assert.equal(s.get('server.live'), 1);
  assert.ok((await get('/clusters')).body.includes(`backend::127.0.0.1:${be.port}::rq_total::0`));
});

test('/config_dump: the IR with origins, version and load time, diagnostics and status; ?resource=', async () => {
  const j = await getJson('/config_dump');
  const types = j.configs.map((c: Record<string, string>) => c['@type']);
  assert.deepEqual(types, [
    'type.legate.dev/legate.admin.v1.BootstrapConfigDump',
    'type.legate.dev/legate.admin.v1.ListenersConfigDump',
    'type.legate.dev/legate.admin.v1.ClustersConfigDump',
    'type.legate.dev/legate.admin.v1.ControlPlaneStatus',
  ]);
  const [boot, listeners, clusters, status] = j.configs;
  assert.equal(boot.legate_version, 'test-version');
  assert.equal(boot.server_state, 'LIVE');
  assert.equal(boot.admin.address, `127.0.0.1:${admin.port}`);
  assert.equal(listeners.version_info, 'v7');
  assert.equal(listeners.last_updated, '2026-01-02T03:04:05.000Z');
  assert.equal(listeners.listeners[0].name, 'main');
  assert.equal(listeners.listeners[0].bound_port, port);
  assert.deepEqual(listeners.listeners[0].origin.port, { kind: 'manifest', object: 'Gateway/default/eg', field: 'spec.listeners[0].port' });
  assert.deepEqual(
    clusters.clusters.map((c: { name: string }) => c.name),
    ['backend', 'od'],
  );
  assert.deepEqual(clusters.clusters[0].circuitBreakers.origin.maxRetries, {
    kind: 'default',
    dialect: 'envoy',
    name: 'ENVOY.MAX_RETRIES',
  });
  assert.equal(status.diagnostics[0].code, 'E_TEST');
  assert.equal(status.status[0].kind, 'HTTPRoute');
  assert.deepEqual(status.sources, ['manifests/']);

  const only = await getJson('/config_dump?resource=clusters');
  assert.equal(only.configs.length, 1);
  assert.equal(only.configs[0]['@type'], 'type.legate.dev/legate.admin.v1.ClustersConfigDump');
  assert.equal((await get('/config_dump?resource=secrets')).status, 400);
});

test('/config_dump without a control plane shows the IR version and the apply time', async () => {
  const plain = new AdminServer({ sources: { proxy }, port: 0 });
  await plain.start();
  try {
    const j = JSON.parse(await (await fetch(`${plain.url}/config_dump?resource=listeners`)).text());
    assert.equal(j.configs[0].version_info, 'test');
    assert.equal(j.configs[0].last_updated, new Date(proxy.appliedAt!).toISOString());
  } finally {
    await plain.close();
  }
});

test('/listeners and /routes', async () => {
  assert.equal((await get('/listeners')).body, `main::127.0.0.1:${port}\n`);
  const l = await getJson('/listeners?format=json');
  assert.deepEqual(l.listener_statuses[0].local_address, { socket_address: { address: '127.0.0.1', port_value: port } });
  assert.equal(l.listener_statuses[0].accepting, true);

  const r = await getJson('/routes');
  const vh = r.route_configs[0].virtual_hosts[0];
  assert.equal(r.route_configs[0].name, 'main');
  assert.deepEqual(
    vh.routes.map((x: { name: string }) => x.name),
    ['healthz', 'retry', 'od', 'all'],
  );
  assert.equal(vh.routes[0].match, 'exact /healthz');
  assert.equal(vh.routes[0].destination, 'direct 200');
  assert.equal(vh.routes[1].destination, 'backend');
  assert.deepEqual(vh.routes[1].retry.retryOn, ['5xx']);
  assert.equal(typeof vh.routes[1].stats.upstream_rq_total, 'number');
  assert.equal((await get('/routes?format=text')).body.split('\n')[2], 'main::default::od::prefix /od::od');
});
