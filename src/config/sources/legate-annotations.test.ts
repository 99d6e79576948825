import assert from 'node:assert/strict';
import { test } from 'node:test';
import { loadManifests } from '../load/load-manifests.js';
import { Diagnostics } from '../model.js';
import { translate } from '../translate.js';

function routesOf(text: string) {
  const diags = new Diagnostics();
  const r = translate(loadManifests([{ name: 'ann.yaml', text }], diags), {}, diags);
  return { routes: r.config.listeners.flatMap((l) => l.virtualHosts.flatMap((v) => v.routes)), diags: r.diagnostics };
}

const EG = (annotation: string) => `
apiVersion: gateway.networking.k8s.io/v1
kind: GatewayClass
metadata: { name: eg }
spec: { controllerName: gateway.envoyproxy.io/gatewayclass-controller }
---
apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: { name: gw }
spec: { gatewayClassName: eg, listeners: [{ name: http, protocol: HTTP, port: 8080 }] }
---
apiVersion: v1
kind: Service
metadata: { name: fake }
spec: { ports: [{ name: grpc, port: 9090 }] }
---
apiVersion: gateway.networking.k8s.io/v1
kind: GRPCRoute
metadata: { name: fake }
spec: { parentRefs: [{ name: gw }], rules: [{ backendRefs: [{ name: fake, port: 9090 }] }] }
---
apiVersion: gateway.envoyproxy.io/v1alpha1
kind: BackendTrafficPolicy
metadata:
  name: retry
  annotations: { ${annotation} }
spec:
  targetRefs: [{ group: gateway.networking.k8s.io, kind: GRPCRoute, name: fake }]
  retry: { retryOn: { triggers: [unavailable] } }
`;

test('legate.dev/grpc-trailer-retry on a BackendTrafficPolicy turns grpcTrailerRetry on, with the annotation as origin', () => {
  const { routes } = routesOf(EG(`legate.dev/grpc-trailer-retry: "true"`));
  const retry = routes[0]!.retry!;
  assert.equal(retry.grpcTrailerRetry, true);
  const o = retry.origin['grpcTrailerRetry'];
  assert.equal(o?.kind === 'manifest' && o.field, 'metadata.annotations.legate.dev/grpc-trailer-retry');
  assert.equal(routesOf(EG('other: x')).routes[0]!.retry!.grpcTrailerRetry, undefined);
});

test('an annotation value other than true/false is reported and ignored', () => {
  const { routes, diags } = routesOf(EG(`legate.dev/grpc-trailer-retry: "yes"`));
  assert.equal(routes[0]!.retry!.grpcTrailerRetry, undefined);
  assert.ok(diags.some((d) => d.code === 'W_LEGATE_ANNOTATION_INVALID' && d.object === 'BackendTrafficPolicy/default/retry'));
});

test('legate.dev/grpc-trailer-retry on a VirtualService applies to its retry policies', () => {
  const { routes } = routesOf(`
apiVersion: v1
kind: Service
metadata: { name: fake }
spec: { ports: [{ name: grpc, port: 9090 }] }
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata:
  name: fake
  annotations: { legate.dev/grpc-trailer-retry: "true" }
spec:
  hosts: [fake]
  http: [{ route: [{ destination: { host: fake } }], retries: { attempts: 3, retryOn: unavailable } }]
`);
  const vsRoutes = routes.filter((r) => r.retry?.grpcTrailerRetry === true);
  assert.ok(vsRoutes.length >= 1, 'the VirtualService routes hold trailers');
});
