import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SuccessRateAccumulator, successRateEjectionThreshold } from './success-rate.js';

test('success-rate threshold: {50,100,100,100,100} with factor 1.9 -> mean 90, threshold 52', () => {
  const { mean, threshold } = successRateEjectionThreshold([50, 100, 100, 100, 100], 1.9);
  assert.equal(mean, 90);
  assert.ok(Math.abs(threshold - 52) < 1e-9, `threshold ${threshold}`);
});

test('success-rate threshold: equal rates give threshold == mean; empty gives -1', () => {
  assert.deepEqual(successRateEjectionThreshold([80, 80, 80], 1.9), { mean: 80, threshold: 80 });
  assert.deepEqual(successRateEjectionThreshold([], 1.9), { mean: -1, threshold: -1 });
});

test('accumulator reads the previous full interval only', () => {
  const a = new SuccessRateAccumulator();
  a.add(true);
  a.add(false);
  assert.equal(a.rateAndVolume(), undefined, 'nothing before the first swap');
  a.swap();
  assert.deepEqual(a.rateAndVolume(), { rate: 50, volume: 2 });
  a.add(true);
  assert.deepEqual(a.rateAndVolume(), { rate: 50, volume: 2 }, 'writes go to the other bucket');
  a.swap();
  assert.deepEqual(a.rateAndVolume(), { rate: 100, volume: 1 });
  a.swap();
  assert.equal(a.rateAndVolume(), undefined, 'an interval without requests has no rate');
});
