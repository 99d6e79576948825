/**
 * Timeouts end to end (spec section 1, scenarios 1-5): route (global) timeout, per-try and per-try
 * idle timeouts, gRPC timeouts (legacy max_grpc_timeout and the new max_stream_duration block) and
 * the x-envoy-upstream-rq-timeout-ms override. Durations are scaled down to tens or hundreds of ms,
 * except the one test of the real 15 s default, which runs in the background from the start of the
 * file so that the file takes about 15 s in all.
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import http2 from 'node:http2';
import { Proxy } from '../../src/dataplane/proxy.js';
import { Flag } from '../../src/dataplane/http/response-flags.js';
import { seededRandom } from '../../src/common/random.js';
import type * as ir from '../../src/ir/index.js';
import { config, cluster, route } from '../helpers/ir.js';
import { h1Backend, h1Request, h2Backend } from '../helpers/backends.js';
import { CollectingLog } from '../helpers/access-log.js';
import { startEchoServer, echoClient, unary, grpc } from '../helpers/grpc.js';

const closers: (() => Promise<void>)[] = [];
after(async () => {
  for (const c of closers.reverse()) await c();
});

async function start(cfg: ir.Config, seed = 1) {
  const log = new CollectingLog();
  const proxy = await Proxy.start(cfg, { accessLog: log, random: seededRandom(seed) });
  closers.push(() => proxy.close(100));
  return { proxy, log, port: proxy.port('main') };
}

function retry(p: Partial<ir.RetryPolicy> = {}): ir.RetryPolicy {
  return {
    retryOn: ['5xx'],
    numRetries: 1,
    perTryTimeoutMs: 0,
    perTryIdleTimeoutMs: 0,
    retriableStatusCodes: [],
    retriableHeaders: [],
    retriableRequestHeaders: [],
    // Envoy's 25 ms base scaled down with the timeouts, so backoff cannot eat the budget.
    backoff: { baseIntervalMs: 2, maxIntervalMs: 20 },
    previousHosts: false,
    hostSelectionRetryMaxAttempts: 1,
    bufferLimitBytes: 1 << 20,
    origin: {},
    ...p,
  };
}

function timeout(requestMs: number, p: Partial<ir.TimeoutPolicy> = {}): ir.TimeoutPolicy {
  return { requestMs, origin: {}, ...p };
}

/**
 * The timeout a first attempt announces: the full value, less the few ms the proxy may spend
 * between the end of the request and sending it (it counts elapsed time for every attempt; Envoy
 * passes 0 for the first one, see the report). A per-try value or a smaller one fails.
 */
function assertFirstAttempt(v: unknown, expected: number, message?: string): void {
  const n = typeof v === 'number' ? v : Number(v);
  assert.ok(n <= expected && n >= expected - 10, `${message ?? ''} announced ${String(v)}, expected ${expected} (at most 10 ms less)`);
}

/** `NNNm` -> NNN; anything else -> NaN. */
function grpcMs(v: unknown): number {
  return typeof v === 'string' && /^[0-9]+m$/.test(v) ? Number(v.slice(0, -1)) : NaN;
}

type Seen = { at: number; headers: http.IncomingHttpHeaders; closedAt: number; aborted: boolean };

/**
 * An HTTP/1.1 backend that records every request (arrival time, headers, and whether the proxy
 * went away before the answer). `answer` may respond; by default it never does (hangs).
 */
async function recordingBackend(answer?: (req: http.IncomingMessage, res: http.ServerResponse, i: number) => void) {
  const seen: Seen[] = [];
  const b = await h1Backend((req, res) => {
    const s: Seen = { at: Date.now(), headers: req.headers, closedAt: -1, aborted: false };
    const i = seen.push(s) - 1;
    res.on('close', () => {
      s.closedAt = Date.now();
      s.aborted = !res.writableFinished;
    });
    answer?.(req, res, i);
  });
  closers.push(() => b.close());
  return { ...b, seen };
}

/** Resolves to what a plain HTTP/1.1 client sees when the response may be cut. */
function h1Outcome(port: number, path = '/'): Promise<{ status: number; body: string; outcome: 'complete' | 'aborted'; ms: number }> {
  const t0 = Date.now();
  return new Promise((resolve) => {
    let status = 0;
    let body = '';
    const done = (outcome: 'complete' | 'aborted') => resolve({ status, body, outcome, ms: Date.now() - t0 });
    http
      .get({ host: '127.0.0.1', port, path, agent: false }, (res) => {
        status = res.statusCode ?? 0;
        res.setEncoding('utf8');
        res.on('data', (c: string) => (body += c));
        res.on('end', () => done('complete'));
        res.on('aborted', () => done('aborted'));
        res.on('error', () => done('aborted'));
      })
      .on('error', () => done('aborted'));
  });
}

