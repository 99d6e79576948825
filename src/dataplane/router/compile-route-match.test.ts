import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type * as ir from '../../ir/index.js';
import {
  compileRouteMatch,
  compileStringMatch,
  findQueryParam,
  matchHeaders,
  matchPlainPath,
  matchQuery,
  pathEnd,
  type RouteRequest,
} from './compile-route-match.js';

/** Evaluates a whole RouteMatch the way matchRoute does. */
function matches(m: ir.RouteMatch, req: Partial<RouteRequest>): boolean {
  const r: RouteRequest = { method: 'GET', path: '/', headers: {}, port: 80, ...req };
  const c = compileRouteMatch(m);
  const end = pathEnd(r.path);
  const path = r.path.slice(0, end);
  for (const p of [c.path, c.grpc]) {
    if (p.re !== null ? !p.re.test(path) : !matchPlainPath(p, r.path, end)) return false;
  }
  if (c.method !== undefined && c.method !== r.method) return false;
  if (c.port !== undefined && c.port !== r.port) return false;
  if (c.headers && !matchHeaders(c.headers, r)) return false;
  if (c.query && !matchQuery(c.query, r.path, end)) return false;
  return true;
}

describe('path matching', () => {
  const cases: [name: string, path: ir.PathMatch, target: string, expected: boolean][] = [
    ['exact', { kind: 'exact', value: '/foo' }, '/foo', true],
    ['exact ignores the query', { kind: 'exact', value: '/foo' }, '/foo?a=b', true],
    ['exact ignores a fragment', { kind: 'exact', value: '/foo' }, '/foo#x', true],
    ['exact is not a prefix', { kind: 'exact', value: '/foo' }, '/foo/', false],
    ['exact is case-sensitive', { kind: 'exact', value: '/foo' }, '/Foo', false],
    ['exact ignoreCase', { kind: 'exact', value: '/Foo', ignoreCase: true }, '/fOO?x', true],
    ['exact ignoreCase still exact', { kind: 'exact', value: '/foo', ignoreCase: true }, '/foox', false],
    ['segment prefix: itself', { kind: 'prefix', value: '/foo', segmentAware: true }, '/foo', true],
    ['segment prefix: trailing slash', { kind: 'prefix', value: '/foo', segmentAware: true }, '/foo/', true],
    ['segment prefix: child', { kind: 'prefix', value: '/foo', segmentAware: true }, '/foo/bar', true],
    ['segment prefix: not a partial segment', { kind: 'prefix', value: '/foo', segmentAware: true }, '/foobar', false],
    ['segment prefix: query after the prefix', { kind: 'prefix', value: '/foo', segmentAware: true }, '/foo?x=1', true],
    ['segment prefix: shorter path', { kind: 'prefix', value: '/foo', segmentAware: true }, '/fo', false],
    ['segment prefix with slash: without it', { kind: 'prefix', value: '/foo/', segmentAware: true }, '/foo', true],
    ['segment prefix with slash: child', { kind: 'prefix', value: '/foo/', segmentAware: true }, '/foo/bar', true],
    ['segment prefix with slash: partial', { kind: 'prefix', value: '/foo/', segmentAware: true }, '/foobar', false],
    ['segment root', { kind: 'prefix', value: '/', segmentAware: true }, '/anything', true],
    ['segment prefix ignoreCase', { kind: 'prefix', value: '/Foo', segmentAware: true, ignoreCase: true }, '/FOO/x', true],
    ['segment prefix case-sensitive', { kind: 'prefix', value: '/Foo', segmentAware: true }, '/foo/x', false],
    ['raw prefix: partial segment', { kind: 'prefix', value: '/foo', segmentAware: false }, '/foobar', true],
    ['raw prefix: shorter path', { kind: 'prefix', value: '/foo', segmentAware: false }, '/fo', false],
    ['raw prefix does not reach into the query', { kind: 'prefix', value: '/foo?a', segmentAware: false }, '/foo?a', false],
    ['raw prefix ignoreCase', { kind: 'prefix', value: '/FOO', segmentAware: false, ignoreCase: true }, '/foobar', true],
    ['regex full match', { kind: 'regex', value: '/v[0-9]+' }, '/v2', true],
    ['regex full match, not partial', { kind: 'regex', value: '/v[0-9]+' }, '/v2/x', false],
    ['regex ignores the query', { kind: 'regex', value: '/v[0-9]+' }, '/v2?x=1', true],
  ];
  for (const [name, path, target, expected] of cases) {
    it(`${name}: ${path.kind} ${path.value} vs ${target} -> ${expected}`, () => {
      assert.equal(matches({ path }, { path: target }), expected);
    });
  }
});

describe('method and port', () => {
  it('method must be equal', () => {
    assert.equal(matches({ method: 'POST' }, { method: 'POST' }), true);
    assert.equal(matches({ method: 'POST' }, { method: 'GET' }), false);
  });
  it('port must be the listener port', () => {
    assert.equal(matches({ port: 8080 }, { port: 8080 }), true);
    assert.equal(matches({ port: 8080 }, { port: 80 }), false);
  });
});

