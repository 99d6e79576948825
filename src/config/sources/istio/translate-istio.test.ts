import { test } from 'node:test';
import assert from 'node:assert/strict';
import type * as ir from '../../../ir/index.js';
import { codes, gateway, listener, run, service, vhost, virtualService, type Manifest } from './test-support.js';

const route = (host: string) => [{ route: [{ destination: { host } }] }];
const clustersOf = (r: ir.Route) => (r.action as Extract<ir.RouteAction, { kind: 'forward' }>).clusters.map((c) => c.cluster);

test('mesh listeners: one per HTTP port of the services a mesh VirtualService names, plus match.port ports, on 127.0.0.1', () => {
  const r = run([
    service('reviews', ['http:9080', 'tcp-db:3306', 'grpc:9090']),
    virtualService('reviews', {
      hosts: ['reviews'],
      http: [{ match: [{ port: 7000 }], route: [{ destination: { host: 'reviews', port: { number: 9080 } } }] }, ...route('reviews')],
    }),
  ]);
  assert.deepEqual(
    r.listeners.map((l) => `${l.name} ${l.address}:${l.port}`),
    ['mesh-7000 127.0.0.1:7000', 'mesh-9080 127.0.0.1:9080', 'mesh-9090 127.0.0.1:9090'],
  );
  // No service has port 7000: the host is served under its resolved name only.
  assert.deepEqual(
    vhost(r, 'mesh-7000', 'reviews.default.svc.cluster.local').routes.map((x) => x.name),
    ['default/reviews/http[0]', 'default/reviews/http[1]'],
  );
  assert.deepEqual(
    vhost(r, 'mesh-9080', 'reviews').routes.map((x) => x.name),
    ['default/reviews/http[1]'],
  );
  assert.equal(
    r.listeners.find((l) => l.name === 'mesh-3306'),
    undefined,
    'no listener for a TCP port',
  );
});

test("mesh domains: the service's names (bare name only from the client namespace); other services on the port get the default route", () => {
  const objects: Manifest[] = [
    service('reviews', ['http:9080']),
    service('ratings', ['http:9080']),
    service('details', ['http:9080'], { namespace: 'prod' }),
    virtualService('reviews', { hosts: ['reviews'], http: route('reviews') }),
  ];
  const r = run(objects);
  const l = listener(r, 'mesh-9080');
  assert.deepEqual(
    l.virtualHosts.map((v) => [v.name, v.domains]),
    [
      ['VirtualService/default/reviews:9080', ['reviews.default.svc.cluster.local', 'reviews.default.svc', 'reviews.default', 'reviews']],
      [
        'ratings.default.svc.cluster.local:9080',
        ['ratings.default.svc.cluster.local', 'ratings.default.svc', 'ratings.default', 'ratings'],
      ],
      ['details.prod.svc.cluster.local:9080', ['details.prod.svc.cluster.local', 'details.prod.svc', 'details.prod']],
    ],
  );
  const dflt = vhost(r, 'mesh-9080', 'ratings').routes[0]!;
  assert.equal(dflt.name, 'default');
  assert.deepEqual(clustersOf(dflt), ['outbound|9080||ratings.default.svc.cluster.local']);
  assert.equal(dflt.retry!.numRetries, 2, 'the default route has the default retry policy');
  assert.equal(dflt.timeout!.requestMs, 0);
  // Acting for namespace prod: its bare names resolve, default's do not.
  const prod = listener(run(objects, { istio: { clientNamespace: 'prod' } }), 'mesh-9080');
  assert.ok(prod.virtualHosts.some((v) => v.domains.includes('details')));
  assert.ok(!prod.virtualHosts.some((v) => v.domains.includes('reviews')));
});

test("a '*' VirtualService serves every service of its ports and also any other authority", () => {
  const r = run([
    service('reviews', ['http:9080']),
    service('ratings', ['http:9080']),
    virtualService('all', { hosts: ['*'], http: route('reviews') }),
  ]);
  const l = listener(r, 'mesh-9080');
  assert.equal(l.virtualHosts.length, 1);
  assert.ok(l.virtualHosts[0]!.domains.includes('*'));
  assert.ok(l.virtualHosts[0]!.domains.includes('ratings'));
});

