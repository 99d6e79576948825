/**
 * Fault injection end to end (spec section 3, scenarios 14-15): Envoy's request scope (once,
 * before the router: never retried, outside the route timeout) and legate's attempt scope (per
 * attempt: retries see the fault), percentages with a seeded random, header-controlled faults and
 * max_active_faults.
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { Proxy } from '../../src/dataplane/proxy.js';
import { Flag } from '../../src/dataplane/http/response-flags.js';
import { seededRandom } from '../../src/common/random.js';
import type * as ir from '../../src/ir/index.js';
import { config, cluster, route } from '../helpers/ir.js';
import { h1Backend, h1Request } from '../helpers/backends.js';
import { CollectingLog } from '../helpers/access-log.js';
import { startEchoServer, echoClient, unary, grpc } from '../helpers/grpc.js';

const closers: (() => Promise<void>)[] = [];
after(async () => {
  for (const c of closers.reverse()) await c();
});

const agent = new http.Agent({ keepAlive: true, maxSockets: 16 });
closers.push(async () => agent.destroy());

const pct = (numerator: number, denominator: ir.FractionalPercent['denominator'] = 100): ir.FractionalPercent => ({
  numerator,
  denominator,
});

function fault(p: Partial<ir.FaultPolicy>): ir.FaultPolicy {
  return { scope: 'request', origin: {}, ...p };
}

function retry(p: Partial<ir.RetryPolicy> = {}): ir.RetryPolicy {
  return {
    retryOn: ['5xx'],
    numRetries: 3,
    perTryTimeoutMs: 0,
    perTryIdleTimeoutMs: 0,
    retriableStatusCodes: [],
    retriableHeaders: [],
    retriableRequestHeaders: [],
    backoff: { baseIntervalMs: 2, maxIntervalMs: 20 },
    previousHosts: false,
    hostSelectionRetryMaxAttempts: 1,
    bufferLimitBytes: 1 << 20,
    origin: {},
    ...p,
  };
}

/** A fast HTTP/1.1 backend that counts requests. */
async function countingBackend(delayMs = 0) {
  const state = { count: 0 };
  const b = await h1Backend((_q, res) => {
    state.count++;
    if (delayMs > 0) setTimeout(() => res.end('ok'), delayMs);
    else res.end('ok');
  });
  closers.push(() => b.close());
  return Object.assign(b, { state });
}

async function start(routes: ir.Route[], backendPort: number, seed = 1, protocol: ir.Cluster['protocol'] = 'downstream') {
  const log = new CollectingLog();
  const proxy = await Proxy.start(config(routes, [cluster('backend', [backendPort], { protocol })]), {
    accessLog: log,
    random: seededRandom(seed),
  });
  closers.push(() => proxy.close(100));
  return { proxy, log, port: proxy.port('main'), faults: proxy.faults('main')!.stats, stats: proxy.cluster('backend')!.stats };
}

