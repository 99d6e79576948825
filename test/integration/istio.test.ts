import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import type http from 'node:http';
import { fileURLToPath } from 'node:url';
import { Diagnostics } from '../../src/config/model.js';
import { loadManifests } from '../../src/config/load/load-manifests.js';
import { translate } from '../../src/config/translate.js';
import { destinationRule, service, virtualService, yamlOf, type Manifest } from '../../src/config/sources/istio/test-support.js';
import { formatFlags } from '../../src/dataplane/http/response-flags.js';
import { Proxy } from '../../src/dataplane/proxy.js';
import { seededRandom } from '../../src/common/random.js';
import type * as ir from '../../src/ir/index.js';
import { closedPort, h1Backend, h1Request, type Backend } from '../helpers/backends.js';
import { CollectingLog } from '../helpers/access-log.js';

// Istio manifests -> translate() -> the proxy, with real backends on 127.0.0.1 standing in for the
// pods of each Service (given through the local runtime's endpoint hook, with pod labels).

type Counting = Backend & { hits: number };
const backends: Backend[] = [];
after(() => Promise.all(backends.map((b) => b.close())));

/** A backend answering `respond(n)` for its n-th request (status, body); counts hits. */
async function backend(respond: (n: number, req: http.IncomingMessage, res: http.ServerResponse) => void): Promise<Counting> {
  const self = { hits: 0 } as Counting;
  const b = await h1Backend((req, res) => {
    res.on('error', () => {});
    req.resume();
    respond(++self.hits, req, res);
  });
  backends.push(b);
  return Object.assign(self, b);
}
const answer = (status: number, body: string) => (_n: number, _req: http.IncomingMessage, res: http.ServerResponse) => {
  res.writeHead(status, { 'content-type': 'text/plain' });
  res.end(body);
};

const v1 = await backend(answer(200, 'v1'));
const v2 = await backend(answer(200, 'v2'));
const ratings = await backend(answer(200, 'ratings'));
const retry503 = await backend((n, req, res) => answer(n <= 2 ? 503 : 200, 'retry503')(n, req, res));
const plain503 = await backend((n, req, res) => answer(n === 1 ? 503 : 200, 'plain503')(n, req, res));
const deadPort = await closedPort();
const alive = await backend(answer(200, 'alive'));
const slow = await backend((_n, _req, res) => {
  const t = setTimeout(() => answer(200, 'slow')(0, _req, res), 500);
  res.on('close', () => clearTimeout(t));
});
const faulty = await backend(answer(200, 'faulty'));
const bad = await backend(answer(503, 'bad'));
const good = await backend(answer(200, 'good'));
let release: () => void = () => {};
const released = new Promise<void>((r) => (release = r));
const held = await backend((_n, req, res) => void released.then(() => answer(200, 'held')(0, req, res)));
const ghost = await backend(answer(200, 'ghost'));

const local = (port: number, labels?: Record<string, string>): ir.Endpoint => ({
  address: '127.0.0.1',
  port,
  weight: 1,
  priority: 0,
  ...(labels ? { labels } : {}),
});
const endpoints: Record<string, ir.Endpoint[]> = {
  'default/reviews': [local(v1.port, { app: 'reviews', version: 'v1' }), local(v2.port, { app: 'reviews', version: 'v2' })],
  'default/ratings': [local(ratings.port)],
  'default/retry503': [local(retry503.port)],
  'default/plain503': [local(plain503.port)],
  'default/flakyconn': [local(deadPort), local(alive.port)],
  'default/slow': [local(slow.port)],
  'default/faulty': [local(faulty.port)],
  'default/outlier': [local(bad.port), local(good.port)],
  'default/limited': [local(held.port)],
  'default/ghost': [local(ghost.port)],
};

