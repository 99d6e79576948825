import { test } from 'node:test';
import assert from 'node:assert/strict';
import { buildRetry } from './build-retry.js';
import { btp, codes, run } from './test-fixtures.js';

const EG_RETRY_ON = ['connect-failure', 'refused-stream', 'unavailable', 'cancelled', 'retriable-status-codes'];

type Want = {
  retryOn?: string[];
  numRetries?: number;
  codes?: number[];
  perTry?: number;
  backoff?: [number, number];
  priority?: number;
};

const valid: { name: string; spec: string; want: Want; diags?: string[] }[] = [
  {
    name: 'an empty retry block is Envoy Gateway policy: 2 retries, default triggers, [503]',
    spec: 'retry: {}',
    want: { retryOn: EG_RETRY_ON, numRetries: 2, codes: [503], perTry: 0, backoff: [25, 250] },
  },
  { name: 'numRetries 0 disables retries', spec: 'retry:\n  numRetries: 0', want: { numRetries: 0, codes: [503] } },
  {
    name: '503 quirk: triggers without httpStatusCodes drop the default [503]',
    spec: 'retry:\n  retryOn:\n    triggers: [5xx]',
    want: { retryOn: ['5xx'], codes: [] },
  },
  {
    name: 'httpStatusCodes without triggers keep the default triggers',
    spec: 'retry:\n  retryOn:\n    httpStatusCodes: [500]',
    want: { retryOn: EG_RETRY_ON, codes: [500] },
  },
  {
    name: 'an empty retryOn keeps the defaults (nothing set)',
    spec: 'retry:\n  retryOn: {}',
    want: { retryOn: EG_RETRY_ON, codes: [503] },
  },
  {
    name: 'triggers are a sorted set, codes too',
    spec: 'retry:\n  retryOn:\n    triggers: [retriable-status-codes, connect-failure, connect-failure]\n    httpStatusCodes: [503, 429]',
    want: { retryOn: ['connect-failure', 'retriable-status-codes'], codes: [429, 503] },
  },
  {
    name: 'perRetry timeout and backoff',
    spec: 'retry:\n  perRetry:\n    timeout: 250ms\n    backOff:\n      baseInterval: 100ms\n      maxInterval: 10s',
    want: { perTry: 250, backoff: [100, 10_000] },
  },
  {
    name: 'base only: max is 10 x base',
    spec: 'retry:\n  perRetry:\n    backOff:\n      baseInterval: 100ms',
    want: { backoff: [100, 1000] },
  },
  { name: 'max only: base stays 25ms', spec: 'retry:\n  perRetry:\n    backOff:\n      maxInterval: 1s', want: { backoff: [25, 1000] } },
  {
    name: 'numAttemptsPerPriority > 0 enables previous priorities',
    spec: 'retry:\n  numAttemptsPerPriority: 4',
    want: { priority: 4 },
  },
  { name: 'numAttemptsPerPriority 0 is off', spec: 'retry:\n  numAttemptsPerPriority: 0', want: { priority: 0 } },
  {
    name: 'a field written in another case is accepted with a warning',
    spec: 'retry:\n  perRetry:\n    backoff:\n      baseInterval: 50ms',
    want: { backoff: [50, 500] },
    diags: ['W_EG_FIELD_CASE spec.retry.perRetry.backoff'],
  },
  {
    name: 'retriable-status-codes without codes warns (the quirk)',
    spec: 'retry:\n  retryOn:\n    triggers: [retriable-status-codes]',
    want: { codes: [] },
    diags: ['W_EG_NO_EFFECT spec.retry.retryOn'],
  },
  {
    name: 'codes without the retriable-status-codes trigger warn',
    spec: 'retry:\n  retryOn:\n    triggers: [5xx]\n    httpStatusCodes: [500]',
    want: { codes: [500] },
    diags: ['W_EG_NO_EFFECT spec.retry.retryOn.httpStatusCodes'],
  },
];

for (const c of valid) {
  test(`buildRetry: ${c.name}`, () => {
    const { value, diags } = run(buildRetry, btp(c.spec));
    assert.ok(value, 'a policy');
    if (c.want.retryOn) assert.deepEqual(value.retryOn, c.want.retryOn);
    if (c.want.numRetries !== undefined) assert.equal(value.numRetries, c.want.numRetries);
    if (c.want.codes) assert.deepEqual(value.retriableStatusCodes, c.want.codes);
    if (c.want.perTry !== undefined) assert.equal(value.perTryTimeoutMs, c.want.perTry);
    if (c.want.backoff) assert.deepEqual([value.backoff.baseIntervalMs, value.backoff.maxIntervalMs], c.want.backoff);
    if (c.want.priority !== undefined) assert.equal(value.retryPriority?.updateFrequency ?? 0, c.want.priority);
    assert.equal(value.previousHosts, true);
    assert.equal(value.hostSelectionRetryMaxAttempts, 5);
    assert.deepEqual(codes(diags), c.diags ?? []);
  });
}

