import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import type http from 'node:http';
import type http2 from 'node:http2';
import grpc from '@grpc/grpc-js';
import { systemClock } from '../../src/common/clock.js';
import { seededRandom } from '../../src/common/random.js';
import { Host } from '../../src/dataplane/upstream/host.js';
import { testHostSettings } from '../helpers/hosts.js';
import { HealthChecker, type HealthCheckerOptions } from '../../src/dataplane/upstream/health-checker.js';
import { closedPort, h1Backend, h2Backend, tcpBackend } from '../helpers/backends.js';
import { selfSignedCert } from '../helpers/capture.js';
import type * as ir from '../../src/ir/index.js';

const closers: (() => Promise<void> | void)[] = [];
after(async () => {
  for (const c of closers.reverse()) await c();
});

const settings = testHostSettings();

const hostOn = (port: number) => new Host({ address: '127.0.0.1', port, weight: 1, priority: 0 }, settings);

function hc(kind: ir.HealthCheck['kind'], patch: Partial<ir.HealthCheck> = {}): ir.HealthCheck {
  return {
    kind,
    intervalMs: 50,
    noTrafficIntervalMs: 50,
    // Generous: only the tests about timeouts rely on them firing.
    timeoutMs: 2000,
    healthyThreshold: 1,
    unhealthyThreshold: 1,
    origin: {},
    ...patch,
  };
}

/** Starts a checker over `hosts`, recording every flip; it is closed after the file. */
function check(config: ir.HealthCheck, hosts: Host[], options: HealthCheckerOptions = {}) {
  const flips: string[] = [];
  const checker = new HealthChecker(
    config,
    'backend',
    hosts,
    systemClock,
    seededRandom(3),
    (h) => flips.push(h.failedActiveHc ? 'failed' : 'healthy'),
    options,
  );
  closers.push(() => checker.close());
  checker.start();
  return { checker, flips };
}