const T = (n: number) => ({ creationTimestamp: `2024-01-1${n}T00:00:00Z` });
const to = (host: string, extra: Record<string, unknown> = {}) => [{ destination: { host, ...extra } }];
const manifests: Manifest[] = [
  service('reviews', ['http:9080', 'http-alt:9081']),
  ...['ratings', 'retry503', 'plain503', 'flakyconn', 'slow', 'faulty', 'outlier', 'limited', 'ghost'].map((s) =>
    service(s, ['http:9080']),
  ),
  destinationRule('reviews', { host: 'reviews', subsets: [1, 2].map((v) => ({ name: `v${v}`, labels: { version: `v${v}` } })) }),
  virtualService(
    'reviews',
    {
      hosts: ['reviews'],
      http: [
        { match: [{ headers: { 'x-canary': { exact: 'yes' } } }], route: to('reviews', { subset: 'v2', port: { number: 9080 } }) },
        { match: [{ port: 9081 }], route: to('reviews', { subset: 'v2', port: { number: 9080 } }) },
        {
          route: [
            { destination: { host: 'reviews', subset: 'v1', port: { number: 9080 } }, weight: 80 },
            { destination: { host: 'reviews', subset: 'v2', port: { number: 9080 } }, weight: 20 },
          ],
        },
      ],
    },
    'default',
    T(1),
  ),
  // On port 9081 only: any authority but reviews (named more specifically) goes to ratings.
  virtualService('catch-all', { hosts: ['*'], http: [{ match: [{ port: 9081 }], route: to('ratings') }] }, 'default', T(0)),
  virtualService(
    'retry503',
    { hosts: ['retry503'], http: [{ retries: { attempts: 3, retryOn: '503' }, route: to('retry503') }] },
    'default',
    T(2),
  ),
  virtualService(
    'slow',
    { hosts: ['slow'], http: [{ retries: { attempts: 1, perTryTimeout: '100ms', retryOn: 'gateway-error' }, route: to('slow') }] },
    'default',
    T(3),
  ),
  virtualService(
    'faulty',
    {
      hosts: ['faulty'],
      http: [
        { match: [{ uri: { prefix: '/always' } }], fault: { abort: { httpStatus: 418, percentage: { value: 100 } } }, route: to('faulty') },
        { fault: { abort: { httpStatus: 418 } }, route: to('faulty') },
      ],
    },
    'default',
    T(4),
  ),
  virtualService('outlier', { hosts: ['outlier'], http: [{ retries: { attempts: 0 }, route: to('outlier') }] }, 'default', T(5)),
  destinationRule('outlier', {
    host: 'outlier',
    trafficPolicy: { outlierDetection: { consecutiveGatewayErrors: 2, interval: '10s', baseEjectionTime: '30s', maxEjectionPercent: 100 } },
  }),
  destinationRule('limited', {
    host: 'limited',
    trafficPolicy: { connectionPool: { tcp: { maxConnections: 1 }, http: { http1MaxPendingRequests: 1 } } },
  }),
  virtualService('ghost', { hosts: ['ghost'], http: [{ route: to('ghost', { subset: 'missing' }) }] }, 'default', T(6)),
  destinationRule('ghost', { host: 'ghost', subsets: [{ name: 'present', labels: { version: 'v1' } }] }),
];

function translated(objects: readonly ReturnType<typeof loadManifests>[number][], eps: Record<string, ir.Endpoint[]>) {
  const diags = new Diagnostics();
  const result = translate(objects, { runtimeEndpoints: (ns, svc) => eps[`${ns}/${svc}`] }, diags);
  // Mesh listeners bind the service ports; tests take any free port.
  for (const l of result.config.listeners) l.port = 0;
  return result;
}

const load = (text: string) => loadManifests([{ name: 'istio.yaml', text }], new Diagnostics());
const result = translated(load(yamlOf(manifests)), endpoints);
const log = new CollectingLog();
const proxy = await Proxy.start(result.config, { random: seededRandom(11), accessLog: log });
after(() => proxy.close());
const mesh = proxy.port('mesh-9080');

const get = (host: string, path = '/', port = mesh, headers: Record<string, string> = {}) =>
  h1Request(port, { path, headers: { host, ...headers } });
const body = async (host: string, path = '/', port = mesh, headers: Record<string, string> = {}) =>
  (await get(host, path, port, headers)).body.toString();
const entryFor = (path: string) => {
  const e = log.entries.filter((x) => x.path === path).at(-1);
  if (!e) throw new Error(`no access log entry for ${path}`);
  return e;
};

