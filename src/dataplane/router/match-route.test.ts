/**
 * Route selection end to end (host index + precedence + matchers), driven by the HTTPRoute
 * manifests of the Gateway API conformance suite (conformance/gateway-api, translated by hand into
 * IR below) and their expected backends.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type * as ir from '../../ir/index.js';
import { compileRouteTable } from './compile-route-table.js';
import { matchRoute, type RouteRequest } from './match-route.js';

type GwMatch = {
  path?: { type: 'Exact' | 'PathPrefix' | 'RegularExpression'; value: string };
  headers?: { name: string; value: string }[];
  queryParams?: { name: string; value: string }[];
  method?: string;
};
type GwRule = { matches?: GwMatch[]; backend: string };

/** A minimal HTTPRoute -> IR translation: one IR route per match, Gateway API defaults applied. */
function httpRoute(namespacedName: string, created: string, rules: GwRule[]): ir.Route[] {
  const out: ir.Route[] = [];
  rules.forEach((rule, ruleIndex) => {
    const matches = rule.matches ?? [{}];
    matches.forEach((m, matchIndex) => {
      const p = m.path ?? { type: 'PathPrefix', value: '/' };
      const path: ir.PathMatch =
        p.type === 'Exact'
          ? { kind: 'exact', value: p.value }
          : p.type === 'PathPrefix'
            ? { kind: 'prefix', value: p.value, segmentAware: true }
            : { kind: 'regex', value: p.value };
      out.push({
        name: `${namespacedName}/rule/${ruleIndex}/match/${matchIndex}`,
        match: {
          path,
          ...(m.method ? { method: m.method } : {}),
          ...(m.headers ? { headers: m.headers.map((h) => ({ name: h.name, match: { kind: 'exact' as const, value: h.value } })) } : {}),
          ...(m.queryParams
            ? { query: m.queryParams.map((q) => ({ name: q.name, match: { kind: 'exact' as const, value: q.value } })) }
            : {}),
        },
        action: { kind: 'forward', clusters: [{ cluster: rule.backend, weight: 1 }] },
        sortKey: { namespacedName, creationTimestamp: created, ruleIndex, matchIndex },
        origin: {},
      });
    });
  });
  return out;
}

function vhost(
  name: string,
  domains: string[],
  routes: ir.Route[],
  routeOrder: ir.VirtualHost['routeOrder'] = 'gateway-api',
): ir.VirtualHost {
  return { name, domains, routeOrder, routes, origin: {} };
}

/** The backend a request reaches, or 404. */
function backendFor(vhs: ir.VirtualHost[]) {
  const table = compileRouteTable(vhs, (route) => {
    const a = route.action;
    return a.kind === 'forward' ? a.clusters[0]!.cluster : a.kind;
  });
  return (req: { method?: string; path: string; host?: string; headers?: Record<string, string> }): string => {
    const vh = table.selectVirtualHost(req.host ?? 'gateway.local');
    if (!vh) return '404';
    const r: RouteRequest = { method: req.method ?? 'GET', path: req.path, headers: req.headers ?? {}, port: 80 };
    return matchRoute(vh, r)?.target ?? '404';
  };
}

const T0 = '2024-01-01T00:00:00Z';
const T1 = '2024-01-02T00:00:00Z';

describe('HTTPRouteMatching', () => {
  const route = backendFor([
    vhost(
      'any',
      ['*'],
      httpRoute('infra/matching', T0, [
        { matches: [{ path: { type: 'PathPrefix', value: '/' } }, { headers: [{ name: 'version', value: 'one' }] }], backend: 'v1' },
        { matches: [{ path: { type: 'PathPrefix', value: '/v2' } }, { headers: [{ name: 'version', value: 'two' }] }], backend: 'v2' },
      ]),
    ),
  ]);
  const cases: [path: string, headers: Record<string, string>, expected: string][] = [
    ['/', {}, 'v1'],
    ['/example', {}, 'v1'],
    ['/', { version: 'one' }, 'v1'],
    ['/v2', {}, 'v2'],
    ['/v2/example', {}, 'v2'],
    ['/', { version: 'two' }, 'v2'],
    ['/v2/', {}, 'v2'],
    ['/v2example', {}, 'v1'],
    ['/foo/v2/example', {}, 'v1'],
  ];
  for (const [path, headers, expected] of cases) {
    it(`${path} ${JSON.stringify(headers)} -> ${expected}`, () => assert.equal(route({ path, headers }), expected));
  }
});

