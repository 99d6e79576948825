import { test } from 'node:test';
import assert from 'node:assert/strict';
import { formatJson, formatText, type AccessLogEntry } from './access-log.js';
import { Flag } from './http/response-flags.js';

const entry: AccessLogEntry = {
  startWall: Date.UTC(2026, 10, 22, 12, 0, 0, 123),
  method: 'GET',
  path: '/api/items?x=1',
  protocol: 'HTTP/1.1',
  status: 503,
  grpcStatus: undefined,
  flags: Flag.UF | Flag.URX,
  bytesReceived: 0,
  bytesSent: 91,
  durationMs: 12.6,
  upstreamServiceTimeMs: undefined,
  forwardedFor: undefined,
  userAgent: 'curl/8.0',
  requestId: 'abc',
  authority: 'example.com',
  upstreamHost: '127.0.0.1:9000',
  upstreamCluster: 'backend',
  route: 'api',
  attempts: 2,
  details: 'upstream_reset_before_response_started{remote_connection_failure}',
};

test("text lines follow Envoy's default format, then legate's fields", () => {
  assert.equal(
    formatText(entry, false),
    '[2026-11-22T12:00:00.123Z] "GET /api/items?x=1 HTTP/1.1" 503 UF,URX 0 91 13 - "-" "curl/8.0" "abc" "example.com" "127.0.0.1:9000" ' +
      'cluster=backend route=api attempts=2 grpc_status=- details=upstream_reset_before_response_started{remote_connection_failure}\n',
  );
});

test('no flags print as "-"; the attempt trace is added only when asked', () => {
  const ok = { ...entry, status: 200, flags: 0, details: undefined, attemptTrace: [{ host: 'a' }] };
  assert.match(formatText(ok, false), /" 200 - 0 91 /);
  assert.doesNotMatch(formatText(ok, false), /trace=/);
  assert.match(formatText(ok, true), / trace=\[\{"host":"a"\}\]\n$/);
});

test('JSON lines carry the same fields with Envoy-style names', () => {
  const j = JSON.parse(formatJson(entry));
  assert.equal(j.response_code, 503);
  assert.equal(j.response_flags, 'UF,URX');
  assert.equal(j.upstream_host, '127.0.0.1:9000');
  assert.equal(j.attempts, 2);
  assert.equal(j.duration_ms, 13);
  assert.deepEqual(j.attempt_trace, []);
});
