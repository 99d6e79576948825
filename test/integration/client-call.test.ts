import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import { main } from '../../src/cli/main.js';
import { grpcCall, grpcDescribe, grpcList, httpCall, UsageError } from '../../src/client/index.js';
import { startReflectionServer } from '../helpers/reflection-server.js';
import { capture, selfSignedCert } from '../helpers/capture.js';
import { closedPort, h1Backend, h2Backend } from '../helpers/backends.js';

const GREETER_PROTO = fileURLToPath(new URL('../../../test/fixtures/greeter.proto', import.meta.url));
const legate = (...args: string[]) => capture(() => main(['node', 'legate', ...args]));

const server = await startReflectionServer();
const slow = await startReflectionServer({ delayMs: 2000 });
const alphaOnly = await startReflectionServer({ reflection: 'v1alpha' });
const noReflection = await startReflectionServer({ reflection: 'none' });
const tlsFiles = selfSignedCert();
const tlsServer = await startReflectionServer({ tls: tlsFiles });
const addr = `127.0.0.1:${server.port}`;

after(async () => {
  await Promise.all([server, slow, alphaOnly, noReflection, tlsServer].map((s) => s.close()));
  tlsFiles.cleanup();
});

test('a service without a package, found by reflection, answers as JSON', async () => {
  const res = await grpcCall({ address: addr, method: 'FakeService.Handle', data: '{"data":"aGVsbG8="}' });
  assert.equal(res.ok, true);
  assert.equal(res.path, '/FakeService/Handle');
  assert.equal(res.codeName, 'OK');
  assert.deepEqual(res.responses, [{ Message: '{"name":"Service","body":"Hello World","bytes":5}' }]);
});

test('every way of writing a method name reaches the same method', async () => {
  for (const name of ['legate.demo.Greeter/Hello', 'legate.demo.Greeter.Hello', '/legate.demo.Greeter/Hello']) {
    const res = await grpcCall({ address: addr, method: name, data: { name: 'x' } });
    assert.equal(res.path, '/legate.demo.Greeter/Hello', name);
    assert.equal((res.responses[0] as { greeting: string }).greeting, 'hello x');
  }
  await assert.rejects(grpcCall({ address: addr, method: 'Hello', data: {} }), UsageError);
  await assert.rejects(grpcCall({ address: addr, method: 'legate.demo.Greeter.Nope' }), /has no method Nope.*Hello/);
  await assert.rejects(grpcCall({ address: addr, method: 'nope.Svc/M' }), /does not know nope\.Svc/);
});

test('proto3 JSON in and out: int64 as string, enums, maps, bytes and well-known types survive a round trip', async () => {
  const request = {
    name: 'bob',
    bigNumber: '12345678901234567',
    mood: 'HAPPY',
    tags: ['a', 'b'],
    scores: { x: 1, y: -2 },
    blob: 'AQID',
    at: '2025-01-02T03:04:05.250Z',
    wait: '1.500s',
    extra: { list: [1, null, 'x', { deep: true }] },
    nickname: 'bobby',
    inner: { level: 3 },
  };
  const res = await grpcCall({ address: addr, method: 'legate.demo.Greeter.Hello', data: JSON.stringify(request) });
  assert.equal(res.ok, true, res.details);
  assert.deepEqual((res.responses[0] as { echo: unknown }).echo, request);
  // Original (snake_case) field names are accepted too; unknown fields and bad values are refused.
  const snake = await grpcCall({ address: addr, method: 'legate.demo.Greeter.Hello', data: '{"big_number": 7}' });
  assert.deepEqual((snake.responses[0] as { echo: unknown }).echo, { bigNumber: '7' });
  await assert.rejects(grpcCall({ address: addr, method: 'legate.demo.Greeter.Hello', data: '{"nmae":"x"}' }), /has no field "nmae"/);
  await assert.rejects(grpcCall({ address: addr, method: 'legate.demo.Greeter.Hello', data: '{"mood":"SAD"}' }), /HAPPY/);
  await assert.rejects(grpcCall({ address: addr, method: 'legate.demo.Greeter.Hello', data: '{"name":' }), /not JSON/);
});

