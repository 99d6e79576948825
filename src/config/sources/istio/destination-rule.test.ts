import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Diagnostics } from '../../model.js';
import { parseManifestText } from '../../load/load-manifests.js';
import { KubernetesEndpoints } from '../kubernetes/endpoint-resolver.js';
import { DestinationRules, effectivePolicy } from './destination-rule.js';
import { ServiceRegistry } from './registry.js';
import { cluster, codes, destinationRule, errors, run, service, virtualService, yamlOf, type Manifest } from './test-support.js';

const UNLIMITED = 4_294_967_295;
const HOST = 'reviews.default.svc.cluster.local';

/** The cluster for `reviews` (ports 9080 http, 9090 grpc) on `port` and `subset`, under DestinationRule `spec`. */
function clusterUnder(spec: Record<string, unknown> | undefined, opts: { port?: number; subset?: string } = {}) {
  const port = opts.port ?? 9080;
  const objects: Manifest[] = [
    service('reviews', ['http:9080', 'grpc:9090']),
    virtualService('reviews', {
      hosts: ['reviews'],
      http: [{ route: [{ destination: { host: 'reviews', port: { number: port }, ...(opts.subset ? { subset: opts.subset } : {}) } }] }],
    }),
  ];
  if (spec) objects.push(destinationRule('reviews', { host: 'reviews', ...spec }));
  const r = run(objects);
  return { r, c: cluster(r, `outbound|${port}|${opts.subset ?? ''}|${HOST}`) };
}

type Rejected = { name: string; spec: Record<string, unknown>; field: string; message: string };
const tp = (trafficPolicy: Record<string, unknown>) => ({ trafficPolicy });
const cp = (connectionPool: Record<string, unknown>) => tp({ connectionPool });
const loc = (localityLbSetting: Record<string, unknown>) =>
  tp({ loadBalancer: { localityLbSetting }, outlierDetection: { consecutive5xxErrors: 1 } });
const P = 'spec.trafficPolicy';

