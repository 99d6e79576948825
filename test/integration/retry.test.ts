/**
 * Router retries (spec section 2, scenarios 8-12): retry_on conditions, limits and stats,
 * backoff, rate-limited backoff, host selection, body replay, the retry circuit breaker,
 * trusted control headers and the attempt trace. Real servers on 127.0.0.1, one proxy per test.
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import http2 from 'node:http2';
import crypto from 'node:crypto';
import { Proxy } from '../../src/dataplane/proxy.js';
import type * as ir from '../../src/ir/index.js';
import { seededRandom } from '../../src/common/random.js';
import { Flag, formatFlags } from '../../src/dataplane/http/response-flags.js';
import { JitteredBackoff, rateLimitedDelayMs, rateLimitedIntervalMs } from '../../src/dataplane/request/backoff.js';
import type { AccessLogEntry } from '../../src/dataplane/access-log.js';
import { config, cluster, route } from '../helpers/ir.js';
import { closedPort, h1Request, h2Backend } from '../helpers/backends.js';
import { CollectingLog } from '../helpers/access-log.js';
import { pool, reply, retryPolicy, scriptedBackend, sha256, sleep, traceDelay, type Script, type TraceLine } from '../helpers/retry.js';

const be = await scriptedBackend();
const deadPort = await closedPort();
const dead = `127.0.0.1:${deadPort}`;

after(async () => {
  await be.close();
});

let keySeq = 0;
const newKey = (prefix = 'k') => `${prefix}-${++keySeq}`;

type Setup = {
  /** Route retry policy (patched defaults); null = the route has none. */
  policy?: Partial<ir.RetryPolicy> | null;
  ports?: number[];
  cluster?: Partial<ir.Cluster>;
  trusted?: boolean;
  seed?: number;
};

type Harness = {
  proxy: Proxy;
  port: number;
  log: CollectingLog;
  stats: ReturnType<typeof statsOf>;
  send(
    key: string,
    opts?: { headers?: http.OutgoingHttpHeaders; method?: string; body?: Buffer | string; agent?: http.Agent },
  ): ReturnType<typeof h1Request>;
  /** The access-log entry of the n-th request (1-based), waiting for it. */
  entry(n?: number): Promise<AccessLogEntry>;
};

function statsOf(p: Proxy) {
  return p.cluster('backend')!.stats;
}

async function withProxy(s: Setup, fn: (h: Harness) => Promise<void>): Promise<void> {
  const log = new CollectingLog();
  const r = route('all', s.policy === null ? {} : { retry: retryPolicy(s.policy ?? {}) });
  const proxy = await Proxy.start(
    config([r], [cluster('backend', s.ports ?? [be.port], { protocol: 'http1', ...s.cluster })], {
      listener: s.trusted ? { trustedCidrs: ['127.0.0.1/32'] } : {},
      vhost: { includeAttemptCountInRequest: true, includeAttemptCountInResponse: true },
    }),
    { accessLog: log, random: seededRandom(s.seed ?? 1) },
  );
  const port = proxy.port('main');
  const h: Harness = {
    proxy,
    port,
    log,
    stats: statsOf(proxy),
    send: (key, o = {}) =>
      h1Request(port, {
        path: '/',
        method: o.method ?? (o.body !== undefined ? 'POST' : 'GET'),
        headers: { 'x-key': key, ...o.headers },
        body: o.body,
        agent: o.agent ?? false,
      }),
    entry: async (n = 1) => {
      await log.waitFor(n);
      return log.entries[n - 1]!;
    },
  };
  try {
    await fn(h);
  } finally {
    await proxy.close(100);
  }
}

type Step = number | { status: number; headers?: http.OutgoingHttpHeaders; body?: string } | 'destroy';

/** Attempt n takes steps[n-1] (the last step repeats). */
function seq(...steps: Step[]): Script {
  return (n, req, res) => {
    const s = steps[Math.min(n, steps.length) - 1]!;
    if (s === 'destroy') {
      req.socket.destroy();
      return;
    }
    if (typeof s === 'number') reply(res, s, `attempt ${n}: ${s}`);
    else reply(res, s.status, s.body ?? `attempt ${n}: ${s.status}`, s.headers);
  };
}

const trace = (e: AccessLogEntry) => (e.attemptTrace ?? []) as TraceLine[];
const hasFlag = (e: AccessLogEntry, f: number) => (e.flags & f) !== 0;

// === 1. The basic scenario (spec 2.15) ===

test('retry_on 5xx, num_retries 2: 503,503,200 -> 200 after 3 attempts, stats and attempt-count headers', async () => {
  be.script = seq(503, 503, 200);
  await withProxy({ policy: { retryOn: ['5xx'], numRetries: 2 } }, async (h) => {
    const key = newKey();
    const res = await h.send(key);
    assert.equal(res.status, 200);
    assert.equal(res.body.toString(), 'attempt 3: 200');
    assert.equal(res.headers['x-envoy-attempt-count'], '3');
    const e = await h.entry();
    assert.equal(h.stats.upstream_rq_retry, 2);
    assert.equal(h.stats.upstream_rq_retry_success, 1);
    assert.equal(h.stats.upstream_rq_retry_limit_exceeded, 0);
    assert.equal(h.stats.upstream_rq_retry_backoff_exponential, 2);
    assert.equal(h.stats.upstream_rq_total, 3);
    assert.equal(e.attempts, 3);
    assert.equal(e.flags, 0, formatFlags(e.flags));
    assert.equal(e.status, 200);
    const t = trace(e);
    assert.equal(t.length, 3);
    assert.deepEqual(
      t.map((l) => l.outcome),
      ['503', '503', '200'],
    );
    assert.equal(t[2]!.decision, 'committed');
    // Upstream saw x-envoy-attempt-count 1, 2, 3.
    assert.deepEqual(
      be.of(key).map((a) => a.headers['x-envoy-attempt-count']),
      ['1', '2', '3'],
    );
  });
});

test('retry_on 5xx, num_retries 2, always 503 -> the upstream 503 body, URX, limit_exceeded 1', async () => {
  be.script = seq(503);
  await withProxy({ policy: { retryOn: ['5xx'], numRetries: 2 } }, async (h) => {
    const key = newKey();
    const res = await h.send(key);
    assert.equal(res.status, 503);
    assert.equal(res.body.toString(), 'attempt 3: 503', 'the last upstream response is forwarded as is');
    assert.equal(res.headers['x-envoy-attempt-count'], '3');
    const e = await h.entry();
    assert.equal(e.flags, Flag.URX, formatFlags(e.flags));
    assert.equal(h.stats.upstream_rq_retry, 2);
    assert.equal(h.stats.upstream_rq_retry_limit_exceeded, 1);
    assert.equal(h.stats.upstream_rq_retry_success, 0);
    assert.equal(be.of(key).length, 3);
    assert.equal(trace(e)[2]!.decision, 'not retried (5xx): retry limit reached');
  });
});

// === 2. retry_on conditions, one test per row ===

