import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type * as ir from '../../../ir/index.js';
import { BASE, onlyRoute, routesByName, translateYaml } from './test-support.js';

const httpRoute = (rule: string, kind = 'HTTPRoute') => `
---
apiVersion: gateway.networking.k8s.io/v1
kind: ${kind}
metadata: { name: r, namespace: default }
spec:
  parentRefs: [{ name: gw, namespace: infra }]
  rules:
  - ${rule}`;

function route(rule: string, kind = 'HTTPRoute'): ir.Route {
  const r = translateYaml(BASE + httpRoute(rule, kind));
  assert.deepEqual(r.diags.items, []);
  return onlyRoute(r);
}

/** The route without what every forwarding route has, for compact expectations. */
function essentials(x: ir.Route): Partial<ir.Route> {
  const { name: _n, match: _m, timeout: _t, sortKey: _s, origin: _o, ...rest } = x;
  return rest;
}

const FORWARD: ir.RouteAction = { kind: 'forward', clusters: [{ cluster: 'default/svc:8080', weight: 1 }] };
const BACKEND = 'backendRefs: [{ name: svc, port: 8080 }]';

describe('filters (config-apis.md 1.9)', () => {
  const cases: { name: string; rule: string; kind?: string; want: Partial<ir.Route> }[] = [
    {
      name: 'RequestHeaderModifier: set, add, remove',
      rule: `filters: [{ type: RequestHeaderModifier, requestHeaderModifier: { set: [{ name: X-Set, value: a }], add: [{ name: X-Add, value: b }], remove: [X-Gone] } }]
    ${BACKEND}`,
      want: {
        action: FORWARD,
        requestHeaders: { set: [{ name: 'X-Set', value: 'a' }], add: [{ name: 'X-Add', value: 'b' }], remove: ['X-Gone'] },
      },
    },
    {
      name: 'ResponseHeaderModifier',
      rule: `filters: [{ type: ResponseHeaderModifier, responseHeaderModifier: { add: [{ name: X-R, value: v }] } }]
    ${BACKEND}`,
      want: { action: FORWARD, responseHeaders: { add: [{ name: 'X-R', value: 'v' }] } },
    },
    {
      name: 'RequestRedirect with defaults: 302, everything else from the request or listener',
      rule: 'filters: [{ type: RequestRedirect, requestRedirect: {} }]',
      want: { action: { kind: 'redirect', redirect: { statusCode: 302 } } },
    },
    {
      name: 'RequestRedirect with scheme, host, port, full path and status',
      rule: 'filters: [{ type: RequestRedirect, requestRedirect: { scheme: https, hostname: example.org, port: 8443, statusCode: 301, path: { type: ReplaceFullPath, replaceFullPath: /new } } }]',
      want: {
        action: {
          kind: 'redirect',
          redirect: { scheme: 'https', host: 'example.org', port: 8443, path: { kind: 'full', value: '/new' }, statusCode: 301 },
        },
      },
    },
    {
      name: 'RequestRedirect replacing the matched prefix',
      rule: `matches: [{ path: { value: /old } }]
    filters: [{ type: RequestRedirect, requestRedirect: { path: { type: ReplacePrefixMatch, replacePrefixMatch: /new }, statusCode: 308 } }]`,
      want: { action: { kind: 'redirect', redirect: { path: { kind: 'prefix', value: '/new' }, statusCode: 308 } } },
    },
    {
      name: 'URLRewrite: host name and full path',
      rule: `filters: [{ type: URLRewrite, urlRewrite: { hostname: internal.example, path: { type: ReplaceFullPath, replaceFullPath: /x } } }]
    ${BACKEND}`,
      want: { action: FORWARD, rewrite: { authority: 'internal.example', path: { kind: 'full', value: '/x' } } },
    },
    {
      name: 'URLRewrite: prefix',
      rule: `matches: [{ path: { value: /api } }]
    filters: [{ type: URLRewrite, urlRewrite: { path: { type: ReplacePrefixMatch, replacePrefixMatch: / } } }]
    ${BACKEND}`,
      want: { action: FORWARD, rewrite: { path: { kind: 'prefix', value: '/' } } },
    },
    {
      name: 'RequestMirror: percent, fraction, and 100% by default',
      rule: `filters:
    - { type: RequestMirror, requestMirror: { backendRef: { name: svc2, port: 8080 } } }
    - { type: RequestMirror, requestMirror: { backendRef: { name: svc2, port: 8080 }, percent: 25 } }
    - { type: RequestMirror, requestMirror: { backendRef: { name: svc2, port: 8080 }, fraction: { numerator: 1, denominator: 8 } } }
    ${BACKEND}`,
      want: {
        action: FORWARD,
        mirrors: [
          { cluster: 'default/svc2:8080', percent: 100 },
          { cluster: 'default/svc2:8080', percent: 25 },
          { cluster: 'default/svc2:8080', percent: 12.5 },
        ],
      },
    },
    {
      name: 'backend-level header modifiers stay with their backend',
      rule: `backendRefs:
    - name: svc
      port: 8080
      filters:
      - { type: RequestHeaderModifier, requestHeaderModifier: { set: [{ name: Backend, value: one }] } }
      - { type: ResponseHeaderModifier, responseHeaderModifier: { remove: [Server] } }
    - { name: svc2, port: 8080, weight: 2 }`,
      want: {
        action: {
          kind: 'forward',
          clusters: [
            {
              cluster: 'default/svc:8080',
              weight: 1,
              requestHeaders: { set: [{ name: 'Backend', value: 'one' }] },
              responseHeaders: { remove: ['Server'] },
            },
            { cluster: 'default/svc2:8080', weight: 2 },
          ],
        },
      },
    },
    {
      name: "URLRewrite and RequestMirror on a rule's only backend act on the whole rule",
      rule: `backendRefs:
    - name: svc
      port: 8080
      filters:
      - { type: URLRewrite, urlRewrite: { path: { type: ReplaceFullPath, replaceFullPath: /rewritten } } }
      - { type: RequestMirror, requestMirror: { backendRef: { name: svc2, port: 8080 }, percent: 50 } }`,
      want: {
        action: FORWARD,
        rewrite: { path: { kind: 'full', value: '/rewritten' } },
        mirrors: [{ cluster: 'default/svc2:8080', percent: 50 }],
      },
    },
    {
      name: "RequestRedirect on a rule's only backend redirects",
      rule: `backendRefs:
    - { name: svc, port: 8080, filters: [{ type: RequestRedirect, requestRedirect: { hostname: elsewhere.example } }] }`,
      want: { action: { kind: 'redirect', redirect: { host: 'elsewhere.example', statusCode: 302 } } },
    },
    {
      name: 'GRPCRoute header modifiers and mirror',
      kind: 'GRPCRoute',
      rule: `filters:
    - { type: RequestHeaderModifier, requestHeaderModifier: { add: [{ name: x-a, value: "1" }] } }
    - { type: ResponseHeaderModifier, responseHeaderModifier: { set: [{ name: x-b, value: "2" }] } }
    - { type: RequestMirror, requestMirror: { backendRef: { name: svc2, port: 8080 } } }
    ${BACKEND}`,
      want: {
        action: FORWARD,
        requestHeaders: { add: [{ name: 'x-a', value: '1' }] },
        responseHeaders: { set: [{ name: 'x-b', value: '2' }] },
        mirrors: [{ cluster: 'default/svc2:8080', percent: 100 }],
      },
    },
  ];
  for (const c of cases) it(c.name, () => assert.deepEqual(essentials(route(c.rule, c.kind)), c.want));

  it('filter origins point at the filter', () => {
    const x = route(`filters: [{ type: RequestHeaderModifier, requestHeaderModifier: { set: [{ name: a, value: b }] } }]
    ${BACKEND}`);
    const { line, ...rest } = x.origin.requestHeaders as Extract<ir.Origin, { kind: 'manifest' }>;
    assert.deepEqual(rest, {
      kind: 'manifest',
      object: 'HTTPRoute/default/r',
      field: 'spec.rules[0].filters[0]',
      file: 'test.yaml',
      column: 1,
    });
    assert.ok(line! > 1);
    assert.equal(x.origin.action?.kind === 'manifest' && x.origin.action.field, 'spec.rules[0].backendRefs');
  });
});