// DestinationRule webhook rules (config-apis.md 3.7, 3.9, 6 #23): each rejects the rule.
const rejected: Rejected[] = [
  {
    name: 'duplicate subset names',
    spec: {
      subsets: [
        { name: 'v1', labels: { v: '1' } },
        { name: 'v1', labels: { v: '2' } },
      ],
    },
    field: 'spec.subsets[1].name',
    message: 'duplicate subset names: v1',
  },
  {
    name: 'negative maxConnections',
    spec: cp({ tcp: { maxConnections: -1 } }),
    field: `${P}.connectionPool.tcp.maxConnections`,
    message: 'max connections must be non-negative',
  },
  {
    name: 'negative http1MaxPendingRequests',
    spec: cp({ http: { http1MaxPendingRequests: -1 } }),
    field: `${P}.connectionPool.http.http1MaxPendingRequests`,
    message: 'http1 max pending requests must be non-negative',
  },
  {
    name: 'negative http2MaxRequests',
    spec: cp({ http: { http2MaxRequests: -5 } }),
    field: `${P}.connectionPool.http.http2MaxRequests`,
    message: 'http2 max requests must be non-negative',
  },
  {
    name: 'negative maxRequestsPerConnection',
    spec: cp({ http: { maxRequestsPerConnection: -1 } }),
    field: `${P}.connectionPool.http.maxRequestsPerConnection`,
    message: 'max requests per connection must be non-negative',
  },
  {
    name: 'negative maxRetries',
    spec: cp({ http: { maxRetries: -1 } }),
    field: `${P}.connectionPool.http.maxRetries`,
    message: 'max retries must be non-negative',
  },
  {
    name: 'negative maxConcurrentStreams',
    spec: cp({ http: { maxConcurrentStreams: -1 } }),
    field: `${P}.connectionPool.http.maxConcurrentStreams`,
    message: 'max concurrent streams must be non-negative',
  },
  {
    name: 'useClientProtocol with UPGRADE',
    spec: cp({ http: { useClientProtocol: true, h2UpgradePolicy: 'UPGRADE' } }),
    field: `${P}.connectionPool.http.useClientProtocol`,
    message: 'use client protocol must not be true when H2UpgradePolicy is UPGRADE',
  },
  { name: 'an empty connection pool', spec: cp({}), field: `${P}.connectionPool`, message: 'connection pool must have at least one field' },
  { name: 'an empty traffic policy', spec: tp({}), field: P, message: 'traffic policy must have at least one field' },
  {
    name: 'an empty subset traffic policy',
    spec: { subsets: [{ name: 'v1', trafficPolicy: {} }] },
    field: 'spec.subsets[0].trafficPolicy',
    message: 'traffic policy must have at least one field',
  },
  {
    name: 'connectTimeout 0s',
    spec: cp({ tcp: { connectTimeout: '0s' } }),
    field: `${P}.connectionPool.tcp.connectTimeout`,
    message: 'duration must be greater than 1ms',
  },
  {
    name: 'http.idleTimeout 0s (only tcp.idleTimeout may be 0s)',
    spec: cp({ http: { idleTimeout: '0s' } }),
    field: `${P}.connectionPool.http.idleTimeout`,
    message: 'duration must be greater than 1ms',
  },
  {
    name: 'tcpKeepalive time with sub-ms precision',
    spec: cp({ tcp: { tcpKeepalive: { time: '1.5ms' } } }),
    field: `${P}.connectionPool.tcp.tcpKeepalive.time`,
    message: 'only durations to ms precision are supported',
  },
  {
    name: 'outlier interval under 1ms',
    spec: tp({ outlierDetection: { interval: '10us' } }),
    field: `${P}.outlierDetection.interval`,
    message: 'duration must be greater than 1ms',
  },
  {
    name: 'maxEjectionPercent over 100',
    spec: tp({ outlierDetection: { maxEjectionPercent: 101 } }),
    field: `${P}.outlierDetection.maxEjectionPercent`,
    message: 'max ejection percent must be in range [0..100]',
  },
  {
    name: 'minHealthPercent negative',
    spec: tp({ outlierDetection: { minHealthPercent: -1 } }),
    field: `${P}.outlierDetection.minHealthPercent`,
    message: 'min health percent must be in range [0..100]',
  },
  {
    name: 'local origin failures without split',
    spec: tp({ outlierDetection: { consecutiveLocalOriginFailures: 3 } }),
    field: `${P}.outlierDetection.consecutiveLocalOriginFailures`,
    message: 'outlier detection consecutive local origin failures is specified, but split external local origin errors is set to false',
  },
  {
    name: 'distribute weights summing to 90',
    spec: loc({ distribute: [{ from: 'r1/*', to: { 'r1/z1/*': 60, 'r1/z2/*': 30 } }] }),
    field: `${P}.loadBalancer.localityLbSetting.distribute[0].to`,
    message: 'total locality weight 90 != 100',
  },
  {
    name: 'distribute weight 0',
    spec: loc({ distribute: [{ from: 'r1/*', to: { 'r1/z1/*': 100, 'r1/z2/*': 0 } }] }),
    field: `${P}.loadBalancer.localityLbSetting.distribute[0].to`,
    message: 'locality weight must be in range [1, 100]',
  },
  {
    name: 'distribute with failover',
    spec: loc({ distribute: [{ from: 'r1/*', to: { 'r1/*': 100 } }], failover: [{ from: 'r1', to: 'r2' }] }),
    field: `${P}.loadBalancer.localityLbSetting`,
    message: "can not simultaneously specify 'distribute' and 'failover'",
  },
  {
    name: 'failover to the same region',
    spec: loc({ failover: [{ from: 'r1', to: 'r1' }] }),
    field: `${P}.loadBalancer.localityLbSetting.failover[0]`,
    message: 'locality lb failover settings must specify different regions',
  },
  {
    name: 'failover naming a zone',
    spec: loc({ failover: [{ from: 'r1/z1', to: 'r2' }] }),
    field: `${P}.loadBalancer.localityLbSetting.failover[0]`,
    message: 'locality lb failover only specify region',
  },
  {
    name: 'a port-level entry without port',
    spec: tp({ portLevelSettings: [{ loadBalancer: { simple: 'RANDOM' } }] }),
    field: `${P}.portLevelSettings[0].port`,
    message: 'portTrafficPolicy must have valid port',
  },
  {
    name: 'an empty port-level entry',
    spec: tp({ portLevelSettings: [{ port: { number: 9080 } }] }),
    field: `${P}.portLevelSettings[0]`,
    message: 'port traffic policy must have at least one field',
  },
  {
    name: 'warmup without duration',
    spec: tp({ loadBalancer: { warmup: { minimumPercent: 10 } } }),
    field: `${P}.loadBalancer.warmup.duration`,
    message: 'duration is required',
  },
  {
    name: 'warmup aggression under 1',
    spec: tp({ loadBalancer: { warmup: { duration: '10s', aggression: 0.5 } } }),
    field: `${P}.loadBalancer.warmup.aggression`,
    message: 'aggression should be greater than or equal to 1',
  },
  {
    name: 'maglev table size not prime',
    spec: tp({ loadBalancer: { consistentHash: { useSourceIp: true, maglev: { tableSize: 1000 } } } }),
    field: `${P}.loadBalancer.consistentHash.maglev.tableSize`,
    message: 'tableSize must be a prime number for maglev',
  },
  {
    name: 'maglev table size too big',
    spec: tp({ loadBalancer: { consistentHash: { useSourceIp: true, maglev: { tableSize: 5_000_011 } } } }),
    field: `${P}.loadBalancer.consistentHash.maglev.tableSize`,
    message: 'tableSize must be less than 5000011 for maglev',
  },
];

