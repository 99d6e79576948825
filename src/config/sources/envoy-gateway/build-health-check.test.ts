import { test } from 'node:test';
import assert from 'node:assert/strict';
import { buildHealthCheck, toRanges } from './build-health-check.js';
import { btp, codes, run } from './test-fixtures.js';

const hex = (s: string) => Buffer.from(s).toString('hex');

test('buildHealthCheck: active HTTP with Envoy Gateway defaults', () => {
  const { value, diags } = run(buildHealthCheck, btp('healthCheck:\n  active:\n    type: HTTP\n    http:\n      path: /healthz'));
  const { origin: _o, ...hc } = value!.healthChecks![0]!;
  assert.deepEqual(hc, {
    kind: 'http',
    intervalMs: 3000,
    timeoutMs: 1000,
    healthyThreshold: 1,
    unhealthyThreshold: 3,
    http: { path: '/healthz', expectedStatuses: [[200, 201]] },
  });
  assert.equal(value!.activeExtras?.method, 'GET');
  assert.deepEqual(codes(diags), []);
});

const active: { name: string; spec: string; check: (v: NonNullable<ReturnType<typeof buildHealthCheck>>) => void; diags?: string[] }[] = [
  {
    name: 'expected statuses merge into ranges; hostname is the Host',
    spec: 'type: HTTP\nhttp:\n  path: /h\n  hostname: foo.bar\n  expectedStatuses: [200, 201, 204, 300]\ninterval: 5s\ntimeout: 500ms\nhealthyThreshold: 3',
    check: (v) => {
      const a = v.healthChecks![0]!;
      assert.deepEqual(a.http, {
        path: '/h',
        host: 'foo.bar',
        expectedStatuses: [
          [200, 202],
          [204, 205],
          [300, 301],
        ],
      });
      assert.deepEqual([a.intervalMs, a.timeoutMs, a.healthyThreshold], [5000, 500, 3]);
    },
  },
  {
    name: 'method, retriable statuses and payloads are recorded with warnings',
    spec: 'type: HTTP\nhttp:\n  path: /h\n  method: post\n  retriableStatuses: [503, 429]\n  expectedResponse: {type: Text, text: pong}\n  requestBody: {type: Text, text: ping}',
    check: (v) => {
      assert.equal(v.activeExtras!.method, 'POST');
      assert.deepEqual(v.activeExtras!.retriableStatuses, [
        [429, 430],
        [503, 504],
      ]);
      assert.equal(v.activeExtras!.expectedResponse, hex('pong'));
      assert.equal(v.activeExtras!.requestBody, hex('ping'));
    },
    diags: [
      'W_EG_NOT_APPLIED spec.healthCheck.active.http.method',
      'W_EG_NOT_APPLIED spec.healthCheck.active.http.retriableStatuses',
      'W_EG_NOT_APPLIED spec.healthCheck.active.http.expectedResponse',
      'W_EG_NOT_APPLIED spec.healthCheck.active.http.requestBody',
    ],
  },
  {
    name: 'TCP payloads become hex (text and base64 binary); tcp: {} is a connect check',
    spec: 'type: TCP\ntcp:\n  send: {type: Text, text: ping}\n  receive: {type: Binary, binary: RXZlcnl0aGluZyBPSw==}',
    check: (v) => assert.deepEqual(v.healthChecks![0]!.tcp, { send: hex('ping'), receive: [hex('Everything OK')] }),
  },
  { name: 'connect-only TCP', spec: 'type: TCP\ntcp: {}', check: (v) => assert.deepEqual(v.healthChecks![0]!.tcp, {}) },
  {
    name: 'gRPC without service checks the whole server',
    spec: 'type: GRPC',
    check: (v) => assert.deepEqual(v.healthChecks![0]!.grpc, { serviceName: '' }),
  },
  {
    name: 'gRPC service and a port override',
    spec: 'type: GRPC\ngrpc:\n  service: foo\noverrides:\n  port: 9090',
    check: (v) => {
      assert.deepEqual(v.healthChecks![0]!.grpc, { serviceName: 'foo' });
      assert.equal(v.activeExtras!.portOverride, 9090);
    },
    diags: ['W_EG_NOT_APPLIED spec.healthCheck.active.overrides.port'],
  },
];
for (const c of active) {
  test(`buildHealthCheck active: ${c.name}`, () => {
    const indented = c.spec
      .split('\n')
      .map((l) => `    ${l}`)
      .join('\n');
    const { value, diags } = run(buildHealthCheck, btp(`healthCheck:\n  active:\n${indented}`));
    assert.ok(value, JSON.stringify(diags.items));
    c.check(value);
    assert.deepEqual(codes(diags), c.diags ?? []);
  });
}

test('buildHealthCheck passive: Envoy Gateway defaults over Envoy outlier detection', () => {
  const { value } = run(buildHealthCheck, btp('healthCheck:\n  passive: {}'));
  const od = value!.outlierDetection!;
  assert.equal(od.intervalMs, 3000, 'Envoy: 10s');
  assert.equal(od.consecutive5xx, 5);
  assert.equal(od.consecutiveLocalOriginFailure, 5);
  assert.equal(od.baseEjectionTimeMs, 30_000);
  assert.equal(od.maxEjectionPercent, 10);
  assert.equal(od.enforcingConsecutiveGatewayFailure, 0, 'gateway errors off unless set');
  assert.equal(od.enforcingFailurePercentage, 0);
  assert.equal(od.splitExternalLocalOriginErrors, false);
  assert.deepEqual(od.origin['intervalMs'], { kind: 'default', dialect: 'envoy-gateway', name: 'ENVOY_GATEWAY.OUTLIER_INTERVAL_MS' });
  assert.equal(od.origin['enforcingSuccessRate']!.kind, 'default');
});