type Row = {
  name: string;
  policy: Partial<ir.RetryPolicy> | null;
  /** First attempt's behaviour; a retry gets 200. */
  first: Step;
  headers?: http.OutgoingHttpHeaders;
  trusted?: boolean;
  retried: boolean;
};

const rows: Row[] = [
  { name: '5xx: 500 retried', policy: { retryOn: ['5xx'] }, first: 500, retried: true },
  { name: '5xx: 503 retried', policy: { retryOn: ['5xx'] }, first: 503, retried: true },
  { name: '5xx: 599 retried', policy: { retryOn: ['5xx'] }, first: 599, retried: true },
  { name: '5xx: 404 not retried', policy: { retryOn: ['5xx'] }, first: 404, retried: false },
  { name: '5xx: 409 not retried', policy: { retryOn: ['5xx'] }, first: 409, retried: false },
  { name: '5xx: a reset is retried', policy: { retryOn: ['5xx'] }, first: 'destroy', retried: true },
  { name: 'gateway-error: 502 retried', policy: { retryOn: ['gateway-error'] }, first: 502, retried: true },
  { name: 'gateway-error: 503 retried', policy: { retryOn: ['gateway-error'] }, first: 503, retried: true },
  { name: 'gateway-error: 504 retried', policy: { retryOn: ['gateway-error'] }, first: 504, retried: true },
  { name: 'gateway-error: 500 not retried', policy: { retryOn: ['gateway-error'] }, first: 500, retried: false },
  { name: 'gateway-error: 501 not retried', policy: { retryOn: ['gateway-error'] }, first: 501, retried: false },
  { name: 'gateway-error: a reset is retried', policy: { retryOn: ['gateway-error'] }, first: 'destroy', retried: true },
  { name: 'retriable-4xx: 409 retried', policy: { retryOn: ['retriable-4xx'] }, first: 409, retried: true },
  { name: 'retriable-4xx: 400 not retried', policy: { retryOn: ['retriable-4xx'] }, first: 400, retried: false },
  { name: 'retriable-4xx: 429 not retried', policy: { retryOn: ['retriable-4xx'] }, first: 429, retried: false },
  { name: 'retriable-4xx: 503 not retried', policy: { retryOn: ['retriable-4xx'] }, first: 503, retried: false },
  {
    name: 'retriable-status-codes [418,503]: 418 retried',
    policy: { retryOn: ['retriable-status-codes'], retriableStatusCodes: [418, 503] },
    first: 418,
    retried: true,
  },
  {
    name: 'retriable-status-codes [418,503]: 503 retried',
    policy: { retryOn: ['retriable-status-codes'], retriableStatusCodes: [418, 503] },
    first: 503,
    retried: true,
  },
  {
    name: 'retriable-status-codes [418,503]: 500 not retried',
    policy: { retryOn: ['retriable-status-codes'], retriableStatusCodes: [418, 503] },
    first: 500,
    retried: false,
  },
  {
    name: 'retriable-status-codes without a list: 418 not retried',
    policy: { retryOn: ['retriable-status-codes'] },
    first: 418,
    retried: false,
  },
  {
    name: 'retriable-status-codes [418]: a reset is not retried',
    policy: { retryOn: ['retriable-status-codes'], retriableStatusCodes: [418] },
    first: 'destroy',
    retried: false,
  },
  {
    name: 'retriable-status-codes without a list + trusted x-envoy-retriable-status-codes 418: retried',
    policy: { retryOn: ['retriable-status-codes'] },
    headers: { 'x-envoy-retriable-status-codes': '418, abc' },
    trusted: true,
    first: 418,
    retried: true,
  },
  {
    name: 'x-envoy-retriable-status-codes 418 does not enable the token (policy 5xx): not retried',
    policy: { retryOn: ['5xx'] },
    headers: { 'x-envoy-retriable-status-codes': '418' },
    trusted: true,
    first: 418,
    retried: false,
  },
  {
    name: 'x-envoy-retriable-status-codes alone, no policy: not retried',
    policy: null,
    headers: { 'x-envoy-retriable-status-codes': '418' },
    trusted: true,
    first: 418,
    retried: false,
  },
  {
    name: 'x-envoy-retriable-status-codes from an untrusted client is ignored',
    policy: { retryOn: ['retriable-status-codes'] },
    headers: { 'x-envoy-retriable-status-codes': '418' },
    first: 418,
    retried: false,
  },
  {
    name: 'retriable-headers: matching response header retried (even on 200)',
    policy: { retryOn: ['retriable-headers'], retriableHeaders: [{ name: 'x-upstream-retry', match: { kind: 'exact', value: 'true' } }] },
    first: { status: 200, headers: { 'x-upstream-retry': 'true' } },
    retried: true,
  },
  {
    name: 'retriable-headers: non-matching value not retried',
    policy: { retryOn: ['retriable-headers'], retriableHeaders: [{ name: 'x-upstream-retry', match: { kind: 'exact', value: 'true' } }] },
    first: { status: 503, headers: { 'x-upstream-retry': 'false' } },
    retried: false,
  },
  {
    name: 'retriable-headers: matcher configured but retry_on 5xx only: not retried on the header',
    policy: { retryOn: ['5xx'], retriableHeaders: [{ name: 'x-upstream-retry', match: { kind: 'exact', value: 'true' } }] },
    first: { status: 200, headers: { 'x-upstream-retry': 'true' } },
    retried: false,
  },
  {
    name: 'retriable-headers + trusted x-envoy-retriable-header-names: presence retried',
    policy: { retryOn: ['retriable-headers'] },
    headers: { 'x-envoy-retriable-header-names': 'x-please-retry' },
    trusted: true,
    first: { status: 200, headers: { 'x-please-retry': '1' } },
    retried: true,
  },
  {
    name: 'x-envoy-retriable-header-names does not enable the token (policy 5xx): not retried',
    policy: { retryOn: ['5xx'] },
    headers: { 'x-envoy-retriable-header-names': 'x-please-retry' },
    trusted: true,
    first: { status: 200, headers: { 'x-please-retry': '1' } },
    retried: false,
  },
  {
    name: 'envoy-ratelimited: x-envoy-ratelimited on a 503 with retry_on 5xx is not retried',
    policy: { retryOn: ['5xx'] },
    first: { status: 503, headers: { 'x-envoy-ratelimited': 'true' } },
    retried: false,
  },
  {
    name: 'envoy-ratelimited: x-envoy-ratelimited disables retriable-status-codes too',
    policy: { retryOn: ['retriable-status-codes', 'gateway-error'], retriableStatusCodes: [503] },
    first: { status: 503, headers: { 'x-envoy-ratelimited': 'true' } },
    retried: false,
  },
  {
    name: 'envoy-ratelimited: retried when the token is on',
    policy: { retryOn: ['envoy-ratelimited'] },
    first: { status: 429, headers: { 'x-envoy-ratelimited': 'true' } },
    retried: true,
  },
  {
    name: 'envoy-ratelimited: a 503 without the header is not retried by envoy-ratelimited alone',
    policy: { retryOn: ['envoy-ratelimited'] },
    first: 503,
    retried: false,
  },
  {
    name: 'retriable_request_headers: request without the header is not retried',
    policy: { retryOn: ['5xx'], retriableRequestHeaders: [{ name: 'x-idempotent', match: { kind: 'present' } }] },
    first: 503,
    retried: false,
  },
  {
    name: 'retriable_request_headers: request with the header is retried',
    policy: { retryOn: ['5xx'], retriableRequestHeaders: [{ name: 'x-idempotent', match: { kind: 'present' } }] },
    headers: { 'x-idempotent': '1' },
    first: 503,
    retried: true,
  },
  { name: 'reset: backend closes the socket before answering -> retried', policy: { retryOn: ['reset'] }, first: 'destroy', retried: true },
  { name: 'reset: a 503 is not retried by reset', policy: { retryOn: ['reset'] }, first: 503, retried: false },
  { name: 'retriable-4xx: a reset is not retried', policy: { retryOn: ['retriable-4xx'] }, first: 'destroy', retried: false },
  {
    name: 'connect-failure: a reset after connecting is not retried',
    policy: { retryOn: ['connect-failure'] },
    first: 'destroy',
    retried: false,
  },
  {
    name: 'reset-before-request: a reset after the request was sent is not retried',
    policy: { retryOn: ['reset-before-request'] },
    first: 'destroy',
    retried: false,
  },
  { name: 'refused-stream: an HTTP/1 reset is not retried', policy: { retryOn: ['refused-stream'] }, first: 'destroy', retried: false },
  { name: 'unavailable (gRPC-only): an HTTP 503 is not retried', policy: { retryOn: ['unavailable'] }, first: 503, retried: false },
];

