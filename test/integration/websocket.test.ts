import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import net from 'node:net';
import type { AddressInfo } from 'node:net';
import { Proxy } from '../../src/dataplane/proxy.js';
import { config, cluster, route } from '../helpers/ir.js';
import { closedPort } from '../helpers/backends.js';

// Websocket upgrades (HTTP/1.1): routed like requests, then bytes flow both ways.

type Seen = { url: string; headers: http.IncomingHttpHeaders };
const seen: Seen[] = [];
const backend = http.createServer((req, res) => res.end(`plain ${req.headers.upgrade ?? 'none'}`));
backend.on('upgrade', (req: http.IncomingMessage, socket: net.Socket, head: Buffer) => {
  seen.push({ url: req.url!, headers: req.headers });
  socket.write('HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n');
  // An echo of raw bytes is enough: the proxy must not look at frames.
  if (head.length > 0) socket.write(head);
  socket.pipe(socket);
});
await new Promise<void>((r) => backend.listen(0, '127.0.0.1', r));
const backendPort = (backend.address() as AddressInfo).port;
after(() => new Promise<void>((r) => backend.close(() => r())));

/** Sends a raw request head (and `early` bytes right after it); resolves with everything read until `until` matches or close. */
function exchange(port: number, head: string, opts: { early?: string; then?: string; until: RegExp }): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = net.connect(port, '127.0.0.1');
    let got = '';
    let sent = false;
    const timer = setTimeout(() => {
      s.destroy();
      reject(new Error(`timed out; got ${JSON.stringify(got)}`));
    }, 5000);
    s.on('data', (d) => {
      got += d.toString('latin1');
      if (!sent && opts.then && got.includes('\r\n\r\n')) {
        sent = true;
        s.write(opts.then);
      }
      if (opts.until.test(got)) {
        clearTimeout(timer);
        s.destroy();
        resolve(got);
      }
    });
    s.on('close', () => {
      clearTimeout(timer);
      resolve(got);
    });
    s.on('error', reject);
    s.write(head + (opts.early ?? ''));
  });
}

const wsHead = (path: string, host = 'ws.example') =>
  `GET ${path} HTTP/1.1\r\nHost: ${host}\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\nx-envoy-retry-on: 5xx\r\n\r\n`;

const cfg = (port: number) =>
  config(
    [
      route('chat', {
        match: { path: { kind: 'prefix', value: '/chat', segmentAware: true } },
        requestHeaders: { set: [{ name: 'x-route', value: 'chat' }] },
        rewrite: { path: { kind: 'prefix', value: '/socket' } },
      }),
      route('old', {
        match: { path: { kind: 'exact', value: '/old' } },
        action: { kind: 'redirect', redirect: { path: { kind: 'full', value: '/chat' }, statusCode: 302 } },
      }),
    ],
    [cluster('backend', [port], { protocol: 'http1' })],
  );

test('a websocket handshake reaches the backend with edits and rewrites, then bytes flow both ways', async () => {
  const proxy = await Proxy.start(cfg(backendPort));
  try {
    seen.length = 0;
    const got = await exchange(proxy.port('main'), wsHead('/chat/room?x=1'), { early: 'first-', then: 'second', until: /first-second/ });
    assert.match(got, /^HTTP\/1\.1 101 /);
    assert.ok(got.endsWith('first-second'), got);
    const s = seen[0]!;
    assert.equal(s.url, '/socket/room?x=1');
    assert.equal(s.headers.upgrade, 'websocket');
    assert.equal(s.headers.connection, 'upgrade');
    assert.equal(s.headers.host, 'ws.example');
    assert.equal(s.headers['x-route'], 'chat');
    assert.equal(s.headers['x-forwarded-for'], '127.0.0.1');
    assert.equal(s.headers['x-envoy-retry-on'], undefined, 'control headers of untrusted clients are dropped');
    assert.ok(s.headers['x-request-id']);
    const c = proxy.cluster('backend')!;
    assert.equal(c.stats.upstream_rq_total, 1);
  } finally {
    await proxy.close(100);
  }
});

test('no route: 404; a redirect route: its Location; a backend that cannot be reached: 503', async () => {
  const dead = await closedPort();
  const proxy = await Proxy.start(cfg(dead));
  try {
    const port = proxy.port('main');
    assert.match(await exchange(port, wsHead('/nowhere'), { until: /\r\n\r\n/ }), /^HTTP\/1\.1 404 /);
    const redirect = await exchange(port, wsHead('/old'), { until: /\r\n\r\n/ });
    assert.match(redirect, /^HTTP\/1\.1 302 /);
    assert.match(redirect, /location: http:\/\/ws\.example\/chat\r\n/);
    const failed = await exchange(port, wsHead('/chat'), { until: /reset reason/ });
    assert.match(failed, /^HTTP\/1\.1 503 /);
    assert.equal(proxy.cluster('backend')!.stats.upstream_cx_connect_fail, 1);
  } finally {
    await proxy.close(100);
  }
});

test('another upgrade (curl --http2 sends Upgrade: h2c) is served as plain HTTP/1.1', async () => {
  const proxy = await Proxy.start(cfg(backendPort));
  try {
    const got = await exchange(
      proxy.port('main'),
      'GET /chat HTTP/1.1\r\nHost: x\r\nConnection: Upgrade, HTTP2-Settings\r\nUpgrade: h2c\r\nHTTP2-Settings: AAMAAABkAAQAoAAAAAIAAAAA\r\n\r\n',
      { until: /plain none$/ },
    );
    assert.match(got, /^HTTP\/1\.1 200 /);
    assert.ok(got.endsWith('plain none'), 'Upgrade is not forwarded');
  } finally {
    await proxy.close(100);
  }
});
