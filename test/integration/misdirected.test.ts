import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import http2 from 'node:http2';
import https from 'node:https';
import { Proxy } from '../../src/dataplane/proxy.js';
import type * as ir from '../../src/ir/index.js';
import { config, cluster, route } from '../helpers/ir.js';
import { h1Backend } from '../helpers/backends.js';
import { selfSignedCert } from '../helpers/capture.js';

// One TLS socket for several HTTPS listener host names (listener `tlsHostnames`): a request whose
// Host belongs to another of them than its SNI gets 421 Misdirected Request.

const backend = await h1Backend((req, res) => res.end(`ok ${req.headers.host}`));
const cert = selfSignedCert({ subjectAltNames: ['DNS:*.example'] });
after(async () => {
  await backend.close();
  cert.cleanup();
});

const vhost = (name: string): ir.VirtualHost => ({
  name,
  domains: [name],
  routeOrder: 'gateway-api',
  routes: [route(`r-${name}`)],
  origin: {},
});

async function start(): Promise<Proxy> {
  const c = config([], [cluster('backend', [backend.port], { protocol: 'http1' })], {
    listener: { tls: { cert: cert.cert, key: cert.key }, tlsHostnames: ['*', 'a.example', '*.w.example'] },
  });
  c.listeners[0]!.virtualHosts = [vhost('a.example'), vhost('*.w.example'), vhost('*')];
  return Proxy.start(c);
}

function h2(port: number, servername: string | undefined, authority: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = http2.connect(`https://127.0.0.1:${port}`, { ...(servername ? { servername } : {}), rejectUnauthorized: false });
    s.on('error', reject);
    const st = s.request({ ':path': '/', ':authority': authority }, { endStream: true });
    st.on('response', (h) => {
      st.resume();
      st.on('end', () => {
        s.close();
        resolve(Number(h[':status']));
      });
    });
    st.on('error', reject);
  });
}

test('HTTP/2: Host and SNI on the same listener name are served; on different ones, 421', async () => {
  const proxy = await start();
  try {
    const port = proxy.port('main');
    const cases: [string, string, number][] = [
      ['a.example', 'a.example', 200],
      ['x.w.example', 'y.w.example', 200],
      ['other.example', 'another.example', 200],
      ['a.example', 'x.w.example', 421],
      ['x.w.example', 'a.example', 421],
      ['other.example', 'a.example', 421],
      ['a.example', 'other.example', 421],
    ];
    for (const [sni, host, want] of cases) assert.equal(await h2(port, sni, host), want, `SNI ${sni}, Host ${host}`);
    assert.equal(await h2(port, undefined, 'a.example'), 200, 'no SNI, nothing to compare');
  } finally {
    await proxy.close();
  }
});

test('HTTP/1.1 over TLS: the same check, with the body saying why', async () => {
  const proxy = await start();
  try {
    const res = await new Promise<{ status: number; body: string }>((resolve, reject) => {
      const req = https.request(
        {
          host: '127.0.0.1',
          port: proxy.port('main'),
          servername: 'a.example',
          headers: { host: 'x.w.example' },
          rejectUnauthorized: false,
          agent: false,
        },
        (r) => {
          let body = '';
          r.on('data', (c: Buffer) => (body += c));
          r.on('end', () => resolve({ status: r.statusCode!, body }));
        },
      );
      req.on('error', reject);
      req.end();
    });
    assert.deepEqual(res, { status: 421, body: 'misdirected request' });
  } finally {
    await proxy.close();
  }
});