for (const row of rows) {
  test(`retry_on table: ${row.name}`, async () => {
    be.script = seq(row.first, 200);
    await withProxy({ policy: row.policy, trusted: row.trusted ?? false }, async (h) => {
      const key = newKey();
      const res = await h.send(key, { headers: row.headers });
      const e = await h.entry();
      const firstStatus = typeof row.first === 'number' ? row.first : row.first === 'destroy' ? 503 : row.first.status;
      if (row.retried) {
        assert.equal(res.status, 200, res.body.toString());
        assert.equal(be.of(key).length, 2, 'two attempts reached the backend');
        assert.equal(e.attempts, 2);
        assert.equal(h.stats.upstream_rq_retry, 1);
        assert.equal(h.stats.upstream_rq_retry_success, 1);
        assert.match(trace(e)[0]!.decision, /^retried \([a-z0-9-]+\) after \d+ ms$/);
      } else {
        assert.equal(res.status, firstStatus, res.body.toString());
        assert.equal(be.of(key).length, 1, 'one attempt reached the backend');
        assert.equal(e.attempts, 1);
        assert.equal(h.stats.upstream_rq_retry, 0);
        if (row.first === 'destroy') {
          // The exact body (no transport failure detail) is checked in its own test below.
          assert.match(
            res.body.toString(),
            /^upstream connect error or disconnect\/reset before headers\. reset reason: connection termination/,
          );
          assert.ok(hasFlag(e, Flag.UC), formatFlags(e.flags));
        }
      }
      // The retry control headers never reach the upstream.
      for (const a of be.of(key)) {
        for (const hdr of Object.keys(a.headers)) {
          if (/^x-envoy-(retry-on|retry-grpc-on|max-retries|retriable-)/.test(hdr)) assert.fail(`${hdr} forwarded upstream`);
        }
      }
    });
  });
}

test('connect-failure: a closed port then a healthy host (previous_hosts) -> 200 after 2 attempts', async () => {
  be.script = seq(200);
  await withProxy(
    { policy: { retryOn: ['connect-failure'], previousHosts: true }, ports: [deadPort, be.port], cluster: { lbPolicy: 'round_robin' } },
    async (h) => {
      // Round robin alternates the two hosts, so one of the first two requests starts on the dead one.
      const r1 = await h.send(newKey());
      const r2 = await h.send(newKey());
      assert.equal(r1.status, 200);
      assert.equal(r2.status, 200);
      await h.log.waitFor(2);
      const retried = h.log.entries.filter((e) => e.attempts === 2);
      assert.ok(retried.length >= 1, 'one request met the dead host first');
      const e = retried[0]!;
      const t = trace(e);
      assert.equal(t[0]!.host, dead);
      assert.equal(t[0]!.outcome, 'reset: remote connection failure');
      assert.match(t[0]!.decision, /^retried \(connect-failure\) after \d+ ms$/);
      assert.equal(t[1]!.host, be.host);
      assert.equal(t[1]!.outcome, '200');
      assert.equal(e.upstreamHost, be.host);
      const res = retried[0] === h.log.entries[0] ? r1 : r2;
      assert.equal(res.headers['x-envoy-attempt-count'], '2');
      assert.ok(h.stats.upstream_cx_connect_fail >= 1);
    },
  );
});

test('reset-before-request: a connect failure (nothing sent yet) is retried', async () => {
  be.script = seq(200);
  await withProxy(
    { policy: { retryOn: ['reset-before-request'] }, ports: [deadPort, be.port], cluster: { lbPolicy: 'round_robin' } },
    async (h) => {
      const r1 = await h.send(newKey());
      const r2 = await h.send(newKey());
      assert.equal(r1.status, 200);
      assert.equal(r2.status, 200);
      await h.log.waitFor(2);
      const e = h.log.entries.find((x) => x.attempts === 2);
      assert.ok(e, 'one request met the dead host first and was retried');
      assert.match(trace(e)[0]!.decision, /^retried \(reset-before-request\) after \d+ ms$/);
    },
  );
});

test('reset-before-request is sticky: after one attempt sent bytes, a later connect failure is not retried by it', async () => {
  // A backend of its own: it answers 409 once, then stops listening, so attempt 2 cannot connect.
  const b = await scriptedBackend();
  b.script = (_n, _req, res) => {
    reply(res, 409, 'conflict', { connection: 'close' });
    b.server.close();
  };
  try {
    await withProxy({ policy: { retryOn: ['reset-before-request', 'retriable-4xx'], numRetries: 2 }, ports: [b.port] }, async (h) => {
      const res = await h.send(newKey());
      const e = await h.entry();
      assert.equal(e.attempts, 2, JSON.stringify(trace(e)));
      assert.equal(res.status, 503);
      assert.match(
        res.body.toString(),
        /^upstream connect error or disconnect\/reset before headers\. retried and the latest reset reason: remote connection failure/,
      );
      assert.ok(hasFlag(e, Flag.UF), formatFlags(e.flags));
      assert.ok(!hasFlag(e, Flag.URX), 'not a limit: the condition did not match');
      assert.equal(h.stats.upstream_rq_retry, 1);
    });
  } finally {
    b.server.closeAllConnections();
  }
});

