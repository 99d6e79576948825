import { test } from 'node:test';
import assert from 'node:assert/strict';
import { formatDuration, parseGatewayDuration, parseGoDuration } from './durations.js';

test('Gateway API durations', () => {
  const ok: [string, number][] = [
    ['10s', 10_000],
    ['1h30m', 5_400_000],
    ['500ms', 500],
    ['0s', 0],
    ['1h1m1s1ms', 3_661_001],
  ];
  for (const [text, ms] of ok) assert.deepEqual(parseGatewayDuration(text), { ok: true, ms }, text);
  for (const bad of ['1.5s', '10', '', '123456s', '1h1m1s1ms1h', '-1s', '1d']) {
    const r = parseGatewayDuration(bad);
    assert.equal(r.ok, false, bad);
  }
});

test('Go durations', () => {
  const ok: [string, number][] = [
    ['1.5s', 1500],
    ['300ms', 300],
    ['2h45m', 9_900_000],
    ['0', 0],
    ['0s', 0],
    ['1us', 1],
    ['.5s', 500],
  ];
  for (const [text, ms] of ok) assert.deepEqual(parseGoDuration(text), { ok: true, ms }, text);
  for (const bad of ['1', 's', '1x', '', '-1s']) assert.equal(parseGoDuration(bad).ok, false, bad);
});

test('formatDuration', () => {
  assert.equal(formatDuration(0), '0s');
  assert.equal(formatDuration(250), '250ms');
  assert.equal(formatDuration(90_000), '1m30s');
  assert.equal(formatDuration(15_000), '15s');
});
