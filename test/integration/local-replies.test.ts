import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { Proxy } from '../../src/dataplane/proxy.js';
import { Flag } from '../../src/dataplane/http/response-flags.js';
import { config, cluster, route } from '../helpers/ir.js';
import { closedPort, h1Backend, h1Request, h2Request, tcpBackend } from '../helpers/backends.js';
import { CollectingLog } from '../helpers/access-log.js';

const closers: (() => Promise<void>)[] = [];
after(async () => {
  for (const c of closers.reverse()) await c();
});

async function start(cfg: Parameters<typeof Proxy.start>[0]) {
  const log = new CollectingLog();
  const proxy = await Proxy.start(cfg, { accessLog: log });
  closers.push(() => proxy.close());
  return { proxy, log, port: proxy.port('main') };
}

test('no route: 404 with flag NR', async () => {
  const { port, log } = await start(
    config([route('api', { match: { path: { kind: 'prefix', value: '/api', segmentAware: true } } })], [cluster('backend', [1])]),
  );
  const res = await h1Request(port, { path: '/other' });
  assert.equal(res.status, 404);
  await log.waitFor(1);
  assert.equal(log.last().flags, Flag.NR);
  assert.equal(log.last().details, 'route_not_found');
});

test('no host matches the authority: 404 NR', async () => {
  const cfg = config([route('all')], [cluster('backend', [1])], { vhost: { domains: ['example.com'] } });
  const { port } = await start(cfg);
  assert.equal((await h1Request(port, { path: '/', headers: { host: 'other.com' } })).status, 404);
});

test('no endpoints: 503 "no healthy upstream" with flag UH', async () => {
  const { port, log } = await start(config([route('all')], [cluster('backend', [])]));
  const res = await h1Request(port, { path: '/' });
  assert.equal(res.status, 503);
  assert.equal(res.body.toString(), 'no healthy upstream');
  await log.waitFor(1);
  assert.equal(log.last().flags, Flag.UH);
});

test("a missing cluster: 503 NC with an empty body, or the route's clusterNotFoundStatus (500 for Envoy Gateway)", async () => {
  const missing = (status?: 500) =>
    route('r', {
      action: {
        kind: 'forward',
        clusters: [{ cluster: 'not-there', weight: 1, missing: true }],
        ...(status ? { clusterNotFoundStatus: status } : {}),
      },
    });
  for (const status of [undefined, 500] as const) {
    const { port, log } = await start(config([missing(status)], [cluster('backend', [1])]));
    const res = await h1Request(port, { path: '/' });
    assert.equal(res.status, status ?? 503);
    assert.equal(res.body.length, 0);
    await log.waitFor(1);
    assert.equal(log.last().flags, Flag.NC);
    assert.equal(log.last().details, 'cluster_not_found');
  }
});

test('connection refused: 503 with flag UF and the reset reason in the body', async () => {
  const dead = await closedPort();
  const { port, log, proxy } = await start(config([route('all')], [cluster('backend', [dead])]));
  const res = await h1Request(port, { path: '/' });
  assert.equal(res.status, 503);
  assert.match(
    res.body.toString(),
    /^upstream connect error or disconnect\/reset before headers\. reset reason: remote connection failure, transport failure reason: delayed connect error: 111$/,
  );
  await log.waitFor(1);
  assert.equal(log.last().flags, Flag.UF);
  assert.equal(log.last().upstreamHost, `127.0.0.1:${dead}`);
  assert.equal(proxy.cluster('backend')!.stats.upstream_cx_connect_fail, 1);
});

test('connect timeout: 503 UF with reason connection timeout', async () => {
  // A listening socket that never accepts, its queue filled: Linux drops further SYNs, so a
  // connect to it hangs until the proxy's connect timeout (python3 is on every machine here).
  const { spawn } = await import('node:child_process');
  const net = await import('node:net');
  const py = spawn(
    'python3',
    [
      '-c',
      'import socket,sys,time\ns=socket.socket()\ns.bind(("127.0.0.1",0))\ns.listen(0)\nprint(s.getsockname()[1],flush=True)\ntime.sleep(60)',
    ],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  );
  const sport = Number(await new Promise<string>((r) => py.stdout.once('data', (d) => r(String(d).trim()))));
  const fillers: import('node:net').Socket[] = [];
  for (let i = 0; i < 3; i++) {
    fillers.push(net.connect(sport, '127.0.0.1').on('error', () => {}));
    await new Promise((r) => setTimeout(r, 20));
  }
  closers.push(async () => {
    for (const f of fillers) f.destroy();
    py.kill();
  });
  const c = cluster('backend', [sport]);
  c.pool = { ...c.pool, connectTimeoutMs: 200 };
  const { port, log, proxy } = await start(config([route('all')], [c]));
  const t0 = Date.now();
  const res = await h1Request(port, { path: '/' });
  assert.equal(res.status, 503);
  assert.match(res.body.toString(), /reset reason: connection timeout/);
  assert.ok(Date.now() - t0 >= 190);
  await log.waitFor(1);
  assert.equal(log.last().flags, Flag.UF);
  assert.equal(proxy.cluster('backend')!.stats.upstream_cx_connect_timeout, 1);
});

test('backend closes without responding: 503 with flag UC', async () => {
  const b = await tcpBackend((s) => s.once('data', () => s.destroy()));
  closers.push(() => b.close());
  const { port, log } = await start(config([route('all')], [cluster('backend', [b.port], { protocol: 'http1' })]));
  const res = await h1Request(port, { path: '/' });
  assert.equal(res.status, 503);
  assert.match(res.body.toString(), /reset reason: connection termination/);
  await log.waitFor(1);
  assert.equal(log.last().flags, Flag.UC);
});

