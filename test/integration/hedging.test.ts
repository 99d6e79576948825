/**
 * Hedging on per-try timeout (spec 2.12, scenario 13), scaled: per-try 100 ms, num_retries 1,
 * retry_on 5xx, previous_hosts; the first attempt lands on a slow host A (answers after 500 ms),
 * the second on a fast host B (answers after 50 ms).
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

const closers: (() => Promise<void>)[] = [];
after(async () => {
  for (const c of closers.reverse()) await c();
});

function retry(p: Partial<ir.RetryPolicy> = {}): ir.RetryPolicy {
  return {
    retryOn: ['5xx'],
    numRetries: 1,
    perTryTimeoutMs: 100,
    perTryIdleTimeoutMs: 0,
    retriableStatusCodes: [],
    retriableHeaders: [],
    retriableRequestHeaders: [],
    backoff: { baseIntervalMs: 25, maxIntervalMs: 250 },
    previousHosts: true,
    hostSelectionRetryMaxAttempts: 1,
    bufferLimitBytes: 1 << 20,
    origin: {},
    ...p,
  };
}

type Seen = { port: number; at: number; headers: http.IncomingHttpHeaders; closedAt: number; aborted: boolean };

/**
 * Two HTTP/1.1 hosts sharing one record. Whichever host receives the first request of the test is
 * "A" and answers after 500 ms; every later request (the hedge or retry, on "B") is answered after
 * 50 ms. The LB start is random, so A is found by arrival, not by configuration order.
 */
async function twoHosts() {
  const seen: Seen[] = [];
  const mk = async () => {
    const b = await h1Backend((req, res) => {
      const s: Seen = { port: b.port, at: Date.now(), headers: req.headers, closedAt: -1, aborted: false };
      const first = seen.push(s) === 1;
      res.on('close', () => {
        s.closedAt = Date.now();
        s.aborted = !res.writableFinished;
      });
      const t = setTimeout(() => res.end(first ? 'from A' : 'from B'), first ? 500 : 50);
      res.on('close', () => clearTimeout(t));
    });
    closers.push(() => b.close());
    return b;
  };
  const a = await mk();
  const b = await mk();
  return { ports: [a.port, b.port], seen };
}

async function start(hedge: boolean) {
  const hosts = await twoHosts();
  const r = route('all', {
    timeout: { requestMs: 1000, origin: {} },
    retry: retry(),
    ...(hedge ? { hedge: { onPerTryTimeout: true, origin: {} } } : {}),
  });
  const log = new CollectingLog();
  const proxy = await Proxy.start(config([r], [cluster('backend', hosts.ports)]), { accessLog: log, random: seededRandom(3) });
  closers.push(() => proxy.close(100));
  return { ...hosts, proxy, log, port: proxy.port('main') };
}

const settle = () => new Promise((r) => setTimeout(r, 100));

test('scenario 13 (scaled): hedge on per-try timeout -> B answers at ~150-175 ms, A is cancelled, no per-try timeout counted', async () => {
  const { proxy, log, port, seen } = await start(true);
  const t0 = Date.now();
  const res = await h1Request(port, { path: '/' });
  const ms = Date.now() - t0;
  assert.equal(res.status, 200);
  assert.equal(res.body.toString(), 'from B');
  assert.ok(ms >= 148 && ms < 400, `answered after ${ms} ms (100 per-try + 0-25 backoff + 50, ~150-175 when idle)`);
  await settle();

  assert.equal(seen.length, 2, 'one original attempt and one hedge');
  const [a, b] = seen as [Seen, Seen];
  assert.notEqual(a.port, b.port, 'previous_hosts: the hedge goes to the other host');
  const hedgeAfter = b.at - a.at;
  assert.ok(hedgeAfter >= 95 && hedgeAfter < 250, `hedge sent ${hedgeAfter} ms after the first attempt`);
  // A kept running beside B (soft timeout), then was reset when B won.
  assert.ok(a.closedAt >= b.at, 'A was still in flight when the hedge started');
  assert.equal(a.aborted, true, "A's stream was reset by the proxy");
  assert.ok(a.closedAt - t0 < 400, `A reset at +${a.closedAt - t0} ms, before it could answer`);
  assert.equal(b.aborted, false);

  // With hedging, both attempts announce the global timeout, not the per-try one.
  const aExpected = Number(a.headers['x-envoy-expected-rq-timeout-ms']);
  assert.ok(aExpected > 990 && aExpected <= 1000, `first attempt expects ${aExpected} ms`);
  const bExpected = Number(b.headers['x-envoy-expected-rq-timeout-ms']);
  assert.ok(bExpected > 800 && bExpected <= 1000, `hedge expects ${bExpected} ms`);

  const c = proxy.cluster('backend')!;
  const s = c.stats;
  assert.equal(s.upstream_rq_per_try_timeout, 0, 'soft timeout: not counted as a per-try timeout');
  assert.equal(s.upstream_rq_retry, 1);
  assert.equal(s.upstream_rq_total, 2);
  assert.equal(s.upstream_rq_timeout, 0);
  const hostA = c.hosts.find((h) => h.port === a.port)!;
  const hostB = c.hosts.find((h) => h.port === b.port)!;
  assert.equal(hostA.stats.rq_timeout, 1, 'A is charged one timeout');
  assert.equal(hostB.stats.rq_timeout, 0);
  assert.equal(hostB.stats.rq_success, 1);

  await log.waitFor(1);
  const e = log.last();
  assert.equal(e.status, 200);
  assert.equal(e.flags & Flag.UT, 0, `flags ${e.flags}`);
  assert.equal(e.upstreamHost, `127.0.0.1:${b.port}`);
  assert.equal(e.attempts, 2);
});