type GrpcOutcome = {
  ms: number;
  status: number;
  headers: http2.IncomingHttpHeaders;
  trailers: http2.IncomingHttpHeaders;
  grpcStatus: string | undefined;
  grpcMessage: string | undefined;
};

/**
 * A raw gRPC unary call over node:http2, so the request headers (grpc-timeout) are exactly the
 * ones given, and the client enforces no deadline of its own.
 */
function rawGrpc(port: number, extra: http2.OutgoingHttpHeaders): Promise<GrpcOutcome> {
  const t0 = Date.now();
  return new Promise((resolve, reject) => {
    const session = http2.connect(`http://127.0.0.1:${port}`);
    session.on('error', reject);
    const stream = session.request({
      ':method': 'POST',
      ':path': '/legate.test.Echo/Unary',
      'content-type': 'application/grpc',
      te: 'trailers',
      ...extra,
    });
    let headers: http2.IncomingHttpHeaders = {};
    let trailers: http2.IncomingHttpHeaders = {};
    stream.on('response', (h) => (headers = h));
    stream.on('trailers', (t) => (trailers = t));
    stream.on('data', () => {});
    stream.on('end', () => {
      session.close();
      const pick = (k: string) => (trailers[k] ?? headers[k]) as string | undefined;
      resolve({
        ms: Date.now() - t0,
        status: Number(headers[':status']),
        headers,
        trailers,
        grpcStatus: pick('grpc-status'),
        grpcMessage: pick('grpc-message'),
      });
    });
    stream.on('error', (e) => {
      session.destroy();
      reject(e);
    });
    // One empty length-prefixed message.
    stream.end(Buffer.from([0, 0, 0, 0, 0]));
  });
}

/** A raw HTTP/2 backend that records the request headers of every stream and never answers. */
async function hangingH2Backend() {
  const seen: http2.IncomingHttpHeaders[] = [];
  const b = await h2Backend((_stream, headers) => {
    seen.push(headers);
  });
  closers.push(() => b.close());
  return { ...b, seen };
}

// === Scenario 1: the real 15 s default, started now and checked by the last test ===

const defaultTimeoutRun = (async () => {
  const backend = await recordingBackend(); // never answers
  const { proxy, log, port } = await start(config([route('all')], [cluster('backend', [backend.port])]));
  const t0 = Date.now();
  const res = await h1Request(port, { path: '/default' });
  const ms = Date.now() - t0;
  await log.waitFor(1);
  return { res, ms, backend, proxy, log };
})().then(
  (v) => ({ ok: true as const, v }),
  (e: unknown) => ({ ok: false as const, e }),
);

// === Route timeout ===

test('timeout 0 disables the route timeout: a slow answer still arrives', async () => {
  const backend = await recordingBackend((_q, res) => setTimeout(() => res.end('slow but fine'), 300));
  const { proxy, port, log } = await start(config([route('all', { timeout: timeout(0) })], [cluster('backend', [backend.port])]));
  const res = await h1Request(port, { path: '/' });
  assert.equal(res.status, 200);
  assert.equal(res.body.toString(), 'slow but fine');
  assert.equal(proxy.cluster('backend')!.stats.upstream_rq_timeout, 0);
  // No timeout, no per-try timeout: nothing to announce upstream.
  assert.equal(backend.seen[0]!.headers['x-envoy-expected-rq-timeout-ms'], undefined);
  await log.waitFor(1);
  assert.equal(log.last().flags, 0);
});

test('timeout 0 with a per-try timeout: x-envoy-expected-rq-timeout-ms carries the per-try value', async () => {
  // Spec 1.2 setTimeoutHeaders: expected = perTry when perTry != 0 and no hedging; global 0 = no clamp.
  const backend = await recordingBackend((_q, res) => res.end('ok'));
  const r = route('all', { timeout: timeout(0), retry: retry({ perTryTimeoutMs: 300 }) });
  const { port } = await start(config([r], [cluster('backend', [backend.port])]));
  const res = await h1Request(port, { path: '/' });
  assert.equal(res.status, 200);
  assert.equal(backend.seen[0]!.headers['x-envoy-expected-rq-timeout-ms'], '300');
});

