import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import https from 'node:https';
import net from 'node:net';
import fs from 'node:fs';
import { Readable } from 'node:stream';
import { H1Pool, type H1PoolOptions } from './h1-pool.js';
import { Limit, RetryResource, type ClusterResources } from './resource-manager.js';
import type { AttemptHandle, AttemptSink, UpstreamRequest } from './attempt-sink.js';
import type { UpstreamResetError } from './reset-reason.js';
import { selfSignedCert } from '../../../test/helpers/cert.js';
import { zeroPoolStats } from '../../../test/helpers/hosts.js';

// The HTTP/1.1 upstream client (h1-client.ts) through its pool, against real sockets on loopback:
// node:http servers, and raw net servers that answer with exactly the bytes a case needs.

type Outcome = {
  poolReady: boolean;
  status: number;
  headers: string[];
  body: Buffer;
  trailers: string[] | null;
  reset: UpstreamResetError | null;
};

/** An AttemptSink that records everything; `done` resolves at the end or the reset. */
class Recorder implements AttemptSink {
  readonly out: Outcome = { poolReady: false, status: 0, headers: [], body: Buffer.alloc(0), trailers: null, reset: null };
  events = 0;
  readonly chunks: Buffer[] = [];
  /** Return value of onResponseData (false asks for a pause). */
  accept = true;
  onChunk: ((c: Buffer) => void) | null = null;
  readonly done: Promise<Outcome>;
  #resolve!: (o: Outcome) => void;
  constructor() {
    this.done = new Promise((r) => (this.#resolve = r));
  }
  onPoolReady(): void {
    this.out.poolReady = true;
  }
  onResponseHeaders(status: number, headers: string[]): void {
    this.events++;
    this.out.status = status;
    this.out.headers = headers;
  }
  onResponseData(chunk: Buffer): boolean {
    this.events++;
    this.chunks.push(chunk);
    this.onChunk?.(chunk);
    return this.accept;
  }
  onResponseEnd(trailers: string[] | null): void {
    this.events++;
    this.out.trailers = trailers;
    this.out.body = Buffer.concat(this.chunks);
    this.#resolve(this.out);
  }
  onReset(err: UpstreamResetError): void {
    this.events++;
    this.out.reset = err;
    this.out.body = Buffer.concat(this.chunks);
    this.#resolve(this.out);
  }
}

const stats = zeroPoolStats;

function resources(limits: { connections?: number; pending?: number; requests?: number } = {}): ClusterResources {
  return {
    connections: new Limit(limits.connections ?? 100),
    pending: new Limit(limits.pending ?? 100),
    requests: new Limit(limits.requests ?? 100),
    retries: new RetryResource(3, undefined, () => 0),
  };
}

const pools: H1Pool[] = [];
function pool(port: number, opts: Partial<H1PoolOptions> = {}): H1Pool {
  const p = new H1Pool({
    host: '127.0.0.1',
    port,
    connectTimeoutMs: 1000,
    idleTimeoutMs: 0,
    maxRequestsPerConnection: 0,
    resources: resources(),
    stats: stats(),
    ...opts,
  });
  pools.push(p);
  return p;
}

function get(path = '/', headers: Record<string, string | string[]> = {}, method = 'GET', body: Readable | null = null): UpstreamRequest {
  return { method, path, authority: 'example.test', scheme: 'http', headers: { host: 'example.test', ...headers }, body };
}

function send(p: H1Pool, req: UpstreamRequest): { rec: Recorder; handle: AttemptHandle } {
  const rec = new Recorder();
  const handle = p.request(req, rec);
  return { rec, handle };
}

function header(o: Outcome, name: string): string | undefined {
  const i = o.headers.indexOf(name);
  return i >= 0 && i % 2 === 0 ? o.headers[i + 1] : undefined;
}

const closers: (() => Promise<void>)[] = [];
after(async () => {
  for (const p of pools) p.destroy();
  for (const c of closers) await c();
});

/** A node:http backend; counts connections; `handler` answers. */
async function httpServer(handler: http.RequestListener): Promise<{ port: number; connections: () => number; sockets: Set<net.Socket> }> {
  const server = http.createServer({ keepAliveTimeout: 60_000 }, handler);
  const sockets = new Set<net.Socket>();
  let count = 0;
  server.on('connection', (s) => {
    count++;
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  closers.push(async () => {
    for (const s of sockets) s.destroy();
    await new Promise<void>((r) => server.close(() => r()));
  });
  return { port: (server.address() as net.AddressInfo).port, connections: () => count, sockets };
}

/**
 * A raw backend: `onRequest(socket, head, n)` is called for each request head received (the
 * bytes up to the blank line, and any body bytes in `rest`), n counting from 0 per connection.
 */
async function rawServer(
  onRequest: (socket: net.Socket, head: string, n: number, rest: Buffer) => void,
): Promise<{ port: number; connections: () => number; closed: () => number; writes: string[] }> {
  let count = 0;
  let closed = 0;
  const writes: string[] = [];
  const sockets = new Set<net.Socket>();
  const server = net.createServer((s) => {
    count++;
    sockets.add(s);
    s.on('close', () => {
      closed++;
      sockets.delete(s);
    });
    s.on('error', () => {});
    let buf = '';
    let n = 0;
    s.on('data', (d: Buffer) => {
      writes.push(d.toString('latin1'));
      buf += d.toString('latin1');
      let i: number;
      while ((i = buf.indexOf('\r\n\r\n')) >= 0) {
        const head = buf.slice(0, i + 4);
        const rest = Buffer.from(buf.slice(i + 4), 'latin1');
        buf = '';
        onRequest(s, head, n++, rest);
      }
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  closers.push(async () => {
    for (const s of sockets) s.destroy();
    await new Promise<void>((r) => server.close(() => r()));
  });
  return { port: (server.address() as net.AddressInfo).port, connections: () => count, closed: () => closed, writes };
}

const OK = 'HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok';
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
async function until(cond: () => boolean, ms = 2000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error('condition not met in time');
    await sleep(5);
  }
}

test('a GET goes out as one write, head in order; the response comes back with lower-case names and no hop-by-hop headers', async () => {
  const srv = await rawServer((s) =>
    s.write(
      'HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nConnection: keep-alive\r\nKeep-Alive: timeout=30\r\nContent-Length: 5\r\n\r\nhello',
    ),
  );
  const p = pool(srv.port);
  const { rec } = send(p, get('/a?b=1', { 'x-one': '1', 'x-many': ['a', 'b'] }));
  const o = await rec.done;
  assert.equal(o.reset, null);
  assert.ok(o.poolReady);
  assert.equal(o.status, 200);
  assert.deepEqual(o.headers, ['content-type', 'text/plain', 'content-length', '5']);
  assert.equal(o.body.toString(), 'hello');
  assert.equal(o.trailers, null);
  assert.equal(srv.writes.length, 1);
  assert.equal(
    srv.writes[0],
    'GET /a?b=1 HTTP/1.1\r\nhost: example.test\r\nconnection: keep-alive\r\nx-one: 1\r\nx-many: a\r\nx-many: b\r\n\r\n',
  );
  await until(() => p.idleConnections === 1);
});

test('keep-alive: sequential requests share one connection', async () => {
  const srv = await httpServer((_req, res) => res.end('ok'));
  const p = pool(srv.port);
  for (let i = 0; i < 5; i++) {
    const o = await send(p, get()).rec.done;
    assert.equal(o.status, 200);
    assert.equal(o.body.toString(), 'ok');
  }
  assert.equal(srv.connections(), 1);
  assert.equal(p.connections, 1);
});

test('a POST body with content-length goes out with the head in one write; a stream without one is chunked', async () => {
  const seen: { headers: http.IncomingHttpHeaders; body: string }[] = [];
  const srv = await httpServer((req, res) => {
    const parts: Buffer[] = [];
    req.on('data', (c: Buffer) => parts.push(c));
    req.on('end', () => {
      seen.push({ headers: req.headers, body: Buffer.concat(parts).toString() });
      res.end('ok');
    });
  });
  const p = pool(srv.port);
  const a = await send(p, get('/', { 'content-length': '5' }, 'POST', Readable.from([Buffer.from('hel'), Buffer.from('lo')]))).rec.done;
  assert.equal(a.status, 200);
  assert.equal(seen[0]!.headers['content-length'], '5');
  assert.equal(seen[0]!.headers['transfer-encoding'], undefined);
  assert.equal(seen[0]!.body, 'hello');
  const b = await send(p, get('/', {}, 'POST', Readable.from([Buffer.from('chunk'), Buffer.from('ed')]))).rec.done;
  assert.equal(b.status, 200);
  assert.equal(seen[1]!.headers['transfer-encoding'], 'chunked');
  assert.equal(seen[1]!.body, 'chunked');
  // No body: a POST says content-length: 0, a GET says nothing.
  await send(p, get('/', {}, 'POST')).rec.done;
  assert.equal(seen[2]!.headers['content-length'], '0');
  await send(p, get('/', { 'content-length': '0' })).rec.done;
  assert.equal(seen[3]!.headers['content-length'], undefined);
  assert.equal(srv.connections(), 1);
});

test('a body already complete (a replayed retry) is sent with its length, head and body in one write', async () => {
  const srv = await rawServer((s) => s.write(OK));
  const p = pool(srv.port);
  const body = new Readable({ read() {} });
  body.push(Buffer.from('abc'));
  body.push(null);
  const o = await send(p, get('/', {}, 'PUT', body)).rec.done;
  assert.equal(o.status, 200);
  assert.equal(srv.writes.length, 1);
  assert.match(srv.writes[0]!, /^PUT \/ HTTP\/1\.1\r\n[\s\S]*content-length: 3\r\n\r\nabc$/);
});

test('strict content-length on requests: a body longer or shorter than declared is a local reset', async () => {
  const srv = await rawServer(() => {});
  const p = pool(srv.port);
  const long = await send(p, get('/', { 'content-length': '2' }, 'POST', Readable.from([Buffer.from('abc')]))).rec.done;
  assert.equal(long.reset?.reason, 'local reset');
  const short = await send(p, get('/', { 'content-length': '5' }, 'POST', Readable.from([Buffer.from('abc')]))).rec.done;
  assert.equal(short.reset?.reason, 'local reset');
  await until(() => p.connections === 0);
});

test('strict content-length on responses: cut short by a close is a protocol error (Connection: close) or a connection termination', async () => {
  const a = await rawServer((s) => s.end('HTTP/1.1 200 OK\r\nconnection: close\r\ncontent-length: 10\r\n\r\nabc'));
  const o1 = await send(pool(a.port), get()).rec.done;
  assert.equal(o1.status, 200);
  assert.equal(o1.reset?.reason, 'protocol error');
  const b = await rawServer((s) => s.end('HTTP/1.1 200 OK\r\ncontent-length: 10\r\n\r\nabc'));
  const o2 = await send(pool(b.port), get()).rec.done;
  assert.equal(o2.reset?.reason, 'connection termination');
  // A body that runs until the connection closes is complete when it does.
  const c = await rawServer((s) => s.end('HTTP/1.1 200 OK\r\nconnection: close\r\n\r\nuntil eof'));
  const o3 = await send(pool(c.port), get()).rec.done;
  assert.equal(o3.reset, null);
  assert.equal(o3.body.toString(), 'until eof');
});

test('1xx responses are skipped', async () => {
  const srv = await rawServer((s) =>
    s.write('HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 103 Early Hints\r\nlink: </a.css>; rel=preload\r\n\r\n' + OK),
  );
  const o = await send(pool(srv.port), get()).rec.done;
  assert.equal(o.reset, null);
  assert.equal(o.status, 200);
  assert.deepEqual(o.headers, ['content-length', '2']);
  assert.equal(o.body.toString(), 'ok');
});

test('HEAD, 204 and 304 have no body, and the connection is reused after each', async () => {
  const srv = await httpServer((req, res) => {
    if (req.url === '/204') {
      res.writeHead(204);
      res.end();
    } else if (req.url === '/304') {
      res.writeHead(304, { etag: '"x"' });
      res.end();
    } else {
      res.writeHead(200, { 'content-length': '11' });
      res.end(req.method === 'HEAD' ? undefined : 'hello world');
    }
  });
  const p = pool(srv.port);
  const head = await send(p, get('/', {}, 'HEAD')).rec.done;
  assert.equal(head.status, 200);
  assert.equal(head.body.length, 0);
  assert.equal(head.reset, null);
  const n204 = await send(p, get('/204')).rec.done;
  assert.equal(n204.status, 204);
  assert.equal(n204.body.length, 0);
  const n304 = await send(p, get('/304')).rec.done;
  assert.equal(n304.status, 304);
  assert.equal(n304.body.length, 0);
  const full = await send(p, get('/')).rec.done;
  assert.equal(full.body.toString(), 'hello world');
  assert.equal(srv.connections(), 1);
});

test('trailers of a chunked response are passed on with lower-case names', async () => {
  const srv = await httpServer((_req, res) => {
    res.writeHead(200, { trailer: 'X-Checksum' });
    res.write('part1,');
    res.write('part2');
    res.addTrailers({ 'X-Checksum': 'abc' });
    res.end();
  });
  const o = await send(pool(srv.port), get()).rec.done;
  assert.equal(o.body.toString(), 'part1,part2');
  assert.deepEqual(o.trailers, ['x-checksum', 'abc']);
  assert.equal(header(o, 'transfer-encoding'), undefined);
});

test('Connection: close from the upstream closes the connection after the response; the next request opens another', async () => {
  const srv = await rawServer((s) => s.write('HTTP/1.1 200 OK\r\nconnection: close\r\ncontent-length: 2\r\n\r\nok'));
  const p = pool(srv.port);
  const a = await send(p, get()).rec.done;
  assert.equal(a.body.toString(), 'ok');
  assert.equal(a.reset, null);
  await until(() => p.connections === 0);
  await send(p, get()).rec.done;
  assert.equal(srv.connections(), 2);
});

test('backpressure: onResponseData returning false pauses reading until resume()', async () => {
  const chunk = Buffer.alloc(64 * 1024, 'x');
  let written = 0;
  let res!: http.ServerResponse;
  const srv = await httpServer((_req, r) => {
    res = r;
    const pump = () => {
      while (written < 32 * 1024 * 1024) {
        written += chunk.length;
        if (!r.write(chunk)) return void r.once('drain', pump);
      }
      r.end();
    };
    pump();
  });
  const p = pool(srv.port);
  const { rec, handle } = send(p, get());
  rec.accept = false;
  await until(() => rec.chunks.length > 0);
  await sleep(200);
  const heldAt = written;
  const got = rec.chunks.length;
  await sleep(200);
  // Paused: the server is stuck on a full socket, well short of the 32 MiB.
  assert.equal(written, heldAt);
  assert.ok(written < 32 * 1024 * 1024);
  assert.ok(rec.chunks.length <= got + 1);
  rec.accept = true;
  handle.resume();
  const o = await rec.done;
  assert.equal(o.body.length, 32 * 1024 * 1024);
  assert.ok(res.writableFinished);
});

test('parser errors are protocol errors, and the connection is discarded', async () => {
  const srv = await rawServer((s) => s.write('HTTP/1.1 2x0 Nope\r\n\r\n'));
  const p = pool(srv.port);
  const o = await send(p, get()).rec.done;
  assert.equal(o.reset?.reason, 'protocol error');
  await until(() => p.connections === 0);
  const dup = await rawServer((s) => s.write('HTTP/1.1 200 OK\r\ncontent-length: 2\r\ncontent-length: 3\r\n\r\nok'));
  assert.equal((await send(pool(dup.port), get()).rec.done).reset?.reason, 'protocol error');
  // Bytes after a complete response are not taken as the next response.
  const extra = await rawServer((s) => s.write(OK + 'HTTP/1.1 200 OK\r\ncontent-length: 5\r\n\r\nextra'));
  const pe = pool(extra.port);
  const first = await send(pe, get()).rec.done;
  assert.equal(first.body.toString(), 'ok');
  await until(() => pe.connections === 0);
});

test('a connection lost before or during the response is a connection termination; a refused one a connect failure', async () => {
  const before = await rawServer((s) => s.destroy());
  assert.equal((await send(pool(before.port), get()).rec.done).reset?.reason, 'connection termination');
  const during = await rawServer((s) => {
    s.write('HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n5\r\nhello\r\n');
    setTimeout(() => s.destroy(), 20);
  });
  const o = await send(pool(during.port), get()).rec.done;
  assert.equal(o.status, 200);
  assert.equal(o.body.toString(), 'hello');
  assert.equal(o.reset?.reason, 'connection termination');
  // A port nobody listens on.
  const free = net.createServer();
  await new Promise<void>((r) => free.listen(0, '127.0.0.1', r));
  const port = (free.address() as net.AddressInfo).port;
  await new Promise<void>((r) => free.close(() => r()));
  const p = pool(port);
  const refused = await send(p, get()).rec.done;
  assert.equal(refused.reset?.reason, 'remote connection failure');
  assert.equal(refused.poolReady, false);
  assert.equal(p.connections, 0);
});

test('an idle connection the upstream closes, or that receives unsolicited bytes, leaves the pool', async () => {
  const srv = await rawServer((s, _h, n) => {
    s.write(OK);
    if (n === 0) setTimeout(() => s.write('HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n'), 30);
  });
  const p = pool(srv.port);
  await send(p, get()).rec.done;
  await until(() => p.connections === 0);
  const closer = await rawServer((s) => s.end(OK));
  const p2 = pool(closer.port);
  await send(p2, get()).rec.done;
  await until(() => p2.connections === 0);
});

test('cancel is a local reset: no further events, and the connection is closed', async () => {
  const srv = await rawServer((s) => s.write('HTTP/1.1 200 OK\r\ncontent-length: 100\r\n\r\npartial'));
  const p = pool(srv.port);
  const { rec, handle } = send(p, get());
  await until(() => rec.chunks.length > 0);
  const events = rec.events;
  handle.cancel();
  await until(() => srv.closed() === 1);
  assert.equal(rec.events, events);
  assert.equal(p.connections, 0);
  // Cancelled while still connecting.
  const { rec: r2, handle: h2 } = send(p, get());
  h2.cancel();
  await sleep(50);
  assert.equal(r2.events, 0);
  assert.equal(p.connections, 0);
  assert.equal(p.pendingRequests, 0);
});

test('request body errors reset the exchange (connection termination) and close the connection', async () => {
  const srv = await rawServer(() => {});
  const p = pool(srv.port);
  const body = new Readable({ read() {} });
  const { rec } = send(p, get('/', { 'content-length': '10' }, 'POST', body));
  body.push(Buffer.from('abc'));
  await until(() => srv.writes.length > 0);
  body.destroy(new Error('client went away'));
  const o = await rec.done;
  assert.equal(o.reset?.reason, 'connection termination');
  await until(() => srv.closed() === 1);
});

test('a response that ends before the request body does ends the exchange and closes the connection', async () => {
  const srv = await rawServer((s) => s.write('HTTP/1.1 413 Payload Too Large\r\ncontent-length: 0\r\n\r\n'));
  const p = pool(srv.port);
  const body = new Readable({ read() {} });
  const { rec } = send(p, get('/', { 'content-length': '100' }, 'POST', body));
  body.push(Buffer.from('x'));
  const o = await rec.done;
  assert.equal(o.status, 413);
  assert.equal(o.reset, null);
  await until(() => p.connections === 0);
  assert.ok(body.destroyed);
});

test('a header that cannot be written is a protocol error before any byte is sent; the connection stays usable', async () => {
  const srv = await httpServer((_req, res) => res.end('ok'));
  const p = pool(srv.port);
  await send(p, get()).rec.done;
  const bads: Record<string, string>[] = [
    { 'x-bad': 'a\r\nx-injected: 1' },
    { 'bad name': 'x' },
    { 'transfer-encoding': 'chunked' },
    { expect: '100-continue' },
  ];
  for (const bad of bads) {
    const o = await send(p, get('/', bad)).rec.done;
    assert.equal(o.reset?.reason, 'protocol error', JSON.stringify(bad));
    assert.equal(o.poolReady, false);
  }
  assert.equal((await send(p, get('/a b')).rec.done).reset?.reason, 'protocol error');
  assert.equal((await send(p, get()).rec.done).status, 200);
  assert.equal(srv.connections(), 1);
});

test('circuit breakers: max_pending overflows, max_connections queues, max_requests overflows', async () => {
  const held: http.ServerResponse[] = [];
  const srv = await httpServer((_req, res) => held.push(res));
  const st = stats();
  const p = pool(srv.port, { resources: resources({ connections: 1, pending: 1 }), stats: st });
  const a = send(p, get());
  const b = send(p, get());
  const c = send(p, get());
  const oc = await c.rec.done;
  assert.equal(oc.reset?.reason, 'overflow');
  assert.equal(st.upstream_rq_pending_overflow, 1);
  await until(() => held.length === 1);
  assert.equal(p.pendingRequests, 1);
  held[0]!.end('one');
  assert.equal((await a.rec.done).body.toString(), 'one');
  await until(() => held.length === 2);
  held[1]!.end('two');
  assert.equal((await b.rec.done).body.toString(), 'two');
  assert.equal(srv.connections(), 1);
  assert.equal(st.upstream_rq_pending_total, 2);
  assert.equal(st.upstream_rq_pending_active, 0);

  const r = resources({ requests: 1 });
  const p2 = pool(srv.port, { resources: r });
  const x = send(p2, get());
  await until(() => held.length === 3);
  const y = send(p2, get());
  assert.equal((await y.rec.done).reset?.reason, 'overflow');
  held[2]!.end('x');
  await x.rec.done;
  assert.equal(r.requests.count, 0);
});

test('idle timeout closes an unused connection; the upstream Keep-Alive timeout shortens it', async () => {
  const srv = await httpServer((_req, res) => res.end('ok'));
  const p = pool(srv.port, { idleTimeoutMs: 150 });
  await send(p, get()).rec.done;
  assert.equal(p.connections, 1);
  await sleep(60);
  await send(p, get()).rec.done; // used again: the idle time counts from here
  await sleep(100);
  assert.equal(p.connections, 1);
  await until(() => p.connections === 0, 1000);
  const hint = await rawServer((s) => s.write('HTTP/1.1 200 OK\r\nkeep-alive: timeout=1\r\ncontent-length: 2\r\n\r\nok'));
  const p2 = pool(hint.port, { idleTimeoutMs: 60_000 });
  const t0 = Date.now();
  await send(p2, get()).rec.done;
  await until(() => p2.connections === 0, 3000);
  assert.ok(Date.now() - t0 >= 900);
});

test('max requests per connection: the last request says connection: close, then a new connection opens', async () => {
  const seen: string[] = [];
  const srv = await httpServer((req, res) => {
    seen.push(String(req.headers.connection));
    res.end('ok');
  });
  const p = pool(srv.port, { maxRequestsPerConnection: 2 });
  for (let i = 0; i < 4; i++) await send(p, get()).rec.done;
  assert.deepEqual(seen, ['keep-alive', 'close', 'keep-alive', 'close']);
  assert.equal(srv.connections(), 2);
});

test('max connection duration: an old connection finishes its request, then closes', async () => {
  let release!: () => void;
  const srv = await httpServer((req, res) => {
    if (req.url === '/slow') release = () => res.end('slow');
    else res.end('ok');
  });
  const st = stats();
  const p = pool(srv.port, { maxConnectionDurationMs: 100, stats: st });
  const slow = send(p, get('/slow'));
  await sleep(150);
  assert.equal(st.upstream_cx_max_duration_reached, 1);
  assert.equal(p.connections, 1);
  release();
  assert.equal((await slow.rec.done).body.toString(), 'slow');
  await until(() => p.connections === 0);
  await send(p, get()).rec.done;
  assert.equal(srv.connections(), 2);
});

test('TLS upstreams', async () => {
  const { dir, key, cert } = selfSignedCert('legate-h1-client-');
  fs.rmSync(dir, { recursive: true, force: true });
  const server = https.createServer({ key, cert }, (req, res) =>
    res.end(`secure ${req.socket.constructor.name} ${(req.socket as unknown as { alpnProtocol: string }).alpnProtocol}`),
  );
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  closers.push(async () => {
    server.closeAllConnections();
    await new Promise<void>((r) => server.close(() => r()));
  });
  const port = (server.address() as net.AddressInfo).port;
  const p = pool(port, { tls: { rejectUnauthorized: false } });
  const o = await send(p, { ...get(), scheme: 'https' }).rec.done;
  assert.equal(o.status, 200);
  assert.equal(o.body.toString(), 'secure TLSSocket http/1.1');
  // Verification on: a self-signed certificate is a connect failure.
  const strict = await send(pool(port, { tls: { rejectUnauthorized: true } }), get()).rec.done;
  assert.equal(strict.reset?.reason, 'local connection failure');
});

test('close() lets a busy connection finish its response, then resolves', async () => {
  let release!: () => void;
  const srv = await httpServer((_req, res) => (release = () => res.end('done')));
  const p = pool(srv.port);
  const a = send(p, get());
  await until(() => release !== undefined);
  let closed = false;
  const closing = p.close().then(() => (closed = true));
  await sleep(30);
  assert.equal(closed, false);
  release();
  assert.equal((await a.rec.done).body.toString(), 'done');
  await closing;
  assert.equal(p.connections, 0);
});

test('a content-length body is passed on from the socket chunks intact: split anywhere, several MiB, with backpressure', async () => {
  const big = Buffer.alloc(5 * 1024 * 1024 + 7);
  for (let i = 0; i < big.length; i++) big[i] = (i * 31 + 7) & 0xff;
  const srv = await httpServer((req, res) => {
    if (req.url === '/big') {
      res.writeHead(200, { 'content-length': String(big.length) });
      res.end(big);
    } else res.end('small');
  });
  const p = pool(srv.port);
  const { rec, handle } = send(p, get('/big'));
  rec.accept = false;
  rec.onChunk = () => setTimeout(() => handle.resume(), 1);
  const o = await rec.done;
  assert.equal(o.reset, null);
  assert.ok(o.body.equals(big));
  assert.ok(rec.chunks.length > 1);
  // The connection is reused afterwards: the parser's framing agreed with the slicing.
  assert.equal((await send(p, get('/')).rec.done).body.toString(), 'small');
  assert.equal(srv.connections(), 1);
  // Head and body written byte by byte.
  const slow = await rawServer((s) => {
    const bytes = Buffer.from('HTTP/1.1 200 OK\r\ncontent-length: 10\r\n\r\n0123456789');
    let i = 0;
    const next = () => {
      if (i < bytes.length) s.write(bytes.subarray(i, ++i), () => setTimeout(next, 1));
    };
    next();
  });
  const o2 = await send(pool(slow.port), get()).rec.done;
  assert.equal(o2.reset, null);
  assert.equal(o2.body.toString(), '0123456789');
});