test('buildHealthCheck passive: set values, gateway errors and failure percentage enforced at 100, split mode', () => {
  const { value, diags } = run(
    buildHealthCheck,
    btp(
      'healthCheck:\n  passive:\n    splitExternalLocalOriginErrors: true\n    interval: 2s\n    consecutiveLocalOriginFailures: 3\n    consecutiveGatewayErrors: 4\n    consecutive5XxErrors: 6\n    baseEjectionTime: 160s\n    maxEjectionPercent: 100\n    failurePercentageThreshold: 90\n    alwaysEjectOneEndpoint: true',
    ),
  );
  const od = value!.outlierDetection!;
  assert.deepEqual(
    [
      od.intervalMs,
      od.consecutiveLocalOriginFailure,
      od.consecutiveGatewayFailure,
      od.enforcingConsecutiveGatewayFailure,
      od.consecutive5xx,
      od.baseEjectionTimeMs,
      od.maxEjectionPercent,
    ],
    [2000, 3, 4, 100, 6, 160_000, 100],
  );
  assert.deepEqual(
    [od.failurePercentageThreshold, od.enforcingFailurePercentage, od.alwaysEjectOneHost, od.splitExternalLocalOriginErrors],
    [90, 100, true, true],
  );
  assert.ok(od.maxEjectionTimeMs >= od.baseEjectionTimeMs);
  assert.deepEqual(codes(diags), []);
});

test('buildHealthCheck passive: maxEjectionPercent 0 keeps Envoy 10 %; local-origin count without split warns', () => {
  const { value, diags } = run(
    buildHealthCheck,
    btp('healthCheck:\n  passive:\n    maxEjectionPercent: 0\n    consecutiveLocalOriginFailures: 2'),
  );
  assert.equal(value!.outlierDetection!.maxEjectionPercent, 10);
  assert.deepEqual(codes(diags), [
    'W_EG_NO_EFFECT spec.healthCheck.passive.consecutiveLocalOriginFailures',
    'W_EG_NO_EFFECT spec.healthCheck.passive.maxEjectionPercent',
  ]);
});

test('buildHealthCheck: panic threshold', () => {
  const { value } = run(buildHealthCheck, btp('healthCheck:\n  panicThreshold: 66'));
  assert.equal(value!.healthyPanicThreshold, 66);
  assert.equal(value!.healthChecks, undefined);
  assert.equal(value!.outlierDetection, undefined);
});

const invalid: [string, string, string][] = [
  ['active:\n    type: HTTP', 'spec.healthCheck.active.http', 'If Health Checker type is HTTP, http field needs to be set.'],
  [
    'active:\n    type: TCP\n    http: {path: /}',
    'spec.healthCheck.active.http',
    'If Health Checker type is HTTP, http field needs to be set.',
  ],
  [
    'active:\n    type: HTTP\n    http: {path: /}\n    grpc: {}',
    'spec.healthCheck.active.grpc',
    'The grpc field can only be set if the Health Checker type is GRPC.',
  ],
  [
    'active:\n    type: HTTP\n    http:\n      path: /\n      requestBody: {type: Text, text: x}',
    'spec.healthCheck.active.http.requestBody',
    'The requestBody field can only be set when method is POST or PUT.',
  ],
  ['active:\n    type: HTTP\n    http: {}', 'spec.healthCheck.active.http.path', 'http.path is required'],
  [
    'active:\n    type: UDP',
    'spec.healthCheck.active.type',
    'spec.healthCheck.active.type: Unsupported value: "UDP": supported values: "HTTP", "TCP", "GRPC"',
  ],
  [
    'active:\n    type: TCP\n    tcp:\n      send: {type: Text}',
    'spec.healthCheck.active.tcp.send.text',
    'If payload type is Text, text field needs to be set.',
  ],
  ['active:\n    type: TCP\n    tcp: {}\n    interval: 0s', 'spec.healthCheck.active.interval', 'interval must be greater than 0s'],
  [
    'passive:\n    maxEjectionPercent: 101',
    'spec.healthCheck.passive.maxEjectionPercent',
    'spec.healthCheck.passive.maxEjectionPercent in body should be less than or equal to 100',
  ],
  ['passive:\n    interval: 1.5s', 'spec.healthCheck.passive.interval', 'invalid Interval value 1.5s'],
  ['panicThreshold: 120', 'spec.healthCheck.panicThreshold', 'spec.healthCheck.panicThreshold in body should be less than or equal to 100'],
];
for (const [spec, field, message] of invalid) {
  test(`buildHealthCheck rejects ${field}: ${message}`, () => {
    const { value, diags } = run(buildHealthCheck, btp(`healthCheck:\n  ${spec}`));
    assert.equal(value, undefined);
    const err = diags.items.find((d) => d.severity === 'error')!;
    assert.equal(err.code, 'E_EG_HEALTH_CHECK_INVALID');
    assert.equal(err.field, field);
    assert.equal(err.message, message);
  });
}

test('toRanges', () => {
  assert.deepEqual(toRanges([200]), [[200, 201]]);
  assert.deepEqual(toRanges([201, 200, 200, 202, 500]), [
    [200, 203],
    [500, 501],
  ]);
});
