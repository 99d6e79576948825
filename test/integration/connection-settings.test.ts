import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { Proxy } from '../../src/dataplane/proxy.js';
import { config, cluster, route } from '../helpers/ir.js';
import { h1Backend, h1Request, h2Backend } from '../helpers/backends.js';

const closers: (() => Promise<void>)[] = [];
after(async () => {
  for (const c of closers.reverse()) await c();
});

test('max connection duration: an HTTP/1.1 connection older than the limit is closed and replaced', async () => {
  const b = await h1Backend((req, res) => res.end(String(req.socket.remotePort)));
  closers.push(() => b.close());
  const c = cluster('backend', [b.port], { protocol: 'http1' });
  // Long enough that two back-to-back requests fit in it on a loaded machine.
  c.pool = { ...c.pool, maxConnectionDurationMs: 500 };
  const proxy = await Proxy.start(config([route('all')], [c]));
  closers.push(() => proxy.close());
  const port = proxy.port('main');
  const first = (await h1Request(port, { path: '/' })).body.toString();
  assert.equal((await h1Request(port, { path: '/' })).body.toString(), first, 'reused while young');
  await new Promise((r) => setTimeout(r, 700));
  const later = (await h1Request(port, { path: '/' })).body.toString();
  assert.notEqual(later, first, 'a new connection after the limit');
  assert.ok(proxy.cluster('backend')!.stats.upstream_cx_max_duration_reached >= 1);
});

test('max connection duration: an HTTP/2 session is drained and replaced', async () => {
  const sessions = new Set<unknown>();
  const b = await h2Backend((stream) => {
    sessions.add(stream.session);
    stream.respond({ ':status': 200 });
    stream.end('ok');
  });
  closers.push(() => b.close());
  const c = cluster('backend', [b.port], { protocol: 'http2' });
  c.pool = { ...c.pool, maxConnectionDurationMs: 100 };
  const proxy = await Proxy.start(config([route('all')], [c]));
  closers.push(() => proxy.close());
  const port = proxy.port('main');
  await h1Request(port, { path: '/' });
  await h1Request(port, { path: '/' });
  assert.equal(sessions.size, 1);
  await new Promise((r) => setTimeout(r, 200));
  assert.equal((await h1Request(port, { path: '/' })).status, 200);
  assert.equal(sessions.size, 2);
});

test('idle timeout: an unused upstream connection is closed after the pool idle timeout', async () => {
  let closed = 0;
  const b = await h1Backend((req, res) => {
    req.socket.once('close', () => closed++);
    res.end('ok');
  });
  closers.push(() => b.close());
  const c = cluster('backend', [b.port], { protocol: 'http1' });
  c.pool = { ...c.pool, idleTimeoutMs: 100 };
  const proxy = await Proxy.start(config([route('all')], [c]));
  closers.push(() => proxy.close());
  await h1Request(proxy.port('main'), { path: '/' });
  assert.equal(closed, 0);
  await new Promise((r) => setTimeout(r, 400));
  assert.equal(closed, 1, 'the idle connection was closed by legate');
});
