import { test } from 'node:test';
import assert from 'node:assert/strict';
import type * as ir from '../../ir/index.js';
import { outlierDetectionDefaults } from '../../ir/builders.js';
import { testHosts } from '../../../test/helpers/hosts.js';
import { ManualClock } from '../../common/clock.js';
import { seededRandom } from '../../common/random.js';
import type { Host } from './host.js';
import { createLoadBalancer } from './load-balancer.js';
import { OutlierDetector, noopOutlierMonitor, type OutlierDetectorConfig } from './outlier-detector.js';

const makeHosts = (n: number, base = 9000) => testHosts(n, { base });

/** Envoy's defaults (spec 5.1). */
const DEFAULTS: ir.OutlierDetection = outlierDetectionDefaults();

function setup(n: number, overrides: Partial<OutlierDetectorConfig> = {}, opts: { maxEvents?: number } = {}) {
  const clock = new ManualClock();
  const hosts = makeHosts(n);
  let changes = 0;
  const od = new OutlierDetector({ ...DEFAULTS, ...overrides }, hosts, clock, seededRandom(1), () => changes++, opts);
  od.start();
  return { clock, hosts, od, changes: () => changes };
}

function replies(od: OutlierDetector, host: Host, ...codes: number[]): void {
  for (const c of codes) od.reportHttpStatus(host, c);
}
const times = (n: number, code: number): number[] => Array<number>(n).fill(code);

/** Advances to absolute time `t` (ms). */
function at(clock: ManualClock, t: number): void {
  assert.ok(t >= clock.now());
  clock.advance(t - clock.now());
}

test('scenario 17: 10 hosts, 5 consecutive 503 -> ejected for 30-40 s, no traffic meanwhile', () => {
  const clock = new ManualClock();
  const hosts = makeHosts(10);
  const a = hosts[0]!;
  let changes = 0;
  let lb = createLoadBalancer('round_robin', hosts, seededRandom(2));
  const od = new OutlierDetector(DEFAULTS, hosts, clock, seededRandom(1), () => {
    changes++;
    lb = createLoadBalancer(
      'round_robin',
      hosts.filter((h) => h.healthy),
      seededRandom(2),
    );
  });
  od.start();
  at(clock, 2_000);
  replies(od, a, ...times(4, 503));
  assert.equal(a.failedOutlierCheck, false);
  replies(od, a, 503);
  assert.equal(a.failedOutlierCheck, true);
  assert.equal(a.healthy, false);
  assert.equal(a.healthFlags, '/failed_outlier_check');
  assert.equal(od.stats.ejections_active, 1);
  assert.equal(od.stats.ejections_enforced_consecutive_5xx, 1);
  assert.equal(od.stats.ejections_detected_consecutive_5xx, 1);
  assert.equal(od.stats.ejections_enforced_total, 1);
  assert.equal(od.stats.ejections_total, 1, 'deprecated counter');
  assert.equal(od.stats.ejections_consecutive_5xx, 1, 'deprecated counter');
  // 503 is also a gateway failure: detected, but enforcing_consecutive_gateway_failure is 0.
  assert.equal(od.stats.ejections_detected_consecutive_gateway_failure, 1);
  assert.equal(od.stats.ejections_enforced_consecutive_gateway_failure, 0);
  for (let i = 0; i < 900; i++) assert.notEqual(lb.choose(), a, 'an ejected host gets no traffic');
  at(clock, 31_999);
  assert.equal(a.failedOutlierCheck, true, 'checked only at ticks: 30 s is not over at the 30 s tick');
  at(clock, 39_999);
  assert.equal(a.failedOutlierCheck, true);
  at(clock, 40_000);
  assert.equal(a.failedOutlierCheck, false, 'unejected at the first tick after 30 s');
  assert.equal(od.stats.ejections_active, 0);
  const ej = od.events.filter((e) => e.enforced);
  assert.deepEqual(
    ej.map((e) => [e.action, e.type, e.durationMs]),
    [
      ['eject', 'consecutive_5xx', 30_000],
      ['uneject', 'consecutive_5xx', 38_000],
    ],
  );
  assert.ok(ej[1]!.durationMs >= 30_000 && ej[1]!.durationMs <= 40_000);
  assert.equal(changes, 2);
  const seen = new Set(Array.from({ length: 10 }, () => lb.choose()));
  assert.ok(seen.has(a), 'A gets traffic again');
  od.close();
});

