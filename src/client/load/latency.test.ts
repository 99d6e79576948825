import { test } from 'node:test';
import assert from 'node:assert/strict';
import { LatencyRecorder } from './latency.js';

test('percentiles within the histogram precision (3 significant digits)', () => {
  const r = new LatencyRecorder();
  for (let i = 1; i <= 1000; i++) r.recordMs(i / 10); // 0.1 ms .. 100 ms
  const s = r.stats();
  assert.equal(r.count, 1000);
  assert.ok(Math.abs(s.p50 - 50) <= 0.05, `p50 ${s.p50}`);
  assert.ok(Math.abs(s.p90 - 90) <= 0.1, `p90 ${s.p90}`);
  assert.ok(Math.abs(s.p99 - 99) <= 0.1, `p99 ${s.p99}`);
  assert.ok(Math.abs(s.max - 100) <= 0.1 && Math.abs(s.min - 0.1) <= 0.001, `${s.min} ${s.max}`);
  assert.ok(Math.abs(s.mean - 50.05) <= 0.1, `mean ${s.mean}`);
});

test('percentiles never pass the maximum', () => {
  const r = new LatencyRecorder();
  for (const v of [1.0011, 2.0027, 3.0049, 7.0123]) r.recordMs(v);
  const s = r.stats();
  assert.ok(s.p50 <= s.p90 && s.p90 <= s.p99 && s.p99 <= s.max, JSON.stringify(s));
  assert.equal(s.max, 7.012);
});

test('buckets: linear for a narrow range, ratio-spaced for a long tail, counts add up', () => {
  const narrow = new LatencyRecorder();
  for (let i = 0; i < 100; i++) narrow.recordMs(10 + (i % 10));
  const n = narrow.buckets(10);
  assert.equal(n.length, 10);
  assert.equal(
    n.reduce((a, b) => a + b.count, 0),
    100,
  );
  assert.ok(
    n.every((b) => b.count === 10),
    JSON.stringify(n),
  );
  assert.ok(Math.abs(n[9]!.upToMs - 19) < 0.02);

  const tail = new LatencyRecorder();
  for (let i = 0; i < 90; i++) tail.recordMs(1);
  for (let i = 0; i < 10; i++) tail.recordMs(1000);
  const t = tail.buckets(10);
  assert.equal(t[0]!.count, 90);
  assert.equal(t[9]!.count, 10);
  assert.ok(t[4]!.upToMs > 20 && t[4]!.upToMs < 40, `middle bound ${t[4]!.upToMs}`); // 1000^(1/2) = 31.6

  assert.deepEqual(new LatencyRecorder().buckets(), []);
  assert.deepEqual(new LatencyRecorder().stats(), { min: 0, mean: 0, p50: 0, p90: 0, p99: 0, max: 0 });
});
