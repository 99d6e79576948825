import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type * as ir from '../../../ir/index.js';
import { listenerDefaults } from '../../../ir/builders.js';
import { validate } from '../../../ir/validate.js';
import { Diagnostics } from '../../model.js';
import { BASE, loadObjects, ServiceResolver, translateYaml } from './test-support.js';
import { translateGatewayApi } from './translate-gateway-api.js';

const GOLDEN_IN = `
apiVersion: gateway.networking.k8s.io/v1
kind: GatewayClass
metadata: { name: legate }
spec: { controllerName: legate.dev/controller }
---
apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: { name: gw, namespace: default }
spec:
  gatewayClassName: legate
  listeners:
  - { name: web, port: 8000, protocol: HTTP, hostname: "*.example.com" }
---
apiVersion: v1
kind: Service
metadata: { name: api, namespace: default }
spec: { ports: [{ port: 80, targetPort: 8080 }] }
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: { name: api, namespace: default, creationTimestamp: "2024-01-01T00:00:00Z" }
spec:
  parentRefs: [{ name: gw }]
  hostnames: [api.example.com, api.example.net]
  rules:
  - matches: [{ path: { type: Exact, value: /status } }]
    backendRefs: [{ name: api, port: 80 }]
    timeouts: { request: 5s }
`;

const at = (object: string, field: string, line: number): ir.Origin => ({
  kind: 'manifest',
  object,
  field,
  file: 'test.yaml',
  line,
  column: 1,
});
const DOMAINS = { domains: { kind: 'derived', from: 'Gateway listener hostname ∩ route hostnames' } } as const;

function goldenListener(): ir.Listener {
  const l = listenerDefaults('http-8000', '0.0.0.0', 8000);
  l.origin.port = at('Gateway/default/gw', 'spec.listeners[0].port', 7);
  l.virtualHosts = [
    // The listener's own host name, so that it is isolated from less specific listeners.
    { name: '*.example.com', domains: ['*.example.com'], routeOrder: 'gateway-api', routes: [], origin: DOMAINS },
    {
      name: 'api.example.com',
      domains: ['api.example.com'],
      routeOrder: 'gateway-api',
      routes: [
        {
          name: 'httproute/default/api/rule/0/match/0',
          match: { path: { kind: 'exact', value: '/status' } },
          action: { kind: 'forward', clusters: [{ cluster: 'default/api:80', weight: 1 }] },
          timeout: { requestMs: 5000, origin: { requestMs: at('HTTPRoute/default/api', 'spec.rules[0].timeouts.request', 20) } },
          sortKey: { creationTimestamp: '2024-01-01T00:00:00Z', namespacedName: 'default/api', ruleIndex: 0, matchIndex: 0 },
          origin: {
            match: at('HTTPRoute/default/api', 'spec.rules[0].matches[0]', 20),
            action: at('HTTPRoute/default/api', 'spec.rules[0].backendRefs', 20),
          },
        },
      ],
      origin: DOMAINS,
    },
  ];
  return l;
}

describe('translateGatewayApi: golden', () => {
  it('a Gateway, a Service and an HTTPRoute', () => {
    const r = translateYaml(GOLDEN_IN);
    assert.deepEqual(r.diags.items, []);
    assert.deepEqual(r.listeners, [goldenListener()]);
    assert.deepEqual(
      r.clusters.map((c) => [c.name, c.protocol, c.endpoints]),
      [['default/api:80', 'http1', [{ address: 'api.default', port: 8080, weight: 1, priority: 0 }]]],
    );
    assert.deepEqual(
      r.status.map((s) => [s.object, s.listener ?? s.parent ?? '', s.conditions.map((c) => `${c.type}=${c.status}`).join(',')]),
      [
        ['GatewayClass/legate', '', 'Accepted=True'],
        ['Gateway/default/gw', '', 'Accepted=True,Programmed=True'],
        ['Gateway/default/gw', 'web', 'Accepted=True,Conflicted=False,ResolvedRefs=True,Programmed=True'],
        ['HTTPRoute/default/api', 'Gateway/default/gw', 'Accepted=True,ResolvedRefs=True'],
      ],
    );
  });

  it('the output does not depend on the order of the input', () => {
    const docs = GOLDEN_IN.split('\n---\n');
    const a = translateYaml(docs.join('\n---\n'));
    const b = translateYaml([...docs].reverse().join('\n---\n'));
    const strip = (x: unknown) => JSON.parse(JSON.stringify(x, (k, v) => (k === 'line' ? undefined : v)));
    assert.deepEqual(strip(b.listeners), strip(a.listeners));
    assert.deepEqual(strip(b.clusters), strip(a.clusters));
    assert.deepEqual(b.status, a.status);
  });
});

