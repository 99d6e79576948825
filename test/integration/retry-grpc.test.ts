/**
 * gRPC retries (spec 2.11, scenarios 6 and 7) and legate's trailer-retry extension: a raw
 * node:http2 backend fails calls with UNAVAILABLE by a fixed, seeded pattern (per call and
 * attempt, so concurrency cannot change the outcome), and @grpc/grpc-js calls through the proxy.
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import http2 from 'node:http2';
import { Proxy } from '../../src/dataplane/proxy.js';
import type * as ir from '../../src/ir/index.js';
import { seededRandom } from '../../src/common/random.js';
import { Flag, formatFlags } from '../../src/dataplane/http/response-flags.js';
import type { AccessLogEntry } from '../../src/dataplane/access-log.js';
import type { Cluster } from '../../src/dataplane/upstream/cluster.js';
import { config, cluster, route } from '../helpers/ir.js';
import { closedPort, h2Backend } from '../helpers/backends.js';
import { CollectingLog } from '../helpers/access-log.js';
import { grpc } from '../helpers/grpc.js';
import { pool, retryPolicy, sleep, spawnProxy, traceDelay, type TraceLine } from '../helpers/retry.js';

const Status = grpc.status;
const METHOD = '/legate.test.Echo/Unary';

// --- the failure pattern: fails[call][attempt-1], independent fair coins from a fixed seed ---
const CALLS = 2000;
const MAX_ATTEMPTS = 6;
const rnd = seededRandom(20240601);
const fails: boolean[][] = Array.from({ length: CALLS }, () => Array.from({ length: MAX_ATTEMPTS + 2 }, () => rnd.next() < 0.5));

/** What the proxy should do with `attempts` tries per call: successes and retries. */
function model(attempts: number) {
  let ok = 0;
  let retries = 0;
  let exhausted = 0;
  for (const f of fails) {
    const first = f.slice(0, attempts).indexOf(false);
    if (first >= 0) {
      ok++;
      retries += first;
    } else {
      retries += attempts - 1;
      exhausted++;
    }
  }
  return { ok, retries, exhausted };
}

// --- backend ---
type Mode =
  /** Failures as trailers-only responses (HEADERS with grpc-status, END_STREAM). */
  | 'trailers-only'
  /** Failures after one message, status in the trailers. */
  | 'trailers';

type Arrival = { call: string; n: number; attemptHeader: string | undefined; at: number };
const backend = {
  mode: 'trailers-only' as Mode,
  /** Extra trailer/header fields on failures. */
  extra: {} as Record<string, string>,
  /** Fail decision: by default the seeded pattern. */
  fail: (call: number, n: number) => fails[call]?.[n - 1] ?? false,
  arrivals: [] as Arrival[],
  counts: new Map<string, number>(),
};

const MESSAGE = Buffer.from([0, 0, 0, 0, 2, 0x68, 0x69]); // one length-prefixed message: "hi"

const server = await h2Backend((stream: http2.ServerHttp2Stream, headers) => {
  const call = String(headers['x-call'] ?? '-');
  const n = (backend.counts.get(call) ?? 0) + 1;
  backend.counts.set(call, n);
  backend.arrivals.push({ call, n, attemptHeader: headers['x-envoy-attempt-count'] as string | undefined, at: performance.now() });
  stream.resume();
  stream.on('end', () => {
    if (stream.destroyed) return;
    const fail = backend.fail(Number(call), n);
    if (fail && backend.mode === 'trailers-only') {
      stream.respond(
        { ':status': 200, 'content-type': 'application/grpc', 'grpc-status': '14', 'grpc-message': 'try again', ...backend.extra },
        { endStream: true },
      );
      return;
    }
    stream.respond({ ':status': 200, 'content-type': 'application/grpc' }, { waitForTrailers: true });
    stream.on('wantTrailers', () => {
      stream.sendTrailers(fail ? { 'grpc-status': '14', 'grpc-message': 'try again', ...backend.extra } : { 'grpc-status': '0' });
    });
    stream.end(MESSAGE);
  });
});

