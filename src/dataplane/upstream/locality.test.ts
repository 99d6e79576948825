import { test } from 'node:test';
import assert from 'node:assert/strict';
import type * as ir from '../../ir/index.js';
import { localityMatches, parseLocality, planLocality } from './locality.js';

const ep = (loc: string, labels: Record<string, string> = {}): ir.Endpoint => ({
  address: '127.0.0.1',
  port: 1,
  weight: 1,
  priority: 0,
  locality: parseLocality(loc),
  labels,
});
const proxy = { locality: parseLocality('us-west/zone-a/sub-1'), labels: { 'topology.istio.io/network': 'n1', app: 'x' } };
const eps = [ep('us-west/zone-a/sub-1'), ep('us-west/zone-a/sub-2'), ep('us-west/zone-b/'), ep('us-east/zone-c/'), ep('eu/zone-d/')];
const setting = (s: Partial<ir.LocalityLbSetting> = {}): ir.LocalityLbSetting => ({ enabled: true, origin: {}, ...s });

test('patterns: region/zone/subzone with a terminal wildcard', () => {
  const l = parseLocality('us-west/zone-a/sub-1');
  assert.ok(localityMatches('*', l));
  assert.ok(localityMatches('us-west/*', l));
  assert.ok(localityMatches('us-west/zone-a/*', l));
  assert.ok(localityMatches('us-west/zone-a/sub-1', l));
  assert.ok(!localityMatches('us-east/*', l));
  assert.ok(!localityMatches('us-west/zone-b/*', l));
});

test('default failover priorities relative to the proxy, only with outlier detection', () => {
  assert.deepEqual(planLocality(eps, setting(), proxy, true).priorities, [0, 1, 2, 3, 3]);
  assert.deepEqual(
    planLocality(eps, setting(), proxy, false).priorities,
    [0, 0, 0, 0, 0],
    'no outlier detection: Istio does not prioritise',
  );
  assert.deepEqual(planLocality(eps, setting({ enabled: false }), proxy, true).priorities, [0, 0, 0, 0, 0]);
  assert.deepEqual(planLocality(eps, undefined, proxy, true).priorities, [0, 0, 0, 0, 0]);
});

test('failover from the proxy region to a chosen region pushes the other regions last', () => {
  const plan = planLocality(eps, setting({ failover: [{ from: 'us-west', to: 'us-east' }] }), proxy, true);
  assert.deepEqual(plan.priorities, [0, 1, 2, 3, 4]);
});

test('priorities are compacted to 0..N', () => {
  const two = [ep('us-west/zone-a/sub-1'), ep('eu/zone-d/')];
  assert.deepEqual(planLocality(two, setting(), proxy, true).priorities, [0, 1]);
});

test('failoverPriority ranks by matching labels in order', () => {
  const list = [
    ep('us-west/zone-a/', { 'topology.istio.io/network': 'n1' }),
    ep('us-west/zone-b/', { 'topology.istio.io/network': 'n1' }),
    ep('us-west/zone-a/', { 'topology.istio.io/network': 'n2' }),
  ];
  const plan = planLocality(list, setting({ failoverPriority: ['topology.istio.io/network', 'topology.kubernetes.io/zone'] }), proxy, true);
  assert.deepEqual(plan.priorities, [0, 1, 2]);
});

test('distribute splits a share across matching localities; unlisted localities get no traffic', () => {
  const plan = planLocality(
    eps,
    setting({ distribute: [{ from: 'us-west/*', to: { 'us-west/zone-a/*': 80, 'us-east/*': 20 } }] }),
    proxy,
    false,
  );
  assert.deepEqual(plan.localityWeights, [40, 40, 0, 20, 0]);
  assert.deepEqual(plan.priorities, [0, 0, 0, 0, 0]);
  const other = planLocality(eps, setting({ distribute: [{ from: 'eu/*', to: { 'eu/*': 100 } }] }), proxy, false);
  assert.equal(other.localityWeights, undefined, 'no rule for this client: no weights');
});
