import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { Proxy } from '../../src/dataplane/proxy.js';
import type * as ir from '../../src/ir/index.js';
import { config, cluster, route } from '../helpers/ir.js';
import { closedPort } from '../helpers/backends.js';
import { CollectingLog } from '../helpers/access-log.js';
import { Flag } from '../../src/dataplane/http/response-flags.js';
import { startEchoServer, echoClient, unary, grpc, INITIAL_MD, TRAILER_MD, type EchoReply } from '../helpers/grpc.js';

const Status = grpc.status;

const server = await startEchoServer();

// The main proxy: cluster over HTTP/2.
const log = new CollectingLog();
const proxy = await Proxy.start(config([route('all')], [cluster('backend', [server.port], { protocol: 'http2' })]), { accessLog: log });
const client = echoClient(proxy.port('main'));

// Cluster configured for HTTP/1.1: gRPC must still go upstream over HTTP/2.
const h1Log = new CollectingLog();
const h1Proxy = await Proxy.start(config([route('all')], [cluster('backend', [server.port], { protocol: 'http1' })]), { accessLog: h1Log });
const h1Client = echoClient(h1Proxy.port('main'));

// The route raises grpc-timeout upstream to 30 s, so the server's own deadline never fires during
// the deadline test: a cancellation the server sees can only come from the proxy.
const slowProxy = await Proxy.start(
  config(
    [route('all', { requestHeaders: { set: [{ name: 'grpc-timeout', value: '30S' }] } })],
    [cluster('backend', [server.port], { protocol: 'http2' })],
  ),
);
const slowClient = echoClient(slowProxy.port('main'));

// Local replies.
const nrLog = new CollectingLog();
const otherPrefix: ir.Route = route('other', { match: { path: { kind: 'prefix', value: '/some.other.Service/', segmentAware: false } } });
const noRouteProxy = await Proxy.start(config([otherPrefix], [cluster('backend', [server.port], { protocol: 'http2' })]), {
  accessLog: nrLog,
});
const noRouteClient = echoClient(noRouteProxy.port('main'));

const emptyLog = new CollectingLog();
const emptyProxy = await Proxy.start(config([route('all')], [cluster('backend', [], { protocol: 'http2' })]), { accessLog: emptyLog });
const emptyClient = echoClient(emptyProxy.port('main'));

const deadPort = await closedPort();
const deadLog = new CollectingLog();
const deadProxy = await Proxy.start(config([route('all')], [cluster('backend', [deadPort], { protocol: 'http2' })]), {
  accessLog: deadLog,
});
const deadClient = echoClient(deadProxy.port('main'));

after(async () => {
  for (const c of [client, h1Client, slowClient, noRouteClient, emptyClient, deadClient]) c.close();
  await Promise.all([proxy, h1Proxy, slowProxy, noRouteProxy, emptyProxy, deadProxy].map((p) => p.close(200)));
  await server.close();
});

function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let t: NodeJS.Timeout;
  return Promise.race([
    p.finally(() => clearTimeout(t)),
    new Promise<T>((_, reject) => (t = setTimeout(() => reject(new Error(`timed out after ${ms} ms: ${what}`)), ms))),
  ]);
}

test('unary call through the proxy', async () => {
  const before = log.entries.length;
  const r = await unary(client, { message: 'hello' });
  assert.equal(r.error, null);
  assert.equal(r.reply?.message, 'hello');
  assert.equal(r.status.code, Status.OK);
  await log.waitFor(before + 1);
  const e = log.last();
  assert.equal(e.protocol, 'HTTP/2');
  assert.equal(e.status, 200);
  assert.equal(e.grpcStatus, '0', 'access log carries the gRPC status from the trailers');
  assert.equal(e.flags, 0);
  assert.equal(e.path, '/legate.test.Echo/Unary');
  assert.equal(e.upstreamHost, `127.0.0.1:${server.port}`);
});

test('gRPC goes upstream over HTTP/2 even when the cluster says http1', async () => {
  const before = h1Log.entries.length;
  const r = await unary(h1Client, { message: 'via-h1-cluster' });
  // A grpc-js server only speaks HTTP/2: an HTTP/1.1 upstream request could not succeed.
  assert.equal(r.error, null, r.error?.message);
  assert.equal(r.reply?.message, 'via-h1-cluster');
  assert.equal(r.status.metadata.get(TRAILER_MD.key)[0], TRAILER_MD.value);
  await h1Log.waitFor(before + 1);
  assert.equal(h1Log.last().grpcStatus, '0');
});

