import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type * as ir from '../../ir/index.js';
import { seededRandom } from '../../common/random.js';
import { compileRouteTable, RouteCompileError, type RouteParts } from './compile-route-table.js';
import { redirectLocation } from './redirect-location.js';
import { rewritePath } from './rewrite-path.js';

function route(name: string, extra: Partial<ir.Route> = {}): ir.Route {
  return {
    name,
    match: {},
    action: { kind: 'forward', clusters: [{ cluster: name, weight: 1 }] },
    origin: {},
    ...extra,
  };
}

function vhost(name: string, domains: string[], routes: ir.Route[], routeOrder: ir.VirtualHost['routeOrder'] = 'ordered'): ir.VirtualHost {
  return { name, domains, routeOrder, routes, origin: {} };
}

describe('compileRouteTable', () => {
  it('calls attach once per route, in match order, with its virtual host and compiled parts', () => {
    const calls: [string, string, RouteParts][] = [];
    const vh = vhost(
      'v',
      ['*'],
      [
        route('prefix', { match: { path: { kind: 'prefix', value: '/a', segmentAware: true } } }),
        route('exact', { match: { path: { kind: 'exact', value: '/a' } } }),
      ],
      'gateway-api',
    );
    const table = compileRouteTable([vh], (r, v, parts) => {
      calls.push([r.name, v.name, parts]);
      return r.name.toUpperCase();
    });
    assert.deepEqual(
      calls.map(([r, v]) => [r, v]),
      [
        ['exact', 'v'],
        ['prefix', 'v'],
      ],
    );
    assert.equal(calls[0]![2].route.name, 'exact');
    const compiled = table.virtualHosts[0]!;
    assert.deepEqual(
      compiled.routes.map((r) => r.target),
      ['EXACT', 'PREFIX'],
    );
    assert.equal(compiled.virtualHost, vh);
    // The IR is not reordered in place.
    assert.deepEqual(
      vh.routes.map((r) => r.name),
      ['prefix', 'exact'],
    );
  });

  it('keeps the given order for ordered virtual hosts', () => {
    const table = compileRouteTable(
      [
        vhost(
          'v',
          ['*'],
          [
            route('prefix', { match: { path: { kind: 'prefix', value: '/a', segmentAware: false } } }),
            route('exact', { match: { path: { kind: 'exact', value: '/a' } } }),
          ],
        ),
      ],
      (r) => r.name,
    );
    assert.deepEqual(
      table.virtualHosts[0]!.routes.map((r) => r.target),
      ['prefix', 'exact'],
    );
  });

  it('selects virtual hosts by authority', () => {
    const table = compileRouteTable(
      [vhost('a', ['a.example.com'], []), vhost('wild', ['*.example.com'], []), vhost('any', ['*'], [])],
      () => null,
    );
    assert.equal(table.selectVirtualHost('A.example.com:8443')?.name, 'a');
    assert.equal(table.selectVirtualHost('b.example.com')?.name, 'wild');
    assert.equal(table.selectVirtualHost('example.com')?.name, 'any');
  });

  it('flags virtual hosts whose routes read headers or the query', () => {
    const table = compileRouteTable(
      [
        vhost('h', ['h'], [route('r', { match: { headers: [{ name: 'x', match: { kind: 'present' } }] } })]),
        vhost('q', ['q'], [route('r', { match: { query: [{ name: 'x', match: { kind: 'present' } }] } })]),
      ],
      () => null,
    );
    const [h, q] = table.virtualHosts;
    assert.deepEqual([h!.needsHeaders, h!.needsQuery, q!.needsHeaders, q!.needsQuery], [true, false, false, true]);
  });

  it('reports the virtual host and route of an invalid regex', () => {
    assert.throws(
      () => compileRouteTable([vhost('vh1', ['*'], [route('bad', { match: { path: { kind: 'regex', value: '(?=x)' } } })])], () => null),
      (err: unknown) =>
        err instanceof RouteCompileError &&
        err.code === 'E_ROUTE_COMPILE' &&
        err.virtualHost === 'vh1' &&
        err.route === 'bad' &&
        /lookaround/.test(err.message),
    );
  });
});