test('refused-stream: an HTTP/2 RST_STREAM(REFUSED_STREAM) is retried; with connect-failure only it is not', async () => {
  let streams = 0;
  const h2 = await h2Backend((stream) => {
    streams++;
    if (streams % 2 === 1) stream.close(http2.constants.NGHTTP2_REFUSED_STREAM);
    else {
      stream.respond({ ':status': 200, 'content-type': 'text/plain' });
      stream.end('h2 ok');
    }
  });
  try {
    await withProxy({ policy: { retryOn: ['refused-stream'] }, ports: [h2.port], cluster: { protocol: 'http2' } }, async (h) => {
      const res = await h.send(newKey());
      assert.equal(res.status, 200);
      assert.equal(res.body.toString(), 'h2 ok');
      const e = await h.entry();
      assert.equal(e.attempts, 2);
      assert.equal(trace(e)[0]!.outcome, 'reset: remote refused stream reset');
      assert.match(trace(e)[0]!.decision, /^retried \(refused-stream\) after \d+ ms$/);
    });
    await withProxy({ policy: { retryOn: ['connect-failure'] }, ports: [h2.port], cluster: { protocol: 'http2' } }, async (h) => {
      const res = await h.send(newKey());
      assert.equal(res.status, 503);
      assert.equal(
        res.body.toString(),
        'upstream connect error or disconnect/reset before headers. reset reason: remote refused stream reset',
      );
      const e = await h.entry();
      assert.equal(e.attempts, 1);
      assert.ok(hasFlag(e, Flag.UR), formatFlags(e.flags));
      assert.equal(h.stats.upstream_rq_retry, 0);
    });
  } finally {
    await h2.close();
  }
});

test('gRPC-only policy (unavailable) does not retry a connect failure; adding connect-failure does', async () => {
  await withProxy({ policy: { retryOn: ['unavailable'] }, ports: [deadPort] }, async (h) => {
    const res = await h.send(newKey());
    assert.equal(res.status, 503);
    assert.match(
      res.body.toString(),
      /^upstream connect error or disconnect\/reset before headers\. reset reason: remote connection failure/,
    );
    const e = await h.entry();
    assert.equal(e.attempts, 1);
    assert.equal(e.flags, Flag.UF, formatFlags(e.flags));
    assert.equal(h.stats.upstream_rq_retry, 0);
  });
  await withProxy({ policy: { retryOn: ['unavailable', 'connect-failure'] }, ports: [deadPort] }, async (h) => {
    const res = await h.send(newKey());
    assert.equal(res.status, 503);
    assert.match(
      res.body.toString(),
      /^upstream connect error or disconnect\/reset before headers\. retried and the latest reset reason: remote connection failure/,
    );
    const e = await h.entry();
    assert.equal(e.attempts, 2);
    assert.equal(e.flags, Flag.UF | Flag.URX, formatFlags(e.flags));
    assert.equal(h.stats.upstream_rq_retry, 1);
    assert.equal(h.stats.upstream_rq_retry_limit_exceeded, 1);
    assert.equal(res.headers['x-envoy-attempt-count'], '2', 'the attempt count is added to the local reply too');
  });
});

test('what the client sees when a reset is not (or no longer) retried: Envoy body, no transport detail for connection termination', async () => {
  // Envoy fills "transport failure reason" only for connection (pool) failures; a peer closing an
  // established connection reads "reset reason: connection termination" and nothing more.
  be.script = seq('destroy');
  await withProxy({ policy: { retryOn: ['retriable-4xx'] } }, async (h) => {
    const res = await h.send(newKey());
    assert.equal(res.status, 503);
    assert.equal(res.body.toString(), 'upstream connect error or disconnect/reset before headers. reset reason: connection termination');
    assert.equal((await h.entry()).flags, Flag.UC);
  });
  await withProxy({ policy: { retryOn: ['reset'], numRetries: 1 } }, async (h) => {
    const res = await h.send(newKey());
    assert.equal(res.status, 503);
    assert.equal(
      res.body.toString(),
      'upstream connect error or disconnect/reset before headers. retried and the latest reset reason: connection termination',
    );
    assert.equal((await h.entry()).flags, Flag.UC | Flag.URX);
  });
});

// === 3. Backoff ===

test('JitteredBackoff: default windows [0,25) [0,50) [0,100) [0,200) [0,250) [0,250), whole ms, uniform', () => {
  const rnd = seededRandom(7);
  const windows = [25, 50, 100, 200, 250, 250];
  const samples = windows.map(() => [] as number[]);
  for (let i = 0; i < 10_000; i++) {
    const b = new JitteredBackoff(25, 250);
    for (let r = 0; r < windows.length; r++) samples[r]!.push(b.nextMs(rnd));
  }
  windows.forEach((w, r) => {
    const s = samples[r]!;
    assert.ok(
      s.every((x) => Number.isInteger(x) && x >= 0 && x < w),
      `retry ${r + 1} outside [0,${w})`,
    );
    const mean = s.reduce((a, b) => a + b, 0) / s.length;
    const expected = (w - 1) / 2;
    // sd of the mean of 10k uniforms on [0,w) is about w/346; allow 5 of them.
    assert.ok(Math.abs(mean - expected) < (5 * w) / 346, `retry ${r + 1}: mean ${mean}, expected ${expected}`);
    assert.ok(Math.min(...s) === 0 && Math.max(...s) === w - 1, `retry ${r + 1}: the whole window is used`);
  });
  // Spec scenario 9: mean total over 5 retries is about 310 ms.
  let total = 0;
  for (let r = 0; r < 5; r++) total += samples[r]!.reduce((a, b) => a + b, 0) / 10_000;
  assert.ok(Math.abs(total - 310) < 5, `mean total ${total}`);
});

test('JitteredBackoff: base 10 max 35 -> 10, 20, 35, 35 (doubling limit = max/2)', () => {
  const top = { next: () => 0.999999, uint32: () => 0xffffffff };
  const b = new JitteredBackoff(10, 35);
  assert.deepEqual([b.nextMs(top), b.nextMs(top), b.nextMs(top), b.nextMs(top)], [9, 19, 34, 34]);
});

test('rate-limited interval parsing: seconds, HTTP-date (legate), unix-timestamp, over the max, garbage', () => {
  const now = Date.UTC(2026, 0, 1, 0, 0, 0);
  const sec = [{ name: 'retry-after', format: 'seconds' as const }];
  assert.equal(rateLimitedIntervalMs(['retry-after', '1'], sec, 300_000, now), 1000);
  assert.equal(rateLimitedIntervalMs(['retry-after', '400'], sec, 300_000, now), undefined, '400 s is over the 300 s max');
  assert.equal(rateLimitedIntervalMs(['retry-after', '300'], sec, 300_000, now), 300_000);
  assert.equal(rateLimitedIntervalMs(['retry-after', 'soon'], sec, 300_000, now), undefined);
  assert.equal(rateLimitedIntervalMs(['retry-after', '-1'], sec, 300_000, now), undefined);
  assert.equal(rateLimitedIntervalMs(['retry-after', new Date(now + 3000).toUTCString()], sec, 300_000, now), 3000);
  const ts = [{ name: 'x-ratelimit-reset', format: 'unix-timestamp' as const }];
  assert.equal(rateLimitedIntervalMs(['x-ratelimit-reset', String(now / 1000 + 2)], ts, 300_000, now), 2000);
  assert.equal(rateLimitedIntervalMs(['x-ratelimit-reset', String(now / 1000 - 2)], ts, 300_000, now), undefined, 'in the past');
  // Headers are tried in order; the first usable one wins.
  const both = [...sec, ...ts];
  assert.equal(rateLimitedIntervalMs(['retry-after', 'x', 'x-ratelimit-reset', String(now / 1000 + 4)], both, 300_000, now), 4000);
  const rnd = seededRandom(3);
  for (let i = 0; i < 2000; i++) {
    const d = rateLimitedDelayMs(1000, rnd);
    assert.ok(d >= 1000 && d < 1500 && Number.isInteger(d), String(d));
  }
});