test('metadata and the authority reach the server', async () => {
  const res = await grpcCall({
    address: addr,
    method: 'legate.demo.Greeter.Hello',
    authority: 'grpc-example.com',
    metadata: [
      ['x-user', 'alice'],
      ['x-trace', 'abc'],
    ],
  });
  assert.deepEqual((res.responses[0] as { metadata: unknown }).metadata, { 'x-user': 'alice', 'x-trace': 'abc' });
  assert.equal(server.lastHost['Hello'], 'grpc-example.com');
  assert.deepEqual(res.headers['x-greeter'], ['yes']);
  assert.deepEqual(res.trailers['x-done'], ['true']);
});

test('streams: server streaming prints every message, client streaming takes concatenated JSON', async () => {
  const seen: unknown[] = [];
  const count = await grpcCall({ address: addr, method: 'legate.demo.Greeter/Count', data: { upTo: 3 }, onMessage: (m) => seen.push(m) });
  assert.deepEqual(count.responses, [{ n: 1 }, { n: 2 }, { n: 3 }]);
  assert.deepEqual(seen, count.responses);
  const sum = await grpcCall({ address: addr, method: 'legate.demo.Greeter/Sum', data: '{"value": 1}\n{"value": 2.5}' });
  assert.deepEqual(sum.responses, [{ sum: 3.5, count: 2 }]);
  const chat = await grpcCall({ address: addr, method: 'legate.demo.Greeter/Chat', data: '{"value": 1} {"value": 2}' });
  assert.deepEqual(chat.responses, [
    { sum: 1, count: 1 },
    { sum: 3, count: 2 },
  ]);
});

test('CLI: the response prints as JSON; -v adds headers and trailers; exit 0', async () => {
  const r = await legate('call', addr, 'legate.demo.Greeter.Hello', '-d', '{"name":"cli"}', '-H', 'x-user: carol');
  assert.equal(r.code, 0, r.stderr);
  const printed = JSON.parse(r.stdout) as { greeting: string; metadata: Record<string, string> };
  assert.equal(printed.greeting, 'hello cli');
  assert.deepEqual(printed.metadata, { 'x-user': 'carol' });
  assert.equal(server.lastMetadata['Hello']!.get('x-user')[0], 'carol');

  const v = await legate('call', addr, 'FakeService/Handle', '-v', '--authority', 'grpc-example.com');
  assert.equal(v.code, 0, v.stderr);
  assert.match(v.stdout, /^Response headers:\n(.*\n)*  content-type: application\/grpc/);
  assert.match(v.stdout, /"Message": /);
  assert.match(v.stdout, /Response trailers:\n/);
  assert.equal(server.lastHost['Handle'], 'grpc-example.com');
});

test('CLI: an error status prints its name, message and trailers and exits 1', async () => {
  const r = await legate('call', addr, 'legate.demo.Greeter.Hello', '-d', '{"name":"z","failCode":5}');
  assert.equal(r.code, 1);
  assert.equal(r.stdout, '');
  assert.match(r.stderr, /Code: NOT_FOUND \(5\)/);
  assert.match(r.stderr, /Message: failing as asked for z/);
  assert.match(r.stderr, /x-reason: asked to fail/);

  const json = await legate('call', addr, 'legate.demo.Greeter.Hello', '-d', '{"failCode":14}', '-o', 'json');
  assert.equal(json.code, 1);
  const res = JSON.parse(json.stdout) as { ok: boolean; codeName: string; trailers: Record<string, string[]> };
  assert.equal(res.ok, false);
  assert.equal(res.codeName, 'UNAVAILABLE');
  assert.deepEqual(res.trailers['x-reason'], ['asked to fail']);
});

test('CLI: --deadline bounds the call (DEADLINE_EXCEEDED, exit 1)', async () => {
  const started = Date.now();
  const r = await legate('call', `127.0.0.1:${slow.port}`, 'FakeService.Handle', '--deadline', '200ms');
  assert.equal(r.code, 1);
  assert.match(r.stderr, /Code: DEADLINE_EXCEEDED/);
  assert.ok(Date.now() - started < 1500);
});

