import { test } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { ManualClock } from '../../src/common/clock.js';
import type { Random } from '../../src/common/random.js';
import { callHandle, fakeServiceClient, httpRequest, startCaptured } from '../helpers/fake-service.js';

// 2024-01-04T13:57:54.123Z
const T0 = Date.UTC(2024, 0, 4, 13, 57, 54, 123);
const alwaysP50: Random = { next: () => 0, uint32: () => 0 };

/** Waits (bounded) until a log line contains `text`. */
async function waitForLog(logs: string[], text: string): Promise<void> {
  for (let i = 0; i < 200; i++) {
    if (logs.some((l) => l.includes(text))) return;
    await new Promise((r) => setTimeout(r, 10));
  }
  throw new Error(`no log line with ${JSON.stringify(text)}`);
}

test('the response document: Go field order, two-space indent, trailing newline, text/plain, connection close', async () => {
  const clock = new ManualClock(T0);
  const fs = await startCaptured({ NAME: 'api', TIMING_50_PERCENTILE: '50ms', RAND_SEED: '1' }, { clock, random: alwaysP50 });
  try {
    const pending = httpRequest(fs.port, '/items?id=1');
    await waitForLog(fs.logs, 'Sleeping for');
    clock.advance(50);
    const res = await pending;
    assert.equal(res.status, 200);
    assert.equal(res.headers['content-type'], 'text/plain; charset=utf-8');
    assert.equal(res.headers['connection'], 'close');
    assert.equal(res.headers['content-length'], String(Buffer.byteLength(res.body)));
    assert.equal(
      res.body,
      `{
  "name": "api",
  "uri": "/items?id=1",
  "type": "HTTP",
  "ip_addresses": [
    "10.1.0.7"
  ],
  "start_time": "2024-01-04T13:57:54.123000",
  "end_time": "2024-01-04T13:57:54.173000",
  "duration": "50ms",
  "body": "Hello World",
  "code": 200
}
`,
    );
  } finally {
    await fs.close();
  }
});

test('a JSON MESSAGE is embedded as raw JSON, re-indented and HTML-escaped as encoding/json does', async () => {
  const fs = await startCaptured({ MESSAGE: '{"a": 1.50, "b": [1,   2], "c": "<x>", "d": {}}' }, { clock: new ManualClock(T0) });
  try {
    const res = await httpRequest(fs.port, '/');
    assert.match(
      res.body,
      /\n {2}"body": \{\n {4}"a": 1\.50,\n {4}"b": \[\n {6}1,\n {6}2\n {4}\],\n {4}"c": "\\u003cx\\u003e",\n {4}"d": \{\}\n {2}\},\n {2}"code": 200\n\}\n$/,
    );
  } finally {
    await fs.close();
  }
});

test('ERROR_RATE is deterministic: 0.5 fails exactly every other request, HTTP and gRPC sharing one counter', async () => {
  const fs = await startCaptured({ ERROR_RATE: '0.5' });
  const client = fakeServiceClient(fs.port);
  try {
    const seen: (number | string)[] = [];
    for (let i = 0; i < 6; i++) seen.push((await httpRequest(fs.port, '/')).status);
    assert.deepEqual(seen, [200, 500, 200, 500, 200, 500]);
    // Request 7 (gRPC) succeeds, 8 (gRPC) fails, 9 (HTTP) succeeds, 10 (HTTP) fails.
    const seven = await callHandle(client);
    const eight = await callHandle(client);
    assert.equal(seven.ok, true);
    assert.equal(eight.ok, false);
    assert.equal((await httpRequest(fs.port, '/')).status, 200);
    assert.equal((await httpRequest(fs.port, '/')).status, 500);
    assert.match(fs.text(), /error_injector: Injecting error: request_count=10 error_percentage=0.5 error_type=http_error\n/);
  } finally {
    client.close();
    await fs.close();
  }
});

