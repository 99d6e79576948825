/**
 * POST /drain: the listeners stop accepting, requests in flight (HTTP/1.1 and HTTP/2) finish,
 * the report says what was in flight, /ready turns DRAINING and new connections are refused.
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import http2 from 'node:http2';
import net from 'node:net';
import { Proxy } from '../../src/dataplane/proxy.js';
import { AdminServer } from '../../src/admin/admin-server.js';
import { config, cluster, route } from '../helpers/ir.js';
import { h1Backend, h1Request } from '../helpers/backends.js';

let arrived = 0;
const be = await h1Backend((_req, res) => {
  arrived++;
  setTimeout(() => res.end('finished'), 300);
});
const proxy = await Proxy.start(config([route('all')], [cluster('backend', [be.port], { protocol: 'http1' })]));
const port = proxy.port('main');
const admin = new AdminServer({ sources: { proxy }, port: 0 });
await admin.start();
after(async () => {
  await admin.close();
  await proxy.close(100);
  await be.close();
});

function connectError(p: number): Promise<string | null> {
  return new Promise((resolve) => {
    const s = net.connect(p, '127.0.0.1');
    s.once('connect', () => {
      s.destroy();
      resolve(null);
    });
    s.once('error', (e: NodeJS.ErrnoException) => resolve(e.code ?? e.message));
  });
}

test('drain finishes the in-flight HTTP/1.1 and HTTP/2 requests, then refuses new connections', async () => {
  const h1 = h1Request(port, { path: '/one' });
  const session = http2.connect(`http://127.0.0.1:${port}`);
  session.on('error', () => {});
  const h2 = new Promise<{ status: number; body: string }>((resolve, reject) => {
    const st = session.request({ ':path': '/two' });
    let status = 0;
    let body = '';
    st.on('response', (h) => (status = Number(h[':status'])));
    st.on('data', (c: Buffer) => (body += c));
    st.on('end', () => resolve({ status, body }));
    st.on('error', reject);
  });
  const end = Date.now() + 3000;
  while (arrived < 2 && Date.now() < end) await new Promise((r) => setTimeout(r, 5));
  assert.equal(arrived, 2, 'both requests reached the backend');

  const started = Date.now();
  const drained = fetch(`${admin.url}/drain?timeout_ms=5000`, { method: 'POST' });
  // While draining: /ready says so, and the listener no longer accepts.
  await new Promise((r) => setTimeout(r, 50));
  const ready = await fetch(`${admin.url}/ready`);
  assert.equal(ready.status, 503);
  assert.equal(await ready.text(), 'DRAINING\n');
  assert.equal(await connectError(port), 'ECONNREFUSED');

  const [r1, r2, res] = await Promise.all([h1, h2, drained]);
  assert.deepEqual([r1.status, r1.body.toString()], [200, 'finished']);
  assert.deepEqual([r2.status, r2.body], [200, 'finished']);
  session.close();
  assert.equal(res.status, 200);
  const report = (await res.json()) as { state: string; listeners: Record<string, unknown>[]; duration_ms: number };
  assert.equal(report.state, 'DRAINING');
  assert.deepEqual(report.listeners[0], {
    name: 'main',
    address: '127.0.0.1',
    port,
    active_connections_at_start: 2,
    active_requests_at_start: 2,
    forced_closed: 0,
  });
  assert.ok(Date.now() - started < 4000, 'the drain ended when the requests did, not at the timeout');
  assert.equal(await connectError(port), 'ECONNREFUSED');
  // A second drain reports the same (idempotent) and the stats stay readable.
  const again = await fetch(`${admin.url}/drain`, { method: 'POST' });
  assert.equal(again.status, 200);
  const stats = await (await fetch(`${admin.url}/stats?filter=^http\\.main\\.downstream_rq_2xx$`)).text();
  assert.equal(stats, 'http.main.downstream_rq_2xx: 2\n');
});

test('drain closes idle keep-alive connections at once instead of waiting for the timeout', async () => {
  const p = await Proxy.start(config([route('all')], [cluster('backend', [be.port], { protocol: 'http1' })]));
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  try {
    const r = await h1Request(p.port('main'), { path: '/idle', agent });
    assert.equal(r.status, 200);
    const [socket] = Object.values(agent.freeSockets).flat();
    assert.ok(socket, 'the connection is kept alive, idle');
    const closed = new Promise<void>((resolve) => socket!.once('close', () => resolve()));
    const report = await p.drain(5000);
    await closed;
    assert.equal(report.listeners[0]!.activeConnectionsAtStart, 1);
    assert.equal(report.listeners[0]!.forcedClosed, 0);
    assert.ok(report.durationMs < 2000, `drain took ${report.durationMs} ms`);
  } finally {
    agent.destroy();
    await p.close(100);
  }
});
