import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  analyzeDocs,
  analyzeYaml,
  GATEWAY,
  deployment,
  httpRoute,
  policy,
  service,
  withCode,
  virtualService,
} from '../../../test/helpers/analyze.js';

const base = [GATEWAY, service('api'), deployment('api'), httpRoute('api', 'api')];

test('A_FAULT_NOT_RETRIED: an abort the retry policy would retry from a backend, injected once per request', () => {
  const spec = 'faultInjection: {abort: {httpStatus: 503, percentage: 50}}, retry: {numRetries: 3, retryOn: {triggers: [5xx]}}';
  const [f, ...rest] = withCode(analyzeYaml(...base, policy('p', 'HTTPRoute', 'api', spec)), 'A_FAULT_NOT_RETRIED');
  assert.equal(rest.length, 0);
  assert.equal(f!.severity, 'warning');
  assert.equal(f!.object, 'BackendTrafficPolicy/default/p');
  assert.equal(f!.field, 'spec.faultInjection.abort.httpStatus');
  assert.equal(f!.file, 'test.yaml');
  assert.ok(f!.line! > 0);
  assert.match(f!.message, /aborts 50% of requests with HTTP 503 before routing.*5xx would retry/);
  assert.match(f!.fix!, /legate\.dev\/fault-scope: attempt/);
  assert.deepEqual(
    f!.involves.map((i) => i.setting),
    ['fault.abort.httpStatus', 'fault.abort.percent', 'fault.scope', 'retry.retryOn', 'retry.numRetries', 'route'],
  );
});

test('A_FAULT_NOT_RETRIED: not with the attempt scope, nor for a status no trigger retries', () => {
  const retry = 'retry: {numRetries: 3, retryOn: {triggers: [5xx]}}';
  const attempt = policy(
    'p',
    'HTTPRoute',
    'api',
    `faultInjection: {abort: {httpStatus: 503}}, ${retry}`,
    '"legate.dev/fault-scope": attempt',
  );
  const r = analyzeDocs(...base, attempt);
  assert.equal(r.translation.config.listeners[0]!.virtualHosts[0]!.routes[0]!.fault!.scope, 'attempt');
  assert.deepEqual(withCode(r.findings, 'A_FAULT_NOT_RETRIED'), []);
  const notRetriable = policy('p', 'HTTPRoute', 'api', `faultInjection: {abort: {httpStatus: 400}}, ${retry}`);
  assert.deepEqual(withCode(analyzeYaml(...base, notRetriable), 'A_FAULT_NOT_RETRIED'), []);
});

test('A_FAULT_NOT_RETRIED: an Istio gRPC abort against retryOn unavailable', () => {
  const vs = (retryOn: string) =>
    virtualService(
      'api',
      `[{fault: {abort: {grpcStatus: UNAVAILABLE, percentage: {value: 10}}}, retries: {attempts: 2, retryOn: "${retryOn}"}, route: [{destination: {host: api}}]}]`,
    );
  const docs = [service('api', 9000, 'grpc'), deployment('api')];
  const [f] = withCode(analyzeYaml(...docs, vs('unavailable')), 'A_FAULT_NOT_RETRIED');
  assert.match(f!.message, /10% of requests with grpc-status 14/);
  assert.equal(f!.object, 'VirtualService/default/api');
  assert.deepEqual(withCode(analyzeYaml(...docs, vs('internal')), 'A_FAULT_NOT_RETRIED'), []);
});