test('scenario 2 (scaled): timeout 250, per-try 100, 5 retries, hanging backend -> 3 attempts, 504 at ~250 ms', async () => {
  const backend = await recordingBackend();
  const r = route('all', { timeout: timeout(250), retry: retry({ perTryTimeoutMs: 100, numRetries: 5 }) });
  const { proxy, port, log } = await start(config([r], [cluster('backend', [backend.port])]));
  const t0 = Date.now();
  const res = await h1Request(port, { path: '/' });
  const ms = Date.now() - t0;
  assert.equal(res.status, 504);
  assert.equal(res.body.toString(), 'upstream request timeout');
  assert.ok(ms >= 245 && ms < 400, `504 after ${ms} ms`);
  const s = proxy.cluster('backend')!.stats;
  assert.equal(backend.seen.length, 3, 'exactly 3 attempts reach the backend');
  assert.equal(s.upstream_rq_total, 3);
  assert.equal(s.upstream_rq_per_try_timeout, 2);
  assert.equal(s.upstream_rq_retry, 2);
  assert.equal(s.upstream_rq_timeout, 1, 'the third attempt is cut by the global timer');
  // Attempts start at ~0, ~100+b1, ~200+b1+b2.
  const starts = backend.seen.map((x) => x.at - backend.seen[0]!.at);
  assert.ok(starts[1]! >= 95 && starts[1]! < 160, `attempt 2 at +${starts[1]} ms`);
  assert.ok(starts[2]! >= 195 && starts[2]! < 245, `attempt 3 at +${starts[2]} ms`);
  // Each attempt announces min(per-try, what is left of the 250 ms).
  assert.equal(backend.seen[0]!.headers['x-envoy-expected-rq-timeout-ms'], '100');
  const third = Number(backend.seen[2]!.headers['x-envoy-expected-rq-timeout-ms']);
  assert.ok(third >= 1 && third <= 55, `attempt 3 expects ${third} ms`);
  await log.waitFor(1);
  const e = log.last();
  assert.ok((e.flags & Flag.UT) !== 0, `flags ${e.flags}`);
  assert.equal(e.details, 'response_timeout');
  assert.equal(e.attempts, 3);
});

test('scenario 3 (scaled): the retry after a late 503 expects at most the remaining budget, then 504', async () => {
  // timeout 400; the first attempt returns 503 after 300 ms; the retry hangs.
  const backend = await recordingBackend((_q, res, i) => {
    if (i === 0) setTimeout(() => res.writeHead(503).end('busy'), 300);
  });
  const r = route('all', { timeout: timeout(400), retry: retry({ numRetries: 1 }) });
  const { proxy, port, log } = await start(config([r], [cluster('backend', [backend.port])]));
  const t0 = Date.now();
  const res = await h1Request(port, { path: '/' });
  const ms = Date.now() - t0;
  assert.equal(backend.seen.length, 2, 'the 503 was retried');
  assertFirstAttempt(backend.seen[0]!.headers['x-envoy-expected-rq-timeout-ms'], 400);
  const second = Number(backend.seen[1]!.headers['x-envoy-expected-rq-timeout-ms']);
  const left = 400 - (backend.seen[1]!.at - backend.seen[0]!.at);
  assert.ok(second >= 1 && second <= 100 && second <= left + 5, `retry expects ${second} ms, the budget left is ~${left} ms`);
  assert.equal(res.status, 504);
  assert.equal(res.body.toString(), 'upstream request timeout');
  assert.ok(ms >= 395 && ms < 600, `504 after ${ms} ms`);
  const s = proxy.cluster('backend')!.stats;
  assert.equal(s.upstream_rq_retry, 1);
  assert.equal(s.upstream_rq_timeout, 1);
  await log.waitFor(1);
  assert.ok((log.last().flags & Flag.UT) !== 0);
});

