import { test } from 'node:test';
import assert from 'node:assert/strict';
import { computePriorityLoad } from './priority-load.js';

test('P0 with 7 of 10 healthy keeps 98%, P1 takes 2% (overprovisioning 1.4)', () => {
  assert.deepEqual(
    computePriorityLoad(
      [
        { total: 10, healthy: 7 },
        { total: 10, healthy: 10 },
      ],
      50,
    ),
    { load: [98, 2], panic: [false, false] },
  );
});

test('P0 with 5 of 10 healthy keeps 70%, P1 takes 30%', () => {
  assert.deepEqual(
    computePriorityLoad(
      [
        { total: 10, healthy: 5 },
        { total: 10, healthy: 10 },
      ],
      50,
    ).load,
    [70, 30],
  );
});

test('a fully healthy P0 takes everything', () => {
  assert.deepEqual(
    computePriorityLoad(
      [
        { total: 3, healthy: 3 },
        { total: 3, healthy: 3 },
      ],
      50,
    ).load,
    [100, 0],
  );
});

test('panic below the threshold, only when total health is short of 100%', () => {
  // 4 hosts, 1 healthy (25% < 50%): panic.
  assert.deepEqual(computePriorityLoad([{ total: 4, healthy: 1 }], 50), { load: [100], panic: [true] });
  // 10 hosts, 6 healthy: 60% -> no panic; 4 healthy: 40% -> panic.
  assert.equal(computePriorityLoad([{ total: 10, healthy: 6 }], 50).panic[0], false);
  assert.equal(computePriorityLoad([{ total: 10, healthy: 4 }], 50).panic[0], true);
  // P0 in trouble but P1 absorbs it: normalized health reaches 100, no panic.
  assert.deepEqual(
    computePriorityLoad(
      [
        { total: 4, healthy: 1 },
        { total: 4, healthy: 4 },
      ],
      50,
    ),
    { load: [35, 65], panic: [false, false] },
  );
});

test('threshold 0 disables panic; nothing healthy sends everything to P0', () => {
  assert.deepEqual(computePriorityLoad([{ total: 4, healthy: 1 }], 0), { load: [100], panic: [false] });
  assert.deepEqual(
    computePriorityLoad(
      [
        { total: 2, healthy: 0 },
        { total: 2, healthy: 0 },
      ],
      0,
    ),
    { load: [100, 0], panic: [false, false] },
  );
});

test('nothing healthy anywhere: every priority in panic, load by host counts', () => {
  assert.deepEqual(
    computePriorityLoad(
      [
        { total: 3, healthy: 0 },
        { total: 1, healthy: 0 },
      ],
      50,
    ),
    { load: [75, 25], panic: [true, true] },
  );
});