test('backoff through the proxy: 100 first-retry delays are whole ms in [0,25) and the retry waits that long', async () => {
  be.script = seq(503, 200);
  await withProxy(
    { policy: { retryOn: ['5xx'] }, cluster: { circuitBreakers: { ...cluster('x', []).circuitBreakers, maxRetries: 1000 } } },
    async (h) => {
      const keys = Array.from({ length: 100 }, () => newKey('bo'));
      const results = await pool(keys, 25, (k) => h.send(k));
      assert.ok(results.every((r) => r.status === 200));
      await h.log.waitFor(100);
      const delays = h.log.entries.map((e) => traceDelay(trace(e)[0]!.decision));
      assert.ok(
        delays.every((d) => Number.isInteger(d) && d >= 0 && d < 25),
        `delays ${delays}`,
      );
      const mean = delays.reduce((a, b) => a + b, 0) / delays.length;
      assert.ok(mean > 8 && mean < 16, `mean delay ${mean}`);
      assert.ok(delays.some((d) => d < 8) && delays.some((d) => d >= 17), 'the window is covered');
      // The backend saw each retry at least its delay after the first attempt's response.
      for (const e of h.log.entries) {
        const t = trace(e);
        const key = keys.find((k) => e.requestId && be.of(k).length > 0 && be.of(k)[0]!.headers['x-request-id'] === e.requestId)!;
        const [a1, a2] = be.of(key);
        assert.ok(a2!.at - a1!.at >= traceDelay(t[0]!.decision) - 1, `gap ${a2!.at - a1!.at} < delay ${t[0]!.decision}`);
      }
    },
  );
});

test('backoff through the proxy: five retries use windows [0,25) [0,50) [0,100) [0,200) [0,250)', async () => {
  be.script = seq(503);
  for (const seed of [1, 2, 3]) {
    await withProxy({ policy: { retryOn: ['5xx'], numRetries: 5 }, seed }, async (h) => {
      const key = newKey();
      const res = await h.send(key);
      assert.equal(res.status, 503);
      const e = await h.entry();
      const t = trace(e);
      assert.equal(t.length, 6);
      const delays = t.slice(0, 5).map((l) => traceDelay(l.decision));
      [25, 50, 100, 200, 250].forEach((w, i) => assert.ok(delays[i]! < w, `retry ${i + 1} waited ${delays[i]} >= ${w}`));
      const arr = be.of(key);
      for (let i = 0; i < 5; i++) assert.ok(arr[i + 1]!.at - arr[i]!.at >= delays[i]! - 1, `retry ${i + 1} came too early`);
      assert.equal(h.stats.upstream_rq_retry_backoff_exponential, 5);
    });
  }
});

// === 4. Rate-limited backoff ===

const retryAfter = { resetHeaders: [{ name: 'Retry-After', format: 'seconds' as const }], maxIntervalMs: 300_000 };

test('rate-limited backoff: 429 Retry-After: 1 -> retry 1000-1499 ms later; the next retry is exponential from the start', async () => {
  be.script = seq({ status: 429, headers: { 'retry-after': '1' } }, 503, 200);
  await withProxy(
    { policy: { retryOn: ['retriable-status-codes', '5xx'], retriableStatusCodes: [429], numRetries: 2, rateLimitedBackoff: retryAfter } },
    async (h) => {
      const key = newKey();
      const res = await h.send(key);
      assert.equal(res.status, 200);
      const e = await h.entry();
      const t = trace(e);
      const d1 = traceDelay(t[0]!.decision);
      assert.match(t[0]!.decision, /^retried \(retriable-status-codes\)/);
      assert.ok(d1 >= 1000 && d1 < 1500, `rate-limited delay ${d1}`);
      const [a1, a2, a3] = be.of(key);
      const gap = a2!.at - a1!.at;
      assert.ok(gap >= 999 && gap < 1700, `the retry came ${gap} ms later`);
      // The exponential state was not advanced by the rate-limited retry: first window again.
      assert.ok(traceDelay(t[1]!.decision) < 25, t[1]!.decision);
      assert.ok(a3!.at - a2!.at < 200);
      assert.equal(h.stats.upstream_rq_retry_backoff_ratelimited, 1);
      assert.equal(h.stats.upstream_rq_retry_backoff_exponential, 1);
      assert.equal(h.stats.upstream_rq_retry, 2);
    },
  );
});

test('rate-limited backoff: Retry-After over the max (400 s > 300 s) -> exponential backoff', async () => {
  be.script = seq({ status: 503, headers: { 'retry-after': '400' } }, 200);
  await withProxy({ policy: { retryOn: ['5xx'], rateLimitedBackoff: retryAfter } }, async (h) => {
    const key = newKey();
    const res = await h.send(key);
    assert.equal(res.status, 200);
    const e = await h.entry();
    assert.ok(traceDelay(trace(e)[0]!.decision) < 25);
    assert.equal(h.stats.upstream_rq_retry_backoff_ratelimited, 0);
    assert.equal(h.stats.upstream_rq_retry_backoff_exponential, 1);
  });
});

test('rate-limited backoff: Retry-After as an HTTP-date (legate extension)', async () => {
  let sentAt = 0;
  let target = 0;
  be.script = (n, _req, res) => {
    if (n === 1) {
      // The next whole second at least 1 s away; HTTP-dates have whole seconds.
      target = Math.ceil((Date.now() + 1000) / 1000) * 1000;
      sentAt = Date.now();
      reply(res, 503, 'later', { 'retry-after': new Date(target).toUTCString() });
    } else reply(res, 200, 'ok');
  };
  await withProxy({ policy: { retryOn: ['5xx'], rateLimitedBackoff: retryAfter } }, async (h) => {
    const key = newKey();
    const res = await h.send(key);
    assert.equal(res.status, 200);
    const e = await h.entry();
    const d = traceDelay(trace(e)[0]!.decision);
    assert.equal(h.stats.upstream_rq_retry_backoff_ratelimited, 1);
    assert.ok(d >= target - sentAt - 50 && d < 3000, `delay ${d} for a date ${target - sentAt} ms ahead`);
    const [a1, a2] = be.of(key);
    assert.ok(a2!.at - a1!.at >= 950, 'not before the date');
  });
});

test('rate-limited backoff never causes a retry: 429 Retry-After with retry_on 5xx is returned', async () => {
  be.script = seq({ status: 429, headers: { 'retry-after': '1' } }, 200);
  await withProxy({ policy: { retryOn: ['5xx'], rateLimitedBackoff: retryAfter } }, async (h) => {
    const res = await h.send(newKey());
    assert.equal(res.status, 429);
    assert.equal(h.stats.upstream_rq_retry, 0);
    assert.equal(h.stats.upstream_rq_retry_backoff_ratelimited, 0);
  });
});