test('a per-try timeout >= the route timeout is ignored', async () => {
  const backend = await recordingBackend((_q, res) => setTimeout(() => res.end('late'), 250));
  for (const perTry of [300, 200]) {
    const r = route('all', { timeout: timeout(200), retry: retry({ perTryTimeoutMs: perTry }) });
    const { proxy, port } = await start(config([r], [cluster('backend', [backend.port])]));
    const before = backend.seen.length;
    const t0 = Date.now();
    const res = await h1Request(port, { path: '/' });
    const ms = Date.now() - t0;
    assert.equal(res.status, 504, `per-try ${perTry}`);
    assert.ok(ms >= 195 && ms < 350, `per-try ${perTry}: 504 after ${ms} ms`);
    assertFirstAttempt(backend.seen[before]!.headers['x-envoy-expected-rq-timeout-ms'], 200, `per-try ${perTry}`);
    const s = proxy.cluster('backend')!.stats;
    assert.equal(s.upstream_rq_per_try_timeout, 0, `per-try ${perTry}`);
    assert.equal(s.upstream_rq_retry, 0, `per-try ${perTry}`);
    assert.equal(s.upstream_rq_timeout, 1, `per-try ${perTry}`);
  }
});

test('the per-try (and route) timers start only once the request body is complete', async () => {
  // The backend answers as soon as the whole body is in; the client pauses 300 ms mid-upload.
  const backend = await recordingBackend((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => res.end(Buffer.concat(chunks)));
  });
  const r = route('all', { timeout: timeout(150), retry: retry({ perTryTimeoutMs: 100 }) });
  const { proxy, port, log } = await start(config([r], [cluster('backend', [backend.port])]));
  const t0 = Date.now();
  const res = await new Promise<{ status: number; body: string }>((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, method: 'POST', path: '/upload', agent: false }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', reject);
    req.write('first-');
    setTimeout(() => req.end('second'), 300);
  });
  const ms = Date.now() - t0;
  const s = proxy.cluster('backend')!.stats;
  assert.equal(s.upstream_rq_per_try_timeout, 0, 'the per-try timer must not run during the upload');
  assert.equal(s.upstream_rq_timeout, 0, 'the route timer must not run during the upload');
  assert.equal(res.status, 200);
  assert.equal(res.body, 'first-second');
  assert.ok(ms >= 295, `took ${ms} ms`);
  assert.equal(backend.seen.length, 1);
  await log.waitFor(1);
  assert.equal(log.last().flags, 0);
});

test('a per-try timeout applies even when retry_on is empty (no retries, 504 at the per-try time)', async () => {
  // Envoy reads per_try_timeout from the route's retry policy whether or not it can retry.
  const backend = await recordingBackend((_q, res) => setTimeout(() => res.end('late'), 300));
  const r = route('all', { timeout: timeout(1000), retry: retry({ retryOn: [], perTryTimeoutMs: 100 }) });
  const { proxy, port, log } = await start(config([r], [cluster('backend', [backend.port])]));
  const t0 = Date.now();
  const res = await h1Request(port, { path: '/' });
  const ms = Date.now() - t0;
  assert.equal(res.status, 504);
  assert.equal(res.body.toString(), 'upstream request timeout');
  assert.ok(ms >= 95 && ms < 250, `504 after ${ms} ms`);
  assert.equal(proxy.cluster('backend')!.stats.upstream_rq_per_try_timeout, 1);
  assert.equal(backend.seen[0]!.headers['x-envoy-expected-rq-timeout-ms'], '100');
  await log.waitFor(1);
  assert.equal(log.last().details, 'upstream_per_try_timeout');
});

test('per-try idle timeout after the response started: the client stream is reset', async () => {
  const backend = await recordingBackend((_q, res) => {
    res.writeHead(200, { 'content-type': 'text/plain' });
    res.write('first bytes');
    // ...then nothing more.
  });
  const r = route('all', { timeout: timeout(0), retry: retry({ perTryIdleTimeoutMs: 100 }) });
  const { proxy, port, log } = await start(config([r], [cluster('backend', [backend.port])]));
  const out = await h1Outcome(port);
  assert.equal(out.status, 200);
  assert.equal(out.outcome, 'aborted', 'a truncated response must not look complete');
  assert.equal(out.body, 'first bytes');
  assert.ok(out.ms >= 95 && out.ms < 400, `reset after ${out.ms} ms`);
  const s = proxy.cluster('backend')!.stats;
  assert.equal(s.upstream_rq_per_try_idle_timeout, 1);
  assert.equal(s.upstream_rq_retry, 0, 'no retry once the response started');
  await log.waitFor(1);
  assert.ok((log.last().flags & Flag.UT) !== 0, `flags ${log.last().flags}`);
  // The backend's stream was abandoned.
  await new Promise((r) => setTimeout(r, 50));
  assert.equal(backend.seen[0]!.aborted, true);
});

