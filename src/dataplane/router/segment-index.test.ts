import { test } from 'node:test';
import assert from 'node:assert/strict';
import type * as ir from '../../ir/index.js';
import { seededRandom, type Random } from '../../common/random.js';
import { compileRouteTable } from './compile-route-table.js';
import { matchRoute } from './match-route.js';
import { requiredSegment, SEGMENT_INDEX_MIN_ROUTES } from './segment-index.js';

const SEGMENTS = ['api', 'API', 'v1', 'foo', 'foobar', 'fo', 'x', ''];

function pick<T>(r: Random, xs: readonly T[]): T {
  return xs[Math.floor(r.next() * xs.length)]!;
}

function randomPath(r: Random): string {
  const n = 1 + Math.floor(r.next() * 3);
  let p = '';
  for (let i = 0; i < n; i++) p += '/' + pick(r, SEGMENTS);
  if (r.next() < 0.3) p += '/';
  return p;
}

function randomMatch(r: Random): ir.RouteMatch {
  const value = randomPath(r);
  const roll = r.next();
  const path: ir.PathMatch =
    roll < 0.25
      ? { kind: 'exact', value, ...(r.next() < 0.2 ? { ignoreCase: true } : {}) }
      : roll < 0.55
        ? { kind: 'prefix', value, segmentAware: true, ...(r.next() < 0.2 ? { ignoreCase: true } : {}) }
        : roll < 0.85
          ? { kind: 'prefix', value: r.next() < 0.3 ? value.slice(0, -1) || '/' : value, segmentAware: false }
          : r.next() < 0.5
            ? { kind: 'regex', value: `/${pick(r, SEGMENTS)}.*` }
            : { kind: 'prefix', value: '/', segmentAware: false };
  return { path, ...(r.next() < 0.2 ? { method: pick(r, ['GET', 'POST']) } : {}) };
}

/** The index must pick exactly the route a plain scan picks, for any routes and any request. */
test('segment index: same first match as a plain scan (randomized, seeded)', () => {
  const r = seededRandom(42);
  for (let round = 0; round < 40; round++) {
    const routes: ir.Route[] = Array.from({ length: SEGMENT_INDEX_MIN_ROUTES + Math.floor(r.next() * 40) }, (_, i) => ({
      name: `r${i}`,
      match: randomMatch(r),
      action: { kind: 'direct', response: { status: 200 } },
      origin: {},
    }));
    const table = compileRouteTable([{ name: 'vh', domains: ['*'], routeOrder: 'ordered', routes, origin: {} }], () => null);
    const vh = table.virtualHosts[0]!;
    assert.ok(vh.index, 'large virtual hosts get an index');
    const scan = { ...vh, index: null };
    for (let q = 0; q < 200; q++) {
      const target = randomPath(r) + (r.next() < 0.3 ? `?q=/${pick(r, SEGMENTS)}` : '');
      const req = { method: pick(r, ['GET', 'POST']), path: target, headers: {}, port: 80 };
      assert.equal(matchRoute(vh, req)?.route.name, matchRoute(scan, req)?.route.name, `round ${round}: ${req.method} ${target}`);
    }
  }
});

test('which paths fix the first segment', () => {
  const p = (kind: 'exact' | 'prefix' | 'segment' | 'regex', value: string, ignoreCase = false) => ({ kind, value, ignoreCase, re: null });
  assert.equal(requiredSegment(p('exact', '/api')), 'api');
  assert.equal(requiredSegment(p('segment', '/api/v1')), 'api');
  assert.equal(requiredSegment(p('prefix', '/api/')), 'api');
  assert.equal(requiredSegment(p('prefix', '/api')), undefined, '/api also prefixes /apis');
  assert.equal(requiredSegment(p('prefix', '/')), undefined);
  assert.equal(requiredSegment(p('exact', '/API', true)), undefined, 'case-insensitive paths are not indexed');
  assert.equal(requiredSegment(p('regex', '/api/.*')), undefined);
});

test('small virtual hosts are scanned as they are', () => {
  const routes: ir.Route[] = [
    { name: 'a', match: { path: { kind: 'exact', value: '/a' } }, action: { kind: 'direct', response: { status: 200 } }, origin: {} },
  ];
  const table = compileRouteTable([{ name: 'vh', domains: ['*'], routeOrder: 'ordered', routes, origin: {} }], () => null);
  assert.equal(table.virtualHosts[0]!.index, null);
});
