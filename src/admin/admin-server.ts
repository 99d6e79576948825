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
import { drain, ready } from './handlers/server.js';
import { resetCounters, stats, statsPrometheus } from './handlers/stats.js';

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
];

function helpText(): string {
  return (
    'admin commands are:\n' +
    ENDPOINTS.map((e) => `  ${e.method === 'POST' ? 'POST ' : ''}${e.path}: ${e.help}\n`).join('') +
    '  /help: this text\n'
  );
}

export class AdminServer {
  readonly #server: http.Server;
  readonly #opts: AdminServerOptions;
  readonly #ctx: AdminContext;

  constructor(opts: AdminServerOptions) {
    this.#opts = opts;
    this.#ctx = {
      sources: opts.sources,
      version: opts.version ?? '',
      adminAddress: '',
      drainGraceMs: opts.drainGraceMs ?? 30_000,
    };
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

  async #serve(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    let out: AdminResponse;
    try {
      out = await this.#dispatch(req);
    } catch (e) {
      out = text(`internal error: ${(e as Error).message}\n`, 500);
    }
    res.writeHead(out.status, {
      'content-type': out.contentType,
      'content-length': Buffer.byteLength(out.body),
      'cache-control': 'no-cache, max-age=0',
      'x-content-type-options': 'nosniff',
    });
    res.end(req.method === 'HEAD' ? undefined : out.body);
  }

  #dispatch(req: http.IncomingMessage): AdminResponse | Promise<AdminResponse> {
    const url = new URL(req.url ?? '/', 'http://admin');
    const path = url.pathname.length > 1 && url.pathname.endsWith('/') ? url.pathname.slice(0, -1) : url.pathname;
    if (path === '/' || path === '/help') return text(helpText());
    const e = ENDPOINTS.find((x) => x.path === path);
    if (!e) return text(`invalid path: ${path}\n${helpText()}`, 404);
    const method = req.method ?? 'GET';
    const ok = e.method === 'POST' ? method === 'POST' : method === 'GET' || method === 'HEAD';
    // Envoy refuses a mutation over GET, so a stray link or prefetch cannot drain the proxy.
    if (!ok) return text(`${path} needs ${e.method}\n`, 405);
    return e.handler(this.#ctx, { method, url });
  }

  async close(): Promise<void> {
    const closed = new Promise<void>((resolve) => this.#server.close(() => resolve()));
    this.#server.closeAllConnections();
    await closed;
  }
}