test('ERROR_RATE 0.3 truncates to every 3rd request; 0.6 fails every request', async () => {
  const third = await startCaptured({ ERROR_RATE: '0.3' });
  const all = await startCaptured({ ERROR_RATE: '0.6' });
  try {
    const a: number[] = [];
    const b: number[] = [];
    for (let i = 0; i < 6; i++) {
      a.push((await httpRequest(third.port, '/')).status);
      b.push((await httpRequest(all.port, '/')).status);
    }
    assert.deepEqual(a, [200, 200, 500, 200, 200, 500]);
    assert.deepEqual(b, [500, 500, 500, 500, 500, 500]);
  } finally {
    await third.close();
    await all.close();
  }
});

test('an injected HTTP error: ERROR_CODE as the status, the short document, Go reason phrases', async () => {
  const fs = await startCaptured({ ERROR_RATE: '1', ERROR_CODE: '503' });
  const odd = await startCaptured({ ERROR_RATE: '1', ERROR_CODE: '599' });
  try {
    const res = await httpRequest(fs.port, '/x');
    assert.equal(res.status, 503);
    assert.equal(res.statusMessage, 'Service Unavailable');
    assert.equal(
      res.body,
      `{
  "name": "Service",
  "uri": "/x",
  "type": "HTTP",
  "ip_addresses": [
    "10.1.0.7"
  ],
  "code": 503,
  "error": "Service error automatically injected"
}
`,
    );
    const r599 = await httpRequest(odd.port, '/');
    assert.equal(r599.status, 599);
    assert.equal(r599.statusMessage, 'status code 599');
  } finally {
    await fs.close();
    await odd.close();
  }
});

test('ERROR_CODE 14 is not an HTTP status: the HTTP connection is dropped (Go WriteHeader panics), the service lives on', async () => {
  const fs = await startCaptured({ ERROR_RATE: '0.5', ERROR_CODE: '14' });
  try {
    assert.equal((await httpRequest(fs.port, '/')).status, 200);
    await assert.rejects(httpRequest(fs.port, '/'), /socket hang up|ECONNRESET/);
    assert.equal((await httpRequest(fs.port, '/')).status, 200);
    assert.match(fs.text(), /\[INFO\] {2}http: panic serving 127\.0\.0\.1:\d+: invalid WriteHeader code 14\n/);
  } finally {
    await fs.close();
  }
});

test('ERROR_TYPE other than http_error sleeps ERROR_DELAY and still fails with ERROR_CODE', async () => {
  const fs = await startCaptured({ ERROR_RATE: '1', ERROR_TYPE: 'delay', ERROR_DELAY: '150ms', ERROR_CODE: '504' });
  try {
    const t0 = performance.now();
    const res = await httpRequest(fs.port, '/');
    const elapsed = performance.now() - t0;
    assert.equal(res.status, 504);
    assert.ok(elapsed >= 145 && elapsed < 2000, `took ${elapsed} ms`);
    assert.match(res.body, /"error": "Service delay automatically injected"\n/);
    assert.match(fs.text(), /\[INFO\] {2}error_injector: Delaying service execution: duration=150ms\n/);
  } finally {
    await fs.close();
  }
});

test('TIMING_50/90/99: the percentile drawn picks the service time (p < 90, < 99, else p99)', async () => {
  // The first draw is for a warm-up request: a cold first request spends a few ms before it sleeps.
  const draws = [0.0, 0.0, 0.95, 0.995];
  let i = 0;
  const random: Random = { next: () => draws[i++ % draws.length]!, uint32: () => 0 };
  const fs = await startCaptured({ TIMING_50_PERCENTILE: '20ms', TIMING_90_PERCENTILE: '80ms', TIMING_99_PERCENTILE: '200ms' }, { random });
  try {
    await httpRequest(fs.port, '/');
    for (const expected of [20, 80, 200]) {
      const t0 = performance.now();
      const res = await httpRequest(fs.port, '/');
      const elapsed = performance.now() - t0;
      assert.equal(res.status, 200);
      assert.ok(elapsed >= expected - 2 && elapsed < expected + 1000, `expected about ${expected} ms, took ${elapsed}`);
      const d = /"duration": "([0-9.]+)ms"/.exec(res.body);
      assert.ok(d && Number(d[1]) >= expected - 1, `document duration ${d?.[1]}`);
    }
    assert.match(fs.text(), /\[INFO\] {2}Sleeping for: duration=(19|20)\.?[0-9]*ms\n/);
  } finally {
    await fs.close();
  }
});