test('CLI: mistakes exit 2 with a message that says what to do', async () => {
  const bad = await legate('call', addr, 'legate.demo.Greeter.Hello', '-d', '{"nmae":1}');
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /legate call: nmae: legate\.demo\.HelloRequest has no field "nmae"/);
  const noMethod = await legate('call', addr);
  assert.equal(noMethod.code, 2);
  assert.match(noMethod.stderr, /name the method/);
  const url = await legate('call', 'grpc://127.0.0.1:1', 'A.B');
  assert.equal(url.code, 2);
  assert.match(url.stderr, /give the gRPC address as host:port/);
  const host = await legate('call', addr, 'FakeService.Handle', '-H', 'host: x');
  assert.equal(host.code, 2);
  assert.match(host.stderr, /use --authority/);
  // Nothing listening: the call fails (exit 1), the command was fine.
  const down = await legate('call', `127.0.0.1:${await closedPort()}`, 'FakeService.Handle');
  assert.equal(down.code, 1);
  assert.match(down.stderr, /UNAVAILABLE/);
});

test('reflection falls back to v1alpha', async () => {
  const res = await grpcCall({ address: `127.0.0.1:${alphaOnly.port}`, method: 'legate.demo.Greeter/Hello', data: { name: 'old' } });
  assert.equal((res.responses[0] as { greeting: string }).greeting, 'hello old');
  assert.deepEqual(await grpcList({ address: `127.0.0.1:${alphaOnly.port}` }), ['FakeService', 'legate.demo.Greeter']);
});

test('without reflection: a clear error, and --proto files instead', async () => {
  const target = `127.0.0.1:${noReflection.port}`;
  const r = await legate('call', target, 'legate.demo.Greeter.Hello');
  assert.equal(r.code, 2);
  assert.match(
    r.stderr,
    /does not offer server reflection.*--proto FILE \(through a proxy, UNIMPLEMENTED also means that no route matched: .*--authority\)/,
  );
  const named = await legate('call', target, 'legate.demo.Greeter.Hello', '--authority', 'greeter.example.com');
  assert.equal(named.code, 2);
  assert.match(named.stderr, /does not offer server reflection.*--proto FILE\n$/, 'no hint when --authority is given');
  const withProto = await legate(
    'call',
    target,
    'legate.demo.Greeter.Hello',
    '--proto',
    GREETER_PROTO,
    '-d',
    '{"name":"p","bigNumber":"9"}',
  );
  assert.equal(withProto.code, 0, withProto.stderr);
  assert.deepEqual(JSON.parse(withProto.stdout).echo, { name: 'p', bigNumber: '9' });
});

test('list and describe', async () => {
  const list = await legate('call', addr, 'list');
  assert.equal(list.code, 0, list.stderr);
  // grpc-node's reflection does not list itself.
  assert.deepEqual(list.stdout.trim().split('\n'), ['FakeService', 'legate.demo.Greeter']);
  const methods = await legate('call', addr, 'list', 'legate.demo.Greeter');
  assert.deepEqual(methods.stdout.trim().split('\n'), [
    'legate.demo.Greeter.Hello',
    'legate.demo.Greeter.Count',
    'legate.demo.Greeter.Sum',
    'legate.demo.Greeter.Chat',
  ]);
  const svc = await legate('call', addr, 'describe', 'FakeService');
  assert.match(svc.stdout, /service FakeService \{\n  rpc Handle \( \.Request \) returns \( \.Response \);\n\}/);
  const msg = await grpcDescribe({ address: addr, symbol: 'legate.demo.HelloReply' });
  assert.match(msg, /map<string, string> metadata = 3;/);
  const method = await grpcDescribe({ address: addr, symbol: 'legate.demo.Greeter/Count' });
  assert.match(method, /rpc Count \( \.legate\.demo\.CountRequest \) returns \( stream \.legate\.demo\.CountReply \);/);
});

