import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import grpc from '@grpc/grpc-js';
import { Diagnostics } from '../../src/config/model.js';
import { loadManifests } from '../../src/config/load/load-manifests.js';
import { translate } from '../../src/config/translate.js';
import { Proxy } from '../../src/dataplane/proxy.js';
import { h2Backend } from '../helpers/backends.js';

// The first seed's manifest, unchanged: GRPCRoute to Service fake:9000 with a BackendTrafficPolicy
// retrying `unavailable` 5 times. Its Deployment's pod is stood in for by a gRPC backend that fails
// every other call with a trailers-only UNAVAILABLE (fake-service's ERROR_RATE 0.5, ERROR_CODE 14).
const manifest = fileURLToPath(new URL('../../../examples/grpc-retry/grpc-routing.yaml', import.meta.url));
let calls = 0;
const backend = await h2Backend((stream) => {
  stream.on('data', () => {});
  stream.on('end', () => {
    if (stream.destroyed) return;
    if (++calls % 2 === 1) {
      stream.respond(
        { ':status': 200, 'content-type': 'application/grpc', 'grpc-status': '14', 'grpc-message': 'Service unavailable' },
        { endStream: true },
      );
      return;
    }
    stream.respond({ ':status': 200, 'content-type': 'application/grpc' }, { waitForTrailers: true });
    stream.on('wantTrailers', () => stream.sendTrailers({ 'grpc-status': '0' }));
    stream.end(Buffer.from([0, 0, 0, 0, 0]));
  });
});
after(() => backend.close());

function translated() {
  const diags = new Diagnostics();
  const objects = loadManifests([manifest], diags);
  const result = translate(
    objects,
    {
      runtimeEndpoints: (ns, svc) =>
        ns === 'default' && svc === 'fake' ? [{ address: '127.0.0.1', port: backend.port, weight: 1, priority: 0 }] : undefined,
    },
    diags,
  );
  // Port 80 needs privileges; legate run --port-offset will do this (issue 6).
  for (const l of result.config.listeners) l.port = 0;
  return result;
}

test('the seed manifest translates with no error and the policy is accepted', () => {
  const r = translated();
  assert.deepEqual(
    r.diagnostics.filter((d) => d.severity === 'error'),
    [],
  );
  assert.equal(r.policyStatus[0]!.ancestors[0]!.conditions[0]!.reason, 'Accepted');
  const route = r.config.listeners[0]!.virtualHosts[0]!.routes[0]!;
  assert.equal(route.retry!.numRetries, 5);
  assert.equal(route.retry!.perTryTimeoutMs, 250);
});

test('through legate every call succeeds although the backend fails half of them', async () => {
  const proxy = await Proxy.start(translated().config);
  try {
    const client = new grpc.Client(`127.0.0.1:${proxy.port('http-80')}`, grpc.credentials.createInsecure(), {
      'grpc.default_authority': 'grpc-example.com',
    });
    const unary = () =>
      new Promise<number>((resolve) =>
        client.makeUnaryRequest(
          '/FakeService/Handle',
          (x: Buffer) => x,
          (x: Buffer) => x,
          Buffer.alloc(0),
          (err) => resolve(err ? err.code : 0),
        ),
      );
    const before = calls;
    const codes: number[] = [];
    for (let i = 0; i < 40; i++) codes.push(await unary());
    client.close();
    assert.deepEqual(
      codes.filter((c) => c !== 0),
      [],
      'no call failed',
    );
    assert.ok(calls - before >= 60, `backend saw ${calls - before} attempts for 40 calls`);
    assert.ok(proxy.cluster('default/fake:9000')!.stats.upstream_rq_retry >= 20);
  } finally {
    await proxy.close();
  }
});