after(async () => {
  await server.close();
});

function resetBackend(mode: Mode, extra: Record<string, string> = {}, fail?: (call: number, n: number) => boolean) {
  backend.mode = mode;
  backend.extra = extra;
  backend.fail = fail ?? ((call, n) => fails[call]?.[n - 1] ?? false);
  backend.arrivals = [];
  backend.counts = new Map();
}

// --- proxy and client ---
type Harness = { proxy: Proxy; log: CollectingLog; client: grpc.Client; stats: Cluster['stats'] };

async function withProxy(
  s: { policy: Partial<ir.RetryPolicy> | null; ports?: number[]; trusted?: boolean },
  fn: (h: Harness) => Promise<void>,
): Promise<void> {
  const log = new CollectingLog();
  const r = route('all', s.policy === null ? {} : { retry: retryPolicy(s.policy) });
  const base = cluster('backend', s.ports ?? [server.port], { protocol: 'http2' });
  const proxy = await Proxy.start(
    config([r], [{ ...base, circuitBreakers: { ...base.circuitBreakers, maxRetries: 100_000 } }], {
      listener: s.trusted ? { trustedCidrs: ['127.0.0.1/32'] } : {},
      vhost: { includeAttemptCountInRequest: true },
    }),
    { accessLog: log, random: seededRandom(5) },
  );
  const client = new grpc.Client(`127.0.0.1:${proxy.port('main')}`, grpc.credentials.createInsecure(), {
    'grpc.enable_http_proxy': 0,
    'grpc.enable_retries': 0,
    'grpc.use_local_subchannel_pool': 1,
  });
  try {
    await fn({ proxy, log, client, stats: proxy.cluster('backend')!.stats });
  } finally {
    client.close();
    await proxy.close(100);
  }
}

type Result = { code: number; details: string; trailers: grpc.Metadata | undefined };

function call(client: grpc.Client, id: number | string, metadata: Record<string, string> = {}): Promise<Result> {
  const md = new grpc.Metadata();
  md.set('x-call', String(id));
  for (const [k, v] of Object.entries(metadata)) md.set(k, v);
  return new Promise((resolve) => {
    let trailers: grpc.Metadata | undefined;
    const c = client.makeUnaryRequest(
      METHOD,
      (b: Buffer) => b,
      (b: Buffer) => b,
      Buffer.from('x'),
      md,
      {},
      (err: grpc.ServiceError | null) =>
        resolve({ code: err ? err.code : Status.OK, details: err?.details ?? '', trailers: err?.metadata ?? trailers }),
    );
    c.on('status', (s: grpc.StatusObject) => (trailers = s.metadata));
  });
}

const trace = (e: AccessLogEntry) => (e.attemptTrace ?? []) as TraceLine[];

async function runAll(h: Harness) {
  const ids = Array.from({ length: CALLS }, (_, i) => i);
  const results = await pool(ids, 100, (i) => call(h.client, i));
  await h.log.waitFor(CALLS, 10_000);
  return results;
}

// --- scenario 6 ---