const invalid: { name: string; spec: string; field: string; message: string }[] = [
  {
    name: 'baseInterval 0s',
    spec: 'retry:\n  perRetry:\n    backOff:\n      baseInterval: 0s',
    field: 'spec.retry.perRetry.backOff.baseInterval',
    message: 'baseInterval cannot be set to 0s',
  },
  {
    name: 'maxInterval 0s',
    spec: 'retry:\n  perRetry:\n    backOff:\n      maxInterval: 0s',
    field: 'spec.retry.perRetry.backOff.maxInterval',
    message: 'maxInterval cannot be set to 0s',
  },
  {
    name: 'max below base',
    spec: 'retry:\n  perRetry:\n    backOff:\n      baseInterval: 2s\n      maxInterval: 1s',
    field: 'spec.retry.perRetry.backOff.maxInterval',
    message: 'maxInterval cannot be less than baseInterval',
  },
  {
    name: 'max below the 25ms default base',
    spec: 'retry:\n  perRetry:\n    backOff:\n      maxInterval: 10ms',
    field: 'spec.retry.perRetry.backOff.maxInterval',
    message: 'maxInterval cannot be less than baseInterval',
  },
  {
    name: 'negative numRetries',
    spec: 'retry:\n  numRetries: -1',
    field: 'spec.retry.numRetries',
    message: 'spec.retry.numRetries in body should be greater than or equal to 0',
  },
  {
    name: 'a fractional duration (not GEP-2257)',
    spec: 'retry:\n  perRetry:\n    timeout: 1.5s',
    field: 'spec.retry.perRetry.timeout',
    message: 'invalid Timeout value 1.5s',
  },
  {
    name: 'an unknown trigger',
    spec: 'retry:\n  retryOn:\n    triggers: [5xx, sometimes]',
    field: 'spec.retry.retryOn.triggers[1]',
    message:
      'spec.retry.retryOn.triggers[1]: Unsupported value: "sometimes": supported values: "5xx", "gateway-error", "reset", "reset-before-request", "connect-failure", "retriable-4xx", "refused-stream", "retriable-status-codes", "cancelled", "deadline-exceeded", "internal", "resource-exhausted", "unavailable"',
  },
  {
    name: 'a status code out of range',
    spec: 'retry:\n  retryOn:\n    httpStatusCodes: [600]',
    field: 'spec.retry.retryOn.httpStatusCodes[0]',
    message: 'spec.retry.retryOn.httpStatusCodes[0] in body should be less than or equal to 599',
  },
];

for (const c of invalid) {
  test(`buildRetry rejects ${c.name}`, () => {
    const { value, diags } = run(buildRetry, btp(c.spec));
    assert.equal(value, undefined, 'no partial policy');
    const err = diags.items.find((d) => d.severity === 'error');
    assert.ok(err, 'an error');
    assert.equal(err.code, 'E_EG_RETRY_INVALID');
    assert.equal(err.field, c.field);
    assert.equal(err.message, c.message);
    assert.equal(err.object, 'BackendTrafficPolicy/default/policy');
    assert.ok(err.fix, 'a fix hint');
  });
}

test('buildRetry: unset -> undefined; errors carry the field position', () => {
  assert.equal(run(buildRetry, btp('timeout: {}')).value, undefined);
  const { diags } = run(buildRetry, btp('retry:\n  perRetry:\n    timeout: 10'));
  const err = diags.items[0]!;
  assert.equal(err.file, 'policy.yaml');
  assert.equal(err.line, 9, 'the line of perRetry.timeout');
  assert.equal(err.column, 16);
});

test('buildRetry: origins name the manifest field or the Envoy Gateway default', () => {
  const { value } = run(buildRetry, btp('retry:\n  numRetries: 3\n  retryOn:\n    triggers: [5xx]'));
  assert.deepEqual(value!.origin['numRetries'], {
    kind: 'manifest',
    object: 'BackendTrafficPolicy/default/policy',
    field: 'spec.retry.numRetries',
    file: 'policy.yaml',
    line: 8,
    column: 17,
  });
  assert.deepEqual(value!.origin['hostSelectionRetryMaxAttempts'], {
    kind: 'default',
    dialect: 'envoy-gateway',
    name: 'ENVOY_GATEWAY.HOST_SELECTION_RETRY_MAX_ATTEMPTS',
  });
  assert.equal(value!.origin['retriableStatusCodes']!.kind, 'derived', 'the dropped 503 says why');
  assert.equal(value!.origin['backoff.baseIntervalMs']!.kind, 'default');
});
