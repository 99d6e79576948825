import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { conditionsOf, routesByName, translateYaml } from './test-support.js';

const CLASS = `
apiVersion: gateway.networking.k8s.io/v1
kind: GatewayClass
metadata: { name: legate }
spec: { controllerName: legate.dev/controller }
---
apiVersion: v1
kind: Service
metadata: { name: svc, namespace: apps }
spec: { ports: [{ port: 80 }] }`;

const GATEWAY = `
---
apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: { name: gw, namespace: infra }
spec:
  gatewayClassName: legate
  listeners:
  - { name: http, port: 80, protocol: HTTP, allowedRoutes: { namespaces: { from: All } } }
  - { name: same-ns, port: 8080, protocol: HTTP }
  - { name: only-grpc, port: 9090, protocol: HTTP, hostname: grpc.example.com, allowedRoutes: { namespaces: { from: All }, kinds: [{ kind: GRPCRoute }] } }
  - name: labelled
    port: 8081
    protocol: HTTP
    allowedRoutes: { namespaces: { from: Selector, selector: { matchLabels: { team: blue } } } }
---
apiVersion: v1
kind: Namespace
metadata: { name: apps, labels: { team: blue } }`;

const route = (parentRef: string, extra = '', ns = 'apps', kind = 'HTTPRoute') => `
---
apiVersion: gateway.networking.k8s.io/v1
kind: ${kind}
metadata: { name: r, namespace: ${ns} }
spec:
  parentRefs: [${parentRef}]${extra}
  rules: [{ backendRefs: [{ name: svc, namespace: apps, port: 80 }] }]`;

function parentStatus(parentRef: string, opts: { extra?: string; ns?: string; kind?: string; parent?: string } = {}) {
  const r = translateYaml(CLASS + GATEWAY + route(parentRef, opts.extra, opts.ns, opts.kind));
  const kind = opts.kind ?? 'HTTPRoute';
  return { r, conditions: conditionsOf(r, `${kind}/${opts.ns ?? 'apps'}/r`, { parent: opts.parent ?? 'Gateway/infra/gw' }) };
}

