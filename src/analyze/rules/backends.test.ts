import { test } from 'node:test';
import assert from 'node:assert/strict';
import { analyzeYaml, GATEWAY, deployment, service, withCode, virtualService } from '../../../test/helpers/analyze.js';

const vs = (subset: string) =>
  virtualService(
    'api',
    `[{route: [{destination: {host: api, subset: v1}, weight: 80}, {destination: {host: api, subset: ${subset}}, weight: 20}]}]`,
  );
const dr = `
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: {name: api}
spec:
  host: api
  subsets: [{name: v1, labels: {version: v1}}, {name: v2, labels: {version: v2}}]`;
const pods = (...versions: string[]) => [
  service('api'),
  ...versions.map((v) => deployment(`api-${v}`, { app: 'api', labels: { version: v } })),
];

test('A_BACKEND_NOT_FOUND: an undefined subset takes its share of traffic (error); a defined one does not', () => {
  const [f] = withCode(analyzeYaml(...pods('v1', 'v2'), dr, vs('v3')), 'A_BACKEND_NOT_FOUND');
  assert.equal(f!.severity, 'error');
  assert.equal(f!.field, 'spec.http[0].route[1].destination.subset');
  assert.match(f!.message, /^20% of the requests on this route \(weight 20 of 100\) go to a backend that does not exist and get 503/);
  assert.match(f!.involves[0]!.value!, /"api\.default\.svc\.cluster\.local\+v3"/);
  assert.deepEqual(withCode(analyzeYaml(...pods('v1', 'v2'), dr, vs('v2')), 'A_BACKEND_NOT_FOUND'), []);
});

test('A_BACKEND_NOT_FOUND: a Gateway API backendRef to a missing Service gets 500', () => {
  const route = `
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: api}
spec:
  parentRefs: [{name: gw}]
  rules: [{backendRefs: [{name: api, port: 80}, {name: gone, port: 80}]}]`;
  const [f] = withCode(analyzeYaml(GATEWAY, ...pods('v1'), route), 'A_BACKEND_NOT_FOUND');
  assert.equal(f!.field, 'spec.rules[0].backendRefs[1]');
  assert.match(f!.message, /^50% .* get 500/);
});

test('A_SUBSET_WITHOUT_ENDPOINTS: a subset whose labels match no pod; not once a pod has them', () => {
  const [f] = withCode(analyzeYaml(...pods('v1'), dr, vs('v2')), 'A_SUBSET_WITHOUT_ENDPOINTS');
  assert.equal(f!.object, 'DestinationRule/default/api');
  assert.equal(f!.field, 'spec.subsets[1].labels');
  assert.match(
    f!.message,
    /subset v2 of api\.default\.svc\.cluster\.local selects none of the service's 1 endpoint \(no pod has the labels version=v2\)/,
  );
  assert.deepEqual(withCode(analyzeYaml(...pods('v1', 'v2'), dr, vs('v2')), 'A_SUBSET_WITHOUT_ENDPOINTS'), []);
});
