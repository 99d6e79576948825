/**
 * Request mirroring (Envoy's shadows) end to end: the mirror cluster gets a copy of the whole
 * request with `-shadow` appended to the host, its answer (or failure) never reaches the client,
 * percentages sample requests, a body over the buffer limit abandons the shadow, and the copy
 * counts in the mirror cluster's stats. gRPC requests are mirrored over HTTP/2.
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import http from 'node:http';
import { Proxy } from '../../src/dataplane/proxy.js';
import { seededRandom } from '../../src/common/random.js';
import type * as ir from '../../src/ir/index.js';
import { config, cluster, route } from '../helpers/ir.js';
import { closedPort, h1Backend, h1Request } from '../helpers/backends.js';
import { echoClient, startEchoServer, unary } from '../helpers/grpc.js';
import { retryPolicy } from '../helpers/retry.js';

const closers: (() => Promise<void>)[] = [];
after(async () => {
  for (const c of closers.reverse()) await c();
});

type Seen = { host: string | undefined; path: string; method: string; sha: string; bytes: number; headers: http.IncomingHttpHeaders };

/** An HTTP/1.1 backend recording every request and its body; answers `status`. */
async function recorder(name: string, status = 200, delayMs = 0) {
  const seen: Seen[] = [];
  let waiters: (() => void)[] = [];
  const b = await h1Backend((req, res) => {
    const hash = createHash('sha256');
    let bytes = 0;
    req.on('data', (c: Buffer) => {
      hash.update(c);
      bytes += c.length;
    });
    req.on('end', () => {
      seen.push({
        host: req.headers.host,
        path: req.url ?? '',
        method: req.method ?? '',
        sha: hash.digest('hex'),
        bytes,
        headers: req.headers,
      });
      for (const w of waiters) w();
      waiters = [];
      setTimeout(() => res.writeHead(status, { 'x-from': name }).end(`${name}\n`), delayMs);
    });
  });
  closers.push(() => b.close());
  const waitFor = async (n: number, ms = 3000) => {
    const deadline = Date.now() + ms;
    while (seen.length < n) {
      if (Date.now() > deadline) throw new Error(`${name} saw ${seen.length} requests, waited for ${n}`);
      await new Promise<void>((r) => {
        waiters.push(r);
        setTimeout(r, 50);
      });
    }
  };
  return { port: b.port, seen, waitFor };
}

async function start(mirrors: ir.Mirror[], clusters: ir.Cluster[], patch: Partial<ir.Route> = {}) {
  const cfg = config([route('r', { mirrors, ...patch })], clusters);
  const proxy = await Proxy.start(cfg, { random: seededRandom(7) });
  closers.push(() => proxy.close(100));
  return { proxy, port: proxy.port('main') };
}

test('a mirror gets the whole request with -shadow on the host; the client only sees the primary', async () => {
  const primary = await recorder('primary');
  const shadow = await recorder('shadow', 500);
  const { port, proxy } = await start(
    [{ cluster: 'shadow', percent: 100 }],
    [cluster('backend', [primary.port], { protocol: 'http1' }), cluster('shadow', [shadow.port], { protocol: 'http1' })],
  );
  const body = Buffer.alloc(300_000, 7);
  const res = await h1Request(port, {
    path: '/upload?x=1',
    method: 'POST',
    body,
    headers: { host: 'api.example.com:8080', 'x-custom': 'v' },
  });
  assert.equal(res.status, 200);
  assert.equal(res.body.toString(), 'primary\n');
  await shadow.waitFor(1);
  const s = shadow.seen[0]!;
  const p = primary.seen[0]!;
  assert.equal(s.host, 'api.example.com-shadow:8080');
  assert.equal(p.host, 'api.example.com:8080');
  assert.equal(s.path, '/upload?x=1');
  assert.equal(s.method, 'POST');
  assert.equal(s.bytes, body.length);
  assert.equal(s.sha, p.sha);
  assert.equal(s.headers['x-custom'], 'v');
  assert.equal(s.headers['x-request-id'], p.headers['x-request-id'], 'the copy carries the same request id');
  // The mirror's 500 is counted on its own cluster and nowhere else.
  await new Promise((r) => setTimeout(r, 50));
  const ms = proxy.cluster('shadow')!.stats;
  assert.equal(ms.upstream_rq_total, 1);
  assert.equal(ms.upstream_rq_5xx, 1);
  assert.equal(ms.upstream_rq_active, 0);
  assert.equal(proxy.cluster('backend')!.stats.upstream_rq_5xx, 0);
});