// === 5. Host selection: previous_hosts ===

async function failureRate(policy: Partial<ir.RetryPolicy>, seed: number, n: number) {
  be.script = seq(200);
  const out = { failed: 0, firstDead: 0, retryOnLive: 0 };
  await withProxy(
    {
      policy: { retryOn: ['connect-failure'], numRetries: 1, backoff: { baseIntervalMs: 1, maxIntervalMs: 1 }, ...policy },
      ports: [deadPort, be.port],
      cluster: { lbPolicy: 'random', circuitBreakers: { ...cluster('x', []).circuitBreakers, maxRetries: 100_000 } },
      seed,
    },
    async (h) => {
      const res = await pool(
        Array.from({ length: n }, () => newKey('ph')),
        20,
        (k) => h.send(k),
      );
      await h.log.waitFor(n);
      out.failed = res.filter((r) => r.status !== 200).length;
      for (const e of h.log.entries) {
        const t = trace(e);
        if (t[0]!.host !== dead) continue;
        out.firstDead++;
        if (t[1]?.host === be.host) out.retryOnLive++;
      }
      assert.equal(out.failed, h.log.entries.filter((e) => e.status === 503).length);
    },
  );
  return out;
}

test('previous_hosts: 2 hosts, one refusing, random LB, num_retries 1 -> failure rate ~0.125 (without: ~0.25)', async () => {
  const n = 800;
  const withPh = await failureRate({ previousHosts: true }, 11, n);
  const without = await failureRate({ previousHosts: false }, 11, n);
  const many = await failureRate({ previousHosts: true, hostSelectionRetryMaxAttempts: 5 }, 11, n);
  const r = (x: number) => x / n;
  // Expected 0.125 (sd 0.0117), 0.25 (sd 0.0153), 0.5*0.5^6 = 0.0078 (sd 0.003); about 4 sd allowed.
  assert.ok(r(withPh.failed) > 0.08 && r(withPh.failed) < 0.17, `previous_hosts failure rate ${r(withPh.failed)}`);
  assert.ok(r(without.failed) > 0.19 && r(without.failed) < 0.31, `no previous_hosts failure rate ${r(without.failed)}`);
  assert.ok(r(many.failed) < 0.025, `host_selection_retry_max_attempts 5 failure rate ${r(many.failed)}`);
  // Given the first pick was the dead host, the retry lands on the live one with p 0.75 vs 0.5.
  const p1 = withPh.retryOnLive / withPh.firstDead;
  const p0 = without.retryOnLive / without.firstDead;
  assert.ok(p1 > 0.66 && p1 < 0.84, `previous_hosts: retry on the other host ${p1}`);
  assert.ok(p0 > 0.4 && p0 < 0.6, `no previous_hosts: retry on the other host ${p0}`);
  assert.ok(p1 - p0 > 0.12, 'previous_hosts moves retries to the other host');
});

// === 6. Body replay ===

test('body replay: a 100 KiB POST whose first attempt gets 503 is replayed identically', async () => {
  be.script = seq(503, 200);
  const body = crypto.randomBytes(100 * 1024);
  await withProxy({ policy: { retryOn: ['5xx'] } }, async (h) => {
    const key = newKey();
    const res = await h.send(key, { body });
    assert.equal(res.status, 200);
    const [a1, a2] = be.of(key);
    assert.equal(a1!.bytes, body.length);
    assert.equal(a2!.bytes, body.length);
    assert.equal(a1!.sha256, sha256(body));
    assert.equal(a2!.sha256, sha256(body));
    const e = await h.entry();
    assert.equal(e.bytesReceived, body.length, 'bytes received counts the downstream body once');
  });
});

