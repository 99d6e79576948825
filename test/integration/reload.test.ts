import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ManifestReloader, type ReloadResult } from '../../src/config/reload.js';
import { Proxy } from '../../src/dataplane/proxy.js';
import { h1Backend, h1Request } from '../helpers/backends.js';

// Hot reload end to end: manifests in a temp directory, watched; a real proxy; real backends.

const named = (name: string, status = 200) =>
  h1Backend((_req, res) => {
    res.writeHead(status, { 'content-type': 'text/plain' });
    res.end(name);
  });
let releaseSlow: () => void = () => {};
let slowArrived: () => void = () => {};
const slowSeen = new Promise<void>((r) => (slowArrived = r));
const [a, b, bad, good, slow] = await Promise.all([
  named('A'),
  named('B'),
  named('bad', 500),
  named('good'),
  h1Backend((_req, res) => {
    slowArrived();
    releaseSlow = () => {
      res.writeHead(200, { 'content-type': 'text/plain' });
      res.end('slow');
    };
  }),
]);
after(() => Promise.all([a, b, bad, good, slow].map((x) => x.close())));

const GATEWAY = `apiVersion: gateway.networking.k8s.io/v1
kind: GatewayClass
metadata: { name: legate }
spec: { controllerName: gateway.envoyproxy.io/gatewayclass-controller }
---
apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: { name: web }
spec:
  gatewayClassName: legate
  listeners: [{ name: http, protocol: HTTP, port: 8080 }]
`;

/** A Service over 127.0.0.1 ports: one EndpointSlice per port. */
const pool = (name: string, ports: number[]) =>
  `---
apiVersion: v1
kind: Service
metadata: { name: ${name} }
spec: { ports: [{ name: http, port: 80 }] }
` +
  ports
    .map(
      (p, i) => `---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata: { name: ${name}-${i}, labels: { kubernetes.io/service-name: ${name} } }
addressType: IPv4
ports: [{ name: http, port: ${p} }]
endpoints: [{ addresses: ["127.0.0.1"] }]
`,
    )
    .join('');

const route = (name: string, path: string, backend: string) => `---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: { name: ${name} }
spec:
  parentRefs: [{ name: web }]
  rules:
    - matches: [{ path: { type: PathPrefix, value: ${path} } }]
      backendRefs: [{ name: ${backend}, port: 80 }]
`;

const SERVICES = pool('svc-a', [a.port]) + pool('svc-b', [b.port]) + pool('svc-slow', [slow.port]);

