import { test } from 'node:test';
import assert from 'node:assert/strict';
import type * as ir from '../../ir/index.js';
import { seededRandom, type Random } from '../../common/random.js';
import { compileFault, FaultLimiter, newFaultSlot, FAULT_ABORT_BODY, FAULT_STATS, type CompiledFault, type FaultHeaders } from './fault.js';
import { resetCounters } from '../stats/define-stats.js';

const pct = (numerator: number, denominator: ir.FractionalPercent['denominator'] = 100): ir.FractionalPercent => ({
  numerator,
  denominator,
});

function policy(p: Partial<ir.FaultPolicy>): ir.FaultPolicy {
  return { scope: 'request', origin: {}, ...p };
}

/** A Random whose uint32() returns the given values in turn. */
function fixedRandom(...values: number[]): Random {
  let i = 0;
  const uint32 = () => values[i++ % values.length]!;
  return { uint32, next: () => uint32() / 0x1_0000_0000 };
}

/** Runs n independent requests (each with its own slot, released at once); returns how many were delayed. */
function delayedCount(f: CompiledFault, n: number, headers: FaultHeaders = {}, seed = 1): number {
  const random = seededRandom(seed);
  const limiter = new FaultLimiter();
  let hits = 0;
  for (let i = 0; i < n; i++) {
    const slot = newFaultSlot();
    if (f.decideDelay(headers, random, limiter, slot) > 0) hits++;
    limiter.releaseSlot(slot);
  }
  assert.equal(limiter.active, 0);
  assert.equal(limiter.stats.delays_injected, hits);
  return hits;
}

function abortedCount(f: CompiledFault, n: number, headers: FaultHeaders = {}, seed = 1): number {
  const random = seededRandom(seed);
  const limiter = new FaultLimiter();
  let hits = 0;
  for (let i = 0; i < n; i++) {
    const slot = newFaultSlot();
    if (f.decideAbort(headers, random, limiter, slot, false) !== null) hits++;
    limiter.releaseSlot(slot);
  }
  assert.equal(limiter.stats.aborts_injected, hits);
  return hits;
}

test("the abort body is Envoy's", () => {
  assert.equal(FAULT_ABORT_BODY, 'fault filter abort');
});

test('compile normalizes percentages, durations, statuses and max_active_faults', () => {
  const f = compileFault(
    policy({
      delay: { fixedMs: 12.9, percent: pct(150) },
      abort: { httpStatus: 503, grpcStatus: 14, percent: { numerator: 0.9999999, denominator: 1_000_000 } },
      maxActiveFaults: 2.7,
      scope: 'attempt',
    }),
  );
  assert.deepEqual(f.delay, { percent: { numerator: 100, denominator: 100 }, fixedMs: 12, fromHeader: false });
  assert.deepEqual(f.abort, {
    percent: { numerator: 1, denominator: 1_000_000 },
    httpStatus: 503,
    grpcStatus: undefined,
    fromHeader: false,
  });
  assert.equal(f.maxActiveFaults, 2);
  assert.equal(f.scope, 'attempt');
  assert.equal(f.enabled, true);

  // Unknown denominator: HUNDRED, the proto default; negative numerator: 0.
  const g = compileFault(policy({ delay: { fixedMs: 5, percent: { numerator: -3, denominator: 7 as 100 } }, maxActiveFaults: -1 }));
  assert.deepEqual(g.delay?.percent, { numerator: 0, denominator: 100 });
  assert.equal(g.maxActiveFaults, 0);
  assert.equal(compileFault(policy({ maxActiveFaults: Infinity })).maxActiveFaults, undefined);

  // Nothing usable: a zero delay, an abort without a valid status.
  const h = compileFault(policy({ delay: { fixedMs: 0, percent: pct(100) }, abort: { httpStatus: 600, percent: pct(100) } }));
  assert.equal(h.delay, undefined);
  assert.equal(h.abort, undefined);
  assert.equal(h.enabled, false);
  const limiter = new FaultLimiter();
  const slot = newFaultSlot();
  assert.equal(h.decideDelay({}, seededRandom(1), limiter, slot), 0);
  assert.equal(h.decideAbort({}, seededRandom(1), limiter, slot, false), null);
});