test('a host naming no service stays literal and is served on the ports its rules name', () => {
  const r = run([
    service('reviews', ['http:9080']),
    virtualService('ext', {
      hosts: ['reviews.prod', 'api.example.com'],
      http: [{ match: [{ port: 9080 }], route: [{ destination: { host: 'reviews' } }] }],
    }),
  ]);
  assert.deepEqual(listener(r, 'mesh-9080').virtualHosts[0]!.domains, ['reviews.prod', 'api.example.com']);
});

test('two mesh VirtualServices for one host: the older wins (IST0109)', () => {
  const r = run([
    service('reviews', ['http:9080']),
    service('ratings', ['http:9080']),
    virtualService('newer', { hosts: ['reviews'], http: route('ratings') }, 'default', { creationTimestamp: '2024-02-01T00:00:00Z' }),
    virtualService('older', { hosts: ['reviews'], http: route('reviews') }, 'default', { creationTimestamp: '2024-01-01T00:00:00Z' }),
  ]);
  assert.deepEqual(clustersOf(vhost(r, 'mesh-9080', 'reviews').routes[0]!), ['outbound|9080||reviews.default.svc.cluster.local']);
  assert.deepEqual(codes(r), ['W_ISTIO_CONFLICTING_VIRTUAL_SERVICE_HOST spec.hosts']);
  assert.match(
    r.diags.items[0]!.message,
    /VirtualServices VirtualService\/default\/older and VirtualService\/default\/newer both define host reviews.default.svc.cluster.local/,
  );
});

test('a name goes to the most specific host: an exact host beats an older * or *.suffix VirtualService, silently', () => {
  const r = run([
    service('reviews', ['http:9080']),
    service('ratings', ['http:9080']),
    virtualService('all', { hosts: ['*'], http: route('ratings') }, 'default', { creationTimestamp: '2024-01-01T00:00:00Z' }),
    virtualService('ns', { hosts: ['*.default.svc.cluster.local'], http: route('ratings') }, 'default', {
      creationTimestamp: '2024-01-02T00:00:00Z',
    }),
    virtualService('reviews', { hosts: ['reviews'], http: route('reviews') }, 'default', { creationTimestamp: '2024-01-03T00:00:00Z' }),
  ]);
  assert.deepEqual(codes(r), ['W_ISTIO_MESH_WILDCARD_HOST spec.hosts[0]']);
  assert.equal(vhost(r, 'mesh-9080', 'reviews').name, 'VirtualService/default/reviews:9080');
  assert.equal(vhost(r, 'mesh-9080', 'ratings').name, 'VirtualService/default/ns:9080');
  assert.deepEqual(vhost(r, 'mesh-9080', '*').domains, ['*']);
});

// --- Istio Gateways -------------------------------------------------------------------------------

function gatewayRun(hosts: string[], vss: Manifest[], gwNamespace = 'istio-system', server: Record<string, unknown> = {}) {
  return run([
    service('reviews', ['http:9080']),
    gateway(
      'gw',
      { selector: { istio: 'ingressgateway' }, servers: [{ port: { number: 8080, name: 'http', protocol: 'HTTP' }, hosts, ...server }] },
      gwNamespace,
    ),
    ...vss,
  ]);
}
const bound = (name: string, hosts: string[], ns = 'default') =>
  virtualService(name, { hosts, gateways: ['istio-system/gw'], http: route('reviews.default.svc.cluster.local') }, ns);

test('gateway listener istio-<port> on 0.0.0.0 with the hosts of bound VirtualServices', () => {
  const r = gatewayRun(['*'], [bound('shop', ['shop.example.com'])]);
  const l = listener(r, 'istio-8080');
  assert.equal(l.address, '0.0.0.0');
  assert.deepEqual(
    l.virtualHosts.map((v) => v.domains),
    [['shop.example.com']],
  );
  assert.deepEqual(clustersOf(l.virtualHosts[0]!.routes[0]!), ['outbound|9080||reviews.default.svc.cluster.local']);
  assert.equal(
    r.listeners.some((x) => x.name.startsWith('mesh-')),
    false,
    'a gateway-bound VirtualService is not on the mesh',
  );
});

