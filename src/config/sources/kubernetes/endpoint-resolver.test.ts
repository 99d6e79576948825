import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseAllDocuments } from 'yaml';
import type { LoadedObject } from '../../model.js';
import { KubernetesEndpoints } from './endpoint-resolver.js';

/** Minimal LoadedObjects from YAML text (positions: the document start). */
function objects(text: string): LoadedObject[] {
  return parseAllDocuments(text).map((d) => {
    const body = d.toJS() as Record<string, unknown>;
    const meta = body.metadata as { name: string; namespace?: string; labels?: Record<string, string> };
    const pos = { file: 'test.yaml', line: 1, column: 1 };
    return {
      apiVersion: body.apiVersion as string,
      kind: body.kind as string,
      metadata: { name: meta.name, namespace: meta.namespace ?? 'default', labels: meta.labels ?? {}, annotations: {} },
      body,
      pos,
      posOf: () => pos,
    };
  });
}

const manifests = `
apiVersion: v1
kind: Service
metadata: { name: web }
spec:
  selector: { app: web }
  ports:
  - { name: http, port: 80, targetPort: 8080, appProtocol: kubernetes.io/h2c }
  - { name: admin, port: 9000 }
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata: { name: web-abc, labels: { kubernetes.io/service-name: web } }
addressType: IPv4
ports:
- { name: http, port: 8080, protocol: TCP }
endpoints:
- addresses: [10.0.0.1]
  conditions: { ready: true }
  zone: zone-a
  targetRef: { kind: Pod, name: web-1 }
- addresses: [10.0.0.2]
  conditions: { ready: false }
- addresses: [10.0.0.3]
  conditions: { ready: false, serving: true, terminating: true }
- addresses: [10.0.0.4]
---
apiVersion: v1
kind: Service
metadata: { name: legacy }
spec:
  ports: [{ name: http, port: 80 }]
---
apiVersion: v1
kind: Endpoints
metadata: { name: legacy }
subsets:
- addresses: [{ ip: 10.1.0.1 }]
  notReadyAddresses: [{ ip: 10.1.0.2 }]
  ports: [{ name: http, port: 8081 }]
---
apiVersion: v1
kind: Service
metadata: { name: empty }
spec:
  ports: [{ port: 80 }]
`;

const r = new KubernetesEndpoints(objects(manifests));

test('EndpointSlices: matched by port name, endpoint port is the slice port, conditions to health', () => {
  const res = r.serviceEndpoints('default', 'web', 80)!;
  assert.equal(res.appProtocol, 'kubernetes.io/h2c');
  assert.deepEqual(
    res.endpoints.map((e) => [e.address, e.port, e.health]),
    [
      ['10.0.0.1', 8080, 'healthy'],
      ['10.0.0.2', 8080, 'unhealthy'],
      ['10.0.0.3', 8080, 'draining'],
      ['10.0.0.4', 8080, 'healthy'],
    ],
  );
  assert.deepEqual(res.endpoints[0]!.locality, { zone: 'zone-a' });
  assert.equal(res.endpoints[0]!.hostname, 'web-1');
});

test('a Service port with no matching slice port has no endpoints', () => {
  assert.deepEqual(r.serviceEndpoints('default', 'web', 9000)!.endpoints, []);
});

test('legacy Endpoints pair addresses with ports; not-ready addresses are unhealthy', () => {
  assert.deepEqual(
    r.serviceEndpoints('default', 'legacy', 80)!.endpoints.map((e) => [e.address, e.port, e.health]),
    [
      ['10.1.0.1', 8081, 'healthy'],
      ['10.1.0.2', 8081, 'unhealthy'],
    ],
  );
});

test('missing Service or port: undefined; a Service without endpoints: empty', () => {
  assert.equal(r.serviceEndpoints('default', 'nope', 80), undefined);
  assert.equal(r.serviceEndpoints('other', 'web', 80), undefined);
  assert.equal(r.serviceEndpoints('default', 'web', 81), undefined);
  assert.deepEqual(r.serviceEndpoints('default', 'empty', 80), { endpoints: [] });
});

test('the local runtime answers first when it knows the Service', () => {
  const withRuntime = new KubernetesEndpoints(objects(manifests), (_ns, svc, port) =>
    svc === 'web' ? [{ address: '127.0.0.1', port: 40000 + port.port, weight: 1, priority: 0 }] : undefined,
  );
  assert.deepEqual(
    withRuntime.serviceEndpoints('default', 'web', 80)!.endpoints.map((e) => e.port),
    [40080],
  );
  assert.equal(withRuntime.serviceEndpoints('default', 'legacy', 80)!.endpoints.length, 2);
});