/** POSTs `parts` with `gapMs` between them, as a slow client. */
function slowPost(port: number, key: string, parts: Buffer[], gapMs: number) {
  return new Promise<{ status: number; body: string }>((resolve, reject) => {
    const req = http.request(
      {
        host: '127.0.0.1',
        port,
        method: 'POST',
        path: '/',
        agent: false,
        headers: { 'x-key': key, 'content-length': String(parts.reduce((a, p) => a + p.length, 0)) },
      },
      (res) => {
        let b = '';
        res.on('data', (c) => (b += c));
        res.on('end', () => resolve({ status: res.statusCode!, body: b }));
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    let i = 0;
    const next = () => {
      if (i < parts.length) {
        req.write(parts[i++]);
        setTimeout(next, gapMs);
      } else req.end();
    };
    next();
  });
}

test('body replay: the first attempt answers 503 before the body is complete; the retry still carries all of it', async () => {
  const parts = [crypto.randomBytes(40 * 1024), crypto.randomBytes(40 * 1024), crypto.randomBytes(40 * 1024)];
  const whole = Buffer.concat(parts);
  be.readBody = false;
  be.script = (n, req, res, arrival) => {
    if (n === 1) {
      reply(res, 503, 'early no');
      req.resume();
      return;
    }
    const hash = crypto.createHash('sha256');
    let bytes = 0;
    req.on('data', (c: Buffer) => {
      hash.update(c);
      bytes += c.length;
    });
    req.on('end', () => {
      arrival.bytes = bytes;
      arrival.sha256 = hash.digest('hex');
      reply(res, 200, 'got it');
    });
  };
  try {
    await withProxy({ policy: { retryOn: ['5xx'] } }, async (h) => {
      const key = newKey();
      const res = await slowPost(h.port, key, parts, 30);
      assert.equal(res.status, 200, res.body);
      const a2 = be.of(key)[1]!;
      assert.equal(a2.bytes, whole.length);
      assert.equal(a2.sha256, sha256(whole));
    });
  } finally {
    be.readBody = true;
  }
});

test('body over the buffer limit (64 KiB, body 200 KiB): no retry, retry_or_shadow_abandoned 1, upstream got the whole body', async () => {
  be.script = seq(503, 200);
  const body = crypto.randomBytes(200 * 1024);
  await withProxy({ policy: { retryOn: ['5xx'], bufferLimitBytes: 64 * 1024 } }, async (h) => {
    const key = newKey();
    const res = await h.send(key, { body });
    assert.equal(res.status, 503);
    assert.equal(be.of(key).length, 1);
    assert.equal(be.of(key)[0]!.bytes, body.length);
    assert.equal(be.of(key)[0]!.sha256, sha256(body));
    assert.equal(h.stats.retry_or_shadow_abandoned, 1);
    assert.equal(h.stats.upstream_rq_retry, 0);
    const e = await h.entry();
    assert.equal(e.attempts, 1);
  });
});

test('body over the buffer limit while waiting in backoff -> 507 "exceeded request buffer limit while retrying upstream"', async () => {
  // The first attempt is answered (503, Retry-After: 1) on arrival; the client keeps sending and
  // passes the 64 KiB limit during the ~1 s rate-limited backoff.
  be.readBody = false;
  be.script = (n, req, res) => {
    req.resume();
    if (n === 1) reply(res, 503, 'busy', { 'retry-after': '1' });
    else req.on('end', () => reply(res, 200, 'ok'));
  };
  try {
    await withProxy({ policy: { retryOn: ['5xx'], bufferLimitBytes: 64 * 1024, rateLimitedBackoff: retryAfter } }, async (h) => {
      const key = newKey();
      const started = Date.now();
      const parts = [crypto.randomBytes(16 * 1024), ...Array.from({ length: 8 }, () => crypto.randomBytes(16 * 1024))];
      const res = await slowPost(h.port, key, parts, 40);
      assert.equal(res.status, 507, res.body);
      assert.equal(res.body, 'exceeded request buffer limit while retrying upstream');
      assert.ok(Date.now() - started < 1000, 'the backoff did not run out first');
      assert.equal(h.stats.retry_or_shadow_abandoned, 1);
      assert.equal(be.of(key).length, 1);
    });
  } finally {
    be.readBody = true;
  }
});

// === 7. Retry circuit breaker and budget ===

test('circuit breaker max_retries 0: the 503 is returned as is with UO, upstream_rq_retry_overflow 1', async () => {
  be.script = seq(503, 200);
  await withProxy(
    { policy: { retryOn: ['5xx'], numRetries: 3 }, cluster: { circuitBreakers: { ...cluster('x', []).circuitBreakers, maxRetries: 0 } } },
    async (h) => {
      const key = newKey();
      const res = await h.send(key);
      assert.equal(res.status, 503);
      assert.equal(res.body.toString(), 'attempt 1: 503');
      assert.equal(res.headers['x-envoy-overloaded'], undefined, 'the failure itself was not an overflow');
      const e = await h.entry();
      assert.equal(e.flags, Flag.UO, formatFlags(e.flags));
      assert.equal(e.attempts, 1);
      assert.equal(h.stats.upstream_rq_retry_overflow, 1);
      assert.equal(h.stats.upstream_rq_retry, 0);
      assert.equal(trace(e)[0]!.decision, 'not retried (5xx): retry circuit breaker overflow');
    },
  );
});

/**
 * `failing` concurrent requests all get 503 at once (the backend holds them until all arrived);
 * every granted retry is held at the backend until the overflowed requests were answered, so the
 * active-retry count only grows during the decisions. `fillers` more requests stay active on the
 * cluster throughout (they raise the budget's base).
 */
async function retryPressure(cb: Partial<ir.CircuitBreakers>, failing: number, fillers: number) {
  const firsts: http.ServerResponse[] = [];
  const retries: http.ServerResponse[] = [];
  const held: http.ServerResponse[] = [];
  let retryArrived = 0;
  be.script = (n, req, res) => {
    const key = String(req.headers['x-key']);
    if (key.startsWith('fill')) return void held.push(res);
    if (n === 1) {
      firsts.push(res);
      if (firsts.length === failing) for (const r of firsts) reply(r, 503, 'first');
    } else {
      retryArrived++;
      retries.push(res);
    }
  };
  const result = { granted: 0, overflow: 0, ok: 0, fiveOhThree: 0, uo: 0, activeAfter: -1 };
  await withProxy(
    {
      policy: { retryOn: ['5xx'], numRetries: 1 },
      cluster: { circuitBreakers: { ...cluster('x', []).circuitBreakers, ...cb } },
    },
    async (h) => {
      const fill = Array.from({ length: fillers }, () => h.send(newKey('fill')));
      while (held.length < fillers) await sleep(5);
      const reqs = Array.from({ length: failing }, () => h.send(newKey('cb')));
      // Wait until every request either overflowed (answered) or had its retry arrive.
      const answered: Awaited<ReturnType<typeof h.send>>[] = [];
      const tracked = reqs.map((p) => p.then((r) => (answered.push(r), r)));
      const deadline = Date.now() + 5000;
      while (answered.length + retryArrived < failing && Date.now() < deadline) await sleep(5);
      await sleep(50); // nothing else should arrive
      result.granted = retryArrived;
      result.overflow = h.stats.upstream_rq_retry_overflow;
      for (const r of retries) reply(r, 200, 'second');
      for (const r of held) reply(r, 200, 'filler');
      const all = await Promise.all(tracked);
      await Promise.all(fill);
      result.ok = all.filter((r) => r.status === 200).length;
      result.fiveOhThree = all.filter((r) => r.status === 503).length;
      await h.log.waitFor(failing + fillers);
      result.uo = h.log.entries.filter((e) => hasFlag(e, Flag.UO)).length;
      assert.equal(h.stats.upstream_rq_retry, result.granted);
      assert.equal(h.stats.upstream_rq_retry_success, result.granted);
      result.activeAfter = h.proxy.cluster('backend')!.resources.retries.active;
    },
  );
  return result;
}

test('retry budget {20%, min 3}: 10 concurrent failures -> exactly 3 retries, 7 overflow (UO)', async () => {
  const r = await retryPressure({ retryBudget: { budgetPercent: 20, minRetryConcurrency: 3 } }, 10, 0);
  assert.equal(r.granted, 3);
  assert.equal(r.overflow, 7);
  assert.equal(r.ok, 3);
  assert.equal(r.fiveOhThree, 7);
  assert.equal(r.uo, 7);
  assert.equal(r.activeAfter, 0, 'every retry resource was released');
});

test('max_retries threshold 3 (no budget): 10 concurrent failures -> exactly 3 retries, 7 overflow', async () => {
  const r = await retryPressure({ maxRetries: 3 }, 10, 0);
  assert.equal(r.granted, 3);
  assert.equal(r.overflow, 7);
  assert.equal(r.activeAfter, 0);
});

test('retry budget 20% above the minimum: 40 active fillers + 20 failures -> 8..12 retries granted', async () => {
  // Active+pending stays within [40, 60] during the decisions, so the budget is 8..12.
  const r = await retryPressure({ retryBudget: { budgetPercent: 20, minRetryConcurrency: 3 } }, 20, 40);
  assert.ok(r.granted >= 8 && r.granted <= 12, `granted ${r.granted}`);
  assert.equal(r.overflow, 20 - r.granted);
  assert.equal(r.activeAfter, 0);
});

// === 8. Trusted and untrusted retry headers ===

test('untrusted client: x-envoy-retry-on and x-envoy-max-retries are ignored and not forwarded', async () => {
  be.script = seq(503, 200);
  await withProxy({ policy: null }, async (h) => {
    const key = newKey();
    const res = await h.send(key, {
      headers: { 'x-envoy-retry-on': '5xx', 'x-envoy-max-retries': '3', 'x-envoy-retry-grpc-on': 'unavailable' },
    });
    assert.equal(res.status, 503);
    assert.equal(be.of(key).length, 1);
    const seen = be.of(key)[0]!.headers;
    assert.equal(seen['x-envoy-retry-on'], undefined);
    assert.equal(seen['x-envoy-max-retries'], undefined);
    assert.equal(seen['x-envoy-retry-grpc-on'], undefined);
  });
  // Nor do they raise the count of a route that has a policy.
  be.script = seq(503);
  await withProxy({ policy: { retryOn: ['5xx'], numRetries: 1 } }, async (h) => {
    const key = newKey();
    await h.send(key, { headers: { 'x-envoy-max-retries': '4' } });
    assert.equal(be.of(key).length, 2);
  });
});

test('trusted client: x-envoy-retry-on enables retries on a route without a policy (num_retries 1), consumed', async () => {
  be.script = seq(503);
  await withProxy({ policy: null, trusted: true }, async (h) => {
    const key = newKey();
    const res = await h.send(key, { headers: { 'x-envoy-retry-on': '5xx,bogus' } });
    assert.equal(res.status, 503);
    assert.equal(be.of(key).length, 2, 'default num_retries 1');
    for (const a of be.of(key)) assert.equal(a.headers['x-envoy-retry-on'], undefined);
    const e = await h.entry();
    assert.equal(e.flags, Flag.URX, formatFlags(e.flags));
  });
});

test('trusted client: x-envoy-max-retries overrides num_retries (up and down)', async () => {
  be.script = seq(503);
  await withProxy({ policy: { retryOn: ['5xx'], numRetries: 1 }, trusted: true }, async (h) => {
    const up = newKey();
    await h.send(up, { headers: { 'x-envoy-max-retries': '3' } });
    assert.equal(be.of(up).length, 4);
    const down = newKey();
    await h.send(down, { headers: { 'x-envoy-max-retries': '0' } });
    assert.equal(be.of(down).length, 1);
    assert.equal((await h.entry(2)).flags, Flag.URX, 'no retry left: limit exceeded');
    const junk = newKey();
    await h.send(junk, { headers: { 'x-envoy-max-retries': 'x' } });
    assert.equal(be.of(junk).length, 2, 'an unparsable value keeps num_retries');
    for (const a of [...be.of(up), ...be.of(down)]) assert.equal(a.headers['x-envoy-max-retries'], undefined);
  });
  // x-envoy-max-retries alone does not enable retries.
  await withProxy({ policy: null, trusted: true }, async (h) => {
    const key = newKey();
    await h.send(key, { headers: { 'x-envoy-max-retries': '3' } });
    assert.equal(be.of(key).length, 1);
  });
});

// === 9. No retry once the response started ===

test('no retry after response headers went downstream: the client stream is aborted, one attempt', async () => {
  be.script = (_n, req, res) => {
    res.writeHead(200, { 'content-type': 'text/plain', 'content-length': '1000' });
    res.write('partial');
    setTimeout(() => req.socket.destroy(), 20);
  };
  await withProxy({ policy: { retryOn: ['5xx', 'reset', 'connect-failure'], numRetries: 3 } }, async (h) => {
    const key = newKey();
    await assert.rejects(h.send(key));
    const e = await h.entry();
    assert.equal(be.of(key).length, 1);
    assert.equal(e.attempts, 1);
    assert.equal(h.stats.upstream_rq_retry, 0);
    assert.equal(h.stats.upstream_rq_reset_after_downstream_response_started, 1);
    assert.ok(hasFlag(e, Flag.UC), formatFlags(e.flags));
  });
});

// === 11. The attempt trace ===

test('attempt trace: host, outcome and decision per attempt (reset, 503, 200)', async () => {
  be.script = seq('destroy', 503, 200);
  await withProxy({ policy: { retryOn: ['5xx'], numRetries: 2 } }, async (h) => {
    const res = await h.send(newKey());
    assert.equal(res.status, 200);
    const e = await h.entry();
    const t = trace(e);
    assert.deepEqual(
      t.map((l) => [l.attempt, l.host, l.outcome]),
      [
        [1, be.host, 'reset: connection termination'],
        [2, be.host, '503'],
        [3, be.host, '200'],
      ],
    );
    assert.match(t[0]!.decision, /^retried \(5xx\) after \d+ ms$/);
    assert.match(t[1]!.decision, /^retried \(5xx\) after \d+ ms$/);
    assert.equal(t[2]!.decision, 'committed');
    for (const l of t) assert.ok(Number.isFinite(l.ms) && l.ms >= 0);
    assert.equal(e.upstreamHost, be.host);
  });
});

// === 12. The client goes away during backoff ===

test('client disconnects while a retry waits in backoff: no further attempt, retry resource released, DC', async () => {
  be.script = seq({ status: 503, headers: { 'retry-after': '1' } }, 200);
  await withProxy({ policy: { retryOn: ['5xx'], rateLimitedBackoff: retryAfter } }, async (h) => {
    const key = newKey();
    const req = http.request({ host: '127.0.0.1', port: h.port, path: '/', agent: false, headers: { 'x-key': key } });
    req.on('error', () => {});
    req.end();
    while (be.of(key).length < 1) await sleep(5);
    await sleep(50);
    assert.equal(h.proxy.cluster('backend')!.resources.retries.active, 1, 'the scheduled retry holds the resource');
    req.destroy();
    const e = await h.entry();
    assert.ok(hasFlag(e, Flag.DC), formatFlags(e.flags));
    assert.equal(h.proxy.cluster('backend')!.resources.retries.active, 0);
    await sleep(1600);
    assert.equal(be.of(key).length, 1, 'the retry never started');
  });
});

// === 13. Retried HTTP/2 responses and the upstream connection ===

test('retrying complete HTTP/2 responses (503 with END_STREAM on HEADERS) does not reset them: 1500 retries, one upstream session', async () => {
  // Each retried response is already complete; an RST_STREAM for it is pointless and counts
  // against the upstream's rapid-reset limit (nghttp2: 1000 burst, then GOAWAY INTERNAL_ERROR).
  const counts = new Map<string, number>();
  let sessions = 0;
  const h2 = await h2Backend((stream, headers) => {
    const key = String(headers['x-key']);
    const n = (counts.get(key) ?? 0) + 1;
    counts.set(key, n);
    if (n === 1) stream.respond({ ':status': 503 }, { endStream: true });
    else {
      stream.respond({ ':status': 200, 'content-type': 'text/plain' });
      stream.end('ok');
    }
  });
  h2.server.on('session', () => sessions++);
  try {
    await withProxy(
      {
        policy: { retryOn: ['5xx'], backoff: { baseIntervalMs: 1, maxIntervalMs: 1 } },
        ports: [h2.port],
        cluster: { protocol: 'http2', circuitBreakers: { ...cluster('x', []).circuitBreakers, maxRetries: 100_000 } },
      },
      async (h) => {
        const keys = Array.from({ length: 1500 }, () => newKey('h2r'));
        const agent = new http.Agent({ keepAlive: true, maxSockets: 50 });
        const res = await pool(keys, 50, (k) => h.send(k, { agent }).catch(() => ({ status: 0 })));
        agent.destroy();
        const bad = res.filter((r) => r.status !== 200).length;
        assert.ok(h.stats.upstream_rq_retry >= 1400, `retries ${h.stats.upstream_rq_retry}`);
        // One session = the upstream never sent GOAWAY; no failed request.
        assert.deepEqual({ sessions, failed: bad }, { sessions: 1, failed: 0 });
      },
    );
  } finally {
    await h2.close();
  }
});
