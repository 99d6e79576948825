import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import http2 from 'node:http2';
import crypto from 'node:crypto';
import type { Readable } from 'node:stream';
import { Proxy } from '../../src/dataplane/proxy.js';
import type * as ir from '../../src/ir/index.js';
import { Flag } from '../../src/dataplane/http/response-flags.js';
import { config, cluster, route } from '../helpers/ir.js';
import { h1Backend, h2Backend, h1Request, closedPort } from '../helpers/backends.js';
import { CollectingLog } from '../helpers/access-log.js';

const { NGHTTP2_INTERNAL_ERROR, NGHTTP2_REFUSED_STREAM } = http2.constants;

// 10 MB of random bytes served by both backends; its hash is what the client must see.
const BIG = crypto.randomBytes(10 * 1024 * 1024);
const BIG_SHA = sha256(BIG);
const CHUNK = 64 * 1024;

function sha256(b: Buffer): string {
  return crypto.createHash('sha256').update(b).digest('hex');
}

/** Backend bytes handed to the transport for the current /download, per backend. */
const sent = { h1: 0, h2: 0 };

type Echo = {
  proto: string;
  method: string;
  path: string;
  headers: Record<string, string | string[] | undefined>;
  bytes: number;
  sha256: string;
  body: string;
};

/** Reads a request body, hashing it; small bodies are echoed back as text. */
function readBody(body: Readable, cb: (bytes: number, sha: string, text: string) => void): void {
  const hash = crypto.createHash('sha256');
  let n = 0;
  const small: Buffer[] = [];
  body.on('data', (c: Buffer) => {
    hash.update(c);
    n += c.length;
    if (n <= 1024) small.push(c);
  });
  body.on('end', () => cb(n, hash.digest('hex'), n <= 1024 ? Buffer.concat(small).toString() : ''));
}

/** Writes BIG in chunks, respecting backpressure, counting what was handed over. */
function pumpBig(w: { write(c: Buffer): boolean; once(ev: 'drain', fn: () => void): unknown; end(): unknown }, which: 'h1' | 'h2'): void {
  sent[which] = 0;
  let off = 0;
  const pump = () => {
    while (off < BIG.length) {
      const c = BIG.subarray(off, off + CHUNK);
      off += c.length;
      sent[which] = off;
      if (!w.write(c)) return void w.once('drain', pump);
    }
    w.end();
  };
  pump();
}

