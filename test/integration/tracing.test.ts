/**
 * Tracing basics: W3C trace context and B3 headers pass through unchanged and stay the same on
 * every retry; the request's x-request-id (the client's, or one legate makes) is the same on
 * every attempt and is what the access log and its attempt trace carry.
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { Proxy } from '../../src/dataplane/proxy.js';
import { formatJson, formatText } from '../../src/dataplane/access-log.js';
import { config, cluster, route } from '../helpers/ir.js';
import { h1Request, h2Request } from '../helpers/backends.js';
import { CollectingLog } from '../helpers/access-log.js';
import { retryPolicy, scriptedBackend } from '../helpers/retry.js';

const be = await scriptedBackend();
// Every request fails twice with 503, then succeeds: three attempts.
be.script = (n, _req, res) => {
  res.writeHead(n < 3 ? 503 : 200);
  res.end(n < 3 ? 'again' : 'ok');
};
const log = new CollectingLog();
const proxy = await Proxy.start(
  config(
    [route('all', { retry: retryPolicy({ retryOn: ['5xx'], numRetries: 3, backoff: { baseIntervalMs: 1, maxIntervalMs: 2 } }) })],
    [cluster('backend', [be.port], { protocol: 'http1' })],
  ),
  { accessLog: log },
);
const port = proxy.port('main');
after(async () => {
  await proxy.close(100);
  await be.close();
});

const TRACE = {
  traceparent: '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01',
  tracestate: 'congo=t61rcWkgMzE,rojo=00f067aa0ba902b7',
  b3: '80f198ee56343ba864fe8b2a57d3eff7-e457b5a2e4d86bd1-1-05e3ac9a4f6e3b90',
  'x-b3-traceid': '80f198ee56343ba864fe8b2a57d3eff7',
  'x-b3-spanid': 'e457b5a2e4d86bd1',
  'x-b3-parentspanid': '05e3ac9a4f6e3b90',
  'x-b3-sampled': '1',
  'x-b3-flags': '1',
  'x-ot-span-context': '80f198ee56343ba864fe8b2a57d3eff7;e457b5a2e4d86bd1;05e3ac9a4f6e3b90;cs',
};

test('HTTP/1.1: trace headers and the client x-request-id reach every attempt unchanged; the log carries the id', async () => {
  const rid = 'req-7f3c9e';
  const r = await h1Request(port, { path: '/t', headers: { ...TRACE, 'x-request-id': rid, 'x-key': 'h1' } });
  assert.equal(r.status, 200);
  const attempts = be.of('h1');
  assert.equal(attempts.length, 3);
  for (const a of attempts) {
    for (const [k, v] of Object.entries(TRACE)) assert.equal(a.headers[k], v, `${k} on attempt ${a.n}`);
    assert.equal(a.headers['x-request-id'], rid);
  }
  await log.waitFor(1);
  const e = log.last();
  assert.equal(e.requestId, rid);
  assert.equal(e.attempts, 3);
  assert.equal(e.attemptTrace?.length, 3);
  const json = JSON.parse(formatJson(e));
  assert.equal(json.request_id, rid);
  assert.equal(json.attempt_trace.length, 3);
  const line = formatText(e, true);
  assert.ok(line.includes(`"${rid}"`) && line.includes(' trace=['), line);
});

test('HTTP/2 without an x-request-id: legate makes one, sends the same one on every attempt and logs it', async () => {
  const r = await h2Request(port, { ':path': '/t2', ...TRACE, 'x-key': 'h2' });
  assert.equal(r.status, 200);
  const attempts = be.of('h2');
  assert.equal(attempts.length, 3);
  const rid = attempts[0]!.headers['x-request-id'] as string;
  assert.match(rid, /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
  for (const a of attempts) {
    assert.equal(a.headers['x-request-id'], rid);
    assert.equal(a.headers.traceparent, TRACE.traceparent);
    assert.equal(a.headers.b3, TRACE.b3);
    assert.equal(a.headers['x-b3-traceid'], TRACE['x-b3-traceid']);
  }
  await log.waitFor(2);
  assert.equal(log.last().requestId, rid);
});
