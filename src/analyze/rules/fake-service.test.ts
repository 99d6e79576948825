import { test } from 'node:test';
import assert from 'node:assert/strict';
import { analyzeYaml, GATEWAY, deployment, grpcRoute, httpRoute, policy, service, withCode } from '../../../test/helpers/analyze.js';

const rate = (value: string) =>
  withCode(analyzeYaml(service('api'), deployment('api', { env: { ERROR_RATE: value } })), 'A_FAKE_SERVICE_ERROR_RATE');

test('A_FAKE_SERVICE_ERROR_RATE: what the deterministic every-Nth rule makes of a rate', () => {
  const [f] = rate('0.3');
  assert.equal(f!.severity, 'warning');
  assert.equal(f!.object, 'Deployment/default/api');
  assert.equal(f!.field, 'spec.template.spec.containers[0].env[0].value');
  assert.match(f!.message, /ERROR_RATE 0\.3 does not fail 30% of requests: .* N % 3 is 0, so every 3rd request fails \(33\.3%\)/);
  assert.match(f!.fix!, /0\.3333 fails every 3rd request \(33\.3%\), 0\.25 fails every 4th request \(25%\)/);
  assert.match(rate('0.7')[0]!.message, /every request fails \(100%\)/);
  assert.equal(rate('1.5')[0]!.severity, 'error');
  assert.match(rate('50%')[0]!.message, /is not a number/);
  for (const exact of ['0.5', '0.25', '0.1', '1', '0']) assert.deepEqual(rate(exact), [], exact);
});

const grpc = (env: Record<string, string>, triggers = 'unavailable') => [
  GATEWAY,
  service('api', 80, 'grpc'),
  deployment('api', { env }),
  grpcRoute('api', 'api'),
  policy('p', 'GRPCRoute', 'api', `retry: {numRetries: 2, retryOn: {triggers: [${triggers}]}}`),
];

test('A_FAKE_SERVICE_ERROR_NOT_RETRIED: gRPC codes no trigger of the route retries', () => {
  const [internal] = withCode(analyzeYaml(...grpc({ ERROR_RATE: '0.5', ERROR_CODE: '13' })), 'A_FAKE_SERVICE_ERROR_NOT_RETRIED');
  assert.equal(internal!.field, 'spec.template.spec.containers[0].env[1].value');
  assert.match(internal!.message, /fails every 2nd request with grpc-status 13 \(INTERNAL\), which only the internal trigger retries/);
  const [dflt] = withCode(analyzeYaml(...grpc({ ERROR_RATE: '0.5' })), 'A_FAKE_SERVICE_ERROR_NOT_RETRIED');
  assert.match(dflt!.message, /grpc-status 500 \(ERROR_CODE defaults to 500, which is no gRPC code\), which no gRPC retry trigger retries/);
  assert.deepEqual(withCode(analyzeYaml(...grpc({ ERROR_RATE: '0.5', ERROR_CODE: '14' })), 'A_FAKE_SERVICE_ERROR_NOT_RETRIED'), []);
  assert.deepEqual(
    withCode(analyzeYaml(...grpc({ ERROR_RATE: '0.5', ERROR_CODE: '13' }, 'internal')), 'A_FAKE_SERVICE_ERROR_NOT_RETRIED'),
    [],
  );
  assert.deepEqual(
    withCode(analyzeYaml(...grpc({ ERROR_CODE: '13' })), 'A_FAKE_SERVICE_ERROR_NOT_RETRIED'),
    [],
    'no ERROR_RATE: no errors',
  );
});

const http = (env: Record<string, string>) => [
  GATEWAY,
  service('api'),
  deployment('api', { env }),
  httpRoute('api', 'api'),
  policy('p', 'HTTPRoute', 'api', 'retry: {numRetries: 2, retryOn: {triggers: [connect-failure]}}'),
];

test('A_FAKE_SERVICE_ERROR_NOT_RETRIED: HTTP statuses; A_FAKE_SERVICE_ERROR_CODE_INVALID: a gRPC code on HTTP', () => {
  const [f] = withCode(analyzeYaml(...http({ ERROR_RATE: '0.2', ERROR_CODE: '503' })), 'A_FAKE_SERVICE_ERROR_NOT_RETRIED');
  assert.equal(f!.severity, 'warning');
  assert.match(f!.message, /fails every 5th request with HTTP 503; retryOn \[connect-failure\] retries none of them/);
  const [bad] = withCode(analyzeYaml(...http({ ERROR_RATE: '0.5', ERROR_CODE: '14' })), 'A_FAKE_SERVICE_ERROR_CODE_INVALID');
  assert.match(bad!.message, /ERROR_CODE 14, which is no HTTP status: on HTTP its handler panics/);
  assert.deepEqual(withCode(analyzeYaml(...grpc({ ERROR_RATE: '0.5', ERROR_CODE: '14' })), 'A_FAKE_SERVICE_ERROR_CODE_INVALID'), []);
  assert.deepEqual(withCode(analyzeYaml(...http({ ERROR_RATE: '0.5', ERROR_CODE: '503' })), 'A_FAKE_SERVICE_ERROR_CODE_INVALID'), []);
});
