import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  analyzeYaml,
  GATEWAY,
  deployment,
  grpcRoute,
  httpRoute,
  policy,
  service,
  withCode,
  virtualService,
} from '../../../test/helpers/analyze.js';

const http = [GATEWAY, service('api'), deployment('api'), httpRoute('api', 'api')];
const retry = (retryOn: string) => policy('p', 'HTTPRoute', 'api', `retry: {numRetries: 2, retryOn: {${retryOn}}}`);

test('A_RETRY_CODES_WITHOUT_TRIGGER: status codes without retriable-status-codes', () => {
  const [f] = withCode(analyzeYaml(...http, retry('triggers: [connect-failure], httpStatusCodes: [503]')), 'A_RETRY_CODES_WITHOUT_TRIGGER');
  assert.equal(f!.severity, 'warning');
  assert.equal(f!.field, 'spec.retry.retryOn.httpStatusCodes');
  assert.match(f!.message, /responses with \[503\] are not retried/);
  const covered = withCode(analyzeYaml(...http, retry('triggers: [5xx], httpStatusCodes: [503]')), 'A_RETRY_CODES_WITHOUT_TRIGGER');
  assert.equal(covered[0]!.severity, 'info');
  const fine = retry('triggers: [retriable-status-codes], httpStatusCodes: [503]');
  assert.deepEqual(withCode(analyzeYaml(...http, fine), 'A_RETRY_CODES_WITHOUT_TRIGGER'), []);
});

test("A_RETRY_TRIGGER_WITHOUT_CODES: Envoy Gateway's triggers without httpStatusCodes drop the 503; Istio's default is no finding", () => {
  const [f] = withCode(analyzeYaml(...http, retry('triggers: [unavailable, retriable-status-codes]')), 'A_RETRY_TRIGGER_WITHOUT_CODES');
  assert.equal(f!.object, 'BackendTrafficPolicy/default/p');
  assert.match(f!.message, /Envoy Gateway replaces its default \[503\] with the empty list/);
  assert.match(f!.fix!, /httpStatusCodes: \[503\]/);
  const withCodes = retry('triggers: [unavailable, retriable-status-codes], httpStatusCodes: [503]');
  assert.deepEqual(withCode(analyzeYaml(...http, withCodes), 'A_RETRY_TRIGGER_WITHOUT_CODES'), []);
  // Istio's default policy (no retries block) carries the trigger with no codes on purpose.
  const istio = virtualService('api', '[{route: [{destination: {host: api}}]}]');
  assert.deepEqual(withCode(analyzeYaml(service('api'), deployment('api'), istio), 'A_RETRY_TRIGGER_WITHOUT_CODES'), []);
});

test('A_GRPC_STATUS_IN_TRAILERS: gRPC triggers in front of an unknown server; not in front of fake-service', () => {
  const grpc = (image?: string) => [
    GATEWAY,
    service('api', 80, 'grpc'),
    deployment('api', image ? { image } : {}),
    grpcRoute('api', 'api'),
    policy('p', 'GRPCRoute', 'api', 'retry: {numRetries: 2, retryOn: {triggers: [unavailable]}}'),
  ];
  const [f] = withCode(analyzeYaml(...grpc('example.com/orders:1.0')), 'A_GRPC_STATUS_IN_TRAILERS');
  assert.equal(f!.severity, 'info');
  assert.match(f!.message, /trailers-only/);
  assert.match(f!.fix!, /legate.dev\/grpc-trailer-retry: "true"/);
  assert.deepEqual(withCode(analyzeYaml(...grpc()), 'A_GRPC_STATUS_IN_TRAILERS'), []);
});

test('A_RETRY_NON_IDEMPOTENT: retries after a reset on a route that takes POST; not on GET, nor with early triggers', () => {
  const [f] = withCode(analyzeYaml(...http, retry('triggers: [5xx]')), 'A_RETRY_NON_IDEMPOTENT');
  assert.equal(f!.severity, 'warning');
  assert.match(f!.message, /matches every method, so POST and PATCH requests may be applied twice/);
  const get = [GATEWAY, service('api'), deployment('api'), httpRoute('api', 'api', 'matches: [{method: GET}]')];
  assert.deepEqual(withCode(analyzeYaml(...get, retry('triggers: [5xx]')), 'A_RETRY_NON_IDEMPOTENT'), []);
  const early = retry('triggers: [connect-failure, refused-stream, reset-before-request]');
  assert.deepEqual(withCode(analyzeYaml(...http, early), 'A_RETRY_NON_IDEMPOTENT'), []);
});
