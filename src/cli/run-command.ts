/**
 * `legate run -f ...`: one command runs a whole manifest. Deployments with known images become
 * local processes, Services resolve to them, the manifests translate to IR, and the proxy serves
 * every listener (shifted by --port-offset). When a backend starts, crashes or comes back, the
 * manifests are translated again so endpoints follow.
 */
import type { Command } from 'commander';
import type * as ir from '../ir/index.js';
import { Diagnostics, type LoadedObject } from '../config/model.js';
import { loadManifests, readSources } from '../config/load/load-manifests.js';
import { ManifestReloader, type ReloadResult } from '../config/reload.js';
import type { RuntimeEndpoints, ServicePort } from '../config/sources/kubernetes/endpoint-resolver.js';
import type { Proxy } from '../dataplane/proxy.js';
import { planDeployments } from '../runtime/plan.js';
import { runtimeEndpoints, Supervisor } from '../runtime/supervisor.js';
import { formatDiagnostic } from './format.js';
import { addAdminOptions, startAdmin, type AdminCliOptions } from './admin-options.js';
import { releaseStartupMemory } from './release-memory.js';
import { configState } from './config-state.js';
import { summary as reloadSummary } from './serve-manifests.js';
import { parseWorkers, servingProxy } from './workers.js';

export type RunOptions = AdminCliOptions & {
  filename: string[];
  portOffset?: string;
  backend?: string[];
  locality?: string;
  accessLog?: string;
  accessLogFormat?: string;
  /** Text access log lines end with the attempt trace (`trace=[...]`); JSON lines always have it. */
  attemptTrace?: boolean;
  quiet?: boolean;
  /** Reload when files change (default true). */
  watch?: boolean;
  /** Processes serving traffic (default 1). */
  workers?: string;
  /** Add x-envoy-attempt-count to every response (a local debugging aid, not a manifest default). */
  attemptCount?: boolean;
};

export function registerRun(program: Command, setCode: (code: number) => void): void {
  const cmd = program
    .command('run')
    .description('run a whole manifest locally: backends for known images, the proxy on every listener')
    .requiredOption('-f, --filename <path...>', 'manifest files or directories')
    .option('--port-offset <n>', 'add N to every listener port (for ports under 1024 without privileges)', '0')
    .option('--backend <ns/service=host:port...>', 'send a Service to an address you run yourself')
    .option('--locality <region/zone/subzone>', "where legate runs, for Istio's locality rules (default: $LEGATE_LOCALITY)")
    .option('--access-log <path>', 'access log destination ("-" = stdout)')
    .option('--access-log-format <format>', 'text or json', 'text')
    .option('--attempt-trace', 'include the per-attempt trace in text access-log lines')
    .option('-q, --quiet', 'do not print backend log lines')
    .option('--no-watch', 'do not reload when the files change')
    .option('--attempt-count', 'add x-envoy-attempt-count to every response, so clients (legate load) see the attempts')
    .option('--workers <n>', 'processes serving traffic, one event loop each (docs/performance.md#workers)', '1');
  addAdminOptions(cmd).action(async (opts: RunOptions) => {
    setCode(await run(opts));
  });
}

export type Running = {
  proxy: Proxy;
  supervisor: Supervisor;
  reloader: ManifestReloader;
  /** The IR being served (listener ports shifted). */
  config(): ir.Config;
  stop(): Promise<void>;
};

/** Parses `ns/service=host:port` (namespace optional, default `default`). */
export function parseBackend(s: string): { namespace: string; service: string; host: string; port: number } | string {
  const m = /^(?:([a-z0-9-]+)\/)?([a-z0-9-]+)=(\[[^\]]+\]|[^:]+):(\d+)$/.exec(s);
  if (!m) return `--backend "${s}" must look like NAMESPACE/SERVICE=HOST:PORT, such as default/reviews=127.0.0.1:9080`;
  return { namespace: m[1] ?? 'default', service: m[2]!, host: m[3]!.replace(/^\[|\]$/g, ''), port: Number(m[4]) };
}