test('per-try idle timeout before headers: retried, then 504', async () => {
  const backend = await recordingBackend(); // silent
  const r = route('all', { timeout: timeout(0), retry: retry({ perTryIdleTimeoutMs: 100, numRetries: 1 }) });
  const { proxy, port, log } = await start(config([r], [cluster('backend', [backend.port])]));
  const t0 = Date.now();
  const res = await h1Request(port, { path: '/' });
  const ms = Date.now() - t0;
  assert.equal(res.status, 504);
  assert.equal(res.body.toString(), 'upstream request timeout');
  assert.ok(ms >= 195 && ms < 400, `504 after ${ms} ms`);
  const s = proxy.cluster('backend')!.stats;
  assert.equal(backend.seen.length, 2);
  assert.equal(s.upstream_rq_per_try_idle_timeout, 2);
  assert.equal(s.upstream_rq_per_try_timeout, 0);
  assert.equal(s.upstream_rq_retry, 1);
  await log.waitFor(1);
  assert.ok((log.last().flags & Flag.UT) !== 0);
});

// === gRPC ===

test('scenario 4: gRPC route timeout -> HTTP 200, grpc-status 14 "upstream request timeout" (not 4)', async () => {
  const server = await startEchoServer();
  closers.push(() => server.close());
  const r = route('all', { timeout: timeout(150) });
  const { proxy, port, log } = await start(config([r], [cluster('backend', [server.port], { protocol: 'http2' })]));
  const client = echoClient(port);
  closers.push(async () => client.close());
  const t0 = Date.now();
  const res = await unary(client, { message: 'hang', delayMs: 5000 });
  const ms = Date.now() - t0;
  assert.equal(res.error?.code, grpc.status.UNAVAILABLE);
  assert.equal(res.error?.details, 'upstream request timeout');
  assert.equal(res.initial, undefined, 'trailers-only reply');
  assert.ok(ms >= 145 && ms < 400, `after ${ms} ms`);
  await log.waitFor(1);
  const e = log.last();
  assert.equal(e.status, 200);
  assert.equal(e.grpcStatus, '14');
  assert.ok((e.flags & Flag.UT) !== 0);
  assert.equal(proxy.cluster('backend')!.stats.upstream_rq_timeout, 1);
  // The proxy reset the upstream call.
  const rec = server.calls.get('hang');
  assert.ok(rec);
  await Promise.race([rec.whenCancelled, new Promise((r) => setTimeout(r, 1000))]);
  assert.equal(rec.cancelled, true);
});

test('legacy gRPC timeouts: max_grpc_timeout 0 -> the global timeout follows grpc-timeout, rewritten upstream', async () => {
  const backend = await hangingH2Backend();
  // The route timeout (50 ms) is not used for gRPC once max_grpc_timeout is set.
  const r = route('all', { timeout: timeout(50, { maxGrpcTimeoutMs: 0 }) });
  const { proxy, port, log } = await start(config([r], [cluster('backend', [backend.port], { protocol: 'http2' })]));
  // 200 ms written in microseconds: the proxy re-emits it in ms.
  const out = await rawGrpc(port, { 'grpc-timeout': '200000u' });
  assert.equal(out.status, 200);
  assert.equal(out.grpcStatus, '14');
  assert.equal(out.grpcMessage, 'upstream request timeout');
  assert.ok(out.ms >= 195 && out.ms < 400, `after ${out.ms} ms`);
  assert.equal(backend.seen.length, 1);
  assertFirstAttempt(grpcMs(backend.seen[0]!['grpc-timeout']), 200);
  assertFirstAttempt(backend.seen[0]!['x-envoy-expected-rq-timeout-ms'], 200);
  assert.equal(proxy.cluster('backend')!.stats.upstream_rq_timeout, 1);
  await log.waitFor(1);
  assert.equal(log.last().grpcStatus, '14');
  assert.ok((log.last().flags & Flag.UT) !== 0);
});