describe('HTTPRouteMatchingAcrossRoutes', () => {
  const part1 = httpRoute('infra/matching-part1', T0, [
    { matches: [{ path: { type: 'PathPrefix', value: '/' } }, { headers: [{ name: 'version', value: 'one' }] }], backend: 'v1' },
  ]);
  const part2 = httpRoute('infra/matching-part2', T1, [
    { matches: [{ path: { type: 'PathPrefix', value: '/v2' } }, { headers: [{ name: 'version', value: 'two' }] }], backend: 'v2' },
  ]);
  const route = backendFor([
    vhost('example.com', ['example.com'], [...part1, ...part2]),
    vhost('example.net', ['example.net'], [...part1]),
  ]);
  const cases: [path: string, host: string, headers: Record<string, string>, expected: string][] = [
    ['/', 'example.com', {}, 'v1'],
    ['/example', 'example.com', {}, 'v1'],
    ['/example', 'example.net', {}, 'v1'],
    ['/example', 'example.com', { version: 'one' }, 'v1'],
    ['/v2', 'example.com', {}, 'v2'],
    ['/v2', 'example.net', {}, 'v1'],
    ['/v2/example', 'example.com', {}, 'v2'],
    ['/', 'example.com', { version: 'two' }, 'v2'],
    ['/', 'example.org', {}, '404'],
  ];
  for (const [path, host, headers, expected] of cases) {
    it(`${host}${path} ${JSON.stringify(headers)} -> ${expected}`, () => assert.equal(route({ path, host, headers }), expected));
  }
});

describe('HTTPRouteHeaderMatching', () => {
  const h = (...pairs: [string, string][]) => ({ headers: pairs.map(([name, value]) => ({ name, value })) });
  const route = backendFor([
    vhost(
      'any',
      ['*'],
      httpRoute('infra/header-matching', T0, [
        { matches: [h(['version', 'one'])], backend: 'v1' },
        { matches: [h(['version', 'two'])], backend: 'v2' },
        { matches: [h(['version', 'two'], ['color', 'orange'])], backend: 'v1' },
        { matches: [h(['color', 'blue']), h(['color', 'green'])], backend: 'v1' },
        { matches: [h(['color', 'red']), h(['color', 'yellow'])], backend: 'v2' },
      ]),
    ),
  ]);
  const cases: [headers: Record<string, string>, expected: string][] = [
    [{ version: 'one' }, 'v1'],
    [{ version: 'two' }, 'v2'],
    [{ version: 'two', color: 'orange' }, 'v1'],
    [{ version: 'two', color: 'blue' }, 'v2'],
    [{ color: 'orange' }, '404'],
    [{ 'some-other-header': 'one' }, '404'],
    [{ color: 'blue' }, 'v1'],
    [{ color: 'green' }, 'v1'],
    [{ color: 'red' }, 'v2'],
    [{ color: 'yellow' }, 'v2'],
    [{ color: 'purple' }, '404'],
  ];
  for (const [headers, expected] of cases) {
    it(`${JSON.stringify(headers)} -> ${expected}`, () => assert.equal(route({ path: '/', headers }), expected));
  }
});

describe('HTTPRouteMethodMatching', () => {
  const pre = (value: string) => ({ type: 'PathPrefix' as const, value });
  const route = backendFor([
    vhost(
      'any',
      ['*'],
      httpRoute('infra/method-matching', T0, [
        { matches: [{ method: 'POST' }], backend: 'v1' },
        { matches: [{ method: 'GET' }], backend: 'v2' },
        { matches: [{ path: pre('/path1'), method: 'GET' }], backend: 'v1' },
        { matches: [{ headers: [{ name: 'version', value: 'one' }], method: 'PUT' }], backend: 'v2' },
        { matches: [{ path: pre('/path2'), headers: [{ name: 'version', value: 'two' }], method: 'POST' }], backend: 'v3' },
        {
          matches: [
            { path: pre('/path3'), method: 'PATCH' },
            { path: pre('/path4'), headers: [{ name: 'version', value: 'three' }], method: 'DELETE' },
          ],
          backend: 'v1',
        },
        { matches: [{ path: pre('/path5') }], backend: 'v1' },
        { matches: [{ method: 'PATCH' }], backend: 'v2' },
        { matches: [{ headers: [{ name: 'version', value: 'four' }] }], backend: 'v3' },
      ]),
    ),
  ]);
  const cases: [method: string, path: string, headers: Record<string, string>, expected: string][] = [
    ['POST', '/', {}, 'v1'],
    ['GET', '/', {}, 'v2'],
    ['HEAD', '/', {}, '404'],
    ['GET', '/path1', {}, 'v1'],
    ['PUT', '/', { version: 'one' }, 'v2'],
    ['POST', '/path2', { version: 'two' }, 'v3'],
    ['PATCH', '/path3', {}, 'v1'],
    ['DELETE', '/path4', { version: 'three' }, 'v1'],
    ['PUT', '/', {}, '404'],
    ['DELETE', '/path4', {}, '404'],
    ['PATCH', '/path5', {}, 'v1'],
    ['PATCH', '/', { version: 'four' }, 'v2'],
  ];
  for (const [method, path, headers, expected] of cases) {
    it(`${method} ${path} ${JSON.stringify(headers)} -> ${expected}`, () => assert.equal(route({ method, path, headers }), expected));
  }
});

