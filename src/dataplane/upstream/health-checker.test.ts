import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ManualClock } from '../../common/clock.js';
import { seededRandom, type Random } from '../../common/random.js';
import type * as ir from '../../ir/index.js';
import type { Host } from './host.js';
import { testHosts } from '../../../test/helpers/hosts.js';
import {
  HealthChecker,
  decodeHealthCheckResponse,
  decodeHexPayload,
  encodeHealthCheckRequest,
  matchPayloads,
  statusInRanges,
  type CheckOutcome,
  type CheckSession,
} from './health-checker.js';

const makeHosts = (n: number) => testHosts(n);

function hc(patch: Partial<ir.HealthCheck> = {}): ir.HealthCheck {
  return {
    kind: 'http',
    intervalMs: 1000,
    timeoutMs: 100,
    healthyThreshold: 1,
    unhealthyThreshold: 3,
    http: { path: '/healthz', expectedStatuses: [[200, 201]] },
    origin: {},
    ...patch,
  };
}

const OK: CheckOutcome = { ok: true };
const S503: CheckOutcome = { ok: false, type: 'active', detail: 'unexpected status 503' };
const REFUSED: CheckOutcome = { ok: false, type: 'network', detail: 'ECONNREFUSED' };
type Step = CheckOutcome | 'hang';

/**
 * A checker driven by scripts: each host answers its checks with the next step of its script
 * (the last step repeats); 'hang' never answers, so the base's timeout fires.
 */
function setup(config: ir.HealthCheck, scripts: Step[][], random: Random = seededRandom(1)) {
  const clock = new ManualClock();
  const hosts = makeHosts(scripts.length);
  const script = new Map(hosts.map((h, i) => [h, scripts[i]!]));
  const checkTimes = new Map<Host, number[]>(hosts.map((h) => [h, []]));
  const changes: string[] = [];
  let closed = 0;
  const createSession = (host: Host): CheckSession => {
    let n = 0;
    return {
      check(): Promise<CheckOutcome> {
        const steps = script.get(host) ?? [OK];
        const step = steps[Math.min(n++, steps.length - 1)]!;
        checkTimes.get(host)?.push(clock.now());
        return step === 'hang' ? new Promise(() => {}) : Promise.resolve(step);
      },
      close() {
        closed++;
      },
    };
  };
  const checker = new HealthChecker(
    config,
    'backend',
    hosts,
    clock,
    random,
    (h) => changes.push(`${h.port}:${h.failedActiveHc ? 'failed' : 'healthy'}`),
    {
      createSession,
    },
  );
  /** Moves the clock 1 ms at a time, letting resolved checks land (and schedule the next) in between. */
  const advance = async (ms: number) => {
    for (let i = 0; i < ms; i++) {
      clock.advance(1);
      for (let j = 0; j < 4; j++) await Promise.resolve();
    }
    await flush();
  };
  return { clock, hosts, script, checker, changes, checkTimes, advance, closedCount: () => closed };
}

const flush = () => new Promise<void>((r) => setImmediate(r));

test('hosts start failed; the first success makes a new host healthy at once, even with healthy_threshold 3', async () => {
  const { hosts, checker, changes } = setup(hc({ healthyThreshold: 3 }), [[OK]]);
  const h = hosts[0]!;
  assert.equal(h.failedActiveHc, true);
  assert.equal(h.healthy, false);
  assert.equal(checker.stats.healthy, 0);
  checker.start();
  await flush();
  assert.equal(h.failedActiveHc, false);
  assert.deepEqual(changes, ['9000:healthy']);
  assert.equal(checker.stats.attempt, 1);
  assert.equal(checker.stats.success, 1);
  assert.equal(checker.stats.healthy, 1);
  const st = checker.hostStatus(h)!;
  assert.equal(st.lastResult, 'success');
  assert.equal(st.consecutiveSuccesses, 1);
  assert.equal(st.firstCheck, false);
  checker.close();
});