test('without hedging the same setup is an ordinary per-try timeout retry', async () => {
  const { proxy, log, port, seen } = await start(false);
  const t0 = Date.now();
  const res = await h1Request(port, { path: '/' });
  const ms = Date.now() - t0;
  assert.equal(res.status, 200);
  assert.equal(res.body.toString(), 'from B');
  assert.ok(ms >= 148 && ms < 400, `answered after ${ms} ms`);
  await settle();

  assert.equal(seen.length, 2);
  const [a, b] = seen as [Seen, Seen];
  assert.notEqual(a.port, b.port);
  // A was reset at its per-try timeout, before the retry was sent.
  assert.equal(a.aborted, true);
  assert.ok(a.closedAt <= b.at, 'A was reset before the retry started');
  assert.ok(a.closedAt - t0 >= 95 && a.closedAt - t0 < 300, `A reset at +${a.closedAt - t0} ms`);
  // Without hedging, each attempt announces its per-try timeout.
  assert.equal(a.headers['x-envoy-expected-rq-timeout-ms'], '100');
  assert.equal(b.headers['x-envoy-expected-rq-timeout-ms'], '100');

  const s = proxy.cluster('backend')!.stats;
  assert.equal(s.upstream_rq_per_try_timeout, 1);
  assert.equal(s.upstream_rq_retry, 1);
  assert.equal(s.upstream_rq_total, 2);
  await log.waitFor(1);
  assert.equal(log.last().status, 200);
  assert.equal(log.last().attempts, 2);
});

test('hedging: when the original attempt answers first it wins and the hedge is cancelled', async () => {
  // A answers after 250 ms: after the per-try timeout (hedge sent at ~100-125 ms), before the hedge's 300 ms.
  const seen: Seen[] = [];
  const mk = async () => {
    const b = await h1Backend((req, res) => {
      const s: Seen = { port: b.port, at: Date.now(), headers: req.headers, closedAt: -1, aborted: false };
      const first = seen.push(s) === 1;
      res.on('close', () => {
        s.closedAt = Date.now();
        s.aborted = !res.writableFinished;
      });
      const t = setTimeout(() => res.end(first ? 'from A' : 'from B'), first ? 250 : 300);
      res.on('close', () => clearTimeout(t));
    });
    closers.push(() => b.close());
    return b;
  };
  const ports = [(await mk()).port, (await mk()).port];
  const r = route('all', { timeout: { requestMs: 1000, origin: {} }, retry: retry(), hedge: { onPerTryTimeout: true, origin: {} } });
  const proxy = await Proxy.start(config([r], [cluster('backend', ports)]), { random: seededRandom(5) });
  closers.push(() => proxy.close(100));
  const t0 = Date.now();
  const res = await h1Request(proxy.port('main'), { path: '/' });
  const ms = Date.now() - t0;
  assert.equal(res.body.toString(), 'from A');
  assert.ok(ms >= 248 && ms < 500, `answered after ${ms} ms`);
  await settle();
  assert.equal(seen.length, 2, 'the hedge was sent');
  assert.equal(seen[1]!.aborted, true, 'the losing hedge is reset');
  assert.equal(proxy.cluster('backend')!.stats.upstream_rq_per_try_timeout, 0);
});

test('hedging: a retriable 503 from the hedge while the original is in flight is discarded; the original wins', async () => {
  const seen: Seen[] = [];
  const mk = async () => {
    const b = await h1Backend((req, res) => {
      const s: Seen = { port: b.port, at: Date.now(), headers: req.headers, closedAt: -1, aborted: false };
      const first = seen.push(s) === 1;
      res.on('close', () => {
        s.closedAt = Date.now();
        s.aborted = !res.writableFinished;
      });
      const t = setTimeout(() => (first ? res.end('from A') : res.writeHead(503).end('B busy')), first ? 400 : 20);
      res.on('close', () => clearTimeout(t));
    });
    closers.push(() => b.close());
    return b;
  };
  const ports = [(await mk()).port, (await mk()).port];
  // Per-try 150 ms, so the hedge's 503 (20 ms) comes well before its own per-try timeout.
  const r = route('all', {
    timeout: { requestMs: 1000, origin: {} },
    retry: retry({ perTryTimeoutMs: 150 }),
    hedge: { onPerTryTimeout: true, origin: {} },
  });
  const log = new CollectingLog();
  const proxy = await Proxy.start(config([r], [cluster('backend', ports)]), { accessLog: log, random: seededRandom(7) });
  closers.push(() => proxy.close(100));
  const t0 = Date.now();
  const res = await h1Request(proxy.port('main'), { path: '/' });
  const ms = Date.now() - t0;
  assert.equal(res.status, 200);
  assert.equal(res.body.toString(), 'from A');
  assert.ok(ms >= 395 && ms < 600, `answered after ${ms} ms`);
  assert.equal(seen.length, 2);
  const s = proxy.cluster('backend')!.stats;
  assert.equal(s.upstream_rq_retry, 1, 'only the hedge; the 503 is not retried again');
  assert.equal(s.upstream_rq_per_try_timeout, 0);
  await log.waitFor(1);
  const trace = log.last().attemptTrace as { attempt: number; outcome: string; decision: string }[];
  assert.ok(trace, 'attempt trace present');
  const hedgeLine = trace.find((t) => t.attempt === 2)!;
  assert.equal(hedgeLine.outcome, '503');
  assert.match(hedgeLine.decision, /discarded/);
  assert.equal(log.last().upstreamHost, `127.0.0.1:${seen[0]!.port}`, "the original attempt's host answered");
});