test('a clipped numerator (150/100) always fires', () => {
  const f = compileFault(policy({ delay: { fixedMs: 5, percent: pct(150) } }));
  assert.equal(delayedCount(f, 1000), 1000);
});

test('the roll is uint32 % denominator < numerator', () => {
  const f = compileFault(policy({ abort: { httpStatus: 503, percent: pct(1, 1_000_000) } }));
  const limiter = new FaultLimiter();
  const decide = (v: number) => f.decideAbort({}, fixedRandom(v), limiter, newFaultSlot(), false) !== null;
  assert.equal(decide(0), true);
  assert.equal(decide(1_000_000), true);
  assert.equal(decide(4_294_000_000), true); // 4294 x 10^6
  assert.equal(decide(1), false);
  assert.equal(decide(999_999), false);
  assert.equal(decide(1_000_001), false);

  const g = compileFault(policy({ delay: { fixedMs: 5, percent: pct(50) } }));
  const d = (v: number) => g.decideDelay({}, fixedRandom(v), limiter, newFaultSlot());
  assert.equal(d(49), 5);
  assert.equal(d(149), 5);
  assert.equal(d(50), 0);
  assert.equal(d(199), 0);
});

test('50/100 over 20000 requests fires 50% within 2 points', () => {
  const f = compileFault(policy({ delay: { fixedMs: 5, percent: pct(50) }, abort: { httpStatus: 503, percent: pct(50) } }));
  const delays = delayedCount(f, 20_000);
  assert.ok(Math.abs(delays / 20_000 - 0.5) < 0.02, `delays ${delays}`);
  const aborts = abortedCount(f, 20_000, {}, 2);
  assert.ok(Math.abs(aborts / 20_000 - 0.5) < 0.02, `aborts ${aborts}`);
});

test('TEN_THOUSAND and MILLION denominators', () => {
  // 1/10000 over 10^6: expect 100 (sd 10).
  const a = compileFault(policy({ abort: { httpStatus: 500, percent: pct(1, 10_000) } }));
  const n1 = abortedCount(a, 1_000_000, {}, 3);
  assert.ok(n1 >= 60 && n1 <= 140, `1/10000: ${n1}`);
  // 1000/10^6 over 10^6: expect 1000 (sd ~32).
  const b = compileFault(policy({ delay: { fixedMs: 1, percent: pct(1000, 1_000_000) } }));
  const n2 = delayedCount(b, 1_000_000, {}, 4);
  assert.ok(n2 >= 880 && n2 <= 1120, `1000/1000000: ${n2}`);
  // 1/10^6 over 4 x 10^6: expect 4; never more than a handful.
  const c = compileFault(policy({ delay: { fixedMs: 1, percent: pct(1, 1_000_000) } }));
  const n3 = delayedCount(c, 4_000_000, {}, 5);
  assert.ok(n3 >= 0 && n3 <= 15, `1/1000000: ${n3}`);
});

test('numerator 0 never fires, 100% always', () => {
  const never = compileFault(policy({ delay: { fixedMs: 5, percent: pct(0) }, abort: { httpStatus: 503, percent: pct(0, 1_000_000) } }));
  assert.equal(delayedCount(never, 10_000), 0);
  assert.equal(abortedCount(never, 10_000), 0);
  const always = compileFault(
    policy({ delay: { fixedMs: 5, percent: pct(100) }, abort: { httpStatus: 503, percent: pct(1_000_000, 1_000_000) } }),
  );
  assert.equal(delayedCount(always, 10_000), 10_000);
  assert.equal(abortedCount(always, 10_000), 10_000);
});