test('RATE_LIMIT: a token bucket of int(RATE_LIMIT) requests refilled at RATE_LIMIT per second, RATE_LIMIT_CODE otherwise', async () => {
  const clock = new ManualClock(T0);
  const fs = await startCaptured({ RATE_LIMIT: '2', RATE_LIMIT_CODE: '429' }, { clock });
  const tiny = await startCaptured({ RATE_LIMIT: '0.5' }, { clock });
  try {
    const statuses: number[] = [];
    for (let i = 0; i < 3; i++) statuses.push((await httpRequest(fs.port, '/')).status);
    assert.deepEqual(statuses, [200, 200, 429]);
    const limited = await httpRequest(fs.port, '/');
    assert.match(limited.body, /"code": 429,\n {2}"error": "Service exceeded rate limit"\n/);
    clock.advance(500);
    assert.equal((await httpRequest(fs.port, '/')).status, 200);
    assert.equal((await httpRequest(fs.port, '/')).status, 429);
    assert.match(fs.text(), /\[INFO\] {2}error_injector: Rate limiting service\n/);
    // A rate below 1 means a bucket of 0: everything is limited (503 by default).
    assert.equal((await httpRequest(tiny.port, '/')).status, 503);
  } finally {
    await fs.close();
    await tiny.close();
  }
});

test('/health, /ready with READY_CHECK_*, the root path waiting for readiness, and /config changes at run time', async () => {
  const clock = new ManualClock(T0);
  const fs = await startCaptured(
    {
      HEALTH_CHECK_RESPONSE_CODE: '299',
      READY_CHECK_RESPONSE_DELAY: '1s',
      READY_CHECK_RESPONSE_SUCCESS_CODE: '202',
      READY_CHECK_RESPONSE_FAILURE_CODE: '500',
      READY_CHECK_ROOT_PATH_WAIT_TILL_READY: 'true',
    },
    { clock },
  );
  const client = fakeServiceClient(fs.port);
  try {
    const health = await httpRequest(fs.port, '/health');
    assert.deepEqual([health.status, health.body], [299, 'OK']);
    const notReady = await httpRequest(fs.port, '/ready');
    assert.deepEqual([notReady.status, notReady.body], [500, 'Starting Process']);
    const root = await httpRequest(fs.port, '/');
    assert.deepEqual([root.status, root.body, root.headers['content-length']], [503, '', '0']);
    const grpcRoot = await callHandle(client);
    assert.ok(!grpcRoot.ok && grpcRoot.error.code === 14 && grpcRoot.error.details === 'Server Unavailable');
    clock.advance(1000);
    const ready = await httpRequest(fs.port, '/ready');
    assert.deepEqual([ready.status, ready.body], [202, 'OK']);
    assert.equal((await httpRequest(fs.port, '/')).status, 200);
    assert.equal((await callHandle(client)).ok, true);

    const set = await httpRequest(fs.port, '/config/health_check_response_code/503');
    assert.deepEqual([set.status, set.body], [200, '']);
    assert.equal((await httpRequest(fs.port, '/health')).status, 503);
    assert.equal((await httpRequest(fs.port, '/config/error_rate/1')).status, 200);
    assert.equal((await httpRequest(fs.port, '/')).status, 500);
    const bad = await httpRequest(fs.port, '/config/error_rate/abc');
    assert.deepEqual([bad.status, bad.body], [400, 'Config endpoint error_rate expects a floating point value between 0 and 1\n']);
    assert.equal((await httpRequest(fs.port, '/config/x')).body, 'Config endpoint expects /config/parameter/value\n');
    assert.equal((await httpRequest(fs.port, '/config/other/1')).body, 'Invalid parameter\n');
    const text = fs.text();
    assert.match(text, /\[INFO\] {2}Handling health request\n/);
    assert.match(text, /\[INFO\] {2}Handling ready request\n/);
    assert.match(text, /\[INFO\] {2}Service not ready\n/);
    assert.match(text, /\[INFO\] {2}Service Unavailable\n/);
    assert.match(
      text,
      /\[ERROR\] Config endpoint error_rate expects a floating point value between 0 and 1: data=\["", "config", "error_rate", "abc"\] error="strconv\.ParseFloat: parsing \\"abc\\": invalid syntax"\n/,
    );
  } finally {
    client.close();
    await fs.close();
  }
});

