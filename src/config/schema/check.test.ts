import { test } from 'node:test';
import assert from 'node:assert/strict';
import { z } from 'zod';
import { checkValue, nearestName, withFix, writtenPath } from './check.js';
import { gatewayDuration, int, whenMissing } from './k8s.js';

const Schema = z.object({
  port: int(1, 65535),
  name: z.string(whenMissing('name is required', 'add a name')).optional(),
  backOff: z.object({ baseInterval: gatewayDuration().optional() }).optional(),
  tags: z.array(z.string()).max(2).optional(),
  mode: z.enum(['A', 'B']).optional(),
  extra: z.looseObject({}).optional(),
  labels: z.record(z.string(), z.object({ value: z.string() })).optional(),
});

test('a valid value comes back checked, without problems', () => {
  const r = checkValue(Schema, { port: 80, name: 'x', tags: ['a'] });
  assert.deepEqual(r, { data: { port: 80, name: 'x', tags: ['a'] }, problems: [] });
});

test('null fields are dropped, as the API server prunes them; unless asked to keep them', () => {
  assert.deepEqual(checkValue(Schema, { port: 80, name: null, backOff: { baseInterval: null } }).data, { port: 80, backOff: {} });
  const kept = checkValue(Schema, { port: 80, name: null }, { dropNulls: false });
  assert.equal(kept.data, undefined);
  assert.deepEqual(
    kept.problems.map((p) => p.kind === 'invalid' && p.message),
    ['name must be a string, not null'],
  );
});

test('unknown keys of plain objects are problems naming the nearest key, and are dropped; loose objects and records accept any key', () => {
  const r = checkValue(Schema, { port: 80, prot: 1, extra: { anything: 1 }, labels: { a: { value: 'x', valu: 'y' } } }, { base: ['spec'] });
  assert.deepEqual(r.data, { port: 80, extra: { anything: 1 }, labels: { a: { value: 'x' } } });
  assert.deepEqual(
    r.problems.map((p) => p.kind === 'unknown' && [p.path.join('.'), p.nearest]),
    [
      ['spec.prot', 'port'],
      ['spec.labels.a.valu', 'value'],
    ],
  );
});

test('strict objects report unknown keys through zod, with the nearest key too', () => {
  const r = checkValue(z.strictObject({ hosts: z.array(z.string()) }), { hosts: [], hostz: 1 });
  assert.deepEqual(r.data, { hosts: [], hostz: 1 });
  assert.deepEqual(r.problems, [{ kind: 'unknown', path: ['hostz'], key: 'hostz', known: ['hosts'], nearest: 'hosts' }]);
});

test('case-insensitive keys are read as the declared one, reported, and paths stay as written', () => {
  const raw = { Port: 70000, backoff: { baseinterval: '1.5s' } };
  const r = checkValue(Schema, raw, { base: ['spec'], caseInsensitive: true });
  assert.deepEqual(
    r.problems.map((p) => [p.kind, p.path.join('.')]),
    [
      ['case', 'spec.Port'],
      ['case', 'spec.backoff'],
      ['case', 'spec.backoff.baseinterval'],
      ['invalid', 'spec.Port'],
      ['invalid', 'spec.backoff.baseinterval'],
    ],
  );
  // Without the option, the same keys are unknown.
  assert.deepEqual(
    checkValue(Schema, { port: 1, Mode: 'A' }).problems.map((p) => p.kind),
    ['unknown'],
  );
  assert.deepEqual(writtenPath(raw, ['backOff', 'baseInterval']), ['backoff', 'baseinterval']);
});

test('messages say what is wrong at which path; fixes come from the schema', () => {
  const r = checkValue(Schema, { port: '80', tags: ['a', 'b', 'c'], mode: 'C', backOff: { baseInterval: '1d' } }, { base: ['spec'] });
  const got = r.problems.map((p) => (p.kind === 'invalid' ? [p.message, p.fix] : []));
  assert.deepEqual(got, [
    ['spec.port must be a whole number, not the string "80"', undefined],
    [
      '"1d" is not a Gateway API duration: use 1 to 4 groups of up to 5 digits each followed by h, m, s or ms, such as "10s" or "1m30s"',
      undefined,
    ],
    ['spec.tags has 3 items; at most 2 are allowed', undefined],
    ['spec.mode: Unsupported value: "C": supported values: "A", "B"', 'use one of A, B'],
  ]);
  assert.deepEqual(
    checkValue(Schema, { port: 0 }).problems.map((p) => p.kind === 'invalid' && p.message),
    ['port is 0; it must be between 1 and 65535'],
  );
  const missing = checkValue(z.object({ name: z.string(whenMissing('name is required', 'add a name')) }), {});
  assert.deepEqual(missing.problems, [{ kind: 'invalid', path: ['name'], message: 'name is required', fix: 'add a name' }]);
  assert.equal(withFix('a', 'b').split('\u0001').length, 2);
});

test('nearestName: close spellings only', () => {
  assert.equal(nearestName('matchs', ['matches', 'filters']), 'matches');
  assert.equal(nearestName('hostnme', ['hostname', 'port']), 'hostname');
  assert.equal(nearestName('attempts', ['numRetries', 'retryOn', 'perRetry']), undefined);
});