test('onChange is called on every enforced eject and every uneject, not on detections only', () => {
  const { clock, hosts, od, changes } = setup(10);
  replies(od, hosts[0]!, ...times(5, 502)); // gateway detected (not enforced) + 5xx enforced
  assert.equal(changes(), 1);
  at(clock, 40_000);
  assert.equal(changes(), 2);
  assert.deepEqual(
    od.events.map((e) => [e.action, e.type, e.enforced]),
    [
      ['eject', 'consecutive_gateway_failure', false],
      ['eject', 'consecutive_5xx', true],
      ['uneject', 'consecutive_5xx', true],
    ],
  );
  od.close();
});

test('scenario 18: 3 hosts and the default 10% -> never ejected, ejections_overflow counts', () => {
  const { clock, hosts, od, changes } = setup(3);
  const a = hosts[0]!;
  replies(od, a, ...times(5, 500));
  assert.equal(a.failedOutlierCheck, false);
  assert.equal(od.stats.ejections_overflow, 1);
  assert.equal(od.stats.ejections_detected_consecutive_5xx, 1);
  assert.equal(od.stats.ejections_enforced_total, 0);
  assert.equal(od.stats.ejections_total, 0, 'not counted when the cap refuses');
  replies(od, a, ...times(5, 500));
  assert.equal(od.stats.ejections_overflow, 2, 'the counter was reset, so it fires again at 5');
  // A 503 run is detected twice (gateway and 5xx) and each detection hits the cap.
  replies(od, a, 200, ...times(5, 503));
  assert.equal(od.stats.ejections_overflow, 4);
  at(clock, 100_000);
  assert.equal(a.failedOutlierCheck, false);
  assert.equal(changes(), 0);
  od.close();
});

test('scenario 18: always_eject_one_host -> one host ejected, a second one overflows', () => {
  const { hosts, od } = setup(3, { alwaysEjectOneHost: true });
  replies(od, hosts[0]!, ...times(5, 500));
  assert.equal(hosts[0]!.failedOutlierCheck, true);
  assert.equal(od.stats.ejections_enforced_consecutive_5xx, 1);
  replies(od, hosts[1]!, ...times(5, 500));
  assert.equal(hosts[1]!.failedOutlierCheck, false);
  assert.equal(od.stats.ejections_overflow, 1);
  od.close();
});

test('scenario 18: max_ejection_percent 50 with 3 hosts -> one host at a time', () => {
  const { clock, hosts, od } = setup(3, { maxEjectionPercent: 50 });
  const [a, b] = [hosts[0]!, hosts[1]!];
  replies(od, a, ...times(5, 500));
  assert.equal(a.failedOutlierCheck, true, '1/3 = 33% <= 50%');
  replies(od, b, ...times(5, 500));
  assert.equal(b.failedOutlierCheck, false, '2/3 = 67% > 50%');
  assert.equal(od.stats.ejections_overflow, 1);
  at(clock, 30_000);
  assert.equal(a.failedOutlierCheck, false);
  replies(od, b, ...times(5, 500));
  assert.equal(b.failedOutlierCheck, true, 'once A is back, B can go');
  assert.equal(od.stats.ejections_active, 1);
  od.close();
});

test('scenario 19: ejected 3 times in quick succession -> 30, 60, 90 s, each rounded up to the tick', () => {
  const { clock, hosts, od } = setup(10);
  const a = hosts[0]!;
  const ejectAt = [5_000, 41_000, 111_000];
  const backAt: number[] = [];
  for (const t of ejectAt) {
    at(clock, t);
    replies(od, a, ...times(5, 500));
    assert.equal(a.failedOutlierCheck, true);
    while (a.failedOutlierCheck) clock.advance(1_000);
    backAt.push(clock.now());
  }
  assert.deepEqual(backAt, [40_000, 110_000, 210_000]);
  const durations = backAt.map((b, i) => b - ejectAt[i]!);
  for (const [i, d] of durations.entries()) {
    const planned = 30_000 * (i + 1);
    assert.ok(d >= planned && d < planned + 10_000, `ejection ${i + 1} lasted ${d} ms`);
  }
  assert.deepEqual(
    od.events.filter((e) => e.action === 'eject').map((e) => e.durationMs),
    [30_000, 60_000, 90_000],
  );
  assert.equal(od.snapshot().hosts[0]!.numEjections, 3);
  od.close();
});

