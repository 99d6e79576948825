import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type * as ir from '../../../ir/index.js';
import { BASE, onlyRoute, routesByName, translateYaml } from './test-support.js';

const route = (name: string, spec: string, meta = '') => `
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: { name: ${name}, namespace: default${meta} }
spec:
  parentRefs: [{ name: gw, namespace: infra }]
${spec}`;

const grpcRoute = (name: string, spec: string) => `
---
apiVersion: gateway.networking.k8s.io/v1
kind: GRPCRoute
metadata: { name: ${name}, namespace: default }
spec:
  parentRefs: [{ name: gw, namespace: infra }]
${spec}`;

function vhostRoutes(text: string, vhost = '*'): ir.Route[] {
  const r = translateYaml(BASE + text);
  assert.deepEqual(
    r.diags.items.filter((d) => d.severity === 'error'),
    [],
  );
  const vh = r.listeners[0]!.virtualHosts.find((v) => v.name === vhost);
  assert.ok(vh, `no virtual host ${vhost}`);
  return vh.routes;
}

describe('HTTPRoute matches -> IR matches', () => {
  const cases: { name: string; match: string; want: ir.RouteMatch }[] = [
    { name: 'no matches: PathPrefix /', match: '', want: { path: { kind: 'prefix', value: '/', segmentAware: true } } },
    { name: 'an empty match: PathPrefix /', match: '{}', want: { path: { kind: 'prefix', value: '/', segmentAware: true } } },
    { name: 'Exact path', match: '{ path: { type: Exact, value: /a } }', want: { path: { kind: 'exact', value: '/a' } } },
    {
      name: 'PathPrefix is segment-aware',
      match: '{ path: { value: /a/ } }',
      want: { path: { kind: 'prefix', value: '/a/', segmentAware: true } },
    },
    {
      name: 'RegularExpression path',
      match: '{ path: { type: RegularExpression, value: "/v[0-9]+/.*" } }',
      want: { path: { kind: 'regex', value: '/v[0-9]+/.*' } },
    },
    {
      name: 'method, headers and query (first of case-folded header duplicates wins)',
      match:
        '{ method: POST, headers: [{ name: X-A, value: "1" }, { name: x-a, value: "2" }, { type: RegularExpression, name: b, value: "c.*" }], queryParams: [{ name: q, value: v }] }',
      want: {
        path: { kind: 'prefix', value: '/', segmentAware: true },
        method: 'POST',
        headers: [
          { name: 'X-A', match: { kind: 'exact', value: '1' } },
          { name: 'b', match: { kind: 'regex', value: 'c.*' } },
        ],
        query: [{ name: 'q', match: { kind: 'exact', value: 'v' } }],
      },
    },
  ];
  for (const c of cases) {
    it(c.name, () => {
      const rules = c.match
        ? `  rules: [{ matches: [${c.match}], backendRefs: [{ name: svc, port: 8080 }] }]`
        : '  rules: [{ backendRefs: [{ name: svc, port: 8080 }] }]';
      const r = translateYaml(BASE + route('r', rules));
      assert.deepEqual(onlyRoute(r).match, c.want);
    });
  }

  it('an empty matches list matches every request', () => {
    const r = translateYaml(BASE + route('r', '  rules: [{ matches: [], backendRefs: [{ name: svc, port: 8080 }] }]'));
    assert.deepEqual(onlyRoute(r).match, { path: { kind: 'prefix', value: '/', segmentAware: true } });
  });

  it('status carries metadata.generation as observedGeneration', () => {
    const r = translateYaml(BASE + route('r', '  rules: [{ backendRefs: [{ name: svc, port: 8080 }] }]', ', generation: 7'));
    assert.equal(r.status.find((s) => s.object === 'HTTPRoute/default/r')!.observedGeneration, 7);
  });

  it('one IR route per match, each with its own sort key', () => {
    const routes = vhostRoutes(
      route(
        'r',
        `  rules:
  - matches: [{ path: { value: /a } }, { path: { type: Exact, value: /b } }]
    backendRefs: [{ name: svc, port: 8080 }]
  - backendRefs: [{ name: svc, port: 8080 }]`,
        ', creationTimestamp: "2024-05-01T10:00:00Z"',
      ),
    );
    assert.deepEqual(
      routes.map((x) => [x.name, x.sortKey]),
      [
        [
          'httproute/default/r/rule/0/match/0',
          { creationTimestamp: '2024-05-01T10:00:00Z', namespacedName: 'default/r', ruleIndex: 0, matchIndex: 0 },
        ],
        [
          'httproute/default/r/rule/0/match/1',
          { creationTimestamp: '2024-05-01T10:00:00Z', namespacedName: 'default/r', ruleIndex: 0, matchIndex: 1 },
        ],
        [
          'httproute/default/r/rule/1/match/0',
          { creationTimestamp: '2024-05-01T10:00:00Z', namespacedName: 'default/r', ruleIndex: 1, matchIndex: 0 },
        ],
      ],
    );
  });
});

