/**
 * Downstream (listener) settings end to end, as a ClientTrafficPolicy sets them: stream idle
 * timeout (listener default and route override), request timeout, HTTP/1.1 request headers
 * timeout, connection idle timeout for HTTP/1.1 and HTTP/2, the connection limit, and HTTP/2
 * windows and concurrent streams as SETTINGS. Timeouts are scaled down to tens of ms.
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import http2 from 'node:http2';
import net from 'node:net';
import tls from 'node:tls';
import { once } from 'node:events';
import { Proxy } from '../../src/dataplane/proxy.js';
import { Flag } from '../../src/dataplane/http/response-flags.js';
import type * as ir from '../../src/ir/index.js';
import { config, cluster, route } from '../helpers/ir.js';
import { h1Backend, h1Request } from '../helpers/backends.js';
import { CollectingLog } from '../helpers/access-log.js';
import { selfSignedCert } from '../helpers/capture.js';

const closers: (() => Promise<void>)[] = [];
after(async () => {
  for (const c of closers.reverse()) await c();
});

/** A backend that answers `/ok` at once, `/hang` never, and `/stall` with headers and one chunk only. */
const backend = await h1Backend((req, res) => {
  req.resume();
  if (req.url === '/hang') return;
  if (req.url === '/headers') {
    res.end(JSON.stringify(req.headers));
    return;
  }
  if (req.url === '/stall') {
    res.writeHead(200, { 'content-type': 'text/plain' });
    res.write('first chunk');
    return;
  }
  req.on('end', () => res.end('ok'));
});
closers.push(() => backend.close());

async function start(limits: Partial<ir.Listener['limits']>, routePatch: Partial<ir.Route> = {}, listenerPatch: Partial<ir.Listener> = {}) {
  const log = new CollectingLog();
  const base = config(
    [route('r', { timeout: { requestMs: 0, origin: {} }, ...routePatch })],
    [cluster('backend', [backend.port], { protocol: 'http1' })],
  );
  const l = base.listeners[0]!;
  base.listeners[0] = { ...l, ...listenerPatch, limits: { ...l.limits, ...limits } };
  const proxy = await Proxy.start(base, { accessLog: log });
  closers.push(() => proxy.close(100));
  const stats = proxy.statsRegistry.http('main').counters;
  return { proxy, log, port: proxy.port('main'), stats };
}

/** Opens a raw TCP connection and resolves with everything read until the proxy closes it. */
function rawExchange(port: number, send: string): Promise<{ text: string; ms: number }> {
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const s = net.connect(port, '127.0.0.1', () => s.write(send));
    let text = '';
    s.setEncoding('utf8');
    s.on('data', (d: string) => (text += d));
    s.on('close', () => resolve({ text, ms: performance.now() - started }));
    s.on('error', reject);
    setTimeout(() => s.destroy(new Error(`connection still open after 5 s; read: ${text}`)), 5000).unref();
  });
}

test('stream idle timeout: a request waiting on a silent upstream gets 504 "stream timeout" with flag SI', async () => {
  const { port, log, stats } = await start({ streamIdleTimeoutMs: 80 });
  const res = await h1Request(port, { path: '/hang' });
  assert.equal(res.status, 504);
  assert.equal(res.body.toString(), 'stream timeout');
  await log.waitFor(1);
  assert.ok(log.last().flags & Flag.SI);
  assert.equal(log.last().details, 'stream_idle_timeout');
  assert.equal(stats.downstream_rq_idle_timeout, 1);
  // Activity keeps a request alive: a fast answer is never cut.
  assert.equal((await h1Request(port, { path: '/ok' })).status, 200);
});

test("the route's idle timeout replaces the listener's; 0 on the route turns it off", async () => {
  const { port } = await start({ streamIdleTimeoutMs: 60_000 }, { timeout: { requestMs: 0, idleMs: 60, origin: {} } });
  const started = performance.now();
  assert.equal((await h1Request(port, { path: '/hang' })).status, 504);
  assert.ok(performance.now() - started < 2000);

  const off = await start({ streamIdleTimeoutMs: 50 }, { timeout: { requestMs: 300, idleMs: 0, origin: {} } });
  const r = await h1Request(off.port, { path: '/hang' });
  // Not the idle timeout (off on this route) but the route timeout.
  assert.equal(r.status, 504);
  assert.equal(r.body.toString(), 'upstream request timeout');
});