async function waitFor(what: string, pred: () => boolean, ms = 2000): Promise<void> {
  const end = Date.now() + ms;
  while (!pred()) {
    if (Date.now() > end) assert.fail(`timed out waiting for: ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

test('HTTP: /healthz 200 -> 503 -> 200 makes the host healthy, unhealthy, healthy again', async () => {
  let status = 200;
  const seen: http.IncomingHttpHeaders[] = [];
  const paths: string[] = [];
  const backend = await h1Backend((req, res) => {
    seen.push(req.headers);
    paths.push(req.url ?? '');
    res.writeHead(status);
    res.end('body is ignored');
  });
  closers.push(() => backend.close());
  const host = hostOn(backend.port);
  const { checker, flips } = check(hc('http', { unhealthyThreshold: 3, http: { path: '/healthz', expectedStatuses: [] } }), [host]);
  assert.equal(host.failedActiveHc, true, 'hosts start failed');
  await waitFor('healthy', () => !host.failedActiveHc);
  status = 503;
  await waitFor('unhealthy', () => host.failedActiveHc);
  // One 503 is enough even with unhealthy_threshold 3.
  assert.equal(checker.hostStatus(host)!.consecutiveFailures, 1);
  assert.equal(checker.hostStatus(host)!.lastDetail, 'unexpected status 503');
  status = 200;
  await waitFor('healthy again', () => !host.failedActiveHc);
  assert.deepEqual(flips, ['healthy', 'failed', 'healthy']);
  assert.equal(paths[0], '/healthz');
  assert.equal(seen[0]!.host, 'backend', 'Host defaults to the cluster name');
  assert.equal(seen[0]!['user-agent'], 'Envoy/HC');
  assert.ok(checker.stats.attempt >= 3);
  assert.equal(checker.stats.healthy, 1);
});

test('HTTP: configured host, expected status ranges, and connection reuse', async () => {
  const hosts: string[] = [];
  const sockets = new Set<unknown>();
  const backend = await h1Backend((req, res) => {
    hosts.push(req.headers.host ?? '');
    sockets.add(req.socket);
    res.writeHead(204);
    res.end();
  });
  closers.push(() => backend.close());
  const host = hostOn(backend.port);
  // 204 is outside the default [200, 201): the host stays failed.
  const strict = check(hc('http', { http: { path: '/', expectedStatuses: [[200, 201]] } }), [host]);
  await waitFor('a failed check', () => strict.checker.stats.failure >= 2);
  assert.equal(host.failedActiveHc, true);
  strict.checker.close();

  const host2 = hostOn(backend.port);
  hosts.length = 0;
  sockets.clear();
  const ranged = check(hc('http', { http: { path: '/', host: 'health.example', expectedStatuses: [[200, 300]] } }), [host2]);
  await waitFor('3 successes', () => ranged.checker.stats.success >= 3);
  assert.equal(host2.failedActiveHc, false);
  assert.equal(hosts[0], 'health.example');
  assert.equal(sockets.size, 1, 'one kept-alive connection');
});

test('HTTP: a refused connection and a hung backend are network failures; the hang sets active_hc_timeout', async () => {
  const refused = hostOn(await closedPort());
  const hung = await h1Backend(() => {});
  closers.push(() => hung.close());
  const slow = hostOn(hung.port);
  const { checker } = check(hc('http', { timeoutMs: 100, http: { path: '/', expectedStatuses: [] } }), [refused, slow]);
  await waitFor(
    'both failed once',
    () => checker.hostStatus(refused)!.lastResult !== null && checker.hostStatus(slow)!.lastResult !== null,
  );
  assert.equal(checker.hostStatus(refused)!.lastResult, 'network');
  assert.equal(checker.hostStatus(slow)!.lastResult, 'network_timeout');
  assert.equal(refused.failedActiveHc, true);
  assert.equal(slow.failedActiveHc, true);
  assert.equal(slow.activeHcTimeout, true);
  assert.equal(refused.activeHcTimeout, false);
  assert.ok(checker.stats.network_failure >= 1);
});

test('HTTPS: checks use TLS when the cluster does', async () => {
  const tls = selfSignedCert();
  const server = https.createServer({ key: tls.key, cert: tls.cert }, (_req, res) => res.end('ok'));
  tls.cleanup();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  closers.push(
    () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  );
  const host = hostOn((server.address() as AddressInfo).port);
  const plain = hostOn((server.address() as AddressInfo).port);
  const withTls = check(hc('http', { http: { path: '/', expectedStatuses: [] } }), [host], { tls: { rejectUnauthorized: false } });
  const without = check(hc('http', { http: { path: '/', expectedStatuses: [] } }), [plain]);
  await waitFor('healthy over TLS', () => !host.failedActiveHc);
  await waitFor('plaintext check failed', () => without.checker.stats.failure >= 1);
  assert.equal(plain.failedActiveHc, true);
  assert.equal(withTls.checker.stats.failure, 0, JSON.stringify(withTls.checker.snapshot()));
});

// grpc.health.v1 by hand: HealthCheckRequest{string service = 1}, HealthCheckResponse{enum status = 1}.
// (Deserialized into an object: grpc-js treats a falsy request such as '' as "no message".)
const decodeService = (b: Buffer) => ({ service: b.length > 2 && b[0] === 0x0a ? b.subarray(2, 2 + b[1]!).toString('utf8') : '' });
const HealthService: grpc.ServiceDefinition = {
  Check: {
    path: '/grpc.health.v1.Health/Check',
    requestStream: false,
    responseStream: false,
    requestSerialize: (r: { service: string }) => Buffer.from(r.service),
    requestDeserialize: decodeService,
    responseSerialize: (status: number) => (status === 0 ? Buffer.alloc(0) : Buffer.from([0x08, status])),
    responseDeserialize: (b: Buffer) => b[1] ?? 0,
  },
};

test('gRPC: SERVING is healthy, NOT_SERVING and unknown services are not', async () => {
  const statuses = new Map<string, number>([
    ['', 1],
    ['legate.Echo', 1],
  ]);
  const server = new grpc.Server();
  server.addService(HealthService, {
    Check(call: grpc.ServerUnaryCall<{ service: string }, number>, cb: grpc.sendUnaryData<number>) {
      const s = statuses.get(call.request.service);
      if (s === undefined) cb({ code: grpc.status.NOT_FOUND, details: 'unknown service' });
      else cb(null, s);
    },
  });
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (err, p) => (err ? reject(err) : resolve(p))),
  );
  closers.push(() => {
    server.forceShutdown();
  });
  const whole = hostOn(port);
  const named = hostOn(port);
  const unknown = hostOn(port);
  const a = check(hc('grpc', { grpc: { serviceName: '' } }), [whole]);
  const b = check(hc('grpc', { grpc: { serviceName: 'legate.Echo' } }), [named]);
  const c = check(hc('grpc', { grpc: { serviceName: 'nope' } }), [unknown]);
  await waitFor('both healthy', () => !whole.failedActiveHc && !named.failedActiveHc);
  await waitFor('unknown service checked', () => c.checker.stats.failure >= 1);
  assert.equal(unknown.failedActiveHc, true);
  assert.match(c.checker.hostStatus(unknown)!.lastDetail ?? '', /grpc-status 5/);

  statuses.set('legate.Echo', 2);
  await waitFor('NOT_SERVING -> unhealthy', () => named.failedActiveHc);
  assert.equal(b.checker.hostStatus(named)!.lastDetail, 'status NOT_SERVING');
  assert.equal(b.checker.hostStatus(named)!.lastResult, 'active');
  statuses.set('legate.Echo', 1);
  await waitFor('SERVING again -> healthy', () => !named.failedActiveHc);
  assert.deepEqual(b.flips, ['healthy', 'failed', 'healthy']);
  assert.equal(whole.failedActiveHc, false);
  assert.equal(a.checker.stats.failure, 0, JSON.stringify(a.checker.snapshot()));
});

test('gRPC: request shape on the wire (authority, path, te) and a non-200 answer', async () => {
  const seen: http2.IncomingHttpHeaders[] = [];
  let answer200 = true;
  const backend = await h2Backend((stream, headers) => {
    seen.push(headers);
    stream.on('data', () => {});
    if (!answer200) {
      stream.respond({ ':status': 503 }, { endStream: true });
      return;
    }
    stream.respond({ ':status': 200, 'content-type': 'application/grpc' }, { waitForTrailers: true });
    stream.on('wantTrailers', () => stream.sendTrailers({ 'grpc-status': '0' }));
    stream.end(Buffer.from([0, 0, 0, 0, 2, 0x08, 0x01]));
  });
  closers.push(() => backend.close());
  const host = hostOn(backend.port);
  const other = hostOn(backend.port);
  const { checker } = check(hc('grpc', { grpc: { serviceName: '', authority: 'health.internal' } }), [host]);
  check(hc('grpc', { grpc: { serviceName: '' } }), [other]);
  await waitFor('healthy', () => !host.failedActiveHc && !other.failedActiveHc);
  const first = seen.find((h) => h[':authority'] === 'health.internal');
  assert.ok(first);
  assert.equal(first[':path'], '/grpc.health.v1.Health/Check');
  assert.equal(first[':method'], 'POST');
  assert.equal(first['content-type'], 'application/grpc');
  assert.equal(first.te, 'trailers');
  assert.ok(
    seen.some((h) => h[':authority'] === 'backend'),
    'authority defaults to the cluster name',
  );
  answer200 = false;
  await waitFor('non-200 -> unhealthy', () => host.failedActiveHc);
  assert.equal(checker.hostStatus(host)!.lastDetail, 'non-200 HTTP response 503');
});

test('gRPC: after the server closes the connection (GOAWAY) the next check opens a new one', async () => {
  const sessions = new Set<http2.Http2Session>();
  let opened = 0;
  const backend = await h2Backend((stream) => {
    sessions.add(stream.session!);
    stream.on('data', () => {});
    stream.respond({ ':status': 200, 'content-type': 'application/grpc' }, { waitForTrailers: true });
    stream.on('wantTrailers', () => stream.sendTrailers({ 'grpc-status': '0' }));
    stream.end(Buffer.from([0, 0, 0, 0, 2, 0x08, 0x01]));
  });
  backend.server.on('session', () => opened++);
  closers.push(() => backend.close());
  const host = hostOn(backend.port);
  const { checker } = check(hc('grpc', { unhealthyThreshold: 1, grpc: { serviceName: '' } }), [host]);
  await waitFor('healthy', () => !host.failedActiveHc);
  for (const s of sessions) s.close();
  const before = checker.stats.success;
  await waitFor('more successes', () => checker.stats.success >= before + 3);
  assert.equal(host.failedActiveHc, false);
  assert.equal(opened, 2);
});

test('TCP: a listening port is healthy, a closed one is a network failure', async () => {
  const backend = await tcpBackend(() => {});
  closers.push(() => backend.close());
  const up = hostOn(backend.port);
  const down = hostOn(await closedPort());
  const { checker } = check(hc('tcp'), [up, down]);
  await waitFor('listening port healthy', () => !up.failedActiveHc);
  await waitFor('closed port checked', () => checker.hostStatus(down)!.lastResult !== null);
  assert.equal(down.failedActiveHc, true);
  assert.equal(checker.hostStatus(down)!.lastResult, 'network');
  assert.equal(checker.stats.healthy, 1);
});

test('TCP: send/receive as hex; a wrong answer waits for the timeout; a close before the answer fails', async () => {
  let reply = 'PONG';
  const backend = await tcpBackend((s) => {
    s.on('data', (d) => {
      if (d.toString() !== 'PING') return;
      if (reply === 'close') s.destroy();
      else s.write(reply);
    });
  });
  closers.push(() => backend.close());
  const host = hostOn(backend.port);
  // "PING" -> expect "PO" then "NG".
  const { checker, flips } = check(hc('tcp', { timeoutMs: 300, tcp: { send: '50 49 4e 47', receive: ['504f', '4e47'] } }), [host]);
  await waitFor('healthy on PONG', () => !host.failedActiveHc);
  reply = 'NOPE';
  await waitFor('wrong answer -> timeout -> unhealthy', () => host.failedActiveHc);
  assert.equal(checker.hostStatus(host)!.lastResult, 'network_timeout');
  assert.equal(host.activeHcTimeout, true);
  reply = 'PONG';
  await waitFor('healthy again', () => !host.failedActiveHc);
  assert.equal(host.activeHcTimeout, false);
  reply = 'close';
  await waitFor('closed before the answer -> unhealthy', () => host.failedActiveHc);
  assert.equal(checker.hostStatus(host)!.lastResult, 'network');
  assert.deepEqual(flips, ['healthy', 'failed', 'healthy', 'failed']);
});