describe('compiled route parts', () => {
  it('forward: weighted backends with their header edits, zero weights dropped', () => {
    const table = compileRouteTable(
      [
        vhost(
          'v',
          ['*'],
          [
            route('r', {
              action: {
                kind: 'forward',
                clusters: [
                  { cluster: 'a', weight: 1, requestHeaders: { set: [{ name: 'Backend', value: 'a' }] } },
                  { cluster: 'off', weight: 0 },
                  { cluster: 'b', weight: 3 },
                ],
              },
            }),
          ],
        ),
      ],
      () => null,
    );
    const r = table.virtualHosts[0]!.routes[0]!;
    assert.ok(r.backends);
    assert.equal(r.backends.total, 4);
    assert.deepEqual(
      r.backends.items.map((b) => b.name),
      ['a', 'b'],
    );
    const picked = r.backends.pick({ next: () => 0, uint32: () => 0 })!;
    assert.equal(picked.name, 'a');
    const headers: Record<string, string> = {};
    picked.requestHeaders!(headers);
    assert.deepEqual(headers, { backend: 'a' });
    assert.equal(r.backends.items[1]!.requestHeaders, null);
    const counts = new Map<string, number>();
    const random = seededRandom(7);
    for (let i = 0; i < 4000; i++) {
      const n = r.backends.pick(random)!.name;
      counts.set(n, (counts.get(n) ?? 0) + 1);
    }
    assert.equal(counts.get('off'), undefined);
    assert.ok(Math.abs(counts.get('b')! / 4000 - 0.75) < 0.03);
  });

  it('redirect and direct actions have no backends', () => {
    const table = compileRouteTable(
      [
        vhost(
          'v',
          ['*'],
          [
            route('redir', { action: { kind: 'redirect', redirect: { statusCode: 302, scheme: 'https' } } }),
            route('direct', { action: { kind: 'direct', response: { status: 200 } } }),
          ],
        ),
      ],
      () => null,
    );
    const [redir, direct] = table.virtualHosts[0]!.routes;
    assert.equal(redir!.backends, undefined);
    assert.equal(direct!.backends, undefined);
    assert.equal(direct!.redirect, undefined);
    assert.equal(redir!.redirect?.statusCode, 302);
  });

  it('rewrite: prefix rewrite bound to the matched prefix, authority kept as given', () => {
    const table = compileRouteTable(
      [
        vhost(
          'v',
          ['*'],
          [
            route('r', {
              match: { path: { kind: 'prefix', value: '/foo', segmentAware: true } },
              rewrite: { path: { kind: 'prefix', value: '/bar' }, authority: 'internal.svc' },
            }),
          ],
          'gateway-api',
        ),
      ],
      () => null,
    );
    const r = table.virtualHosts[0]!.routes[0]!;
    assert.equal(rewritePath('/foo/x?y=1', r.matchedPrefix, r.pathRewrite!), '/bar/x?y=1');
    assert.equal(r.authorityRewrite, 'internal.svc');
  });

  it('route header edits compile to functions, absent ones to null', () => {
    const table = compileRouteTable(
      [
        vhost(
          'v',
          ['*'],
          [
            route('with', { requestHeaders: { add: [{ name: 'x', value: '1' }] }, responseHeaders: { remove: ['server'] } }),
            route('without'),
          ],
        ),
      ],
      () => null,
    );
    const [withEdits, without] = table.virtualHosts[0]!.routes;
    assert.equal(typeof withEdits!.requestHeaders, 'function');
    assert.equal(typeof withEdits!.responseHeaders, 'function');
    assert.equal(without!.requestHeaders, null);
    assert.equal(without!.responseHeaders, null);
  });

  it('redirects of gateway-api virtual hosts take the listener port; ordered ones keep the request port', () => {
    const redirect: ir.Redirect = { statusCode: 302, host: 'example.org' };
    const build = (order: ir.VirtualHost['routeOrder']) =>
      compileRouteTable([vhost('v', ['*'], [route('r', { action: { kind: 'redirect', redirect } })], order)], () => null).virtualHosts[0]!
        .routes[0]!.redirect!;
    const req = { scheme: 'http', authority: 'gw:8080', path: '/x', port: 8080 };
    assert.equal(redirectLocation(req, build('gateway-api')), 'http://example.org:8080/x');
    // Envoy's host_redirect replaces the whole authority, port included.
    assert.equal(redirectLocation(req, build('ordered')), 'http://example.org/x');
  });
});
