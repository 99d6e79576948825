import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import type http from 'node:http';
import { Proxy } from '../../src/dataplane/proxy.js';
import { seededRandom } from '../../src/common/random.js';
import { config, cluster, route } from '../helpers/ir.js';
import { closedPort, h1Backend, h1Request, h2Request } from '../helpers/backends.js';

// Request mirroring (route `mirrors`): a copy goes to the mirror cluster, fire and forget.

type Seen = { method: string; url: string; host: string; headers: http.IncomingHttpHeaders; body: string };

function recorder(status = 200) {
  const seen: Seen[] = [];
  const started = h1Backend((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      seen.push({
        method: req.method!,
        url: req.url!,
        host: req.headers.host!,
        headers: req.headers,
        body: Buffer.concat(chunks).toString(),
      });
      res.writeHead(status);
      res.end('from backend');
    });
  });
  return started.then((b) => ({ ...b, seen }));
}

const main = await recorder();
const mirror = await recorder(503);
after(() => Promise.all([main.close(), mirror.close()]));

async function until(ok: () => boolean): Promise<void> {
  const deadline = Date.now() + 5000;
  while (!ok()) {
    assert.ok(Date.now() < deadline, 'timed out waiting for the mirrored request');
    await new Promise((r) => setTimeout(r, 10));
  }
}

const mirrored = (patch: Parameters<typeof route>[1] = {}) =>
  config(
    [
      route('r', {
        mirrors: [{ cluster: 'mirror', percent: 100 }],
        requestHeaders: { set: [{ name: 'x-edited', value: 'yes' }] },
        ...patch,
      }),
    ],
    [cluster('backend', [main.port], { protocol: 'http1' }), cluster('mirror', [mirror.port], { protocol: 'http1' })],
  );

test('the mirror gets a copy with the edited headers, the body and a -shadow host; its 503 is ignored', async () => {
  const proxy = await Proxy.start(mirrored());
  try {
    main.seen.length = 0;
    mirror.seen.length = 0;
    const res = await h1Request(proxy.port('main'), {
      method: 'POST',
      path: '/m?x=1',
      headers: { host: 'svc.example:8080' },
      body: 'payload',
    });
    assert.equal(res.status, 200);
    assert.equal(res.body.toString(), 'from backend');
    await until(() => mirror.seen.length === 1);
    const m = mirror.seen[0]!;
    assert.deepEqual(
      [m.method, m.url, m.host, m.body, m.headers['x-edited']],
      ['POST', '/m?x=1', 'svc.example-shadow:8080', 'payload', 'yes'],
    );
    assert.equal(main.seen[0]!.host, 'svc.example:8080');
    assert.equal(main.seen[0]!.body, 'payload');
    const c = proxy.cluster('mirror')!;
    await until(() => c.stats.upstream_rq_active === 0);
    assert.equal(c.stats.upstream_rq_total, 1);
    assert.equal(c.stats.upstream_rq_5xx, 1);
  } finally {
    await proxy.close();
  }
});

test('an HTTP/2 request is mirrored with :authority-shadow', async () => {
  const proxy = await Proxy.start(mirrored());
  try {
    mirror.seen.length = 0;
    const res = await h2Request(proxy.port('main'), { ':path': '/h2', ':authority': 'grpc.example' });
    assert.equal(res.status, 200);
    await until(() => mirror.seen.length === 1);
    assert.equal(mirror.seen[0]!.host, 'grpc.example-shadow');
  } finally {
    await proxy.close();
  }
});

test('a mirror that cannot be reached does not touch the main request', async () => {
  const dead = await closedPort();
  const cfg = mirrored();
  cfg.clusters[1] = cluster('mirror', [dead], { protocol: 'http1' });
  const proxy = await Proxy.start(cfg);
  try {
    for (let i = 0; i < 3; i++) assert.equal((await h1Request(proxy.port('main'), { path: '/x' })).status, 200);
    const c = proxy.cluster('mirror')!;
    await until(() => c.stats.upstream_rq_active === 0);
    assert.equal(c.stats.upstream_cx_connect_fail, 3);
  } finally {
    await proxy.close();
  }
});

test('percent mirrors that share of requests (seeded), 0 or an unknown cluster none', async () => {
  const cfg = config(
    [
      route('half', { match: { path: { kind: 'exact', value: '/half' } }, mirrors: [{ cluster: 'mirror', percent: 30 }] }),
      route('none', { match: { path: { kind: 'exact', value: '/none' } }, mirrors: [{ cluster: 'mirror', percent: 0 }] }),
      route('rest'),
    ],
    [cluster('backend', [main.port]), cluster('mirror', [mirror.port])],
  );
  const proxy = await Proxy.start(cfg, { random: seededRandom(7) });
  try {
    mirror.seen.length = 0;
    for (let i = 0; i < 200; i++) await h1Request(proxy.port('main'), { path: '/half' });
    for (let i = 0; i < 20; i++) await h1Request(proxy.port('main'), { path: '/none' });
    const c = proxy.cluster('mirror')!;
    await until(() => c.stats.upstream_rq_active === 0 && mirror.seen.length === c.stats.upstream_rq_total);
    assert.ok(mirror.seen.length >= 40 && mirror.seen.length <= 80, `${mirror.seen.length} of 200 mirrored at 30%`);
    assert.ok(mirror.seen.every((s) => s.url === '/half'));
  } finally {
    await proxy.close();
  }
});