test('HTTP 503 once makes a healthy host unhealthy immediately even with unhealthy_threshold 3', async () => {
  const { hosts, checker, changes, advance } = setup(hc({ unhealthyThreshold: 3, intervalMs: 1000, noTrafficIntervalMs: 1000 }), [
    [OK, S503, OK],
  ]);
  checker.start();
  await flush();
  assert.equal(hosts[0]!.failedActiveHc, false);
  await advance(1000);
  assert.equal(hosts[0]!.failedActiveHc, true);
  assert.equal(hosts[0]!.activeHcTimeout, false);
  assert.deepEqual(changes, ['9000:healthy', '9000:failed']);
  assert.equal(checker.stats.failure, 1);
  assert.equal(checker.stats.network_failure, 0);
  assert.equal(checker.stats.healthy, 0);
  assert.equal(checker.hostStatus(hosts[0]!)!.lastDetail, 'unexpected status 503');
  // healthy_threshold 1: the next success brings it back.
  await advance(1000);
  assert.equal(hosts[0]!.failedActiveHc, false);
  checker.close();
});

test('timeouts x3 -> unhealthy at the 3rd (NETWORK_TIMEOUT counts toward the threshold), with active_hc_timeout', async () => {
  const { hosts, checker, changes, advance } = setup(
    hc({ unhealthyThreshold: 3, timeoutMs: 100, intervalMs: 1000, noTrafficIntervalMs: 1000 }),
    [[OK, 'hang']],
  );
  const h = hosts[0]!;
  checker.start();
  await flush();
  assert.equal(h.failedActiveHc, false);
  // Check 2 at t=1000 times out at 1100; check 3 at 2100 -> 2200; check 4 at 3200 -> 3300.
  await advance(1100);
  assert.equal(h.failedActiveHc, false);
  assert.equal(checker.hostStatus(h)!.lastResult, 'network_timeout');
  await advance(1100);
  assert.equal(h.failedActiveHc, false);
  assert.equal(h.activeHcTimeout, false);
  await advance(1100);
  assert.equal(h.failedActiveHc, true);
  assert.equal(h.activeHcTimeout, true);
  assert.equal(h.healthFlags, '/failed_active_hc/active_hc_timeout');
  assert.deepEqual(changes, ['9000:healthy', '9000:failed']);
  assert.equal(checker.stats.attempt, 4);
  assert.equal(checker.stats.failure, 3);
  assert.equal(checker.stats.network_failure, 0, 'Envoy counts NETWORK only, not NETWORK_TIMEOUT');
  assert.equal(checker.hostStatus(h)!.consecutiveFailures, 3);
  checker.close();
});

test('network failures count toward unhealthy_threshold and a success in between resets the count', async () => {
  const { hosts, checker, advance } = setup(hc({ unhealthyThreshold: 2, intervalMs: 10, noTrafficIntervalMs: 10 }), [
    [OK, REFUSED, OK, REFUSED, REFUSED],
  ]);
  const h = hosts[0]!;
  checker.start();
  await flush();
  await advance(10); // refused (1)
  assert.equal(h.failedActiveHc, false);
  await advance(10); // ok: count reset
  await advance(10); // refused (1)
  assert.equal(h.failedActiveHc, false);
  await advance(10); // refused (2)
  assert.equal(h.failedActiveHc, true);
  assert.equal(h.activeHcTimeout, false);
  assert.equal(checker.stats.network_failure, 3);
  checker.close();
});

test('a retriable active failure counts toward the threshold instead of failing at once', async () => {
  const retriable: CheckOutcome = { ok: false, type: 'active', retriable: true, detail: '429' };
  const { hosts, checker, advance } = setup(hc({ unhealthyThreshold: 2, intervalMs: 10, noTrafficIntervalMs: 10 }), [[OK, retriable]]);
  checker.start();
  await flush();
  await advance(10);
  assert.equal(hosts[0]!.failedActiveHc, false);
  await advance(10);
  assert.equal(hosts[0]!.failedActiveHc, true);
  checker.close();
});