test('a slow or dead mirror never delays or fails the request', async () => {
  const primary = await recorder('primary');
  const slow = await recorder('slow', 200, 2000);
  const dead = await closedPort();
  const { port, proxy } = await start(
    [
      { cluster: 'slow', percent: 100 },
      { cluster: 'dead', percent: 100 },
    ],
    [
      cluster('backend', [primary.port], { protocol: 'http1' }),
      cluster('slow', [slow.port], { protocol: 'http1' }),
      cluster('dead', [dead], { protocol: 'http1' }),
    ],
    { timeout: { requestMs: 300, origin: {} } },
  );
  const t0 = performance.now();
  const res = await h1Request(port, { path: '/' });
  assert.equal(res.status, 200);
  assert.ok(performance.now() - t0 < 1000, 'the answer does not wait for the mirrors');
  await slow.waitFor(1);
  // The shadow has the route's 300 ms timeout; the dead mirror's connect failure is its own.
  await new Promise((r) => setTimeout(r, 500));
  assert.equal(proxy.cluster('slow')!.stats.upstream_rq_timeout, 1);
  assert.equal(proxy.cluster('slow')!.stats.upstream_rq_active, 0);
  assert.equal(proxy.cluster('dead')!.stats.upstream_rq_active, 0);
  assert.ok(proxy.cluster('dead')!.stats.upstream_cx_connect_fail >= 1);
});

test('percent samples requests (seeded: about a quarter of 200)', async () => {
  const primary = await recorder('primary');
  const shadow = await recorder('shadow');
  const { port } = await start(
    [{ cluster: 'shadow', percent: 25 }],
    [cluster('backend', [primary.port], { protocol: 'http1' }), cluster('shadow', [shadow.port], { protocol: 'http1' })],
  );
  const agent = new http.Agent({ keepAlive: true, maxSockets: 8 });
  closers.push(async () => agent.destroy());
  for (let i = 0; i < 200; i += 10) await Promise.all(Array.from({ length: 10 }, () => h1Request(port, { path: '/', agent })));
  await new Promise((r) => setTimeout(r, 200));
  assert.equal(primary.seen.length, 200);
  assert.ok(shadow.seen.length >= 30 && shadow.seen.length <= 70, `${shadow.seen.length} of 200 mirrored`);
});

test('a body over the buffer limit abandons the shadow (retry_or_shadow_abandoned), the request goes on', async () => {
  const primary = await recorder('primary');
  const shadow = await recorder('shadow');
  const retry = retryPolicy({
    retryOn: ['5xx'],
    numRetries: 1,
    backoff: { baseIntervalMs: 2, maxIntervalMs: 20 },
    bufferLimitBytes: 64 * 1024,
  });
  const { port, proxy } = await start(
    [{ cluster: 'shadow', percent: 100 }],
    [cluster('backend', [primary.port], { protocol: 'http1' }), cluster('shadow', [shadow.port], { protocol: 'http1' })],
    { retry },
  );
  const res = await h1Request(port, { path: '/', method: 'POST', body: Buffer.alloc(200_000, 1) });
  assert.equal(res.status, 200);
  assert.equal(primary.seen[0]!.bytes, 200_000);
  await new Promise((r) => setTimeout(r, 100));
  assert.equal(shadow.seen.length, 0);
  assert.equal(proxy.cluster('backend')!.stats.retry_or_shadow_abandoned, 1);
});

test('a gRPC call is mirrored over HTTP/2 with its message', async () => {
  const main = await startEchoServer();
  const copy = await startEchoServer();
  closers.push(
    () => main.close(),
    () => copy.close(),
  );
  const { port } = await start(
    [{ cluster: 'copy', percent: 100 }],
    [cluster('backend', [main.port], { protocol: 'http2' }), cluster('copy', [copy.port], { protocol: 'http2' })],
  );
  const client = echoClient(port);
  closers.push(async () => client.close());
  const r = await unary(client, { message: 'hello mirror' });
  assert.equal(r.error, null);
  const deadline = Date.now() + 3000;
  while (!copy.calls.has('hello mirror') && Date.now() < deadline) await new Promise((x) => setTimeout(x, 20));
  assert.ok(copy.calls.has('hello mirror'), 'the mirror got the call with its message');
  assert.equal(copy.calls.get('hello mirror')!.method, main.calls.get('hello mirror')!.method);
});
