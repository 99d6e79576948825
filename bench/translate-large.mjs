// Times loading and translating a large generated manifest (docs/manifests.md, "Validation cost"):
// one GatewayClass and Gateway, N Services, N HTTPRoutes (matches, filters, timeouts, retry) and
// N/10 BackendTrafficPolicies. Nothing is written to disk.
//   npm run build && node --expose-gc bench/translate-large.mjs [routes=1000] [runs=7]
import { loadManifests } from '../dist/src/config/load/load-manifests.js';
import { Diagnostics } from '../dist/src/config/model.js';
import { translate } from '../dist/src/config/translate.js';

// The schema checks alone (absent before the zod schemas: then the bench prints only load and translate).
const check = await import('../dist/src/config/schema/check.js').catch(() => undefined);
const gwSchemas = await import('../dist/src/config/sources/gateway-api/schema.js').catch(() => undefined);
const egSchemas = await import('../dist/src/config/sources/envoy-gateway/schema.js').catch(() => undefined);

const n = Number(process.argv[2] ?? 1000);
const runs = Number(process.argv[3] ?? 7);

function manifest(count) {
  const docs = [
    `apiVersion: gateway.networking.k8s.io/v1
kind: GatewayClass
metadata: {name: eg}
spec: {controllerName: gateway.envoyproxy.io/gatewayclass-controller}`,
    `apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: {name: gw, namespace: default}
spec:
  gatewayClassName: eg
  listeners:
    - {name: http, protocol: HTTP, port: 8080, allowedRoutes: {namespaces: {from: All}}}`,
  ];
  for (let i = 0; i < count; i++) {
    docs.push(`apiVersion: v1
kind: Service
metadata: {name: svc-${i}, namespace: default}
spec:
  ports: [{name: http, port: 80, targetPort: 8080}]`);
    docs.push(`apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: route-${i}, namespace: default}
spec:
  parentRefs: [{name: gw}]
  hostnames: [app-${i}.example.com]
  rules:
    - name: api
      matches:
        - path: {type: PathPrefix, value: /api/v${i % 7}}
          headers: [{name: x-tenant, value: t-${i}}]
          method: GET
        - path: {type: Exact, value: /health}
      filters:
        - type: RequestHeaderModifier
          requestHeaderModifier:
            set: [{name: x-route, value: route-${i}}]
            remove: [x-debug]
      backendRefs:
        - {name: svc-${i}, port: 80, weight: 90}
        - {name: svc-${(i + 1) % count}, port: 80, weight: 10}
      timeouts: {request: 10s, backendRequest: 2s}
    - matches:
        - path: {type: RegularExpression, value: "/v[0-9]+/items/.*"}
          queryParams: [{name: page, value: "1"}]
      backendRefs: [{name: svc-${i}, port: 80}]`);
    if (i % 10 === 0)
      docs.push(`apiVersion: gateway.envoyproxy.io/v1alpha1
kind: BackendTrafficPolicy
metadata: {name: btp-${i}, namespace: default}
spec:
  targetRefs: [{group: gateway.networking.k8s.io, kind: HTTPRoute, name: route-${i}}]
  retry:
    numRetries: 3
    retryOn: {triggers: [connect-failure, retriable-status-codes], httpStatusCodes: [503]}
    perRetry: {timeout: 500ms, backOff: {baseInterval: 100ms, maxInterval: 1s}}
  circuitBreaker: {maxConnections: 100, maxPendingRequests: 50}
  healthCheck:
    passive: {consecutive5XxErrors: 3, interval: 5s, baseEjectionTime: 30s}
  loadBalancer: {type: RoundRobin, slowStart: {window: 10s}}`);
  }
  return docs.join('\n---\n');
}

const text = manifest(n);
const times = [];
let diagnostics = 0;
// CPU time (user + system) of this process: the machine may be shared, and wall time then measures the neighbours.
const cpuMs = (since) => {
  const u = process.cpuUsage(since);
  return (u.user + u.system) / 1000;
};
for (let r = 0; r < runs; r++) {
  // With --expose-gc, each run starts from a collected heap (less noise from the previous run's garbage).
  globalThis.gc?.();
  const start = process.cpuUsage();
  const diags = new Diagnostics();
  const objects = loadManifests([{ name: 'large.yaml', text }], diags);
  const load = cpuMs(start);
  const mid = process.cpuUsage();
  const result = translate(objects, {}, diags);
  times.push({ load, translate: cpuMs(mid) });
  diagnostics = result.diagnostics.filter((d) => d.severity !== 'info').length;
}
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

let schemaMs;
if (check && gwSchemas && egSchemas) {
  const objects = loadManifests([{ name: 'large.yaml', text }], new Diagnostics());
  const FEATURES = { retry: 'Retry', circuitBreaker: 'CircuitBreaker', healthCheck: 'HealthCheck', loadBalancer: 'LoadBalancer' };
  const samples = [];
  for (let r = 0; r < 9; r++) {
    const start = process.cpuUsage();
    for (const o of objects) {
      const spec = o.body.spec;
      if (o.kind === 'HTTPRoute') check.checkValue(gwSchemas.HttpRouteSpec, spec, { base: ['spec'] });
      else if (o.kind === 'BackendTrafficPolicy') {
        check.checkValue(egSchemas.BackendTrafficPolicySpec, spec, { base: ['spec'], caseInsensitive: true });
        for (const [k, name] of Object.entries(FEATURES))
          if (spec[k]) check.checkValue(egSchemas[name], spec[k], { base: ['spec', k], caseInsensitive: true });
      }
    }
    samples.push(cpuMs(start));
  }
  schemaMs = median(samples);
}
const load = median(times.map((t) => t.load));
const tr = median(times.map((t) => t.translate));
console.log(
  `${n} HTTPRoutes, ${Math.ceil(n / 10)} BackendTrafficPolicies, ${(text.length / 1e6).toFixed(1)} MB: ` +
    `load ${load.toFixed(0)} ms, translate ${tr.toFixed(0)} ms CPU (median of ${runs})` +
    (schemaMs === undefined ? '' : `, of which schema checks ${schemaMs.toFixed(0)} ms`) +
    `; ${diagnostics} warnings/errors`,
);
