import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import https from 'node:https';
import http2 from 'node:http2';
import fs from 'node:fs';
import type { TLSSocket } from 'node:tls';
import { Proxy } from '../../src/dataplane/proxy.js';
import { selfSignedCert } from '../helpers/cert.js';
import { config, cluster, route } from '../helpers/ir.js';
import { h1Backend } from '../helpers/backends.js';
import { CollectingLog } from '../helpers/access-log.js';

const tlsFiles = selfSignedCert('legate-tls-');
const { cert, key } = tlsFiles;
fs.rmSync(tlsFiles.dir, { recursive: true, force: true });

const backend = await h1Backend((req, res) => {
  res.writeHead(200, { 'content-type': 'application/json' });
  res.end(JSON.stringify({ url: req.url, headers: req.headers }));
});

const log = new CollectingLog();
const proxy = await Proxy.start(
  config([route('all')], [cluster('backend', [backend.port], { protocol: 'http1' })], { listener: { tls: { cert, key } } }),
  { accessLog: log },
);
const port = proxy.port('main');

after(async () => {
  await proxy.close(200);
  await backend.close();
});

type Seen = { url: string; headers: Record<string, string> };

function httpsGet(pathname: string, alpn: string[] | undefined): Promise<{ status: number; alpn: string | false | null; seen: Seen }> {
  return new Promise((resolve, reject) => {
    const req = https.request(
      {
        host: '127.0.0.1',
        port,
        path: pathname,
        ca: cert,
        servername: 'localhost',
        agent: false,
        ...(alpn ? { ALPNProtocols: alpn } : {}),
      },
      (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => (body += c));
        res.on('end', () =>
          resolve({ status: res.statusCode ?? 0, alpn: (res.socket as TLSSocket).alpnProtocol, seen: JSON.parse(body) as Seen }),
        );
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end();
  });
}

test('TLS with ALPN h2: answered over HTTP/2, x-forwarded-proto https', async () => {
  const before = log.entries.length;
  const session = http2.connect(`https://127.0.0.1:${port}`, { ca: cert });
  try {
    const r = await new Promise<{ status: number; body: string }>((resolve, reject) => {
      session.on('error', reject);
      const stream = session.request({ ':path': '/over-h2' });
      let status = 0;
      let body = '';
      stream.setEncoding('utf8');
      stream.on('response', (h) => (status = Number(h[':status'])));
      stream.on('data', (c: string) => (body += c));
      stream.on('end', () => resolve({ status, body }));
      stream.on('error', reject);
    });
    assert.equal(session.alpnProtocol, 'h2');
    assert.equal(r.status, 200);
    const seen = JSON.parse(r.body) as Seen;
    assert.equal(seen.url, '/over-h2');
    assert.equal(seen.headers['x-forwarded-proto'], 'https');
  } finally {
    session.close();
  }
  await log.waitFor(before + 1);
  assert.equal(log.last().protocol, 'HTTP/2');
  assert.equal(log.last().status, 200);
});

test('TLS with ALPN http/1.1: answered over HTTP/1.1, x-forwarded-proto https', async () => {
  const before = log.entries.length;
  const r = await httpsGet('/over-h1', ['http/1.1']);
  assert.equal(r.alpn, 'http/1.1');
  assert.equal(r.status, 200);
  assert.equal(r.seen.url, '/over-h1');
  assert.equal(r.seen.headers['x-forwarded-proto'], 'https');
  await log.waitFor(before + 1);
  assert.equal(log.last().protocol, 'HTTP/1.1');
});

test('TLS without ALPN falls back to HTTP/1.1', async () => {
  const before = log.entries.length;
  const r = await httpsGet('/no-alpn', undefined);
  assert.equal(r.alpn, false);
  assert.equal(r.status, 200);
  assert.equal(r.seen.headers['x-forwarded-proto'], 'https');
  await log.waitFor(before + 1);
  assert.equal(log.last().protocol, 'HTTP/1.1');
});
