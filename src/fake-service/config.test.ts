import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ENV_SPECS, parseFakeServiceEnv, tidyURIs } from './config.js';

test('defaults of every variable (RAND_SEED defaults to the start time)', () => {
  const { config, problems } = parseFakeServiceEnv({}, 1700000000);
  assert.deepEqual(problems, []);
  assert.equal(config.listenAddress, '0.0.0.0:9090');
  assert.equal(config.name, 'Service');
  assert.equal(config.message, 'Hello World');
  assert.equal(config.upstreamWorkers, 1);
  assert.equal(config.upstreamAppendRequest, true);
  assert.equal(config.serverReadTimeoutNs, 5e9);
  assert.equal(config.serverWriteTimeoutNs, 10e9);
  assert.equal(config.upstreamRequestTimeoutNs, 30e9);
  assert.equal(config.errorType, 'http_error');
  assert.equal(config.errorCode, 500);
  assert.equal(config.rateLimitCode, 503);
  assert.equal(config.loadCPUCores, -1);
  assert.equal(config.readyFailureResponseCode, 503);
  assert.equal(config.uiPath, '/ui/');
  assert.equal(config.seed, 1700000000);
  assert.equal(ENV_SPECS.length, 54);
});

test('a value that does not parse leaves the Go zero value, not the default', () => {
  const { config, problems } = parseFakeServiceEnv(
    { ERROR_CODE: 'abc', HTTP_SERVER_WRITE_TIMEOUT: '10', ALLOW_CREDENTIALS: 'yes', ERROR_RATE: '0x1p-1' },
    0,
  );
  assert.equal(config.errorCode, 0);
  assert.equal(config.serverWriteTimeoutNs, 0);
  assert.equal(config.allowCredentials, false);
  assert.equal(config.errorRate, 0.5);
  assert.deepEqual(problems, [
    'expected: ALLOW_CREDENTIALS type: boolean got: yes',
    'expected: HTTP_SERVER_WRITE_TIMEOUT type: duration got: 10',
    'expected: ERROR_CODE type: integer got: abc',
  ]);
});

test('empty means unset; integers take base prefixes', () => {
  const { config } = parseFakeServiceEnv({ NAME: '', ERROR_CODE: '0x1F4', TIMING_50_PERCENTILE: '1.5s' }, 0);
  assert.equal(config.name, 'Service');
  assert.equal(config.errorCode, 500);
  assert.equal(config.timing50Ns, 1.5e9);
});

test('UPSTREAM_URIS is split on commas and trimmed', () => {
  assert.deepEqual(tidyURIs(' http://a:1 ,, grpc://b:2,c:3 '), ['http://a:1', 'grpc://b:2', 'c:3']);
});
