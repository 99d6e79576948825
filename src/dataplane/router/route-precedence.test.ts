import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type * as ir from '../../ir/index.js';
import { compareRoutePrecedence, sortRoutesByPrecedence } from './route-precedence.js';

type R = { name: string; match: ir.RouteMatch; sortKey?: Partial<ir.RouteSortKey> };

function route(r: R): ir.Route {
  return {
    name: r.name,
    match: r.match,
    action: { kind: 'forward', clusters: [{ cluster: 'c', weight: 1 }] },
    sortKey: {
      namespacedName: 'ns/route',
      ruleIndex: 0,
      matchIndex: 0,
      ...r.sortKey,
    },
    origin: {},
  };
}

const exact = (value: string): ir.PathMatch => ({ kind: 'exact', value });
const prefix = (value: string): ir.PathMatch => ({ kind: 'prefix', value, segmentAware: true });
const regex = (value: string): ir.PathMatch => ({ kind: 'regex', value });
const hdr = (name: string): ir.HeaderMatch => ({ name, match: { kind: 'exact', value: 'v' } });
const qp = (name: string): ir.QueryMatch => ({ name, match: { kind: 'exact', value: 'v' } });

/** Sorts the input (given in a scrambled order) and compares names with the expected order. */
function order(routes: R[]): string[] {
  return sortRoutesByPrecedence(routes.map(route)).map((r) => r.name);
}

