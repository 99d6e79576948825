import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type * as ir from '../../ir/index.js';
import { compileRedirect, redirectLocation, type RedirectRequest } from './redirect-location.js';

function gw(r: Omit<ir.Redirect, 'statusCode'>, prefix?: string) {
  return compileRedirect({ statusCode: 302, ...r }, prefix ? { value: prefix, segmentAware: true } : undefined, { portFromListener: true });
}
function envoy(r: Omit<ir.Redirect, 'statusCode'>, prefix?: string) {
  return compileRedirect({ statusCode: 301, ...r }, prefix ? { value: prefix, segmentAware: false } : undefined, {
    portFromListener: false,
  });
}

describe('Gateway API RequestRedirect (conformance HTTPRouteRedirectPortAndScheme)', () => {
  // [listener scheme, listener port, Host, filter scheme, filter port, expected Location]
  const cases: [
    scheme: string,
    port: number,
    authority: string,
    rScheme: 'http' | 'https' | undefined,
    rPort: number | undefined,
    expected: string,
  ][] = [
    ['http', 80, 'gw', undefined, undefined, 'http://example.org/p'],
    ['http', 80, 'gw', undefined, 80, 'http://example.org/p'],
    ['http', 80, 'gw', undefined, 8080, 'http://example.org:8080/p'],
    ['http', 80, 'gw', 'https', undefined, 'https://example.org/p'],
    ['http', 80, 'gw', 'https', 443, 'https://example.org/p'],
    ['http', 80, 'gw', 'https', 8443, 'https://example.org:8443/p'],
    // Listener on 8080: without scheme and port, the listener port is kept.
    ['http', 8080, 'gw:8080', undefined, undefined, 'http://example.org:8080/p'],
    ['http', 8080, 'gw:8080', undefined, 80, 'http://example.org/p'],
    ['http', 8080, 'gw:8080', 'https', undefined, 'https://example.org/p'],
    // The declared listener port counts, not a port the client reached it on.
    ['http', 8080, 'gw:31080', undefined, undefined, 'http://example.org:8080/p'],
    ['https', 443, 'example.org', undefined, undefined, 'https://example.org/p'],
    ['https', 443, 'example.org', undefined, 443, 'https://example.org/p'],
    ['https', 443, 'example.org', undefined, 8443, 'https://example.org:8443/p'],
    ['https', 443, 'example.org', 'http', undefined, 'http://example.org/p'],
    ['https', 443, 'example.org', 'http', 80, 'http://example.org/p'],
    ['https', 443, 'example.org', 'http', 8080, 'http://example.org:8080/p'],
  ];
  for (const [scheme, port, authority, rScheme, rPort, expected] of cases) {
    it(`${scheme}:${port} scheme=${rScheme ?? 'nil'} port=${rPort ?? 'nil'} -> ${expected}`, () => {
      const req: RedirectRequest = { scheme, authority, path: '/p', port };
      const r = gw({ host: 'example.org', ...(rScheme ? { scheme: rScheme } : {}), ...(rPort ? { port: rPort } : {}) });
      assert.equal(redirectLocation(req, r), expected);
    });
  }
});

describe('Gateway API RequestRedirect: host, path', () => {
  const req = (path: string, authority = 'gw.example.com'): RedirectRequest => ({ scheme: 'http', authority, path, port: 80 });
  it('keeps the request host without its port when no hostname is set', () => {
    assert.equal(redirectLocation(req('/see-other', 'gw.example.com:80'), gw({})), 'http://gw.example.com/see-other');
    assert.equal(redirectLocation(req('/x', '[::1]:80'), gw({})), 'http://[::1]/x');
  });
  it('ReplacePrefixMatch and ReplaceFullPath (HTTPRouteRedirectPath)', () => {
    assert.equal(
      redirectLocation(req('/original-prefix/lemon'), gw({ path: { kind: 'prefix', value: '/replacement-prefix' } }, '/original-prefix')),
      'http://gw.example.com/replacement-prefix/lemon',
    );
    assert.equal(
      redirectLocation(req('/full/path/original'), gw({ path: { kind: 'full', value: '/full-path-replacement' } }, '/full')),
      'http://gw.example.com/full-path-replacement',
    );
  });
  it('keeps the query string', () => {
    assert.equal(redirectLocation(req('/a?x=1'), gw({ scheme: 'https' })), 'https://gw.example.com/a?x=1');
    assert.equal(redirectLocation(req('/a/b?x=1'), gw({ path: { kind: 'full', value: '/z' } })), 'http://gw.example.com/z?x=1');
  });
  it('without any Host the Location is a relative reference', () => {
    assert.equal(redirectLocation({ scheme: 'http', authority: undefined, path: '/a', port: 80 }, gw({})), '/a');
  });
});

describe('Envoy / Istio redirects', () => {
  const cases: [name: string, req: RedirectRequest, r: Omit<ir.Redirect, 'statusCode'>, expected: string][] = [
    [
      'keeps host and port',
      { scheme: 'http', authority: 'svc:8080', path: '/a', port: 80 },
      { path: { kind: 'full', value: '/b' } },
      'http://svc:8080/b',
    ],
    ['default port of the request scheme is dropped', { scheme: 'http', authority: 'svc:80', path: '/a', port: 80 }, {}, 'http://svc/a'],
    ['https redirect uses 443', { scheme: 'http', authority: 'svc:8080', path: '/a', port: 8080 }, { scheme: 'https' }, 'https://svc/a'],
    [
      'host_redirect replaces the authority',
      { scheme: 'http', authority: 'svc:8080', path: '/a', port: 8080 },
      { host: 'other' },
      'http://other/a',
    ],
    ['port_redirect', { scheme: 'http', authority: 'svc:8080', path: '/a', port: 8080 }, { port: 9090 }, 'http://svc:9090/a'],
    ['explicit default port is omitted', { scheme: 'https', authority: 'svc', path: '/a', port: 443 }, { port: 443 }, 'https://svc/a'],
    ['ignores the listener port', { scheme: 'http', authority: 'svc', path: '/a', port: 8080 }, {}, 'http://svc/a'],
  ];
  for (const [name, req, r, expected] of cases) {
    it(`${name}: ${expected}`, () => assert.equal(redirectLocation(req, envoy(r)), expected));
  }

  it('prefixRewrite replaces the raw matched prefix', () => {
    const req: RedirectRequest = { scheme: 'http', authority: 'svc', path: '/v1/items?id=3', port: 80 };
    assert.equal(redirectLocation(req, envoy({ path: { kind: 'prefix', value: '/v2' } }, '/v1')), 'http://svc/v2/items?id=3');
  });

  it('carries the status code', () => {
    assert.equal(envoy({}).statusCode, 301);
    assert.equal(gw({}).statusCode, 302);
  });
});
