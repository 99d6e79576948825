/**
 * The admin HTTP server (Envoy's admin interface, default 127.0.0.1:15000). Handlers read
 * snapshots of the running proxy; they do synchronous work in the order of a millisecond and
 * never touch the request path's state beyond reading numbers.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { text, type AdminContext, type AdminRequest, type AdminResponse, type AdminSources } from './admin-context.js';
import { clusters } from './handlers/clusters.js';
import { configDump, listeners, routes, serverInfo } from './handlers/config.js';
import { drain, ready, workers } from './handlers/server.js';
import { resetCounters, stats, statsPrometheus } from './handlers/stats.js';
import { DASHBOARD_CSP, dashboardAsset, isAssetName, type AssetName } from './dashboard/assets.js';
import { DashboardEvents, parseInterval } from './dashboard/events.js';

export type AdminServerOptions = {
  sources: AdminSources;
  /** Default 127.0.0.1: never a public address unless asked. */
  address?: string;
  /** Default 15000; 0 binds a free port. */
  port?: number;
  /** Shown in /server_info and /config_dump. */
  version?: string;
  /** Default grace period of POST /drain (ms); default 30 s. */
  drainGraceMs?: number;
};

type Handler = (ctx: AdminContext, req: AdminRequest) => AdminResponse | Promise<AdminResponse>;
type Endpoint = { path: string; method: 'GET' | 'POST'; help: string; handler: Handler };

const ENDPOINTS: Endpoint[] = [
  { path: '/ready', method: 'GET', help: 'LIVE (200) while serving, DRAINING or PRE_INITIALIZING (503) otherwise', handler: ready },
  { path: '/server_info', method: 'GET', help: 'version, state, uptime and config version (JSON)', handler: serverInfo },
  {
    path: '/config_dump',
    method: 'GET',
    help: 'the applied IR with origins, version, load time, diagnostics and status (?resource=)',
    handler: configDump,
  },
  { path: '/clusters', method: 'GET', help: 'clusters and hosts: counters, health flags, outlier state (?format=json)', handler: clusters },
  { path: '/listeners', method: 'GET', help: 'listeners and their bound addresses (?format=json)', handler: listeners },
  { path: '/routes', method: 'GET', help: 'virtual hosts and routes with their stats (JSON; ?format=text)', handler: routes },
  { path: '/stats', method: 'GET', help: 'all stats (?filter=<regex>, ?usedonly, ?type=, ?format=json)', handler: stats },
  { path: '/stats/prometheus', method: 'GET', help: 'all stats in Prometheus text format (?filter=, ?usedonly)', handler: statsPrometheus },
  { path: '/reset_counters', method: 'POST', help: 'reset every counter to 0 (gauges and histograms stay)', handler: resetCounters },
  {
    path: '/drain',
    method: 'POST',
    help: 'stop accepting, finish in-flight requests, report (?timeout_ms=, ?wait=false)',
    handler: drain,
  },
  { path: '/drain_listeners', method: 'POST', help: "Envoy's name for /drain", handler: drain },
  { path: '/workers', method: 'GET', help: 'the worker processes of --workers N: pid, state, restarts (JSON)', handler: workers },
];

function helpText(): string {
  return (
    'admin commands are:\n' +
    '  /dashboard: the live dashboard (also / in a browser)\n' +
    '  /dashboard/events: its server-sent events: topology, then stats every ?interval_ms= (default 1000)\n' +
    ENDPOINTS.map((e) => `  ${e.method === 'POST' ? 'POST ' : ''}${e.path}: ${e.help}\n`).join('') +
    '  /help: this text (also / for clients that do not ask for HTML, such as curl)\n'
  );
}

/** A browser asks for HTML; curl, fetch and scripts send Accept: *\/* (or nothing) and get the text index. */
function wantsHtml(req: http.IncomingMessage): boolean {
  return /\btext\/html\b/i.test(req.headers.accept ?? '');
}

function asset(name: AssetName): AdminResponse {
  const a = dashboardAsset(name);
  return {
    status: 200,
    contentType: a.contentType,
    body: a.body,
    headers: name === 'index.html' ? { 'content-security-policy': DASHBOARD_CSP } : {},
  };
}

export class AdminServer {
  readonly #server: http.Server;
  readonly #opts: AdminServerOptions;
  readonly #ctx: AdminContext;
  readonly #events: DashboardEvents;

