import { test } from 'node:test';
import assert from 'node:assert/strict';
import { seededRandom } from '../../common/random.js';
import { clusterDefaults, outlierDetectionDefaults } from '../../ir/builders.js';
import { ManualClock } from '../../common/clock.js';
import type { Endpoint } from '../../ir/index.js';
import { Cluster, slowStartFactor } from './cluster.js';
import type { Host } from './host.js';

const eps = (n: number, priority = 0, base = 9000): Endpoint[] =>
  Array.from({ length: n }, (_, i) => ({ address: '127.0.0.1', port: base + i, weight: 1, priority }));

function tally(c: Cluster, n: number): Map<number, number> {
  const m = new Map<number, number>();
  for (let i = 0; i < n; i++) {
    const h = c.chooseHost()!;
    m.set(h.port, (m.get(h.port) ?? 0) + 1);
  }
  return m;
}

test('panic: 4 hosts with 3 unhealthy (25% < 50%) spreads traffic over all 4 (scenario 20)', () => {
  const c = new Cluster(clusterDefaults('c', eps(4)), seededRandom(1));
  for (const h of c.hosts.slice(1)) h.failedOutlierCheck = true;
  c.refreshHealth();
  const t = tally(c, 400);
  assert.equal(t.size, 4);
  for (const n of t.values()) assert.equal(n, 100);
  assert.equal(c.stats.lb_healthy_panic, 400);
});

test('no panic at 60% healthy: only healthy hosts get traffic', () => {
  const c = new Cluster(clusterDefaults('c', eps(10)), seededRandom(2));
  for (const h of c.hosts.slice(0, 4)) h.failedActiveHc = true;
  c.refreshHealth();
  const t = tally(c, 600);
  assert.equal(t.size, 6);
  assert.equal(c.stats.lb_healthy_panic, 0);
  assert.equal(c.stats.membership_healthy, 6);
});

test('P0 10 hosts with 3 unhealthy and P1 healthy: 98% / 2% (scenario 21)', () => {
  const c = new Cluster(clusterDefaults('c', [...eps(10, 0, 9000), ...eps(10, 1, 9100)]), seededRandom(3));
  for (const h of c.hosts.slice(0, 3)) h.failedOutlierCheck = true;
  c.refreshHealth();
  assert.deepEqual(c.priorityLoad.load, [98, 2]);
  let p1 = 0;
  const n = 20_000;
  for (let i = 0; i < n; i++) if (c.chooseHost()!.priority === 1) p1++;
  assert.ok(Math.abs(p1 / n - 0.02) < 0.005, `P1 share ${p1 / n}`);
});

test('threshold 0 and no healthy host: no host (503 no healthy upstream)', () => {
  const c = new Cluster({ ...clusterDefaults('c', eps(2)), healthyPanicThreshold: 0 }, seededRandom(4));
  for (const h of c.hosts) h.failedOutlierCheck = true;
  c.refreshHealth();
  assert.equal(c.chooseHost(), undefined);
});

test('hosts come back when healthy again', () => {
  const c = new Cluster(clusterDefaults('c', eps(10)), seededRandom(5));
  c.hosts[0]!.failedOutlierCheck = true;
  c.refreshHealth();
  assert.ok(!tally(c, 200).has(9000));
  c.hosts[0]!.failedOutlierCheck = false;
  c.refreshHealth();
  assert.ok(tally(c, 200).has(9000));
});

test('the snapshot shows hosts with health flags, placement, counters and breaker use', () => {
  const c = new Cluster(clusterDefaults('c', [...eps(2, 0, 9000), ...eps(1, 1, 9100)]), seededRandom(6));
  c.hosts[0]!.failedOutlierCheck = true;
  c.hosts[0]!.stats.rq_total = 7;
  c.refreshHealth();
  const s = c.snapshot();
  assert.equal(s.name, 'c');
  assert.equal(s.hosts.length, 3);
  assert.equal(s.hosts[0]!.healthFlags, '/failed_outlier_check');
  assert.equal(s.hosts[0]!.rqTotal, 7);
  assert.equal(s.hosts[1]!.healthFlags, 'healthy');
  assert.equal(s.hosts[2]!.priority, 1);
  assert.deepEqual(s.priorityLoad, [70, 30]);
  assert.equal(s.circuitBreakers.maxConnections, 1024);
  assert.equal(s.circuitBreakers.remainingRetries, 3);
  assert.equal(s.outlier, undefined);
  assert.ok(JSON.parse(JSON.stringify(s)), 'serializable');
});