test('ejection time is capped at max_ejection_time and the multiplier stops growing', () => {
  const { clock, hosts, od } = setup(10, { baseEjectionTimeMs: 30_000, maxEjectionTimeMs: 60_000 });
  const a = hosts[0]!;
  for (let i = 0; i < 5; i++) {
    replies(od, a, ...times(5, 500));
    while (a.failedOutlierCheck) clock.advance(1_000);
  }
  assert.deepEqual(
    od.events.filter((e) => e.action === 'eject').map((e) => e.durationMs),
    [30_000, 60_000, 60_000, 60_000, 60_000],
  );
  // multiplier grows while multiplier * base < max + base: 1, 2, 3, then stays.
  assert.equal(od.snapshot().hosts[0]!.ejectionMultiplier, 3);
  od.close();
});

test('decay: after staying healthy the next ejection is back to 30 s', () => {
  const { clock, hosts, od } = setup(10);
  const a = hosts[0]!;
  at(clock, 5_000);
  replies(od, a, ...times(5, 500));
  at(clock, 40_000);
  assert.equal(a.failedOutlierCheck, false);
  at(clock, 41_000);
  replies(od, a, ...times(5, 500));
  at(clock, 110_000);
  assert.equal(a.failedOutlierCheck, false, 'second ejection lasted 60-70 s');
  assert.equal(od.snapshot().hosts[0]!.ejectionMultiplier, 2, 'no decay at the unejecting tick');
  at(clock, 120_000);
  assert.equal(od.snapshot().hosts[0]!.ejectionMultiplier, 1);
  at(clock, 130_000);
  assert.equal(od.snapshot().hosts[0]!.ejectionMultiplier, 0);
  at(clock, 140_000);
  assert.equal(od.snapshot().hosts[0]!.ejectionMultiplier, 0, 'not below 0');
  at(clock, 131_000 + 10_000);
  replies(od, a, ...times(5, 500));
  assert.equal(od.events.at(-1)!.durationMs, 30_000);
  at(clock, 180_000);
  assert.equal(a.failedOutlierCheck, false, 'back after 30-40 s');
  od.close();
});

test('4x500, 200, 4x500 -> no ejection; one more 500 ejects', () => {
  const { hosts, od } = setup(10);
  const a = hosts[0]!;
  replies(od, a, ...times(4, 500), 200, ...times(4, 500));
  assert.equal(a.failedOutlierCheck, false);
  assert.equal(od.stats.ejections_detected_consecutive_5xx, 0);
  replies(od, a, 500);
  assert.equal(a.failedOutlierCheck, true);
  od.close();
});

test('4xx and 3xx count as successes for the consecutive counters', () => {
  const { hosts, od } = setup(10);
  replies(od, hosts[0]!, ...times(4, 500), 404, ...times(4, 500), 302, 500);
  assert.equal(hosts[0]!.failedOutlierCheck, false);
  od.reportHttpStatus(hosts[0]!, 100); // interim: not a result, does not reset
  replies(od, hosts[0]!, ...times(3, 500));
  assert.equal(hosts[0]!.failedOutlierCheck, false);
  replies(od, hosts[0]!, 500);
  assert.equal(hosts[0]!.failedOutlierCheck, true);
  od.close();
});

test('gateway failure: detected but not enforced by default, while consecutive 5xx still ejects', () => {
  const { hosts, od } = setup(10);
  const a = hosts[0]!;
  replies(od, a, ...times(5, 502));
  assert.equal(od.stats.ejections_detected_consecutive_gateway_failure, 1);
  assert.equal(od.stats.ejections_enforced_consecutive_gateway_failure, 0);
  assert.equal(od.stats.ejections_detected_consecutive_5xx, 1);
  assert.equal(od.stats.ejections_enforced_consecutive_5xx, 1);
  assert.equal(a.failedOutlierCheck, true);
  od.close();
});

