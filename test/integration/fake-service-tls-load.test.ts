import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import https from 'node:https';
import grpc from '@grpc/grpc-js';
import { startEchoBackend } from '../../src/fake-service/index.js';
import { httpRequest, startCaptured } from '../helpers/fake-service.js';
import { selfSignedCert } from '../helpers/cert.js';

const { dir, certFile, keyFile } = selfSignedCert('legate-fake-tls-');
const ca = fs.readFileSync(certFile);
after(() => fs.rmSync(dir, { recursive: true, force: true }));

/** An HTTPS GET offering these ALPN protocols (a browser offers h2 and http/1.1). */
function httpsGet(port: number, p: string, alpn: string[]): Promise<{ status: number; body: string; alpn: string | false | null }> {
  return new Promise((resolve, reject) => {
    const options = {
      host: '127.0.0.1',
      port,
      path: p,
      ca,
      servername: 'localhost',
      agent: false,
      ALPNProtocols: alpn,
    } as https.RequestOptions;
    const req = https.get(options, (res) => {
      let body = '';
      res.on('data', (c: Buffer) => (body += c.toString()));
      res.on('end', () => resolve({ status: res.statusCode!, body, alpn: (res.socket as import('node:tls').TLSSocket).alpnProtocol }));
    });
    req.on('error', reject);
  });
}

test('TLS_CERT_LOCATION / TLS_KEY_LOCATION: HTTPS stays HTTP/1.1 for browsers, gRPC over TLS on the same port', async () => {
  const svc = await startCaptured({ TLS_CERT_LOCATION: certFile, TLS_KEY_LOCATION: keyFile, NAME: 'secure' });
  const client = new grpc.Client(`localhost:${svc.port}`, grpc.credentials.createSsl(ca));
  try {
    const res = await httpsGet(svc.port, '/tls', ['h2', 'http/1.1']);
    assert.equal(res.status, 200);
    assert.equal(res.alpn, 'http/1.1');
    assert.match(res.body, /"name": "secure",\n {2}"uri": "\/tls"/);
    const reply = await new Promise<Buffer>((resolve, reject) =>
      client.makeUnaryRequest(
        '/FakeService/Handle',
        (b: Buffer) => b,
        (b: Buffer) => b,
        Buffer.alloc(0),
        (e, r) => (e ? reject(e) : resolve(r!)),
      ),
    );
    assert.match(reply.toString('utf8'), /"name": "secure"/);
    assert.match(svc.text(), /\[INFO\] {2}Enabling TLS for HTTP endpoint\n/);
  } finally {
    client.close();
    await svc.close();
  }
});

test('the echo backend on HTTPS_PORT reports the TLS session in `tls`', async () => {
  const echo = await startEchoBackend(
    { TLS_SERVER_CERT: certFile, TLS_SERVER_PRIVKEY: keyFile, NAMESPACE: 'ns', POD_NAME: 'tls-backend-1-2' },
    { host: '127.0.0.1', httpPort: 0, h2cPort: 0, httpsPort: 0, stdout: () => {}, shutdownGraceMs: 200 },
  );
  try {
    const res = await httpsGet(echo.ports.https!, '/secure', ['http/1.1']);
    const doc = JSON.parse(res.body) as {
      proto: string;
      tls: { version: string; serverName: string; negotiatedProtocol?: string; cipherSuite: string };
    };
    assert.equal(doc.proto, 'HTTP/1.1');
    assert.equal(doc.tls.negotiatedProtocol, 'http/1.1');
    assert.equal(doc.tls.version, 'TLSv1.3');
    assert.equal(doc.tls.serverName, 'localhost');
    assert.match(doc.tls.cipherSuite, /^TLS_/);
  } finally {
    await echo.close();
  }
});

test('LOAD_CPU_* and LOAD_MEMORY_*: load while a request runs, logged by load_generator, stopped on close', async () => {
  const svc = await startCaptured({
    LOAD_CPU_CORES: '1',
    LOAD_CPU_PERCENTAGE: '20',
    LOAD_MEMORY_PER_REQUEST: '1048576',
    TIMING_50_PERCENTILE: '150ms',
  });
  try {
    const before = process.cpuUsage();
    assert.equal((await httpRequest(svc.port, '/')).status, 200);
    const used = process.cpuUsage(before);
    assert.ok(used.user > 5_000, `CPU used by the load thread: ${used.user} µs`);
    assert.match(svc.text(), /\[INFO\] {2}load_generator: Generating CPU Load: cores=1 percentage=20\n/);
    assert.match(svc.text(), /\[INFO\] {2}load_generator: Allocated memory: MB=\d+ mem=1048576\n/);
  } finally {
    await svc.close();
  }
  await assert.rejects(startCaptured({ LOAD_CPU_PERCENTAGE: '150' }), /got percentage: 150\.000000 which is not between 0 and 100/);
});
