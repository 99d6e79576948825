import { test } from 'node:test';
import assert from 'node:assert/strict';
import { buildTimeout } from './build-timeout.js';
import { buildTrafficFeatures } from './build-traffic-features.js';
import { btp, codes, run } from './test-fixtures.js';
import { Diagnostics } from '../../model.js';

const cases: { name: string; spec: string; pool: object; route?: object | null; diags?: string[] }[] = [
  {
    name: 'tcp and http connection settings go to the cluster pool',
    spec: 'timeout:\n  tcp:\n    connectTimeout: 15s\n  http:\n    connectionIdleTimeout: 16s\n    maxConnectionDuration: 17s',
    pool: { connectTimeoutMs: 15_000, idleTimeoutMs: 16_000, maxConnectionDurationMs: 17_000 },
    route: null,
  },
  {
    name: 'requestTimeout goes to the route; the idle timeout is raised to at least 1h',
    spec: 'timeout:\n  http:\n    requestTimeout: 18s',
    pool: {},
    route: { requestMs: 18_000, idleMs: 3_600_000 },
  },
  {
    name: 'a request timeout above 1h becomes the idle timeout',
    spec: 'timeout:\n  http:\n    requestTimeout: 2h',
    pool: {},
    route: { requestMs: 7_200_000, idleMs: 7_200_000 },
  },
  {
    name: 'requestTimeout 0s disables both',
    spec: 'timeout:\n  http:\n    requestTimeout: 0s',
    pool: {},
    route: { requestMs: 0, idleMs: 0 },
  },
  {
    name: 'streamIdleTimeout wins over the derived idle timeout',
    spec: 'timeout:\n  http:\n    requestTimeout: 18s\n    streamIdleTimeout: 20s',
    pool: {},
    route: { requestMs: 18_000, idleMs: 20_000 },
  },
  {
    name: 'maxStreamDuration alone keeps the 15s request timeout default',
    spec: 'timeout:\n  http:\n    maxStreamDuration: 0s',
    pool: {},
    route: { requestMs: 15_000, maxStreamDuration: { maxMs: 0 } },
  },
  {
    name: 'requestTimeout with maxStreamDuration warns: Envoy does not arm the route timeout then',
    spec: 'timeout:\n  http:\n    requestTimeout: 23s\n    maxStreamDuration: 30s',
    pool: {},
    route: { requestMs: 23_000, idleMs: 3_600_000, maxStreamDuration: { maxMs: 30_000 } },
    diags: ['W_EG_NO_EFFECT spec.timeout.http.requestTimeout'],
  },
];

for (const c of cases) {
  test(`buildTimeout: ${c.name}`, () => {
    const { value, diags } = run(buildTimeout, btp(c.spec));
    assert.ok(value);
    const { origin: _o, ...pool } = value.pool;
    assert.deepEqual(pool, c.pool);
    if (c.route === null) assert.equal(value.route, undefined);
    else if (c.route) {
      const { origin: _r, ...route } = value.route!;
      assert.deepEqual(route, c.route);
    }
    assert.deepEqual(codes(diags), c.diags ?? []);
  });
}

const invalid: [string, string, string, string][] = [
  [
    'timeout:\n  tcp:\n    connectTimeout: 20kib',
    'spec.timeout.tcp.connectTimeout',
    'invalid ConnectTimeout value 20kib',
    'Timeout: invalid ConnectTimeout value 20kib.',
  ],
  [
    'timeout:\n  http:\n    maxConnectionDuration: 22mib',
    'spec.timeout.http.maxConnectionDuration',
    'invalid MaxConnectionDuration value 22mib',
    'Timeout: invalid MaxConnectionDuration value 22mib.',
  ],
  [
    'timeout:\n  http:\n    requestTimeout: 1.5s',
    'spec.timeout.http.requestTimeout',
    'invalid RequestTimeout value 1.5s',
    'Timeout: invalid RequestTimeout value 1.5s.',
  ],
  [
    'timeout:\n  tcp:\n    connectTimeout: 0s',
    'spec.timeout.tcp.connectTimeout',
    'connectTimeout must be greater than 0s',
    'Timeout: connectTimeout must be greater than 0s.',
  ],
];
for (const [spec, field, message, condition] of invalid) {
  test(`buildTimeout rejects ${field}: ${message}`, () => {
    const { value, diags } = run(buildTimeout, btp(spec));
    assert.equal(value, undefined);
    assert.equal(diags.items[0]!.code, 'E_EG_TIMEOUT_INVALID');
    assert.equal(diags.items[0]!.field, field);
    assert.equal(diags.items[0]!.message, message);
    assert.equal(buildTrafficFeatures(btp(spec), new Diagnostics()).error, condition);
  });
}

test('buildTimeout: several bad timeouts are joined in the status, as Envoy Gateway does', () => {
  const f = buildTrafficFeatures(btp('timeout:\n  tcp:\n    connectTimeout: 1x\n  http:\n    requestTimeout: 2y'), new Diagnostics());
  assert.equal(f.error, 'Timeout: invalid ConnectTimeout value 1x\ninvalid RequestTimeout value 2y.');
});

test('buildTimeout: origins', () => {
  const { value } = run(buildTimeout, btp('timeout:\n  http:\n    requestTimeout: 18s'));
  assert.equal(value!.route!.origin['requestMs']!.kind, 'manifest');
  assert.equal(value!.route!.origin['idleMs']!.kind, 'derived');
  assert.equal(run(buildTimeout, btp('retry: {}')).value, undefined);
});
