import { test } from 'node:test';
import assert from 'node:assert/strict';
import type * as ir from '../../../ir/index.js';
import {
  cluster,
  codes,
  destinationRule,
  ep,
  errors,
  listener,
  onlyRoute,
  run,
  service,
  vhost,
  virtualService,
  type Manifest,
} from './test-support.js';

const REVIEWS = service('reviews', ['http:9080']);

/** One VirtualService for `reviews` with one HTTP rule routing to it plus `rule`. */
function withRule(rule: Record<string, unknown>, extra: Manifest[] = []) {
  return run([
    REVIEWS,
    ...extra,
    virtualService('reviews', { hosts: ['reviews'], http: [{ route: [{ destination: { host: 'reviews' } }], ...rule }] }),
  ]);
}

type Rejected = { name: string; rule: Record<string, unknown>; field: string; message: string };

// Istio's webhook rules for an HTTP rule (config-apis.md 3.3-3.5, 6 #22): each rejects the whole
// VirtualService with Istio's message at the field's path.
const rejected: Rejected[] = [
  {
    name: 'negative attempts',
    rule: { retries: { attempts: -1 } },
    field: 'spec.http[0].retries.attempts',
    message: 'attempts cannot be negative',
  },
  ...[{ perTryTimeout: '1s' }, { retryOn: '5xx' }, { retryRemoteLocalities: false }, { attempts: 0, retryOn: 'reset' }].map((retries) => ({
    name: `attempts 0 (or unset) with ${JSON.stringify(retries)}`,
    rule: { retries },
    field: 'spec.http[0].retries',
    message: 'http retry policy configured when attempts are set to 0 (disabled)',
  })),
  {
    name: 'unknown retryOn token',
    rule: { retries: { attempts: 1, retryOn: '5xx,bogus' } },
    field: 'spec.http[0].retries.retryOn',
    message: '"bogus" is not a valid retryOn policy',
  },
  // The webhook splits on "," without trimming: " reset" is not a token (translation trims later).
  {
    name: 'retryOn with a space after the comma',
    rule: { retries: { attempts: 1, retryOn: '5xx, reset' } },
    field: 'spec.http[0].retries.retryOn',
    message: '" reset" is not a valid retryOn policy',
  },
  {
    name: 'retryOn with an empty item',
    rule: { retries: { attempts: 1, retryOn: '5xx,,reset' } },
    field: 'spec.http[0].retries.retryOn',
    message: '"" is not a valid retryOn policy',
  },
  {
    name: 'retryOn status code without a reason phrase',
    rule: { retries: { attempts: 1, retryOn: '599' } },
    field: 'spec.http[0].retries.retryOn',
    message: '"599" is not a valid retryOn policy',
  },
  {
    name: 'retryOn status code 0',
    rule: { retries: { attempts: 1, retryOn: '0' } },
    field: 'spec.http[0].retries.retryOn',
    message: '"0" is not a valid retryOn policy',
  },
  {
    name: 'retryOn in upper case',
    rule: { retries: { attempts: 1, retryOn: 'Reset' } },
    field: 'spec.http[0].retries.retryOn',
    message: '"Reset" is not a valid retryOn policy',
  },
  {
    name: 'perTryTimeout under 1ms',
    rule: { retries: { attempts: 1, perTryTimeout: '500us' } },
    field: 'spec.http[0].retries.perTryTimeout',
    message: 'duration must be greater than 1ms',
  },
  {
    name: 'perTryTimeout 0s',
    rule: { retries: { attempts: 1, perTryTimeout: '0s' } },
    field: 'spec.http[0].retries.perTryTimeout',
    message: 'duration must be greater than 1ms',
  },
  {
    name: 'perTryTimeout with sub-ms precision',
    rule: { retries: { attempts: 1, perTryTimeout: '1.5ms' } },
    field: 'spec.http[0].retries.perTryTimeout',
    message: 'only durations to ms precision are supported',
  },
  {
    name: 'perTryTimeout not a duration',
    rule: { retries: { attempts: 1, perTryTimeout: '10' } },
    field: 'spec.http[0].retries.perTryTimeout',
    message: 'is not a duration',
  },
  {
    name: 'backoff under 1ms',
    rule: { retries: { attempts: 1, backoff: '100us' } },
    field: 'spec.http[0].retries.backoff',
    message: 'duration must be greater than 1ms',
  },
  {
    name: 'timeout 0s (unset means no timeout, 0s is refused)',
    rule: { timeout: '0s' },
    field: 'spec.http[0].timeout',
    message: 'duration must be greater than 1ms',
  },
  { name: 'timeout 0', rule: { timeout: '0' }, field: 'spec.http[0].timeout', message: 'duration must be greater than 1ms' },
  {
    name: 'timeout with µs',
    rule: { timeout: '2500us' },
    field: 'spec.http[0].timeout',
    message: 'only durations to ms precision are supported',
  },
  {
    name: 'timeout 1.0001s',
    rule: { timeout: '1.0001s' },
    field: 'spec.http[0].timeout',
    message: 'only durations to ms precision are supported',
  },
  {
    name: 'fixedDelay under 1ms',
    rule: { fault: { delay: { fixedDelay: '0.1ms', percentage: { value: 1 } } } },
    field: 'spec.http[0].fault.delay.fixedDelay',
    message: 'duration must be greater than 1ms',
  },
  {
    name: 'delay percentage over 100',
    rule: { fault: { delay: { fixedDelay: '1s', percentage: { value: 100.5 } } } },
    field: 'spec.http[0].fault.delay.percentage.value',
    message: 'percentage 100.5 is neither 0.0, nor in range [0.0001, 100.0]',
  },
  {
    name: 'abort percentage below 0.0001',
    rule: { fault: { abort: { httpStatus: 503, percentage: { value: 0.00001 } } } },
    field: 'spec.http[0].fault.abort.percentage.value',
    message: 'percentage 0.00001 is neither 0.0, nor in range [0.0001, 100.0]',
  },
  {
    name: 'abort percentage negative',
    rule: { fault: { abort: { httpStatus: 503, percentage: { value: -1 } } } },
    field: 'spec.http[0].fault.abort.percentage.value',
    message: 'is neither 0.0, nor in range',
  },
  {
    name: 'httpStatus 199',
    rule: { fault: { abort: { httpStatus: 199 } } },
    field: 'spec.http[0].fault.abort.httpStatus',
    message: 'HTTP status 199 is not in range 200-599',
  },
  {
    name: 'httpStatus 600',
    rule: { fault: { abort: { httpStatus: 600 } } },
    field: 'spec.http[0].fault.abort.httpStatus',
    message: 'HTTP status 600 is not in range 200-599',
  },
  {
    name: 'grpcStatus as a number',
    rule: { fault: { abort: { grpcStatus: '14' } } },
    field: 'spec.http[0].fault.abort.grpcStatus',
    message: 'gRPC status "14" is not supported',
  },
  {
    name: 'grpcStatus in lower case',
    rule: { fault: { abort: { grpcStatus: 'unavailable' } } },
    field: 'spec.http[0].fault.abort.grpcStatus',
    message: 'gRPC status "unavailable" is not supported',
  },
  {
    name: 'fault with neither delay nor abort',
    rule: { fault: {} },
    field: 'spec.http[0].fault',
    message: 'fault must have an abort and/or a delay',
  },
  {
    name: 'exponentialDelay',
    rule: { fault: { delay: { exponentialDelay: '1s' } } },
    field: 'spec.http[0].fault.delay.exponentialDelay',
    message: 'exponentialDelay not supported yet',
  },
  {
    name: 'http2Error',
    rule: { fault: { abort: { http2Error: 'CANCEL' } } },
    field: 'spec.http[0].fault.abort.http2Error',
    message: 'HTTP/2 abort fault injection not supported yet',
  },
  {
    name: 'redirect with route',
    rule: { redirect: { uri: '/x' } },
    field: 'spec.http[0]',
    message: 'HTTP route cannot contain both route and redirect',
  },
  {
    name: 'redirect code outside 3xx',
    rule: { route: undefined, redirect: { uri: '/x', redirectCode: 200 } },
    field: 'spec.http[0].redirect.redirectCode',
    message: '200 is not a valid redirect code, must be 3xx',
  },
  {
    name: 'redirect scheme',
    rule: { route: undefined, redirect: { scheme: 'ftp' } },
    field: 'spec.http[0].redirect.scheme',
    message: 'invalid redirect scheme, must be "http" or "https"',
  },
  {
    name: 'header match key not lower case',
    rule: { match: [{ headers: { 'X-User': { exact: 'a' } } }] },
    field: 'spec.http[0].match[0].headers.X-User',
    message: 'header match X-User must be in lowercase',
  },
  {
    name: 'two kinds in one string match',
    rule: { match: [{ uri: { exact: '/a', prefix: '/b' } }] },
    field: 'spec.http[0].match[0].uri',
    message: 'only one of exact, prefix or regex may be set',
  },
  {
    name: 'invalid regex',
    rule: { match: [{ uri: { regex: '(' } }] },
    field: 'spec.http[0].match[0].uri.regex',
    message: 'is not a valid regex',
  },
];