/** Sends n GETs, `concurrency` at a time, over a keep-alive agent; returns the statuses in order. */
async function fire(port: number, n: number, headers: http.OutgoingHttpHeaders = {}, concurrency = 16): Promise<number[]> {
  const out: number[] = new Array<number>(n);
  let next = 0;
  const worker = async () => {
    while (next < n) {
      const i = next++;
      out[i] = (await h1Request(port, { path: `/${i}`, headers, agent })).status;
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  return out;
}

const count = (xs: number[], v: number) => xs.filter((x) => x === v).length;

// === Request scope (Envoy) ===

test('scenario 14: abort 503 at 100% with retry_on 5xx x3 -> 503 "fault filter abort", FI, no upstream traffic, no retry', async () => {
  const backend = await countingBackend();
  const r = route('all', { fault: fault({ abort: { httpStatus: 503, percent: pct(100) } }), retry: retry() });
  const { log, port, faults, stats } = await start([r], backend.port);
  const t0 = Date.now();
  const res = await h1Request(port, { path: '/' });
  const ms = Date.now() - t0;
  assert.equal(res.status, 503);
  assert.equal(res.body.toString(), 'fault filter abort');
  assert.ok(ms < 500, `immediate, took ${ms} ms`);
  assert.equal(backend.state.count, 0, 'no request reached the backend');
  assert.equal(stats.upstream_rq_total, 0);
  assert.equal(stats.upstream_rq_retry, 0);
  assert.equal(faults.aborts_injected, 1);
  await log.waitFor(1);
  const e = log.last();
  assert.equal(e.flags, Flag.FI);
  assert.equal(e.status, 503);
  assert.equal(e.details, 'fault_filter_abort');
  assert.equal(e.attempts, 0);
});

test('gRPC: abort grpc_status 14 -> HTTP 200 trailers-only, grpc-status 14 "fault filter abort" (and grpc_status 8 stays 8)', async () => {
  const server = await startEchoServer();
  closers.push(() => server.close());
  for (const code of [14, 8]) {
    const r = route('all', {
      fault: fault({ abort: { grpcStatus: code, percent: pct(100) } }),
      retry: retry({ retryOn: ['unavailable', 'resource-exhausted'] }),
    });
    const { log, port, faults, stats } = await start([r], server.port, 1, 'http2');
    const client = echoClient(port);
    closers.push(async () => client.close());
    const res = await unary(client, { message: `abort-${code}` });
    assert.equal(res.error?.code, code);
    assert.equal(res.error?.details, 'fault filter abort');
    assert.equal(res.initial, undefined, 'trailers-only reply');
    assert.equal(server.calls.has(`abort-${code}`), false);
    assert.equal(stats.upstream_rq_total, 0);
    assert.equal(faults.aborts_injected, 1);
    await log.waitFor(1);
    assert.equal(log.last().status, 200);
    assert.equal(log.last().grpcStatus, String(code));
    assert.equal(log.last().flags, Flag.FI);
  }
});

test('gRPC: abort http_status 503 -> HTTP 200, grpc-status 14', async () => {
  const server = await startEchoServer();
  closers.push(() => server.close());
  const r = route('all', { fault: fault({ abort: { httpStatus: 503, percent: pct(100) } }) });
  const { log, port } = await start([r], server.port, 1, 'http2');
  const client = echoClient(port);
  closers.push(async () => client.close());
  const res = await unary(client, { message: 'http-abort' });
  assert.equal(res.error?.code, grpc.status.UNAVAILABLE);
  assert.equal(res.error?.details, 'fault filter abort');
  assert.equal(server.calls.has('http-abort'), false);
  await log.waitFor(1);
  assert.equal(log.last().status, 200);
  assert.equal(log.last().grpcStatus, '14');
});

test('scenario 15 (scaled): delay 300 ms at 100% with route timeout 100 ms -> success after ~300 ms, DI', async () => {
  const backend = await countingBackend();
  const r = route('all', { timeout: { requestMs: 100, origin: {} }, fault: fault({ delay: { fixedMs: 300, percent: pct(100) } }) });
  const { log, port, faults, stats } = await start([r], backend.port);
  const t0 = Date.now();
  const res = await h1Request(port, { path: '/' });
  const ms = Date.now() - t0;
  assert.equal(res.status, 200, 'the delay is outside the route timeout');
  assert.equal(res.body.toString(), 'ok');
  assert.ok(ms >= 295 && ms < 450, `took ${ms} ms`);
  assert.equal(stats.upstream_rq_timeout, 0);
  assert.equal(faults.delays_injected, 1);
  assert.equal(faults.active_faults, 0, 'the slot is given back after the delay');
  assert.equal(backend.state.count, 1);
  await log.waitFor(1);
  assert.equal(log.last().flags, Flag.DI);
});

test('percentages roll per request: abort 50/100 and 2500/10000 over 400 requests each', async () => {
  const backend = await countingBackend();
  for (const [percent, expected] of [
    [pct(50), 200],
    [pct(2500, 10_000), 100],
  ] as const) {
    const before = backend.state.count;
    const r = route('all', { fault: fault({ abort: { httpStatus: 503, percent } }) });
    const { port, faults, stats } = await start([r], backend.port, 42);
    const statuses = await fire(port, 400);
    const aborted = count(statuses, 503);
    assert.ok(
      Math.abs(aborted - expected) <= 40,
      `${percent.numerator}/${percent.denominator}: ${aborted} of 400 aborted, expected ~${expected}`,
    );
    assert.equal(aborted + count(statuses, 200), 400);
    assert.equal(faults.aborts_injected, aborted);
    assert.equal(backend.state.count - before, 400 - aborted, 'only the requests not aborted reach the backend');
    assert.equal(stats.upstream_rq_total, 400 - aborted);
  }
});

test('header-controlled faults: the configured percentage is a ceiling', async () => {
  const backend = await countingBackend();
  const r = route('all', {
    fault: fault({ abort: { fromHeader: true, percent: pct(50) }, delay: { fromHeader: true, percent: pct(100) } }),
  });
  const { log, port, faults } = await start([r], backend.port, 7);

  // Asking for 100% gets the 50% ceiling, with the status from the header.
  const capped = await fire(port, 400, { 'x-envoy-fault-abort-request': '429', 'x-envoy-fault-abort-request-percentage': '100' });
  assert.equal(count(capped, 503), 0);
  const c429 = count(capped, 429);
  assert.ok(Math.abs(c429 - 200) <= 40, `${c429} of 400 aborted with 429, expected ~200 (ceiling 50%)`);

  // A lower percentage than the ceiling is used as is.
  const low = await fire(port, 400, { 'x-envoy-fault-abort-request': '429', 'x-envoy-fault-abort-request-percentage': '10' });
  const l429 = count(low, 429);
  assert.ok(Math.abs(l429 - 40) <= 25, `${l429} of 400 aborted, expected ~40 (10%)`);

  // No percentage header: the configured one.
  const plain = await fire(port, 200, { 'x-envoy-fault-abort-request': '418' });
  const p418 = count(plain, 418);
  assert.ok(Math.abs(p418 - 100) <= 30, `${p418} of 200 aborted, expected ~100`);

  // No abort header, or a status outside [200, 600): no abort.
  assert.deepEqual(new Set(await fire(port, 20)), new Set([200]));
  assert.deepEqual(new Set(await fire(port, 20, { 'x-envoy-fault-abort-request': '600' })), new Set([200]));
  assert.equal(faults.aborts_injected, c429 + l429 + p418);

  // Delay from the header (ceiling 100%).
  const n = log.entries.length;
  const t0 = Date.now();
  const delayed = await h1Request(port, { path: '/d', headers: { 'x-envoy-fault-delay-request': '150' } });
  const ms = Date.now() - t0;
  assert.equal(delayed.status, 200);
  assert.ok(ms >= 145 && ms < 300, `delayed ${ms} ms`);
  await log.waitFor(n + 1);
  assert.equal(log.last().flags, Flag.DI);
  // A delay percentage header of 0 turns it off.
  await h1Request(port, { path: '/d0', headers: { 'x-envoy-fault-delay-request': '150', 'x-envoy-fault-delay-request-percentage': '0' } });
  await log.waitFor(n + 2);
  assert.equal(log.last().flags, 0, 'not delayed');
  assert.equal(faults.delays_injected, 1);
});

test('header-controlled gRPC abort: x-envoy-fault-abort-grpc-request', async () => {
  const server = await startEchoServer();
  closers.push(() => server.close());
  const r = route('all', { fault: fault({ abort: { fromHeader: true, percent: pct(100) } }) });
  const { port } = await start([r], server.port, 1, 'http2');
  const client = echoClient(port);
  closers.push(async () => client.close());
  const res = await unary(client, { message: 'hdr-grpc' }, { metadata: { 'x-envoy-fault-abort-grpc-request': '8' } });
  assert.equal(res.error?.code, grpc.status.RESOURCE_EXHAUSTED);
  assert.equal(res.error?.details, 'fault filter abort');
  assert.equal(server.calls.has('hdr-grpc'), false);
  const ok = await unary(client, { message: 'no-hdr' });
  assert.equal(ok.error, null);
});

test('max_active_faults 1: a second concurrent request is not delayed and counts faults_overflow', async () => {
  const backend = await countingBackend();
  const r = route('all', { fault: fault({ delay: { fixedMs: 300, percent: pct(100) }, maxActiveFaults: 1 }) });
  const { log, port, faults } = await start([r], backend.port);
  const t0 = Date.now();
  const first = h1Request(port, { path: '/first' }).then((res) => ({ res, ms: Date.now() - t0 }));
  await new Promise((r) => setTimeout(r, 30));
  assert.equal(faults.active_faults, 1);
  const t1 = Date.now();
  const second = await h1Request(port, { path: '/second' });
  const secondMs = Date.now() - t1;
  assert.equal(second.status, 200);
  assert.ok(secondMs < 250, `second not delayed: ${secondMs} ms`);
  const f = await first;
  assert.equal(f.res.status, 200);
  assert.ok(f.ms >= 295, `first delayed: ${f.ms} ms`);
  assert.equal(faults.faults_overflow, 1);
  assert.equal(faults.delays_injected, 1);
  await log.waitFor(2);
  const byPath = new Map(log.entries.map((e) => [e.path, e]));
  assert.equal(byPath.get('/first')!.flags, Flag.DI);
  assert.equal(byPath.get('/second')!.flags, 0);
  // The slot is free again: the next request is delayed.
  assert.equal(faults.active_faults, 0);
  const t2 = Date.now();
  await h1Request(port, { path: '/third' });
  assert.ok(Date.now() - t2 >= 295, 'third delayed');
  assert.equal(faults.delays_injected, 2);
});

// === Scope: attempt (legate) vs request (Envoy) ===

type TraceLine = { attempt: number; host: string; outcome: string; decision: string; ms: number };

test("scope 'attempt': abort 503 at 50% with retry_on 5xx x3 -> most requests succeed through retries", async () => {
  const backend = await countingBackend();
  const r = route('all', { fault: fault({ scope: 'attempt', abort: { httpStatus: 503, percent: pct(50) } }), retry: retry() });
  const { log, port, faults, stats } = await start([r], backend.port, 11);
  const N = 200;
  // One at a time: concurrent retries would hit the cluster's max_retries breaker (3).
  const statuses = await fire(port, N, {}, 1);
  const ok = count(statuses, 200);
  const failed = count(statuses, 503);
  assert.equal(stats.upstream_rq_retry_overflow, 0, 'the max_retries breaker (3) stays out of the way');
  assert.equal(ok + failed, N);
  // P(fail) = 0.5^4 = 6.25%.
  assert.ok(ok >= 0.85 * N, `${ok} of ${N} succeeded, expected ~${0.9375 * N}`);
  assert.ok(failed <= 0.15 * N, `${failed} failed`);
  assert.ok(stats.upstream_rq_retry > 0, 'retries happened');
  // Expected retries ~ N * (0.5 + 0.25 + 0.125) = 175.
  assert.ok(stats.upstream_rq_retry >= 0.6 * N && stats.upstream_rq_retry <= 1.1 * N, `upstream_rq_retry ${stats.upstream_rq_retry}`);
  assert.equal(backend.state.count, ok, 'aborted attempts never reach the backend');
  assert.equal(faults.aborts_injected, stats.upstream_rq_total - ok);
  assert.equal(faults.active_faults, 0);

  await log.waitFor(N);
  const lines = log.entries.flatMap((e) => (e.attemptTrace ?? []) as TraceLine[]);
  const retried = lines.filter((t) => t.outcome === 'fault abort 503' && /^retried \(5xx\)/.test(t.decision));
  assert.ok(retried.length > 0, 'the trace shows injected aborts that were retried');
  assert.equal(lines.filter((t) => t.outcome === 'fault abort 503').length, faults.aborts_injected);
  // A request that succeeded after an injected abort.
  const recovered = log.entries.find((e) => e.status === 200 && e.attempts > 1);
  assert.ok(recovered, 'some request succeeded on a retry');
  assert.equal((recovered.attemptTrace as TraceLine[])[0]!.outcome, 'fault abort 503');
  assert.ok((recovered.flags & Flag.FI) !== 0);
  // A request whose four attempts were all aborted: the injected 503 with the retry limit flag.
  if (failed > 0) {
    const lost = log.entries.find((e) => e.status === 503)!;
    assert.equal(lost.attempts, 4);
    assert.ok((lost.flags & Flag.FI) !== 0 && (lost.flags & Flag.URX) !== 0, `flags ${lost.flags}`);
  }
});

test("scope 'request': the same config never retries an injected abort", async () => {
  const backend = await countingBackend();
  const r = route('all', { fault: fault({ scope: 'request', abort: { httpStatus: 503, percent: pct(50) } }), retry: retry() });
  const { log, port, faults, stats } = await start([r], backend.port, 11);
  const N = 200;
  const statuses = await fire(port, N);
  const ok = count(statuses, 200);
  const failed = count(statuses, 503);
  assert.equal(ok + failed, N);
  assert.ok(Math.abs(failed - N / 2) <= 30, `${failed} of ${N} aborted, expected ~${N / 2}`);
  assert.equal(stats.upstream_rq_retry, 0);
  assert.equal(stats.upstream_rq_total, ok);
  assert.equal(backend.state.count, ok);
  assert.equal(faults.aborts_injected, failed);
  await log.waitFor(N);
  for (const e of log.entries.filter((x) => x.status === 503)) {
    assert.equal(e.attempts, 0);
    assert.equal(e.flags, Flag.FI);
  }
});

test("scope 'attempt': an injected delay is inside the route timeout, and its slot is freed when the attempt is cut", async () => {
  // Unlike the request scope (scenario 15), the attempt's delay runs after the route timer started.
  const backend = await countingBackend();
  const r = route('all', {
    timeout: { requestMs: 100, origin: {} },
    fault: fault({ scope: 'attempt', delay: { fixedMs: 300, percent: pct(100) }, maxActiveFaults: 1 }),
  });
  const { log, port, faults, stats } = await start([r], backend.port);
  const t0 = Date.now();
  const res = await h1Request(port, { path: '/' });
  const ms = Date.now() - t0;
  assert.equal(res.status, 504);
  assert.equal(res.body.toString(), 'upstream request timeout');
  assert.ok(ms >= 95 && ms < 250, `504 after ${ms} ms`);
  assert.equal(stats.upstream_rq_timeout, 1);
  assert.equal(backend.state.count, 0);
  assert.equal(faults.delays_injected, 1);
  assert.equal(faults.active_faults, 0, 'the attempt slot is released when the attempt is cut');
  await log.waitFor(1);
  assert.equal(log.last().flags, Flag.DI | Flag.UT);
  // The slot is free: the next request is delayed too, not counted as an overflow.
  await h1Request(port, { path: '/' });
  assert.equal(faults.faults_overflow, 0);
  assert.equal(faults.delays_injected, 2);
});
