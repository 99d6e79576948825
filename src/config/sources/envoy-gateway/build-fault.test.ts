import { test } from 'node:test';
import assert from 'node:assert/strict';
import { buildFault, percentToFraction } from './build-fault.js';
import { btp, codes, run } from './test-fixtures.js';

const M = 1_000_000;

const cases: { name: string; spec: string; ann?: Record<string, string>; want: object; diags?: string[] }[] = [
  {
    name: 'abort with a float percent',
    spec: 'faultInjection:\n  abort:\n    httpStatus: 503\n    percentage: 10',
    want: { scope: 'request', abort: { httpStatus: 503, percent: { numerator: 100_000, denominator: M } } },
  },
  {
    name: 'percentage defaults to 100 (Istio: 0)',
    spec: 'faultInjection:\n  delay:\n    fixedDelay: 2s',
    want: { scope: 'request', delay: { fixedMs: 2000, percent: { numerator: M, denominator: M } } },
  },
  {
    name: 'gRPC abort and delay, precision 0.0001 %',
    spec: 'faultInjection:\n  delay:\n    fixedDelay: 5s\n    percentage: 0.0001\n  abort:\n    grpcStatus: 14',
    want: {
      scope: 'request',
      delay: { fixedMs: 5000, percent: { numerator: 1, denominator: M } },
      abort: { grpcStatus: 14, percent: { numerator: M, denominator: M } },
    },
  },
  {
    name: 'legate.dev/fault-scope: attempt injects per attempt',
    spec: 'faultInjection:\n  abort:\n    httpStatus: 500',
    ann: { 'legate.dev/fault-scope': 'attempt' },
    want: { scope: 'attempt', abort: { httpStatus: 500, percent: { numerator: M, denominator: M } } },
  },
  {
    name: 'an unknown fault-scope value warns and keeps request',
    spec: 'faultInjection:\n  abort:\n    httpStatus: 500',
    ann: { 'legate.dev/fault-scope': 'retry' },
    want: { scope: 'request', abort: { httpStatus: 500, percent: { numerator: M, denominator: M } } },
    diags: ['W_EG_NO_EFFECT metadata.annotations.legate.dev/fault-scope'],
  },
];
for (const c of cases) {
  test(`buildFault: ${c.name}`, () => {
    const { value, diags } = run(buildFault, btp(c.spec, c.ann ? { annotations: c.ann } : {}));
    assert.ok(value);
    const { origin: _o, ...fault } = value;
    assert.deepEqual(fault, c.want);
    assert.deepEqual(codes(diags), c.diags ?? []);
  });
}

test('buildFault: the scope origin names the annotation', () => {
  const { value } = run(
    buildFault,
    btp('faultInjection:\n  abort:\n    httpStatus: 500', { annotations: { 'legate.dev/fault-scope': 'attempt' } }),
  );
  assert.equal(value!.origin['scope']!.kind, 'manifest');
  assert.equal(run(buildFault, btp('retry: {}')).value, undefined);
});

const invalid: [string, string, string][] = [
  ['faultInjection: {}', 'spec.faultInjection', 'Delay and abort faults are set at least one.'],
  [
    'faultInjection:\n  abort:\n    httpStatus: 500\n    grpcStatus: 14',
    'spec.faultInjection.abort.grpcStatus',
    'httpStatus and grpcStatus cannot be simultaneously defined.',
  ],
  ['faultInjection:\n  abort:\n    percentage: 50', 'spec.faultInjection.abort', 'httpStatus and grpcStatus are set at least one.'],
  [
    'faultInjection:\n  abort:\n    httpStatus: 14',
    'spec.faultInjection.abort.httpStatus',
    'spec.faultInjection.abort.httpStatus in body should be greater than or equal to 200',
  ],
  [
    'faultInjection:\n  abort:\n    grpcStatus: 17',
    'spec.faultInjection.abort.grpcStatus',
    'spec.faultInjection.abort.grpcStatus in body should be less than or equal to 16',
  ],
  ['faultInjection:\n  delay:\n    fixedDelay: 5.4s', 'spec.faultInjection.delay.fixedDelay', 'invalid FixedDelay value 5.4s'],
  ['faultInjection:\n  delay:\n    percentage: 10', 'spec.faultInjection.delay.fixedDelay', 'delay.fixedDelay is required'],
  [
    'faultInjection:\n  delay:\n    fixedDelay: 1s\n    percentage: 101',
    'spec.faultInjection.delay.percentage',
    'spec.faultInjection.delay.percentage 101 is not in 0..100',
  ],
];
for (const [spec, field, message] of invalid) {
  test(`buildFault rejects ${field}: ${message}`, () => {
    const { value, diags } = run(buildFault, btp(spec));
    assert.equal(value, undefined);
    const err = diags.items.find((d) => d.severity === 'error')!;
    assert.equal(err.code, 'E_EG_FAULT_INVALID');
    assert.equal(err.field, field);
    assert.equal(err.message, message);
  });
}

test('percentToFraction', () => {
  assert.deepEqual(percentToFraction(100), { numerator: 1_000_000, denominator: 1_000_000 });
  assert.deepEqual(percentToFraction(0.01), { numerator: 100, denominator: 1_000_000 });
  assert.deepEqual(percentToFraction(33.3333), { numerator: 333_333, denominator: 1_000_000 });
});