for (const c of rejected)
  test(`VirtualService rejected: ${c.name}`, () => {
    const r = withRule(c.rule);
    const hit = r.diags.items.find((d) => d.code === 'E_ISTIO_INVALID' && d.field === c.field);
    assert.ok(hit, `no E_ISTIO_INVALID at ${c.field}: ${JSON.stringify(codes(r))}`);
    assert.ok(hit.message.includes(c.message), hit.message);
    // The whole VirtualService is skipped, as if never applied: no mesh listener is left.
    assert.deepEqual(r.listeners, []);
  });

const weights: { name: string; route: { weight?: number }[]; message: string; field: string }[] = [
  { name: 'a negative weight', route: [{ weight: -1 }, { weight: 101 }], message: 'weight -1 < 0', field: 'spec.http[0].route[0].weight' },
  {
    name: 'several destinations all weight 0',
    route: [{ weight: 0 }, { weight: 0 }],
    message: 'total destination weight = 0',
    field: 'spec.http[0].route',
  },
  { name: 'several destinations with no weights', route: [{}, {}], message: 'total destination weight = 0', field: 'spec.http[0].route' },
];
for (const c of weights)
  test(`VirtualService rejected: ${c.name}`, () => {
    const r = run([
      REVIEWS,
      virtualService('reviews', {
        hosts: ['reviews'],
        http: [{ route: c.route.map((w) => ({ destination: { host: 'reviews' }, ...w })) }],
      }),
    ]);
    const hit = r.diags.items.find((d) => d.code === 'E_ISTIO_INVALID' && d.field === c.field);
    assert.ok(hit, JSON.stringify(codes(r)));
    assert.ok(hit.message.includes(c.message), hit.message);
  });