/** Starts everything; resolves once the proxy serves. Errors are returned as text, nothing left running. */
export async function startRun(
  opts: RunOptions,
  out: (s: string) => void,
): Promise<{ ok: true; running: Running } | { ok: false; error: string }> {
  const workerCount = parseWorkers(opts.workers);
  if (typeof workerCount === 'string') return { ok: false, error: workerCount };
  const offset = Number(opts.portOffset ?? 0);
  if (!Number.isInteger(offset) || offset < 0 || offset > 60000)
    return { ok: false, error: `--port-offset must be a whole number from 0 to 60000` };
  const backends: { namespace: string; service: string; host: string; port: number }[] = [];
  for (const b of opts.backend ?? []) {
    const parsed = parseBackend(b);
    if (typeof parsed === 'string') return { ok: false, error: parsed };
    backends.push(parsed);
  }
  const diags = new Diagnostics();
  const sources = await readSources(opts.filename);
  const objects = loadManifests(sources, diags);
  // Deployments whose Services all have a --backend are not run (nor reported for their image).
  const plans = planDeployments(objects, diags, (ns, labels) => coveredByBackend(objects, ns, labels, backends));
  const fatal = diags.items.filter((d) => d.severity === 'error');
  if (fatal.some((d) => d.code.startsWith('E_RUNTIME') || d.code === 'E_YAML_SYNTAX' || d.code === 'E_SOURCE_READ'))
    return { ok: false, error: fatal.map(formatDiagnostic).join('\n') };

  const supervisor = new Supervisor(plans, {
    ...(opts.quiet ? {} : { log: (l) => out(l + '\n') }),
    // Endpoints follow the backends: translate again when one starts, crashes or comes back.
    onChange: () => {
      if (!late.stopping) void late.reloader?.reloadNow();
    },
  });
  // The reloader exists once the backends are up; their first state changes come before it.
  const late: { reloader?: ManifestReloader; stopping?: boolean } = {};
  await supervisor.start();
  const fromRuntime = runtimeEndpoints(objects, supervisor);
  const endpoints: RuntimeEndpoints = (ns: string, svc: string, sp: ServicePort) => {
    const b = backends.find((x) => x.namespace === ns && x.service === svc);
    if (b) return [{ address: b.host, port: b.port, weight: 1, priority: 0, hostname: `${b.host}:${b.port}` }];
    return fromRuntime(ns, svc, sp);
  };

  const where = opts.locality ?? process.env.LEGATE_LOCALITY;
  const { proxy, pool, accessLog } = servingProxy({
    workers: workerCount,
    accessLog: opts.accessLog
      ? {
          path: opts.accessLog,
          format: opts.accessLogFormat === 'json' ? 'json' : 'text',
          ...(opts.attemptTrace ? { attemptTrace: true } : {}),
        }
      : undefined,
    locality: where,
  });
  pool?.start();
  let previous: ReloadResult | undefined;
  const reloader = new ManifestReloader({
    sources,
    target: pool ? pool.target(proxy) : proxy,
    watch: opts.watch !== false,
    translateOptions: () => ({ runtimeEndpoints: endpoints }),
    // Shifted listeners still redirect and match routes by the port the manifest declares.
    prepare: (config) => ({
      ...config,
      listeners: config.listeners.map((l) => {
        const shifted = offset === 0 ? l : { ...l, port: l.port + offset, declaredPort: l.declaredPort ?? l.port };
        // Envoy's include_attempt_count_in_response on every virtual host, when asked.
        return opts.attemptCount
          ? { ...shifted, virtualHosts: shifted.virtualHosts.map((vh) => ({ ...vh, includeAttemptCountInResponse: true })) }
          : shifted;
      }),
    }),
    onReload: (r) => {
      if (r.trigger !== 'initial' && r.trigger !== 'manual') {
        out(`${reloadSummary(r)}\n`);
        const seen = new Set((previous?.diagnostics ?? []).map(formatDiagnostic));
        for (const d of r.diagnostics) if (d.severity !== 'info' && !seen.has(formatDiagnostic(d))) out(formatDiagnostic(d) + '\n');
      }
      previous = r;
    },
  });
  late.reloader = reloader;
  const first = await reloader.start();
  for (const d of [...diags.items.filter((d) => d.code.startsWith('E_RUNTIME')), ...first.diagnostics]) out(formatDiagnostic(d) + '\n');
  let admin: Awaited<ReturnType<typeof startAdmin>> = null;
  const stop = async () => {
    late.stopping = true;
    if (admin && typeof admin !== 'string') await admin.close();
    await reloader.close();
    await pool?.close(2000);
    await proxy.close(2000);
    await supervisor.stop();
    await accessLog?.close();
  };
  if (!first.applied) {
    await stop();
    const error = first.error ?? 'the configuration was not applied';
    if (/EACCES/.test(error))
      return {
        ok: false,
        error: `legate: cannot bind a listener: ${error}. Ports under 1024 need privileges: run with --port-offset 8000 (port 80 becomes 8080), or as root`,
      };
    if (/EADDRINUSE/.test(error))
      return {
        ok: false,
        error: `legate: cannot bind a listener: ${error}. Another process uses that port: stop it, or shift every listener with --port-offset N`,
      };
    return { ok: false, error: `legate: cannot start: ${error}` };
  }
  admin = await startAdmin(
    opts,
    { proxy, configState: configState(reloader, opts.filename), ...(pool ? { workers: pool } : {}) },
    '0.1.0',
    out,
  );
  if (typeof admin === 'string') {
    const error = admin;
    admin = null;
    await stop();
    return { ok: false, error: `legate: ${error}` };
  }
  const config = proxy.config!;
  out(summary(config, supervisor, offset));
  if (pool)
    out(
      `workers    ${pool.count} processes (pids ${pool
        .list()
        .map((w) => w.pid ?? '-')
        .join(', ')})\n`,
    );
  if (admin) out(`admin API  http://${admin.hostPort}/\n`);
  releaseStartupMemory();
  return { ok: true, running: { proxy, supervisor, reloader, config: () => proxy.config!, stop } };
}

