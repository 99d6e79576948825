import { test } from 'node:test';
import assert from 'node:assert/strict';
import { addCells, cellsQuantiles, ENVOY_DEFAULT_BUCKETS, ENVOY_QUANTILES, Histogram, HistogramWindow, newCells } from './histogram.js';

const idx = (bound: number) => ENVOY_DEFAULT_BUCKETS.indexOf(bound);

test("Envoy's default buckets, upper bounds inclusive (Prometheus `le`)", () => {
  const h = new Histogram();
  h.record(1); // le=1
  h.record(1.0001); // le=5
  h.record(5); // le=5
  h.record(0); // le=0.5
  h.record(-3); // negative counts as 0
  const b = h.cumulativeBuckets();
  assert.equal(b.length, ENVOY_DEFAULT_BUCKETS.length + 1);
  assert.equal(b[idx(0.5)], 2);
  assert.equal(b[idx(1)], 3);
  assert.equal(b[idx(5)], 5);
  assert.equal(b[b.length - 1], 5, '+Inf holds everything');
  assert.equal(h.count, 5);
  assert.equal(h.sum, 7.0001);
  for (let i = 1; i < b.length; i++) assert.ok(b[i]! >= b[i - 1]!, 'cumulative');
});

test('values above the last bound count only in +Inf; quantiles stay within min and max', () => {
  const h = new Histogram();
  h.record(4_000_000);
  h.record(10);
  const b = h.cumulativeBuckets();
  assert.equal(b[ENVOY_DEFAULT_BUCKETS.length - 1], 1);
  assert.equal(b[ENVOY_DEFAULT_BUCKETS.length], 2);
  assert.equal(h.quantile(1), 4_000_000);
  assert.equal(h.quantile(0), 10);
  assert.equal(h.quantile(0.99), 4_000_000);
});

test('quantiles of a uniform 1..1000 ms sample are within 3 % of the true values', () => {
  const h = new Histogram();
  for (let v = 1; v <= 1000; v++) h.record(v);
  for (const [q, want] of [
    [0.5, 500],
    [0.9, 900],
    [0.99, 990],
    [0.25, 250],
  ] as const) {
    const got = h.quantile(q);
    assert.ok(Math.abs(got - want) / want < 0.03, `P${q * 100}: ${got} vs ${want}`);
  }
  assert.equal(h.quantile(0), 1);
  assert.equal(h.quantile(1), 1000);
});

test('a single value: every quantile is that value', () => {
  const h = new Histogram();
  h.record(42);
  for (const q of ENVOY_QUANTILES) assert.equal(h.quantile(q), 42);
});

test('empty: NaN quantiles, zero buckets; reset empties', () => {
  const h = new Histogram();
  assert.ok(Number.isNaN(h.quantile(0.5)));
  h.record(3);
  h.reset();
  assert.equal(h.count, 0);
  assert.equal(h.sum, 0);
  assert.ok(h.cumulativeBuckets().every((n) => n === 0));
  assert.ok(Number.isNaN(h.snapshot().quantiles[5]!));
});

test('a window sees only what was recorded since its last call; windows add up', () => {
  const h = new Histogram();
  for (let v = 1; v <= 100; v++) h.record(1000); // history the window must not see
  const w = new HistogramWindow(h);
  assert.equal(cellsQuantiles(w.next(h), [0.5]).count, 0);
  for (let v = 1; v <= 100; v++) h.record(v);
  const first = cellsQuantiles(w.next(h), [0.5, 0.99]);
  assert.equal(first.count, 100);
  assert.ok(Math.abs(first.quantiles[0]! - 50) < 2.5, `p50 ${first.quantiles[0]}`);
  assert.ok(Math.abs(first.quantiles[1]! - 99) < 3, `p99 ${first.quantiles[1]}`);
  const empty = cellsQuantiles(w.next(h), [0.5]);
  assert.deepEqual([empty.count, Number.isNaN(empty.quantiles[0]!)], [0, true]);

  // A window from zero sees everything; two windows' cells add into one.
  const other = new Histogram();
  other.record(4_000_000); // above the last bound: reported as the last bound
  const sum = newCells();
  addCells(sum, new HistogramWindow(h, true).next(h));
  addCells(sum, new HistogramWindow(other, true).next(other));
  const all = cellsQuantiles(sum, [0.5, 0.9999]);
  assert.equal(all.count, 201);
  assert.equal(all.quantiles[1], ENVOY_DEFAULT_BUCKETS[ENVOY_DEFAULT_BUCKETS.length - 1]);
});