describe('string matchers', () => {
  const cases: [m: ir.StringMatch, value: string, expected: boolean][] = [
    [{ kind: 'exact', value: 'abc' }, 'abc', true],
    [{ kind: 'exact', value: 'abc' }, 'ABC', false],
    [{ kind: 'exact', value: 'abc', ignoreCase: true }, 'AbC', true],
    [{ kind: 'exact', value: 'abc', ignoreCase: true }, 'abcd', false],
    [{ kind: 'prefix', value: 'ab' }, 'abc', true],
    [{ kind: 'prefix', value: 'ab' }, 'xab', false],
    [{ kind: 'prefix', value: 'AB', ignoreCase: true }, 'abc', true],
    [{ kind: 'suffix', value: 'bc' }, 'abc', true],
    [{ kind: 'suffix', value: 'bc' }, 'bca', false],
    [{ kind: 'suffix', value: 'BC', ignoreCase: true }, 'abc', true],
    [{ kind: 'suffix', value: 'abcd', ignoreCase: true }, 'bcd', false],
    [{ kind: 'contains', value: 'b' }, 'abc', true],
    [{ kind: 'contains', value: 'x' }, 'abc', false],
    [{ kind: 'contains', value: 'BC', ignoreCase: true }, 'abcd', true],
    [{ kind: 'contains', value: 'BD', ignoreCase: true }, 'abcd', false],
    [{ kind: 'regex', value: 'a.c' }, 'abc', true],
    [{ kind: 'regex', value: 'a.c' }, 'abcd', false],
  ];
  for (const [m, value, expected] of cases) {
    it(`${JSON.stringify(m)} vs ${value} -> ${expected}`, () => {
      const test = compileStringMatch(m);
      assert.ok(test);
      assert.equal(test(value), expected);
    });
  }
  it('present compiles to null (presence only)', () => {
    assert.equal(compileStringMatch({ kind: 'present' }), null);
  });
});

describe('header matching', () => {
  const exact = (name: string, value: string, invert = false): ir.HeaderMatch => ({
    name,
    match: { kind: 'exact', value },
    invert,
  });
  const cases: [name: string, headers: ir.HeaderMatch[], req: Partial<RouteRequest>, expected: boolean][] = [
    ['exact', [exact('version', 'one')], { headers: { version: 'one' } }, true],
    ['exact mismatch', [exact('version', 'one')], { headers: { version: 'two' } }, false],
    ['names are case-insensitive', [exact('Version', 'one')], { headers: { version: 'one' } }, true],
    ['values are case-sensitive', [exact('version', 'one')], { headers: { version: 'ONE' } }, false],
    ['missing header', [exact('version', 'one')], { headers: {} }, false],
    ['AND of several', [exact('a', '1'), exact('b', '2')], { headers: { a: '1', b: '2' } }, true],
    ['AND fails on one', [exact('a', '1'), exact('b', '2')], { headers: { a: '1', b: '3' } }, false],
    ['repeated values join with ","', [exact('x', 'a,b')], { headers: { x: ['a', 'b'] } }, true],
    ['single-element array', [exact('x', 'a')], { headers: { x: ['a'] } }, true],
    ['invert: other value', [exact('x', 'a', true)], { headers: { x: 'b' } }, true],
    ['invert: same value', [exact('x', 'a', true)], { headers: { x: 'a' } }, false],
    // Envoy: a missing header fails a value matcher even when inverted.
    ['invert: missing header', [exact('x', 'a', true)], { headers: {} }, false],
    ['present', [{ name: 'x', match: { kind: 'present' } }], { headers: { x: '' } }, true],
    ['present: missing', [{ name: 'x', match: { kind: 'present' } }], { headers: {} }, false],
    ['absent (present + invert)', [{ name: 'x', match: { kind: 'present' }, invert: true }], { headers: {} }, true],
    ['absent: present', [{ name: 'x', match: { kind: 'present' }, invert: true }], { headers: { x: '1' } }, false],
    ['regex full match', [{ name: 'x', match: { kind: 'regex', value: 'v[0-9]' } }], { headers: { x: 'v1' } }, true],
    ['regex not partial', [{ name: 'x', match: { kind: 'regex', value: 'v[0-9]' } }], { headers: { x: 'v12' } }, false],
    [':method pseudo-header', [exact(':method', 'PUT')], { method: 'PUT' }, true],
    [':path pseudo-header includes the query', [{ name: ':path', match: { kind: 'suffix', value: '?a=1' } }], { path: '/x?a=1' }, true],
    [':authority from host (HTTP/1.1)', [exact(':authority', 'example.com')], { headers: { host: 'example.com' } }, true],
    [':authority (HTTP/2)', [exact(':authority', 'example.com')], { headers: { ':authority': 'example.com' } }, true],
    ['host reads :authority', [exact('host', 'example.com')], { headers: { ':authority': 'example.com' } }, true],
  ];
  for (const [name, headers, req, expected] of cases) {
    it(`${name} -> ${expected}`, () => assert.equal(matches({ headers }, req), expected));
  }
});

