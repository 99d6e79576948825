import { test } from 'node:test';
import assert from 'node:assert/strict';
import { buildLoadBalancer, isPrime } from './build-load-balancer.js';
import { buildTrafficFeatures } from './build-traffic-features.js';
import { Diagnostics } from '../../model.js';
import { btp, codes, run } from './test-fixtures.js';

const cases: { name: string; spec: string; want: object; diags?: string[] }[] = [
  { name: 'LeastRequest', spec: 'type: LeastRequest', want: { lbPolicy: 'least_request' } },
  { name: 'RoundRobin', spec: 'type: RoundRobin', want: { lbPolicy: 'round_robin' } },
  { name: 'Random', spec: 'type: Random', want: { lbPolicy: 'random' } },
  {
    name: 'ConsistentHash SourceIP: Maglev with the default table',
    spec: 'type: ConsistentHash\nconsistentHash:\n  type: SourceIP',
    want: { lbPolicy: 'maglev', hashPolicy: [{ kind: 'source-ip' }], tableSize: 65_537 },
  },
  {
    name: 'ConsistentHash Headers with a prime table',
    spec: 'type: ConsistentHash\nconsistentHash:\n  type: Headers\n  headers: [{name: x-user}, {name: x-tenant}]\n  tableSize: 524287',
    want: {
      lbPolicy: 'maglev',
      hashPolicy: [
        { kind: 'header', name: 'x-user' },
        { kind: 'header', name: 'x-tenant' },
      ],
      tableSize: 524_287,
    },
  },
  {
    name: 'ConsistentHash Cookie',
    spec: 'type: ConsistentHash\nconsistentHash:\n  type: Cookie\n  cookie:\n    name: session',
    want: { lbPolicy: 'maglev', hashPolicy: [{ kind: 'cookie', name: 'session' }], cookie: { name: 'session' }, tableSize: 65_537 },
  },
  {
    name: 'ConsistentHash QueryParams',
    spec: 'type: ConsistentHash\nconsistentHash:\n  type: QueryParams\n  queryParams: [{name: user}]',
    want: { lbPolicy: 'maglev', hashPolicy: [{ kind: 'query', name: 'user' }], tableSize: 65_537 },
  },
  {
    name: 'deprecated Header type',
    spec: 'type: ConsistentHash\nconsistentHash:\n  type: Header\n  header: {name: x-user}',
    want: { lbPolicy: 'maglev', hashPolicy: [{ kind: 'header', name: 'x-user' }], tableSize: 65_537 },
    diags: ['W_EG_DEPRECATED spec.loadBalancer.consistentHash.type'],
  },
  {
    name: 'slow start for round robin, Envoy aggression and minimum weight',
    spec: 'type: RoundRobin\nslowStart:\n  window: 300s',
    want: { lbPolicy: 'round_robin', slowStart: { windowMs: 300_000, aggression: 1, minWeightPercent: 10 } },
  },
  {
    name: 'BackendUtilization balances round robin and records its settings',
    spec: 'type: BackendUtilization\nbackendUtilization:\n  blackoutPeriod: 10s\n  weightExpirationPeriod: 60s\n  metricNamesForComputingUtilization: [cpu]',
    want: {
      lbPolicy: 'round_robin',
      backendUtilization: {
        keepResponseHeaders: false,
        blackoutPeriodMs: 10_000,
        weightExpirationPeriodMs: 60_000,
        metricNamesForComputingUtilization: ['cpu'],
      },
    },
    diags: ['W_EG_NOT_APPLIED spec.loadBalancer.backendUtilization'],
  },
  {
    name: 'weighted zones are recorded',
    spec: 'type: RoundRobin\nzoneAware:\n  weightedZones: [{zone: a, weight: 70}, {zone: b, weight: 30}]',
    want: {
      lbPolicy: 'round_robin',
      zoneAware: {
        weightedZones: [
          { zone: 'a', weight: 70 },
          { zone: 'b', weight: 30 },
        ],
      },
    },
    diags: ['W_EG_NOT_APPLIED spec.loadBalancer.zoneAware'],
  },
  {
    name: 'prefer local with its defaults',
    spec: 'type: LeastRequest\nzoneAware:\n  preferLocal:\n    force: {}\n    percentageEnabled: 50',
    want: {
      lbPolicy: 'least_request',
      zoneAware: { preferLocal: { minEndpointsThreshold: 6, percentageEnabled: 50, forceMinEndpointsInZone: 1 } },
    },
    diags: ['W_EG_NOT_APPLIED spec.loadBalancer.zoneAware'],
  },
  {
    name: 'endpoint override is recorded',
    spec: 'type: RoundRobin\nendpointOverride:\n  extractFrom: [{header: x-host}]',
    want: { lbPolicy: 'round_robin', endpointOverride: { headers: ['x-host'] } },
    diags: ['W_EG_NOT_APPLIED spec.loadBalancer.endpointOverride'],
  },
];
for (const c of cases) {
  test(`buildLoadBalancer: ${c.name}`, () => {
    const indented = c.spec
      .split('\n')
      .map((l) => `  ${l}`)
      .join('\n');
    const { value, diags } = run(buildLoadBalancer, btp(`loadBalancer:\n${indented}`));
    assert.ok(value, JSON.stringify(diags.items));
    const { origin: _o, type: _t, ...lb } = value;
    assert.deepEqual(lb, c.want);
    assert.deepEqual(codes(diags), c.diags ?? []);
  });
}

