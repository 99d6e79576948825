/**
 * Schema rules of the Envoy Gateway objects (schema.ts) that the hand-written checks did not
 * enforce, each with a manifest that breaks it and one that does not; and the spec-level checks
 * (unknown and case-variant top-level fields, fields legate does not read).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { loadManifests } from '../../load/load-manifests.js';
import { Diagnostics } from '../../model.js';
import { translate } from '../../translate.js';
import { buildCircuitBreaker } from './build-circuit-breaker.js';
import { buildLoadBalancer } from './build-load-balancer.js';
import { buildRetry } from './build-retry.js';
import { buildTrafficFeatures } from './build-traffic-features.js';
import { readPolicyTargets } from './precedence.js';
import { BackendTrafficPolicySpec } from './schema.js';
import { btp, codes, run } from './test-fixtures.js';

const TARGET = 'targetRefs: [{group: gateway.networking.k8s.io, kind: HTTPRoute, name: r}]\n';

function targets(spec: string): { ok: boolean; diags: Diagnostics } {
  const diags = new Diagnostics();
  return { ok: readPolicyTargets(btp(spec), diags, BackendTrafficPolicySpec) !== undefined, diags };
}

test('spec: an unknown top-level field is a warning naming the nearest field; the policy still applies', () => {
  const { ok, diags } = targets(`${TARGET}rateLimits: {}`);
  assert.ok(ok);
  assert.deepEqual(codes(diags), ['W_EG_UNKNOWN_FIELD spec.rateLimits']);
  assert.equal(diags.items[0]!.fix, 'did you mean "rateLimit"?');
  assert.deepEqual(codes(targets(`${TARGET}rateLimit: {}`).diags), []);
});

test('spec: a feature key in another letter case is read, with W_EG_FIELD_CASE once', () => {
  const { ok, diags } = targets(`${TARGET}Retry: {numRetries: 5}`);
  assert.ok(ok);
  assert.deepEqual(codes(diags), ['W_EG_FIELD_CASE spec.Retry']);
  const features = buildTrafficFeatures(btp(`${TARGET}Retry: {numRetries: 5}`), new Diagnostics());
  assert.equal(features.retry?.numRetries, 5);
  assert.equal(
    features.retry?.origin['numRetries']?.kind === 'manifest' && features.retry.origin['numRetries'].field,
    'spec.Retry.numRetries',
  );
});

test('spec: fields legate does not read must still have their type; otherwise the API server refuses the policy', () => {
  const bad = targets(`${TARGET}rateLimit: 5`);
  assert.ok(!bad.ok);
  assert.deepEqual(
    bad.diags.items.map((d) => `${d.code} ${d.message}`),
    ['E_EG_POLICY_INVALID spec.rateLimit must be an object, not 5'],
  );
});

test('spec: compression and compressor are exclusive (CEL)', () => {
  const bad = targets(`${TARGET}compression: [{type: Gzip}]\ncompressor: [{type: Gzip}]`);
  assert.deepEqual(
    bad.diags.items.map((d) => d.message),
    ['either compression or compressor can be set, not both'],
  );
  assert.ok(targets(`${TARGET}compressor: [{type: Gzip}]`).ok);
});

test('spec: a target names its object and section with the Gateway API patterns', () => {
  const bad = targets('targetRefs: [{group: gateway.networking.k8s.io, kind: Gateway, name: "", sectionName: Bad_Section}]');
  assert.deepEqual(
    bad.diags.items.map((d) => d.field),
    ['spec.targetRefs[0].name', 'spec.targetRefs[0].sectionName'],
  );
  assert.ok(targets('targetRefs: [{group: gateway.networking.k8s.io, kind: Gateway, name: gw, sectionName: http}]').ok);
});

test('feature: an unknown nested field names the nearest one', () => {
  const { value, diags } = run(buildCircuitBreaker, btp('circuitBreaker: {maxConnection: 5}'));
  assert.ok(value);
  assert.deepEqual(codes(diags), ['W_EG_UNKNOWN_FIELD spec.circuitBreaker.maxConnection']);
  assert.equal(diags.items[0]!.fix, 'did you mean "maxConnections"?');
});

test('feature: every problem of a feature is reported at once, schema and Envoy Gateway rules alike', () => {
  const { value, diags } = run(buildRetry, btp('retry:\n  numRetries: -1\n  perRetry: {backOff: {baseInterval: 2s, maxInterval: 1s}}'));
  assert.equal(value, undefined);
  assert.deepEqual(
    diags.items.map((d) => d.message),
    ['spec.retry.numRetries in body should be greater than or equal to 0', 'maxInterval cannot be less than baseInterval'],
  );
  assert.equal(
    buildTrafficFeatures(btp('retry:\n  numRetries: -1\n  perRetry: {backOff: {baseInterval: 2s, maxInterval: 1s}}'), new Diagnostics())
      .error,
    'Retry: spec.retry.numRetries in body should be greater than or equal to 0.',
  );
});

test('feature: endpointOverride is refused with a DynamicModule load balancer (CEL)', () => {
  const bad = run(
    buildLoadBalancer,
    btp('loadBalancer:\n  type: DynamicModule\n  dynamicModule: {name: m}\n  endpointOverride: {extractFrom: [{header: x}]}'),
  );
  assert.equal(bad.value, undefined);
  assert.ok(bad.diags.items.some((d) => d.message === 'EndpointOverride is not supported for DynamicModule load balancers.'));
  const good = run(buildLoadBalancer, btp('loadBalancer:\n  type: RoundRobin\n  endpointOverride: {extractFrom: [{header: x}]}'));
  assert.deepEqual(good.value?.endpointOverride, { headers: ['x'] });
});

test('feature: a null field reads as absent, as the API server prunes it', () => {
  const { value, diags } = run(buildRetry, btp('retry:\n  numRetries:\n  perRetry:'));
  assert.equal(value?.numRetries, 2);
  assert.deepEqual(codes(diags), []);
});

const envoyProxy = (spec: string) => `apiVersion: gateway.envoyproxy.io/v1alpha1
kind: EnvoyProxy
metadata: {name: proxy, namespace: envoy-gateway-system}
spec:
${spec}
---
apiVersion: gateway.networking.k8s.io/v1
kind: GatewayClass
metadata: {name: eg}
spec:
  controllerName: gateway.envoyproxy.io/gatewayclass-controller
  parametersRef: {group: gateway.envoyproxy.io, kind: EnvoyProxy, name: proxy, namespace: envoy-gateway-system}
`;

function translateText(text: string) {
  const diags = new Diagnostics();
  return translate(loadManifests([{ name: 'ep.yaml', text }], diags), {}, diags);
}

test('EnvoyProxy: an invalid one is refused, so the GatewayClass naming it has InvalidParameters', () => {
  const r = translateText(
    envoyProxy('  provider: {type: Kubernetes}\n  shutdown: {drainTimeout: 1.5s}\n  logging: {level: {default: verbose}}'),
  );
  assert.deepEqual(
    r.diagnostics.map((d) => `${d.code} ${d.field}`),
    [
      'E_EG_ENVOYPROXY_INVALID spec.shutdown.drainTimeout',
      'E_EG_ENVOYPROXY_INVALID spec.logging.level.default',
      'W_GWAPI_INVALID_PARAMETERS spec.parametersRef',
    ],
  );
  assert.equal(r.status.find((s) => s.object === 'GatewayClass/eg')?.conditions[0]?.reason, 'InvalidParameters');
});

test('EnvoyProxy: a valid one with the fields of config-apis.md 2.1 is accepted', () => {
  const r = translateText(
    envoyProxy(
      '  provider:\n    type: Kubernetes\n    kubernetes:\n      envoyService: {type: LoadBalancer, externalTrafficPolicy: Cluster, loadBalancerIP: 10.0.0.1}\n      envoyDeployment: {replicas: 2, pod: {labels: {a: b}}}\n      useListenerPortAsContainerPort: true\n  shutdown: {drainTimeout: 30s, minDrainDuration: 5s}\n  logging: {level: {default: info, upstream: debug}}\n  mergeGateways: true\n  routingType: Service',
    ),
  );
  assert.deepEqual(r.diagnostics, []);
  assert.equal(r.status.find((s) => s.object === 'GatewayClass/eg')?.conditions[0]?.reason, 'Accepted');
});

test('EnvoyProxy: a load-balancer setting on a ClusterIP Service is refused (CEL)', () => {
  const r = translateText(
    envoyProxy('  provider:\n    type: Kubernetes\n    kubernetes:\n      envoyService: {type: ClusterIP, loadBalancerIP: 10.0.0.1}'),
  );
  assert.equal(r.diagnostics[0]?.message, 'loadBalancerIP can only be set for LoadBalancer type');
});
