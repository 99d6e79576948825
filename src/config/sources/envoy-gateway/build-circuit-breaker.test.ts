import { test } from 'node:test';
import assert from 'node:assert/strict';
import { buildCircuitBreaker } from './build-circuit-breaker.js';
import { egClusterDefaults } from './cluster-defaults.js';
import { buildTrafficFeatures } from './build-traffic-features.js';
import { Diagnostics } from '../../model.js';
import { btp, codes, run } from './test-fixtures.js';

const cases: { name: string; spec: string; want: object; perConn?: number; perEndpoint?: number; diags?: string[] }[] = [
  {
    name: 'an empty block gives Envoy Gateway defaults, 1024 retries included',
    spec: 'circuitBreaker: {}',
    want: { maxConnections: 1024, maxPendingRequests: 1024, maxRequests: 1024, maxRetries: 1024 },
  },
  {
    name: 'every threshold, uint32 max included',
    spec: 'circuitBreaker:\n  maxConnections: 2048\n  maxParallelRequests: 4294967295\n  maxParallelRetries: 10\n  maxPendingRequests: 1\n  maxRequestsPerConnection: 1',
    want: { maxConnections: 2048, maxPendingRequests: 1, maxRequests: 4_294_967_295, maxRetries: 10 },
    perConn: 1,
  },
  {
    name: 'a retry budget (Fraction percent, default min concurrency 3)',
    spec: 'circuitBreaker:\n  retryBudget:\n    percent:\n      numerator: 1\n      denominator: 1000',
    want: {
      maxConnections: 1024,
      maxPendingRequests: 1024,
      maxRequests: 1024,
      maxRetries: 1024,
      retryBudget: { budgetPercent: 0.1, minRetryConcurrency: 3 },
    },
  },
  {
    name: 'maxParallelRetries with a retry budget warns',
    spec: 'circuitBreaker:\n  maxParallelRetries: 24\n  retryBudget:\n    percent: {numerator: 10}\n    minRetryConcurrency: 1',
    want: {
      maxConnections: 1024,
      maxPendingRequests: 1024,
      maxRequests: 1024,
      maxRetries: 24,
      retryBudget: { budgetPercent: 10, minRetryConcurrency: 1 },
    },
    diags: ['W_EG_NO_EFFECT spec.circuitBreaker.maxParallelRetries'],
  },
  {
    name: 'per-endpoint connections are recorded with a warning',
    spec: 'circuitBreaker:\n  perEndpoint:\n    maxConnections: 5',
    want: { maxConnections: 1024, maxPendingRequests: 1024, maxRequests: 1024, maxRetries: 1024 },
    perEndpoint: 5,
    diags: ['W_EG_NOT_APPLIED spec.circuitBreaker.perEndpoint'],
  },
];

for (const c of cases) {
  test(`buildCircuitBreaker: ${c.name}`, () => {
    const { value, diags } = run(buildCircuitBreaker, btp(c.spec));
    assert.ok(value);
    const { origin: _o, ...cb } = value.circuitBreakers;
    assert.deepEqual(cb, c.want);
    assert.equal(value.pool?.maxRequestsPerConnection, c.perConn);
    assert.equal(value.perEndpoint?.maxConnections, c.perEndpoint);
    assert.deepEqual(codes(diags), c.diags ?? []);
  });
}

const invalid: [string, string, string][] = [
  ['circuitBreaker:\n  maxConnections: -1', 'spec.circuitBreaker.maxConnections', 'CircuitBreaker: invalid MaxConnections value -1.'],
  [
    'circuitBreaker:\n  maxRequestsPerConnection: -1',
    'spec.circuitBreaker.maxRequestsPerConnection',
    'CircuitBreaker: invalid MaxRequestsPerConnection value -1.',
  ],
  [
    'circuitBreaker:\n  maxParallelRetries: 4294967296',
    'spec.circuitBreaker.maxParallelRetries',
    'CircuitBreaker: invalid MaxParallelRetries value 4294967296.',
  ],
  [
    'circuitBreaker:\n  retryBudget:\n    percent: {numerator: 120}',
    'spec.circuitBreaker.retryBudget.percent.numerator',
    'CircuitBreaker: numerator must be less than or equal to denominator.',
  ],
  [
    'circuitBreaker:\n  retryBudget: {minRetryConcurrency: 2}',
    'spec.circuitBreaker.retryBudget.percent',
    'CircuitBreaker: retryBudget.percent is required.',
  ],
];
for (const [spec, field, condition] of invalid) {
  test(`buildCircuitBreaker rejects ${field}`, () => {
    const { value, diags } = run(buildCircuitBreaker, btp(spec));
    assert.equal(value, undefined);
    assert.equal(diags.items[0]!.code, 'E_EG_CIRCUIT_BREAKER_INVALID');
    assert.equal(diags.items[0]!.field, field);
    assert.equal(buildTrafficFeatures(btp(spec), new Diagnostics()).error, condition);
  });
}

test('egClusterDefaults: Envoy Gateway vs Envoy defaults', () => {
  const c = egClusterDefaults('c', []);
  assert.equal(c.circuitBreakers.maxRetries, 1024, 'Envoy would have 3');
  assert.deepEqual(c.circuitBreakers.origin['maxRetries'], {
    kind: 'default',
    dialect: 'envoy-gateway',
    name: 'ENVOY_GATEWAY.MAX_RETRIES',
  });
  assert.equal(c.circuitBreakers.maxConnections, 1024);
  assert.equal(c.circuitBreakers.origin['maxConnections']!.kind, 'default');
  assert.equal(c.pool.connectTimeoutMs, 10_000, 'Envoy would have 5s');
  assert.equal(c.lbPolicy, 'least_request', 'Envoy would round robin');
});
