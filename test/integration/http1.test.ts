import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import net from 'node:net';
import crypto from 'node:crypto';
import { Proxy } from '../../src/dataplane/proxy.js';
import { config, cluster, route } from '../helpers/ir.js';
import { h1Backend, h1Request } from '../helpers/backends.js';
import { CollectingLog } from '../helpers/access-log.js';

// One backend that behaves according to the path, and one proxy in front of it.
let downloadSent = 0;
const backend = await h1Backend((req, res) => {
  const url = new URL(req.url ?? '/', 'http://x');
  switch (url.pathname) {
    case '/echo': {
      const hash = crypto.createHash('sha256');
      let n = 0;
      req.on('data', (c: Buffer) => {
        hash.update(c);
        n += c.length;
      });
      req.on('end', () => {
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ method: req.method, url: req.url, headers: req.headers, bytes: n, sha256: hash.digest('hex') }));
      });
      return;
    }
    case '/download': {
      const size = Number(url.searchParams.get('bytes'));
      downloadSent = 0;
      res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': String(size) });
      const chunk = Buffer.alloc(64 * 1024, 7);
      let sent = 0;
      const pump = () => {
        while (sent < size) {
          const n = Math.min(chunk.length, size - sent);
          sent += n;
          downloadSent = sent;
          if (!res.write(n === chunk.length ? chunk : chunk.subarray(0, n))) return void res.once('drain', pump);
        }
        res.end();
      };
      pump();
      return;
    }
    case '/chunked':
      res.writeHead(200, { 'content-type': 'text/plain' });
      res.write('one,');
      setTimeout(() => res.end('two'), 10);
      return;
    case '/trailers':
      res.writeHead(200, { 'content-type': 'text/plain', trailer: 'x-checksum' });
      res.write('data');
      res.addTrailers({ 'x-checksum': 'abc' });
      res.end();
      return;
    case '/no-content':
      res.writeHead(204, { 'x-kind': 'empty' });
      res.end();
      return;
    case '/not-modified':
      res.writeHead(304, { etag: '"v1"' });
      res.end();
      return;
    case '/hop':
      res.writeHead(200, { connection: 'x-private', 'x-private': 'secret', 'keep-alive': 'timeout=5', 'content-length': '2' });
      res.end('ok');
      return;
    default:
      res.writeHead(200, { 'content-type': 'text/plain', 'content-length': '5' });
      res.end('hello');
  }
});

const log = new CollectingLog();
const proxy = await Proxy.start(config([route('all')], [cluster('backend', [backend.port], { protocol: 'http1' })]), { accessLog: log });
const port = proxy.port('main');

after(async () => {
  await proxy.close();
  await backend.close();
});

test('forwards a GET and logs it in the access log', async () => {
  const before = log.entries.length;
  const res = await h1Request(port, { path: '/hello', headers: { 'user-agent': 'legate-test' } });
  assert.equal(res.status, 200);
  assert.equal(res.body.toString(), 'hello');
  assert.ok(res.headers['x-envoy-upstream-service-time'] !== undefined);
  await log.waitFor(before + 1);
  const e = log.last();
  assert.equal(e.status, 200);
  assert.equal(e.flags, 0);
  assert.equal(e.upstreamHost, `127.0.0.1:${backend.port}`);
  assert.equal(e.upstreamCluster, 'backend');
  assert.equal(e.route, 'all');
  assert.equal(e.attempts, 1);
  assert.equal(e.userAgent, 'legate-test');
});