describe('HTTPRouteQueryParamMatching', () => {
  const q = (...pairs: [string, string][]) => pairs.map(([name, value]) => ({ name, value }));
  const pre = (value: string) => ({ type: 'PathPrefix' as const, value });
  const route = backendFor([
    vhost(
      'any',
      ['*'],
      httpRoute('infra/query-param-matching', T0, [
        { matches: [{ queryParams: q(['animal', 'whale']) }], backend: 'v1' },
        { matches: [{ queryParams: q(['animal', 'dolphin']) }], backend: 'v2' },
        { matches: [{ queryParams: q(['animal', 'dolphin'], ['color', 'blue']) }, { queryParams: q(['ANIMAL', 'Whale']) }], backend: 'v3' },
        { matches: [{ path: pre('/path1'), queryParams: q(['animal', 'whale']) }], backend: 'v1' },
        { matches: [{ headers: [{ name: 'version', value: 'one' }], queryParams: q(['animal', 'whale']) }], backend: 'v2' },
        {
          matches: [{ path: pre('/path2'), headers: [{ name: 'version', value: 'two' }], queryParams: q(['animal', 'whale']) }],
          backend: 'v3',
        },
        {
          matches: [
            { path: pre('/path3'), queryParams: q(['animal', 'shark']) },
            { path: pre('/path4'), headers: [{ name: 'version', value: 'three' }], queryParams: q(['animal', 'kraken']) },
          ],
          backend: 'v1',
        },
        { matches: [{ path: pre('/path5') }], backend: 'v1' },
        { matches: [{ queryParams: q(['animal', 'hydra']) }], backend: 'v2' },
        { matches: [{ headers: [{ name: 'version', value: 'four' }] }], backend: 'v3' },
      ]),
    ),
  ]);
  const cases: [path: string, headers: Record<string, string>, expected: string][] = [
    ['/?animal=whale', {}, 'v1'],
    ['/?animal=dolphin', {}, 'v2'],
    ['/?animal=dolphin&color=blue', {}, 'v3'],
    ['/?ANIMAL=Whale', {}, 'v3'],
    ['/?animal=whale&otherparam=irrelevant', {}, 'v1'],
    ['/?animal=dolphin&color=yellow', {}, 'v2'],
    ['/?color=blue', {}, '404'],
    ['/?animal=dog', {}, '404'],
    ['/?animal=whaledolphin', {}, '404'],
    ['/', {}, '404'],
    ['/path1?animal=whale', {}, 'v1'],
    ['/?animal=whale', { version: 'one' }, 'v2'],
    ['/path2?animal=whale', { version: 'two' }, 'v3'],
    ['/path3?animal=shark', {}, 'v1'],
    ['/path4?animal=kraken', { version: 'three' }, 'v1'],
    ['/?animal=shark', {}, '404'],
    ['/path4?animal=kraken', {}, '404'],
    ['/path5?animal=hydra', {}, 'v1'],
    ['/?animal=hydra', { version: 'four' }, 'v3'],
  ];
  for (const [path, headers, expected] of cases) {
    it(`${path} ${JSON.stringify(headers)} -> ${expected}`, () => assert.equal(route({ path, headers }), expected));
  }
});