test('server hosts admit VirtualServices by namespace: */host, ns/host, ./host (the gateway namespace), host', () => {
  const vss = [
    bound('a', ['a.example.com']),
    bound('b', ['b.example.com']),
    bound('b-prod', ['b2.example.com'], 'prod'),
    bound('c', ['c.example.com']),
    bound('c-sys', ['c2.example.com'], 'istio-system'),
    bound('d', ['d.example.com']),
  ];
  const r = gatewayRun(['*/a.example.com', 'prod/*.example.com', './*.example.com', 'd.example.com'], vss);
  assert.deepEqual(
    listener(r, 'istio-8080')
      .virtualHosts.map((v) => v.domains[0])
      .sort(),
    ['a.example.com', 'b2.example.com', 'c2.example.com', 'd.example.com'],
  );
});

test('the narrower of server host and VirtualService host is served', () => {
  const r = gatewayRun(['*.example.com'], [bound('any', ['*'])]);
  assert.deepEqual(
    listener(r, 'istio-8080').virtualHosts.map((v) => v.domains),
    [['*.example.com']],
  );
});

test('httpsRedirect answers 301 to https for every admitted host', () => {
  const r = gatewayRun(['*'], [bound('shop', ['shop.example.com'])], 'istio-system', { tls: { httpsRedirect: true } });
  const routes = vhost(r, 'istio-8080', 'shop.example.com').routes;
  assert.equal(routes.length, 1);
  assert.deepEqual(routes[0]!.action, { kind: 'redirect', redirect: { scheme: 'https', statusCode: 301 } });
});

test('a VirtualService naming a missing gateway warns; a short gateway name is in the VirtualService namespace', () => {
  const r = gatewayRun(['*'], [virtualService('v', { hosts: ['x.example.com'], gateways: ['gw'], http: route('reviews') })]);
  assert.deepEqual(codes(r), ['W_ISTIO_GATEWAY_NOT_FOUND spec.gateways[0]']);
  assert.match(r.diags.items[0]!.message, /"default\/gw"/);
});

test('HTTPS servers need a certificate; TCP and PASSTHROUGH servers are not served', () => {
  const r = run([
    service('reviews', ['http:9080']),
    gateway('gw', {
      servers: [
        { port: { number: 8443, name: 'https', protocol: 'HTTPS' }, hosts: ['*'], tls: { mode: 'SIMPLE', credentialName: 'missing' } },
        { port: { number: 9443, name: 'tls', protocol: 'HTTPS' }, hosts: ['*'], tls: { mode: 'PASSTHROUGH' } },
        { port: { number: 3306, name: 'tcp', protocol: 'TCP' }, hosts: ['*'] },
      ],
    }),
    virtualService('v', { hosts: ['x.example.com'], gateways: ['gw'], http: route('reviews') }),
  ]);
  assert.deepEqual(codes(r), [
    'W_ISTIO_REFERENCED_RESOURCE_NOT_FOUND spec.servers[0].tls',
    'W_ISTIO_NOT_APPLIED spec.servers[1].tls.mode',
    'W_ISTIO_NOT_APPLIED spec.servers[2].port.protocol',
  ]);
  assert.deepEqual(r.listeners, []);
});

test('a VirtualService bound to both a gateway and the mesh is served on both', () => {
  const r = run([
    service('reviews', ['http:9080']),
    gateway('gw', { servers: [{ port: { number: 8080, name: 'http', protocol: 'HTTP' }, hosts: ['*'] }] }),
    virtualService('v', { hosts: ['reviews'], gateways: ['gw', 'mesh'], http: route('reviews') }),
  ]);
  assert.deepEqual(
    r.listeners.map((l) => l.name),
    ['istio-8080', 'mesh-9080'],
  );
  assert.ok(vhost(r, 'istio-8080', 'reviews.default.svc.cluster.local'));
});