test('server streaming: 100 messages in order, then trailers', async () => {
  const call = client.ServerStream({ message: 'ss', count: 100 }, new grpc.Metadata());
  const got: EchoReply[] = [];
  let initial: grpc.Metadata | undefined;
  call.on('metadata', (m: grpc.Metadata) => (initial = m));
  call.on('data', (m: EchoReply) => got.push(m));
  const status = await withTimeout(
    new Promise<grpc.StatusObject>((resolve, reject) => {
      call.on('status', resolve);
      call.on('error', (e: grpc.ServiceError) => (e.code === Status.OK ? undefined : reject(e)));
    }),
    10_000,
    'server stream',
  );
  assert.equal(status.code, Status.OK);
  assert.equal(got.length, 100);
  got.forEach((m, i) => {
    assert.equal(m.index, i);
    assert.equal(m.message, `ss-${i}`);
  });
  assert.equal(initial?.get(INITIAL_MD.key)[0], INITIAL_MD.value);
  assert.equal(status.metadata.get(TRAILER_MD.key)[0], TRAILER_MD.value);
});

test('client streaming: the server counts every message', async () => {
  const reply = await withTimeout(
    new Promise<EchoReply>((resolve, reject) => {
      const call = client.ClientStream(new grpc.Metadata(), {}, (err, r) => (err ? reject(err) : resolve(r!)));
      for (let i = 0; i < 50; i++) call.write({ message: `cs-${i}` });
      call.end();
    }),
    10_000,
    'client stream',
  );
  assert.equal(reply.index, 50);
  assert.equal(reply.message, '50 messages, last cs-49');
});

test('bidirectional streaming: 1000 messages echoed in order', async () => {
  const N = 1000;
  const call = client.Bidi(new grpc.Metadata());
  const got: EchoReply[] = [];
  call.on('data', (m: EchoReply) => got.push(m));
  const done = new Promise<grpc.StatusObject>((resolve, reject) => {
    call.on('status', resolve);
    call.on('error', (e: grpc.ServiceError) => reject(e));
  });
  let i = 0;
  await new Promise<void>((resolve) => {
    const pump = () => {
      while (i < N) {
        const ok = call.write({ message: `bidi-${i}` });
        i++;
        if (!ok) return void call.once('drain', pump);
      }
      call.end();
      resolve();
    };
    pump();
  });
  const status = await withTimeout(done, 15_000, 'bidi stream');
  assert.equal(status.code, Status.OK);
  assert.equal(got.length, N);
  for (let k = 0; k < N; k++) {
    assert.equal(got[k]!.index, k);
    assert.equal(got[k]!.message, `bidi-${k}`);
  }
  assert.equal(status.metadata.get(TRAILER_MD.key)[0], TRAILER_MD.value);
});

test('request metadata reaches the server, with the proxy headers added', async () => {
  const r = await unary(client, { message: 'md' }, { metadata: { 'x-custom': 'abc', 'x-tenant': 't-1' } });
  assert.equal(r.error, null);
  const md = r.reply!.metadata;
  assert.equal(md['x-custom'], 'abc');
  assert.equal(md['x-tenant'], 't-1');
  assert.equal(md['x-forwarded-proto'], 'http');
  assert.equal(md['x-forwarded-for'], '127.0.0.1');
  assert.match(md['x-request-id'] ?? '', /^[0-9a-f-]{36}$/);
  // Nothing hop-by-hop leaks through except te: trailers, which gRPC requires.
  assert.equal(md['connection'], undefined);
});

test('response initial metadata and trailing metadata reach the client', async () => {
  const r = await unary(client, { message: 'meta' });
  assert.equal(r.error, null);
  assert.ok(r.initial, 'client saw response headers');
  assert.equal(r.initial.get(INITIAL_MD.key)[0], INITIAL_MD.value);
  assert.equal(r.status.metadata.get(TRAILER_MD.key)[0], TRAILER_MD.value);
  assert.ok(r.initial.get('x-envoy-upstream-service-time').length === 1, 'proxy adds x-envoy-upstream-service-time');
});