describe('HTTPRoutePathMatchOrder', () => {
  const route = backendFor([
    vhost(
      'any',
      ['*'],
      httpRoute('infra/path-matching-order', T0, [
        { matches: [{ path: { type: 'Exact', value: '/match' } }], backend: 'v1' },
        { matches: [{ path: { type: 'Exact', value: '/match/exact' } }], backend: 'v2' },
        { matches: [{ path: { type: 'Exact', value: '/match/exact/one' } }], backend: 'v3' },
        { matches: [{ path: { type: 'PathPrefix', value: '/match/' } }], backend: 'v3' },
        { matches: [{ path: { type: 'PathPrefix', value: '/match/prefix/' } }], backend: 'v1' },
        { matches: [{ path: { type: 'PathPrefix', value: '/match/prefix/one' } }], backend: 'v2' },
      ]),
    ),
  ]);
  const cases: [path: string, expected: string][] = [
    ['/match/exact/one', 'v3'],
    ['/match/exact', 'v2'],
    ['/match', 'v1'],
    ['/match/prefix/one/any', 'v2'],
    ['/match/prefix/any', 'v1'],
    ['/match/any', 'v3'],
  ];
  for (const [path, expected] of cases) {
    it(`${path} -> ${expected}`, () => assert.equal(route({ path }), expected));
  }
});

describe('ordered virtual hosts (Istio, Envoy)', () => {
  const r = (name: string, match: ir.RouteMatch): ir.Route => ({
    name,
    match,
    action: { kind: 'forward', clusters: [{ cluster: name, weight: 1 }] },
    origin: {},
  });
  it('the first matching route wins, whatever its specificity', () => {
    const route = backendFor([
      vhost(
        'mesh',
        ['reviews'],
        [
          r('catch-all', { path: { kind: 'prefix', value: '/', segmentAware: false } }),
          r('exact', { path: { kind: 'exact', value: '/api' } }),
        ],
        'ordered',
      ),
    ]);
    assert.equal(route({ path: '/api', host: 'reviews' }), 'catch-all');
  });

  it('raw prefixes, regex, withoutHeaders and port select as in Envoy', () => {
    const route = backendFor([
      vhost(
        'mesh',
        ['reviews', 'reviews:9080'],
        [
          r('no-debug', {
            path: { kind: 'prefix', value: '/v1', segmentAware: false },
            headers: [{ name: 'x-debug', match: { kind: 'present' }, invert: true }],
          }),
          r('regex', { path: { kind: 'regex', value: '/items/[0-9]+' } }),
          r('port-9090', { port: 9090 }),
          r('rest', {}),
        ],
        'ordered',
      ),
    ]);
    assert.equal(route({ path: '/v1beta', host: 'reviews' }), 'no-debug');
    assert.equal(route({ path: '/v1beta', host: 'reviews', headers: { 'x-debug': '1' } }), 'rest');
    assert.equal(route({ path: '/items/42?x=1', host: 'reviews:9080' }), 'regex');
    assert.equal(route({ path: '/items/4x', host: 'reviews' }), 'rest');
  });

  it('port conditions compare with the request port', () => {
    const table = compileRouteTable([vhost('v', ['*'], [r('p9090', { port: 9090 }), r('rest', {})], 'ordered')], (route) => route.name);
    const vh = table.selectVirtualHost('x')!;
    assert.equal(matchRoute(vh, { method: 'GET', path: '/', headers: {}, port: 9090 })?.target, 'p9090');
    assert.equal(matchRoute(vh, { method: 'GET', path: '/', headers: {}, port: 80 })?.target, 'rest');
    assert.equal(table.matchRoute(vh, { method: 'GET', path: '/', headers: {}, port: 9090 })?.target, 'p9090');
  });

  it('no matching route -> undefined', () => {
    const table = compileRouteTable([vhost('v', ['*'], [r('a', { method: 'POST' })], 'ordered')], (route) => route.name);
    assert.equal(matchRoute(table.selectVirtualHost('x')!, { method: 'GET', path: '/', headers: {}, port: 80 }), undefined);
  });
});

describe('matchRoute does not read what no route needs', () => {
  it('never touches headers when no route has header conditions', () => {
    const table = compileRouteTable(
      [vhost('v', ['*'], httpRoute('ns/r', T0, [{ matches: [{ path: { type: 'PathPrefix', value: '/a' } }], backend: 'a' }]))],
      () => null,
    );
    const vh = table.selectVirtualHost('x')!;
    assert.equal(vh.needsHeaders, false);
    assert.equal(vh.needsQuery, false);
    const headers = new Proxy(
      {},
      {
        get() {
          throw new Error('headers read');
        },
      },
    );
    assert.ok(matchRoute(vh, { method: 'GET', path: '/a/b?x=1', headers, port: 80 }));
  });
});