test('healthy_threshold 2: an unhealthy host needs two consecutive successes to come back', async () => {
  const { hosts, checker, changes, advance } = setup(hc({ healthyThreshold: 2, intervalMs: 10, noTrafficIntervalMs: 10 }), [
    [OK, S503, OK, S503, OK, OK, OK],
  ]);
  const h = hosts[0]!;
  checker.start();
  await flush();
  assert.equal(h.failedActiveHc, false);
  await advance(10); // 503
  assert.equal(h.failedActiveHc, true);
  await advance(10); // ok (1 of 2)
  assert.equal(h.failedActiveHc, true);
  await advance(10); // 503 resets
  await advance(10); // ok (1)
  assert.equal(h.failedActiveHc, true);
  await advance(10); // ok (2)
  assert.equal(h.failedActiveHc, false);
  assert.deepEqual(changes, ['9000:healthy', '9000:failed', '9000:healthy']);
  checker.close();
});

test('a new host whose first check fails needs healthy_threshold successes afterwards', async () => {
  const { hosts, checker, changes, advance } = setup(hc({ healthyThreshold: 2, intervalMs: 10, noTrafficIntervalMs: 10 }), [
    [REFUSED, OK, OK],
  ]);
  const h = hosts[0]!;
  checker.start();
  await flush();
  assert.equal(h.failedActiveHc, true);
  assert.deepEqual(changes, [], 'already failed: no flip');
  await advance(10);
  assert.equal(h.failedActiveHc, true);
  await advance(10);
  assert.equal(h.failedActiveHc, false);
  checker.close();
});

test('a timeout while already failed sets active_hc_timeout; a later non-timeout failure clears it', async () => {
  const { hosts, checker, advance } = setup(hc({ intervalMs: 1000, noTrafficIntervalMs: 1000, timeoutMs: 100 }), [['hang', S503]]);
  const h = hosts[0]!;
  checker.start();
  await advance(100);
  assert.equal(h.failedActiveHc, true);
  assert.equal(h.activeHcTimeout, true);
  await advance(1000);
  assert.equal(h.activeHcTimeout, false);
  checker.close();
});

test('an answer arriving after the timeout is ignored; the abort signal fires', async () => {
  const clock = new ManualClock();
  const [h] = makeHosts(1);
  let resolveLate: ((o: CheckOutcome) => void) | undefined;
  let aborted = false;
  const checker = new HealthChecker(hc({ timeoutMs: 50 }), 'backend', [h!], clock, seededRandom(1), () => {}, {
    createSession: () => ({
      check: (signal) => {
        signal.addEventListener('abort', () => (aborted = true));
        return new Promise((r) => (resolveLate = r));
      },
      close() {},
    }),
  });
  checker.start();
  clock.advance(50);
  assert.equal(aborted, true);
  resolveLate!(OK);
  await flush();
  assert.equal(h!.failedActiveHc, true);
  assert.equal(checker.stats.success, 0);
  assert.equal(checker.hostStatus(h!)!.lastResult, 'network_timeout');
  checker.close();
});

test('interval jitter: the delay is interval + [0, interval_jitter), and checks follow it', async () => {
  const cfg = hc({ intervalMs: 1000, intervalJitterMs: 200, noTrafficIntervalMs: 5000 });
  const { checker, hosts, checkTimes, advance } = setup(cfg, [[OK]], seededRandom(42));
  checker.markTraffic();
  const seen = new Set<number>();
  for (let i = 0; i < 2000; i++) {
    const d = checker.nextIntervalMs();
    assert.ok(d >= 1000 && d < 1200, `${d}`);
    assert.equal(Number.isInteger(d), true);
    seen.add(d);
  }
  assert.ok(seen.size > 150, 'the jitter spreads');
  checker.start();
  await flush();
  for (let i = 0; i < 20; i++) await advance(100);
  const times = checkTimes.get(hosts[0]!)!;
  assert.ok(times.length >= 2);
  for (let i = 1; i < times.length; i++) {
    const gap = times[i]! - times[i - 1]!;
    assert.ok(gap >= 1000 && gap < 1200, `gap ${gap}`);
  }
  checker.close();
});

