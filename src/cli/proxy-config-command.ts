/**
 * `legate proxy-config listeners|routes|clusters|endpoints|all`: reads a running legate's admin
 * API and prints tables (in the spirit of `istioctl proxy-config`), or JSON / YAML.
 */
import type { Command } from 'commander';
import { stringify } from 'yaml';

export const PROXY_CONFIG_TYPES = ['listeners', 'routes', 'clusters', 'endpoints', 'all'] as const;
export type ProxyConfigType = (typeof PROXY_CONFIG_TYPES)[number];

export type ProxyConfigOptions = { admin: string; output: string; name?: string; timeoutMs?: number };

type Json = Record<string, unknown>;

/** Accepts `http://host:port`, `host:port` or a bare port. */
export function adminBaseUrl(s: string): string {
  if (/^\d+$/.test(s)) return `http://127.0.0.1:${s}`;
  if (!/^https?:\/\//.test(s)) s = `http://${s}`;
  return s.replace(/\/+$/, '');
}

class AdminClient {
  readonly base: string;
  readonly #timeoutMs: number;
  constructor(base: string, timeoutMs: number) {
    this.base = base;
    this.#timeoutMs = timeoutMs;
  }
  async get(path: string): Promise<Json> {
    let res: Response;
    try {
      res = await fetch(this.base + path, { signal: AbortSignal.timeout(this.#timeoutMs) });
    } catch (e) {
      const cause = (e as { cause?: { message?: string } }).cause?.message ?? (e as Error).message;
      throw new Error(`cannot reach the admin API at ${this.base}: ${cause} (is \`legate serve\` running? use --admin)`);
    }
    const body = await res.text();
    if (!res.ok) throw new Error(`${this.base}${path}: ${res.status} ${body.trim()}`);
    try {
      return JSON.parse(body) as Json;
    } catch {
      throw new Error(`${this.base}${path} did not answer JSON (is this a legate admin API?)`);
    }
  }
}

/** Columns left-aligned, two spaces apart, upper-case headers (istioctl's tabwriter look). */
export function formatTable(headers: string[], rows: string[][]): string {
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]) =>
    cells
      .map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i]!)))
      .join('  ')
      .trimEnd();
  return [line(headers), ...rows.map(line)].join('\n') + '\n';
}

const arr = (v: unknown): Json[] => (Array.isArray(v) ? (v as Json[]) : []);
const matches = (name: string, filter: string | undefined) => filter === undefined || name.includes(filter);

function configsOf(dump: Json, type: string): Json | undefined {
  return arr(dump.configs).find((c) => typeof c['@type'] === 'string' && (c['@type'] as string).endsWith(type));
}

// ---- data: what each type shows, as plain records (printed as tables or JSON/YAML) ----

async function listenersData(client: AdminClient, name?: string): Promise<Json[]> {
  const [dump, live] = await Promise.all([client.get('/config_dump?resource=listeners'), client.get('/listeners?format=json')]);
  const statuses = new Map(arr(live.listener_statuses).map((s) => [s.name as string, s]));
  return arr(configsOf(dump, 'ListenersConfigDump')?.listeners)
    .filter((l) => matches(l.name as string, name))
    .map((l) => ({ ...l, status: statuses.get(l.name as string) ?? null }));
}

function listenersTable(data: Json[]): string {
  return formatTable(
    ['NAME', 'ADDRESS', 'PORT', 'TLS', 'VIRTUAL HOSTS', 'ROUTES', 'CONNECTIONS', 'STATE'],
    data.map((l) => {
      const st = l.status as Json | null;
      const vhs = arr(l.virtualHosts);
      return [
        String(l.name),
        String(l.address),
        String(l.bound_port ?? l.port),
        l.tls ? 'yes' : 'no',
        String(vhs.length),
        String(vhs.reduce((n, vh) => n + arr(vh.routes).length, 0)),
        st ? String(st.downstream_cx_active) : '-',
        st ? (st.accepting ? 'ACCEPTING' : 'DRAINING') : '-',
      ];
    }),
  );
}

async function routesData(client: AdminClient, name?: string): Promise<Json[]> {
  const res = await client.get('/routes');
  const out: Json[] = [];
  for (const rc of arr(res.route_configs))
    for (const vh of arr(rc.virtual_hosts))
      for (const r of arr(vh.routes)) {
        if (!matches(r.name as string, name) && !matches(rc.name as string, name)) continue;
        out.push({ listener: rc.name, virtual_host: vh.name, domains: vh.domains, ...r });
      }
  return out;
}

function routesTable(data: Json[]): string {
  return formatTable(
    ['LISTENER', 'VIRTUAL HOST', 'DOMAINS', 'NAME', 'MATCH', 'DESTINATION', 'REQUESTS'],
    data.map((r) => {
      const domains = (r.domains as string[]) ?? [];
      const stats = r.stats as Json | undefined;
      return [
        String(r.listener),
        String(r.virtual_host),
        domains.length > 3 ? `${domains.slice(0, 3).join(',')} +${domains.length - 3} more` : domains.join(','),
        String(r.name),
        String(r.match),
        String(r.destination),
        stats ? String(stats.upstream_rq_total) : '-',
      ];
    }),
  );
}

async function clustersData(client: AdminClient, name?: string): Promise<Json[]> {
  const [dump, live] = await Promise.all([client.get('/config_dump?resource=clusters'), client.get('/clusters?format=json')]);
  const statuses = new Map(arr(live.cluster_statuses).map((s) => [s.name as string, s]));
  return arr(configsOf(dump, 'ClustersConfigDump')?.clusters)
    .filter((c) => matches(c.name as string, name))
    .map((c) => ({ ...c, status: statuses.get(c.name as string) ?? null }));
}