test('legacy gRPC timeouts: max_grpc_timeout caps grpc-timeout (and applies when it is absent)', async () => {
  const backend = await hangingH2Backend();
  const r = route('all', { timeout: timeout(5000, { maxGrpcTimeoutMs: 150 }) });
  const { port } = await start(config([r], [cluster('backend', [backend.port], { protocol: 'http2' })]));

  const capped = await rawGrpc(port, { 'grpc-timeout': '10S' });
  assert.equal(capped.grpcStatus, '14');
  assert.ok(capped.ms >= 145 && capped.ms < 350, `capped: after ${capped.ms} ms`);
  assertFirstAttempt(grpcMs(backend.seen[0]!['grpc-timeout']), 150);

  const absent = await rawGrpc(port, {});
  assert.equal(absent.grpcStatus, '14');
  assert.ok(absent.ms >= 145 && absent.ms < 350, `absent: after ${absent.ms} ms`);
  assertFirstAttempt(grpcMs(backend.seen[1]!['grpc-timeout']), 150);

  const shorter = await rawGrpc(port, { 'grpc-timeout': '100m' });
  assert.ok(shorter.ms >= 95 && shorter.ms < 300, `shorter: after ${shorter.ms} ms`);
  assertFirstAttempt(grpcMs(backend.seen[2]!['grpc-timeout']), 100);
});

test('legacy gRPC timeouts: grpc_timeout_offset is subtracted from grpc-timeout', async () => {
  const backend = await hangingH2Backend();
  const r = route('all', { timeout: timeout(5000, { maxGrpcTimeoutMs: 0, grpcTimeoutOffsetMs: 50 }) });
  const { port } = await start(config([r], [cluster('backend', [backend.port], { protocol: 'http2' })]));
  const out = await rawGrpc(port, { 'grpc-timeout': '250m' });
  assert.equal(out.grpcStatus, '14');
  assert.ok(out.ms >= 195 && out.ms < 400, `after ${out.ms} ms`);
  assertFirstAttempt(grpcMs(backend.seen[0]!['grpc-timeout']), 200);
  // An offset not smaller than the timeout is not applied (never drives it to 0).
  const small = await rawGrpc(port, { 'grpc-timeout': '40m' });
  assert.ok(small.ms >= 35 && small.ms < 150, `small: after ${small.ms} ms`);
  assertFirstAttempt(grpcMs(backend.seen[1]!['grpc-timeout']), 40);
});

test('scenario 5: max_stream_duration {grpc_timeout_header_max: 0} + grpc-timeout 200m -> grpc-status 4 at ~200 ms', async () => {
  const backend = await hangingH2Backend();
  // The route timeout is not armed in this mode (Envoy's quirk): 100 ms here must not fire.
  const r = route('all', { timeout: timeout(100, { maxStreamDuration: { grpcTimeoutHeaderMaxMs: 0 } }) });
  const { proxy, port, log } = await start(config([r], [cluster('backend', [backend.port], { protocol: 'http2' })]));
  const out = await rawGrpc(port, { 'grpc-timeout': '200m' });
  assert.equal(out.status, 200);
  assert.equal(out.grpcStatus, '4', 'stream-duration timeouts surface as DEADLINE_EXCEEDED');
  assert.ok(out.ms >= 195 && out.ms < 400, `after ${out.ms} ms`);
  assert.equal(backend.seen[0]!['grpc-timeout'], '200m');
  assert.equal(proxy.cluster('backend')!.stats.upstream_rq_timeout, 0);
  await log.waitFor(1);
  assert.equal(log.last().grpcStatus, '4');
});

test('new gRPC timeouts: grpc_timeout_header_max caps grpc-timeout and the capped value goes upstream', async () => {
  // Spec 1.5: "if isGrpc: rewrite grpc-timeout := t" (HCM refreshDurationTimeout).
  const backend = await hangingH2Backend();
  const r = route('all', { timeout: timeout(0, { maxStreamDuration: { grpcTimeoutHeaderMaxMs: 150 } }) });
  const { port } = await start(config([r], [cluster('backend', [backend.port], { protocol: 'http2' })]));
  const out = await rawGrpc(port, { 'grpc-timeout': '10S' });
  assert.equal(out.grpcStatus, '4');
  assert.ok(out.ms >= 145 && out.ms < 350, `after ${out.ms} ms`);
  assert.equal(backend.seen[0]!['grpc-timeout'], '150m');
});

// === x-envoy-upstream-rq-timeout-ms ===