test('scenario 6: retry_on unavailable, trailers-only UNAVAILABLE 50%, 5 retries, 2000 calls -> success >= 98%', async () => {
  resetBackend('trailers-only');
  const m = model(MAX_ATTEMPTS);
  await withProxy({ policy: { retryOn: ['unavailable'], numRetries: 5 } }, async (h) => {
    const results = await runAll(h);
    const ok = results.filter((r) => r.code === Status.OK).length;
    assert.ok(ok / CALLS >= 0.98, `success ratio ${ok / CALLS} (1 - 0.5^6 = 0.984)`);
    // The pattern is fixed per call and attempt, so the outcome is exact.
    assert.equal(ok, m.ok);
    assert.equal(h.stats.upstream_rq_retry, m.retries);
    assert.equal(h.stats.upstream_rq_retry_limit_exceeded, m.exhausted);
    assert.equal(backend.arrivals.length, CALLS + m.retries);
    // Mean attempts per call near (1 - 0.5^6) / 0.5 = 1.969.
    const mean = backend.arrivals.length / CALLS;
    assert.ok(mean > 1.85 && mean < 2.09, `mean attempts ${mean}`);
    for (const r of results) if (r.code !== Status.OK) assert.equal(r.code, Status.UNAVAILABLE);
    // The backend's attempt numbering matches x-envoy-attempt-count.
    for (const a of backend.arrivals) assert.equal(a.attemptHeader, String(a.n));
    const exhausted = h.log.entries.filter((e) => e.grpcStatus === '14');
    assert.equal(exhausted.length, m.exhausted);
    for (const e of exhausted) {
      assert.equal(e.flags, Flag.URX, formatFlags(e.flags));
      assert.equal(e.attempts, 6);
    }
  });
});

// --- scenario 7 ---

test('scenario 7: the same failure in trailers after a message -> ~50% success, upstream_rq_retry 0', async () => {
  resetBackend('trailers');
  const expectedOk = fails.filter((f) => !f[0]).length;
  await withProxy({ policy: { retryOn: ['unavailable'], numRetries: 5 } }, async (h) => {
    const results = await runAll(h);
    const ok = results.filter((r) => r.code === Status.OK).length;
    assert.equal(ok, expectedOk);
    assert.ok(Math.abs(ok / CALLS - 0.5) < 0.05, `success ratio ${ok / CALLS}`);
    assert.equal(h.stats.upstream_rq_retry, 0);
    assert.equal(backend.arrivals.length, CALLS);
    const failed = results.filter((r) => r.code !== Status.OK);
    for (const r of failed) {
      assert.equal(r.code, Status.UNAVAILABLE);
      assert.equal(r.details, 'try again');
    }
  });
});

// --- legate's grpcTrailerRetry ---

test('grpcTrailerRetry: trailer UNAVAILABLE on unary calls is retried -> success as scenario 6', async () => {
  resetBackend('trailers');
  const m = model(MAX_ATTEMPTS);
  await withProxy({ policy: { retryOn: ['unavailable'], numRetries: 5, grpcTrailerRetry: true } }, async (h) => {
    const results = await runAll(h);
    const ok = results.filter((r) => r.code === Status.OK).length;
    assert.ok(ok / CALLS >= 0.98, `success ratio ${ok / CALLS}`);
    assert.equal(ok, m.ok);
    assert.equal(h.stats.upstream_rq_retry, m.retries);
    assert.equal(h.stats.upstream_rq_retry_limit_exceeded, m.exhausted);
    const e = h.log.entries.find((x) => x.attempts > 1 && x.grpcStatus === '0');
    assert.ok(e);
    assert.match(trace(e)[0]!.outcome, /^200 grpc 14 \(trailers\)$/);
    assert.match(trace(e)[0]!.decision, /^retried \(unavailable\) after \d+ ms$/);
  });
});

/** One call whose first attempt fails with `extra` in the failure, the second succeeds. */
async function pushbackCase(mode: Mode, value: string, policy: Partial<ir.RetryPolicy>) {
  resetBackend(mode, { 'grpc-retry-pushback-ms': value }, (_c, n) => n === 1);
  let out!: { result: Result; arrivals: Arrival[]; entry: AccessLogEntry; retries: number };
  await withProxy({ policy }, async (h) => {
    const result = await call(h.client, 0);
    await h.log.waitFor(1);
    out = { result, arrivals: [...backend.arrivals], entry: h.log.last(), retries: h.stats.upstream_rq_retry };
  });
  return out;
}

const trailerPolicy: Partial<ir.RetryPolicy> = { retryOn: ['unavailable'], numRetries: 3, grpcTrailerRetry: true };