test('gateway failure enforced at 100%: 502/503/504 eject; a plain 500 resets the gateway counter', () => {
  const { hosts, od } = setup(10, { enforcingConsecutiveGatewayFailure: 100, consecutive5xx: 1000 });
  const [a, b] = [hosts[0]!, hosts[1]!];
  replies(od, a, 502, 503, 504, 503, 500, 503, 502, 504, 503);
  assert.equal(a.failedOutlierCheck, false);
  assert.equal(od.stats.ejections_detected_consecutive_gateway_failure, 0);
  replies(od, a, 502);
  assert.equal(a.failedOutlierCheck, true);
  assert.equal(od.stats.ejections_enforced_consecutive_gateway_failure, 1);
  assert.equal(od.stats.ejections_total, 0, 'the deprecated total counts only 5xx and success rate');
  // A host already ejected is not re-ejected and its counter is not reset (no new detection at 5).
  replies(od, a, ...times(10, 503));
  assert.equal(od.stats.ejections_detected_consecutive_gateway_failure, 1);
  replies(od, b, ...times(5, 504));
  assert.equal(b.failedOutlierCheck, false, '2 of 10 hosts would be 20% > 10%');
  assert.equal(od.stats.ejections_overflow, 1);
  od.close();
});

test('counters are reset on unejection', () => {
  const { clock, hosts, od } = setup(10, { enforcingConsecutiveGatewayFailure: 100, consecutiveGatewayFailure: 10 });
  const a = hosts[0]!;
  replies(od, a, ...times(5, 500)); // ejected by 5xx
  replies(od, a, ...times(8, 503)); // gateway counter 8, 5xx counter 13: no new detection while ejected
  at(clock, 40_000);
  assert.equal(a.failedOutlierCheck, false);
  replies(od, a, ...times(4, 503));
  assert.equal(a.failedOutlierCheck, false, 'both counters started again from 0');
  replies(od, a, 503);
  assert.equal(a.failedOutlierCheck, true);
  assert.equal(od.events.at(-1)!.type, 'consecutive_5xx');
  od.close();
});

test('enforcing percentages are rolled: 50% enforces some detections and logs the rest', () => {
  const { clock, hosts, od } = setup(10, { enforcingConsecutive5xx: 50 });
  const a = hosts[0]!;
  for (let i = 0; i < 200; i++) {
    replies(od, a, ...times(5, 500));
    if (a.failedOutlierCheck) while (a.failedOutlierCheck) clock.advance(10_000);
  }
  const enforced = od.stats.ejections_enforced_consecutive_5xx;
  assert.equal(od.stats.ejections_detected_consecutive_5xx, 200);
  assert.ok(enforced > 70 && enforced < 130, `enforced ${enforced} of 200`);
  assert.equal(od.stats.ejections_total, 200);
  od.close();
});

function interval(od: OutlierDetector, host: Host, ok: number, fail: number): void {
  for (let i = 0; i < ok; i++) od.reportHttpStatus(host, 200);
  for (let i = 0; i < fail; i++) od.reportHttpStatus(host, 503);
}

test('success rate: {50,100,100,100,100} -> the 50% host is ejected at the next tick', () => {
  const { clock, hosts, od } = setup(5, { maxEjectionPercent: 20, consecutive5xx: 1000, consecutiveGatewayFailure: 1000 });
  interval(od, hosts[0]!, 50, 50);
  for (const h of hosts.slice(1)) interval(od, h, 100, 0);
  at(clock, 9_999);
  assert.equal(hosts[0]!.failedOutlierCheck, false);
  assert.equal(od.successRateAverage, -1);
  at(clock, 10_000);
  assert.equal(hosts[0]!.failedOutlierCheck, true);
  assert.equal(od.successRateAverage, 90);
  assert.ok(Math.abs(od.successRateEjectionThreshold - 52) < 1e-9);
  assert.equal(od.stats.ejections_detected_success_rate, 1);
  assert.equal(od.stats.ejections_enforced_success_rate, 1);
  assert.equal(od.stats.ejections_success_rate, 1, 'deprecated');
  assert.equal(od.stats.ejections_total, 1, 'deprecated');
  const snap = od.snapshot();
  assert.deepEqual(
    snap.hosts.map((h) => h.successRate),
    [50, 100, 100, 100, 100],
  );
  assert.equal(snap.ejectionsActive, 1);
  const ev = od.events.at(-1)!;
  assert.equal(ev.type, 'success_rate');
  assert.equal(ev.hostSuccessRate, 50);
  assert.equal(ev.clusterAverageSuccessRate, 90);
  // The next interval had no requests: nothing computed.
  at(clock, 20_000);
  assert.equal(od.successRateAverage, -1);
  assert.equal(od.successRateEjectionThreshold, -1);
  assert.deepEqual(
    od.snapshot().hosts.map((h) => h.successRate),
    [-1, -1, -1, -1, -1],
  );
  od.close();
});

