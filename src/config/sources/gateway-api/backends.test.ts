import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type * as ir from '../../../ir/index.js';
import { validate } from '../../../ir/validate.js';
import { INVALID_BACKEND_CLUSTER } from './backends.js';
import { BASE, conditionsOf, onlyRoute, translateYaml, type Translated } from './test-support.js';

const rule = (backends: string, kind = 'HTTPRoute', ns = 'default', extra = '') => `
---
apiVersion: gateway.networking.k8s.io/v1
kind: ${kind}
metadata: { name: r, namespace: ${ns} }
spec:
  parentRefs: [{ name: gw, namespace: infra }]
  rules:
  - backendRefs: ${backends}${extra}`;

const OTHER_NS = `
---
apiVersion: v1
kind: Service
metadata: { name: far, namespace: other }
spec: { ports: [{ port: 80 }] }`;

const GRANT = `
---
apiVersion: gateway.networking.k8s.io/v1beta1
kind: ReferenceGrant
metadata: { name: allow, namespace: other }
spec:
  from: [{ group: gateway.networking.k8s.io, kind: HTTPRoute, namespace: default }]
  to: [{ group: "", kind: Service }]`;

function translate(text: string): Translated {
  const r = translateYaml(BASE + OTHER_NS + text);
  assert.deepEqual(validate({ version: '1', listeners: r.listeners, clusters: r.clusters }), [], 'the IR is valid');
  return r;
}

const routeStatus = (r: Translated, kind = 'HTTPRoute') => conditionsOf(r, `${kind}/default/r`, { parent: 'Gateway/infra/gw' });

describe('backendRef weights (config-apis.md 1.10)', () => {
  const cases: { name: string; backends: string; want: ir.RouteAction }[] = [
    {
      name: 'default weight 1',
      backends: '[{ name: svc, port: 8080 }]',
      want: { kind: 'forward', clusters: [{ cluster: 'default/svc:8080', weight: 1 }] },
    },
    {
      name: 'weights as written, zero kept (it gets no traffic)',
      backends:
        '[{ name: svc, port: 8080, weight: 90 }, { name: svc2, port: 8080, weight: 10 }, { name: far, namespace: other, port: 80, weight: 0 }]',
      want: {
        kind: 'forward',
        clusters: [
          { cluster: 'default/svc:8080', weight: 90 },
          { cluster: 'default/svc2:8080', weight: 10 },
          { cluster: 'other/far:80', weight: 0 },
        ],
      },
    },
    {
      name: 'every weight 0: 500',
      backends: '[{ name: svc, port: 8080, weight: 0 }, { name: svc2, port: 8080, weight: 0 }]',
      want: { kind: 'direct', response: { status: 500 } },
    },
    { name: 'no backendRefs: 500', backends: '[]', want: { kind: 'direct', response: { status: 500 } } },
  ];
  // GRANT lets routes in `default` reach Services in `other`.
  for (const c of cases) it(c.name, () => assert.deepEqual(onlyRoute(translate(rule(c.backends) + GRANT)).action, c.want));
});

describe('invalid backends', () => {
  it('missing Service: its share gets 500 from a missing cluster, as EG; ResolvedRefs=False/BackendNotFound; still Accepted', () => {
    const r = translate(rule('[{ name: svc, port: 8080, weight: 3 }, { name: nope, port: 80 }]'));
    assert.deepEqual(onlyRoute(r).action, {
      kind: 'forward',
      clusters: [
        { cluster: 'default/svc:8080', weight: 3 },
        { cluster: INVALID_BACKEND_CLUSTER, weight: 1, missing: true },
      ],
      clusterNotFoundStatus: 500,
    });
    assert.equal(
      r.clusters.find((c) => c.name === INVALID_BACKEND_CLUSTER),
      undefined,
    );
    assert.deepEqual(routeStatus(r), ['Accepted=True/Accepted', 'ResolvedRefs=False/BackendNotFound']);
    assert.deepEqual(
      r.diags.items.map((d) => [d.code, d.message, d.field]),
      [['W_GWAPI_BACKEND_NOT_FOUND', 'Service default/nope not found', 'spec.rules[0].backendRefs[1]']],
    );
  });

  it('all backends invalid: direct 500', () => {
    const r = translate(rule('[{ name: nope, port: 80 }, { name: also-nope, port: 80 }]'));
    assert.deepEqual(onlyRoute(r).action, { kind: 'direct', response: { status: 500 } });
    assert.equal(r.clusters.length, 0);
  });

  it('GRPCRoute with all backends invalid: 503, which gRPC callers see as UNAVAILABLE', () => {
    const r = translate(rule('[{ name: nope, port: 80 }]', 'GRPCRoute'));
    assert.deepEqual(onlyRoute(r).action, { kind: 'direct', response: { status: 503 } });
    assert.deepEqual(routeStatus(r, 'GRPCRoute'), ['Accepted=True/Accepted', 'ResolvedRefs=False/BackendNotFound']);
  });

  it('a port the Service does not declare: PortNotFound', () => {
    const r = translate(rule('[{ name: svc, port: 81 }]'));
    assert.deepEqual(routeStatus(r), ['Accepted=True/Accepted', 'ResolvedRefs=False/PortNotFound']);
    assert.equal(r.diags.items[0]!.message, 'TCP Port 81 not found on Service default/svc');
  });

  it('unknown kind: InvalidKind', () => {
    const r = translate(rule('[{ group: example.com, kind: Bucket, name: b }, { name: svc, port: 8080 }]'));
    assert.deepEqual(routeStatus(r), ['Accepted=True/Accepted', 'ResolvedRefs=False/InvalidKind']);
    assert.deepEqual(onlyRoute(r).action.kind === 'forward' && onlyRoute(r).action, {
      kind: 'forward',
      clusters: [
        { cluster: 'default/svc:8080', weight: 1 },
        { cluster: INVALID_BACKEND_CLUSTER, weight: 1, missing: true },
      ],
      clusterNotFoundStatus: 500,
    });
  });

  it('cross-namespace without a ReferenceGrant: RefNotPermitted', () => {
    const r = translate(rule('[{ name: far, namespace: other, port: 80 }]'));
    assert.deepEqual(routeStatus(r), ['Accepted=True/Accepted', 'ResolvedRefs=False/RefNotPermitted']);
    assert.equal(r.diags.items[0]!.message, 'Backend ref to Service other/far not permitted by any ReferenceGrant.');
  });

  it('cross-namespace with a ReferenceGrant: resolved', () => {
    const r = translate(rule('[{ name: far, namespace: other, port: 80 }]') + GRANT);
    assert.deepEqual(routeStatus(r), ['Accepted=True/Accepted', 'ResolvedRefs=True/ResolvedRefs']);
    assert.deepEqual(onlyRoute(r).action, { kind: 'forward', clusters: [{ cluster: 'other/far:80', weight: 1 }] });
  });

  it('a grant for another route kind or name does not count', () => {
    const grant = GRANT.replace('kind: HTTPRoute', 'kind: GRPCRoute');
    const named = GRANT.replace('to: [{ group: "", kind: Service }]', 'to: [{ group: "", kind: Service, name: near }]');
    for (const g of [grant, named]) {
      const r = translate(rule('[{ name: far, namespace: other, port: 80 }]') + g);
      assert.deepEqual(routeStatus(r), ['Accepted=True/Accepted', 'ResolvedRefs=False/RefNotPermitted']);
    }
  });

  it('an unresolvable mirror is dropped and reported', () => {
    const r = translate(
      rule(
        '[{ name: svc, port: 8080 }]',
        'HTTPRoute',
        'default',
        '\n    filters: [{ type: RequestMirror, requestMirror: { backendRef: { name: nope, port: 80 } } }]',
      ),
    );
    assert.equal(onlyRoute(r).mirrors, undefined);
    assert.deepEqual(routeStatus(r), ['Accepted=True/Accepted', 'ResolvedRefs=False/BackendNotFound']);
  });

  it('a core Service reference without a port is refused (CEL)', () => {
    const r = translateYaml(BASE + rule('[{ name: svc }]'));
    assert.equal(r.diags.items[0]!.code, 'E_GWAPI_INVALID');
    assert.match(r.diags.items[0]!.message, /Must have port for Service reference/);
  });
});

