import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { Proxy } from '../../src/dataplane/proxy.js';
import { config, cluster, route } from '../helpers/ir.js';
import { h1Backend, h1Request } from '../helpers/backends.js';
import type * as ir from '../../src/ir/index.js';

// Host a's health endpoint can be switched off; both hosts answer their name otherwise.
let aHealthy = true;
const mk = (name: string) =>
  h1Backend((req, res) => {
    if (req.url === '/healthz') {
      res.writeHead(name === 'a' && !aHealthy ? 503 : 200);
      res.end();
      return;
    }
    res.end(name);
  });
const [a, b] = await Promise.all([mk('a'), mk('b')]);
const hc: ir.HealthCheck = {
  kind: 'http',
  intervalMs: 40,
  timeoutMs: 1000,
  healthyThreshold: 1,
  unhealthyThreshold: 1,
  noTrafficIntervalMs: 40,
  http: { path: '/healthz', expectedStatuses: [[200, 201]] },
  origin: {},
};
const proxy = await Proxy.start(config([route('all')], [cluster('backend', [a.port, b.port], { healthChecks: [hc] })]));
const port = proxy.port('main');
after(async () => {
  await proxy.close();
  await Promise.all([a.close(), b.close()]);
});

async function names(n: number): Promise<Set<string>> {
  const s = new Set<string>();
  for (let i = 0; i < n; i++) s.add((await h1Request(port, { path: '/' })).body.toString());
  return s;
}

async function until(cond: () => boolean, ms = 3000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 10));
  }
}

test('a failing health check takes a host out of rotation and a passing one brings it back', async () => {
  const c = proxy.cluster('backend')!;
  const hostA = c.hosts.find((h) => h.port === a.port)!;
  await until(() => c.hosts.every((h) => h.healthy));
  assert.deepEqual([...(await names(10))].sort(), ['a', 'b']);

  aHealthy = false;
  await until(() => !hostA.healthy);
  assert.equal(hostA.healthFlags, '/failed_active_hc');
  assert.deepEqual([...(await names(10))], ['b']);

  aHealthy = true;
  await until(() => hostA.healthy);
  assert.deepEqual([...(await names(10))].sort(), ['a', 'b']);
  assert.ok(c.healthChecker!.stats.failure >= 1);
  assert.ok(c.healthChecker!.stats.success >= 3);
});
