/**
 * GET /config_dump, /listeners, /routes and /server_info: the applied IR (every value with the
 * origin it came from), its version and load time, and the control plane's diagnostics and
 * status, in an Envoy-like `configs` list with legate's own type URLs.
 */
import type * as ir from '../../ir/index.js';
import type { Proxy } from '../../dataplane/proxy.js';
import { json, text, wantsJson, type AdminContext, type AdminRequest, type AdminResponse, type ConfigState } from '../admin-context.js';

const TYPE = 'type.legate.dev/legate.admin.v1.';

/** Version and load time: the control plane's when it reports them, else the proxy's own. */
export function configState(ctx: AdminContext): ConfigState {
  const proxy = ctx.sources.proxy;
  const cs = ctx.sources.configState?.();
  return cs ?? { version: proxy.config?.version ?? '', loadedAt: proxy.appliedAt ?? 0, diagnostics: [] };
}

const iso = (ms: number) => (ms > 0 ? new Date(ms).toISOString() : null);

/** A listener's IR with the port it is actually bound to (port 0 in the IR binds a free one). */
function listenersWithPorts(proxy: Proxy): (ir.Listener & { bound_port?: number })[] {
  return (proxy.config?.listeners ?? []).map((l) => {
    const live = proxy.listener(l.name);
    return live ? { ...l, bound_port: live.port } : l;
  });
}

const RESOURCES = ['bootstrap', 'listeners', 'clusters', 'status'] as const;

export function configDump(ctx: AdminContext, req: AdminRequest): AdminResponse {
  const proxy = ctx.sources.proxy;
  const cs = configState(ctx);
  const common = { version_info: cs.version, last_updated: iso(cs.loadedAt) };
  const configs: Record<(typeof RESOURCES)[number], Record<string, unknown>> = {
    bootstrap: {
      '@type': `${TYPE}BootstrapConfigDump`,
      legate_version: ctx.version,
      server_state: proxy.state,
      started_at: iso(proxy.startedAt),
      admin: { address: ctx.adminAddress },
    },
    listeners: { '@type': `${TYPE}ListenersConfigDump`, ...common, listeners: listenersWithPorts(proxy) },
    clusters: { '@type': `${TYPE}ClustersConfigDump`, ...common, clusters: proxy.config?.clusters ?? [] },
    status: {
      '@type': `${TYPE}ControlPlaneStatus`,
      ...common,
      sources: cs.sources ?? [],
      diagnostics: cs.diagnostics,
      status: cs.status ?? [],
      policy_status: cs.policyStatus ?? [],
    },
  };
  const resource = req.url.searchParams.get('resource');
  if (resource !== null) {
    if (!(RESOURCES as readonly string[]).includes(resource))
      return text(`unknown resource "${resource}": use one of ${RESOURCES.join(', ')}\n`, 400);
    return json({ configs: [configs[resource as (typeof RESOURCES)[number]]] });
  }
  return json({ configs: RESOURCES.map((r) => configs[r]) });
}

/** Envoy's /listeners: `name::address:port` lines, or `listener_statuses` as JSON. */
export function listeners(ctx: AdminContext, req: AdminRequest): AdminResponse {
  const ls = ctx.sources.proxy.listeners;
  const hostPort = (a: string, p: number) => (a.includes(':') ? `[${a}]:${p}` : `${a}:${p}`);
  if (!wantsJson(req.url)) return text(ls.map((l) => `${l.name}::${hostPort(l.address, l.port)}\n`).join(''));
  return json({
    listener_statuses: ls.map((l) => ({
      name: l.name,
      local_address: { socket_address: { address: l.address, port_value: l.port } },
      // legate's additions: whether it still accepts (not drained) and its live counts.
      accepting: !l.closing,
      downstream_cx_active: l.stats.downstream_cx_active,
      downstream_rq_active: l.stats.downstream_rq_active,
    })),
  });
}

/** A route match in one line (`prefix /api, method GET`), for /routes and the dashboard. */
export function describeMatch(m: ir.RouteMatch): string {
  const parts: string[] = [];
  if (m.path) parts.push(m.path.kind === 'regex' ? `regex ${m.path.value}` : `${m.path.kind} ${m.path.value}`);
  if (m.method) parts.push(`method ${m.method}`);
  if (m.grpc) parts.push(`grpc ${m.grpc.service ?? '*'}/${m.grpc.method ?? '*'}`);
  for (const h of m.headers ?? [])
    parts.push(`header ${h.name}${h.invert ? ' !' : ' '}${h.match.kind}${'value' in h.match ? ` ${h.match.value}` : ''}`);
  for (const q of m.query ?? [])
    parts.push(`query ${q.name}${q.invert ? ' !' : ' '}${q.match.kind}${'value' in q.match ? ` ${q.match.value}` : ''}`);
  if (m.port !== undefined) parts.push(`port ${m.port}`);
  return parts.length > 0 ? parts.join(', ') : '*';
}

/** Where a route sends requests in one line: a cluster, weighted clusters, a redirect or a direct response. */
export function describeAction(a: ir.RouteAction): string {
  switch (a.kind) {
    case 'forward':
      return a.clusters.length === 1 ? a.clusters[0]!.cluster : a.clusters.map((c) => `${c.cluster}:${c.weight}`).join(',');
    case 'redirect':
      return `redirect ${a.redirect.statusCode}`;
    case 'direct':
      return `direct ${a.response.status}`;
    default:
      return (a as { kind: string }).kind;
  }
}

/**
 * GET /routes: every listener's virtual hosts and routes in match order, with a one-line match
 * and destination and the route's counters (`?format=text` for `listener::vhost::route::...` lines).
 */
export function routes(ctx: AdminContext, req: AdminRequest): AdminResponse {
  const proxy = ctx.sources.proxy;
  const reg = proxy.statsRegistry;
  const byKey = new Map(reg.routes.map((r) => [`${r.virtualHost}\u0000${r.route}`, r]));
  const configs = (proxy.config?.listeners ?? []).map((l) => ({
    name: l.name,
    virtual_hosts: l.virtualHosts.map((vh) => ({
      name: vh.name,
      domains: vh.domains,
      routes: vh.routes.map((r) => {
        const s = byKey.get(`${vh.name}\u0000${r.name}`);
        return {
          name: r.name,
          match: describeMatch(r.match),
          destination: describeAction(r.action),
          ...(r.timeout ? { timeout_ms: r.timeout.requestMs } : {}),
          ...((r.retry ?? vh.retry) ? { retry: r.retry ?? vh.retry } : {}),
          ...(s ? { stats: { ...s.counters } } : {}),
          config: r,
        };
      }),
    })),
  }));
  if (req.url.searchParams.get('format') === 'text') {
    const lines: string[] = [];
    for (const rc of configs)
      for (const vh of rc.virtual_hosts)
        for (const r of vh.routes) lines.push(`${rc.name}::${vh.name}::${r.name}::${r.match}::${r.destination}\n`);
    return text(lines.join(''));
  }
  return json({ version_info: configState(ctx).version, route_configs: configs });
}

export function serverInfo(ctx: AdminContext): AdminResponse {
  const proxy = ctx.sources.proxy;
  const cs = configState(ctx);
  return json({
    version: ctx.version,
    state: proxy.state,
    uptime_seconds: Math.floor((Date.now() - proxy.startedAt) / 1000),
    started_at: iso(proxy.startedAt),
    config_version: cs.version,
    config_loaded_at: iso(cs.loadedAt),
    node_version: process.version,
    pid: process.pid,
  });
}