test('TLS: --cacert verifies, --insecure skips verification, no CA fails', async () => {
  const target = `localhost:${tlsServer.port}`;
  const ok = await legate('call', target, 'FakeService.Handle', '--tls', '--cacert', tlsFiles.certFile);
  assert.equal(ok.code, 0, ok.stderr);
  assert.match(JSON.parse(ok.stdout).Message, /Hello World/);
  const insecure = await grpcCall({ address: `127.0.0.1:${tlsServer.port}`, method: 'FakeService.Handle', tls: { insecure: true } });
  assert.equal(insecure.ok, true, insecure.details);
  const untrusted = await legate('call', target, 'FakeService.Handle', '--tls', '--deadline', '5s');
  assert.equal(untrusted.code, 1);
  assert.match(untrusted.stderr, /cannot use server reflection at localhost:\d+: UNAVAILABLE/);
  const plaintextFlags = await legate('call', addr, 'FakeService.Handle', '--insecure');
  assert.equal(plaintextFlags.code, 2);
});

test('HTTP/1.1: method, headers, body; status always, headers with -v', async () => {
  const backend = await h1Backend((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      res.writeHead(req.url === '/missing' ? 404 : 200, { 'content-type': 'application/json', 'x-seen-host': req.headers.host ?? '' });
      res.end(JSON.stringify({ method: req.method, url: req.url, body: Buffer.concat(chunks).toString() }));
    });
  });
  try {
    const url = `http://127.0.0.1:${backend.port}/path?q=1`;
    const r = await legate('call', url, '-H', 'host: example.com', '-X', 'PUT', '-d', 'payload', '-v');
    assert.equal(r.code, 0, r.stderr);
    const [head, body] = r.stdout.split('\n\n');
    assert.match(head!, /^HTTP\/1\.1 200 OK\n/);
    assert.match(head!, /\nx-seen-host: example\.com/);
    assert.deepEqual(JSON.parse(body!), { method: 'PUT', url: '/path?q=1', body: 'payload' });

    const quiet = await legate('call', `http://127.0.0.1:${backend.port}/missing`);
    assert.equal(quiet.code, 1);
    assert.match(quiet.stdout, /^HTTP\/1\.1 404 Not Found\n\n\{"method":"GET"/);

    const res = await httpCall({ url, body: 'x' });
    assert.equal(JSON.parse(res.body.toString()).method, 'POST');
  } finally {
    await backend.close();
  }
  const refused = await legate('call', `http://127.0.0.1:${await closedPort()}/`);
  assert.equal(refused.code, 1);
  assert.match(refused.stderr, /ECONNREFUSED/);
});

test('HTTP/2: --http2 over h2c, and https with --insecure', async () => {
  const backend = await h2Backend((stream, headers) => {
    stream.respond({ ':status': 201, 'x-authority': String(headers[':authority']) });
    stream.end(`${headers[':method']} ${headers[':path']}`);
  });
  try {
    const r = await legate('call', `http://127.0.0.1:${backend.port}/h2`, '--http2', '-H', 'host: h2.example', '-v');
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^HTTP\/2 201 Created\n/);
    assert.match(r.stdout, /x-authority: h2\.example\n/);
    assert.match(r.stdout, /\n\nGET \/h2$/);
  } finally {
    await backend.close();
  }
  const secure = https.createServer({ cert: tlsFiles.cert, key: tlsFiles.key }, (req, res) => res.end(`tls ${req.url}`));
  await new Promise<void>((r) => secure.listen(0, '127.0.0.1', r));
  try {
    const port = (secure.address() as AddressInfo).port;
    const r = await legate('call', `https://127.0.0.1:${port}/s`, '--insecure');
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /\n\ntls \/s$/);
    const verified = await legate('call', `https://localhost:${port}/v`, '--cacert', tlsFiles.certFile);
    assert.equal(verified.code, 0, verified.stderr);
    const untrusted = await legate('call', `https://127.0.0.1:${port}/u`);
    assert.equal(untrusted.code, 1);
  } finally {
    secure.closeAllConnections();
    await new Promise<void>((r) => secure.close(() => r()));
  }
  void http;
});