const h1 = await h1Backend((req, res) => {
  const url = new URL(req.url ?? '/', 'http://x');
  const path = url.pathname.replace(/^\/[a-z0-9]+\//, '/');
  if (path === '/download') {
    res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': String(BIG.length) });
    pumpBig(res, 'h1');
    return;
  }
  readBody(req, (bytes, sha, body) => {
    const e: Echo = {
      proto: req.httpVersion,
      method: req.method ?? '',
      path: req.url ?? '',
      headers: req.headers,
      bytes,
      sha256: sha,
      body,
    };
    res.writeHead(200, { 'content-type': 'application/json', 'x-backend': 'h1' });
    res.end(JSON.stringify(e));
  });
});

let slowUploadStarted = 0;
const h2 = await h2Backend((stream, headers) => {
  const url = new URL(String(headers[':path'] ?? '/'), 'http://x');
  const path = url.pathname.replace(/^\/[a-z0-9]+\//, '/');
  switch (path) {
    case '/download':
      stream.respond({ ':status': 200, 'content-type': 'application/octet-stream', 'content-length': String(BIG.length) });
      pumpBig(stream, 'h2');
      return;
    case '/trailers':
      stream.respond({ ':status': 200, 'content-type': 'text/plain' }, { waitForTrailers: true });
      stream.on('wantTrailers', () => stream.sendTrailers({ 'x-checksum': 'abc', 'x-count': '2' }));
      stream.write('part1,');
      stream.end('part2');
      return;
    case '/reset-after-data':
      stream.respond({ ':status': 200, 'content-type': 'text/plain' });
      stream.write('some data before the reset');
      // stream.close(code) would end the writable side first (a clean END_STREAM, then a useless
      // RST): destroying with an error sends RST_STREAM(INTERNAL_ERROR) with the response open.
      setTimeout(() => stream.destroy(new Error('backend failure')), 50);
      return;
    case '/reset-before-headers':
      stream.close(NGHTTP2_INTERNAL_ERROR);
      return;
    case '/refuse':
      stream.close(NGHTTP2_REFUSED_STREAM);
      return;
    case '/headers-first':
      // Answers before the request ends (as a bidirectional gRPC stream does), then ends with it.
      stream.respond({ ':status': 200, 'content-type': 'text/plain' });
      stream.resume();
      stream.on('end', () => stream.end('done'));
      return;
    case '/slow-upload':
      // Reads nothing for 500 ms: the client must be held back by flow control meanwhile.
      stream.pause();
      setTimeout(() => {
        slowUploadStarted = Date.now();
        stream.resume();
        readBody(stream, (bytes, sha) => {
          stream.respond({ ':status': 200, 'content-type': 'application/json' });
          stream.end(JSON.stringify({ bytes, sha256: sha }));
        });
      }, 500);
      return;
  }
  readBody(stream, (bytes, sha, body) => {
    const e: Echo = { proto: '2.0', method: String(headers[':method']), path: String(headers[':path']), headers, bytes, sha256: sha, body };
    stream.respond({ ':status': 200, 'content-type': 'application/json', 'x-backend': 'h2' });
    stream.end(JSON.stringify(e));
  });
});

const deadPort = await closedPort();
const prefix = (name: string, p: string, c: string): ir.Route =>
  route(name, { cluster: c, match: { path: { kind: 'prefix', value: p, segmentAware: false } } });
const log = new CollectingLog();
const proxy = await Proxy.start(
  config(
    [
      prefix('to-h1', '/h1/', 'h1'),
      prefix('to-h2', '/h2/', 'h2'),
      prefix('ds-h2', '/ds/', 'ds-h2'),
      prefix('ds-h1', '/ds1/', 'ds-h1'),
      prefix('dead-h1', '/dead1/', 'dead-h1'),
      prefix('dead-h2', '/dead2/', 'dead-h2'),
    ],
    [
      cluster('h1', [h1.port], { protocol: 'http1' }),
      cluster('h2', [h2.port], { protocol: 'http2' }),
      cluster('ds-h2', [h2.port], { protocol: 'downstream' }),
      cluster('ds-h1', [h1.port], { protocol: 'downstream' }),
      cluster('dead-h1', [deadPort], { protocol: 'http1' }),
      cluster('dead-h2', [deadPort], { protocol: 'http2' }),
    ],
  ),
  { accessLog: log },
);
const port = proxy.port('main');

const sessions: http2.ClientHttp2Session[] = [];
function connect(): http2.ClientHttp2Session {
  const s = http2.connect(`http://127.0.0.1:${port}`);
  s.on('error', () => {});
  sessions.push(s);
  return s;
}

after(async () => {
  for (const s of sessions) s.destroy();
  await proxy.close(200);
  await h1.close();
  await h2.close();
});

type Result = {
  status: number;
  headers: http2.IncomingHttpHeaders;
  body: Buffer;
  trailers: http2.IncomingHttpHeaders | undefined;
  /** The response ended cleanly (END_STREAM seen). */
  ended: boolean;
  aborted: boolean;
  error: Error | undefined;
  rstCode: number | undefined;
};

/** One request on `session`; resolves when the stream closes, however it closes. */
function send(
  session: http2.ClientHttp2Session,
  headers: http2.OutgoingHttpHeaders,
  body?: Buffer | string,
  timeoutMs = 15_000,
): Promise<Result> {
  return new Promise((resolve, reject) => {
    const stream = session.request({ ':method': body === undefined ? 'GET' : 'POST', ...headers }, { endStream: body === undefined });
    const r: Result = {
      status: 0,
      headers: {},
      body: Buffer.alloc(0),
      trailers: undefined,
      ended: false,
      aborted: false,
      error: undefined,
      rstCode: undefined,
    };
    const chunks: Buffer[] = [];
    const timer = setTimeout(() => {
      stream.close();
      reject(new Error(`no answer within ${timeoutMs} ms for ${String(headers[':path'])}`));
    }, timeoutMs);
    stream.on('response', (h) => {
      r.headers = h;
      r.status = Number(h[':status']);
    });
    stream.on('trailers', (t) => (r.trailers = t));
    stream.on('data', (c: Buffer) => chunks.push(c));
    stream.on('end', () => (r.ended = true));
    stream.on('aborted', () => (r.aborted = true));
    stream.on('error', (e) => (r.error = e));
    stream.on('close', () => {
      clearTimeout(timer);
      r.body = Buffer.concat(chunks);
      r.rstCode = stream.rstCode;
      resolve(r);
    });
    if (body !== undefined) stream.end(body);
  });
}

const json = (r: Result): Echo => JSON.parse(r.body.toString()) as Echo;

test('GET and POST over h2c to an HTTP/1.1 backend', async () => {
  const s = connect();
  const get = await send(s, { ':path': '/h1/echo?x=1', ':authority': 'example.test', 'x-custom': 'v' });
  assert.equal(get.status, 200);
  const g = json(get);
  assert.equal(g.proto, '1.1');
  assert.equal(g.method, 'GET');
  assert.equal(g.path, '/h1/echo?x=1');
  assert.equal(g.headers.host, 'example.test', ':authority becomes Host');
  assert.equal(g.headers['x-custom'], 'v');
  assert.equal(g.headers['x-forwarded-proto'], 'http');
  assert.equal(get.headers['x-backend'], 'h1');
  assert.ok(get.headers['x-envoy-upstream-service-time'] !== undefined);

  const post = await send(s, { ':path': '/h1/echo', 'content-type': 'text/plain' }, 'hello body');
  assert.equal(post.status, 200);
  const p = json(post);
  assert.equal(p.method, 'POST');
  assert.equal(p.body, 'hello body');
  assert.equal(p.bytes, 10);
});

test('GET and POST over h2c to an h2c backend', async () => {
  const s = connect();
  const get = await send(s, { ':path': '/h2/echo?y=2', ':authority': 'example.test' });
  assert.equal(get.status, 200);
  const g = json(get);
  assert.equal(g.proto, '2.0');
  assert.equal(g.path, '/h2/echo?y=2');
  assert.equal(g.headers[':authority'], 'example.test');
  assert.equal(g.headers['x-forwarded-proto'], 'http');
  const post = await send(s, { ':path': '/h2/echo' }, 'posted over h2');
  assert.equal(post.status, 200);
  assert.equal(json(post).body, 'posted over h2');
  assert.equal(json(post).method, 'POST');
});

test("cluster protocol 'downstream' follows the client's protocol", async () => {
  const s = connect();
  const viaH2 = await send(s, { ':path': '/ds/echo' }, 'ds body');
  assert.equal(viaH2.status, 200);
  assert.equal(json(viaH2).proto, '2.0');
  assert.equal(json(viaH2).body, 'ds body');
  const viaH1 = await h1Request(port, { path: '/ds1/echo', method: 'POST', body: 'ds1 body' });
  assert.equal(viaH1.status, 200);
  const e = JSON.parse(viaH1.body.toString()) as Echo;
  assert.equal(e.proto, '1.1');
  assert.equal(e.body, 'ds1 body');
});

test('200 concurrent streams on one session are all answered correctly', async () => {
  const before = proxy.listener('main')!.stats.downstream_cx_total;
  const s = connect();
  const N = 200;
  const results = await Promise.all(
    Array.from({ length: N }, (_, i) => {
      const target = i % 2 === 0 ? 'h1' : 'h2';
      return i % 4 < 2 ? send(s, { ':path': `/${target}/echo?i=${i}` }) : send(s, { ':path': `/${target}/echo?i=${i}` }, `body-${i}`);
    }),
  );
  results.forEach((r, i) => {
    assert.equal(r.status, 200, `stream ${i}`);
    const e = json(r);
    assert.equal(e.path, `/${i % 2 === 0 ? 'h1' : 'h2'}/echo?i=${i}`);
    assert.equal(e.proto, i % 2 === 0 ? '1.1' : '2.0');
    assert.equal(e.body, i % 4 < 2 ? '' : `body-${i}`);
  });
  assert.equal(proxy.listener('main')!.stats.downstream_cx_total - before, 1, 'one downstream connection');
});

for (const backend of ['h1', 'h2'] as const) {
  test(`10 MB response and 10 MB request over one stream each, intact (${backend} backend)`, async () => {
    const s = connect();
    const down = await send(s, { ':path': `/${backend}/download` });
    assert.equal(down.status, 200);
    assert.equal(down.ended, true);
    assert.equal(down.body.length, BIG.length);
    assert.equal(sha256(down.body), BIG_SHA);

    const up = await send(s, { ':path': `/${backend}/upload`, 'content-type': 'application/octet-stream' }, BIG);
    assert.equal(up.status, 200);
    const e = json(up);
    assert.equal(e.bytes, BIG.length);
    assert.equal(e.sha256, BIG_SHA);
  });
}

test('flow control: a paused h2 client holds an h2 backend back, then gets every byte', async () => {
  const s = connect();
  const stream = s.request({ ':path': '/h2/download' });
  stream.on('error', () => {});
  await new Promise((r) => stream.once('response', r));
  stream.pause();
  await new Promise((r) => setTimeout(r, 500));
  const sentWhilePaused = sent.h2;
  // Windows of two HTTP/2 hops (1 MB per stream at most) plus stream buffers: far from 10 MB.
  assert.ok(sentWhilePaused < 4 * 1024 * 1024, `backend sent ${sentWhilePaused} bytes while the client was paused`);
  const chunks: Buffer[] = [];
  stream.on('data', (c: Buffer) => chunks.push(c));
  stream.resume();
  await new Promise((r) => stream.once('end', r));
  assert.equal(sha256(Buffer.concat(chunks)), BIG_SHA);
});

test('flow control: an h2 backend that does not read holds the h2 client back', async () => {
  const s = connect();
  const stream = s.request({ ':method': 'POST', ':path': '/h2/slow-upload' }, { endStream: false });
  stream.on('error', () => {});
  let flushed = 0;
  let off = 0;
  const t0 = Date.now();
  const pump = () => {
    while (off < BIG.length) {
      const c = BIG.subarray(off, off + CHUNK);
      off += c.length;
      const ok = stream.write(c, () => (flushed += c.length));
      if (!ok) return void stream.once('drain', pump);
    }
    stream.end();
  };
  pump();
  const chunks: Buffer[] = [];
  stream.on('data', (c: Buffer) => chunks.push(c));
  await new Promise((r) => setTimeout(r, 400));
  const flushedWhileBlocked = flushed;
  await new Promise((r) => stream.once('end', r));
  assert.ok(slowUploadStarted >= t0 + 400, 'backend started reading after its pause');
  assert.ok(flushedWhileBlocked < 4 * 1024 * 1024, `client flushed ${flushedWhileBlocked} bytes while the backend was not reading`);
  const e = JSON.parse(Buffer.concat(chunks).toString()) as { bytes: number; sha256: string };
  assert.equal(e.bytes, BIG.length);
  assert.equal(e.sha256, BIG_SHA);
});

test('response trailers from an h2 backend reach an h2 client that sent te: trailers', async () => {
  const s = connect();
  const r = await send(s, { ':path': '/h2/trailers', te: 'trailers' });
  assert.equal(r.status, 200);
  assert.equal(r.body.toString(), 'part1,part2');
  assert.equal(r.ended, true);
  assert.equal(r.trailers?.['x-checksum'], 'abc');
  assert.equal(r.trailers?.['x-count'], '2');
});

test('an upstream reset after headers and data resets the client stream', async () => {
  const before = log.entries.length;
  const s = connect();
  const r = await send(s, { ':path': '/h2/reset-after-data' });
  assert.equal(r.status, 200, 'headers were already forwarded');
  assert.equal(r.body.toString(), 'some data before the reset');
  assert.equal(r.ended, false, 'the truncated response must not end cleanly');
  assert.ok(r.error !== undefined || r.aborted, 'client sees an error or an abort');
  assert.ok((r.rstCode ?? 0) !== 0, `stream reset with a non-zero code, got ${r.rstCode}`);
  await log.waitFor(before + 1);
  const e = log.last();
  assert.ok((e.flags & Flag.UR) !== 0, 'flag UR');
  assert.equal(e.details, 'upstream_reset_after_response_started{remote_reset}');
});

test('an upstream reset before headers gives 503 with flag UR', async () => {
  const before = log.entries.length;
  const s = connect();
  const r = await send(s, { ':path': '/h2/reset-before-headers' });
  assert.equal(r.status, 503);
  assert.equal(r.ended, true);
  assert.match(r.body.toString(), /upstream connect error or disconnect\/reset before headers\. reset reason: remote reset/);
  await log.waitFor(before + 1);
  const e = log.last();
  assert.equal(e.status, 503);
  assert.equal(e.flags, Flag.UR);
  assert.equal(e.details, 'upstream_reset_before_response_started{remote_reset}');
});

test('an upstream REFUSED_STREAM before headers gives 503, logged as remote refused stream reset', async () => {
  const before = log.entries.length;
  const s = connect();
  const r = await send(s, { ':path': '/h2/refuse' });
  assert.equal(r.status, 503);
  assert.match(r.body.toString(), /reset reason: remote refused stream reset/);
  await log.waitFor(before + 1);
  const e = log.last();
  assert.equal(e.status, 503);
  assert.ok((e.flags & Flag.UR) !== 0, 'flag UR');
  assert.equal(e.details, 'upstream_reset_before_response_started{remote_refused_stream_reset}');
});

for (const which of ['dead1', 'dead2'] as const) {
  test(`an h2 POST to an unreachable ${which === 'dead1' ? 'HTTP/1.1' : 'HTTP/2'} cluster gets 503 UF and the exchange completes`, async () => {
    const before = log.entries.length;
    const r = await send(connect(), { ':path': `/${which}/echo` }, 'a body nobody will read');
    assert.equal(r.status, 503);
    assert.equal(r.ended, true);
    assert.match(r.body.toString(), /reset reason: remote connection failure/);
    await log.waitFor(before + 1);
    const e = log.last();
    assert.equal(e.status, 503);
    assert.equal(e.flags, Flag.UF);
  });
}

test('HTTP/1.1 and HTTP/2 are served on the same port', async () => {
  const before = log.entries.length;
  const a = await h1Request(port, { path: '/h1/echo?via=h1' });
  assert.equal(a.status, 200);
  assert.equal((JSON.parse(a.body.toString()) as Echo).path, '/h1/echo?via=h1');
  await log.waitFor(before + 1);
  assert.equal(log.last().protocol, 'HTTP/1.1');

  const b = await send(connect(), { ':path': '/h1/echo?via=h2' });
  assert.equal(b.status, 200);
  assert.equal(json(b).path, '/h1/echo?via=h2');
  await log.waitFor(before + 2);
  assert.equal(log.last().protocol, 'HTTP/2');
});

test('an HTTP/2 request over the header-count limit is reset with ENHANCE_YOUR_CALM; the reset is counted', async () => {
  const proxy = await Proxy.start(
    config([{ name: 'd', match: {}, action: { kind: 'direct', response: { status: 200, body: 'ok' } }, origin: {} }], []),
  );
  try {
    const session = http2.connect(`http://127.0.0.1:${proxy.port('main')}`);
    session.on('error', () => {});
    const headers: http2.OutgoingHttpHeaders = { ':path': '/' };
    for (let i = 0; i < 120; i++) headers[`x-h${i}`] = 'v';
    const rst = await new Promise<number | undefined>((resolve) => {
      const s = session.request(headers);
      s.on('error', () => {});
      s.resume();
      s.on('close', () => resolve(s.rstCode));
    });
    session.close();
    assert.equal(rst, http2.constants.NGHTTP2_ENHANCE_YOUR_CALM);
    const st = proxy.listener('main')!.stats;
    assert.equal(st.downstream_http2_header_overflow, 1);
    assert.ok(st.downstream_http2_tx_reset >= 1, 'the reset sent is counted');
  } finally {
    await proxy.close();
  }
});

test('a client cancelling a download is counted as a reset received', async () => {
  const st = proxy.listener('main')!.stats;
  const before = st.downstream_http2_rx_reset;
  const s = connect();
  const stream = s.request({ ':path': '/h2/download' });
  stream.on('error', () => {});
  await new Promise((r) => stream.once('response', r));
  stream.close(http2.constants.NGHTTP2_CANCEL);
  for (let i = 0; i < 200 && st.downstream_http2_rx_reset === before; i++) await new Promise((r) => setTimeout(r, 10));
  assert.equal(st.downstream_http2_rx_reset, before + 1);
});

test('upstream service time: from the end of the request to the response headers; none when the headers came first', async () => {
  const session = connect();
  const before = log.entries.length;
  const plain = await send(session, { ':path': '/h2/echo' }, 'hello');
  assert.equal(plain.status, 200);
  await log.waitFor(before + 1);
  const first = log.entries[before]!.upstreamServiceTimeMs;
  assert.ok(first !== undefined && first >= 0, `upstream service time ${first}`);
  assert.equal(plain.headers['x-envoy-upstream-service-time'], String(first));

  // The backend answers while the request is still open: Envoy then sets no service time.
  const stream = session.request({ ':method': 'POST', ':path': '/h2/headers-first' }, { endStream: false });
  const headers = await new Promise<http2.IncomingHttpHeaders>((resolve) => stream.once('response', resolve));
  assert.equal(headers[':status'], 200);
  assert.equal(headers['x-envoy-upstream-service-time'], undefined);
  await new Promise((r) => setTimeout(r, 50));
  const chunks: Buffer[] = [];
  stream.on('data', (c: Buffer) => chunks.push(c));
  stream.end('late body');
  await new Promise((r) => stream.once('close', r));
  assert.equal(Buffer.concat(chunks).toString(), 'done');
  await log.waitFor(before + 2);
  const e = log.entries[before + 1]!;
  assert.equal(e.status, 200);
  assert.equal(e.upstreamServiceTimeMs, undefined, 'not negative: the headers came before the request ended');
});
