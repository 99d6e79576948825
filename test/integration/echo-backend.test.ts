import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import http2 from 'node:http2';
import net from 'node:net';
import grpc from '@grpc/grpc-js';
import { startEchoBackend, type EchoBackendHandle } from '../../src/fake-service/index.js';
import { grpcEchoClient, httpRequest, reflect, reflectionClient } from '../helpers/fake-service.js';

const ENV = { NAMESPACE: 'gateway-conformance-infra', POD_NAME: 'infra-backend-v1-5d9c7b6f4-abcde', HTTP_PORT: '3000' };

async function start(env: Record<string, string> = ENV): Promise<EchoBackendHandle & { out: string[] }> {
  const out: string[] = [];
  const h = await startEchoBackend(env, {
    host: '127.0.0.1',
    httpPort: 0,
    h2cPort: 0,
    httpsPort: 0,
    stdout: (l) => out.push(l),
    shutdownGraceMs: 200,
  });
  return Object.assign(h, { out });
}

test('the HTTP echo: request-URI, host, method, proto, canonical headers, httpPort, namespace and pod, one-space JSON', async () => {
  const echo = await start();
  try {
    const res = await httpRequest(echo.port, '/v2/example?x=y', { headers: { Host: 'example.com', version: 'one', 'X-Header-Add': 'a' } });
    assert.equal(res.status, 200);
    assert.equal(res.headers['content-type'], 'application/json');
    assert.equal(res.headers['x-content-type-options'], 'nosniff');
    assert.equal(
      res.body,
      `{
 "path": "/v2/example?x=y",
 "host": "example.com",
 "method": "GET",
 "proto": "HTTP/1.1",
 "headers": {
  "Connection": [
   "close"
  ],
  "Version": [
   "one"
  ],
  "X-Header-Add": [
   "a"
  ]
 },
 "httpPort": "3000",
 "namespace": "gateway-conformance-infra",
 "ingress": "",
 "service": "",
 "pod": "infra-backend-v1-5d9c7b6f4-abcde"
}`,
    );
    assert.match(echo.out.join(''), /Echoing back request made to \/v2\/example\?x=y to client \(127\.0\.0\.1:\d+\)\n/);
    assert.deepEqual(echo.requestURIs, ['/v2/example?x=y']);
  } finally {
    await echo.close();
  }
});

test('X-Echo-Set-Header copies pairs into the response; ?delay= waits; a bad delay is a 500 JSON message', async () => {
  const echo = await start();
  try {
    const res = await httpRequest(echo.port, '/', { headers: { 'X-Echo-Set-Header': 'X-Foo: bar, x-two:1,X-Foo:baz' } });
    assert.equal(res.headers['x-foo'], 'bar,baz');
    assert.equal(res.headers['x-two'], '1');
    const t0 = performance.now();
    assert.equal((await httpRequest(echo.port, '/slow?delay=150ms')).status, 200);
    assert.ok(performance.now() - t0 >= 145);
    const bad = await httpRequest(echo.port, '/?delay=soon');
    assert.deepEqual([bad.status, bad.body], [500, '{"message":"time: invalid duration \\"soon\\""}']);
  } finally {
    await echo.close();
  }
});

test('/health, /status/NNN (only an exact three-digit request-URI) and the trailing-slash redirect', async () => {
  const echo = await start();
  try {
    assert.deepEqual(Object.values(await httpRequest(echo.port, '/health')).slice(0, 1), [200]);
    assert.equal((await httpRequest(echo.port, '/status/503')).status, 503);
    assert.equal((await httpRequest(echo.port, '/status/503?x=1')).status, 400);
    assert.equal((await httpRequest(echo.port, '/status/5031')).status, 400);
    const r = await httpRequest(echo.port, '/status');
    assert.deepEqual([r.status, r.headers['location']], [301, '/status/']);
  } finally {
    await echo.close();
  }
});

test('the retry simulator fails per uuid until succeedAfter: a TCP reset, or responseCode when given', async () => {
  const echo = await start();
  try {
    assert.deepEqual(
      [(await httpRequest(echo.port, '/retry/x')).status, (await httpRequest(echo.port, '/retry/x')).body],
      [400, 'uuid is required'],
    );
    const path = '/retry/a?uuid=u1&succeedAfter=2';
    await assert.rejects(httpRequest(echo.port, path), /ECONNRESET|socket hang up/);
    await assert.rejects(httpRequest(echo.port, path), /ECONNRESET|socket hang up/);
    const ok = await httpRequest(echo.port, path);
    assert.equal(ok.status, 200);
    // encoding/json escapes '&' as \u0026, as the original does; the value is the request-URI.
    assert.match(ok.body, /"path": "\/retry\/a\?uuid=u1\\u0026succeedAfter=2"/);
    assert.equal((JSON.parse(ok.body) as { path: string }).path, path);
    const coded = '/retry/b?uuid=u2&succeedAfter=1&responseCode=503';
    assert.equal((await httpRequest(echo.port, coded)).status, 503);
    assert.equal((await httpRequest(echo.port, coded)).status, 200);
  } finally {
    await echo.close();
  }
});

