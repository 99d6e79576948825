/**
 * A proxy and admin server for the dashboard's tests: route `retry` to cluster `backend`, whose
 * host fails the first attempt of each `x-key` with 503 (retried once, then 200), and route `od`
 * to cluster `od`, where host `bad` always answers 503 and outlier detection ejects it after 2.
 */
import { Proxy } from '../../src/dataplane/proxy.js';
import { AdminServer } from '../../src/admin/admin-server.js';
import { outlierDetectionDefaults } from '../../src/ir/index.js';
import type * as ir from '../../src/ir/index.js';
import { config, cluster, route } from './ir.js';
import { h1Backend, h1Request, type Backend } from './backends.js';
import { retryPolicy, scriptedBackend, type ScriptedBackend } from './retry.js';

export type DashboardFixture = {
  proxy: Proxy;
  admin: AdminServer;
  be: ScriptedBackend;
  bad: Backend;
  good: Backend;
  /** The fixture's config, with `extraRoutes` added before the catch-all (for topology changes). */
  config(version: string, extraRoutes?: ir.Route[]): ir.Config;
  /** `n` requests on /retry, each retried once; resolves with the statuses. */
  retried(n: number): Promise<number[]>;
  /** `n` requests on /od (round robin over bad and good). */
  outlier(n: number): Promise<number[]>;
  close(): Promise<void>;
};

let keys = 0;

export async function dashboardFixture(): Promise<DashboardFixture> {
  const be = await scriptedBackend();
  be.script = (n, _req, res) => {
    res.writeHead(n === 1 ? 503 : 200);
    res.end(n === 1 ? 'try again' : 'ok');
  };
  const bad = await h1Backend((_req, res) => {
    res.writeHead(503);
    res.end('bad');
  });
  const good = await h1Backend((_req, res) => res.end('good'));
  const cfg = (version: string, extraRoutes: ir.Route[] = []): ir.Config => ({
    ...config(
      [
        route('retry', {
          match: { path: { kind: 'prefix', value: '/retry', segmentAware: true } },
          retry: retryPolicy({ retryOn: ['5xx'], numRetries: 2, backoff: { baseIntervalMs: 1, maxIntervalMs: 2 } }),
        }),
        route('od', { match: { path: { kind: 'prefix', value: '/od', segmentAware: true } }, cluster: 'od' }),
        ...extraRoutes,
        route('all'),
      ],
      [
        cluster('backend', [be.port], { protocol: 'http1' }),
        cluster('od', [bad.port, good.port], {
          protocol: 'http1',
          lbPolicy: 'round_robin',
          outlierDetection: { ...outlierDetectionDefaults(), consecutive5xx: 2, maxEjectionPercent: 50, baseEjectionTimeMs: 60_000 },
        }),
      ],
    ),
    version,
  });
  const proxy = await Proxy.start(cfg('v1'));
  const admin = new AdminServer({ sources: { proxy }, port: 0, version: 'test-version' });
  await admin.start();
  const port = proxy.port('main');
  const send = async (n: number, path: string, key: boolean) => {
    const out: number[] = [];
    for (let i = 0; i < n; i++) out.push((await h1Request(port, { path, headers: key ? { 'x-key': `k${keys++}` } : {} })).status);
    return out;
  };
  return {
    proxy,
    admin,
    be,
    bad,
    good,
    config: cfg,
    retried: (n) => send(n, '/retry', true),
    outlier: (n) => send(n, '/od', false),
    close: async () => {
      await admin.close();
      await proxy.close();
      await Promise.all([be.close(), bad.close(), good.close()]);
    },
  };
}
