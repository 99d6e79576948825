import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import http2 from 'node:http2';
import { Proxy } from '../../src/dataplane/proxy.js';
import { config, cluster, route } from '../helpers/ir.js';
import { h2Request } from '../helpers/backends.js';

// An h2c backend that allows 2 concurrent streams per connection and answers after 150 ms.
const sessions = new Set<http2.ServerHttp2Session>();
let maxPerSession = 0;
const server = http2.createServer({ settings: { maxConcurrentStreams: 2 } });
server.on('session', (s) => {
  sessions.add(s);
  let active = 0;
  s.on('stream', (stream) => {
    active++;
    maxPerSession = Math.max(maxPerSession, active);
    stream.on('error', () => {});
    setTimeout(() => {
      stream.respond({ ':status': 200 });
      stream.end('ok');
      active--;
    }, 150);
  });
});
await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
const backendPort = (server.address() as { port: number }).port;
const proxy = await Proxy.start(config([route('all')], [cluster('backend', [backendPort], { protocol: 'http2' })]));

after(async () => {
  await proxy.close();
  for (const s of sessions) s.destroy();
  await new Promise<void>((r) => server.close(() => r()));
});

test("opens another HTTP/2 session when every open one is at the peer's stream limit", async () => {
  const port = proxy.port('main');
  const results = await Promise.all(Array.from({ length: 6 }, () => h2Request(port, { ':method': 'GET' })));
  for (const r of results) {
    assert.equal(r.status, 200);
    assert.equal(r.body.toString(), 'ok');
  }
  assert.ok(maxPerSession <= 2, `a session carried ${maxPerSession} streams`);
  assert.ok(sessions.size >= 3, `only ${sessions.size} upstream sessions for 6 concurrent streams at 2 each`);
});