const invalid: [string, string, string][] = [
  [
    'type: ConsistentHash\n  consistentHash:\n    tableSize: 1024',
    'spec.loadBalancer.consistentHash.tableSize',
    'LoadBalancer: ConsistentHash: invalid TableSize value 1024.',
  ],
  [
    'type: ConsistentHash\n  consistentHash:\n    type: SourceIP\n    tableSize: 5000012',
    'spec.loadBalancer.consistentHash.tableSize',
    'LoadBalancer: ConsistentHash: invalid TableSize value 5000012.',
  ],
  [
    'type: ConsistentHash',
    'spec.loadBalancer.consistentHash',
    'LoadBalancer: If LoadBalancer type is consistentHash, consistentHash field needs to be set.',
  ],
  [
    'type: Random\n  slowStart:\n    window: 10s',
    'spec.loadBalancer.slowStart',
    'LoadBalancer: Currently SlowStart is only supported for RoundRobin, LeastRequest, and BackendUtilization load balancers.',
  ],
  [
    'type: ConsistentHash\n  consistentHash:\n    type: Headers',
    'spec.loadBalancer.consistentHash.headers',
    'LoadBalancer: If consistent hash type is headers, the headers field must be set.',
  ],
  [
    'type: RoundRobin\n  zoneAware:\n    preferLocal: {}\n    weightedZones: [{zone: a, weight: 1}]',
    'spec.loadBalancer.zoneAware',
    'LoadBalancer: ZoneAware PreferLocal and WeightedZones cannot be specified together.',
  ],
  [
    'type: ConsistentHash\n  consistentHash: {type: SourceIP}\n  zoneAware:\n    preferLocal: {}',
    'spec.loadBalancer.zoneAware.preferLocal',
    'LoadBalancer: PreferLocal zone-aware routing is not supported for ConsistentHash load balancers. Use weightedZones instead.',
  ],
  [
    'type: Fastest',
    'spec.loadBalancer.type',
    'LoadBalancer: spec.loadBalancer.type: Unsupported value: "Fastest": supported values: "ConsistentHash", "LeastRequest", "Random", "RoundRobin", "BackendUtilization", "DynamicModule".',
  ],
];
for (const [spec, field, condition] of invalid) {
  test(`buildLoadBalancer rejects ${field}: ${condition}`, () => {
    const { value, diags } = run(buildLoadBalancer, btp(`loadBalancer:\n  ${spec}`));
    assert.equal(value, undefined);
    const err = diags.items.find((d) => d.severity === 'error')!;
    assert.equal(err.code, 'E_EG_LOAD_BALANCER_INVALID');
    assert.equal(err.field, field);
    assert.equal(buildTrafficFeatures(btp(`loadBalancer:\n  ${spec}`), new Diagnostics()).error, condition);
  });
}

test('isPrime', () => {
  assert.deepEqual([2, 3, 4, 65_537, 524_287, 1024, 5_000_011, 5_000_012].map(isPrime), [
    true,
    true,
    false,
    true,
    true,
    false,
    true,
    false,
  ]);
});
