import { test } from 'node:test';
import assert from 'node:assert/strict';
import { apiGroup, apiVersionProblem, isKind } from './api-group.js';
import { isClusterScoped } from './cluster-scoped.js';

test('apiGroup', () => {
  assert.equal(apiGroup('v1'), '');
  assert.equal(apiGroup('apps/v1'), 'apps');
  assert.equal(apiGroup('gateway.networking.k8s.io/v1beta1'), 'gateway.networking.k8s.io');
});

test('isKind matches the group whatever the version', () => {
  const route = (apiVersion: string) => ({ apiVersion, kind: 'HTTPRoute' });
  assert.ok(isKind(route('gateway.networking.k8s.io/v1'), 'gateway.networking.k8s.io', 'HTTPRoute'));
  assert.ok(isKind(route('gateway.networking.k8s.io/v1beta1'), 'gateway.networking.k8s.io', 'HTTPRoute'));
  assert.ok(!isKind(route('example.com/v1'), 'gateway.networking.k8s.io', 'HTTPRoute'));
  assert.ok(!isKind(route('gateway.networking.k8s.io/v1'), 'gateway.networking.k8s.io', 'GRPCRoute'));
  assert.ok(isKind({ apiVersion: 'v1', kind: 'Service' }, '', 'Service'));
  assert.ok(!isKind({ apiVersion: 'v1', kind: 'Service' }, 'v1', 'Service'));
});

test('apiVersionProblem', () => {
  for (const ok of ['v1', 'apps/v1', 'networking.istio.io/v1alpha3']) assert.equal(apiVersionProblem(ok), undefined, ok);
  for (const bad of ['a/b/c', '/v1', 'apps/', 'ap ps/v1']) assert.ok(apiVersionProblem(bad), bad);
});

test('isClusterScoped is group-aware', () => {
  assert.ok(isClusterScoped('gateway.networking.k8s.io/v1', 'GatewayClass'));
  assert.ok(isClusterScoped('v1', 'Namespace'));
  assert.ok(isClusterScoped('rbac.authorization.k8s.io/v1', 'ClusterRoleBinding'));
  assert.ok(!isClusterScoped('gateway.networking.k8s.io/v1', 'Gateway'));
  assert.ok(!isClusterScoped('example.com/v1', 'Namespace'));
});