const accepted: { name: string; rule: Record<string, unknown> }[] = [
  {
    name: 'retryOn with every Envoy token Istio allows',
    rule: {
      retries: {
        attempts: 1,
        retryOn:
          '5xx,gateway-error,reset,reset-before-request,connect-failure,retriable-4xx,refused-stream,retriable-status-codes,retriable-headers,envoy-ratelimited,cancelled,deadline-exceeded,internal,resource-exhausted,unavailable',
      },
    },
  },
  { name: 'retryOn with status codes', rule: { retries: { attempts: 1, retryOn: '503,429,418' } } },
  { name: 'retryOn empty with attempts 0 (nothing configured)', rule: { retries: { attempts: 0, retryOn: '' } } },
  { name: 'attempts 0 alone', rule: { retries: { attempts: 0 } } },
  { name: 'timeout 1ms', rule: { timeout: '1ms' } },
  { name: 'timeout 1.5s', rule: { timeout: '1.5s' } },
  { name: 'timeout 1h30m', rule: { timeout: '1h30m' } },
  { name: 'percentage 0', rule: { fault: { abort: { httpStatus: 503, percentage: { value: 0 } } } } },
  { name: 'percentage 0.0001', rule: { fault: { abort: { httpStatus: 503, percentage: { value: 0.0001 } } } } },
  { name: 'every gRPC status name', rule: { fault: { abort: { grpcStatus: 'DATA_LOSS' } } } },
  { name: 'httpStatus 599 and a 1ms delay', rule: { fault: { abort: { httpStatus: 599 }, delay: { fixedDelay: '1ms' } } } },
  { name: 'header presence match {}', rule: { match: [{ headers: { 'x-a': {} } }] } },
];
for (const c of accepted)
  test(`VirtualService accepted: ${c.name}`, () => {
    const r = withRule(c.rule);
    assert.deepEqual(errors(r), []);
    assert.equal(vhost(r, 'mesh-9080', 'reviews').routes[0]!.name, 'default/reviews/http[0]');
  });

// --- Semantics ----------------------------------------------------------------------------------