describe('route parents: Accepted reasons (config-apis.md 1.4, 1.13)', () => {
  const rows: {
    name: string;
    ref: string;
    parent?: string;
    extra?: string;
    ns?: string;
    kind?: string;
    want: string[];
    message?: string;
  }[] = [
    {
      name: 'all listeners: accepted',
      ref: '{ name: gw, namespace: infra }',
      want: ['Accepted=True/Accepted', 'ResolvedRefs=True/ResolvedRefs'],
    },
    {
      name: 'sectionName of a listener',
      ref: '{ name: gw, namespace: infra, sectionName: http }',
      parent: 'Gateway/infra/gw/http',
      want: ['Accepted=True/Accepted', 'ResolvedRefs=True/ResolvedRefs'],
    },
    {
      name: 'sectionName matching no listener: NoMatchingParent',
      ref: '{ name: gw, namespace: infra, sectionName: nope }',
      parent: 'Gateway/infra/gw/nope',
      want: ['Accepted=False/NoMatchingParent', 'ResolvedRefs=True/ResolvedRefs'],
      message: 'No listeners match this parent ref',
    },
    {
      name: 'port of a listener',
      ref: '{ name: gw, namespace: infra, port: 80 }',
      parent: 'Gateway/infra/gw:80',
      want: ['Accepted=True/Accepted', 'ResolvedRefs=True/ResolvedRefs'],
    },
    {
      name: 'port matching no listener: NoMatchingParent',
      ref: '{ name: gw, namespace: infra, port: 81 }',
      parent: 'Gateway/infra/gw:81',
      want: ['Accepted=False/NoMatchingParent', 'ResolvedRefs=True/ResolvedRefs'],
    },
    {
      name: 'sectionName and port of different listeners: NoMatchingParent',
      ref: '{ name: gw, namespace: infra, sectionName: http, port: 8080 }',
      parent: 'Gateway/infra/gw/http:8080',
      want: ['Accepted=False/NoMatchingParent', 'ResolvedRefs=True/ResolvedRefs'],
    },
    {
      name: 'Gateway that does not exist: NoMatchingParent (local)',
      ref: '{ name: ghost, namespace: infra }',
      parent: 'Gateway/infra/ghost',
      want: ['Accepted=False/NoMatchingParent', 'ResolvedRefs=True/ResolvedRefs'],
      message: 'parent Gateway infra/ghost not found',
    },
    {
      name: 'listener allowing only its own namespace: NotAllowedByListeners',
      ref: '{ name: gw, namespace: infra, sectionName: same-ns }',
      parent: 'Gateway/infra/gw/same-ns',
      want: ['Accepted=False/NotAllowedByListeners', 'ResolvedRefs=True/ResolvedRefs'],
      message: 'No listeners included by this parent ref allowed this attachment.',
    },
    {
      name: 'same namespace as the Gateway: allowed',
      ref: '{ name: gw, namespace: infra, sectionName: same-ns }',
      ns: 'infra',
      parent: 'Gateway/infra/gw/same-ns',
      want: ['Accepted=True/Accepted', 'ResolvedRefs=False/RefNotPermitted'],
    },
    {
      name: 'listener allowing only GRPCRoutes: NotAllowedByListeners for an HTTPRoute',
      ref: '{ name: gw, namespace: infra, sectionName: only-grpc }',
      parent: 'Gateway/infra/gw/only-grpc',
      want: ['Accepted=False/NotAllowedByListeners', 'ResolvedRefs=True/ResolvedRefs'],
    },
    {
      name: 'namespace selector matching the route namespace labels',
      ref: '{ name: gw, namespace: infra, sectionName: labelled }',
      parent: 'Gateway/infra/gw/labelled',
      want: ['Accepted=True/Accepted', 'ResolvedRefs=True/ResolvedRefs'],
    },
    {
      name: 'namespace selector not matching: NotAllowedByListeners',
      ref: '{ name: gw, namespace: infra, sectionName: labelled }',
      ns: 'infra',
      parent: 'Gateway/infra/gw/labelled',
      want: ['Accepted=False/NotAllowedByListeners', 'ResolvedRefs=False/RefNotPermitted'],
    },
    {
      name: 'no hostname intersection: NoMatchingListenerHostname',
      ref: '{ name: gw, namespace: infra, sectionName: only-grpc }',
      kind: 'GRPCRoute',
      extra: '\n  hostnames: [other.example.com]',
      parent: 'Gateway/infra/gw/only-grpc',
      want: ['Accepted=False/NoMatchingListenerHostname', 'ResolvedRefs=True/ResolvedRefs'],
      message: "There were no hostname intersections between the GRPCRoute and this parent ref's Listener(s).",
    },
  ];
  for (const row of rows) {
    it(row.name, () => {
      const { r, conditions } = parentStatus(row.ref, row);
      assert.deepEqual(conditions, row.want);
      if (row.message) {
        const entry = r.status.find((s) => s.parent === (row.parent ?? 'Gateway/infra/gw'))!;
        assert.equal(entry.conditions[0]!.message, row.message);
      }
      if (row.want[0] !== 'Accepted=True/Accepted') assert.equal(routesByName(r).size, 0, 'a refused parent carries no routes');
      else assert.ok(routesByName(r).size > 0);
    });
  }

  it('parentRef status carries the defaulted reference and the controller name', () => {
    const { r } = parentStatus('{ name: gw, namespace: infra, sectionName: http }', { parent: 'Gateway/infra/gw/http' });
    const e = r.status.find((s) => s.object === 'HTTPRoute/apps/r')!;
    assert.deepEqual(e.parentRef, {
      group: 'gateway.networking.k8s.io',
      kind: 'Gateway',
      namespace: 'infra',
      name: 'gw',
      sectionName: 'http',
    });
    assert.equal(e.controllerName, 'legate.dev/controller');
  });

  it('two references to one parent need distinct sections (CEL)', () => {
    const r = translateYaml(CLASS + GATEWAY + route('{ name: gw, namespace: infra }, { name: gw, namespace: infra }'));
    assert.match(
      r.diags.items[0]!.message,
      /sectionName or port must be specified when parentRefs includes 2 or more references to the same parent/,
    );
  });

  it('attachedRoutes counts accepted routes per listener, whatever the parent ref', () => {
    const r = translateYaml(
      CLASS +
        GATEWAY +
        route('{ name: gw, namespace: infra, sectionName: http }, { name: gw, namespace: infra, sectionName: labelled }') +
        route('{ name: gw, namespace: infra }').replace('name: r,', 'name: r2,') +
        route('{ name: gw, namespace: infra, sectionName: same-ns }').replace('name: r,', 'name: r3,'),
    );
    const attached = Object.fromEntries(r.status.filter((s) => s.listener).map((s) => [s.listener, s.attachedRoutes]));
    assert.deepEqual(attached, { http: 2, 'same-ns': 0, 'only-grpc': 0, labelled: 2 });
  });
});

