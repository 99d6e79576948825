import { test } from 'node:test';
import assert from 'node:assert/strict';
import { seededRandom, type Random } from '../common/random.js';
import { RequestDuration } from './timing.js';

const ms = 1e6;
const fixed = (...values: number[]): Random => {
  let i = 0;
  return { next: () => values[i++ % values.length]!, uint32: () => 0 };
};

test('percentile draws: < 90 is p50, < 99 is p90, else p99', () => {
  const d = new RequestDuration(10 * ms, 50 * ms, 100 * ms, 0, fixed(0.89, 0.9, 0.98, 0.99));
  assert.deepEqual([d.calculate(), d.calculate(), d.calculate(), d.calculate()], [10 * ms, 50 * ms, 50 * ms, 100 * ms]);
});

test('unset p90 takes p50 and unset p99 takes p90', () => {
  const d = new RequestDuration(10 * ms, 0, 0, 0, fixed(0.995));
  assert.equal(d.calculate(), 10 * ms);
  assert.equal(new RequestDuration(0, 0, 0, 0, fixed(0.5)).calculate(), 0);
});

test('TIMING_VARIANCE adds up to variance% (drawn before the percentile)', () => {
  // variance draw 0.5 of 10 -> 5%, percentile draw 0 -> p50.
  const d = new RequestDuration(100 * ms, 0, 0, 10, fixed(0.5, 0));
  assert.equal(d.calculate(), 105 * ms);
});

test('over many requests the shares are about 90% / 9% / 1%', () => {
  const d = new RequestDuration(1, 2, 3, 0, seededRandom(7));
  const counts = [0, 0, 0, 0];
  for (let i = 0; i < 20_000; i++) counts[d.calculate()]!++;
  assert.ok(Math.abs(counts[1]! / 20_000 - 0.9) < 0.01, String(counts));
  assert.ok(Math.abs(counts[2]! / 20_000 - 0.09) < 0.01, String(counts));
  assert.ok(Math.abs(counts[3]! / 20_000 - 0.01) < 0.005, String(counts));
});