test('ServeMux behaviour: cleaned paths and subtree roots redirect, the UI is served, CORS only with an Origin', async () => {
  const fs = await startCaptured({});
  try {
    const cfg = await httpRequest(fs.port, '/config?x=1');
    assert.deepEqual([cfg.status, cfg.headers['location']], [301, '/config/?x=1']);
    const dots = await httpRequest(fs.port, '/a/../health');
    assert.deepEqual([dots.status, dots.headers['location']], [301, '/health']);
    assert.equal(dots.body, '<a href="/health">Moved Permanently</a>.\n\n');
    const ui = await httpRequest(fs.port, '/ui/');
    assert.equal(ui.status, 200);
    assert.equal(ui.headers['content-type'], 'text/html; charset=utf-8');
    assert.equal((await httpRequest(fs.port, '/ui/nothing.js')).body, '404 page not found\n');
    // Health is exact; anything else below it is the catch-all handler.
    assert.match((await httpRequest(fs.port, '/health/x')).body, /"uri": "\/health\/x"/);

    const plain = await httpRequest(fs.port, '/');
    assert.equal(plain.headers['access-control-allow-origin'], undefined);
    const cors = await httpRequest(fs.port, '/', { headers: { Origin: 'http://example.com' } });
    assert.equal(cors.headers['access-control-allow-origin'], '*');
    const before = fs.logs.length;
    const preflight = await httpRequest(fs.port, '/', {
      method: 'OPTIONS',
      headers: { Origin: 'http://example.com', 'Access-Control-Request-Method': 'POST', 'Access-Control-Request-Headers': 'content-type' },
    });
    assert.deepEqual([preflight.status, preflight.body], [200, '']);
    assert.equal(preflight.headers['access-control-allow-headers'], 'Content-Type');
    const forbidden = await httpRequest(fs.port, '/', {
      method: 'OPTIONS',
      headers: { Origin: 'http://example.com', 'Access-Control-Request-Method': 'GET', 'Access-Control-Request-Headers': 'x-secret' },
    });
    assert.equal(forbidden.status, 403);
    const noOrigin = await httpRequest(fs.port, '/', { method: 'OPTIONS' });
    assert.deepEqual([noOrigin.status, noOrigin.body], [200, '']);
    // None of the OPTIONS requests reached the handler.
    assert.equal(fs.logs.slice(before).filter((l) => l.includes('Handle inbound request')).length, 0);
  } finally {
    await fs.close();
  }
});

test('HTTP_SERVER_WRITE_TIMEOUT: a response ready after the write timeout is cut off, as Go fails the write', async () => {
  const fs = await startCaptured({ TIMING_50_PERCENTILE: '300ms', HTTP_SERVER_WRITE_TIMEOUT: '100ms' });
  try {
    await assert.rejects(httpRequest(fs.port, '/'), /socket hang up|ECONNRESET/);
    assert.equal((await httpRequest(fs.port, '/health')).status, 200);
  } finally {
    await fs.close();
  }
});

test('close(): requests in flight finish, silent connections are dropped, new connections are refused', async () => {
  const fs = await startCaptured({ TIMING_50_PERCENTILE: '200ms' }, { shutdownGraceMs: 10_000 });
  const silent = net.connect(fs.port, '127.0.0.1');
  silent.on('error', () => {});
  const silentClosed = new Promise<boolean>((r) => {
    silent.once('close', () => r(true));
    setTimeout(() => r(false), 5000).unref();
  });
  await new Promise<void>((r) => silent.once('connect', () => r()));
  const inFlight = httpRequest(fs.port, '/');
  await new Promise((r) => setTimeout(r, 50));
  const t0 = performance.now();
  await fs.close();
  const took = performance.now() - t0;
  assert.equal((await inFlight).status, 200);
  assert.ok(took < 2000, `close took ${took} ms`);
  assert.equal(await silentClosed, true);
  await assert.rejects(httpRequest(fs.port, '/'), /ECONNREFUSED/);
  assert.equal(await fs.closed, undefined);
  silent.destroy();
});