describe('Gateway and listener status (1.3)', () => {
  const gateway = (listeners: string, name = 'gw', extra = '') => `
---
apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: { name: ${name}, namespace: infra${extra} }
spec:
  gatewayClassName: legate
  listeners:
${listeners}`;

  it('a valid Gateway: Accepted and Programmed, listener conditions all good', () => {
    const r = translateYaml(CLASS + gateway('  - { name: http, port: 80, protocol: HTTP }'));
    assert.deepEqual(conditionsOf(r, 'Gateway/infra/gw'), ['Accepted=True/Accepted', 'Programmed=True/Programmed']);
    assert.deepEqual(conditionsOf(r, 'Gateway/infra/gw', { listener: 'http' }), [
      'Accepted=True/Accepted',
      'Conflicted=False/NoConflicts',
      'ResolvedRefs=True/ResolvedRefs',
      'Programmed=True/Programmed',
    ]);
    assert.deepEqual(conditionsOf(r, 'GatewayClass/legate'), ['Accepted=True/Accepted']);
  });

  it('unsupported protocols: listener not accepted, Gateway ListenersNotValid', () => {
    const r = translateYaml(
      CLASS +
        gateway(
          '  - { name: http, port: 80, protocol: HTTP }\n  - { name: tcp, port: 5432, protocol: TCP }\n  - { name: odd, port: 99, protocol: example.com/odd }',
        ),
    );
    assert.deepEqual(conditionsOf(r, 'Gateway/infra/gw'), ['Accepted=True/ListenersNotValid', 'Programmed=True/Programmed']);
    assert.deepEqual(conditionsOf(r, 'Gateway/infra/gw', { listener: 'tcp' }), [
      'Accepted=False/UnsupportedProtocol',
      'Conflicted=False/NoConflicts',
      'ResolvedRefs=True/ResolvedRefs',
      'Programmed=False/Invalid',
    ]);
    assert.match(
      r.status.find((s) => s.listener === 'odd')!.conditions[0]!.message,
      /Protocol example.com\/odd is unsupported, must be HTTP, HTTPS, TCP or UDP\./,
    );
    assert.deepEqual(
      r.listeners.map((l) => l.name),
      ['http-80'],
    );
  });

  it('same port, same hostname, different protocols: both conflicted', () => {
    const r = translateYaml(
      CLASS +
        gateway(
          '  - { name: a, port: 80, protocol: HTTP }\n  - { name: b, port: 80, protocol: HTTPS, tls: { certificateRefs: [{ name: cert }] } }',
        ),
    );
    for (const l of ['a', 'b']) {
      const c = conditionsOf(r, 'Gateway/infra/gw', { listener: l });
      assert.ok(c.includes('Conflicted=True/HostnameConflict') || c.includes('Conflicted=True/ProtocolConflict'), c.join());
      assert.ok(c.includes('Programmed=False/Invalid'));
    }
    assert.deepEqual(conditionsOf(r, 'Gateway/infra/gw'), ['Accepted=False/ListenersNotValid', 'Programmed=False/Invalid']);
    assert.equal(r.listeners.length, 0);
  });

  it('merged Gateways: the older keeps a port+protocol+hostname, the newer is conflicted', () => {
    const r = translateYaml(
      CLASS +
        gateway('  - { name: http, port: 80, protocol: HTTP }', 'new', ', creationTimestamp: "2024-02-01T00:00:00Z"') +
        gateway(
          '  - { name: http, port: 80, protocol: HTTP }\n  - { name: named, port: 80, protocol: HTTP, hostname: a.example.com }',
          'old',
          ', creationTimestamp: "2024-01-01T00:00:00Z"',
        ),
    );
    assert.ok(conditionsOf(r, 'Gateway/infra/new', { listener: 'http' }).includes('Conflicted=True/HostnameConflict'));
    assert.ok(conditionsOf(r, 'Gateway/infra/old', { listener: 'http' }).includes('Programmed=True/Programmed'));
    assert.deepEqual(
      r.listeners.map((l) => [l.name, l.virtualHosts.map((v) => v.name)]),
      [['http-80', ['a.example.com']]],
    );
  });

  it('unmerged Gateways: one legate listener per Gateway and port', () => {
    const r = translateYaml(
      CLASS + gateway('  - { name: http, port: 80, protocol: HTTP }', 'a') + gateway('  - { name: http, port: 80, protocol: HTTP }', 'b'),
      {
        mergeGateways: false,
      },
    );
    assert.deepEqual(
      r.listeners.map((l) => l.name),
      ['infra/a/http-80', 'infra/b/http-80'],
    );
  });

  it('allowedRoutes.kinds with an unknown kind: InvalidRouteKinds, only valid kinds supported', () => {
    const r = translateYaml(
      CLASS + gateway('  - { name: http, port: 80, protocol: HTTP, allowedRoutes: { kinds: [{ kind: HTTPRoute }, { kind: TCPRoute }] } }'),
    );
    const s = r.status.find((e) => e.listener === 'http')!;
    assert.deepEqual(s.supportedKinds, [{ group: 'gateway.networking.k8s.io', kind: 'HTTPRoute' }]);
    assert.deepEqual(conditionsOf(r, 'Gateway/infra/gw', { listener: 'http' }), [
      'Accepted=True/Accepted',
      'Conflicted=False/NoConflicts',
      'ResolvedRefs=False/InvalidRouteKinds',
      'Programmed=False/Invalid',
    ]);
  });

  it('HTTPS with a Secret: the listener serves its certificate', () => {
    const secret = `
---
apiVersion: v1
kind: Secret
metadata: { name: cert, namespace: infra }
type: kubernetes.io/tls
data: { tls.crt: ${Buffer.from('CERT').toString('base64')}, tls.key: ${Buffer.from('KEY').toString('base64')} }`;
    const r = translateYaml(
      CLASS + secret + gateway('  - { name: https, port: 443, protocol: HTTPS, tls: { certificateRefs: [{ name: cert }] } }'),
    );
    assert.deepEqual(r.listeners[0]!.tls, { cert: 'CERT', key: 'KEY' });
    assert.equal(r.listeners[0]!.name, 'https-443');
  });

  it('HTTPS with a missing Secret: InvalidCertificateRef, not served', () => {
    const r = translateYaml(CLASS + gateway('  - { name: https, port: 443, protocol: HTTPS, tls: { certificateRefs: [{ name: nope }] } }'));
    assert.ok(conditionsOf(r, 'Gateway/infra/gw', { listener: 'https' }).includes('ResolvedRefs=False/InvalidCertificateRef'));
    assert.equal(r.listeners.length, 0);
  });

  it('HTTPS with a Secret in another namespace needs a ReferenceGrant', () => {
    const r = translateYaml(
      CLASS + gateway('  - { name: https, port: 443, protocol: HTTPS, tls: { certificateRefs: [{ name: cert, namespace: certs }] } }'),
    );
    assert.ok(conditionsOf(r, 'Gateway/infra/gw', { listener: 'https' }).includes('ResolvedRefs=False/RefNotPermitted'));
  });

  const rejected: [string, string, RegExp][] = [
    [
      'tls on HTTP',
      '  - { name: a, port: 80, protocol: HTTP, tls: { certificateRefs: [{ name: cert }] } }',
      /tls must not be specified for protocols \['HTTP', 'TCP', 'UDP'\]/,
    ],
    [
      'hostname on TCP',
      '  - { name: a, port: 80, protocol: TCP, hostname: a.example.com }',
      /hostname must not be specified for protocols \['TCP', 'UDP'\]/,
    ],
    [
      'duplicate names',
      '  - { name: a, port: 80, protocol: HTTP }\n  - { name: a, port: 81, protocol: HTTP }',
      /listener name "a" is used twice/,
    ],
    [
      'duplicate port+protocol+hostname',
      '  - { name: a, port: 80, protocol: HTTP }\n  - { name: b, port: 80, protocol: HTTP }',
      /Combination of port, protocol and hostname must be unique/,
    ],
    ['port out of range', '  - { name: a, port: 70000, protocol: HTTP }', /between 1 and 65535/],
    [
      'passthrough on HTTPS',
      '  - { name: a, port: 443, protocol: HTTPS, tls: { mode: Passthrough } }',
      /tls mode must be Terminate for protocol HTTPS/,
    ],
  ];
  for (const [name, listeners, re] of rejected) {
    it(`${name}: the Gateway is refused (CEL)`, () => {
      const r = translateYaml(CLASS + gateway(listeners));
      assert.equal(r.diags.items[0]?.code, 'E_GWAPI_INVALID');
      assert.match(r.diags.items[0]!.message, re);
      assert.equal(r.status.filter((s) => s.object === 'Gateway/infra/gw').length, 0);
    });
  }
});