describe('Gateway API precedence (HTTPRoute)', () => {
  const cases: { name: string; input: R[]; expected: string[] }[] = [
    {
      name: 'exact beats any prefix, even a longer one',
      input: [
        { name: 'prefix-long', match: { path: prefix('/aaaaaaaaaa') } },
        { name: 'exact-short', match: { path: exact('/a') } },
      ],
      expected: ['exact-short', 'prefix-long'],
    },
    {
      name: 'longer prefix first',
      input: [
        { name: 'root', match: { path: prefix('/') } },
        { name: 'match', match: { path: prefix('/match/') } },
        { name: 'deep', match: { path: prefix('/match/prefix/one') } },
        { name: 'mid', match: { path: prefix('/match/prefix/') } },
      ],
      expected: ['deep', 'mid', 'match', 'root'],
    },
    {
      name: 'regex sits between exact and prefix, longer regex first',
      input: [
        { name: 'prefix', match: { path: prefix('/a/b/c/d/e/f') } },
        { name: 're-short', match: { path: regex('/a.*') } },
        { name: 'exact', match: { path: exact('/a') } },
        { name: 're-long', match: { path: regex('/a/[0-9]+/.*') } },
      ],
      expected: ['exact', 're-long', 're-short', 'prefix'],
    },
    {
      name: 'path length beats method (HTTPRouteMethodMatching: PATCH /path5 -> path5 rule)',
      input: [
        { name: 'method-patch', match: { method: 'PATCH' }, sortKey: { ruleIndex: 7 } },
        { name: 'path5', match: { path: prefix('/path5') }, sortKey: { ruleIndex: 6 } },
      ],
      expected: ['path5', 'method-patch'],
    },
    {
      name: 'method beats headers (PATCH / with version: four -> method rule)',
      input: [
        { name: 'header-four', match: { headers: [hdr('version')] }, sortKey: { ruleIndex: 8 } },
        { name: 'method-patch', match: { method: 'PATCH' }, sortKey: { ruleIndex: 7 } },
      ],
      expected: ['method-patch', 'header-four'],
    },
    {
      name: 'more headers first',
      input: [
        { name: 'one', match: { headers: [hdr('a')] } },
        { name: 'two', match: { headers: [hdr('a'), hdr('b')] } },
        { name: 'none', match: {} },
      ],
      expected: ['two', 'one', 'none'],
    },
    {
      name: 'headers beat query params (HTTPRouteQueryParamMatching last case)',
      input: [
        { name: 'query-hydra', match: { query: [qp('animal')] }, sortKey: { ruleIndex: 7 } },
        { name: 'header-four', match: { headers: [hdr('version')] }, sortKey: { ruleIndex: 8 } },
      ],
      expected: ['header-four', 'query-hydra'],
    },
    {
      name: 'more query params first',
      input: [
        { name: 'q1', match: { query: [qp('a')] } },
        { name: 'q2', match: { query: [qp('a'), qp('b')] } },
      ],
      expected: ['q2', 'q1'],
    },
    {
      name: 'an absent path counts as PathPrefix "/"',
      input: [
        { name: 'no-path', match: {}, sortKey: { ruleIndex: 0 } },
        { name: 'root', match: { path: prefix('/') }, sortKey: { ruleIndex: 1 } },
        { name: 'x', match: { path: prefix('/x') }, sortKey: { ruleIndex: 2 } },
      ],
      expected: ['x', 'no-path', 'root'],
    },
    {
      name: 'specificity ties: oldest creationTimestamp first',
      input: [
        { name: 'new', match: { path: prefix('/') }, sortKey: { namespacedName: 'a/a', creationTimestamp: '2024-02-01T00:00:00Z' } },
        { name: 'old', match: { path: prefix('/') }, sortKey: { namespacedName: 'z/z', creationTimestamp: '2024-01-01T00:00:00Z' } },
      ],
      expected: ['old', 'new'],
    },
    {
      name: 'a missing timestamp sorts after a known one',
      input: [
        { name: 'unknown', match: {}, sortKey: { namespacedName: 'a/a' } },
        { name: 'known', match: {}, sortKey: { namespacedName: 'z/z', creationTimestamp: '2030-01-01T00:00:00Z' } },
      ],
      expected: ['known', 'unknown'],
    },
    {
      name: 'same timestamp: namespace/name alphabetical',
      input: [
        { name: 'b', match: {}, sortKey: { namespacedName: 'ns/b', creationTimestamp: '2024-01-01T00:00:00Z' } },
        { name: 'a2', match: {}, sortKey: { namespacedName: 'ns/a2', creationTimestamp: '2024-01-01T00:00:00Z' } },
        { name: 'other-ns', match: {}, sortKey: { namespacedName: 'aaa/z', creationTimestamp: '2024-01-01T00:00:00Z' } },
      ],
      expected: ['other-ns', 'a2', 'b'],
    },
    {
      name: 'same route: rule index, then match index',
      input: [
        { name: 'r1m0', match: {}, sortKey: { ruleIndex: 1, matchIndex: 0 } },
        { name: 'r0m1', match: {}, sortKey: { ruleIndex: 0, matchIndex: 1 } },
        { name: 'r0m0', match: {}, sortKey: { ruleIndex: 0, matchIndex: 0 } },
      ],
      expected: ['r0m0', 'r0m1', 'r1m0'],
    },
    {
      name: 'specificity beats age',
      input: [
        { name: 'old-root', match: { path: prefix('/') }, sortKey: { creationTimestamp: '2000-01-01T00:00:00Z' } },
        { name: 'new-v2', match: { path: prefix('/v2') }, sortKey: { creationTimestamp: '2025-01-01T00:00:00Z' } },
      ],
      expected: ['new-v2', 'old-root'],
    },
    {
      name: 'HTTPRoutePathMatchOrder manifest',
      input: [
        { name: 'exact /match', match: { path: exact('/match') }, sortKey: { ruleIndex: 0 } },
        { name: 'exact /match/exact', match: { path: exact('/match/exact') }, sortKey: { ruleIndex: 1 } },
        { name: 'exact /match/exact/one', match: { path: exact('/match/exact/one') }, sortKey: { ruleIndex: 2 } },
        { name: 'prefix /match/', match: { path: prefix('/match/') }, sortKey: { ruleIndex: 3 } },
        { name: 'prefix /match/prefix/', match: { path: prefix('/match/prefix/') }, sortKey: { ruleIndex: 4 } },
        { name: 'prefix /match/prefix/one', match: { path: prefix('/match/prefix/one') }, sortKey: { ruleIndex: 5 } },
      ],
      expected: [
        'exact /match/exact/one',
        'exact /match/exact',
        'exact /match',
        'prefix /match/prefix/one',
        'prefix /match/prefix/',
        'prefix /match/',
      ],
    },
  ];
  for (const c of cases) {
    it(c.name, () => {
      assert.deepEqual(order(c.input), c.expected);
      assert.deepEqual(order([...c.input].reverse()), c.expected, 'input order must not matter');
    });
  }
});