test('success rate with the default 10% and 5 hosts: detected, refused by the cap', () => {
  const { clock, hosts, od } = setup(5, { consecutive5xx: 1000, consecutiveGatewayFailure: 1000 });
  interval(od, hosts[0]!, 50, 50);
  for (const h of hosts.slice(1)) interval(od, h, 100, 0);
  at(clock, 10_000);
  assert.equal(hosts[0]!.failedOutlierCheck, false);
  assert.equal(od.stats.ejections_detected_success_rate, 1);
  assert.equal(od.stats.ejections_overflow, 1);
  od.close();
});

test('success rate needs minimum_hosts hosts with request_volume each', () => {
  const { clock, hosts, od } = setup(5, { maxEjectionPercent: 100, consecutive5xx: 1000, consecutiveGatewayFailure: 1000 });
  interval(od, hosts[0]!, 50, 50);
  for (const h of hosts.slice(1, 4)) interval(od, h, 100, 0);
  interval(od, hosts[4]!, 99, 0); // below the volume of 100
  at(clock, 10_000);
  assert.equal(hosts[0]!.failedOutlierCheck, false);
  assert.equal(od.successRateAverage, -1);
  assert.equal(od.snapshot().hosts[4]!.successRate, 100, 'shown: its volume reaches the failure-percentage volume');
  od.close();
});

test('success rate reads the previous interval: requests spread over two intervals do not add up', () => {
  const { clock, hosts, od } = setup(5, { maxEjectionPercent: 100, consecutive5xx: 1000, consecutiveGatewayFailure: 1000 });
  for (const h of hosts) interval(od, h, 60, h === hosts[0] ? 20 : 0);
  at(clock, 10_000);
  for (const h of hosts) interval(od, h, 60, h === hosts[0] ? 20 : 0);
  at(clock, 15_000);
  assert.equal(od.successRateAverage, -1, 'volume 80 < 100 in the interval read');
  at(clock, 20_000);
  assert.equal(od.successRateAverage, -1);
  assert.equal(hosts[0]!.failedOutlierCheck, false);
  od.close();
});

test('failure percentage: detected only by default, ejects with enforcing 100', () => {
  for (const enforcing of [0, 100]) {
    const { clock, hosts, od } = setup(5, {
      enforcingFailurePercentage: enforcing,
      maxEjectionPercent: 20,
      consecutive5xx: 1000,
      consecutiveGatewayFailure: 1000,
    });
    interval(od, hosts[0]!, 5, 45); // 90% failures
    interval(od, hosts[1]!, 8, 42); // 84% failures: under the 85% threshold
    for (const h of hosts.slice(2)) interval(od, h, 50, 0);
    at(clock, 10_000);
    assert.equal(od.stats.ejections_detected_failure_percentage, 1);
    assert.equal(od.stats.ejections_enforced_failure_percentage, enforcing === 100 ? 1 : 0);
    assert.equal(hosts[0]!.failedOutlierCheck, enforcing === 100);
    assert.equal(hosts[1]!.failedOutlierCheck, false);
    assert.equal(od.stats.ejections_detected_success_rate, 0, 'volume 50 < 100: no success-rate detection');
    const ev = od.events.at(-1)!;
    assert.equal(ev.type, 'failure_percentage');
    assert.equal(ev.enforced, enforcing === 100);
    assert.equal(ev.hostSuccessRate, 10);
    od.close();
  }
});

test('failure percentage needs failure_percentage_minimum_hosts hosts', () => {
  const { clock, hosts, od } = setup(5, {
    enforcingFailurePercentage: 100,
    maxEjectionPercent: 100,
    consecutive5xx: 1000,
    consecutiveGatewayFailure: 1000,
  });
  interval(od, hosts[0]!, 0, 50);
  for (const h of hosts.slice(1, 4)) interval(od, h, 50, 0);
  at(clock, 10_000);
  assert.equal(od.stats.ejections_detected_failure_percentage, 0);
  od.close();
});