describe('precedence inputs (1.7): what the router sorts on', () => {
  const text = [
    route(
      'newer',
      '  rules: [{ matches: [{ path: { value: /x } }], backendRefs: [{ name: svc, port: 8080 }] }]',
      ', creationTimestamp: "2024-02-01T00:00:00Z"',
    ),
    route(
      'older',
      '  rules: [{ matches: [{ path: { value: /x } }], backendRefs: [{ name: svc, port: 8080 }] }]',
      ', creationTimestamp: "2024-01-01T00:00:00Z"',
    ),
    route(
      'b-same-time',
      '  rules: [{ matches: [{ path: { value: /y } }], backendRefs: [{ name: svc, port: 8080 }] }]',
      ', creationTimestamp: "2024-01-01T00:00:00Z"',
    ),
    route(
      'a-same-time',
      '  rules: [{ matches: [{ path: { value: /y } }], backendRefs: [{ name: svc, port: 8080 }] }]',
      ', creationTimestamp: "2024-01-01T00:00:00Z"',
    ),
    route(
      'specific',
      `  rules:
  - matches: [{ path: { type: Exact, value: /x } }, { path: { value: /x }, method: GET }, { path: { value: /x }, headers: [{ name: h, value: v }] }]
    backendRefs: [{ name: svc, port: 8080 }]`,
      ', creationTimestamp: "2024-03-01T00:00:00Z"',
    ),
  ].join('');

  it('sort keys carry timestamp, namespace/name, rule and match', () => {
    const routes = vhostRoutes(text);
    const keys = Object.fromEntries(routes.map((x) => [x.name, x.sortKey]));
    assert.deepEqual(keys['httproute/default/older/rule/0/match/0'], {
      creationTimestamp: '2024-01-01T00:00:00Z',
      namespacedName: 'default/older',
      ruleIndex: 0,
      matchIndex: 0,
    });
    assert.deepEqual(keys['httproute/default/specific/rule/0/match/2'], {
      creationTimestamp: '2024-03-01T00:00:00Z',
      namespacedName: 'default/specific',
      ruleIndex: 0,
      matchIndex: 2,
    });
  });

  it('each match carries what the router ranks: path kind and length, method, headers, then the sort key', () => {
    // The router (dataplane/router/route-precedence.ts) orders by these facts; config/ may not
    // import it, so the facts are checked here and the ordering there.
    const facts = vhostRoutes(text).map((x) => [
      x.name.replace('httproute/default/', ''),
      x.match.path?.kind,
      x.match.path?.value,
      x.match.method ?? '',
      x.match.headers?.length ?? 0,
      x.sortKey!.creationTimestamp,
    ]);
    assert.deepEqual(facts, [
      ['a-same-time/rule/0/match/0', 'prefix', '/y', '', 0, '2024-01-01T00:00:00Z'],
      ['b-same-time/rule/0/match/0', 'prefix', '/y', '', 0, '2024-01-01T00:00:00Z'],
      ['older/rule/0/match/0', 'prefix', '/x', '', 0, '2024-01-01T00:00:00Z'],
      ['newer/rule/0/match/0', 'prefix', '/x', '', 0, '2024-02-01T00:00:00Z'],
      ['specific/rule/0/match/0', 'exact', '/x', '', 0, '2024-03-01T00:00:00Z'],
      ['specific/rule/0/match/1', 'prefix', '/x', 'GET', 0, '2024-03-01T00:00:00Z'],
      ['specific/rule/0/match/2', 'prefix', '/x', '', 1, '2024-03-01T00:00:00Z'],
    ]);
  });

  it('routes are listed in creation order, whatever the file order', () => {
    const names = vhostRoutes(text).map((x) => x.sortKey!.namespacedName);
    assert.deepEqual(
      [...new Set(names)],
      ['default/a-same-time', 'default/b-same-time', 'default/older', 'default/newer', 'default/specific'],
    );
  });
});

