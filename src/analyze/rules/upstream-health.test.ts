import { test } from 'node:test';
import assert from 'node:assert/strict';
import { analyzeYaml, GATEWAY, deployment, httpRoute, policy, service, withCode, virtualService } from '../../../test/helpers/analyze.js';

const vs = (retries = '') => virtualService('api', `[{${retries ? `retries: ${retries}, ` : ''}route: [{destination: {host: api}}]}]`);
const dr = (trafficPolicy: string) => `
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: {name: api}
spec: {host: api, trafficPolicy: ${trafficPolicy}}`;
const pods = (replicas: number) => [service('api'), deployment('api', { replicas })];

test('A_OUTLIER_NEVER_EJECTS: the default 10% with 3 hosts; not at 34%, nor with alwaysEjectOneEndpoint', () => {
  const [f] = withCode(analyzeYaml(...pods(3), vs(), dr('{outlierDetection: {consecutive5xxErrors: 3}}')), 'A_OUTLIER_NEVER_EJECTS');
  assert.equal(f!.object, 'DestinationRule/default/api');
  assert.match(f!.message, /maxEjectionPercent 10 with 3 hosts: ejecting even one host would be 33\.3%/);
  assert.match(f!.fix!, /at least 34/);
  assert.equal(f!.involves[1]!.derived, 'Deployment default/api (3 replicas)');
  const single = withCode(analyzeYaml(...pods(1), vs(), dr('{outlierDetection: {consecutive5xxErrors: 3}}')), 'A_OUTLIER_NEVER_EJECTS');
  assert.match(single[0]!.fix!, /single host there is nothing to eject to/);
  const enough = dr('{outlierDetection: {consecutive5xxErrors: 3, maxEjectionPercent: 34}}');
  assert.deepEqual(withCode(analyzeYaml(...pods(3), vs(), enough), 'A_OUTLIER_NEVER_EJECTS'), []);
  const eg = [GATEWAY, ...pods(3), httpRoute('api', 'api')];
  const passive = (extra: string) => policy('p', 'HTTPRoute', 'api', `healthCheck: {passive: {consecutive5XxErrors: 3${extra}}}`);
  assert.match(withCode(analyzeYaml(...eg, passive('')), 'A_OUTLIER_NEVER_EJECTS')[0]!.fix!, /alwaysEjectOneEndpoint: true/);
  assert.deepEqual(withCode(analyzeYaml(...eg, passive(', alwaysEjectOneEndpoint: true')), 'A_OUTLIER_NEVER_EJECTS'), []);
});

test('A_FAILOVER_WITHOUT_OUTLIER_DETECTION: failover is ignored without outlier detection', () => {
  const failover = '{loadBalancer: {localityLbSetting: {failover: [{from: r1, to: r2}]}}';
  const [f] = withCode(analyzeYaml(...pods(2), vs(), dr(`${failover}}`)), 'A_FAILOVER_WITHOUT_OUTLIER_DETECTION');
  assert.equal(f!.field, 'spec.trafficPolicy.loadBalancer.localityLbSetting');
  assert.match(f!.message, /Istio applies locality failover only to clusters with outlier detection/);
  const withOd = dr(`${failover}, outlierDetection: {consecutive5xxErrors: 3, maxEjectionPercent: 50}}`);
  assert.deepEqual(withCode(analyzeYaml(...pods(2), vs(), withOd), 'A_FAILOVER_WITHOUT_OUTLIER_DETECTION'), []);
});

test('A_OUTLIER_DETECTION_ENABLES_FAILOVER: endpoints in two zones; not with an explicit localityLbSetting', () => {
  const zone = (z: string, replicas: number) =>
    deployment(`api-${z}`, { app: 'api', replicas, labels: { 'topology.kubernetes.io/region': 'r1', 'topology.kubernetes.io/zone': z } });
  const docs = [service('api'), zone('z1', 2), zone('z2', 1), vs()];
  const [f] = withCode(analyzeYaml(...docs, dr('{outlierDetection: {consecutive5xxErrors: 3}}')), 'A_OUTLIER_DETECTION_ENABLES_FAILOVER');
  assert.equal(f!.severity, 'warning');
  assert.match(f!.message, /spread over 2 localities \(2 in r1\/z1, 1 in r1\/z2\)/);
  const off = dr('{outlierDetection: {consecutive5xxErrors: 3}, loadBalancer: {localityLbSetting: {enabled: false}}}');
  assert.deepEqual(withCode(analyzeYaml(...docs, off), 'A_OUTLIER_DETECTION_ENABLES_FAILOVER'), []);
});

test('A_MAX_RETRIES_CAPS_RETRIES: maxRetries below the requests a cluster admits; not when unset', () => {
  const retries = '{attempts: 3, retryOn: "connect-failure"}';
  const [f] = withCode(analyzeYaml(...pods(2), vs(retries), dr('{connectionPool: {http: {maxRetries: 3}}}')), 'A_MAX_RETRIES_CAPS_RETRIES');
  assert.equal(f!.field, 'spec.trafficPolicy.connectionPool.http.maxRetries');
  assert.match(f!.message, /at most 3 retries may be outstanding at once .*each request may retry up to 3 times/);
  assert.deepEqual(
    withCode(
      analyzeYaml(...pods(2), vs(retries), dr('{connectionPool: {http: {maxRetries: 100, http2MaxRequests: 100}}}')),
      'A_MAX_RETRIES_CAPS_RETRIES',
    ),
    [],
  );
  assert.deepEqual(withCode(analyzeYaml(...pods(2), vs(retries)), 'A_MAX_RETRIES_CAPS_RETRIES'), []);
});