test('no retries: Istio >= 1.24 default policy (2 retries, no retriable codes, previous hosts, 5 host selections)', () => {
  const route = onlyRoute(withRule({}));
  const retry = route.retry!;
  assert.equal(retry.numRetries, 2);
  assert.deepEqual(retry.retryOn, ['connect-failure', 'refused-stream', 'unavailable', 'cancelled', 'retriable-status-codes']);
  assert.deepEqual(retry.retriableStatusCodes, [], 'a 503 is not retried by default');
  assert.equal(retry.previousHosts, true);
  assert.equal(retry.hostSelectionRetryMaxAttempts, 5);
  assert.equal(retry.perTryTimeoutMs, 0);
  assert.deepEqual(retry.backoff, { baseIntervalMs: 25, maxIntervalMs: 250 });
  assert.equal(retry.retryPriority, undefined);
  assert.equal(retry.origin.numRetries!.kind, 'default');
});

test('no timeout: route timeout 0 (disabled) and max gRPC timeout 0 (grpc-timeout honoured)', () => {
  const t = onlyRoute(withRule({})).timeout!;
  assert.equal(t.requestMs, 0);
  assert.equal(t.maxGrpcTimeoutMs, 0);
});

test('a timeout sets both the route timeout and the max gRPC timeout', () => {
  const t = onlyRoute(withRule({ timeout: '1.5s' })).timeout!;
  assert.equal(t.requestMs, 1500);
  assert.equal(t.maxGrpcTimeoutMs, 1500);
  assert.equal(t.origin.requestMs!.kind, 'manifest');
});

const convert: { retries: Record<string, unknown>; want: Partial<ir.RetryPolicy> | undefined }[] = [
  { retries: { attempts: 0 }, want: undefined },
  {
    retries: { attempts: 3 },
    want: {
      numRetries: 3,
      retryOn: ['connect-failure', 'refused-stream', 'unavailable', 'cancelled', 'retriable-status-codes'],
      retriableStatusCodes: [],
    },
  },
  { retries: { attempts: 2, retryOn: '503,reset' }, want: { retryOn: ['reset', 'retriable-status-codes'], retriableStatusCodes: [503] } },
  { retries: { attempts: 2, retryOn: '503' }, want: { retryOn: ['retriable-status-codes'], retriableStatusCodes: [503] } },
  {
    retries: { attempts: 2, retryOn: 'gateway-error,connect-failure' },
    want: { retryOn: ['gateway-error', 'connect-failure'], retriableStatusCodes: [] },
  },
  {
    retries: { attempts: 2, retryOn: 'retriable-status-codes,500,502' },
    want: { retryOn: ['retriable-status-codes'], retriableStatusCodes: [500, 502] },
  },
  { retries: { attempts: 1, perTryTimeout: '250ms' }, want: { perTryTimeoutMs: 250 } },
  { retries: { attempts: 1, retryIgnorePreviousHosts: false }, want: { previousHosts: false } },
  { retries: { attempts: 1, backoff: '100ms' }, want: { backoff: { baseIntervalMs: 100, maxIntervalMs: 1000 } } },
  { retries: { attempts: 1, retryRemoteLocalities: true }, want: { retryPriority: { kind: 'previous-priorities', updateFrequency: 2 } } },
];
for (const c of convert)
  test(`ConvertPolicy ${JSON.stringify(c.retries)}`, () => {
    const retry = onlyRoute(withRule({ retries: c.retries })).retry;
    if (c.want === undefined) {
      assert.equal(retry, undefined, 'attempts 0 means no retry policy at all');
      return;
    }
    assert.ok(retry);
    for (const [k, v] of Object.entries(c.want)) assert.deepEqual(retry[k as keyof ir.RetryPolicy], v, k);
    // What the rule does not say stays Istio's default.
    if (!('previousHosts' in c.want)) assert.equal(retry.previousHosts, true);
    assert.equal(retry.hostSelectionRetryMaxAttempts, 5);
  });

test('fault: unset percentage is 0% (never fires), given percentages are per million, gRPC names map to codes', () => {
  const unset = onlyRoute(withRule({ fault: { abort: { httpStatus: 503 }, delay: { fixedDelay: '1s' } } })).fault!;
  assert.deepEqual(unset.abort!.percent, { numerator: 0, denominator: 1_000_000 });
  assert.deepEqual(unset.delay!.percent, { numerator: 0, denominator: 1_000_000 });
  assert.equal(unset.delay!.fixedMs, 1000);
  assert.equal(unset.scope, 'request');
  const set = onlyRoute(withRule({ fault: { abort: { grpcStatus: 'UNAVAILABLE', percentage: { value: 12.5 } } } })).fault!;
  assert.deepEqual(set.abort, { grpcStatus: 14, percent: { numerator: 125_000, denominator: 1_000_000 } });
  const legacy = onlyRoute(withRule({ fault: { delay: { fixedDelay: '5ms', percent: 30 } } })).fault!;
  assert.deepEqual(legacy.delay!.percent, { numerator: 30, denominator: 100 });
});

