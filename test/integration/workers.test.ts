/**
 * `legate run --workers 2` end to end: connections are handed round robin to a second process,
 * the admin API's stats add both up, /workers lists them, a killed worker is restarted and gets
 * the running config, and a reload reaches every process. The limits each process gets are
 * checked as a unit (shareOf / configForWorker) and through the merged circuit-breaker gauges.
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startRun, type Running } from '../../src/cli/run-command.js';
import { freePort } from '../../src/runtime/supervisor.js';
import { configForWorker, shareOf } from '../../src/cli/workers.js';
import { config, cluster, route } from '../helpers/ir.js';
import { h1Backend, h1Request } from '../helpers/backends.js';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'legate-workers-'));
const cleanups: (() => Promise<void> | void)[] = [() => fs.rmSync(dir, { recursive: true, force: true })];
after(async () => {
  for (const c of cleanups.reverse()) await c();
});

const manifest = (prefix: string, port: number) => `
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
  listeners: [{ name: http, protocol: HTTP, port: ${port} }]
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: { name: web }
spec:
  parentRefs: [{ name: gw }]
  rules:
    - matches: [{ path: { type: PathPrefix, value: ${prefix} } }]
      backendRefs: [{ name: web, port: 80 }]
---
apiVersion: v1
kind: Service
metadata: { name: web }
spec: { ports: [{ name: http, port: 80 }] }
`;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function getJson<T = unknown>(url: string): Promise<T> {
  const res = await fetch(url);
  return (await res.json()) as T;
}

async function statValue(admin: string, name: string): Promise<number> {
  const body = await (await fetch(`${admin}/stats?filter=${encodeURIComponent(`^${name.replaceAll('.', '\\.')}$`)}`)).text();
  const m = new RegExp(`^${name.replaceAll('.', '\\.')}: (\\d+)`, 'm').exec(body);
  return m ? Number(m[1]) : NaN;
}

test('workers share the limits: the shares add up to the limit, none below 1', () => {
  assert.deepEqual(
    [0, 1, 2].map((i) => shareOf(1024, i, 3)),
    [342, 341, 341],
  );
  assert.deepEqual(
    [0, 1].map((i) => shareOf(1, i, 2)),
    [1, 1],
  );
  assert.equal(shareOf(0, 1, 4), 0, 'no limit stays no limit');
  assert.equal(shareOf(7, 0, 1), 7);
  const c = config([route('r')], [cluster('backend', [1])]);
  const w1 = configForWorker(c, 1, 2);
  assert.equal(w1.clusters[0]!.circuitBreakers.maxRequests, 512);
  assert.equal(w1.clusters[0]!.circuitBreakers.maxRetries, 1);
  assert.equal(c.clusters[0]!.circuitBreakers.maxRequests, 1024, 'the original IR is not changed');
});

test('legate run --workers 2: round robin over two processes, merged stats, restart, reload', async () => {
  const backend = await h1Backend((req, res) => res.end(`ok ${req.url}`));
  cleanups.push(() => backend.close());
  const file = path.join(dir, 'app.yaml');
  const listenPort = await freePort();
  fs.writeFileSync(file, manifest('/', listenPort));
  const lines: string[] = [];
  const started = await startRun(
    { filename: [file], backend: [`default/web=127.0.0.1:${backend.port}`], workers: '2', adminAddress: '127.0.0.1:0', quiet: true },
    (s) => lines.push(s),
  );
  if (!started.ok) throw new Error(started.error);
  const running: Running = started.running;
  cleanups.push(() => running.stop());
  const admin = /admin API {2}(http:\/\/[^/\s]+)/.exec(lines.join(''))![1]!;
  const port = running.proxy.listeners[0]!.port;
  assert.match(lines.join(''), /workers {4}2 processes/);

  // Wait until the worker has the config (it then takes every second connection).
  type Workers = { workers: { index: number; pid: number; state: string; restarts: number }[] };
  let list = await getJson<Workers>(`${admin}/workers`);
  for (let i = 0; i < 100 && list.workers[1]?.state !== 'running'; i++) {
    await sleep(50);
    list = await getJson<Workers>(`${admin}/workers`);
  }
  assert.equal(list.workers.length, 2);
  assert.equal(list.workers[0]!.pid, process.pid);
  assert.notEqual(list.workers[1]!.pid, process.pid);
  assert.equal(list.workers[1]!.state, 'running');

  // 40 requests, each on its own connection.
  for (let i = 0; i < 40; i++) assert.equal((await h1Request(port, { path: `/r${i}`, agent: false })).status, 200);
  const here = running.proxy.listeners[0]!.stats.downstream_rq_total;
  assert.equal(here, 20, 'this process served every second connection');
  const total = await statValue(admin, `http.http-${listenPort}.downstream_rq_total`);
  assert.equal(total, 40, 'the admin API adds up both processes');
  assert.equal(await statValue(admin, 'server.concurrency'), 2);
  // Each process holds its share of the cluster's request limit (1024 / 2): the gauges add up.
  assert.equal(await statValue(admin, 'cluster.default/web:80.circuit_breakers.default.remaining_rq'), 1024);

  // A killed worker comes back with the running config.
  const old = list.workers[1]!.pid;
  process.kill(old, 'SIGKILL');
  for (let i = 0; i < 100; i++) {
    await sleep(50);
    list = await getJson<Workers>(`${admin}/workers`);
    if (list.workers[1]!.state === 'running' && list.workers[1]!.pid !== old) break;
  }
  assert.equal(list.workers[1]!.restarts, 1);
  assert.notEqual(list.workers[1]!.pid, old);
  for (let i = 0; i < 10; i++) assert.equal((await h1Request(port, { path: `/again${i}`, agent: false })).status, 200);

  // A reload reaches both processes: the old prefix is gone everywhere.
  fs.writeFileSync(file, manifest('/v2', listenPort));
  for (let i = 0; i < 100; i++) {
    await sleep(50);
    if ((await h1Request(port, { path: '/x', agent: false })).status === 404) break;
  }
  const statuses: number[] = [];
  for (let i = 0; i < 10; i++) statuses.push((await h1Request(port, { path: '/x', agent: false })).status);
  assert.deepEqual(statuses, Array(10).fill(404), 'both processes serve the new routes');
  for (let i = 0; i < 4; i++) assert.equal((await h1Request(port, { path: '/v2/y', agent: false })).status, 200);
});