test('error status codes and messages pass through unchanged', async () => {
  const msg = 'widget 42 not found: 100% gone, ünïcode';
  const before = log.entries.length;
  const nf = await unary(client, { message: 'e1', failCode: Status.NOT_FOUND, failMessage: msg });
  assert.equal(nf.error?.code, Status.NOT_FOUND);
  assert.equal(nf.error?.details, msg);
  assert.equal(nf.status.metadata.get(TRAILER_MD.key)[0], TRAILER_MD.value);
  await log.waitFor(before + 1);
  assert.equal(log.last().grpcStatus, String(Status.NOT_FOUND));
  assert.equal(log.last().status, 200);

  const un = await unary(client, { message: 'e2', failCode: Status.UNAVAILABLE, failMessage: 'backend busy' });
  assert.equal(un.error?.code, Status.UNAVAILABLE);
  assert.equal(un.error?.details, 'backend busy');
  await log.waitFor(before + 2);
  assert.equal(log.last().grpcStatus, String(Status.UNAVAILABLE));
});

test('client deadline shorter than the server delay: DEADLINE_EXCEEDED, and the proxy cancels upstream', async () => {
  const t0 = Date.now();
  const r = await unary(slowClient, { message: 'slow-deadline', delayMs: 5000 }, { deadlineMs: 300 });
  assert.equal(r.error?.code, Status.DEADLINE_EXCEEDED);
  assert.ok(Date.now() - t0 < 2000, 'the client gave up at its deadline');
  const rec = server.calls.get('slow-deadline');
  assert.ok(rec, 'the server saw the call');
  await withTimeout(rec.whenCancelled, 2000, 'server to see the call cancelled');
  assert.equal(rec.cancelled, true);
  assert.equal(rec.answered, false);
});

test('a client cancel resets the upstream stream', async () => {
  const before = log.entries.length;
  const md = new grpc.Metadata();
  const err = await new Promise<grpc.ServiceError | null>((resolve) => {
    const call = client.Unary({ message: 'slow-cancel', delayMs: 5000 }, md, {}, (e) => resolve(e));
    setTimeout(() => call.cancel(), 200);
  });
  assert.equal(err?.code, Status.CANCELLED);
  const rec = server.calls.get('slow-cancel');
  assert.ok(rec, 'the server saw the call');
  await withTimeout(rec.whenCancelled, 2000, 'server to see the call cancelled');
  await log.waitFor(before + 1);
  assert.ok((log.last().flags & Flag.DC) !== 0, 'access log flag DC');
});

test('no route: UNIMPLEMENTED (12) as a trailers-only local reply', async () => {
  const before = nrLog.entries.length;
  const r = await unary(noRouteClient, { message: 'x' });
  assert.equal(r.error?.code, Status.UNIMPLEMENTED);
  assert.equal(server.calls.has('x'), false);
  await nrLog.waitFor(before + 1);
  const e = nrLog.last();
  assert.equal(e.status, 200);
  assert.equal(e.grpcStatus, '12');
  assert.equal(e.details, 'route_not_found');
});

test('cluster without endpoints: UNAVAILABLE (14) "no healthy upstream"', async () => {
  const before = emptyLog.entries.length;
  const r = await unary(emptyClient, { message: 'x2' });
  assert.equal(r.error?.code, Status.UNAVAILABLE);
  assert.equal(r.error?.details, 'no healthy upstream');
  await emptyLog.waitFor(before + 1);
  const e = emptyLog.last();
  assert.equal(e.grpcStatus, '14');
  assert.equal(e.status, 200);
  assert.ok((e.flags & Flag.UH) !== 0, 'flag UH');
});

test('cluster on a closed port: UNAVAILABLE (14) with the connect failure in grpc-message', async () => {
  const before = deadLog.entries.length;
  const r = await unary(deadClient, { message: 'x3' });
  assert.equal(r.error?.code, Status.UNAVAILABLE);
  assert.match(r.error?.details ?? '', /upstream connect error/);
  assert.match(r.error?.details ?? '', /connection failure/);
  await deadLog.waitFor(before + 1);
  const e = deadLog.last();
  assert.equal(e.grpcStatus, '14');
  assert.ok((e.flags & Flag.UF) !== 0, 'flag UF');
});