describe('GRPCRoute matches (1.8)', () => {
  const cases: { name: string; matches: string; want: ir.RouteMatch[] }[] = [
    { name: 'no matches: every gRPC request', matches: '', want: [{ grpc: { kind: 'exact' } }] },
    {
      name: 'service and method',
      matches: '[{ method: { service: helloworld.Greeter, method: SayHello } }]',
      want: [{ grpc: { kind: 'exact', service: 'helloworld.Greeter', method: 'SayHello' } }],
    },
    {
      name: 'service only',
      matches: '[{ method: { service: FakeService } }]',
      want: [{ grpc: { kind: 'exact', service: 'FakeService' } }],
    },
    { name: 'method only', matches: '[{ method: { method: Handle } }]', want: [{ grpc: { kind: 'exact', method: 'Handle' } }] },
    {
      name: 'regular expressions',
      matches: '[{ method: { type: RegularExpression, service: "foo\\\\..*", method: "Get.*" } }]',
      want: [{ grpc: { kind: 'regex', service: 'foo\\..*', method: 'Get.*' } }],
    },
    {
      name: 'headers, with or without a method',
      matches:
        '[{ headers: [{ name: version, value: two }] }, { method: { service: s.S }, headers: [{ type: RegularExpression, name: v, value: "t.*" }] }]',
      want: [
        { grpc: { kind: 'exact' }, headers: [{ name: 'version', match: { kind: 'exact', value: 'two' } }] },
        { grpc: { kind: 'exact', service: 's.S' }, headers: [{ name: 'v', match: { kind: 'regex', value: 't.*' } }] },
      ],
    },
  ];
  for (const c of cases) {
    it(c.name, () => {
      const rule = c.matches ? `matches: ${c.matches}, ` : '';
      const routes = vhostRoutes(grpcRoute('g', `  rules: [{ ${rule}backendRefs: [{ name: svc, port: 8080 }] }]`));
      assert.deepEqual(
        routes.map((x) => x.match),
        c.want,
      );
      assert.ok(routes.every((x) => x.name.startsWith('grpcroute/default/g/rule/0/match/')));
    });
  }

  it('invalid Exact service and method names reject the object (CEL)', () => {
    const r = translateYaml(BASE + grpcRoute('g', '  rules: [{ matches: [{ method: { service: "a/b", method: "x.y" } }] }]'));
    assert.deepEqual(
      r.diags.items.map((d) => [d.code, d.field]),
      [
        ['E_GWAPI_INVALID', 'spec.rules[0].matches[0].method.service'],
        ['E_GWAPI_INVALID', 'spec.rules[0].matches[0].method.method'],
      ],
    );
    assert.equal(routesByName(r).size, 0);
  });

  it('a method match with a type but neither service nor method is refused', () => {
    const r = translateYaml(BASE + grpcRoute('g', '  rules: [{ matches: [{ method: { type: Exact } }] }]'));
    assert.match(r.diags.items[0]!.message, /One or both of 'service' or 'method' must be specified/);
  });

  it('an invalid regex drops the rule: UnsupportedValue', () => {
    const r = translateYaml(
      BASE +
        grpcRoute(
          'g',
          '  rules: [{ matches: [{ method: { type: RegularExpression, service: "(" } }], backendRefs: [{ name: svc, port: 8080 }] }]',
        ),
    );
    assert.equal(routesByName(r).size, 0);
    const s = r.status.find((e) => e.object === 'GRPCRoute/default/g')!;
    assert.equal(s.conditions[0]!.reason, 'UnsupportedValue');
    assert.match(s.conditions[0]!.message, /^Dropped Rule 0: regex "\(" is invalid/);
  });
});