test('garbage from the backend: 502 with flag UPE', async () => {
  const b = await tcpBackend((s) => s.once('data', () => s.end('NOT HTTP AT ALL\r\n\r\n')));
  closers.push(() => b.close());
  const { port, log } = await start(config([route('all')], [cluster('backend', [b.port], { protocol: 'http1' })]));
  const res = await h1Request(port, { path: '/' });
  assert.equal(res.status, 502);
  assert.match(res.body.toString(), /reset reason: protocol error/);
  await log.waitFor(1);
  assert.equal(log.last().flags, Flag.UPE);
});

test('backend resets mid-response: the client connection is closed, never a complete response', async () => {
  const b = await tcpBackend((s) =>
    s.once('data', () => {
      s.write('HTTP/1.1 200 OK\r\ncontent-length: 100\r\n\r\npartial');
      setTimeout(() => s.destroy(), 50);
    }),
  );
  closers.push(() => b.close());
  const { port, log } = await start(config([route('all')], [cluster('backend', [b.port], { protocol: 'http1' })]));
  const outcome = await new Promise<string>((resolve) => {
    http
      .get({ host: '127.0.0.1', port, path: '/', agent: false }, (res) => {
        res.on('data', () => {});
        res.on('end', () => resolve('complete'));
        res.on('aborted', () => resolve('aborted'));
        res.on('error', () => resolve('aborted'));
      })
      .on('error', () => resolve('aborted'));
  });
  assert.equal(outcome, 'aborted');
  await log.waitFor(1);
  assert.ok((log.last().flags & Flag.UC) !== 0, `flags ${log.last().flags}`);
});

test('route timeout: 504 "upstream request timeout" with flag UT, and 0 disables it', async () => {
  const slow = await h1Backend((_req, res) => setTimeout(() => res.end('late'), 400));
  closers.push(() => slow.close());
  const timed = route('all', { timeout: { requestMs: 100, origin: {} } });
  const { port, log, proxy } = await start(config([timed], [cluster('backend', [slow.port])]));
  const t0 = Date.now();
  const res = await h1Request(port, { path: '/' });
  const took = Date.now() - t0;
  assert.equal(res.status, 504);
  assert.equal(res.body.toString(), 'upstream request timeout');
  assert.ok(took >= 90 && took < 350, `took ${took} ms`);
  await log.waitFor(1);
  assert.equal(log.last().flags, Flag.UT);
  assert.equal(proxy.cluster('backend')!.stats.upstream_rq_timeout, 1);

  const untimed = await start(config([route('all', { timeout: { requestMs: 0, origin: {} } })], [cluster('backend', [slow.port])]));
  const ok = await h1Request(untimed.port, { path: '/' });
  assert.equal(ok.status, 200);
  assert.equal(ok.body.toString(), 'late');
});

test('direct response and redirect routes answer locally', async () => {
  const cfg = config(
    [
      {
        name: 'health',
        match: { path: { kind: 'exact', value: '/healthz' } },
        action: { kind: 'direct', response: { status: 200, body: 'ok' } },
        origin: {},
      },
      {
        name: 'json',
        match: { path: { kind: 'exact', value: '/info' } },
        action: { kind: 'direct', response: { status: 200, body: '{}', contentType: 'application/json' } },
        origin: {},
      },
      {
        name: 'moved',
        match: { path: { kind: 'prefix', value: '/old', segmentAware: true } },
        action: { kind: 'redirect', redirect: { statusCode: 301, path: { kind: 'prefix', value: '/new' } } },
        origin: {},
      },
    ],
    [],
  );
  const { port } = await start(cfg);
  const d = await h1Request(port, { path: '/healthz' });
  assert.equal(d.status, 200);
  assert.equal(d.body.toString(), 'ok');
  assert.equal(d.headers['content-type'], 'text/plain');
  const j = await h1Request(port, { path: '/info' });
  assert.equal(j.headers['content-type'], 'application/json', "one content-type, the route's");
  const r = await h1Request(port, { path: '/old/page?x=1', headers: { host: 'example.com' } });
  assert.equal(r.status, 301);
  assert.equal(r.headers.location, 'http://example.com/new/page?x=1');
});

test('a bad config is rejected with diagnostics and the running one is kept', async () => {
  const ok = await h1Backend((_q, res) => res.end('v1'));
  closers.push(() => ok.close());
  const { port, proxy } = await start(config([route('all')], [cluster('backend', [ok.port])]));
  const bad = config([route('all', { cluster: 'missing' })], [cluster('backend', [ok.port])]);
  await assert.rejects(proxy.apply(bad), /cluster "missing" does not exist/);
  assert.equal((await h1Request(port, { path: '/' })).body.toString(), 'v1');
});

test('a direct response to a gRPC request: trailers-only with the mapped status, logged as sent', async () => {
  const cfg = config(
    [{ name: 'down', match: {}, action: { kind: 'direct', response: { status: 503, body: 'maintenance' } }, origin: {} }],
    [],
  );
  const { port, log } = await start(cfg);
  const res = await h2Request(
    port,
    { ':method': 'POST', ':path': '/pkg.Svc/Call', 'content-type': 'application/grpc', te: 'trailers' },
    Buffer.alloc(5),
  );
  assert.equal(res.status, 200);
  assert.equal(res.headers['grpc-status'], '14');
  assert.equal(res.headers['grpc-message'], 'maintenance');
  await log.waitFor(1);
  assert.equal(log.last().grpcStatus, '14');
});