const TARGETS = `${BASE}
---
apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: { name: other, namespace: infra }
spec:
  gatewayClassName: legate
  listeners:
  - { name: http, port: 8080, protocol: HTTP, allowedRoutes: { namespaces: { from: All } } }
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: { name: shop, namespace: default }
spec:
  parentRefs: [{ name: gw, namespace: infra }, { name: other, namespace: infra }]
  rules:
  - name: cart
    matches: [{ path: { value: /cart } }]
    backendRefs: [{ name: svc, port: 8080 }]
  - name: pay
    matches: [{ path: { value: /pay } }]
    backendRefs: [{ name: svc2, port: 8080 }]
    filters: [{ type: RequestMirror, requestMirror: { backendRef: { name: svc, port: 8080 } } }]
---
apiVersion: gateway.networking.k8s.io/v1
kind: GRPCRoute
metadata: { name: rpc, namespace: default }
spec:
  parentRefs: [{ name: gw, namespace: infra }]
  hostnames: [grpc.example.com]
  rules: [{ backendRefs: [{ name: svc2, port: 8080 }] }]
`;

describe('attachTargets', () => {
  const r = translateYaml(TARGETS);
  const names = (t: ReturnType<typeof r.attachTargets>) =>
    t && { listeners: t.listeners.map((l) => l.name), routes: t.routes.map((x) => x.name), clusters: t.clusters.map((c) => c.name) };

  it('a Gateway: the routes of its listeners and their clusters', () => {
    assert.deepEqual(names(r.attachTargets('Gateway', 'infra', 'other')), {
      listeners: ['http-8080'],
      routes: ['httproute/default/shop/rule/0/match/0', 'httproute/default/shop/rule/1/match/0'],
      clusters: ['default/svc2:8080', 'default/svc:8080'],
    });
    const all = names(r.attachTargets('Gateway', 'infra', 'gw'))!;
    assert.equal(all.routes.length, 3);
  });

  it('a Gateway listener by sectionName', () => {
    assert.deepEqual(names(r.attachTargets('Gateway', 'infra', 'gw', 'http'))!.listeners, ['http-80']);
    assert.equal(r.attachTargets('Gateway', 'infra', 'gw', 'nope'), undefined);
  });

  it('a route: its IR routes on every Gateway, as distinct objects', () => {
    const t = r.attachTargets('HTTPRoute', 'default', 'shop')!;
    assert.equal(t.routes.length, 4);
    assert.deepEqual(
      t.listeners.map((l) => l.name),
      ['http-80', 'http-8080'],
    );
    assert.equal(new Set(t.routes).size, 4);
  });

  it('a route rule by sectionName (rule name), mirror clusters included', () => {
    assert.deepEqual(names(r.attachTargets('HTTPRoute', 'default', 'shop', 'pay')), {
      listeners: ['http-80', 'http-8080'],
      routes: ['httproute/default/shop/rule/1/match/0', 'httproute/default/shop/rule/1/match/0'],
      clusters: ['default/svc2:8080', 'default/svc:8080'],
    });
    assert.equal(r.attachTargets('HTTPRoute', 'default', 'shop', 'nope'), undefined);
  });

  it('a GRPCRoute', () => {
    assert.deepEqual(names(r.attachTargets('GRPCRoute', 'default', 'rpc'))!.routes, ['grpcroute/default/rpc/rule/0/match/0']);
  });

  it('unknown targets: undefined', () => {
    assert.equal(r.attachTargets('Gateway', 'infra', 'ghost'), undefined);
    assert.equal(r.attachTargets('HTTPRoute', 'default', 'ghost'), undefined);
    assert.equal(r.attachTargets('TCPRoute', 'default', 'shop'), undefined);
  });

  it('changes through the targets land in the IR', () => {
    const t = r.attachTargets('HTTPRoute', 'default', 'shop', 'cart')!;
    for (const x of t.routes) x.timeout = { requestMs: 1, origin: {} };
    const all = r.listeners.flatMap((l) => l.virtualHosts.flatMap((v) => v.routes));
    assert.equal(all.filter((x) => x.timeout?.requestMs === 1).length, 2);
  });

  it('routeSource names the route, rule and Gateway listeners', () => {
    const x = r.attachTargets('HTTPRoute', 'default', 'shop', 'pay')!.routes[0]!;
    assert.deepEqual(r.routeSource(x), {
      route: 'HTTPRoute/default/shop',
      ruleIndex: 1,
      ruleName: 'pay',
      listeners: ['Gateway/infra/gw/http'],
    });
  });
});