test('non-split mode: connect failures and resets count as 503, timeouts as 504, connect success is nothing', () => {
  const { hosts, od } = setup(10, { enforcingConsecutiveGatewayFailure: 100, consecutive5xx: 1000 });
  const a = hosts[0]!;
  od.reportLocalOrigin(a, 'connect-failure');
  od.reportLocalOrigin(a, 'reset');
  od.reportLocalOrigin(a, 'timeout');
  od.reportLocalOrigin(a, 'connect-success'); // does not reset anything
  od.reportLocalOrigin(a, 'timeout');
  assert.equal(a.failedOutlierCheck, false);
  od.reportLocalOrigin(a, 'connect-failure');
  assert.equal(a.failedOutlierCheck, true);
  assert.equal(od.stats.ejections_enforced_consecutive_gateway_failure, 1);
  assert.equal(od.stats.ejections_detected_consecutive_local_origin_failure, 0);
  od.close();

  const d = setup(10);
  for (let i = 0; i < 4; i++) d.od.reportLocalOrigin(d.hosts[1]!, 'connect-failure');
  d.od.reportHttpStatus(d.hosts[1]!, 200);
  d.od.reportLocalOrigin(d.hosts[1]!, 'connect-failure');
  assert.equal(d.hosts[1]!.failedOutlierCheck, false, 'a 200 resets the shared counter');
  for (let i = 0; i < 4; i++) d.od.reportLocalOrigin(d.hosts[1]!, 'timeout');
  assert.equal(d.hosts[1]!.failedOutlierCheck, true);
  assert.equal(d.od.stats.ejections_enforced_consecutive_5xx, 1);
  d.od.close();
});

test('split mode: local-origin failures have their own counter and type', () => {
  const { hosts, od } = setup(10, { splitExternalLocalOriginErrors: true });
  const [a, b] = [hosts[0]!, hosts[1]!];
  // Local-origin failures do not touch the 5xx counter, and 503 responses do not touch the local one.
  replies(od, a, ...times(4, 503));
  for (let i = 0; i < 4; i++) od.reportLocalOrigin(a, 'connect-failure');
  od.reportLocalOrigin(a, 'connect-success'); // resets the local-origin counter only
  for (let i = 0; i < 4; i++) od.reportLocalOrigin(a, 'timeout');
  assert.equal(a.failedOutlierCheck, false);
  od.reportLocalOrigin(a, 'reset');
  assert.equal(a.failedOutlierCheck, true);
  assert.equal(od.stats.ejections_detected_consecutive_local_origin_failure, 1);
  assert.equal(od.stats.ejections_enforced_consecutive_local_origin_failure, 1);
  assert.equal(od.stats.ejections_detected_consecutive_5xx, 0);
  assert.equal(od.events.at(-1)!.type, 'consecutive_local_origin_failure');
  // The 5xx counter of B runs independently of its local-origin results.
  replies(od, b, ...times(4, 500));
  od.reportLocalOrigin(b, 'connect-success');
  replies(od, b, 500);
  assert.equal(od.stats.ejections_detected_consecutive_5xx, 1);
  od.close();
});

test('split mode: local-origin success rate ejects with its own type and cluster figures', () => {
  const { clock, hosts, od } = setup(5, { splitExternalLocalOriginErrors: true, maxEjectionPercent: 20 });
  for (let i = 0; i < 50; i++) {
    od.reportLocalOrigin(hosts[0]!, 'connect-failure');
    od.reportLocalOrigin(hosts[0]!, 'connect-success');
  }
  for (const h of hosts.slice(1)) for (let i = 0; i < 100; i++) od.reportLocalOrigin(h, 'connect-success');
  at(clock, 10_000);
  assert.equal(hosts[0]!.failedOutlierCheck, true);
  assert.equal(od.stats.ejections_enforced_local_origin_success_rate, 1);
  assert.equal(od.stats.ejections_detected_success_rate, 0);
  assert.equal(od.localOriginSuccessRateAverage, 90);
  assert.equal(od.successRateAverage, -1, 'no external data');
  assert.equal(od.snapshot().hosts[0]!.localOriginSuccessRate, 50);
  assert.equal(od.snapshot().hosts[0]!.successRate, -1);
  assert.equal(od.events.at(-1)!.type, 'local_origin_success_rate');
  od.close();
});