test('grpc-retry-pushback-ms 300 in trailers: the retry waits exactly that long', async () => {
  const r = await pushbackCase('trailers', '300', trailerPolicy);
  assert.equal(r.result.code, Status.OK);
  assert.equal(r.arrivals.length, 2);
  const gap = r.arrivals[1]!.at - r.arrivals[0]!.at;
  assert.ok(gap >= 299 && gap < 600, `retry ${gap} ms later`);
  assert.equal(traceDelay(trace(r.entry)[0]!.decision), 300);
});

test('grpc-retry-pushback-ms negative in trailers: no retry', async () => {
  const r = await pushbackCase('trailers', '-1', trailerPolicy);
  assert.equal(r.result.code, Status.UNAVAILABLE);
  assert.equal(r.arrivals.length, 1);
  assert.equal(r.retries, 0);
});

test('grpc-retry-pushback-ms malformed in trailers: no retry', async () => {
  const r = await pushbackCase('trailers', 'soon', trailerPolicy);
  assert.equal(r.result.code, Status.UNAVAILABLE);
  assert.equal(r.arrivals.length, 1);
  assert.equal(r.retries, 0);
});

test('grpcTrailerRetry: grpc-retry-pushback-ms in a trailers-only response is honoured as well', async () => {
  // A trailers-only response carries the trailers in its only HEADERS frame; gRPC reads the
  // pushback there too. With the option on the server's "do not retry" must hold either way.
  const stop = await pushbackCase('trailers-only', '-1', trailerPolicy);
  assert.equal(stop.arrivals.length, 1, 'negative pushback on a trailers-only response still retried');
  assert.equal(stop.result.code, Status.UNAVAILABLE);
  const wait = await pushbackCase('trailers-only', '300', trailerPolicy);
  assert.equal(wait.result.code, Status.OK);
  const gap = wait.arrivals[1]!.at - wait.arrivals[0]!.at;
  assert.ok(gap >= 299 && gap < 600, `retry ${gap} ms later`);
});

// --- other gRPC cases ---

test('trailers-only UNAVAILABLE always, num_retries 2: the upstream status reaches the client, URX', async () => {
  resetBackend('trailers-only', {}, () => true);
  await withProxy({ policy: { retryOn: ['unavailable'], numRetries: 2 } }, async (h) => {
    const r = await call(h.client, 0);
    assert.equal(r.code, Status.UNAVAILABLE);
    assert.equal(r.details, 'try again');
    await h.log.waitFor(1);
    const e = h.log.last();
    assert.equal(e.attempts, 3);
    assert.equal(e.flags, Flag.URX, formatFlags(e.flags));
    assert.equal(h.stats.upstream_rq_retry, 2);
    assert.equal(h.stats.upstream_rq_retry_limit_exceeded, 1);
  });
});

test('retry_on cancelled / deadline-exceeded / internal / resource-exhausted fire on their own code only', async () => {
  const cases: [ir.RetryOn, number, boolean][] = [
    ['cancelled', 1, true],
    ['deadline-exceeded', 4, true],
    ['resource-exhausted', 8, true],
    ['internal', 13, true],
    ['unavailable', 14, true],
    ['unavailable', 13, false],
    ['internal', 14, false],
    ['cancelled', 2, false],
  ];
  for (const [token, code, retried] of cases) {
    resetBackend('trailers-only', { 'grpc-status': String(code) }, (_c, n) => n === 1);
    await withProxy({ policy: { retryOn: [token] } }, async (h) => {
      const r = await call(h.client, 0);
      assert.equal(backend.arrivals.length, retried ? 2 : 1, `${token} on grpc-status ${code}`);
      assert.equal(r.code, retried ? Status.OK : code);
    });
  }
});

