// `legate run` end to end: fake-service Deployments started as processes, Services resolved to
// them (named targetPort), a --backend standing in for an image legate cannot run, the port
// offset, and a crashed backend leaving the endpoints until it is back.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startRun, type Running } from '../../src/cli/run-command.js';
import { freePort } from '../../src/runtime/supervisor.js';
import { h1Backend, h1Request } from '../helpers/backends.js';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'legate-run-'));
const cleanups: (() => Promise<void> | void)[] = [() => fs.rmSync(dir, { recursive: true, force: true })];
after(async () => {
  for (const c of cleanups.reverse()) await c();
});

function manifest(extra = ''): string {
  return `
apiVersion: gateway.networking.k8s.io/v1
kind: GatewayClass
metadata: { name: eg }
spec: { controllerName: gateway.envoyproxy.io/gatewayclass-controller }
---
apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: { name: gw }
spec:
  gatewayClassName: eg
  listeners: [{ name: http, protocol: HTTP, port: 80 }]
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: { name: web }
spec:
  parentRefs: [{ name: gw }]
  rules:
    - matches: [{ path: { type: PathPrefix, value: /other } }]
      backendRefs: [{ name: other, port: 80 }]
    - backendRefs: [{ name: web, port: 8080 }]
---
apiVersion: v1
kind: Service
metadata: { name: web }
spec:
  selector: { app: web }
  ports: [{ name: http, port: 8080, targetPort: api }]
---
apiVersion: apps/v1
kind: Deployment
metadata: { name: web }
spec:
  replicas: 2
  selector: { matchLabels: { app: web } }
  template:
    metadata: { labels: { app: web } }
    spec:
      containers:
        - name: app
          image: nicholasjackson/fake-service:v0.26.2
          ports: [{ name: api, containerPort: 9090 }]
          env: [{ name: NAME, value: web }]
${extra}`;
}

const OTHER = `---
apiVersion: v1
kind: Service
metadata: { name: other }
spec:
  selector: { app: other }
  ports: [{ port: 80, targetPort: 8000 }]
---
apiVersion: apps/v1
kind: Deployment
metadata: { name: other }
spec:
  selector: { matchLabels: { app: other } }
  template:
    metadata: { labels: { app: other } }
    spec:
      containers: [{ name: app, image: example.com/shop/other:1.0 }]
`;

async function waitFor(what: string, cond: () => boolean, ms = 10_000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

test('an image legate cannot run is an error naming --backend, and nothing is left running', async () => {
  const file = path.join(dir, 'unknown.yaml');
  fs.writeFileSync(file, manifest(OTHER));
  const r = await startRun({ filename: [file], quiet: true, watch: false, admin: false }, () => {});
  assert.equal(r.ok, false);
  assert.ok(!r.ok);
  assert.match(r.error, /E_RUNTIME_UNKNOWN_IMAGE/);
  assert.match(r.error, /example\.com\/shop\/other:1\.0/);
  assert.match(r.error, /--backend NAMESPACE\/SERVICE=HOST:PORT/);
});

test('runs the Deployments, serves the shifted listener, follows a crashed backend', async () => {
  const other = await h1Backend((_req, res) => res.end('other backend'));
  cleanups.push(() => other.close());
  const file = path.join(dir, 'run.yaml');
  fs.writeFileSync(file, manifest(OTHER));
  const local = await freePort();
  let printed = '';
  const r = await startRun(
    {
      filename: [file],
      portOffset: String(local - 80),
      backend: [`default/other=127.0.0.1:${other.port}`],
      accessLog: path.join(dir, 'access.log'),
      attemptTrace: true,
      quiet: true,
      watch: false,
      admin: false,
    },
    (s) => (printed += s),
  );
  assert.ok(r.ok, r.ok ? '' : r.error);
  const running: Running = r.running;
  cleanups.push(() => running.stop());

  // The table: manifest port 80 on the shifted local port, two pods of `web`.
  assert.match(printed, new RegExp(`http-80\\s+80\\s+0\\.0\\.0\\.0:${local}`));
  const pods = running.supervisor.instances;
  assert.equal(pods.length, 2);
  for (const p of pods) {
    assert.equal(p.state, 'ready');
    assert.match(p.plan.podName, /^web-[a-z0-9]{10}-[a-z0-9]{5}$/);
    assert.ok(printed.includes(p.plan.podName));
  }

  const get = async (p = '/') => h1Request(local, { path: p, headers: { host: 'example.com' } });
  const res = await get();
  assert.equal(res.status, 200);
  assert.equal(JSON.parse(res.body.toString()).name, 'web');
  const viaBackend = await get('/other/x');
  assert.equal(viaBackend.body.toString(), 'other backend');
  // --attempt-trace: text access log lines end with the trace of their attempts.
  const log = () => (fs.existsSync(path.join(dir, 'access.log')) ? fs.readFileSync(path.join(dir, 'access.log'), 'utf8') : '');
  await waitFor('two access log lines', () => log().split('\n').length > 2);
  assert.match(
    log(),
    /^\[.*"GET \/other\/x HTTP\/1\.1" 200 .* trace=\[\{"attempt":1,"host":"127\.0\.0\.1:\d+","outcome":"200","decision":"committed"/m,
  );

  // Kill one pod: its endpoint leaves the cluster (no retries on this route, so a dead endpoint
  // still in use would fail requests), then it is restarted and comes back.
  const victim = pods[0]!;
  const endpointHealth = () =>
    running
      .config()
      .clusters.find((c) => c.name === 'default/web:8080')
      ?.endpoints.find((e) => e.hostname === victim.plan.podName)?.health;
  assert.equal(endpointHealth(), 'healthy');
  assert.ok(running.supervisor.kill(victim.plan.podName));
  await waitFor('the crashed pod to be unhealthy in the config', () => endpointHealth() === 'unhealthy');
  for (let i = 0; i < 10; i++) assert.equal((await get()).status, 200);
  await waitFor('the pod to be restarted', () => victim.state === 'ready' && endpointHealth() === 'healthy', 15_000);
  assert.equal(victim.restarts, 1);
  assert.equal((await get()).status, 200);
});
