import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mergeJson, mergePolicies } from './merge-policy.js';
import { buildTimeout } from './build-timeout.js';
import { btp, run } from './test-fixtures.js';

const cases: [string, unknown, unknown, 'StrategicMerge' | 'JSONMerge', unknown][] = [
  ['objects merge key by key', { a: { x: 1, y: 2 } }, { a: { y: 3, z: 4 } }, 'JSONMerge', { a: { x: 1, y: 3, z: 4 } }],
  ['lists are replaced', { l: [1, 2] }, { l: [3] }, 'JSONMerge', { l: [3] }],
  ['null in the patch does not delete (omitempty patch)', { a: 1 }, { a: null }, 'JSONMerge', { a: 1 }],
  [
    'StrategicMerge merges httpUpgrade by type',
    { spec: { httpUpgrade: [{ type: 'websocket' }, { type: 'spdy' }] } },
    { spec: { httpUpgrade: [{ type: 'CONNECT' }, { type: 'spdy', x: 1 }] } },
    'StrategicMerge',
    { spec: { httpUpgrade: [{ type: 'websocket' }, { type: 'spdy', x: 1 }, { type: 'CONNECT' }] } },
  ],
  [
    'JSONMerge replaces httpUpgrade',
    { spec: { httpUpgrade: [{ type: 'websocket' }] } },
    { spec: { httpUpgrade: [{ type: 'CONNECT' }] } },
    'JSONMerge',
    { spec: { httpUpgrade: [{ type: 'CONNECT' }] } },
  ],
];
for (const [name, original, patch, type, want] of cases) {
  test(`mergeJson: ${name}`, () => assert.deepEqual(mergeJson(original, patch, type), want));
}

test('mergePolicies: the route policy wins field by field and keeps its identity; origins point at the writer', () => {
  const gw = btp('timeout:\n  tcp:\n    connectTimeout: 15s\n  http:\n    connectionIdleTimeout: 16s', {
    name: 'gw',
    namespace: 'envoy-gateway',
  });
  const route = btp('mergeType: StrategicMerge\ntimeout:\n  tcp:\n    connectTimeout: 10s', {
    name: 'route',
    annotations: { 'legate.dev/fault-scope': 'attempt' },
  });
  const merged = mergePolicies(gw, route, 'StrategicMerge');
  assert.equal(merged.metadata.name, 'route');
  assert.equal(merged.metadata.annotations['legate.dev/fault-scope'], 'attempt');
  const { value } = run(buildTimeout, merged);
  assert.equal(value!.pool.connectTimeoutMs, 10_000);
  assert.equal(value!.pool.idleTimeoutMs, 16_000);
  const o = value!.pool.origin;
  assert.equal(o['connectTimeoutMs']!.kind === 'manifest' && o['connectTimeoutMs']!.object, 'BackendTrafficPolicy/default/route');
  assert.equal(o['idleTimeoutMs']!.kind === 'manifest' && o['idleTimeoutMs']!.object, 'BackendTrafficPolicy/envoy-gateway/gw');
});