test('stream idle timeout after the response started resets the stream', async () => {
  const { port, stats } = await start({ streamIdleTimeoutMs: 80 });
  const outcome = await new Promise<{ status: number; body: string; aborted: boolean }>((resolve, reject) => {
    http
      .get({ host: '127.0.0.1', port, path: '/stall', agent: false }, (res) => {
        let body = '';
        let aborted = false;
        res.on('data', (c: Buffer) => (body += c.toString()));
        res.on('aborted', () => (aborted = true));
        res.on('error', () => (aborted = true));
        res.on('close', () => resolve({ status: res.statusCode ?? 0, body, aborted }));
      })
      .on('error', reject);
  });
  assert.deepEqual(outcome, { status: 200, body: 'first chunk', aborted: true });
  assert.equal(stats.downstream_rq_idle_timeout, 1);
});

test('request timeout: a body that does not arrive in time gets 408; a complete request is not affected', async () => {
  const { port, stats } = await start({ requestTimeoutMs: 100, streamIdleTimeoutMs: 0 });
  const res = await rawExchange(port, 'POST /ok HTTP/1.1\r\nhost: x\r\ncontent-length: 10\r\n\r\nabc');
  assert.match(res.text, /^HTTP\/1\.1 408 /);
  assert.match(res.text, /request timeout$/);
  assert.equal(stats.downstream_rq_timeout, 1);
  // Complete requests disarm it, even when the upstream then takes longer than the timeout.
  const slow = await h1Request(port, { path: '/ok', method: 'POST', body: 'full body' });
  assert.equal(slow.status, 200);
});

test('HTTP/1.1 request headers timeout: headers that do not finish in time get 408', async () => {
  const { port } = await start({ requestHeadersTimeoutMs: 150 });
  const res = await rawExchange(port, 'GET /ok HTTP/1.1\r\nhost: x\r\n');
  assert.match(res.text, /^HTTP\/1\.1 408 /);
  assert.ok(res.ms < 2000, `took ${res.ms} ms`);
});

test('connection idle timeout closes an idle HTTP/1.1 keep-alive connection and an HTTP/2 session with no streams', async () => {
  const { port, stats } = await start({ idleTimeoutMs: 100 });
  const h1 = await rawExchange(port, 'GET /ok HTTP/1.1\r\nhost: x\r\n\r\n');
  assert.match(h1.text, /^HTTP\/1\.1 200 /);
  assert.ok(h1.ms >= 90 && h1.ms < 2000, `keep-alive connection closed after ${h1.ms} ms`);

  const session = http2.connect(`http://127.0.0.1:${port}`);
  const s = session.request({ ':path': '/ok' }, { endStream: true });
  s.resume();
  await once(s, 'close');
  const t0 = performance.now();
  const [code] = (await once(session, 'goaway')) as [number];
  assert.equal(code, 0);
  assert.ok(performance.now() - t0 >= 50, 'the session is closed only after being idle');
  session.destroy();
  assert.ok(stats.downstream_cx_idle_timeout >= 2, `downstream_cx_idle_timeout = ${stats.downstream_cx_idle_timeout}`);
});

test('an HTTP/2 session with a quiet stream open is not closed by the idle timeout', async () => {
  const { port } = await start({ idleTimeoutMs: 60, streamIdleTimeoutMs: 0 });
  const session = http2.connect(`http://127.0.0.1:${port}`);
  closers.push(async () => void session.destroy());
  const s = session.request({ ':path': '/stall' }, { endStream: true });
  await once(s, 'response');
  let goaway = false;
  session.on('goaway', () => (goaway = true));
  await new Promise((r) => setTimeout(r, 250));
  assert.equal(goaway, false);
  s.close();
});

test('connection limit: connections beyond it are closed as they arrive and counted', async () => {
  const { port, proxy } = await start({ maxConnections: 2 });
  const open = await Promise.all(
    [0, 1].map(
      () =>
        new Promise<net.Socket>((r) => {
          const s = net.connect(port, '127.0.0.1', () => r(s));
        }),
    ),
  );
  const third = await new Promise<string>((resolve) => {
    const s = net.connect(port, '127.0.0.1', () => s.write('GET /ok HTTP/1.1\r\nhost: x\r\n\r\n'));
    let text = '';
    s.on('data', (d: Buffer) => (text += d.toString()));
    s.on('error', () => {}); // a reset is as good as a close here
    s.on('close', () => resolve(text));
  });
  assert.equal(third, '', 'the connection over the limit is closed without an answer');
  const l = proxy.listener('main')!;
  assert.equal(l.stats.downstream_cx_overflow, 1);
  for (const s of open) s.destroy();
  await new Promise((r) => setTimeout(r, 50));
  assert.equal((await h1Request(port, { path: '/ok' })).status, 200);
});

