import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import http2 from 'node:http2';
import { Proxy } from '../../src/dataplane/proxy.js';
import { Flag } from '../../src/dataplane/http/response-flags.js';
import { config, cluster, route } from '../helpers/ir.js';
import { h1Backend, h1Request, h2Backend } from '../helpers/backends.js';
import { CollectingLog } from '../helpers/access-log.js';
import type * as ir from '../../src/ir/index.js';

const closers: (() => Promise<void>)[] = [];
after(async () => {
  for (const c of closers.reverse()) await c();
});

// Answers after `ms`, counting requests in flight.
let inFlight = 0;
let peak = 0;
const slow = await h1Backend((_req, res) => {
  inFlight++;
  peak = Math.max(peak, inFlight);
  setTimeout(() => {
    inFlight--;
    res.end('ok');
  }, 200);
});
closers.push(() => slow.close());

function breakers(c: ir.Cluster, b: Partial<ir.CircuitBreakers>): ir.Cluster {
  return { ...c, circuitBreakers: { ...c.circuitBreakers, ...b } };
}

async function start(c: ir.Cluster) {
  const log = new CollectingLog();
  const proxy = await Proxy.start(config([route('all')], [c]), { accessLog: log });
  closers.push(() => proxy.close());
  return { proxy, log, port: proxy.port('main') };
}

test('max_connections 1, max_pending 1: of 3 concurrent requests 1 is served, 1 waits, 1 overflows (scenario 16)', async () => {
  peak = 0;
  const { proxy, log, port } = await start(
    breakers(cluster('backend', [slow.port], { protocol: 'http1' }), { maxConnections: 1, maxPendingRequests: 1 }),
  );
  // Warm one connection so it sits idle in the pool.
  assert.equal((await h1Request(port, { path: '/' })).status, 200);
  const results = await Promise.all([0, 1, 2].map(() => h1Request(port, { path: '/' })));
  const statuses = results.map((r) => r.status).sort();
  assert.deepEqual(statuses, [200, 200, 503]);
  const over = results.find((r) => r.status === 503)!;
  assert.equal(over.headers['x-envoy-overloaded'], 'true');
  assert.equal(over.body.toString(), 'upstream connect error or disconnect/reset before headers. reset reason: overflow');
  assert.equal(peak, 1, 'one connection: requests reach the backend one at a time');
  const stats = proxy.cluster('backend')!.stats;
  assert.equal(stats.upstream_rq_pending_overflow, 1);
  assert.ok(stats.upstream_cx_overflow >= 1);
  await log.waitFor(4);
  assert.equal(log.entries.filter((e) => e.flags === Flag.UO).length, 1);
  const r = proxy.cluster('backend')!.resources;
  assert.deepEqual([r.connections.count, r.pending.count, r.requests.count], [1, 0, 0], 'gauges settle');
});

test('max_connections 2, max_pending 2, warm pool: 10 concurrent -> 2 active, 2 pending, 6 overflow', async () => {
  peak = 0;
  const { proxy, port } = await start(
    breakers(cluster('backend', [slow.port], { protocol: 'http1' }), { maxConnections: 2, maxPendingRequests: 2 }),
  );
  await Promise.all([h1Request(port, { path: '/' }), h1Request(port, { path: '/' })]);
  const results = await Promise.all(Array.from({ length: 10 }, () => h1Request(port, { path: '/' })));
  const overflowed = results.filter((r) => r.status === 503 && r.headers['x-envoy-overloaded'] === 'true').length;
  assert.equal(overflowed, 6);
  assert.equal(results.filter((r) => r.status === 200).length, 4);
  assert.ok(peak <= 2);
  assert.equal(proxy.cluster('backend')!.stats.upstream_rq_pending_overflow, 6);
});

test('max_requests 5 on an HTTP/2 cluster: 8 concurrent -> 3 overflow', async () => {
  const h2 = await h2Backend((stream) =>
    setTimeout(() => {
      if (stream.destroyed) return;
      stream.respond({ ':status': 200 });
      stream.end('ok');
    }, 200),
  );
  closers.push(() => h2.close());
  const { proxy, port } = await start(breakers(cluster('backend', [h2.port], { protocol: 'http2' }), { maxRequests: 5 }));
  const session = http2.connect(`http://127.0.0.1:${port}`);
  closers.push(async () => void session.close());
  const statuses = await Promise.all(
    Array.from(
      { length: 8 },
      () =>
        new Promise<number>((resolve, reject) => {
          const s = session.request({ ':path': '/' });
          let status = 0;
          s.on('response', (h) => (status = Number(h[':status'])));
          s.on('data', () => {});
          s.on('end', () => resolve(status));
          s.on('error', reject);
        }),
    ),
  );
  assert.equal(statuses.filter((s) => s === 503).length, 3);
  assert.equal(statuses.filter((s) => s === 200).length, 5);
  assert.equal(proxy.cluster('backend')!.stats.upstream_rq_pending_overflow, 3);
});

test('max_connections queues instead of rejecting: 5 requests over 1 connection all succeed in turn', async () => {
  peak = 0;
  const { proxy, port } = await start(
    breakers(cluster('backend', [slow.port], { protocol: 'http1' }), { maxConnections: 1, maxPendingRequests: 100 }),
  );
  const results = await Promise.all(Array.from({ length: 5 }, () => h1Request(port, { path: '/' })));
  assert.deepEqual(
    results.map((r) => r.status),
    [200, 200, 200, 200, 200],
  );
  assert.equal(peak, 1);
  assert.equal(proxy.cluster('backend')!.stats.upstream_rq_pending_total >= 4, true);
});