function clustersTable(data: Json[]): string {
  return formatTable(
    ['NAME', 'PROTOCOL', 'LB POLICY', 'ENDPOINTS', 'HEALTHY', 'CIRCUIT BREAKERS', 'OUTLIER DETECTION', 'HEALTH CHECK'],
    data.map((c) => {
      const hosts = arr((c.status as Json | null)?.host_statuses);
      const healthy = hosts.filter((h) => h.health_flags === 'healthy').length;
      const cb = c.circuitBreakers as Json | undefined;
      const hc = arr(c.healthChecks)[0];
      return [
        String(c.name),
        String(c.protocol),
        String(c.lbPolicy),
        String(arr(c.endpoints).length),
        String(healthy),
        cb ? `cx=${cb.maxConnections} pending=${cb.maxPendingRequests} rq=${cb.maxRequests} retries=${cb.maxRetries}` : '-',
        c.outlierDetection ? 'on' : 'off',
        hc ? String(hc.kind) : 'off',
      ];
    }),
  );
}

async function endpointsData(client: AdminClient, name?: string): Promise<Json[]> {
  const live = await client.get('/clusters?format=json');
  const out: Json[] = [];
  for (const c of arr(live.cluster_statuses)) {
    if (!matches(c.name as string, name)) continue;
    for (const h of arr(c.host_statuses)) out.push({ cluster: c.name, ...h });
  }
  return out;
}

function endpointsTable(data: Json[]): string {
  return formatTable(
    ['ENDPOINT', 'STATUS', 'OUTLIER CHECK', 'HEALTH FLAGS', 'CLUSTER', 'WEIGHT', 'PRIORITY', 'RQ TOTAL', 'RQ ERROR'],
    data.map((h) => {
      const sa = ((h.address as Json)?.socket_address ?? {}) as Json;
      const addr = String(sa.address ?? '');
      const stat = (n: string) => String(arr(h.stats).find((s) => s.name === n)?.value ?? '0');
      const health = (h.health_status ?? {}) as Json;
      return [
        `${addr.includes(':') ? `[${addr}]` : addr}:${sa.port_value}`,
        h.health_flags === 'healthy' ? 'HEALTHY' : 'UNHEALTHY',
        health.failed_outlier_check ? 'FAILED' : 'OK',
        String(h.health_flags),
        String(h.cluster),
        String(h.weight),
        String(h.priority),
        stat('rq_total'),
        stat('rq_error'),
      ];
    }),
  );
}

const SECTIONS = {
  listeners: { data: listenersData, table: listenersTable },
  routes: { data: routesData, table: routesTable },
  clusters: { data: clustersData, table: clustersTable },
  endpoints: { data: endpointsData, table: endpointsTable },
} as const;

/** Runs the command; returns the text to print (throws with a user-facing message on failure). */
export async function proxyConfig(type: ProxyConfigType, opts: ProxyConfigOptions): Promise<string> {
  if (!['table', 'json', 'yaml'].includes(opts.output)) throw new Error(`-o must be table, json or yaml, not "${opts.output}"`);
  const client = new AdminClient(adminBaseUrl(opts.admin), opts.timeoutMs ?? 5000);
  const kinds = type === 'all' ? (Object.keys(SECTIONS) as (keyof typeof SECTIONS)[]) : [type];
  const data = await Promise.all(kinds.map((k) => SECTIONS[k].data(client, opts.name)));
  if (opts.output !== 'table') {
    const value = type === 'all' ? Object.fromEntries(kinds.map((k, i) => [k, data[i]])) : data[0];
    return opts.output === 'json' ? JSON.stringify(value, null, 2) + '\n' : stringify(value);
  }
  if (type !== 'all') return SECTIONS[type].table(data[0]!);
  return kinds.map((k, i) => `${k.toUpperCase()}\n${SECTIONS[k].table(data[i]!)}`).join('\n');
}

/** Adds `legate proxy-config` to the program; `setCode` receives the exit code. */
export function registerProxyConfig(program: Command, setCode: (code: number) => void): void {
  program
    .command('proxy-config')
    .alias('pc')
    .description("show a running legate's listeners, routes, clusters or endpoints, read from its admin API")
    .argument('<type>', `one of ${PROXY_CONFIG_TYPES.join(', ')}`)
    .option('--admin <url>', 'admin API address (http://host:port, host:port or port)', 'http://127.0.0.1:15000')
    .option('-o, --output <format>', 'table, json or yaml', 'table')
    .option('--name <text>', 'only items whose name contains this (listener, route or cluster name)')
    .action(async (type: string, opts: { admin: string; output: string; name?: string }) => {
      // Singular forms, as istioctl accepts them.
      const t = (PROXY_CONFIG_TYPES as readonly string[]).includes(type) ? type : `${type}s`;
      if (!(PROXY_CONFIG_TYPES as readonly string[]).includes(t)) {
        process.stderr.write(`legate: proxy-config: unknown type "${type}": use one of ${PROXY_CONFIG_TYPES.join(', ')}\n`);
        setCode(1);
        return;
      }
      try {
        process.stdout.write(await proxyConfig(t as ProxyConfigType, opts));
        setCode(0);
      } catch (e) {
        process.stderr.write(`legate: proxy-config: ${(e as Error).message}\n`);
        setCode(1);
      }
    });
}
