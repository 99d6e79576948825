import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import http2 from 'node:http2';
import v8 from 'node:v8';
import vm from 'node:vm';
import { Proxy } from '../../src/dataplane/proxy.js';
import { config, cluster, route } from '../helpers/ir.js';

// Retained memory per proxied call: after warm-up, thousands more gRPC calls through the HTTP/2
// codec on both sides must leave the heap where it was once garbage is collected.

v8.setFlagsFromString('--expose-gc');
const gc = vm.runInNewContext('gc') as () => void;
const MESSAGE = Buffer.from([0, 0, 0, 0, 2, 8, 1]);

const backend = http2.createServer();
backend.on('stream', (st) => {
  st.on('data', () => {});
  st.on('end', () => {
    st.respond({ ':status': 200, 'content-type': 'application/grpc' }, { waitForTrailers: true });
    st.on('wantTrailers', () => st.sendTrailers({ 'grpc-status': '0' }));
    st.end(MESSAGE);
  });
});
await new Promise<void>((r) => backend.listen(0, '127.0.0.1', r));
const port = (backend.address() as { port: number }).port;
const proxy = await Proxy.start(config([route('r')], [cluster('backend', [port], { protocol: 'http2' })]));
const sessions = Array.from({ length: 4 }, () => http2.connect(`http://127.0.0.1:${proxy.port('main')}`));

after(async () => {
  for (const s of sessions) s.close();
  await proxy.close(200);
  await new Promise((r) => backend.close(r));
});

function call(s: http2.ClientHttp2Session): Promise<void> {
  return new Promise((resolve, reject) => {
    const st = s.request({ ':method': 'POST', ':path': '/pkg.Svc/Method', 'content-type': 'application/grpc', te: 'trailers' });
    let status: string | undefined;
    st.on('trailers', (t) => (status = t['grpc-status'] as string));
    st.on('data', () => {});
    st.on('error', reject);
    st.on('close', () => (status === '0' ? resolve() : reject(new Error(`grpc-status ${status}`))));
    st.end(MESSAGE);
  });
}

/** `n` calls, 8 in flight per session. */
async function calls(n: number): Promise<void> {
  let left = n;
  await Promise.all(
    sessions.flatMap((s) =>
      Array.from({ length: 8 }, async () => {
        while (left-- > 0) await call(s);
      }),
    ),
  );
}

function heapAfterGc(): number {
  gc();
  gc();
  return process.memoryUsage().heapUsed;
}

test('gRPC calls through the HTTP/2 codec retain nothing per call', async () => {
  await calls(4000); // warm-up: caches and pools reach their size
  const before = heapAfterGc();
  await calls(12000);
  const grown = heapAfterGc() - before;
  // 12,000 calls leaking even 100 bytes each would show as 1.2 MB.
  assert.ok(grown < 512 * 1024, `heap grew ${(grown / 1024).toFixed(0)} KiB over 12,000 calls`);
});