for (const c of rejected)
  test(`DestinationRule rejected: ${c.name}`, () => {
    const { r, c: cl } = clusterUnder(c.spec);
    const hit = r.diags.items.find((d) => d.code === 'E_ISTIO_INVALID' && d.field === c.field);
    assert.ok(hit, `no E_ISTIO_INVALID at ${c.field}: ${JSON.stringify(codes(r))}`);
    assert.ok(hit.message.includes(c.message), hit.message);
    assert.match(hit.message, /Istio's webhook rejects this DestinationRule/);
    // The rule is skipped: the cluster has Istio's defaults.
    assert.equal(cl.circuitBreakers.maxConnections, UNLIMITED);
    assert.equal(cl.outlierDetection, undefined);
  });

const accepted: { name: string; spec: Record<string, unknown> }[] = [
  { name: 'tcp.idleTimeout 0s disables', spec: cp({ tcp: { idleTimeout: '0s' } }) },
  {
    name: 'zero pool limits (cannot be expressed, ignored)',
    spec: cp({ tcp: { maxConnections: 0 }, http: { http1MaxPendingRequests: 0 } }),
  },
  {
    name: 'failover and failoverPriority together',
    spec: loc({ failover: [{ from: 'r1', to: 'r2' }], failoverPriority: ['topology.istio.io/network'] }),
  },
  { name: 'distribute summing to 100', spec: loc({ distribute: [{ from: 'r1/*', to: { 'r1/z1/*': 70, 'r1/z2/*': 30 } }] }) },
  {
    name: 'maglev with a prime table',
    spec: tp({ loadBalancer: { consistentHash: { useSourceIp: true, maglev: { tableSize: 65537 } } } }),
  },
  { name: 'only a retry budget', spec: tp({ retryBudget: { percent: { value: 10 } } }) },
];
for (const c of accepted)
  test(`DestinationRule accepted: ${c.name}`, () => {
    assert.deepEqual(errors(clusterUnder(c.spec).r), []);
  });

test('Istio cluster defaults without a DestinationRule: breakers 2^32-1, 10 s connect timeout, least request, 1 h idle, locality LB on', () => {
  const { r, c } = clusterUnder(undefined);
  assert.deepEqual(errors(r), []);
  assert.equal(c.name, `outbound|9080||${HOST}`);
  const { maxConnections, maxPendingRequests, maxRequests, maxRetries } = c.circuitBreakers;
  assert.deepEqual([maxConnections, maxPendingRequests, maxRequests, maxRetries], [UNLIMITED, UNLIMITED, UNLIMITED, UNLIMITED]);
  assert.equal(c.pool.connectTimeoutMs, 10_000);
  assert.equal(c.pool.idleTimeoutMs, 3_600_000);
  assert.equal(c.lbPolicy, 'least_request');
  assert.equal(c.localityLb!.enabled, true);
  assert.equal(c.outlierDetection, undefined);
  // Without outlier detection Envoy's own panic threshold stays.
  assert.equal(c.healthyPanicThreshold, 50);
  assert.equal(c.protocol, 'http1', 'an http port speaks HTTP/1.1 upstream');
  assert.equal(clusterUnder(undefined, { port: 9090 }).c.protocol, 'http2', 'a grpc port speaks h2c');
});

test('connection pool values map to thresholds and pool settings; zero never overrides', () => {
  const { c } = clusterUnder(
    cp({
      tcp: {
        maxConnections: 10,
        connectTimeout: '1s',
        maxConnectionDuration: '1m',
        tcpKeepalive: { probes: 3, time: '2h', interval: '75s' },
        idleTimeout: '5m',
      },
      http: {
        http1MaxPendingRequests: 0,
        http2MaxRequests: 100,
        maxRetries: 7,
        maxRequestsPerConnection: 1,
        idleTimeout: '30s',
        maxConcurrentStreams: 50,
      },
    }),
  );
  assert.equal(c.circuitBreakers.maxConnections, 10);
  assert.equal(c.circuitBreakers.maxPendingRequests, UNLIMITED);
  assert.equal(c.circuitBreakers.maxRequests, 100);
  assert.equal(c.circuitBreakers.maxRetries, 7);
  assert.equal(c.pool.connectTimeoutMs, 1000);
  assert.equal(c.pool.maxConnectionDurationMs, 60_000);
  assert.equal(c.pool.idleTimeoutMs, 30_000, 'http.idleTimeout wins over tcp.idleTimeout');
  assert.equal(c.pool.maxRequestsPerConnection, 1);
  assert.equal(c.pool.h2MaxConcurrentStreams, 50);
  assert.deepEqual(c.pool.tcpKeepalive, { probes: 3, timeSec: 7200, intervalSec: 75 });
  assert.equal(c.circuitBreakers.origin.maxConnections!.kind, 'manifest');
  assert.equal(clusterUnder(cp({ tcp: { idleTimeout: '0s' } })).c.pool.idleTimeoutMs, 0, 'tcp.idleTimeout 0s disables');
});

test('upstream protocol: UPGRADE turns an http port to HTTP/2, useClientProtocol follows the client', () => {
  assert.equal(clusterUnder(cp({ http: { h2UpgradePolicy: 'UPGRADE' } })).c.protocol, 'http2');
  assert.equal(clusterUnder(cp({ http: { useClientProtocol: true } })).c.protocol, 'downstream');
});

test('outlier detection: Istio enforcing rules, success rate never enforced, panic threshold 0 unless minHealthPercent', () => {
  const od = (spec: Record<string, unknown>) => clusterUnder(tp({ outlierDetection: spec })).c;
  const a = od({ consecutiveGatewayErrors: 3, interval: '5s', baseEjectionTime: '30s', maxEjectionPercent: 99 });
  const d = a.outlierDetection!;
  assert.equal(d.consecutiveGatewayFailure, 3);
  assert.equal(d.enforcingConsecutiveGatewayFailure, 100);
  assert.equal(d.consecutive5xx, 5, "consecutive5xxErrors unset: Envoy's 5");
  assert.equal(d.enforcingConsecutive5xx, 100);
  assert.equal(d.enforcingSuccessRate, 0);
  assert.equal(d.intervalMs, 5000);
  assert.equal(d.baseEjectionTimeMs, 30_000);
  assert.equal(d.maxEjectionPercent, 99);
  assert.equal(a.healthyPanicThreshold, 0, 'minHealthPercent default 0: panic mode off');
  const b = od({ consecutive5xxErrors: 0, minHealthPercent: 40 });
  assert.equal(b.outlierDetection!.consecutive5xx, 0);
  assert.equal(b.outlierDetection!.enforcingConsecutive5xx, 0, 'explicit 0 disables the 5xx detector');
  assert.equal(b.outlierDetection!.enforcingConsecutiveGatewayFailure, 0, 'gateway errors stay off unless set');
  assert.equal(b.healthyPanicThreshold, 40);
  assert.equal(od({}).outlierDetection!.maxEjectionPercent, 10);
  assert.equal(od({}).outlierDetection!.intervalMs, 10_000);
  const split = od({ splitExternalLocalOriginErrors: true, consecutiveLocalOriginFailures: 2 }).outlierDetection!;
  assert.equal(split.splitExternalLocalOriginErrors, true);
  assert.equal(split.consecutiveLocalOriginFailure, 2);
  assert.equal(split.enforcingConsecutiveLocalOriginFailure, 100);
  assert.equal(split.enforcingLocalOriginSuccessRate, 0);
});

test('load balancer: simple policies, LEAST_CONN deprecated, PASSTHROUGH not applied', () => {
  assert.equal(clusterUnder(tp({ loadBalancer: { simple: 'ROUND_ROBIN' } })).c.lbPolicy, 'round_robin');
  assert.equal(clusterUnder(tp({ loadBalancer: { simple: 'RANDOM' } })).c.lbPolicy, 'random');
  assert.equal(clusterUnder(tp({ loadBalancer: { simple: 'UNSPECIFIED' } })).c.lbPolicy, 'least_request');
  const lc = clusterUnder(tp({ loadBalancer: { simple: 'LEAST_CONN' } }));
  assert.equal(lc.c.lbPolicy, 'least_request');
  assert.deepEqual(codes(lc.r), [`W_ISTIO_DEPRECATED ${P}.loadBalancer.simple`]);
  const pt = clusterUnder(tp({ loadBalancer: { simple: 'PASSTHROUGH' } }));
  assert.deepEqual(codes(pt.r), [`W_ISTIO_NOT_APPLIED ${P}.loadBalancer.simple`]);
});

test('consistent hash keys and algorithms', () => {
  const ch = (consistentHash: Record<string, unknown>) => clusterUnder(tp({ loadBalancer: { consistentHash } }));
  const route = (r: ReturnType<typeof run>) => r.listeners[0]!.virtualHosts.find((v) => v.domains.includes('reviews'))!.routes[0]!;
  const cookie = ch({ httpCookie: { name: 'session', ttl: '0s' } });
  assert.deepEqual(route(cookie.r).hashPolicy, [{ kind: 'cookie', name: 'session' }]);
  assert.equal(cookie.c.lbPolicy, 'ring_hash');
  assert.deepEqual(route(ch({ useSourceIp: true, maglev: { tableSize: 65537 } }).r).hashPolicy, [{ kind: 'source-ip' }]);
  assert.equal(ch({ useSourceIp: true, maglev: { tableSize: 65537 } }).c.lbPolicy, 'maglev');
  assert.deepEqual(route(ch({ httpQueryParameterName: 'user' }).r).hashPolicy, [{ kind: 'query', name: 'user' }]);
});

test('localityLbSetting: enabled false, distribute, failover, failoverPriority; failover without outlier detection warns', () => {
  assert.equal(clusterUnder(tp({ loadBalancer: { localityLbSetting: { enabled: false } } })).c.localityLb!.enabled, false);
  const dist = clusterUnder(loc({ distribute: [{ from: 'r1/z1/*', to: { 'r1/z1/*': 80, 'r1/z2/*': 20 } }] })).c.localityLb!;
  assert.deepEqual(dist.distribute, [{ from: 'r1/z1/*', to: { 'r1/z1/*': 80, 'r1/z2/*': 20 } }]);
  assert.equal(dist.enabled, true);
  const fo = clusterUnder(loc({ failover: [{ from: 'r1', to: 'r2' }], failoverPriority: ['topology.kubernetes.io/zone'] })).c.localityLb!;
  assert.deepEqual(fo.failover, [{ from: 'r1', to: 'r2' }]);
  assert.deepEqual(fo.failoverPriority, ['topology.kubernetes.io/zone']);
  const noOd = clusterUnder(tp({ loadBalancer: { localityLbSetting: { failover: [{ from: 'r1', to: 'r2' }] } } }));
  assert.deepEqual(codes(noOd.r), [`W_ISTIO_NO_EFFECT ${P}.loadBalancer.localityLbSetting`]);
});

test('warmup becomes slow start for round robin and least request only', () => {
  const c = clusterUnder(tp({ loadBalancer: { simple: 'ROUND_ROBIN', warmup: { duration: '30s', minimumPercent: 20, aggression: 2 } } })).c;
  assert.deepEqual(c.slowStart, { windowMs: 30_000, aggression: 2, minWeightPercent: 20 });
  assert.deepEqual(clusterUnder(tp({ loadBalancer: { warmupDurationSecs: '10s' } })).c.slowStart, {
    windowMs: 10_000,
    aggression: 1,
    minWeightPercent: 10,
  });
  const random = clusterUnder(tp({ loadBalancer: { simple: 'RANDOM', warmup: { duration: '30s' } } }));
  assert.equal(random.c.slowStart, undefined);
  assert.deepEqual(codes(random.r), [`W_ISTIO_NO_EFFECT ${P}.loadBalancer.warmup`]);
});

test('tls: SIMPLE connects with TLS; ISTIO_MUTUAL and MUTUAL are not applied (plaintext, warning)', () => {
  assert.deepEqual(clusterUnder(tp({ tls: { mode: 'SIMPLE', sni: 'reviews.example.com' } })).c.tls, { sni: 'reviews.example.com' });
  for (const mode of ['ISTIO_MUTUAL', 'MUTUAL']) {
    const m = clusterUnder(tp({ tls: { mode } }));
    assert.equal(m.c.tls, undefined);
    assert.deepEqual(codes(m.r), [`W_ISTIO_NOT_APPLIED ${P}.tls.mode`]);
  }
});

test('effective policy: a port-level entry replaces the top level entirely (unset blocks fall back to defaults)', () => {
  const spec = tp({
    connectionPool: { tcp: { maxConnections: 10 } },
    outlierDetection: { consecutiveGatewayErrors: 2 },
    portLevelSettings: [{ port: { number: 9080 }, loadBalancer: { simple: 'RANDOM' } }],
  });
  const on9080 = clusterUnder(spec).c;
  assert.equal(on9080.lbPolicy, 'random');
  assert.equal(on9080.circuitBreakers.maxConnections, UNLIMITED);
  assert.equal(on9080.outlierDetection, undefined);
  const on9090 = clusterUnder(spec, { port: 9090 }).c;
  assert.equal(on9090.lbPolicy, 'least_request');
  assert.equal(on9090.circuitBreakers.maxConnections, 10);
  assert.equal(on9090.outlierDetection!.consecutiveGatewayFailure, 2);
});

test('effective policy: a subset block replaces the whole parent block; absent blocks are inherited', () => {
  const spec = {
    trafficPolicy: {
      connectionPool: { tcp: { maxConnections: 10 }, http: { http1MaxPendingRequests: 5 } },
      outlierDetection: { consecutiveGatewayErrors: 2 },
    },
    subsets: [{ name: 'v1', labels: { version: 'v1' }, trafficPolicy: { connectionPool: { tcp: { maxConnections: 20 } } } }],
  };
  const c = clusterUnder(spec, { subset: 'v1' }).c;
  assert.equal(c.circuitBreakers.maxConnections, 20);
  assert.equal(c.circuitBreakers.maxPendingRequests, UNLIMITED, 'no field-level merge inside a block');
  assert.equal(c.outlierDetection!.consecutiveGatewayFailure, 2, 'outlierDetection inherited');
});

test("effective policy: a subset's port-level entry replaces all four blocks", () => {
  const spec = {
    trafficPolicy: { connectionPool: { tcp: { maxConnections: 10 } }, outlierDetection: { consecutiveGatewayErrors: 2 } },
    subsets: [
      {
        name: 'v1',
        labels: { version: 'v1' },
        trafficPolicy: {
          outlierDetection: { consecutiveGatewayErrors: 4 },
          portLevelSettings: [{ port: { number: 9080 }, loadBalancer: { simple: 'RANDOM' } }],
        },
      },
    ],
  };
  const on9080 = clusterUnder(spec, { subset: 'v1' }).c;
  assert.equal(on9080.lbPolicy, 'random');
  assert.equal(on9080.circuitBreakers.maxConnections, UNLIMITED);
  assert.equal(on9080.outlierDetection, undefined);
  const on9090 = clusterUnder(spec, { subset: 'v1', port: 9090 }).c;
  assert.equal(on9090.circuitBreakers.maxConnections, 10);
  assert.equal(on9090.outlierDetection!.consecutiveGatewayFailure, 4);
});

test('retry budget maps to the circuit breakers with Envoy defaults for missing fields', () => {
  assert.deepEqual(clusterUnder(tp({ retryBudget: { percent: { value: 10 } } })).c.circuitBreakers.retryBudget, {
    budgetPercent: 10,
    minRetryConcurrency: 3,
  });
});

// --- Lookup ----------------------------------------------------------------------------------------

function rules(objects: Manifest[]) {
  const diags = new Diagnostics();
  const loaded = parseManifestText('test.yaml', yamlOf(objects), diags);
  const registry = new ServiceRegistry(loaded, new KubernetesEndpoints(loaded), diags);
  return { rules: new DestinationRules(loaded, registry, diags), diags };
}
const names = (e: { object: { metadata: { namespace: string; name: string } } } | undefined) =>
  e ? `${e.object.metadata.namespace}/${e.object.metadata.name}` : undefined;

test('lookup: an exact host beats a wildcard, a longer wildcard beats a shorter one', () => {
  const { rules: drs } = rules([
    service('reviews', ['http:9080']),
    destinationRule('all', { host: '*.svc.cluster.local', trafficPolicy: { loadBalancer: { simple: 'RANDOM' } } }),
    destinationRule('ns', { host: '*.default.svc.cluster.local', trafficPolicy: { loadBalancer: { simple: 'RANDOM' } } }),
    destinationRule('exact', { host: 'reviews', trafficPolicy: { loadBalancer: { simple: 'RANDOM' } } }),
  ]);
  assert.equal(names(drs.lookup(HOST, 'default', 'default')), 'default/exact');
  assert.equal(names(drs.lookup('ratings.default.svc.cluster.local', 'default', 'default')), 'default/ns');
  assert.equal(names(drs.lookup('ratings.other.svc.cluster.local', 'default', 'other')), 'default/all');
});

test("lookup: the client's namespace first, then the service's, then the root namespace; exportTo hides", () => {
  const svc = service('reviews', ['http:9080'], { namespace: 'prod' });
  const fq = 'reviews.prod.svc.cluster.local';
  const inProd = destinationRule('prod-rule', { host: 'reviews', trafficPolicy: { loadBalancer: { simple: 'RANDOM' } } }, 'prod');
  const inClient = destinationRule('client-rule', { host: fq, trafficPolicy: { loadBalancer: { simple: 'RANDOM' } } }, 'default');
  const inRoot = destinationRule(
    'root-rule',
    { host: '*.svc.cluster.local', trafficPolicy: { loadBalancer: { simple: 'RANDOM' } } },
    'istio-system',
  );
  assert.equal(names(rules([svc, inProd, inClient, inRoot]).rules.lookup(fq, 'default', 'prod')), 'default/client-rule');
  assert.equal(names(rules([svc, inProd, inRoot]).rules.lookup(fq, 'default', 'prod')), 'prod/prod-rule');
  assert.equal(names(rules([svc, inRoot]).rules.lookup(fq, 'default', 'prod')), 'istio-system/root-rule');
  // Even a more specific rule in the service's namespace loses to any matching rule in the client's.
  const wildClient = destinationRule(
    'wild',
    { host: '*.prod.svc.cluster.local', trafficPolicy: { loadBalancer: { simple: 'RANDOM' } } },
    'default',
  );
  assert.equal(names(rules([svc, inProd, wildClient]).rules.lookup(fq, 'default', 'prod')), 'default/wild');
  const privateProd = destinationRule(
    'private',
    { host: 'reviews', exportTo: ['.'], trafficPolicy: { loadBalancer: { simple: 'RANDOM' } } },
    'prod',
  );
  assert.equal(names(rules([svc, privateProd]).rules.lookup(fq, 'default', 'prod')), undefined, 'exportTo "." hides it from default');
  assert.equal(names(rules([svc, privateProd]).rules.lookup(fq, 'prod', 'prod')), 'prod/private');
  const toDefault = destinationRule(
    'to-default',
    { host: 'reviews', exportTo: ['default'], trafficPolicy: { loadBalancer: { simple: 'RANDOM' } } },
    'prod',
  );
  assert.equal(names(rules([svc, toDefault]).rules.lookup(fq, 'default', 'prod')), 'prod/to-default');
});

test('a rule for a host no service has is reported (IST0174); a rule without host is applied to its name with a warning', () => {
  const unknown = rules([
    service('reviews', ['http:9080']),
    destinationRule('ghost', { host: 'ghost', trafficPolicy: { loadBalancer: { simple: 'RANDOM' } } }),
  ]);
  assert.deepEqual(
    unknown.diags.items.map((d) => `${d.code} ${d.field}`),
    ['W_ISTIO_UNKNOWN_DESTINATION_RULE_HOST spec.host'],
  );
  const noHost = rules([
    service('reviews', ['http:9080']),
    destinationRule('reviews', { trafficPolicy: { loadBalancer: { simple: 'RANDOM' } } }),
  ]);
  assert.deepEqual(
    noHost.diags.items.map((d) => `${d.code} ${d.field}`),
    ['W_ISTIO_DESTINATION_RULE_HOST_INFERRED spec'],
  );
  assert.equal(names(noHost.rules.lookup(HOST, 'default', 'default')), 'default/reviews');
});

test('effectivePolicy records where each block came from', () => {
  const { rules: drs } = rules([
    service('reviews', ['http:9080']),
    destinationRule('reviews', {
      host: 'reviews',
      trafficPolicy: {
        connectionPool: { tcp: { maxConnections: 1 } },
        portLevelSettings: [{ port: { number: 9090 }, outlierDetection: {} }],
      },
      subsets: [{ name: 'v1', trafficPolicy: { loadBalancer: { simple: 'RANDOM' } } }],
    }),
  ]);
  const dr = drs.lookup(HOST, 'default', 'default')!;
  const p = effectivePolicy(dr, 9080, 'v1');
  assert.deepEqual(p.connectionPool!.path, ['spec', 'trafficPolicy', 'connectionPool']);
  assert.deepEqual(p.loadBalancer!.path, ['spec', 'subsets', 0, 'trafficPolicy', 'loadBalancer']);
  const q = effectivePolicy(dr, 9090, undefined);
  assert.deepEqual(Object.keys(q), ['outlierDetection']);
  assert.deepEqual(q.outlierDetection!.path, ['spec', 'trafficPolicy', 'portLevelSettings', 0, 'outlierDetection']);
});

test('a rule with a workloadSelector is skipped (legate is not a selected workload); tunnel is not applied', () => {
  const sel = clusterUnder({ workloadSelector: { matchLabels: { app: 'client' } }, trafficPolicy: { loadBalancer: { simple: 'RANDOM' } } });
  assert.deepEqual(codes(sel.r), ['W_ISTIO_NOT_APPLIED spec.workloadSelector']);
  assert.equal(sel.c.lbPolicy, 'least_request');
  const tunnel = clusterUnder(tp({ tunnel: { protocol: 'CONNECT', targetHost: 'proxy', targetPort: 8080 } }));
  assert.deepEqual(codes(tunnel.r), [`W_ISTIO_NOT_APPLIED ${P}.tunnel`]);
});