test('weights: one destination gets 100 whatever its weight; with several, weight 0 is dropped', () => {
  const dr = destinationRule('reviews', { host: 'reviews', subsets: ['v1', 'v2', 'v3'].map((v) => ({ name: v, labels: { version: v } })) });
  const one = run([
    REVIEWS,
    dr,
    virtualService('r', { hosts: ['reviews'], http: [{ route: [{ destination: { host: 'reviews', subset: 'v1' }, weight: 7 }] }] }),
  ]);
  assert.deepEqual(onlyRoute(one).action, {
    kind: 'forward',
    clusters: [{ cluster: 'outbound|9080|v1|reviews.default.svc.cluster.local', weight: 100 }],
  });
  const several = run([
    REVIEWS,
    dr,
    virtualService('r', {
      hosts: ['reviews'],
      http: [
        {
          route: [
            { destination: { host: 'reviews', subset: 'v1' }, weight: 20 },
            { destination: { host: 'reviews', subset: 'v2' }, weight: 0 },
            { destination: { host: 'reviews', subset: 'v3' }, weight: 80 },
          ],
        },
      ],
    }),
  ]);
  const action = onlyRoute(several).action as Extract<ir.RouteAction, { kind: 'forward' }>;
  assert.deepEqual(
    action.clusters.map((c) => [c.cluster, c.weight]),
    [
      ['outbound|9080|v1|reviews.default.svc.cluster.local', 20],
      ['outbound|9080|v3|reviews.default.svc.cluster.local', 80],
    ],
  );
});

test('short names resolve against the VirtualService namespace, not the Service one; a dotted name stays literal', () => {
  const r = run([
    service('reviews', ['http:9080'], { namespace: 'prod' }),
    // In namespace "prod": "reviews" is reviews.prod.svc.cluster.local.
    virtualService('a', { hosts: ['reviews'], http: [{ route: [{ destination: { host: 'reviews' } }] }] }, 'prod'),
    // In namespace "default": "reviews" means reviews.default..., which does not exist.
    virtualService('b', { hosts: ['other'], http: [{ route: [{ destination: { host: 'reviews' } }] }] }, 'default'),
    // "reviews.prod" is literal, not reviews.prod.svc.cluster.local.
    virtualService('c', { hosts: ['third'], http: [{ route: [{ destination: { host: 'reviews.prod' } }] }] }, 'default'),
  ]);
  const a = vhost(r, 'mesh-9080', 'reviews.prod.svc.cluster.local');
  assert.deepEqual((a.routes[0]!.action as { clusters: ir.WeightedCluster[] }).clusters, [
    { cluster: 'outbound|9080||reviews.prod.svc.cluster.local', weight: 100 },
  ]);
  assert.ok(cluster(r, 'outbound|9080||reviews.prod.svc.cluster.local'));
  const warnings = r.diags.items.filter((d) => d.code === 'W_ISTIO_REFERENCED_RESOURCE_NOT_FOUND').map((d) => `${d.object} ${d.message}`);
  assert.equal(warnings.length, 2, warnings.join('\n'));
  assert.ok(
    warnings[0]!.startsWith('VirtualService/default/b Referenced host not found: "reviews.default.svc.cluster.local"'),
    warnings[0],
  );
  assert.ok(warnings[1]!.startsWith('VirtualService/default/c Referenced host not found: "reviews.prod"'), warnings[1]);
});

test('a subset missing from the DestinationRule: warning (IST0101) and a missing cluster (503 NC), no cluster built', () => {
  const r = run([
    REVIEWS,
    destinationRule('reviews', { host: 'reviews', subsets: [{ name: 'v1', labels: { version: 'v1' } }] }),
    virtualService('r', {
      hosts: ['reviews'],
      http: [
        {
          route: [
            { destination: { host: 'reviews', subset: 'v1' }, weight: 50 },
            { destination: { host: 'reviews', subset: 'v3' }, weight: 50 },
          ],
        },
      ],
    }),
  ]);
  assert.deepEqual(codes(r), ['W_ISTIO_REFERENCED_RESOURCE_NOT_FOUND spec.http[0].route[1].destination.subset']);
  assert.match(r.diags.items[0]!.message, /Referenced host\+subset in destinationrule not found: "reviews.default.svc.cluster.local\+v3"/);
  const action = onlyRoute(r).action as Extract<ir.RouteAction, { kind: 'forward' }>;
  assert.deepEqual(action.clusters[1], { cluster: 'outbound|9080|v3|reviews.default.svc.cluster.local', weight: 50, missing: true });
  assert.deepEqual(
    r.clusters.map((c) => c.name),
    ['outbound|9080|v1|reviews.default.svc.cluster.local'],
  );
});