describe('filters that legate does not implement', () => {
  it('ExtensionRef is never skipped: 500', () => {
    const r = translateYaml(
      BASE + httpRoute(`filters: [{ type: ExtensionRef, extensionRef: { group: example.com, kind: Thing, name: t } }]\n    ${BACKEND}`),
    );
    assert.deepEqual(onlyRoute(r).action, { kind: 'direct', response: { status: 500 } });
    assert.equal(r.diags.items[0]!.code, 'W_GWAPI_NOT_IMPLEMENTED');
  });
  it('ExternalAuth fails closed: 500', () => {
    const r = translateYaml(
      BASE +
        httpRoute(
          `filters: [{ type: ExternalAuth, externalAuth: { protocol: HTTP, http: {}, backendRef: { name: auth, port: 9000 } } }]\n    ${BACKEND}`,
        ),
    );
    assert.deepEqual(onlyRoute(r).action, { kind: 'direct', response: { status: 500 } });
  });
  it('CORS: origins with * become full-match regexes, lists are joined, maxAge defaults to 5, no forwarded preflights', () => {
    const x = route(
      `filters: [{ type: CORS, cors: { allowOrigins: ["https://www.foo.com", "https://*.bar.com", "http://a.example:8080"], allowMethods: [GET, OPTIONS], allowHeaders: [x-a, x-b], exposeHeaders: ["*"], allowCredentials: true } }]\n    ${BACKEND}`,
    );
    assert.deepEqual(x.cors, {
      allowOrigins: [
        { kind: 'exact', value: 'https://www.foo.com' },
        { kind: 'regex', value: 'https://.*\\.bar\\.com' },
        { kind: 'exact', value: 'http://a.example:8080' },
      ],
      allowMethods: 'GET, OPTIONS',
      allowHeaders: 'x-a, x-b',
      exposeHeaders: '*',
      maxAge: '5',
      allowCredentials: true,
      forwardNotMatchingPreflights: false,
    });
    assert.equal(x.origin.cors?.kind, 'manifest');
    assert.deepEqual(route(`filters: [{ type: CORS, cors: { allowOrigins: ["*"], maxAge: 3600 } }]\n    ${BACKEND}`).cors, {
      allowOrigins: [{ kind: 'regex', value: '.*' }],
      allowMethods: '',
      allowHeaders: '',
      exposeHeaders: '',
      maxAge: '3600',
      allowCredentials: false,
      forwardNotMatchingPreflights: false,
    });
  });
  it('URLRewrite on one of several backends is ignored with a warning', () => {
    const r = translateYaml(
      BASE +
        httpRoute(`backendRefs:
    - { name: svc, port: 8080, filters: [{ type: URLRewrite, urlRewrite: { hostname: a.example } }] }
    - { name: svc2, port: 8080 }`),
    );
    assert.equal(onlyRoute(r).rewrite, undefined);
    assert.deepEqual(
      r.diags.items.map((d) => [d.code, d.field]),
      [['W_GWAPI_NOT_IMPLEMENTED', 'spec.rules[0].backendRefs[0].filters[0]']],
    );
  });
});

