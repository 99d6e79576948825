import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type * as ir from '../../ir/index.js';
import { RegexSyntaxError } from '../../common/regex.js';
import { compilePathRewrite, matchedPrefixOf, rewritePath, type MatchedPrefix } from './rewrite-path.js';

const seg = (value: string): MatchedPrefix => ({ value, segmentAware: true });
const raw = (value: string): MatchedPrefix => ({ value, segmentAware: false });
const rw = (r: ir.PathRewrite) => compilePathRewrite(r);

describe('ReplacePrefixMatch (Gateway API, segment-aware)', () => {
  // config-apis.md 1.9 examples, the brief's, and the conformance HTTPRouteRewritePath cases.
  const cases: [prefix: string, replacement: string, path: string, expected: string][] = [
    ['/foo', '/xyz', '/foo/bar', '/xyz/bar'],
    ['/foo', '/xyz', '/foo', '/xyz'],
    ['/foo', '/xyz', '/foo/', '/xyz/'],
    ['/foo', '', '/foo/bar', '/bar'],
    ['/foo', '', '/foo', '/'],
    ['/foo', '', '/foo/', '/'],
    ['/foo', '/', '/foo', '/'],
    ['/foo', '/', '/foo/', '/'],
    ['/foo', '/', '/foo/baz', '/baz'],
    ['/foo', '/bar', '/foo/baz', '/bar/baz'],
    ['/foo/', '/xyz/', '/foo/bar', '/xyz/bar'],
    ['/foo/', '/xyz', '/foo/bar', '/xyz/bar'],
    ['/foo', '/xyz/', '/foo/bar', '/xyz/bar'],
    ['/foo/', '/xyz', '/foo', '/xyz'],
    ['/', '/xyz', '/bar', '/xyz/bar'],
    ['/', '/xyz/', '/bar', '/xyz/bar'],
    ['/', '/xyz', '/', '/xyz/'],
    ['/prefix/one', '/one', '/prefix/one/two', '/one/two'],
    ['/strip-prefix', '/', '/strip-prefix/three', '/three'],
    ['/strip-prefix', '/', '/strip-prefix', '/'],
    ['/foo', '', '/foo//bar', '/bar'],
    // The query string is kept.
    ['/foo', '/bar', '/foo/baz?x=1&y=/foo', '/bar/baz?x=1&y=/foo'],
    ['/foo', '', '/foo?x=1', '/?x=1'],
  ];
  for (const [prefix, replacement, path, expected] of cases) {
    it(`${prefix} -> ${JSON.stringify(replacement)}: ${path} => ${expected}`, () => {
      assert.equal(rewritePath(path, seg(prefix), rw({ kind: 'prefix', value: replacement })), expected);
    });
  }
});

describe('prefix_rewrite (Envoy, Istio: raw prefix)', () => {
  const cases: [prefix: string, replacement: string, path: string, expected: string][] = [
    ['/foo', '/bar', '/foo/baz', '/bar/baz'],
    ['/foo', '/bar', '/foobaz', '/barbaz'],
    ['/foo', '/', '/foo/baz', '//baz'],
    ['/foo/', '/', '/foo/baz', '/baz'],
    ['/', '/v2/', '/api', '/v2/api'],
    ['/foo', '/bar', '/foo?q=1', '/bar?q=1'],
  ];
  for (const [prefix, replacement, path, expected] of cases) {
    it(`${prefix} -> ${replacement}: ${path} => ${expected}`, () => {
      assert.equal(rewritePath(path, raw(prefix), rw({ kind: 'prefix', value: replacement })), expected);
    });
  }

  it('without a matched prefix (exact or regex match) the whole path is replaced', () => {
    assert.equal(rewritePath('/exact/path?q=1', undefined, rw({ kind: 'prefix', value: '/new' })), '/new?q=1');
  });
});

describe('full path replacement', () => {
  it('replaces the path and keeps the query', () => {
    assert.equal(rewritePath('/full/one/two', seg('/full'), rw({ kind: 'full', value: '/one' })), '/one');
    assert.equal(rewritePath('/full/x?a=b', undefined, rw({ kind: 'full', value: '/y' })), '/y?a=b');
  });
});

describe('regex substitution (Envoy regex_rewrite, Istio uriRegexRewrite)', () => {
  const cases: [pattern: string, substitution: string, path: string, expected: string][] = [
    ['^/service/([^/]+)(/.*)$', '\\2/instance/\\1', '/service/foo/v1/api', '/v1/api/instance/foo'],
    // Every match is replaced (RE2::GlobalReplace).
    ['one', 'two', '/xxx/one/yyy/one/zzz', '/xxx/two/yyy/two/zzz'],
    ['^/aaa', '/bbb', '/aaa/x?aaa=1', '/bbb/x?aaa=1'],
    ['^/.*$', '/fixed', '/anything/here?q', '/fixed?q'],
    ['(a)', '\\0\\1', '/a', '/aa'],
    ['x', '$1\\\\', '/x', '/$1\\'],
    // `\1` followed by a digit is group 1 then the digit.
    ['(a)', '\\10', '/a', '/a0'],
  ];
  for (const [pattern, substitution, path, expected] of cases) {
    it(`${pattern} -> ${substitution}: ${path} => ${expected}`, () => {
      assert.equal(rewritePath(path, undefined, rw({ kind: 'regex', pattern, substitution })), expected);
    });
  }

  it('rejects a substitution naming a group the pattern lacks', () => {
    assert.throws(() => rw({ kind: 'regex', pattern: '(a)', substitution: '\\2' }), RegexSyntaxError);
    assert.throws(() => rw({ kind: 'regex', pattern: 'a', substitution: '\\q' }), RegexSyntaxError);
  });

  it('the compiled regex is reusable across calls (global flag state does not leak)', () => {
    const r = rw({ kind: 'regex', pattern: 'a', substitution: 'b' });
    assert.equal(rewritePath('/a', undefined, r), '/b');
    assert.equal(rewritePath('/a', undefined, r), '/b');
  });
});

describe('matchedPrefixOf', () => {
  it('prefix matches give their prefix; exact, regex and gRPC the whole path; none Envoy\'s "/"', () => {
    assert.deepEqual(matchedPrefixOf({ path: { kind: 'prefix', value: '/a', segmentAware: true } }), seg('/a'));
    assert.deepEqual(matchedPrefixOf({ path: { kind: 'prefix', value: '/a', segmentAware: false } }), raw('/a'));
    assert.equal(matchedPrefixOf({ path: { kind: 'exact', value: '/a' } }), undefined);
    assert.equal(matchedPrefixOf({ path: { kind: 'regex', value: '/a' } }), undefined);
    assert.equal(matchedPrefixOf({ grpc: { kind: 'exact', service: 's' } }), undefined);
    assert.deepEqual(matchedPrefixOf({}), raw('/'));
  });
});