test('trusted x-envoy-upstream-rq-timeout-ms overrides the route timeout and is not forwarded', async () => {
  // The backend answers after the number of ms in the path (0 = never).
  const backend = await recordingBackend((req, res) => {
    const ms = Number(req.url!.slice(1));
    if (ms > 0) setTimeout(() => res.end('answered'), ms);
  });
  const r = route('all', { timeout: timeout(300) });
  const { proxy, port } = await start(config([r], [cluster('backend', [backend.port])], { listener: { trustedCidrs: ['127.0.0.1/32'] } }));

  // Longer than the route's 300 ms: the answer at 450 ms arrives.
  const longer = await h1Request(port, { path: '/450', headers: { 'x-envoy-upstream-rq-timeout-ms': '700' } });
  assert.equal(longer.status, 200);
  assert.equal(longer.body.toString(), 'answered');
  assert.equal(backend.seen[0]!.headers['x-envoy-upstream-rq-timeout-ms'], undefined, 'consumed, not forwarded');
  assertFirstAttempt(backend.seen[0]!.headers['x-envoy-expected-rq-timeout-ms'], 700);

  // Shorter than the route's 300 ms is honoured too: hanging backend, 504 at ~20 ms.
  const t0 = Date.now();
  const shorter = await h1Request(port, { path: '/0', headers: { 'x-envoy-upstream-rq-timeout-ms': '20' } });
  const ms = Date.now() - t0;
  assert.equal(shorter.status, 504);
  assert.ok(ms >= 18 && ms < 250, `504 after ${ms} ms`);
  assertFirstAttempt(backend.seen[1]!.headers['x-envoy-expected-rq-timeout-ms'], 20);

  // 0 disables the route timeout.
  const none = await h1Request(port, { path: '/350', headers: { 'x-envoy-upstream-rq-timeout-ms': '0' } });
  assert.equal(none.status, 200);
  assert.equal(backend.seen[2]!.headers['x-envoy-expected-rq-timeout-ms'], undefined);

  // Garbage is ignored (the route's 300 ms applies) and still removed.
  const bad = await h1Request(port, { path: '/450', headers: { 'x-envoy-upstream-rq-timeout-ms': 'soon' } });
  assert.equal(bad.status, 504);
  assert.equal(backend.seen[3]!.headers['x-envoy-upstream-rq-timeout-ms'], undefined);
  assertFirstAttempt(backend.seen[3]!.headers['x-envoy-expected-rq-timeout-ms'], 300);
  assert.equal(proxy.cluster('backend')!.stats.upstream_rq_timeout, 2);
});

test('untrusted x-envoy-upstream-rq-timeout-ms is stripped and ignored', async () => {
  const backend = await recordingBackend((_q, res) => setTimeout(() => res.end('late'), 200));
  const r = route('all', { timeout: timeout(80) });
  const { proxy, port } = await start(config([r], [cluster('backend', [backend.port])])); // no trusted CIDRs
  const t0 = Date.now();
  const res = await h1Request(port, {
    path: '/',
    headers: { 'x-envoy-upstream-rq-timeout-ms': '1000', 'x-envoy-expected-rq-timeout-ms': '99999' },
  });
  const ms = Date.now() - t0;
  assert.equal(res.status, 504);
  assert.ok(ms >= 75 && ms < 190, `504 after ${ms} ms`);
  const h = backend.seen[0]!.headers;
  assert.equal(h['x-envoy-upstream-rq-timeout-ms'], undefined);
  assertFirstAttempt(h['x-envoy-expected-rq-timeout-ms'], 80, "the proxy's own value, not the client's");
  assert.equal(proxy.cluster('backend')!.stats.upstream_rq_timeout, 1);
});

// === Scenario 1, checked last ===

test('scenario 1: with no timeout configured, a hanging backend gives 504 "upstream request timeout" at 15 s', async () => {
  const run = await defaultTimeoutRun;
  if (!run.ok) throw run.e;
  const { res, ms, backend, proxy, log } = run.v;
  assert.equal(res.status, 504);
  assert.equal(res.body.toString(), 'upstream request timeout');
  assert.ok(ms >= 14_990 && ms < 15_300, `504 after ${ms} ms`);
  assert.equal(backend.seen.length, 1);
  assertFirstAttempt(backend.seen[0]!.headers['x-envoy-expected-rq-timeout-ms'], 15000);
  assert.equal(proxy.cluster('backend')!.stats.upstream_rq_timeout, 1);
  const e = log.last();
  assert.equal(e.flags, Flag.UT);
  assert.equal(e.details, 'response_timeout');
});