describe('Gateway API precedence (GRPCRoute)', () => {
  const g = (service?: string, method?: string, kind: 'exact' | 'regex' = 'exact'): ir.RouteMatch => ({
    grpc: { kind, ...(service !== undefined ? { service } : {}), ...(method !== undefined ? { method } : {}) },
  });
  const cases: { name: string; input: R[]; expected: string[] }[] = [
    {
      name: 'longer service first, even with a shorter method',
      input: [
        { name: 'svc-ab', match: g('ab', 'Loooooong') },
        { name: 'svc-abc', match: g('abc', 'M') },
      ],
      expected: ['svc-abc', 'svc-ab'],
    },
    {
      name: 'same service: longer method first; no method last',
      input: [
        { name: 'none', match: g('svc') },
        { name: 'short', match: g('svc', 'Do') },
        { name: 'long', match: g('svc', 'DoMore') },
      ],
      expected: ['long', 'short', 'none'],
    },
    {
      name: 'method-only matches rank after any service',
      input: [
        { name: 'method-only', match: g(undefined, 'VeryLongMethodName') },
        { name: 'service', match: g('s') },
      ],
      expected: ['service', 'method-only'],
    },
    {
      name: 'then more headers',
      input: [
        { name: 'plain', match: g('s', 'M') },
        { name: 'with-header', match: { ...g('s', 'M'), headers: [hdr('x')] } },
      ],
      expected: ['with-header', 'plain'],
    },
    {
      name: 'exact and regex of equal lengths fall to the route tie-breakers',
      input: [
        { name: 'regex-older', match: g('s.*', 'M'), sortKey: { creationTimestamp: '2020-01-01T00:00:00Z' } },
        { name: 'exact-newer', match: g('s.x', 'M'), sortKey: { creationTimestamp: '2021-01-01T00:00:00Z' } },
      ],
      expected: ['regex-older', 'exact-newer'],
    },
    {
      name: 'gRPC matches go before HTTP matches in a mixed virtual host',
      input: [
        { name: 'http-exact', match: { path: exact('/s/M') } },
        { name: 'grpc', match: g('s') },
      ],
      expected: ['grpc', 'http-exact'],
    },
  ];
  for (const c of cases) {
    it(c.name, () => {
      assert.deepEqual(order(c.input), c.expected);
      assert.deepEqual(order([...c.input].reverse()), c.expected, 'input order must not matter');
    });
  }
});

describe('compareRoutePrecedence', () => {
  it('is antisymmetric and zero only for equal keys', () => {
    const a = route({ name: 'a', match: { path: exact('/a') } });
    const b = route({ name: 'b', match: { path: prefix('/a') } });
    assert.ok(compareRoutePrecedence(a, b) < 0);
    assert.ok(compareRoutePrecedence(b, a) > 0);
    assert.equal(compareRoutePrecedence(a, a), 0);
  });
  it('routes without a sortKey keep their input order among equals', () => {
    const plain = (name: string): ir.Route => ({ ...route({ name, match: {} }), sortKey: undefined });
    assert.deepEqual(
      sortRoutesByPrecedence([plain('x'), plain('y'), plain('z')]).map((r) => r.name),
      ['x', 'y', 'z'],
    );
  });
});