test('the manifests translate with only the expected warnings', () => {
  assert.deepEqual(
    result.diagnostics.filter((d) => d.severity === 'error'),
    [],
  );
  assert.deepEqual(
    result.diagnostics.map((d) => `${d.code} ${d.object}`),
    ['W_ISTIO_MESH_WILDCARD_HOST VirtualService/default/catch-all', 'W_ISTIO_REFERENCED_RESOURCE_NOT_FOUND VirtualService/default/ghost'],
  );
});

test('routing by Host: short name, FQDN and shorter forms reach the VirtualService; a service without one gets the default route', async () => {
  for (const host of ['reviews', 'reviews:9080', 'reviews.default', 'reviews.default.svc', 'reviews.default.svc.cluster.local'])
    assert.equal(await body(host, '/', mesh, { 'x-canary': 'yes' }), 'v2', host);
  assert.equal(await body('ratings'), 'ratings');
  assert.equal((await get('anything.example')).status, 404, 'no * VirtualService on 9080');
});

test("match.port: the rule for port 9081 applies on the 9081 listener only; there '*' takes any other authority", async () => {
  const alt = proxy.port('mesh-9081');
  for (let i = 0; i < 10; i++) assert.equal(await body('reviews', '/', alt), 'v2');
  assert.equal(await body('anything.example', '/', alt), 'ratings');
});

test('weighted subsets: 80/20 between the v1 and v2 pods (by label)', async () => {
  const before = { v1: v1.hits, v2: v2.hits };
  for (let i = 0; i < 200; i++) await get('reviews');
  const n1 = v1.hits - before.v1;
  const n2 = v2.hits - before.v2;
  assert.equal(n1 + n2, 200);
  assert.ok(n2 >= 20 && n2 <= 60, `v2 got ${n2} of 200`);
});

test('retryOn "503": two 503s are retried, the third attempt answers', async () => {
  const r = await get('retry503', '/r503');
  assert.equal(r.status, 200);
  assert.equal(retry503.hits, 3);
  assert.equal(proxy.cluster('outbound|9080||retry503.default.svc.cluster.local')!.stats.upstream_rq_retry, 2);
});

test('the default retry policy does not retry a 503 but does retry a connection failure', async () => {
  const r = await get('plain503', '/p503');
  assert.equal(r.status, 503);
  assert.equal(plain503.hits, 1, 'Istio >= 1.24: no retriable status codes by default');
  // One endpoint refuses connections: the default policy retries connect failures on the other host.
  for (let i = 0; i < 20; i++) assert.equal((await get('flakyconn')).status, 200);
  assert.ok(proxy.cluster('outbound|9080||flakyconn.default.svc.cluster.local')!.stats.upstream_rq_retry >= 1);
});

test('per-try timeout: each attempt is cut at 100 ms and retried once, then 504', async () => {
  const start = performance.now();
  const r = await get('slow', '/slow');
  const ms = performance.now() - start;
  assert.equal(r.status, 504);
  assert.equal(slow.hits, 2);
  assert.ok(ms >= 190 && ms < 450, `took ${Math.round(ms)} ms`);
  assert.equal(proxy.cluster('outbound|9080||slow.default.svc.cluster.local')!.stats.upstream_rq_per_try_timeout, 2);
});

test('fault abort at 100% answers without the backend; without a percentage it never fires', async () => {
  for (let i = 0; i < 5; i++) assert.equal((await get('faulty', '/always')).status, 418);
  assert.equal(faulty.hits, 0);
  for (let i = 0; i < 20; i++) assert.equal((await get('faulty', '/sometimes')).status, 200);
  assert.equal(faulty.hits, 20);
});

test('outlier detection: two consecutive gateway errors eject the failing pod', async () => {
  const statuses: number[] = [];
  for (let i = 0; i < 40; i++) statuses.push((await get('outlier')).status);
  assert.equal(bad.hits, 2, 'no request reaches the bad pod after its second 503');
  assert.deepEqual(
    statuses.filter((s) => s !== 200),
    [503, 503],
  );
  const c = proxy.cluster('outbound|9080||outlier.default.svc.cluster.local')!;
  assert.equal(c.outlierDetector!.stats.ejections_enforced_consecutive_gateway_failure, 1);
  assert.equal(c.outlierDetector!.stats.ejections_active, 1);
});