async function run(opts: RunOptions): Promise<number> {
  // Listening from the start: a stop asked for while the backends start (Ctrl-C, or standard
  // output closed, see broken-pipe.ts) stops them once they are up instead of leaving them behind.
  let done = () => {};
  const stopAsked = new Promise<void>((resolve) => (done = resolve));
  process.once('SIGINT', done);
  process.once('SIGTERM', done);
  const started = await startRun(opts, (s) => process.stdout.write(s));
  if (!started.ok) {
    process.off('SIGINT', done);
    process.off('SIGTERM', done);
    process.stderr.write(started.error + '\n');
    return 1;
  }
  await stopAsked;
  process.off('SIGINT', done);
  process.off('SIGTERM', done);
  process.stdout.write('stopping...\n');
  await started.running.stop();
  return 0;
}

type Backend = { namespace: string; service: string };

function servicesSelecting(objects: readonly LoadedObject[], namespace: string, labels: Record<string, string>): string[] {
  const out: string[] = [];
  for (const o of objects) {
    if (o.kind !== 'Service' || o.metadata.namespace !== namespace) continue;
    const sel = (o.body.spec as { selector?: Record<string, string> } | undefined)?.selector;
    if (sel && Object.keys(sel).length > 0 && Object.entries(sel).every(([k, v]) => labels[k] === v)) out.push(o.metadata.name);
  }
  return out;
}

function coveredByBackend(objects: readonly LoadedObject[], ns: string, labels: Record<string, string>, backends: Backend[]): boolean {
  const svcs = servicesSelecting(objects, ns, labels);
  return svcs.length > 0 && svcs.every((s) => backends.some((b) => b.namespace === ns && b.service === s));
}

/** The table printed at start: listeners, routes and backends. */
export function summary(config: ir.Config, supervisor: Supervisor, offset: number): string {
  const rows: string[][] = [['LISTENER', 'MANIFEST PORT', 'LOCAL ADDRESS']];
  for (const l of config.listeners) rows.push([l.name, String(l.declaredPort ?? l.port - offset), `${l.address}:${l.port}`]);
  const routes: string[][] = [['LISTENER', 'HOSTS', 'ROUTE', 'BACKENDS']];
  for (const l of config.listeners)
    for (const vh of l.virtualHosts)
      for (const r of vh.routes)
        routes.push([
          l.name,
          vh.domains.join(','),
          r.name,
          r.action.kind === 'forward' ? forwardTargets(r.action.clusters) : r.action.kind,
        ]);
  const pods: string[][] = [['BACKEND', 'IMAGE', 'ADDRESS', 'STATE']];
  for (const i of supervisor.instances)
    pods.push([
      `${i.plan.namespace}/${i.plan.podName}`,
      i.plan.image,
      [...i.ports].map(([cp, local]) => `127.0.0.1:${local} (${cp})`).join(', '),
      i.state,
    ]);
  return [table(rows), table(routes), pods.length > 1 ? table(pods) : ''].filter(Boolean).join('\n') + '\n';
}

/** `cluster`, or `a (80), b (20)` for a weighted split. */
function forwardTargets(clusters: readonly ir.WeightedCluster[]): string {
  return clusters.map((c) => (clusters.length > 1 ? `${c.cluster} (${c.weight})` : c.cluster)).join(', ');
}

function table(rows: string[][]): string {
  const widths = rows[0]!.map((_, c) => Math.max(...rows.map((r) => (r[c] ?? '').length)));
  return rows.map((r) => r.map((cell, c) => (c === r.length - 1 ? cell : cell.padEnd(widths[c]!))).join('  ')).join('\n') + '\n';
}