describe('GatewayClasses', () => {
  const gw = (cls: string) => `
---
apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: { name: gw, namespace: infra }
spec: { gatewayClassName: ${cls}, listeners: [{ name: http, port: 80, protocol: HTTP }] }`;
  const other = `
---
apiVersion: gateway.networking.k8s.io/v1
kind: GatewayClass
metadata: { name: theirs }
spec: { controllerName: example.com/other }`;

  it('without controllerNames every class is served and recorded', () => {
    const r = translateYaml(CLASS + other + gw('theirs'));
    assert.equal(r.listeners.length, 1);
    assert.deepEqual(
      r.status.filter((s) => s.object.startsWith('GatewayClass/')).map((s) => [s.object, s.controllerName]),
      [
        ['GatewayClass/legate', 'legate.dev/controller'],
        ['GatewayClass/theirs', 'example.com/other'],
      ],
    );
  });

  it("with controllerNames another controller's Gateway is left alone", () => {
    const r = translateYaml(CLASS + other + gw('theirs') + route('{ name: gw, namespace: infra }'), {
      controllerNames: ['legate.dev/controller'],
    });
    assert.equal(r.listeners.length, 0);
    assert.deepEqual(
      r.diags.items.map((d) => d.code),
      ['W_GWAPI_GATEWAYCLASS_NOT_OURS'],
    );
    assert.equal(r.status.filter((s) => s.object !== 'GatewayClass/legate').length, 0, 'no status for objects of another controller');
  });

  it('a missing class is an error and the Gateway stays Pending', () => {
    const r = translateYaml(CLASS + gw('nope'));
    assert.deepEqual(
      r.diags.items.map((d) => [d.code, d.severity]),
      [['E_GWAPI_GATEWAYCLASS_NOT_FOUND', 'error']],
    );
    assert.deepEqual(conditionsOf(r, 'Gateway/infra/gw'), ['Accepted=Unknown/Pending']);
  });

  it('parametersRef must name an existing EnvoyProxy: InvalidParameters', () => {
    const bad = `
---
apiVersion: gateway.networking.k8s.io/v1
kind: GatewayClass
metadata: { name: params }
spec: { controllerName: legate.dev/controller, parametersRef: { group: example.com, kind: Config, name: c } }`;
    const r = translateYaml(CLASS + bad + gw('params'));
    assert.deepEqual(conditionsOf(r, 'GatewayClass/params'), ['Accepted=False/InvalidParameters']);
    assert.deepEqual(conditionsOf(r, 'Gateway/infra/gw'), ['Accepted=Unknown/Pending']);
    assert.equal(r.listeners.length, 0);
  });
});