test('subsets keep the endpoints whose labels contain the subset labels', () => {
  const r = run(
    [
      REVIEWS,
      destinationRule('reviews', { host: 'reviews', subsets: [{ name: 'v2', labels: { version: 'v2' } }] }),
      virtualService('r', { hosts: ['reviews'], http: [{ route: [{ destination: { host: 'reviews', subset: 'v2' } }] }] }),
    ],
    { endpoints: { 'default/reviews': [ep(1, { app: 'reviews', version: 'v1' }), ep(2, { app: 'reviews', version: 'v2' }), ep(3)] } },
  );
  assert.deepEqual(
    cluster(r, 'outbound|9080|v2|reviews.default.svc.cluster.local').endpoints.map((e) => e.port),
    [2],
  );
});

test('consistent hash in the DestinationRule: route hash policy, previous-hosts predicate off', () => {
  const r = run([
    REVIEWS,
    destinationRule('reviews', { host: 'reviews', trafficPolicy: { loadBalancer: { consistentHash: { httpHeaderName: 'X-User' } } } }),
    virtualService('r', { hosts: ['reviews'], http: [{ route: [{ destination: { host: 'reviews' } }] }] }),
  ]);
  const route = onlyRoute(r);
  assert.deepEqual(route.hashPolicy, [{ kind: 'header', name: 'x-user' }]);
  assert.equal(route.retry!.previousHosts, false);
  assert.equal(cluster(r, 'outbound|9080||reviews.default.svc.cluster.local').lbPolicy, 'ring_hash');
});

test('rule order is kept and each match of a rule becomes a route; match.port selects the listener port', () => {
  const r = run([
    service('reviews', ['http:9080', 'http-admin:9090']),
    virtualService('r', {
      hosts: ['reviews'],
      http: [
        {
          match: [{ uri: { prefix: '/a' } }, { headers: { 'x-b': { exact: '1' } } }],
          route: [{ destination: { host: 'reviews', port: { number: 9080 } } }],
        },
        { match: [{ port: 9090 }], route: [{ destination: { host: 'reviews', port: { number: 9090 } } }] },
        { route: [{ destination: { host: 'reviews', port: { number: 9080 } } }] },
      ],
    }),
  ]);
  assert.deepEqual(
    vhost(r, 'mesh-9080', 'reviews').routes.map((x) => x.name),
    ['default/r/http[0]/match[0]', 'default/r/http[0]/match[1]', 'default/r/http[2]'],
  );
  assert.deepEqual(
    vhost(r, 'mesh-9090', 'reviews').routes.map((x) => x.name),
    ['default/r/http[0]/match[0]', 'default/r/http[0]/match[1]', 'default/r/http[1]', 'default/r/http[2]'],
  );
  // A VirtualService prefix is a plain string prefix (/a matches /abc).
  assert.deepEqual(vhost(r, 'mesh-9080', 'reviews').routes[0]!.match.path, { kind: 'prefix', value: '/a', segmentAware: false });
});

test('a destination of a multi-port service without a port takes the listener port (IST0112 warning)', () => {
  const r = run([
    service('reviews', ['http:9080', 'http-admin:9090']),
    virtualService('r', { hosts: ['reviews'], http: [{ route: [{ destination: { host: 'reviews' } }] }] }),
  ]);
  const on = (port: number) =>
    (vhost(r, `mesh-${port}`, 'reviews').routes[0]!.action as { clusters: ir.WeightedCluster[] }).clusters[0]!.cluster;
  assert.equal(on(9080), 'outbound|9080||reviews.default.svc.cluster.local');
  assert.equal(on(9090), 'outbound|9090||reviews.default.svc.cluster.local');
  assert.deepEqual(codes(r), ['W_ISTIO_DESTINATION_PORT_REQUIRED spec.http[0].route[0].destination']);
});

