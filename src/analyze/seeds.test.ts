// Both seed manifests, unchanged, through `legate analyze`: what it finds must be true of them.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { Diagnostics } from '../config/model.js';
import { loadManifests, readSources } from '../config/load/load-manifests.js';
import { analyze } from './analyze.js';

const example = (p: string) => fileURLToPath(new URL(`../../../examples/${p}`, import.meta.url));

async function findings(path: string) {
  const diags = new Diagnostics();
  return analyze(loadManifests(await readSources([path]), diags), diags).findings;
}

test('first seed (Envoy Gateway gRPC retry): the 15 s default on a GRPCRoute, the unretried 250 ms per-try timeout, the dropped 503', async () => {
  const f = await findings(example('grpc-retry/grpc-routing.yaml'));
  assert.deepEqual(
    f.map((x) => `${x.severity} ${x.code} ${x.object} ${x.field}`),
    [
      'warning A_ROUTE_TIMEOUT_CUTS_STREAMS GRPCRoute/default/fake spec.rules[0]',
      'warning A_PER_TRY_TIMEOUT_NOT_RETRIED BackendTrafficPolicy/default/retry-policy spec.retry.perRetry.timeout',
      'warning A_RETRY_TRIGGER_WITHOUT_CODES BackendTrafficPolicy/default/retry-policy spec.retry.retryOn.triggers',
    ],
  );
  // fake-service fails every 2nd call with grpc-status 14 (trailers-only), which `unavailable` retries: nothing to say.
  assert.ok(!f.some((x) => x.code.startsWith('A_FAKE_SERVICE') || x.code === 'A_GRPC_STATUS_IN_TRAILERS'));
  // 6 x 250 ms + at most 3.1 s of backoff fit in 15 s.
  assert.ok(!f.some((x) => x.code === 'A_RETRY_TIMEOUT_BUDGET'));
});

test("first seed with its commented-out fault: the article's retry that never happened is A_FAULT_NOT_RETRIED", async () => {
  const text = (await readFile(example('grpc-retry/grpc-routing.yaml'), 'utf8')).replace(/^ {2}# ?/gm, '  ');
  assert.match(text, /^ {2}faultInjection:$/m);
  const diags = new Diagnostics();
  const f = analyze(loadManifests([{ name: 'seed.yaml', text }], diags), diags).findings.filter((x) => x.code === 'A_FAULT_NOT_RETRIED');
  assert.equal(f.length, 1);
  assert.equal(f[0]!.field, 'spec.faultInjection.abort.grpcStatus');
  assert.match(f[0]!.message, /aborts 50% of requests with grpc-status 14 .* although unavailable would retry that status/);
});

test('second seed (Istio resilience): the 503s of example-app-1c are not retried, only ejected; the per-try timeout is never retried', async () => {
  const f = await findings(example('istio-resilience/'));
  assert.deepEqual(
    f.map((x) => `${x.severity} ${x.code} ${x.object}`),
    [
      'info A_FAKE_SERVICE_ERROR_NOT_RETRIED Deployment/default/example-app-1c',
      'warning A_PER_TRY_TIMEOUT_NOT_RETRIED VirtualService/default/example-app',
    ],
  );
  assert.match(
    f[0]!.message,
    /fails every request with HTTP 503; .* until outlier detection ejects the pod \(after 3 consecutive gateway errors\)/,
  );
  assert.match(f[1]!.message, /3 attempts x 5s exceeding the 10s route timeout does not matter/);
  // The DestinationRule turns locality LB off explicitly, so outlier detection does not switch on
  // failover; maxEjectionPercent 99 lets 2 of the 3 pods be ejected.
  assert.ok(!f.some((x) => x.code === 'A_OUTLIER_DETECTION_ENABLES_FAILOVER' || x.code === 'A_OUTLIER_NEVER_EJECTS'));
});