test('split mode: enforcingLocalOriginSuccessRate 0 (Envoy Gateway) only detects', () => {
  const { clock, hosts, od } = setup(5, {
    splitExternalLocalOriginErrors: true,
    maxEjectionPercent: 20,
    enforcingLocalOriginSuccessRate: 0,
  });
  for (let i = 0; i < 50; i++) {
    od.reportLocalOrigin(hosts[0]!, 'connect-failure');
    od.reportLocalOrigin(hosts[0]!, 'connect-success');
  }
  for (const h of hosts.slice(1)) for (let i = 0; i < 100; i++) od.reportLocalOrigin(h, 'connect-success');
  at(clock, 10_000);
  assert.equal(hosts[0]!.failedOutlierCheck, false);
  assert.equal(od.stats.ejections_detected_local_origin_success_rate, 1);
  od.close();
});

test('successfulActiveHealthCheck unejects at once unless active HC fails or the option is off', () => {
  const { hosts, od, changes } = setup(10);
  const a = hosts[0]!;
  replies(od, a, ...times(5, 500));
  a.failedActiveHc = true;
  od.successfulActiveHealthCheck(a);
  assert.equal(a.failedOutlierCheck, true, 'still failing active HC');
  a.failedActiveHc = false;
  od.successfulActiveHealthCheck(a);
  assert.equal(a.failedOutlierCheck, false);
  assert.equal(od.stats.ejections_active, 0);
  assert.equal(changes(), 2);
  assert.equal(od.events.at(-1)!.action, 'uneject');
  od.successfulActiveHealthCheck(a); // not ejected: nothing
  assert.equal(changes(), 2);
  od.close();

  const off = setup(10, { successfulActiveHealthCheckUnejectHost: false });
  replies(off.od, off.hosts[0]!, ...times(5, 500));
  off.od.successfulActiveHealthCheck(off.hosts[0]!);
  assert.equal(off.hosts[0]!.failedOutlierCheck, true);
  off.od.close();
});

test('setHosts keeps the state of hosts that stay (by key) and forgets removed ones', () => {
  const { clock, hosts, od } = setup(10);
  const a = hosts[0]!;
  replies(od, a, ...times(5, 500));
  replies(od, hosts[1]!, ...times(4, 500));
  // Same endpoints as new Host objects, minus the last one.
  const next = makeHosts(9);
  od.setHosts(next);
  assert.equal(next[0]!.failedOutlierCheck, true, 'the ejection follows the key');
  assert.equal(a.failedOutlierCheck, false, 'the replaced object is released');
  assert.equal(od.stats.ejections_active, 1);
  od.reportHttpStatus(next[1]!, 500);
  assert.equal(od.stats.ejections_overflow, 1, 'the counter of 4 survived; 2 of 9 is over 10%');
  od.setHosts(next.slice(1));
  assert.equal(od.stats.ejections_active, 0);
  assert.equal(next[0]!.failedOutlierCheck, false);
  od.reportHttpStatus(next[0]!, 500); // unknown host: ignored
  at(clock, 50_000);
  assert.equal(od.snapshot().hosts.length, 8);
  // A host that comes back starts fresh.
  od.setHosts(next);
  assert.equal(od.snapshot().hosts[0]!.numEjections, 0);
  od.close();
});

test('events keep only the newest N; timestamps are wall-clock', () => {
  const { clock, hosts, od } = setup(10, {}, { maxEvents: 3 });
  for (let i = 0; i < 3; i++) {
    replies(od, hosts[0]!, ...times(5, 500));
    while (hosts[0]!.failedOutlierCheck) clock.advance(10_000);
  }
  assert.equal(od.events.length, 3);
  assert.deepEqual(
    od.events.map((e) => e.action),
    ['uneject', 'eject', 'uneject'],
  );
  assert.equal(od.events.at(-1)!.time, clock.wallNow());
  assert.equal(od.events.at(-1)!.host, '127.0.0.1:9000');
  od.close();
});

test('start is idempotent and close stops the sweep', () => {
  const { clock, hosts, od } = setup(10);
  od.start();
  assert.equal(clock.pending, 1);
  replies(od, hosts[0]!, ...times(5, 500));
  od.close();
  assert.equal(clock.pending, 0);
  clock.advance(100_000);
  assert.equal(hosts[0]!.failedOutlierCheck, true, 'no ticks, no unejection');
});

test('noopOutlierMonitor accepts reports and does nothing', () => {
  const [h] = makeHosts(1);
  noopOutlierMonitor.reportHttpStatus(h!, 503);
  noopOutlierMonitor.reportLocalOrigin(h!, 'connect-failure');
  assert.equal(h!.failedOutlierCheck, false);
});