test('configured faults ignore the fault headers', () => {
  const f = compileFault(policy({ delay: { fixedMs: 7, percent: pct(100) }, abort: { httpStatus: 503, percent: pct(100) } }));
  const headers = {
    'x-envoy-fault-delay-request': '1000',
    'x-envoy-fault-delay-request-percentage': '0',
    'x-envoy-fault-abort-request': '418',
    'x-envoy-fault-abort-request-percentage': '0',
  };
  const limiter = new FaultLimiter();
  const slot = newFaultSlot();
  assert.equal(f.decideDelay(headers, seededRandom(1), limiter, slot), 7);
  assert.deepEqual(f.decideAbort(headers, seededRandom(1), limiter, slot, false), { httpStatus: 503, grpcStatus: undefined });
});

test('header-controlled abort and delay', () => {
  const f = compileFault(policy({ delay: { fromHeader: true, percent: pct(100) }, abort: { fromHeader: true, percent: pct(100) } }));
  const limiter = new FaultLimiter();
  const r = seededRandom(1);
  const slot = newFaultSlot();
  // No headers: nothing, and the slot is never taken.
  assert.equal(f.decideDelay({}, r, limiter, slot), 0);
  assert.equal(f.decideAbort({}, r, limiter, slot, false), null);
  assert.equal(limiter.active, 0);

  const h = { 'x-envoy-fault-delay-request': '250', 'x-envoy-fault-abort-request': '503' };
  assert.equal(f.decideDelay(h, r, limiter, slot), 250);
  assert.deepEqual(f.decideAbort(h, r, limiter, slot, false), { httpStatus: 503, grpcStatus: undefined });
  assert.deepEqual(limiter.stats, { aborts_injected: 1, delays_injected: 1, faults_overflow: 0, active_faults: 1 });
  limiter.releaseSlot(slot);
  assert.equal(limiter.active, 0);

  // Only the first value of a header counts.
  const s2 = newFaultSlot();
  assert.equal(f.decideDelay({ 'x-envoy-fault-delay-request': ['30', '40'] }, r, limiter, s2), 30);
  assert.deepEqual(f.decideAbort({ 'x-envoy-fault-abort-request': ['404', 'x'] }, r, limiter, s2, false), {
    httpStatus: 404,
    grpcStatus: undefined,
  });
  assert.equal(f.decideDelay({ 'x-envoy-fault-delay-request': ['x', '40'] }, r, limiter, newFaultSlot()), 0);
  limiter.releaseSlot(s2);

  // A delay of 0 is no delay.
  assert.equal(f.decideDelay({ 'x-envoy-fault-delay-request': '0' }, r, limiter, newFaultSlot()), 0);
  // absl::SimpleAtoi accepts surrounding whitespace and a '+'.
  assert.equal(f.decideDelay({ 'x-envoy-fault-delay-request': ' +15 ' }, r, limiter, newFaultSlot()), 15);
});

test('invalid header values are ignored', () => {
  const f = compileFault(policy({ delay: { fromHeader: true, percent: pct(100) }, abort: { fromHeader: true, percent: pct(100) } }));
  const limiter = new FaultLimiter();
  const r = seededRandom(1);
  for (const v of ['199', '600', '1000', 'abc', '-500', '5e2', '503.0', '0x1f7', '', '50 3']) {
    assert.equal(
      f.decideAbort({ 'x-envoy-fault-abort-request': v }, r, limiter, newFaultSlot(), false),
      null,
      `abort ${JSON.stringify(v)}`,
    );
  }
  for (const v of ['-1', '1.5', 'abc', '', '99999999999999999999']) {
    assert.equal(f.decideDelay({ 'x-envoy-fault-delay-request': v }, r, limiter, newFaultSlot()), 0, `delay ${JSON.stringify(v)}`);
    assert.equal(
      f.decideAbort({ 'x-envoy-fault-abort-grpc-request': v }, r, limiter, newFaultSlot(), true),
      null,
      `grpc ${JSON.stringify(v)}`,
    );
  }
  // 200 and 599 are the bounds.
  assert.deepEqual(f.decideAbort({ 'x-envoy-fault-abort-request': '200' }, r, limiter, newFaultSlot(), false), {
    httpStatus: 200,
    grpcStatus: undefined,
  });
  assert.deepEqual(f.decideAbort({ 'x-envoy-fault-abort-request': '599' }, r, limiter, newFaultSlot(), false), {
    httpStatus: 599,
    grpcStatus: undefined,
  });
  // An out-of-range HTTP status falls through to the gRPC header.
  assert.deepEqual(
    f.decideAbort({ 'x-envoy-fault-abort-request': '700', 'x-envoy-fault-abort-grpc-request': '8' }, r, limiter, newFaultSlot(), true),
    {
      httpStatus: 200,
      grpcStatus: 8,
    },
  );
  assert.equal(limiter.stats.delays_injected, 0);
  assert.equal(limiter.stats.aborts_injected, 3);
});