  constructor(opts: AdminServerOptions) {
    this.#opts = opts;
    this.#ctx = {
      sources: opts.sources,
      version: opts.version ?? '',
      adminAddress: '',
      drainGraceMs: opts.drainGraceMs ?? 30_000,
      // The streams show the drain as it goes, then end: a client that does not reconnect (curl)
      // stops with the proxy's traffic; the page reconnects and shows the drained state.
      onDrain: (drained) => void drained.then(() => this.#events.end()),
    };
    this.#events = new DashboardEvents(this.#ctx);
    this.#server = http.createServer({ keepAliveTimeout: 5_000 }, (req, res) => void this.#serve(req, res));
  }

  /** Binds the port; resolves once listening. */
  start(): Promise<void> {
    return new Promise((resolve, reject) => {
      const onError = (e: Error) => reject(e);
      this.#server.once('error', onError);
      this.#server.listen({ host: this.#opts.address ?? '127.0.0.1', port: this.#opts.port ?? 15000 }, () => {
        this.#server.removeListener('error', onError);
        this.#ctx.adminAddress = this.hostPort;
        resolve();
      });
    });
  }

  get port(): number {
    const a = this.#server.address() as AddressInfo | null;
    return a ? a.port : 0;
  }

  get address(): string {
    const a = this.#server.address() as AddressInfo | null;
    return a ? a.address : (this.#opts.address ?? '127.0.0.1');
  }

  /** `host:port` (IPv6 in brackets). */
  get hostPort(): string {
    const a = this.address;
    return `${a.includes(':') ? `[${a}]` : a}:${this.port}`;
  }

  get url(): string {
    return `http://${this.hostPort}`;
  }

  /** The dashboard's event streams: open streams, samples computed, timers running. */
  get dashboard(): { clients: number; samples: number; timers: number } {
    const e = this.#events;
    return { clients: e.clients, samples: e.samples, timers: e.timers };
  }

  async #serve(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://admin');
    const path = url.pathname.length > 1 && url.pathname.endsWith('/') ? url.pathname.slice(0, -1) : url.pathname;
    let out: AdminResponse;
    try {
      if (path === '/dashboard/events' && (req.method === 'GET' || req.method === 'HEAD')) {
        const interval = parseInterval(url);
        if (typeof interval === 'number') return this.#events.open(req, res, interval);
        out = text(interval, 400);
      } else out = await this.#dispatch(req, url, path);
    } catch (e) {
      out = text(`internal error: ${(e as Error).message}\n`, 500);
    }
    res.writeHead(out.status, {
      'content-type': out.contentType,
      'content-length': Buffer.byteLength(out.body),
      'cache-control': 'no-cache, max-age=0',
      'x-content-type-options': 'nosniff',
      ...out.headers,
    });
    res.end(req.method === 'HEAD' ? undefined : out.body);
  }

  #dispatch(req: http.IncomingMessage, url: URL, path: string): AdminResponse | Promise<AdminResponse> {
    const method = req.method ?? 'GET';
    const read = method === 'GET' || method === 'HEAD';
    if (path === '/' || path === '/help' || path === '/dashboard' || path.startsWith('/dashboard/')) {
      if (!read) return text(`${path} needs GET\n`, 405);
      if (path === '/') {
        const r = wantsHtml(req) ? asset('index.html') : text(helpText());
        return { ...r, headers: { ...r.headers, vary: 'accept' } };
      }
      if (path === '/help') return text(helpText());
      if (path === '/dashboard') return asset('index.html');
      const name = path.slice('/dashboard/'.length);
      if (isAssetName(name) && name !== 'index.html') return asset(name);
      return text(`invalid path: ${path}\n${helpText()}`, 404);
    }
    const e = ENDPOINTS.find((x) => x.path === path);
    if (!e) return text(`invalid path: ${path}\n${helpText()}`, 404);
    const ok = e.method === 'POST' ? method === 'POST' : method === 'GET' || method === 'HEAD';
    // Envoy refuses a mutation over GET, so a stray link or prefetch cannot drain the proxy.
    if (!ok) return text(`${path} needs ${e.method}\n`, 405);
    return e.handler(this.#ctx, { method, url });
  }

  async close(): Promise<void> {
    // Event streams never end on their own: end them so the server can close.
    this.#events.close();
    const closed = new Promise<void>((resolve) => this.#server.close(() => resolve()));
    this.#server.closeAllConnections();
    await closed;
  }
}