test('sets x-forwarded-for, x-forwarded-proto and a UUIDv4 x-request-id; keeps an incoming id', async () => {
  const a = JSON.parse((await h1Request(port, { path: '/echo' })).body.toString());
  assert.equal(a.headers['x-forwarded-for'], '127.0.0.1');
  assert.equal(a.headers['x-forwarded-proto'], 'http');
  assert.match(a.headers['x-request-id'], /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
  assert.equal(a.headers['x-envoy-expected-rq-timeout-ms'], '15000');
  const b = JSON.parse(
    (await h1Request(port, { path: '/echo', headers: { 'x-request-id': 'abc-123', 'x-forwarded-for': '10.0.0.1' } })).body.toString(),
  );
  assert.equal(b.headers['x-request-id'], 'abc-123');
  assert.equal(b.headers['x-forwarded-for'], '10.0.0.1, 127.0.0.1');
});

test('strips x-envoy control headers from untrusted clients and hop-by-hop headers both ways', async () => {
  const res = await h1Request(port, {
    path: '/echo',
    headers: {
      'x-envoy-max-retries': '10',
      'x-envoy-upstream-rq-timeout-ms': '1',
      'x-envoy-fault-abort-request': '503',
      'keep-alive': 'timeout=1',
      'x-custom': 'kept',
    },
  });
  const seen = JSON.parse(res.body.toString()).headers;
  assert.equal(seen['x-envoy-max-retries'], undefined);
  assert.equal(seen['x-envoy-upstream-rq-timeout-ms'], undefined);
  assert.equal(seen['x-envoy-fault-abort-request'], '503', 'fault headers are not stripped, as in Envoy');
  assert.equal(seen['keep-alive'], undefined);
  assert.equal(seen['x-custom'], 'kept');
  const hop = await h1Request(port, { path: '/hop' });
  assert.equal(hop.headers['keep-alive'], undefined);
  assert.equal(hop.body.toString(), 'ok');
});

test('keeps connections alive and answers pipelined requests in order', async () => {
  const sock = net.connect(port, '127.0.0.1');
  await new Promise((r) => sock.once('connect', r));
  let data = '';
  sock.on('data', (c) => (data += c.toString()));
  sock.write('GET /echo?n=1 HTTP/1.1\r\nhost: a\r\n\r\nGET /echo?n=2 HTTP/1.1\r\nhost: a\r\n\r\nGET /echo?n=3 HTTP/1.1\r\nhost: a\r\n\r\n');
  const deadline = Date.now() + 5000;
  while ((data.match(/HTTP\/1\.1 200/g) ?? []).length < 3 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
  sock.destroy();
  const order = [...data.matchAll(/"url":"\/echo\?n=(\d)"/g)].map((m) => m[1]);
  assert.deepEqual(order, ['1', '2', '3']);

  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  const ports = new Set<number>();
  for (let i = 0; i < 5; i++) {
    await new Promise<void>((resolve, reject) => {
      http
        .get({ host: '127.0.0.1', port, path: '/', agent }, (res) => {
          ports.add(res.socket.localPort!);
          res.resume();
          res.on('end', resolve);
        })
        .on('error', reject);
    });
  }
  agent.destroy();
  assert.equal(ports.size, 1, 'five requests on one kept-alive connection');
});

test('streams chunked responses and forwards trailers', async () => {
  const res = await h1Request(port, { path: '/chunked' });
  assert.equal(res.body.toString(), 'one,two');
  assert.equal(res.headers['transfer-encoding'], 'chunked');
  const t = await h1Request(port, { path: '/trailers' });
  assert.equal(t.body.toString(), 'data');
  assert.equal(t.trailers['x-checksum'], 'abc');
});

test('HEAD, 204 and 304 carry no body', async () => {
  const head = await h1Request(port, { path: '/', method: 'HEAD' });
  assert.equal(head.status, 200);
  assert.equal(head.headers['content-length'], '5');
  assert.equal(head.body.length, 0);
  const nc = await h1Request(port, { path: '/no-content' });
  assert.equal(nc.status, 204);
  assert.equal(nc.headers['x-kind'], 'empty');
  assert.equal(nc.body.length, 0);
  const nm = await h1Request(port, { path: '/not-modified' });
  assert.equal(nm.status, 304);
  assert.equal(nm.headers.etag, '"v1"');
});

test('Expect: 100-continue gets 100 Continue and the body goes through', async () => {
  const got = await new Promise<{ continued: boolean; body: string }>((resolve, reject) => {
    let continued = false;
    const req = http.request({
      host: '127.0.0.1',
      port,
      path: '/echo',
      method: 'POST',
      agent: false,
      headers: { expect: '100-continue', 'content-length': '5' },
    });
    req.on('continue', () => {
      continued = true;
      req.end('12345');
    });
    req.on('response', (res) => {
      let body = '';
      res.on('data', (c) => (body += c));
      res.on('end', () => resolve({ continued, body }));
    });
    req.on('error', reject);
  });
  assert.ok(got.continued);
  assert.equal(JSON.parse(got.body).bytes, 5);
});

test('10 MB upload and download stream through intact', async () => {
  const size = 10 * 1024 * 1024;
  const chunk = crypto.randomBytes(256 * 1024);
  const expected = crypto.createHash('sha256');
  for (let i = 0; i < size / chunk.length; i++) expected.update(chunk);
  // Upload: chunked request body written with backpressure.
  const up = await new Promise<string>((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, path: '/echo', method: 'POST', agent: false }, (res) => {
      let body = '';
      res.on('data', (c) => (body += c));
      res.on('end', () => resolve(body));
    });
    req.on('error', reject);
    let i = 0;
    const write = () => {
      while (i < size / chunk.length) {
        i++;
        if (!req.write(chunk)) return void req.once('drain', write);
      }
      req.end();
    };
    write();
  });
  const parsed = JSON.parse(up);
  assert.equal(parsed.bytes, size);
  assert.equal(parsed.sha256, expected.digest('hex'));
  // Download 10 MB and check every byte arrives.
  let received = 0;
  await new Promise<void>((resolve, reject) => {
    http
      .get({ host: '127.0.0.1', port, path: `/download?bytes=${size}`, agent: false }, (res) => {
        res.on('data', (c: Buffer) => (received += c.length));
        res.on('end', resolve);
      })
      .on('error', reject);
  });
  assert.equal(received, size);
});

test('a paused client holds the backend back (backpressure, no buffering of whole bodies)', async () => {
  const size = 64 * 1024 * 1024;
  const sentWhilePaused = await new Promise<number>((resolve, reject) => {
    http
      .get({ host: '127.0.0.1', port, path: `/download?bytes=${size}`, agent: false }, (res) => {
        let got = 0;
        res.on('data', (c: Buffer) => {
          got += c.length;
          if (got >= 1024 * 1024 && !res.isPaused()) {
            res.pause();
            setTimeout(() => {
              const sent = downloadSent;
              res.destroy();
              resolve(sent);
            }, 500);
          }
        });
        res.on('error', () => {});
      })
      .on('error', reject);
  });
  // Kernel socket buffers on two hops plus stream buffers hold a few MB; not 64.
  assert.ok(sentWhilePaused < 24 * 1024 * 1024, `backend sent ${sentWhilePaused} bytes while the client was paused`);
});

test('over-limit request headers get 431 and the connection keeps serving others', async () => {
  const many: Record<string, string> = {};
  for (let i = 0; i < 101; i++) many[`x-h${i}`] = 'v';
  const count = await h1Request(port, { path: '/', headers: many });
  assert.equal(count.status, 431);
  const big = await h1Request(port, { path: '/', headers: { 'x-big': 'a'.repeat(61 * 1024) } });
  assert.equal(big.status, 431);
  const fine = await h1Request(port, { path: '/', headers: { 'x-small': 'a'.repeat(1024) } });
  assert.equal(fine.status, 200);
});