describe('query matching', () => {
  const q = (name: string, match: ir.StringMatch, invert = false): ir.QueryMatch => ({ name, match, invert });
  const cases: [name: string, query: ir.QueryMatch[], target: string, expected: boolean][] = [
    ['exact', [q('animal', { kind: 'exact', value: 'whale' })], '/?animal=whale', true],
    ['exact among others', [q('animal', { kind: 'exact', value: 'whale' })], '/?a=1&animal=whale&b=2', true],
    ['exact mismatch', [q('animal', { kind: 'exact', value: 'whale' })], '/?animal=dolphin', false],
    ['value is not a prefix match', [q('animal', { kind: 'exact', value: 'whale' })], '/?animal=whaledolphin', false],
    ['names are case-sensitive', [q('animal', { kind: 'exact', value: 'whale' })], '/?ANIMAL=whale', false],
    ['name must be whole', [q('animal', { kind: 'exact', value: 'whale' })], '/?animals=whale', false],
    ['first value wins', [q('a', { kind: 'exact', value: '1' })], '/?a=1&a=2', true],
    ['first value wins (not second)', [q('a', { kind: 'exact', value: '2' })], '/?a=1&a=2', false],
    ['no query at all', [q('a', { kind: 'exact', value: '1' })], '/', false],
    ['empty query', [q('a', { kind: 'present' })], '/?', false],
    ['key without "=" has value ""', [q('debug', { kind: 'exact', value: '' })], '/?debug', true],
    ['key without "=" is present', [q('debug', { kind: 'present' })], '/?x=1&debug', true],
    ['empty value', [q('a', { kind: 'exact', value: '' })], '/?a=', true],
    ['values are not decoded (Envoy)', [q('a', { kind: 'exact', value: 'x%20y' })], '/?a=x%20y', true],
    ['regex', [q('id', { kind: 'regex', value: '[0-9]+' })], '/?id=123', true],
    ['regex full match', [q('id', { kind: 'regex', value: '[0-9]+' })], '/?id=123x', false],
    ['fragment is not part of the value', [q('a', { kind: 'exact', value: '1' })], '/?a=1#frag', true],
    ['AND of several', [q('a', { kind: 'exact', value: '1' }), q('b', { kind: 'exact', value: '2' })], '/?b=2&a=1', true],
    ['absent (present + invert)', [q('a', { kind: 'present' }, true)], '/?b=1', true],
    ['invert value', [q('a', { kind: 'exact', value: '1' }, true)], '/?a=2', true],
  ];
  for (const [name, query, target, expected] of cases) {
    it(`${name}: ${target} -> ${expected}`, () => assert.equal(matches({ query }, { path: target }), expected));
  }

  it('findQueryParam reads within bounds', () => {
    const t = '/p?x=1&y=2#z=3';
    assert.equal(findQueryParam(t, 3, 10, 'y'), '2');
    assert.equal(findQueryParam(t, 3, 10, 'z'), undefined);
  });
});

describe('gRPC service/method matching', () => {
  const svc = 'helloworld.Greeter';
  const cases: [name: string, grpc: ir.GrpcMethodMatch, target: string, expected: boolean][] = [
    ['exact service+method', { kind: 'exact', service: svc, method: 'SayHello' }, `/${svc}/SayHello`, true],
    ['exact service+method: other method', { kind: 'exact', service: svc, method: 'SayHello' }, `/${svc}/SayBye`, false],
    ['exact service only', { kind: 'exact', service: svc }, `/${svc}/Anything`, true],
    ['exact service only: other service', { kind: 'exact', service: svc }, `/${svc}2/Anything`, false],
    ['exact method only', { kind: 'exact', method: 'SayHello' }, `/any.Svc/SayHello`, true],
    ['exact method only: other method', { kind: 'exact', method: 'SayHello' }, `/any.Svc/XSayHello`, false],
    ['exact nothing = any', { kind: 'exact' }, `/a/b`, true],
    ['regex service+method', { kind: 'regex', service: 'hello.*', method: 'Say.*' }, `/${svc}/SayHello`, true],
    ['regex service only', { kind: 'regex', service: 'helloworld\\.Gr.*' }, `/${svc}/X`, true],
    ['regex service only, any method', { kind: 'regex', service: 'helloworld\\.Gr.*' }, `/other.Greeter/X`, false],
    ['regex method only', { kind: 'regex', method: 'Say(Hello|Bye)' }, `/x.Y/SayBye`, true],
    ['regex method only: mismatch', { kind: 'regex', method: 'Say(Hello|Bye)' }, `/x.Y/SayHi`, false],
    ['regex service must match the whole first segment', { kind: 'regex', service: 'hello' }, `/${svc}/SayHello`, false],
  ];
  for (const [name, grpc, target, expected] of cases) {
    it(`${name}: ${target} -> ${expected}`, () => assert.equal(matches({ grpc }, { path: target }), expected));
  }
});

describe('pathEnd', () => {
  it('stops at ? or #', () => {
    assert.equal(pathEnd('/a?b'), 2);
    assert.equal(pathEnd('/a#b?c'), 2);
    assert.equal(pathEnd('/abc'), 4);
  });
});