test('HTTP/2 SETTINGS carry the configured stream window and concurrent streams; the connection window is raised', async () => {
  const { port } = await start({ h2InitialStreamWindowSize: 200_000, h2InitialConnectionWindowSize: 3_000_000, maxConcurrentStreams: 7 });
  const session = http2.connect(`http://127.0.0.1:${port}`);
  closers.push(async () => void session.destroy());
  await once(session, 'remoteSettings');
  assert.equal(session.remoteSettings.initialWindowSize, 200_000);
  assert.equal(session.remoteSettings.maxConcurrentStreams, 7);
  // The connection window is a WINDOW_UPDATE: send more than 65535 bytes on one stream before reading.
  const big = Buffer.alloc(150_000, 1);
  const s = session.request({ ':path': '/ok', ':method': 'POST' });
  s.end(big);
  const [h] = (await once(s, 'response')) as [http2.IncomingHttpHeaders];
  s.resume();
  assert.equal(h[':status'], 200);
  assert.ok(session.state.remoteWindowSize! > 65_535, `remote window ${session.state.remoteWindowSize}`);
});

test('headers with underscores: rejected with 400, or dropped before the upstream', async () => {
  const reject = await start({}, {}, { headersWithUnderscores: 'reject' });
  const r = await h1Request(reject.port, { path: '/headers', headers: { x_custom: '1' } });
  assert.equal(r.status, 400);
  assert.equal(reject.stats.requests_rejected_with_underscores_in_headers, 1);
  assert.equal((await h1Request(reject.port, { path: '/headers', headers: { 'x-custom': '1' } })).status, 200);

  const drop = await start({}, {}, { headersWithUnderscores: 'drop' });
  const d = await h1Request(drop.port, { path: '/headers', headers: { x_custom: '1', 'x-kept': '2' } });
  assert.equal(d.status, 200);
  const seen = JSON.parse(d.body.toString()) as Record<string, string>;
  assert.equal(seen['x_custom'], undefined);
  assert.equal(seen['x-kept'], '2');
  assert.equal(drop.stats.dropped_headers_with_underscores, 1);
});

test('the health check path is answered by legate; other paths are routed', async () => {
  const { port } = await start({}, {}, { healthCheckPath: '/healthz' });
  const h = await h1Request(port, { path: '/healthz?probe=1' });
  assert.equal(h.status, 200);
  assert.equal(h.body.length, 0);
  assert.equal((await h1Request(port, { path: '/ok' })).body.toString(), 'ok');
});

test('without request id generation a request without x-request-id reaches the upstream without one', async () => {
  const { port } = await start({}, {}, { generateRequestId: false });
  const none = JSON.parse((await h1Request(port, { path: '/headers' })).body.toString()) as Record<string, string>;
  assert.equal(none['x-request-id'], undefined);
  const kept = JSON.parse((await h1Request(port, { path: '/headers', headers: { 'x-request-id': 'abc' } })).body.toString()) as Record<
    string,
    string
  >;
  assert.equal(kept['x-request-id'], 'abc');
});

test('HTTP/2 keepalive: legate PINGs an idle client on the interval', async () => {
  const { port } = await start({ h2Keepalive: { intervalMs: 50, timeoutMs: 1000, jitterPercent: 0 } });
  const session = http2.connect(`http://127.0.0.1:${port}`);
  closers.push(async () => void session.destroy());
  let pings = 0;
  session.on('ping', () => pings++);
  await new Promise((r) => setTimeout(r, 400));
  assert.ok(pings >= 2, `${pings} PINGs in 400 ms`);
  assert.equal(session.closed, false, 'answered PINGs keep the connection');
});

test('TLS minimum version: a client limited to TLS 1.2 cannot connect to a TLS 1.3-only listener', async () => {
  const cert = selfSignedCert();
  closers.push(async () => cert.cleanup());
  const { port } = await start({}, {}, { tls: { cert: cert.cert, key: cert.key, minVersion: 'TLSv1.3' } });
  const attempt = (maxVersion: tls.SecureVersion) =>
    new Promise<string>((resolve) => {
      const s = tls.connect({ host: '127.0.0.1', port, rejectUnauthorized: false, maxVersion, ALPNProtocols: ['http/1.1'] }, () => {
        resolve(s.getProtocol() ?? 'unknown');
        s.destroy();
      });
      s.on('error', (e) => resolve(`error: ${e.message}`));
    });
  assert.equal(await attempt('TLSv1.3'), 'TLSv1.3');
  assert.match(await attempt('TLSv1.2'), /^error/);
});

test('any local reply sent before an HTTP/1.1 request body has arrived closes the connection', async () => {
  // The health check path answers without routing: a reply the request path never sees.
  const { port } = await start({}, {}, { healthCheckPath: '/healthz' });
  const res = await rawExchange(port, 'POST /healthz HTTP/1.1\r\nhost: x\r\ncontent-length: 10\r\n\r\nabc');
  assert.match(res.text, /^HTTP\/1\.1 200 /);
  assert.match(res.text, /connection: close/i);
});