test('the h2c port: HTTP/2 with prior knowledge is echoed as HTTP/2.0, HTTP/1.1 without Upgrade: h2c is refused', async () => {
  const echo = await start();
  try {
    const refused = await httpRequest(echo.ports.h2c!, '/');
    assert.deepEqual([refused.status, refused.body], [400, 'Expected h2c request']);
    const session = http2.connect(`http://127.0.0.1:${echo.ports.h2c}`);
    const body = await new Promise<string>((resolve, reject) => {
      const s = session.request({ ':path': '/h2?q=1', ':authority': 'h2.example', 'x-test': 'v' });
      let text = '';
      s.setEncoding('utf8');
      s.on('data', (c: string) => (text += c));
      s.on('end', () => resolve(text));
      s.on('error', reject);
    });
    session.close();
    const doc = JSON.parse(body) as { path: string; host: string; proto: string; headers: Record<string, string[]> };
    assert.deepEqual([doc.path, doc.host, doc.proto, doc.headers['X-Test']], ['/h2?q=1', 'h2.example', 'HTTP/2.0', ['v']]);
  } finally {
    await echo.close();
  }
});

test('/ws echoes text and binary frames', async () => {
  const echo = await start();
  const socket = net.connect(echo.port, '127.0.0.1');
  try {
    const key = randomBytes(16).toString('base64');
    socket.write(
      `GET /ws HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: ${key}\r\nSec-WebSocket-Version: 13\r\nOrigin: ws://gateway/x\r\n\r\n`,
    );
    let buf = Buffer.alloc(0);
    const need = async (pred: (b: Buffer) => boolean) => {
      for (let i = 0; i < 300 && !pred(buf); i++) await new Promise((r) => setTimeout(r, 10));
      assert.ok(pred(buf), 'timed out waiting for data');
    };
    socket.on('data', (d: Buffer) => (buf = Buffer.concat([buf, d])));
    await need((b) => b.includes('\r\n\r\n'));
    const head = buf.subarray(0, buf.indexOf('\r\n\r\n')).toString();
    assert.match(head, /^HTTP\/1\.1 101 /);
    const accept = createHash('sha1').update(`${key}258EAFA5-E914-47DA-95CA-C5AB0DC85B11`).digest('base64');
    assert.ok(head.includes(`Sec-WebSocket-Accept: ${accept}`));
    buf = buf.subarray(buf.indexOf('\r\n\r\n') + 4);
    const send = (opcode: number, payload: Buffer) => {
      const mask = randomBytes(4);
      const masked = Buffer.from(payload.map((b, i) => b ^ mask[i & 3]!));
      socket.write(Buffer.concat([Buffer.from([0x80 | opcode, 0x80 | payload.length]), mask, masked]));
    };
    send(1, Buffer.from('Websocket Support!'));
    await need((b) => b.length >= 2 + 18);
    assert.deepEqual([buf[0], buf[1], buf.subarray(2, 20).toString()], [0x81, 18, 'Websocket Support!']);
    buf = buf.subarray(20);
    send(2, Buffer.from([1, 2, 3, 4, 5, 6, 7]));
    await need((b) => b.length >= 9);
    assert.deepEqual([...buf.subarray(0, 9)], [0x82, 7, 1, 2, 3, 4, 5, 6, 7]);
  } finally {
    socket.destroy();
    await echo.close();
  }
});

test('gRPC mode: Echo and EchoTwo answer the assertions with the pod context, EchoThree is UNIMPLEMENTED, reflection lists GrpcEcho', async () => {
  const echo = await start({ ...ENV, POD_NAME: 'grpc-infra-backend-v1-7f9d8-x2k4p', GRPC_ECHO_SERVER: '1' });
  const client = grpcEchoClient(echo.port);
  const call = (method: string, md: grpc.Metadata) =>
    new Promise<{ error: grpc.ServiceError | null; reply?: Record<string, unknown> }>((resolve) =>
      (client[method] as (r: object, m: grpc.Metadata, cb: (e: grpc.ServiceError | null, r?: Record<string, unknown>) => void) => void)(
        {},
        md,
        (error, reply) => resolve({ error, ...(reply ? { reply } : {}) }),
      ),
    );
  const refl = reflectionClient(echo.port);
  try {
    assert.equal(echo.mode, 'grpc');
    const md = new grpc.Metadata();
    md.set('x-custom', 'yes');
    const r = await call('EchoTwo', md);
    assert.equal(r.error, null);
    const a = r.reply!['assertions'] as {
      fully_qualified_method: string;
      authority: string;
      headers: { key: string; value: string }[];
      context: { namespace: string; pod: string };
    };
    assert.equal(a.fully_qualified_method, '/gateway_api_conformance.echo_basic.grpcecho.GrpcEcho/EchoTwo');
    assert.equal(a.authority, `127.0.0.1:${echo.port}`);
    assert.deepEqual([a.context.namespace, a.context.pod], ['gateway-conformance-infra', 'grpc-infra-backend-v1-7f9d8-x2k4p']);
    assert.ok(a.headers.some((h) => h.key === 'x-custom' && h.value === 'yes'));
    const three = await call('EchoThree', new grpc.Metadata());
    assert.deepEqual([three.error?.code, three.error?.details], [grpc.status.UNIMPLEMENTED, 'method EchoThree not implemented']);
    const [list] = await reflect(refl, [{ list_services: '' }]);
    assert.deepEqual(
      (list!['list_services_response'] as { service: { name: string }[] }).service.map((s) => s.name),
      [
        'gateway_api_conformance.echo_basic.grpcecho.GrpcEcho',
        'grpc.reflection.v1.ServerReflection',
        'grpc.reflection.v1alpha.ServerReflection',
      ],
    );
  } finally {
    client.close();
    refl.close();
    await echo.close();
  }
});