test('no jitter configured: exactly the interval, and Random is never used', () => {
  const random: Random = {
    next: () => assert.fail('random used'),
    uint32: () => assert.fail('random used'),
  };
  const { checker } = setup(hc({ intervalMs: 700 }), [[OK]], random);
  checker.markTraffic();
  assert.equal(checker.nextIntervalMs(), 700);
  checker.close();
});

test('no_traffic_interval (default 60 s) until markTraffic; interval from the next scheduled check on', async () => {
  const { checker, hosts, checkTimes, advance } = setup(hc({ intervalMs: 1000 }), [[OK]]);
  assert.equal(checker.nextIntervalMs(), 60_000);
  checker.start();
  await flush();
  await advance(30_000);
  assert.deepEqual(checkTimes.get(hosts[0]!), [0]);
  checker.markTraffic();
  assert.equal(checker.hadTraffic, true);
  // As in Envoy, the check already scheduled keeps its time.
  await advance(29_999);
  assert.deepEqual(checkTimes.get(hosts[0]!), [0]);
  await advance(1);
  assert.deepEqual(checkTimes.get(hosts[0]!), [0, 60_000]);
  await advance(2000);
  assert.deepEqual(checkTimes.get(hosts[0]!), [0, 60_000, 61_000, 62_000]);
  checker.close();
});

test('setHosts: new hosts start failed and are checked at once; removed hosts stop being checked', async () => {
  const { checker, hosts, clock, advance, closedCount } = setup(hc({ intervalMs: 100, noTrafficIntervalMs: 100 }), [[OK], [OK]]);
  const [a, b] = hosts as [Host, Host];
  checker.setHosts([a]);
  assert.equal(checker.snapshot().length, 1);
  assert.equal(closedCount(), 1);
  checker.start();
  await flush();
  assert.equal(a.failedActiveHc, false);
  assert.equal(checker.stats.healthy, 1);
  const [c] = makeHosts(1).map((h) => h);
  checker.setHosts([a, c!]);
  assert.equal(c!.failedActiveHc, true);
  await flush();
  assert.equal(c!.failedActiveHc, false);
  assert.equal(checker.stats.healthy, 2);
  checker.setHosts([c!]);
  assert.equal(checker.stats.healthy, 1);
  assert.equal(checker.hostStatus(a), undefined);
  await advance(1000);
  assert.equal(checker.stats.attempt, 2 + 10);
  assert.equal(b.failedActiveHc, true, 'b was removed before start and never checked');
  checker.close();
  assert.equal(clock.pending, 0);
});

test('reportImmediateFailure: a PASSIVE failure fails the host at once, until active checks pass', async () => {
  const { checker, hosts, changes, advance } = setup(hc({ intervalMs: 100, noTrafficIntervalMs: 100, unhealthyThreshold: 5 }), [[OK]]);
  const h = hosts[0]!;
  checker.start();
  await flush();
  checker.reportImmediateFailure(h);
  assert.equal(h.failedActiveHc, true);
  assert.equal(checker.stats.passive_failure, 1);
  assert.equal(checker.stats.failure, 1);
  await advance(100);
  assert.equal(h.failedActiveHc, false);
  assert.deepEqual(changes, ['9000:healthy', '9000:failed', '9000:healthy']);
  checker.close();
});

test('onCheckComplete runs after every applied result, with whether the host flipped', async () => {
  const clock = new ManualClock();
  const [h] = makeHosts(1);
  const steps: CheckOutcome[] = [OK, OK, S503];
  let n = 0;
  const log: string[] = [];
  const checker = new HealthChecker(
    hc({ intervalMs: 10, noTrafficIntervalMs: 10 }),
    'backend',
    [h!],
    clock,
    seededRandom(1),
    () => log.push('change'),
    {
      createSession: () => ({ check: () => Promise.resolve(steps[Math.min(n++, 2)]!), close() {} }),
      onCheckComplete: (host, result, changed) => log.push(`${host.port} ${result} ${changed}`),
    },
  );
  checker.start();
  await flush();
  clock.advance(10);
  await flush();
  clock.advance(10);
  await flush();
  checker.reportImmediateFailure(h!);
  assert.deepEqual(log, ['change', '9000 success true', '9000 success false', 'change', '9000 active true', '9000 passive false']);
  checker.close();
});