test('the percentage header is capped by the configured percentage (50/100, header 100 -> 50%)', () => {
  const f = compileFault(policy({ abort: { fromHeader: true, percent: pct(50) }, delay: { fromHeader: true, percent: pct(50) } }));
  const n = 20_000;
  const abortHeaders = (p?: string): FaultHeaders => ({
    'x-envoy-fault-abort-request': '503',
    ...(p === undefined ? {} : { 'x-envoy-fault-abort-request-percentage': p }),
  });
  const near = (hits: number, p: number) => Math.abs(hits / n - p) < 0.02;
  let hits = abortedCount(f, n, abortHeaders('100'));
  assert.ok(near(hits, 0.5), `header 100: ${hits}`);
  hits = abortedCount(f, n, abortHeaders('10'), 2);
  assert.ok(near(hits, 0.1), `header 10: ${hits}`);
  hits = abortedCount(f, n, abortHeaders(), 3);
  assert.ok(near(hits, 0.5), `no header: ${hits}`);
  hits = abortedCount(f, n, abortHeaders('bogus'), 4);
  assert.ok(near(hits, 0.5), `invalid header: ${hits}`);
  hits = abortedCount(f, n, abortHeaders('4294967296'), 5); // over uint32: invalid, configured 50%
  assert.ok(near(hits, 0.5), `uint32 overflow: ${hits}`);
  assert.equal(abortedCount(f, n, abortHeaders('0'), 6), 0);

  const delayHeaders = { 'x-envoy-fault-delay-request': '10', 'x-envoy-fault-delay-request-percentage': '100' };
  hits = delayedCount(f, n, delayHeaders, 7);
  assert.ok(near(hits, 0.5), `delay header 100: ${hits}`);
  assert.equal(delayedCount(f, n, { ...delayHeaders, 'x-envoy-fault-delay-request-percentage': '0' }, 8), 0);

  // A configured 0% stays 0% whatever the header says.
  const zero = compileFault(policy({ abort: { fromHeader: true, percent: pct(0) } }));
  assert.equal(abortedCount(zero, 1000, abortHeaders('100')), 0);
});

test('gRPC aborts', () => {
  const limiter = new FaultLimiter();
  const r = seededRandom(1);
  const grpc = compileFault(policy({ abort: { grpcStatus: 14, percent: pct(100) } }));
  // Trailers-only reply: HTTP 200 + grpc-status 14.
  assert.deepEqual(grpc.decideAbort({}, r, limiter, newFaultSlot(), true), { httpStatus: 200, grpcStatus: 14 });
  // On a non-gRPC request Envoy's local reply is a plain HTTP 200 with the body.
  assert.deepEqual(grpc.decideAbort({}, r, limiter, newFaultSlot(), false), { httpStatus: 200, grpcStatus: undefined });

  // An HTTP status on a gRPC request: the caller maps it (503 -> 14).
  const http = compileFault(policy({ abort: { httpStatus: 503, percent: pct(100) } }));
  assert.deepEqual(http.decideAbort({}, r, limiter, newFaultSlot(), true), { httpStatus: 503, grpcStatus: undefined });

  // Both configured: HTTP wins.
  const both = compileFault(policy({ abort: { httpStatus: 429, grpcStatus: 14, percent: pct(100) } }));
  assert.deepEqual(both.decideAbort({}, r, limiter, newFaultSlot(), true), { httpStatus: 429, grpcStatus: undefined });

  // Header-controlled: the gRPC header is not range-checked (Envoy casts it); the HTTP header wins.
  const hdr = compileFault(policy({ abort: { fromHeader: true, percent: pct(100) } }));
  assert.deepEqual(hdr.decideAbort({ 'x-envoy-fault-abort-grpc-request': '14' }, r, limiter, newFaultSlot(), true), {
    httpStatus: 200,
    grpcStatus: 14,
  });
  assert.deepEqual(hdr.decideAbort({ 'x-envoy-fault-abort-grpc-request': '0' }, r, limiter, newFaultSlot(), true), {
    httpStatus: 200,
    grpcStatus: 0,
  });
  assert.deepEqual(hdr.decideAbort({ 'x-envoy-fault-abort-grpc-request': '99' }, r, limiter, newFaultSlot(), true), {
    httpStatus: 200,
    grpcStatus: 99,
  });
  assert.deepEqual(
    hdr.decideAbort({ 'x-envoy-fault-abort-grpc-request': '14', 'x-envoy-fault-abort-request': '503' }, r, limiter, newFaultSlot(), true),
    { httpStatus: 503, grpcStatus: undefined },
  );
  assert.equal(limiter.stats.aborts_injected, 8);
});