describe('clusters', () => {
  it('one per Service port, shared by routes, Envoy Gateway defaults, endpoints from the resolver', () => {
    const r = translate(rule('[{ name: svc, port: 8080 }]') + rule('[{ name: svc, port: 8080 }]').replace('name: r,', 'name: r2,'));
    assert.equal(r.clusters.length, 1);
    const c = r.clusters[0]!;
    assert.deepEqual(
      {
        name: c.name,
        protocol: c.protocol,
        lb: c.lbPolicy,
        choices: c.leastRequestChoiceCount,
        connect: c.pool.connectTimeoutMs,
        maxRetries: c.circuitBreakers.maxRetries,
      },
      { name: 'default/svc:8080', protocol: 'http1', lb: 'least_request', choices: 2, connect: 10_000, maxRetries: 1024 },
    );
    assert.deepEqual(c.endpoints, [{ address: 'svc.default', port: 9000, weight: 1, priority: 0 }]);
    assert.deepEqual(c.pool.origin.connectTimeoutMs, {
      kind: 'default',
      dialect: 'envoy-gateway',
      name: 'ENVOY_GATEWAY.CONNECT_TIMEOUT_MS',
    });
  });

  const protocols: { name: string; appProtocol?: string; kinds: string[]; want: ir.UpstreamProtocol }[] = [
    { name: 'HTTPRoute backend: HTTP/1.1', kinds: ['HTTPRoute'], want: 'http1' },
    { name: 'GRPCRoute backend: HTTP/2', kinds: ['GRPCRoute'], want: 'http2' },
    { name: 'appProtocol kubernetes.io/h2c: HTTP/2', appProtocol: 'kubernetes.io/h2c', kinds: ['HTTPRoute'], want: 'http2' },
    { name: 'appProtocol grpc: HTTP/2', appProtocol: 'grpc', kinds: ['HTTPRoute'], want: 'http2' },
    {
      name: 'appProtocol kubernetes.io/ws: HTTP/1.1 even for a GRPCRoute',
      appProtocol: 'kubernetes.io/ws',
      kinds: ['GRPCRoute'],
      want: 'http1',
    },
    { name: 'used by both kinds without appProtocol: HTTP/1.1', kinds: ['HTTPRoute', 'GRPCRoute'], want: 'http1' },
  ];
  for (const p of protocols) {
    it(p.name, () => {
      const svc = `
---
apiVersion: v1
kind: Service
metadata: { name: app, namespace: default }
spec: { ports: [{ port: 80${p.appProtocol ? `, appProtocol: ${p.appProtocol}` : ''} }] }`;
      const routes = p.kinds.map((k, i) => rule('[{ name: app, port: 80 }]', k).replace('name: r,', `name: r${i},`)).join('');
      const r = translate(svc + routes);
      const c = r.clusters.find((x) => x.name === 'default/app:80')!;
      assert.equal(c.protocol, p.want);
      if (p.appProtocol) assert.equal(c.origin.protocol?.kind === 'manifest' && c.origin.protocol.field, 'spec.ports[0].appProtocol');
    });
  }
});