test('close stops every timer and closes the sessions', async () => {
  const { checker, clock, closedCount } = setup(hc(), [['hang'], [OK]]);
  checker.start();
  await flush();
  assert.ok(clock.pending > 0);
  checker.close();
  assert.equal(clock.pending, 0);
  assert.equal(closedCount(), 2);
  checker.start();
  assert.equal(clock.pending, 0);
});

test('a session whose check throws or rejects counts as a network failure', async () => {
  const clock = new ManualClock();
  const hosts = makeHosts(2);
  const checker = new HealthChecker(hc(), 'backend', hosts, clock, seededRandom(1), () => {}, {
    createSession: (h) => ({
      check: () => {
        if (h.port === 9000) throw new Error('boom');
        return Promise.reject(new Error('nope'));
      },
      close() {},
    }),
  });
  checker.start();
  await flush();
  assert.equal(checker.stats.network_failure, 2);
  assert.equal(checker.hostStatus(hosts[0]!)!.lastDetail, 'boom');
  checker.close();
});

test('an invalid TCP payload fails every check instead of throwing', async () => {
  const clock = new ManualClock();
  const [h] = makeHosts(1);
  const checker = new HealthChecker(hc({ kind: 'tcp', tcp: { send: 'xyz' } }), 'backend', [h!], clock, seededRandom(1), () => {});
  checker.start();
  await flush();
  assert.equal(h!.failedActiveHc, true);
  assert.match(checker.hostStatus(h!)!.lastDetail ?? '', /invalid hex payload/);
  checker.close();
});

test('protocol helpers: status ranges, hex payloads, payload matching, gRPC health encoding', () => {
  assert.equal(statusInRanges(200, [[200, 201]]), true);
  assert.equal(statusInRanges(201, [[200, 201]]), false);
  assert.equal(
    statusInRanges(204, [
      [200, 201],
      [204, 205],
    ]),
    true,
  );

  assert.deepEqual(decodeHexPayload('50 49 4e 47'), Buffer.from('PING'));
  assert.deepEqual(decodeHexPayload('504F4E47'), Buffer.from('PONG'));
  assert.throws(() => decodeHexPayload('abc'));
  assert.throws(() => decodeHexPayload('zz'));

  assert.equal(matchPayloads([Buffer.from('PO'), Buffer.from('NG')], Buffer.from('xxPOyyNG')), true);
  assert.equal(matchPayloads([Buffer.from('NG'), Buffer.from('PO')], Buffer.from('PONG')), false);
  assert.equal(matchPayloads([], Buffer.alloc(0)), true);

  assert.deepEqual(encodeHealthCheckRequest(''), Buffer.from([0, 0, 0, 0, 0]));
  assert.deepEqual(encodeHealthCheckRequest('a.B'), Buffer.from([0, 0, 0, 0, 5, 0x0a, 3, 0x61, 0x2e, 0x42]));
  const long = encodeHealthCheckRequest('x'.repeat(200));
  assert.equal(long.readUInt32BE(1), 203);
  assert.deepEqual([...long.subarray(5, 8)], [0x0a, 0xc8, 0x01]);

  assert.equal(decodeHealthCheckResponse(Buffer.from([0x08, 0x01])), 1);
  assert.equal(decodeHealthCheckResponse(Buffer.from([0x08, 0x02])), 2);
  assert.equal(decodeHealthCheckResponse(Buffer.alloc(0)), 0);
  // Unknown fields (2: string, 3: fixed32) are skipped.
  assert.equal(decodeHealthCheckResponse(Buffer.from([0x12, 0x01, 0x41, 0x1d, 1, 2, 3, 4, 0x08, 0x01])), 1);
  assert.throws(() => decodeHealthCheckResponse(Buffer.from([0x08])));
  assert.throws(() => decodeHealthCheckResponse(Buffer.from([0x12, 0x05, 0x41])));
});
