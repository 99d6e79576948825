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

const http = [GATEWAY, service('api'), deployment('api')];

test('A_RETRY_TIMEOUT_BUDGET: per-try x attempts + backoff beyond the route timeout, with the attempts that fit', () => {
  const route = (request: string) => httpRoute('api', 'api', `timeouts: {request: ${request}, backendRequest: 1s}, retry: {attempts: 3}`);
  const [f, ...rest] = withCode(analyzeYaml(...http, route('2s')), 'A_RETRY_TIMEOUT_BUDGET');
  assert.equal(rest.length, 0);
  assert.equal(f!.severity, 'warning');
  assert.equal(f!.field, 'spec.rules[0].timeouts.backendRequest');
  // 4 x 1s + 25 + 50 + 100 ms of backoff at most.
  assert.match(f!.message, /4 attempts x 1s per try plus up to 175ms of backoff make 4\.175s, more than the route timeout of 2s/);
  assert.match(f!.message, /only 1 of the 4 can run to their per-try timeout; attempt 2 is cut .*; attempts 3 to 4 never start/);
  assert.match(f!.fix!, /about 456ms/);
  assert.deepEqual(withCode(analyzeYaml(...http, route('10s')), 'A_RETRY_TIMEOUT_BUDGET'), []);
});

const vs = (retries: string) => virtualService('api', `[{timeout: 2s, retries: ${retries}, route: [{destination: {host: api}}]}]`);

test('A_PER_TRY_TIMEOUT_IGNORED: a per-try timeout not shorter than the route timeout', () => {
  const docs = [service('api'), deployment('api')];
  const [f] = withCode(analyzeYaml(...docs, vs('{attempts: 2, perTryTimeout: 3s, retryOn: 5xx}')), 'A_PER_TRY_TIMEOUT_IGNORED');
  assert.equal(f!.field, 'spec.http[0].retries.perTryTimeout');
  assert.match(f!.message, /per-try timeout \(3s\) is not shorter than the route timeout \(2s\), so Envoy ignores it/);
  assert.deepEqual(
    withCode(analyzeYaml(...docs, vs('{attempts: 2, perTryTimeout: 500ms, retryOn: 5xx}')), 'A_PER_TRY_TIMEOUT_IGNORED'),
    [],
  );
});

test('A_PER_TRY_TIMEOUT_NOT_RETRIED: no trigger retries a per-try timeout; reset does', () => {
  const btp = (triggers: string) =>
    policy('p', 'HTTPRoute', 'api', `retry: {numRetries: 2, perRetry: {timeout: 300ms}, retryOn: {triggers: [${triggers}]}}`);
  const base = [...http, httpRoute('api', 'api')];
  const [f] = withCode(analyzeYaml(...base, btp('unavailable, connect-failure')), 'A_PER_TRY_TIMEOUT_NOT_RETRIED');
  assert.equal(f!.object, 'BackendTrafficPolicy/default/p');
  assert.equal(f!.field, 'spec.retry.perRetry.timeout');
  assert.match(
    f!.message,
    /an attempt slower than 300ms ends the request with 504 "upstream request timeout" \(flag UT\), without a retry/,
  );
  assert.deepEqual(withCode(analyzeYaml(...base, btp('unavailable, reset')), 'A_PER_TRY_TIMEOUT_NOT_RETRIED'), []);
});

test('A_ROUTE_TIMEOUT_CUTS_STREAMS: Envoy Gateway default 15 s on a GRPCRoute; not with requestTimeout 0s, nor on HTTP routes', () => {
  const grpc = [GATEWAY, service('api', 80, 'grpc'), deployment('api'), grpcRoute('api', 'api')];
  const [f] = withCode(analyzeYaml(...grpc), 'A_ROUTE_TIMEOUT_CUTS_STREAMS');
  assert.equal(f!.severity, 'warning');
  assert.equal(f!.object, 'GRPCRoute/default/api');
  assert.match(f!.message, /^Envoy Gateway's default route timeout of 15s applies to this gRPC route/);
  assert.match(f!.fix!, /requestTimeout: 0s/);
  const off = policy('p', 'GRPCRoute', 'api', 'timeout: {http: {requestTimeout: 0s}}');
  assert.deepEqual(withCode(analyzeYaml(...grpc, off), 'A_ROUTE_TIMEOUT_CUTS_STREAMS'), []);
  const set = policy('p', 'GRPCRoute', 'api', 'timeout: {http: {requestTimeout: 30s}}');
  assert.equal(withCode(analyzeYaml(...grpc, set), 'A_ROUTE_TIMEOUT_CUTS_STREAMS')[0]!.severity, 'info');
  assert.deepEqual(withCode(analyzeYaml(...http, httpRoute('api', 'api')), 'A_ROUTE_TIMEOUT_CUTS_STREAMS'), []);
});