test('max_active_faults 1: the second concurrent request is not faulted, faults_overflow == 1', () => {
  const f = compileFault(policy({ delay: { fixedMs: 100, percent: pct(100) }, maxActiveFaults: 1 }));
  const limiter = new FaultLimiter();
  const r = seededRandom(1);
  const a = newFaultSlot();
  const b = newFaultSlot();
  assert.equal(f.decideDelay({}, r, limiter, a), 100);
  assert.equal(f.decideDelay({}, r, limiter, b), 0);
  assert.equal(f.decideAbort({}, r, limiter, b, false), null); // no abort configured: no slot attempt
  assert.deepEqual(limiter.stats, { aborts_injected: 0, delays_injected: 1, faults_overflow: 1, active_faults: 1 });
  assert.equal(a.held, true);
  assert.equal(b.held, false);
  limiter.releaseSlot(b); // not held: no effect
  assert.equal(limiter.active, 1);

  // The slot comes back on release and the next request gets its delay.
  limiter.releaseSlot(a);
  assert.equal(limiter.active, 0);
  const c = newFaultSlot();
  assert.equal(f.decideDelay({}, r, limiter, c), 100);
  assert.equal(limiter.active, 1);
  limiter.releaseSlot(c);
  limiter.releaseSlot(c); // idempotent
  assert.equal(limiter.active, 0);
  assert.equal(limiter.stats.faults_overflow, 1);
});

test('the limiter is shared: a slot held by one route overflows another route of the listener', () => {
  const limiter = new FaultLimiter();
  const r = seededRandom(1);
  const routeA = compileFault(policy({ abort: { httpStatus: 503, percent: pct(100) }, maxActiveFaults: 1 }));
  const routeB = compileFault(policy({ abort: { httpStatus: 500, percent: pct(100) }, maxActiveFaults: 1 }));
  const s1 = newFaultSlot();
  assert.ok(routeA.decideAbort({}, r, limiter, s1, false));
  assert.equal(routeB.decideAbort({}, r, limiter, newFaultSlot(), false), null);
  assert.equal(limiter.stats.faults_overflow, 1);
  // Each route applies its own limit to the shared gauge.
  const routeC = compileFault(policy({ abort: { httpStatus: 500, percent: pct(100) }, maxActiveFaults: 2 }));
  assert.ok(routeC.decideAbort({}, r, limiter, newFaultSlot(), false));
  assert.equal(limiter.active, 2);
});