const located = (zone: string, n: number, base: number): Endpoint[] =>
  Array.from({ length: n }, (_, i) => ({
    address: '127.0.0.1',
    port: base + i,
    weight: 1,
    priority: 0,
    locality: { region: 'r', zone, subZone: '' },
  }));
const inZoneA = { locality: { region: 'r', zone: 'zone-a', subZone: '' }, labels: {} };

test('Istio distribute 80/20 across zones, measured over 5000 requests', () => {
  const config = {
    ...clusterDefaults('c', [...located('zone-a', 2, 9000), ...located('zone-b', 3, 9100)]),
    localityLb: { enabled: true, distribute: [{ from: 'r/*', to: { 'r/zone-a/*': 80, 'r/zone-b/*': 20 } }], origin: {} },
  };
  const c = new Cluster(config, seededRandom(8), undefined, inZoneA);
  let a = 0;
  for (let i = 0; i < 5000; i++) if (c.chooseHost()!.locality?.zone === 'zone-a') a++;
  assert.ok(Math.abs(a / 5000 - 0.8) < 0.02, `zone-a share ${a / 5000}`);
});

test('locality failover: all local hosts ejected -> the next zone; back when they heal', () => {
  const config = {
    ...clusterDefaults('c', [...located('zone-a', 2, 9000), ...located('zone-b', 2, 9100)]),
    outlierDetection: outlierDetectionDefaults(),
    localityLb: { enabled: true, origin: {} },
  };
  const c = new Cluster(config, seededRandom(9), new ManualClock(), inZoneA);
  try {
    assert.deepEqual(
      c.hosts.map((h) => h.priority),
      [0, 0, 1, 1],
    );
    const zones = () => new Set(Array.from({ length: 200 }, () => c.chooseHost()!.locality?.zone));
    assert.deepEqual([...zones()], ['zone-a']);
    for (const h of c.hosts.slice(0, 2)) h.failedOutlierCheck = true;
    c.refreshHealth();
    assert.deepEqual([...zones()], ['zone-b']);
    for (const h of c.hosts.slice(0, 2)) h.failedOutlierCheck = false;
    c.refreshHealth();
    assert.deepEqual([...zones()], ['zone-a']);
  } finally {
    c.destroy();
  }
});

test('without outlier detection Istio does not prioritise by locality', () => {
  const config = {
    ...clusterDefaults('c', [...located('zone-a', 2, 9000), ...located('zone-b', 2, 9100)]),
    localityLb: { enabled: true, origin: {} },
  };
  const c = new Cluster(config, seededRandom(10), undefined, inZoneA);
  assert.deepEqual(
    c.hosts.map((h) => h.priority),
    [0, 0, 0, 0],
  );
});

test('previous_priorities: excluding the tried priority sends the pick elsewhere; all excluded resets', () => {
  const c = new Cluster(clusterDefaults('c', [...eps(2, 0, 9000), ...eps(2, 1, 9100)]), seededRandom(11));
  for (let i = 0; i < 50; i++) assert.equal(c.chooseHost()!.priority, 0);
  for (let i = 0; i < 50; i++) assert.equal(c.chooseHost(undefined, 1, new Set([0]))!.priority, 1);
  const both = new Set<number>();
  for (let i = 0; i < 50; i++) both.add(c.chooseHost(undefined, 1, new Set([0, 1]))!.priority);
  assert.deepEqual([...both], [0], 'everything excluded: back to the normal load');
});

test('slow start: a host that just became healthy ramps up over the window', () => {
  const clock = new ManualClock();
  const config = { ...clusterDefaults('c', eps(2)), slowStart: { windowMs: 10_000, aggression: 1, minWeightPercent: 10 } };
  const c = new Cluster(config, seededRandom(12), clock);
  const [a, b] = c.hosts as [Host, Host];
  b.failedActiveHc = true;
  c.refreshHealth();
  clock.advance(60_000);
  b.failedActiveHc = false;
  c.refreshHealth();
  const share = () => {
    let n = 0;
    for (let i = 0; i < 3000; i++) if (c.chooseHost() === b) n++;
    return n / 3000;
  };
  assert.ok(Math.abs(share() - 0.1 / 1.1) < 0.03, 'starts at the minimum weight');
  clock.advance(5_000);
  assert.ok(Math.abs(share() - 0.5 / 1.5) < 0.04, 'half way');
  clock.advance(5_000);
  assert.ok(Math.abs(share() - 0.5) < 0.04, 'full weight after the window');
  assert.equal(a.since, 0);
});

