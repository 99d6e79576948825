import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { Proxy } from '../../src/dataplane/proxy.js';
import type * as ir from '../../src/ir/index.js';
import { config, cluster, route } from '../helpers/ir.js';
import { closedPort, h1Backend, h1Request } from '../helpers/backends.js';

// Route CORS through the proxy: preflights answered by legate, headers on the backend's answers
// and on legate's own local replies.

let hits = 0;
const backend = await h1Backend((_req, res) => {
  hits++;
  res.writeHead(200, { 'access-control-allow-origin': '*', 'x-backend': 'yes' });
  res.end('from backend');
});
after(() => backend.close());

const cors: ir.CorsPolicy = {
  allowOrigins: [
    { kind: 'exact', value: 'https://www.foo.com' },
    { kind: 'regex', value: 'https://.*\\.bar\\.com' },
  ],
  allowMethods: 'GET, OPTIONS',
  allowHeaders: 'x-header-1',
  exposeHeaders: 'x-header-3',
  maxAge: '3600',
  allowCredentials: true,
  forwardNotMatchingPreflights: false,
};

const start = (port: number) => Proxy.start(config([route('r', { cors })], [cluster('backend', [port], { protocol: 'http1' })]));

test('a preflight is answered by legate; the backend never sees it', async () => {
  const proxy = await start(backend.port);
  try {
    hits = 0;
    const res = await h1Request(proxy.port('main'), {
      method: 'OPTIONS',
      path: '/x',
      headers: { origin: 'https://a.b.bar.com', 'access-control-request-method': 'GET' },
    });
    assert.equal(res.status, 200);
    assert.equal(hits, 0);
    assert.equal(res.headers['access-control-allow-origin'], 'https://a.b.bar.com');
    assert.equal(res.headers['access-control-allow-methods'], 'GET, OPTIONS');
    assert.equal(res.headers['access-control-allow-headers'], 'x-header-1');
    assert.equal(res.headers['access-control-max-age'], '3600');
    assert.equal(res.headers['access-control-allow-credentials'], 'true');
    assert.equal(res.headers['access-control-expose-headers'], 'x-header-3');

    const refused = await h1Request(proxy.port('main'), {
      method: 'OPTIONS',
      path: '/x',
      headers: { origin: 'https://foobar.com', 'access-control-request-method': 'GET' },
    });
    assert.equal(refused.status, 200);
    assert.equal(hits, 0, 'not forwarded either (Envoy Gateway)');
    assert.equal(refused.headers['access-control-allow-origin'], undefined);
  } finally {
    await proxy.close();
  }
});

test("an allowed origin's response carries legate's Access-Control-* headers, replacing the backend's", async () => {
  const proxy = await start(backend.port);
  try {
    const ok = await h1Request(proxy.port('main'), { path: '/x', headers: { origin: 'https://www.foo.com' } });
    assert.equal(ok.body.toString(), 'from backend');
    assert.equal(ok.headers['access-control-allow-origin'], 'https://www.foo.com');
    assert.equal(ok.headers['access-control-expose-headers'], 'x-header-3');
    assert.equal(ok.headers['x-backend'], 'yes');
    const other = await h1Request(proxy.port('main'), { path: '/x', headers: { origin: 'https://foobar.com' } });
    assert.equal(other.headers['access-control-allow-origin'], '*', "the backend's own header is left alone");
    const none = await h1Request(proxy.port('main'), { path: '/x' });
    assert.equal(none.headers['access-control-allow-credentials'], undefined);
  } finally {
    await proxy.close();
  }
});

test('a local reply to an allowed origin carries the headers too', async () => {
  const proxy = await start(await closedPort());
  try {
    const res = await h1Request(proxy.port('main'), { path: '/x', headers: { origin: 'https://www.foo.com' } });
    assert.equal(res.status, 503);
    assert.equal(res.headers['access-control-allow-origin'], 'https://www.foo.com');
    assert.equal(res.headers['access-control-allow-credentials'], 'true');
  } finally {
    await proxy.close();
  }
});