test('raw tryAcquire/release and max 0', () => {
  const limiter = new FaultLimiter();
  assert.equal(limiter.tryAcquire(undefined), true);
  assert.equal(limiter.tryAcquire(2), true);
  assert.equal(limiter.tryAcquire(2), false);
  assert.equal(limiter.active, 2);
  assert.equal(limiter.stats.faults_overflow, 1);
  limiter.release();
  limiter.release();
  limiter.release(); // never below 0
  assert.equal(limiter.active, 0);
  assert.equal(limiter.tryAcquire(0), false);
  assert.equal(limiter.stats.faults_overflow, 2);

  // max_active_faults 0: every fault overflows; with both faults at 100% a request counts twice.
  const f = compileFault(
    policy({ delay: { fixedMs: 5, percent: pct(100) }, abort: { httpStatus: 503, percent: pct(100) }, maxActiveFaults: 0 }),
  );
  const l2 = new FaultLimiter();
  const s = newFaultSlot();
  assert.equal(f.decideDelay({}, seededRandom(1), l2, s), 0);
  assert.equal(f.decideAbort({}, seededRandom(1), l2, s, false), null);
  assert.deepEqual(l2.stats, { aborts_injected: 0, delays_injected: 0, faults_overflow: 2, active_faults: 0 });

  // Counters reset with the shared helper, the gauge stays.
  limiter.tryAcquire(undefined);
  resetCounters(FAULT_STATS, limiter.stats);
  assert.deepEqual(limiter.stats, { aborts_injected: 0, delays_injected: 0, faults_overflow: 0, active_faults: 1 });
});

test('delay then abort on the same request use one slot', () => {
  const f = compileFault(
    policy({ delay: { fixedMs: 20, percent: pct(100) }, abort: { httpStatus: 503, percent: pct(100) }, maxActiveFaults: 1 }),
  );
  const limiter = new FaultLimiter();
  const r = seededRandom(1);
  const slot = newFaultSlot();
  assert.equal(f.decideDelay({}, r, limiter, slot), 20);
  assert.equal(limiter.active, 1);
  // At the limit, but the request already holds its slot: the abort is not an overflow.
  assert.deepEqual(f.decideAbort({}, r, limiter, slot, false), { httpStatus: 503, grpcStatus: undefined });
  assert.deepEqual(limiter.stats, { aborts_injected: 1, delays_injected: 1, faults_overflow: 0, active_faults: 1 });
  limiter.releaseSlot(slot);
  assert.equal(limiter.active, 0);
});

test('a delay without an abort gives its slot back once the delay is over (Envoy postDelayInjection)', () => {
  const f = compileFault(
    policy({ delay: { fixedMs: 20, percent: pct(100) }, abort: { httpStatus: 503, percent: pct(0) }, maxActiveFaults: 1 }),
  );
  const limiter = new FaultLimiter();
  const r = seededRandom(1);
  const slot = newFaultSlot();
  assert.equal(f.decideDelay({}, r, limiter, slot), 20);
  assert.equal(limiter.active, 1);
  assert.equal(f.decideAbort({}, r, limiter, slot, false), null);
  assert.equal(slot.held, false);
  assert.equal(limiter.active, 0);
  limiter.releaseSlot(slot); // the caller's release at stream end is harmless
  assert.equal(limiter.active, 0);
  // The next request can be delayed while the first one is still proxying.
  assert.equal(f.decideDelay({}, r, limiter, newFaultSlot()), 20);
});

test('abort percentage is a separate roll from the delay', () => {
  // delay 50%, abort 50%: about a quarter of requests get both, independent rolls.
  const f = compileFault(policy({ delay: { fixedMs: 1, percent: pct(50) }, abort: { httpStatus: 503, percent: pct(50) } }));
  const limiter = new FaultLimiter();
  const r = seededRandom(9);
  let both = 0;
  const n = 20_000;
  for (let i = 0; i < n; i++) {
    const slot = newFaultSlot();
    const d = f.decideDelay({}, r, limiter, slot);
    const a = f.decideAbort({}, r, limiter, slot, false);
    if (d > 0 && a) both++;
    limiter.releaseSlot(slot);
  }
  assert.ok(Math.abs(both / n - 0.25) < 0.02, `both ${both}`);
  assert.ok(Math.abs(limiter.stats.delays_injected / n - 0.5) < 0.02);
  assert.ok(Math.abs(limiter.stats.aborts_injected / n - 0.5) < 0.02);
  assert.equal(limiter.active, 0);
});