describe('filter validation (section 6 #15)', () => {
  const rejected: [string, string, RegExp][] = [
    [
      'RequestRedirect with URLRewrite',
      'filters: [{ type: RequestRedirect, requestRedirect: {} }, { type: URLRewrite, urlRewrite: {} }]',
      /May specify either httpRouteFilterRequestRedirect or httpRouteFilterRequestRewrite, but not both/,
    ],
    [
      'RequestRedirect with backendRefs',
      `filters: [{ type: RequestRedirect, requestRedirect: {} }]\n    ${BACKEND}`,
      /RequestRedirect filter must not be used together with backendRefs/,
    ],
    [
      'repeated filter type',
      `filters: [{ type: RequestHeaderModifier, requestHeaderModifier: {} }, { type: RequestHeaderModifier, requestHeaderModifier: {} }]\n    ${BACKEND}`,
      /RequestHeaderModifier filter cannot be repeated/,
    ],
    [
      'ReplacePrefixMatch without a single PathPrefix match',
      `matches: [{ path: { type: Exact, value: /a } }]\n    filters: [{ type: URLRewrite, urlRewrite: { path: { type: ReplacePrefixMatch, replacePrefixMatch: /b } } }]\n    ${BACKEND}`,
      /exactly one PathPrefix match must be specified/,
    ],
    ['sub-object missing', `filters: [{ type: RequestHeaderModifier }]\n    ${BACKEND}`, /filter.requestHeaderModifier must be specified/],
    [
      'sub-object of another type',
      `filters: [{ type: RequestHeaderModifier, requestHeaderModifier: {}, urlRewrite: {} }]\n    ${BACKEND}`,
      /filter.urlRewrite must be nil if the filter.type is not URLRewrite/,
    ],
    [
      'mirror with percent and fraction',
      `filters: [{ type: RequestMirror, requestMirror: { backendRef: { name: svc2, port: 8080 }, percent: 5, fraction: { numerator: 1 } } }]\n    ${BACKEND}`,
      /Only one of percent or fraction/,
    ],
    [
      'header set twice',
      `filters: [{ type: RequestHeaderModifier, requestHeaderModifier: { set: [{ name: a, value: "1" }, { name: A, value: "2" }] } }]\n    ${BACKEND}`,
      /appears twice/,
    ],
    [
      'CORS method * with another method',
      `filters: [{ type: CORS, cors: { allowMethods: ["*", GET] } }]\n    ${BACKEND}`,
      /AllowMethods cannot contain '\*' alongside other methods/,
    ],
    ['CORS unknown method', `filters: [{ type: CORS, cors: { allowMethods: [FETCH] } }]\n    ${BACKEND}`, /method "FETCH" must be one of/],
    [
      'CORS origin with a path',
      `filters: [{ type: CORS, cors: { allowOrigins: ["https://a.example/x"] } }]\n    ${BACKEND}`,
      /scheme:\/\/host/,
    ],
    ['CORS maxAge 0', `filters: [{ type: CORS, cors: { maxAge: 0 } }]\n    ${BACKEND}`, /maxAge/],
    [
      'redirect hostname with a wildcard',
      'filters: [{ type: RequestRedirect, requestRedirect: { hostname: "*.example.com" } }]',
      /wildcard/,
    ],
  ];
  for (const [name, rule, re] of rejected) {
    it(`${name}: the route is refused`, () => {
      const r = translateYaml(BASE + httpRoute(rule));
      assert.equal(r.diags.items[0]?.code, 'E_GWAPI_INVALID', JSON.stringify(r.diags.items));
      assert.match(r.diags.items[0]!.message, re);
      assert.equal(routesByName(r).size, 0);
    });
  }

  it('a filter type GRPCRoute does not have drops the rule', () => {
    const r = translateYaml(BASE + httpRoute(`filters: [{ type: URLRewrite, urlRewrite: {} }]\n    ${BACKEND}`, 'GRPCRoute'));
    assert.equal(routesByName(r).size, 0);
    assert.equal(r.status.find((s) => s.object === 'GRPCRoute/default/r')!.conditions[0]!.reason, 'UnsupportedValue');
  });
  it('an unknown redirect status drops the rule', () => {
    const r = translateYaml(BASE + httpRoute('filters: [{ type: RequestRedirect, requestRedirect: { statusCode: 305 } }]'));
    assert.equal(routesByName(r).size, 0);
    assert.match(r.diags.items[0]!.message, /statusCode 305/);
  });
});