describe('HTTPRoute match validation', () => {
  const rejected: [string, string, RegExp][] = [
    ['relative path', '{ path: { type: Exact, value: a } }', /must be an absolute path/],
    ['double slash', '{ path: { value: "/a//b" } }', /must not contain '\/\/'/],
    ['dot segment', '{ path: { value: "/a/../b" } }', /must not contain '\/\.\.\/'/],
    ['encoded slash', '{ path: { value: "/a%2Fb" } }', /must not contain '%2F'/],
    ['encoded slash, lower case', '{ path: { value: "/a%2fb" } }', /must not contain '%2f'/],
    ['fragment', '{ path: { value: "/a#b" } }', /'#'/],
    ['header name with a colon', '{ headers: [{ name: ":method", value: GET }] }', /token characters/],
  ];
  for (const [name, match, re] of rejected) {
    it(`${name}: the route is refused`, () => {
      const r = translateYaml(BASE + route('r', `  rules: [{ matches: [${match}], backendRefs: [{ name: svc, port: 8080 }] }]`));
      assert.equal(r.diags.items[0]?.code, 'E_GWAPI_INVALID');
      assert.match(r.diags.items[0]!.message, re);
      assert.equal(routesByName(r).size, 0);
      assert.equal(r.status.filter((s) => s.object === 'HTTPRoute/default/r').length, 0);
    });
  }

  const dropped: [string, string, RegExp][] = [
    ['invalid regex', '{ path: { type: RegularExpression, value: "(" } }', /regex "\(" is invalid/],
    ['lookahead is not RE2', '{ headers: [{ type: RegularExpression, name: a, value: "(?=x)" }] }', /regex/],
    ['unknown path type', '{ path: { type: Glob, value: "/a*" } }', /path match type "Glob"/],
    ['unknown method', '{ method: FETCH }', /method "FETCH"/],
  ];
  for (const [name, match, re] of dropped) {
    it(`${name}: the rule is dropped, other rules stay (PartiallyInvalid)`, () => {
      const r = translateYaml(
        BASE +
          route(
            'r',
            `  rules:
  - { matches: [${match}], backendRefs: [{ name: svc, port: 8080 }] }
  - { matches: [{ path: { value: /ok } }], backendRefs: [{ name: svc, port: 8080 }] }`,
          ),
      );
      assert.deepEqual([...routesByName(r).keys()], ['http-80/*/httproute/default/r/rule/1/match/0']);
      const s = r.status.find((e) => e.object === 'HTTPRoute/default/r')!;
      assert.deepEqual(
        s.conditions.map((c) => `${c.type}=${c.status}/${c.reason}`),
        ['Accepted=True/Accepted', 'ResolvedRefs=True/ResolvedRefs', 'PartiallyInvalid=True/UnsupportedValue'],
      );
      assert.match(s.conditions[2]!.message, re);
      assert.equal(r.diags.items[0]!.code, 'W_GWAPI_UNSUPPORTED_VALUE');
    });
  }
});