test('gRPC: retry_on unavailable does not retry a refused connection; with connect-failure it does', async () => {
  const dead = await closedPort();
  await withProxy({ policy: { retryOn: ['unavailable'] }, ports: [dead] }, async (h) => {
    const r = await call(h.client, 0);
    assert.equal(r.code, Status.UNAVAILABLE);
    assert.match(r.details, /^upstream connect error or disconnect\/reset before headers\. reset reason: remote connection failure/);
    await h.log.waitFor(1);
    assert.equal(h.log.last().attempts, 1);
    assert.equal(h.stats.upstream_rq_retry, 0);
  });
  await withProxy({ policy: { retryOn: ['unavailable', 'connect-failure'] }, ports: [dead] }, async (h) => {
    const r = await call(h.client, 0);
    assert.equal(r.code, Status.UNAVAILABLE);
    assert.match(r.details, /retried and the latest reset reason: remote connection failure/);
    await h.log.waitFor(1);
    assert.equal(h.log.last().attempts, 2);
    assert.equal(h.stats.upstream_rq_retry, 1);
  });
});

test('gRPC: a trusted x-envoy-retry-grpc-on enables retries on a route without a policy', async () => {
  resetBackend('trailers-only', {}, (_c, n) => n === 1);
  await withProxy({ policy: null, trusted: true }, async (h) => {
    const r = await call(h.client, 0, { 'x-envoy-retry-grpc-on': 'unavailable' });
    assert.equal(r.code, Status.OK);
    assert.equal(backend.arrivals.length, 2);
  });
  resetBackend('trailers-only', {}, (_c, n) => n === 1);
  await withProxy({ policy: null, trusted: false }, async (h) => {
    const r = await call(h.client, 0, { 'x-envoy-retry-grpc-on': 'unavailable' });
    assert.equal(r.code, Status.UNAVAILABLE);
    assert.equal(backend.arrivals.length, 1, 'ignored from an untrusted client');
  });
});

test('grpcTrailerRetry + a streaming request over the buffer limit: the held response is released, the proxy survives', async () => {
  // The upstream answers headers at once and echoes each message; the request passes the 4 KiB
  // replay limit while the response is held for its trailers (retries are then impossible).
  const echo = await h2Backend((stream) => {
    stream.respond({ ':status': 200, 'content-type': 'application/grpc' }, { waitForTrailers: true });
    stream.on('wantTrailers', () => stream.sendTrailers({ 'grpc-status': '0' }));
    stream.on('data', (c: Buffer) => stream.write(c));
    stream.on('end', () => stream.end());
  });
  const policy = retryPolicy({ retryOn: ['unavailable'], grpcTrailerRetry: true, bufferLimitBytes: 4096 });
  const child = await spawnProxy(config([route('all', { retry: policy })], [cluster('backend', [echo.port], { protocol: 'http2' })]));
  const session = http2.connect(`http://127.0.0.1:${child.port}`);
  session.on('error', () => {});
  try {
    const st = session.request({
      ':method': 'POST',
      ':path': '/legate.test.Echo/Bidi',
      'content-type': 'application/grpc',
      te: 'trailers',
    });
    st.on('error', () => {});
    let got = 0;
    let trailers: http2.IncomingHttpHeaders = {};
    st.on('data', (c: Buffer) => (got += c.length));
    st.on('trailers', (t) => (trailers = t));
    const closed = new Promise<void>((r) => st.on('close', () => r()));
    const msg = Buffer.concat([Buffer.from([0, 0, 0, 4, 0]), Buffer.alloc(1024, 1)]);
    for (let i = 0; i < 10; i++) {
      st.write(msg);
      await sleep(10);
    }
    st.end();
    await Promise.race([closed, child.exit, sleep(3000)]);
    assert.equal(child.child.exitCode, null, `the proxy process died: ${child.stderr().split('\n').slice(0, 6).join('\n')}`);
    assert.equal(got, 10 * msg.length, 'every echoed message reached the client');
    assert.equal(trailers['grpc-status'], '0');
  } finally {
    session.destroy();
    await child.close();
    await echo.close();
  }
});
