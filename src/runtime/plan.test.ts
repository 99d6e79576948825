import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Diagnostics } from '../config/model.js';
import { loadManifests } from '../config/load/load-manifests.js';
import { expandEnv, imageKind, planDeployments } from './plan.js';

function plan(yaml: string) {
  const diags = new Diagnostics();
  const objects = loadManifests([{ name: 'm.yaml', text: yaml }], diags);
  return { plans: planDeployments(objects, diags), diags: diags.items };
}

const deployment = (image: string, extra = '') => `
apiVersion: apps/v1
kind: Deployment
metadata: { name: web, namespace: shop }
spec:
  replicas: 3
  selector: { matchLabels: { app: web } }
  template:
    metadata:
      labels: { app: web, topology.kubernetes.io/region: r1, topology.kubernetes.io/zone: z1 }
    spec:
      containers:
        - name: app
          image: ${image}
          ports: [{ name: http, containerPort: 9090 }]
          env:
            - { name: NAME, value: web }
            - { name: GREETING, value: "hi $(NAME) $$(NAME) $(MISSING)" }
${extra}`;

describe('runtime plan', () => {
  it('a known image becomes one instance per replica with pod-like names, labels, env, ports and locality', () => {
    const { plans, diags } = plan(deployment('nicholasjackson/fake-service:v0.26.2'));
    assert.deepEqual(diags, []);
    assert.equal(plans.length, 3);
    const names = plans.map((p) => p.podName);
    for (const n of names) assert.match(n, /^web-[bcdfghjklmnpqrstvwxz2456789]{10}-[bcdfghjklmnpqrstvwxz2456789]{5}$/);
    assert.equal(new Set(names).size, 3);
    // Same ReplicaSet hash for every replica, as Kubernetes names them.
    assert.equal(new Set(names.map((n) => n.split('-')[1])).size, 1);
    const p = plans[0]!;
    assert.equal(p.kind, 'fake-service');
    assert.equal(p.namespace, 'shop');
    assert.deepEqual(p.ports, [{ name: 'http', containerPort: 9090 }]);
    assert.deepEqual(p.env, { NAME: 'web', GREETING: 'hi web $(NAME) $(MISSING)' });
    assert.deepEqual(p.locality, { region: 'r1', zone: 'z1' });
    // Stable across runs: the same manifest gives the same names.
    assert.deepEqual(
      plan(deployment('nicholasjackson/fake-service:v0.26.2')).plans.map((x) => x.podName),
      names,
    );
  });

  it('an unknown image is an error that says how to point the Service elsewhere', () => {
    const { plans, diags } = plan(deployment('example.com/shop/web:1.0'));
    assert.equal(plans.length, 0);
    assert.equal(diags.length, 1);
    assert.equal(diags[0]!.code, 'E_RUNTIME_UNKNOWN_IMAGE');
    assert.match(diags[0]!.message, /example\.com\/shop\/web:1\.0/);
    assert.match(diags[0]!.fix!, /--backend NAMESPACE\/SERVICE=HOST:PORT/);
    assert.equal(diags[0]!.field, 'spec.template.spec.containers[0].image');
  });

  it('a selector that does not match the template labels is rejected as the API server does', () => {
    const { plans, diags } = plan(
      deployment('nicholasjackson/fake-service').replace('matchLabels: { app: web }', 'matchLabels: { app: api }'),
    );
    assert.equal(plans.length, 0);
    assert.equal(diags[0]!.code, 'E_RUNTIME_SELECTOR_MISMATCH');
  });

  it('recognises images by repository whatever the registry prefix, tag or digest', () => {
    assert.equal(imageKind('nicholasjackson/fake-service:v0.26.2'), 'fake-service');
    assert.equal(imageKind('docker.io/nicholasjackson/fake-service@sha256:abc'), 'fake-service');
    assert.equal(imageKind('gcr.io/k8s-staging-gateway-api/echo-basic:v20231214-v1.0.0-140-gf544a46e'), 'echo');
    assert.equal(imageKind('nginx:1.25'), undefined);
  });

  it('expands $(VAR) from earlier variables only', () => {
    assert.deepEqual(
      expandEnv([
        { name: 'B', value: '$(A)' },
        { name: 'A', value: 'x' },
        { name: 'C', value: '$(A)-$(B)' },
      ]),
      { B: '$(A)', A: 'x', C: 'x-$(A)' },
    );
  });
});