test('circuit breaker: 1 connection and 1 pending request; the others get 503 UO at once', async () => {
  const requests = [1, 2, 3, 4].map((i) => get('limited', `/cb${i}`));
  await log.waitFor(log.entries.length + 2);
  release();
  const statuses = (await Promise.all(requests)).map((r) => r.status).sort();
  assert.deepEqual(statuses, [200, 200, 503, 503]);
  assert.equal(held.hits, 2);
  const c = proxy.cluster('outbound|9080||limited.default.svc.cluster.local')!;
  assert.equal(c.stats.upstream_rq_pending_overflow, 2);
  const overflowed = [1, 2, 3, 4].map((i) => entryFor(`/cb${i}`)).filter((e) => e.status === 503);
  assert.deepEqual(
    overflowed.map((e) => formatFlags(e.flags)),
    ['UO', 'UO'],
  );
});

test('a subset missing from the DestinationRule answers 503 NC and reaches no endpoint', async () => {
  const r = await get('ghost', '/ghost');
  assert.equal(r.status, 503);
  assert.equal(formatFlags(entryFor('/ghost').flags), 'NC');
  assert.equal(ghost.hits, 0);
});

// --- The second seed: its VirtualService and DestinationRule unchanged, with backends.yaml. ---------

test('the second seed translates with no error and runs: the 503 pod is ejected after 3 gateway errors', async () => {
  const dir = fileURLToPath(new URL('../../../examples/istio-resilience/', import.meta.url));
  const diags = new Diagnostics();
  const objects = loadManifests([`${dir}seed-manifests.yaml`, `${dir}backends.yaml`], diags);
  assert.deepEqual(diags.items, []);
  const a1 = await backend(answer(200, 'hello from ap-northeast-1a'));
  const a2 = await backend(answer(200, 'hello from ap-northeast-1a'));
  const c1 = await backend(answer(503, 'error'));
  const zone = (z: string) => ({ region: 'ap-northeast-1', zone: `ap-northeast-${z}` });
  const seed = translated(objects, {
    'default/example-app': [
      { ...local(a1.port, { app: 'example-app', zone: 'ap-northeast-1a' }), locality: zone('1a') },
      { ...local(a2.port, { app: 'example-app', zone: 'ap-northeast-1a' }), locality: zone('1a') },
      { ...local(c1.port, { app: 'example-app', zone: 'ap-northeast-1c' }), locality: zone('1c') },
    ],
  });
  assert.deepEqual(
    seed.diagnostics.filter((d) => d.severity === 'error'),
    [],
  );
  assert.deepEqual(
    seed.diagnostics.map((d) => d.code),
    ['W_ISTIO_DESTINATION_RULE_HOST_INFERRED', 'W_ISTIO_MESH_WILDCARD_HOST'],
  );
  const p = await Proxy.start(seed.config, { random: seededRandom(3) });
  try {
    const port = p.port('mesh-8080');
    const statuses: number[] = [];
    for (let i = 0; i < 40; i++) statuses.push((await h1Request(port, { path: '/', headers: { host: 'example-app' } })).status);
    assert.equal(c1.hits, 3, 'consecutiveGatewayErrors: 3');
    assert.equal(statuses.filter((s) => s === 503).length, 3, '503 is not in retryOn: the client sees each one');
    assert.deepEqual(statuses.slice(-20), Array(20).fill(200));
    const c = p.cluster('outbound|8080||example-app.default.svc.cluster.local')!;
    assert.equal(c.outlierDetector!.stats.ejections_enforced_consecutive_gateway_failure, 1);
    const cb = seed.config.clusters[0]!.circuitBreakers;
    assert.deepEqual([cb.maxConnections, cb.maxPendingRequests, cb.maxRequests, cb.maxRetries], [10, 100, 100, 100]);
  } finally {
    await p.close();
  }
});