test('slowStartFactor follows Envoy: (t/window)^(1/aggression), floored, 1 after', () => {
  assert.equal(slowStartFactor(0, 1000, 1, 10), 0.1);
  assert.equal(slowStartFactor(500, 1000, 1, 10), 0.5);
  assert.equal(slowStartFactor(250, 1000, 2, 10), 0.5);
  assert.equal(slowStartFactor(2000, 1000, 1, 10), 1);
});

test('update: remaining hosts keep their object, ejection and slow-start clock; new ones start now; removed ones leave', () => {
  const clock = new ManualClock();
  const od = { ...outlierDetectionDefaults(), maxEjectionPercent: 100, consecutive5xx: 2 };
  const base = {
    ...clusterDefaults('c', eps(3)),
    outlierDetection: od,
    slowStart: { windowMs: 10_000, aggression: 1, minWeightPercent: 10 },
  };
  const c = new Cluster(base, seededRandom(13), clock);
  try {
    const [h0, h1, h2] = c.hosts as [Host, Host, Host];
    c.outlier.reportHttpStatus(h1, 503);
    c.outlier.reportHttpStatus(h1, 503);
    assert.equal(h1.healthFlags, '/failed_outlier_check');
    h0.stats.rq_total = 7;
    clock.advance(5_000); // under the 10 s sweep interval: the ejection stands

    // 9000 stays with a new weight, 9001 stays, 9002 goes, 9003 arrives.
    const next = [{ ...eps(1)[0]!, weight: 5 }, eps(2)[1]!, { address: '127.0.0.1', port: 9003, weight: 1, priority: 0 }];
    c.update({ ...base, endpoints: next, lbPolicy: 'random' });
    const [k0, k1, k3] = c.hosts as [Host, Host, Host];
    assert.equal(k0, h0, 'same Host object');
    assert.equal(k0.weight, 5);
    assert.equal(k0.stats.rq_total, 7, 'counters kept');
    assert.equal(k1, h1);
    assert.equal(k1.healthFlags, '/failed_outlier_check', 'still ejected');
    assert.equal(c.outlierDetector!.stats.ejections_active, 1);
    assert.equal(k3.port, 9003);
    assert.equal(k3.since, 5_000, 'a new host starts its slow start now');
    assert.equal(k0.since, 0, 'a kept host does not restart slow start');
    assert.ok(!c.hosts.includes(h2));
    assert.equal(c.config.lbPolicy, 'random');
    assert.equal(c.stats.membership_total, 3);
    assert.equal(c.stats.membership_healthy, 2);
    for (let i = 0; i < 200; i++) {
      const h = c.chooseHost()!;
      assert.ok(h === k0 || h === k3, 'the ejected host and the removed one get nothing');
    }
  } finally {
    c.destroy();
  }
});

test('update: a health-checked cluster checks a new host first and keeps the state of the others', () => {
  const clock = new ManualClock();
  const hc = {
    kind: 'tcp' as const,
    intervalMs: 60_000,
    timeoutMs: 1000,
    healthyThreshold: 1,
    unhealthyThreshold: 1,
    origin: {},
  };
  const base = { ...clusterDefaults('c', eps(1)), healthChecks: [hc] };
  const c = new Cluster(base, seededRandom(14), clock);
  try {
    const [h0] = c.hosts as [Host];
    h0.failedActiveHc = false; // as if its first check passed
    c.refreshHealth();
    c.update({ ...base, endpoints: eps(2) });
    assert.equal(c.hosts[0], h0);
    assert.equal(h0.failedActiveHc, false, 'kept');
    assert.equal(c.hosts[1]!.failedActiveHc, true, 'new hosts wait for their first check');
    assert.equal(c.healthChecker!.snapshot().length, 2);
  } finally {
    c.destroy();
  }
});