/** A watched manifest directory served by a real proxy (Gateway ports rewritten to 0). */
async function serveDir(files: Record<string, string>) {
  const dir = mkdtempSync(join(tmpdir(), 'legate-reload-'));
  const write = (name: string, text: string) => writeFileSync(join(dir, name), text);
  for (const [name, text] of Object.entries(files)) write(name, text);
  const proxy = new Proxy();
  const results: ReloadResult[] = [];
  let wake: () => void = () => {};
  const reloader = new ManifestReloader({
    sources: [dir],
    target: proxy,
    debounceMs: 50,
    prepare: (c) => ({ ...c, listeners: c.listeners.map((l) => ({ ...l, address: '127.0.0.1', port: 0 })) }),
    onReload: (r) => {
      results.push(r);
      wake();
    },
  });
  const first = await reloader.start();
  assert.ok(first.applied, first.error);
  results.length = 0;
  /** The next reload's result, waited for at most `timeoutMs`. */
  const nextReload = async (timeoutMs = 5000): Promise<ReloadResult> => {
    const deadline = Date.now() + timeoutMs;
    while (results.length === 0) {
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`no reload within ${timeoutMs} ms`);
      await new Promise<void>((r) => {
        const t = setTimeout(r, left);
        wake = () => {
          clearTimeout(t);
          r();
        };
      });
    }
    return results.shift()!;
  };
  const get = async (path: string) => {
    const r = await h1Request(proxy.port('http-8080'), { path });
    return `${r.status} ${r.body.toString()}`;
  };
  return {
    dir,
    write,
    proxy,
    reloader,
    nextReload,
    get,
    close: async () => {
      await reloader.close();
      await proxy.close(100);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

test('editing a route file changes routing as soon as the reload lands', async () => {
  const s = await serveDir({ 'gateway.yaml': GATEWAY + SERVICES, 'routes.yaml': route('x', '/x', 'svc-a') });
  try {
    assert.equal(await s.get('/x'), '200 A');
    s.write('routes.yaml', route('x', '/x', 'svc-b'));
    const r = await s.nextReload();
    assert.equal(r.trigger, 'watch');
    assert.ok(r.applied);
    assert.deepEqual(r.objects.updated, ['HTTPRoute/default/x']);
    assert.equal(await s.get('/x'), '200 B');
  } finally {
    await s.close();
  }
});

test('a YAML syntax error keeps the file at its last good content and reports file:line', async () => {
  const s = await serveDir({ 'gateway.yaml': GATEWAY + SERVICES, 'routes.yaml': route('x', '/x', 'svc-a') });
  try {
    const text = route('x', '/x', 'svc-b') + 'spec: [oops\n';
    s.write('routes.yaml', text);
    const r = await s.nextReload();
    assert.ok(r.applied);
    assert.equal(r.keptFiles.length, 1);
    const e = r.diagnostics.find((d) => d.code === 'E_YAML_SYNTAX')!;
    assert.equal(e.file, join(s.dir, 'routes.yaml'));
    assert.equal(e.line, text.split('\n').length - 1, 'the line of the broken document');
    assert.equal(await s.get('/x'), '200 A', 'the last good route still serves');
  } finally {
    await s.close();
  }
});

test('an object made invalid keeps its previous version; the rest of the same change applies', async () => {
  const s = await serveDir({
    'gateway.yaml': GATEWAY + SERVICES,
    'routes.yaml': route('one', '/one', 'svc-a') + route('two', '/two', 'svc-a'),
  });
  try {
    s.write('routes.yaml', route('one', 'no-slash', 'svc-b') + route('two', '/two', 'svc-b'));
    const r = await s.nextReload();
    assert.deepEqual(
      r.kept.map((k) => k.object),
      ['HTTPRoute/default/one'],
    );
    assert.match(r.kept[0]!.reason, /must be an absolute path/);
    assert.deepEqual(r.objects.updated, ['HTTPRoute/default/two']);
    assert.equal(await s.get('/one'), '200 A', 'previous version of the invalid route');
    assert.equal(await s.get('/two'), '200 B', 'the valid change applied');
  } finally {
    await s.close();
  }
});

test('a new file in a watched subdirectory is picked up; deleting it removes its objects', async () => {
  const s = await serveDir({ 'gateway.yaml': GATEWAY + SERVICES, 'routes.yaml': route('x', '/x', 'svc-a') });
  try {
    assert.equal(await s.get('/new'), '404 ');
    mkdirSync(join(s.dir, 'team', 'b'), { recursive: true });
    writeFileSync(join(s.dir, 'team', 'b', 'new.yml'), route('new', '/new', 'svc-b'));
    const added = await s.nextReload();
    assert.deepEqual(added.objects.added, ['HTTPRoute/default/new']);
    assert.equal(await s.get('/new'), '200 B');

    unlinkSync(join(s.dir, 'team', 'b', 'new.yml'));
    const removed = await s.nextReload();
    assert.deepEqual(removed.objects.removed, ['HTTPRoute/default/new']);
    assert.equal(await s.get('/new'), '404 ');
    assert.equal(await s.get('/x'), '200 A');
  } finally {
    await s.close();
  }
});

test('a request in flight finishes across a reload that moves its route and removes its cluster', async () => {
  const s = await serveDir({ 'gateway.yaml': GATEWAY + SERVICES, 'routes.yaml': route('s', '/slow', 'svc-slow') });
  try {
    const inFlight = s.get('/slow');
    await slowSeen;
    s.write('routes.yaml', route('s', '/slow', 'svc-a'));
    const r = await s.nextReload();
    assert.ok(r.applied);
    assert.equal(s.proxy.cluster('default/svc-slow:80'), undefined, 'the old cluster is retired');
    assert.equal(await s.get('/slow'), '200 A', 'new requests take the new route');
    releaseSlow();
    assert.equal(await inFlight, '200 slow', 'the old request finished on its old route');
  } finally {
    await s.close();
  }
});

test('outlier ejection survives an unrelated route change and an endpoint added to the same cluster', async () => {
  const policy = `---
apiVersion: gateway.envoyproxy.io/v1alpha1
kind: BackendTrafficPolicy
metadata: { name: eject }
spec:
  targetRefs: [{ group: gateway.networking.k8s.io, kind: HTTPRoute, name: p }]
  healthCheck:
    passive: { consecutive5XxErrors: 3, maxEjectionPercent: 100, baseEjectionTime: 300s, interval: 60s }
`;
  const s = await serveDir({
    'gateway.yaml': GATEWAY + SERVICES,
    'pool.yaml': pool('pool', [bad.port, good.port]),
    'routes.yaml': route('p', '/p', 'pool') + route('x', '/x', 'svc-a') + policy,
  });
  try {
    const name = 'default/pool:80';
    const cluster = s.proxy.cluster(name)!;
    const badHost = cluster.hosts.find((h) => h.port === bad.port)!;
    // Envoy Gateway balances by least request (random pairs): send until 3 failures in a row ejected it.
    for (let i = 0; i < 100 && !badHost.failedOutlierCheck; i++) await s.get('/p');
    assert.equal(badHost.healthFlags, '/failed_outlier_check');
    assert.equal(cluster.outlierDetector!.stats.ejections_enforced_consecutive_5xx, 1);
    const goodHost = cluster.hosts.find((h) => h.port === good.port)!;
    const served = goodHost.stats.rq_total;

    // 1. A change to another route: this cluster is untouched.
    s.write('routes.yaml', route('p', '/p', 'pool') + route('x', '/x', 'svc-b') + policy);
    await s.nextReload();
    assert.equal(await s.get('/x'), '200 B');
    assert.equal(s.proxy.cluster(name), cluster, 'same live cluster');
    assert.equal(badHost.healthFlags, '/failed_outlier_check');

    // 2. The same cluster gains an endpoint: updated in place, hosts that remain keep their state.
    s.write('pool.yaml', pool('pool', [bad.port, good.port, a.port]));
    const r = await s.nextReload();
    assert.deepEqual(r.objects.added, ['EndpointSlice/default/pool-2']);
    assert.equal(s.proxy.cluster(name), cluster, 'still the same live cluster');
    assert.equal(cluster.hosts.length, 3);
    assert.equal(
      cluster.hosts.find((h) => h.port === bad.port),
      badHost,
      'same Host object',
    );
    assert.equal(
      cluster.hosts.find((h) => h.port === good.port),
      goodHost,
    );
    assert.equal(goodHost.stats.rq_total, served, 'counters kept');
    assert.equal(badHost.healthFlags, '/failed_outlier_check', 'still ejected');
    assert.equal(cluster.outlierDetector!.stats.ejections_active, 1);
    const after = new Set<string>();
    for (let i = 0; i < 40; i++) after.add(await s.get('/p'));
    assert.deepEqual([...after].sort(), ['200 A', '200 good'], 'the ejected host gets nothing; the new one gets traffic');
  } finally {
    await s.close();
  }
});

test('many quick writes make one reload, with the last content', async () => {
  const s = await serveDir({ 'gateway.yaml': GATEWAY + SERVICES, 'routes.yaml': route('x', '/x', 'svc-a') });
  try {
    // Back to back, so no debounce timer can fire in between.
    for (let i = 0; i < 30; i++) s.write('routes.yaml', route('x', `/x${i}`, i === 29 ? 'svc-b' : 'svc-a'));
    const r = await s.nextReload();
    assert.equal(await s.get('/x29'), '200 B');
    // The next change is the very next reload: the burst made no other.
    s.write('routes.yaml', route('x', '/y', 'svc-a'));
    const next = await s.nextReload();
    assert.equal(next.version, r.version + 1);
    assert.equal(await s.get('/y'), '200 A');
  } finally {
    await s.close();
  }
});