describe('robustness', () => {
  it('the IR passes ir.validate', () => {
    const r = translateYaml(TARGETS);
    assert.deepEqual(validate({ version: '1', listeners: r.listeners, clusters: r.clusters }), []);
  });

  it('malformed objects become diagnostics, never exceptions', () => {
    const junk = [
      'spec: 3',
      'spec: { parentRefs: 3, rules: "x" }',
      'spec: { parentRefs: [{}], rules: [{ matches: [{ path: 7 }], filters: [{ type: 9 }], backendRefs: [{ weight: -1 }] }] }',
      'spec: { rules: [{ filters: [{ type: RequestRedirect, requestRedirect: { path: { type: ReplaceFullPath } } }] }] }',
      'spec: { hostnames: [null], rules: [null] }',
      'spec: { parentRefs: [{ name: gw, namespace: infra }], rules: [{ timeouts: { request: 5 }, retry: { codes: "500" } }] }',
    ];
    for (const kind of ['HTTPRoute', 'GRPCRoute', 'Gateway', 'GatewayClass', 'ReferenceGrant']) {
      for (const body of junk) {
        const text = `${BASE}\n---\napiVersion: gateway.networking.k8s.io/v1\nkind: ${kind}\nmetadata: { name: junk, namespace: default }\n${body}\n`;
        const objects = loadObjects(text);
        const diags = new Diagnostics();
        assert.doesNotThrow(() => translateGatewayApi(objects, new ServiceResolver(objects), diags, {}), `${kind}: ${body}`);
        assert.ok(
          !diags.items.some((d) => d.code === 'E_GWAPI_INTERNAL'),
          JSON.stringify(diags.items.filter((d) => d.code === 'E_GWAPI_INTERNAL')),
        );
      }
    }
  });
});

describe('HTTPS listeners sharing a port (GatewayHTTPSListenerDetectMisdirectedRequests)', () => {
  const gateway = (name: string, listeners: string) => `
---
apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: { name: ${name}, namespace: infra }
spec:
  gatewayClassName: legate
  listeners:
${listeners}
---
apiVersion: v1
kind: Secret
metadata: { name: cert, namespace: infra }
type: kubernetes.io/tls
stringData: { tls.crt: "-----BEGIN CERTIFICATE-----", tls.key: "-----BEGIN PRIVATE KEY-----" }`;
  const https = (name: string, hostname?: string) =>
    `  - { name: ${name}, port: 443, protocol: HTTPS, ${hostname ? `hostname: "${hostname}", ` : ''}tls: { certificateRefs: [{ name: cert }] } }`;

  it('the listener lists their host names, * for one without', () => {
    const r = translateYaml(BASE + gateway('tls', [https('any'), https('one', 'a.example'), https('wild', '*.w.example')].join('\n')));
    const l = r.listeners.find((x) => x.port === 443)!;
    assert.deepEqual(l.tlsHostnames, ['*', 'a.example', '*.w.example']);
    assert.equal(l.origin.tlsHostnames?.kind, 'manifest');
    assert.equal(r.listeners.find((x) => x.port === 80)!.tlsHostnames, undefined, 'HTTP listeners have none');
  });

  it('unmerged, each Gateway lists only its own', () => {
    const r = translateYaml(BASE + gateway('g1', https('one', 'a.example')) + gateway('g2', https('two', 'b.example')), {
      mergeGateways: false,
    });
    assert.deepEqual(
      r.listeners.filter((x) => x.port === 443).map((x) => [x.name, x.tlsHostnames]),
      [
        ['infra/g1/https-443', ['a.example']],
        ['infra/g2/https-443', ['b.example']],
      ],
    );
  });
});