test('matches: methods, authority, headers, withoutHeaders, query parameters, ignoreUriCase', () => {
  const r = withRule({
    match: [
      {
        uri: { exact: '/Login' },
        ignoreUriCase: true,
        method: { exact: 'post' },
        authority: { prefix: 'shop' },
        headers: { 'x-a': { regex: 'v[0-9]' }, 'x-b': {} },
        withoutHeaders: { 'x-c': { exact: 'no' } },
        queryParams: { debug: { exact: '' } },
      },
    ],
  });
  assert.deepEqual(onlyRoute(r).match, {
    path: { kind: 'exact', value: '/Login', ignoreCase: true },
    method: 'POST',
    headers: [
      { name: ':authority', match: { kind: 'prefix', value: 'shop' } },
      { name: 'x-a', match: { kind: 'regex', value: 'v[0-9]' } },
      { name: 'x-b', match: { kind: 'present' } },
      { name: 'x-c', match: { kind: 'exact', value: 'no' }, invert: true },
    ],
    query: [{ name: 'debug', match: { kind: 'exact', value: '' } }],
  });
});

test('redirect defaults to 301; direct response; rewrite of a prefix match replaces the prefix', () => {
  const redirect = run([REVIEWS, virtualService('r', { hosts: ['reviews'], http: [{ redirect: { uri: '/new', authority: 'other' } }] })]);
  assert.deepEqual(onlyRoute(redirect).action, {
    kind: 'redirect',
    redirect: { statusCode: 301, host: 'other', path: { kind: 'full', value: '/new' } },
  });
  const direct = run([
    REVIEWS,
    virtualService('r', { hosts: ['reviews'], http: [{ directResponse: { status: 418, body: { string: 'tea' } } }] }),
  ]);
  assert.deepEqual(onlyRoute(direct).action, { kind: 'direct', response: { status: 418, body: 'tea' } });
  const rewrite = withRule({ match: [{ uri: { prefix: '/v1/' } }], rewrite: { uri: '/', authority: 'backend' } });
  assert.deepEqual(onlyRoute(rewrite).rewrite, { path: { kind: 'prefix', value: '/' }, authority: 'backend' });
  const exact = withRule({ match: [{ uri: { exact: '/old' } }], rewrite: { uri: '/new' } });
  assert.deepEqual(onlyRoute(exact).rewrite!.path, { kind: 'full', value: '/new' });
});

test('mirrors: absent percentage is 100%, explicit 0 mirrors nothing', () => {
  const r = run([
    REVIEWS,
    service('shadow', ['http:9080']),
    virtualService('r', {
      hosts: ['reviews'],
      http: [
        {
          route: [{ destination: { host: 'reviews' } }],
          mirror: { host: 'shadow' },
          mirrors: [
            { destination: { host: 'shadow' }, percentage: { value: 0 } },
            { destination: { host: 'shadow' }, percentage: { value: 5 } },
          ],
        },
      ],
    }),
  ]);
  assert.deepEqual(vhost(r, 'mesh-9080', 'reviews').routes[0]!.mirrors, [
    { cluster: 'outbound|9080||shadow.default.svc.cluster.local', percent: 100 },
    { cluster: 'outbound|9080||shadow.default.svc.cluster.local', percent: 5 },
  ]);
});

test('match.gateways names are resolved against the VirtualService namespace', () => {
  const r = run([
    REVIEWS,
    {
      apiVersion: 'networking.istio.io/v1',
      kind: 'Gateway',
      metadata: { name: 'gw', namespace: 'default' },
      spec: { servers: [{ port: { number: 8080, name: 'http', protocol: 'HTTP' }, hosts: ['*'] }] },
    },
    virtualService('r', {
      hosts: ['reviews.example.com'],
      gateways: ['gw'],
      http: [
        { match: [{ gateways: ['gw'], uri: { prefix: '/only-gw' } }], route: [{ destination: { host: 'reviews' } }] },
        { match: [{ gateways: ['mesh'] }], route: [{ destination: { host: 'reviews' } }] },
      ],
    }),
  ]);
  assert.deepEqual(
    vhost(r, 'istio-8080', 'reviews.example.com').routes.map((x) => x.name),
    ['default/r/http[0]'],
  );
});

test('a VirtualService without hosts is a delegate: accepted by Istio, skipped by legate with a warning', () => {
  const r = run([REVIEWS, virtualService('delegate', { http: [{ route: [{ destination: { host: 'reviews' } }] }] })]);
  assert.deepEqual(errors(r), []);
  assert.deepEqual(codes(r), ['W_ISTIO_NOT_APPLIED spec.hosts']);
  assert.deepEqual(r.listeners, []);
});

test("host '*' on the mesh: Istio's webhook refuses it, legate serves it on every mesh port with a warning", () => {
  const r = run([REVIEWS, virtualService('all', { hosts: ['*'], http: [{ route: [{ destination: { host: 'reviews' } }] }] })]);
  assert.deepEqual(codes(r), ['W_ISTIO_MESH_WILDCARD_HOST spec.hosts[0]']);
  assert.ok(vhost(r, 'mesh-9080', '*'));
});

test('header edits: request and response set/add/remove, lower-cased; per-destination headers', () => {
  const r = run([
    REVIEWS,
    virtualService('r', {
      hosts: ['reviews'],
      http: [
        {
          headers: { request: { set: { 'X-A': '1' }, remove: ['X-B'] }, response: { add: { 'x-c': '2' } } },
          route: [{ destination: { host: 'reviews' }, headers: { request: { set: { 'x-d': '3' } } } }],
        },
      ],
    }),
  ]);
  const route = onlyRoute(r);
  assert.deepEqual(route.requestHeaders, { set: [{ name: 'x-a', value: '1' }], remove: ['x-b'] });
  assert.deepEqual(route.responseHeaders, { add: [{ name: 'x-c', value: '2' }] });
  assert.deepEqual((route.action as { clusters: ir.WeightedCluster[] }).clusters[0]!.requestHeaders, {
    set: [{ name: 'x-d', value: '3' }],
  });
});

test('listeners come out on 127.0.0.1 per HTTP service port; the seed VirtualService is served there', () => {
  const r = run([
    service('example-app', ['http:8080:9090']),
    virtualService('example-app', { hosts: ['*'], http: [{ match: [{ port: 8080 }], route: [{ destination: { host: 'example-app' } }] }] }),
  ]);
  const l = listener(r, 'mesh-8080');
  assert.equal(l.address, '127.0.0.1');
  assert.equal(l.port, 8080);
});

test('tls and tcp routes are reported as not applied; corsPolicy is applied', () => {
  const r = run([
    REVIEWS,
    virtualService('r', {
      hosts: ['reviews'],
      tcp: [{ route: [{ destination: { host: 'reviews' } }] }],
      http: [{ corsPolicy: { allowOrigins: [{ exact: 'https://a.example' }] }, route: [{ destination: { host: 'reviews' } }] }],
    }),
  ]);
  assert.deepEqual(codes(r), ['W_ISTIO_NOT_APPLIED spec.tcp']);
  assert.equal(onlyRoute(r).name, 'default/r/http[0]');
});

test("corsPolicy becomes the route's CORS policy as Istio translates it", () => {
  const r = run([
    REVIEWS,
    virtualService('r', {
      hosts: ['reviews'],
      http: [
        {
          corsPolicy: {
            allowOrigins: [{ exact: 'https://a.example' }, { regex: 'https://.*\\.b\\.example' }],
            allowMethods: ['GET', 'POST'],
            allowHeaders: ['x-custom', 'content-type'],
            exposeHeaders: ['x-trace'],
            maxAge: '24h',
            allowCredentials: true,
            unmatchedPreflights: 'IGNORE',
          },
          route: [{ destination: { host: 'reviews' } }],
        },
      ],
    }),
  ]);
  const route = onlyRoute(r);
  assert.deepEqual(route.cors, {
    allowOrigins: [
      { kind: 'exact', value: 'https://a.example' },
      { kind: 'regex', value: 'https://.*\\.b\\.example' },
    ],
    allowMethods: 'GET,POST',
    allowHeaders: 'x-custom,content-type',
    exposeHeaders: 'x-trace',
    maxAge: '86400',
    allowCredentials: true,
    forwardNotMatchingPreflights: false,
  });
  assert.equal(route.origin['cors']?.kind, 'manifest');
  // Unset unmatchedPreflights forwards preflights from other origins to the backend (Istio's default).
  const d = run([
    REVIEWS,
    virtualService('r', { hosts: ['reviews'], http: [{ corsPolicy: {}, route: [{ destination: { host: 'reviews' } }] }] }),
  ]);
  assert.equal(onlyRoute(d).cors?.forwardNotMatchingPreflights, true);
  assert.deepEqual(onlyRoute(d).cors?.allowOrigins, []);
});
