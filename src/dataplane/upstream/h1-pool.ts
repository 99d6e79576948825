import type { ConnectOptions, CxHistograms } from './connect.js';
import { H1Connection, H1Exchange, type H1ConnectionOwner } from './h1-client.js';
import { UpstreamResetError } from './reset-reason.js';
import type { AttemptHandle, AttemptSink, UpstreamRequest } from './attempt-sink.js';
import type { ClusterResources, PoolStats } from './resource-manager.js';

export type H1PoolOptions = {
  host: string;
  port: number;
  connectTimeoutMs: number;
  idleTimeoutMs: number;
  maxRequestsPerConnection: number;
  /** Close a connection once it is this old (after its current request); 0 = never. */
  maxConnectionDurationMs?: number;
  tls?: { servername?: string; rejectUnauthorized: boolean } | undefined;
  keepaliveTimeSec?: number | undefined;
  /** The cluster's circuit-breaker resources and counters, shared by all its pools. */
  resources: ClusterResources;
  stats: PoolStats;
  /** The cluster's connect-time and connection-length histograms. */
  histograms?: CxHistograms | undefined;
};

type Pending = { req: UpstreamRequest; sink: AttemptSink; handle: PendingHandle };

/**
 * HTTP/1.1 connections to one host (h1-client.ts), one request in flight per connection, as
 * Envoy. A request takes an idle connection, else waits in the pending queue while a new
 * connection opens; the cluster's circuit breakers are checked where Envoy checks them:
 * `max_pending_requests` when queueing, `max_requests` when a request is attached to a
 * connection, `max_connections` when opening one (over it the request waits, unless the pool has
 * no connection at all).
 */
export class H1Pool implements H1ConnectionOwner {
  readonly #opts: H1PoolOptions;
  readonly #connect: ConnectOptions;
  readonly #idle: H1Connection[] = [];
  readonly #all = new Set<H1Connection>();
  readonly #pending: Pending[] = [];
  readonly #maxAge = new Map<H1Connection, NodeJS.Timeout>();
  readonly #requestDone: () => void;
  /** Busy connections close() waits for. */
  readonly #closing = new Map<H1Connection, () => void>();
  #closed = false;

  constructor(opts: H1PoolOptions) {
    this.#opts = opts;
    this.#connect = {
      host: opts.host,
      port: opts.port,
      timeoutMs: opts.connectTimeoutMs,
      tls: opts.tls ? { ...opts.tls, alpn: ['http/1.1'] } : undefined,
      keepalive: opts.keepaliveTimeSec !== undefined ? { timeSec: opts.keepaliveTimeSec } : undefined,
      histograms: opts.histograms,
    };
    const requests = opts.resources.requests;
    this.#requestDone = () => requests.dec();
  }

  get connections(): number {
    return this.#all.size;
  }
  get idleConnections(): number {
    return this.#idle.length;
  }
  get pendingRequests(): number {
    return this.#pending.length;
  }

  request(req: UpstreamRequest, sink: AttemptSink): AttemptHandle {
    const conn = this.#idle.pop();
    if (conn) return this.#attach(conn, req, sink);
    const { resources, stats } = this.#opts;
    if (!resources.pending.canCreate()) {
      stats.upstream_rq_pending_overflow++;
      return overflow(sink);
    }
    const handle = new PendingHandle(this);
    const p: Pending = { req, sink, handle };
    handle.entry = p;
    this.#pending.push(p);
    resources.pending.inc();
    stats.upstream_rq_pending_total++;
    stats.upstream_rq_pending_active++;
    this.#maybeConnect();
    return handle;
  }

  /** Opens a connection for the oldest waiting request, within max_connections. */
  #maybeConnect(): void {
    const { resources, stats } = this.#opts;
    if (!resources.connections.canCreate()) {
      stats.upstream_cx_overflow++;
      // Envoy opens one anyway when the pool has none, so a queue never waits on nothing.
      if (this.#all.size > 0) return;
    }
    const p = this.#takePending();
    if (p) p.handle.bind(this.#attach(this.#newConnection(), p.req, p.sink));
  }

  #takePending(): Pending | undefined {
    const p = this.#pending.shift();
    if (p) {
      this.#opts.resources.pending.dec();
      this.#opts.stats.upstream_rq_pending_active--;
    }
    return p;
  }

  /** A waiting request was cancelled. */
  forget(p: Pending): void {
    const i = this.#pending.indexOf(p);
    if (i < 0) return;
    this.#pending.splice(i, 1);
    this.#opts.resources.pending.dec();
    this.#opts.stats.upstream_rq_pending_active--;
  }

  #attach(conn: H1Connection, req: UpstreamRequest, sink: AttemptSink): AttemptHandle {
    const requests = this.#opts.resources.requests;
    if (!requests.canCreate()) {
      // Envoy counts this in the pending-overflow counter too.
      this.#opts.stats.upstream_rq_pending_overflow++;
      this.connectionFree(conn);
      return overflow(sink);
    }
    requests.inc();
    const ex = new H1Exchange(req, sink, this.#requestDone);
    ex.conn = conn;
    conn.start(ex);
    return ex;
  }

  /** H1ConnectionOwner: back into the idle list once a response is complete, or straight to a waiting request. */
  connectionFree(conn: H1Connection): void {
    if (conn.gone) return;
    if (this.#closed) {
      conn.destroy();
      return;
    }
    const p = this.#takePending();
    if (p) p.handle.bind(this.#attach(conn, p.req, p.sink));
    else this.#idle.push(conn);
  }

  /** H1ConnectionOwner: the connection closed or failed. */
  connectionGone(conn: H1Connection): void {
    const closing = this.#closing.get(conn);
    if (closing) {
      this.#closing.delete(conn);
      closing();
    }
    if (!this.#all.delete(conn)) return;
    this.#opts.resources.connections.dec();
    this.#opts.stats.upstream_cx_active--;
    const t = this.#maxAge.get(conn);
    if (t) {
      clearTimeout(t);
      this.#maxAge.delete(conn);
    }
    const i = this.#idle.indexOf(conn);
    if (i >= 0) this.#idle.splice(i, 1);
    if (this.#pending.length > 0 && !this.#closed) this.#maybeConnect();
  }

  #newConnection(): H1Connection {
    const o = this.#opts;
    const conn = new H1Connection(this, {
      connect: this.#connect,
      idleTimeoutMs: o.idleTimeoutMs,
      maxRequests: o.maxRequestsPerConnection,
      onConnected: () => {
        o.stats.upstream_cx_total++;
      },
    });
    this.#all.add(conn);
    o.resources.connections.inc();
    o.stats.upstream_cx_active++;
    const maxAge = o.maxConnectionDurationMs ?? 0;
    if (maxAge > 0) {
      // Envoy's max_connection_duration: drain, i.e. take no new request and close when done.
      const t = setTimeout(() => {
        this.#maxAge.delete(conn);
        o.stats.upstream_cx_max_duration_reached++;
        const i = this.#idle.indexOf(conn);
        if (i >= 0) this.#idle.splice(i, 1);
        conn.retire();
      }, maxAge);
      t.unref();
      this.#maxAge.set(conn, t);
    }
    return conn;
  }

  /** Closes idle connections now and busy ones after their exchange; waiting requests fail. */
  async close(): Promise<void> {
    this.#closed = true;
    for (const p of this.#pending.splice(0)) {
      this.#opts.resources.pending.dec();
      this.#opts.stats.upstream_rq_pending_active--;
      p.sink.onReset(new UpstreamResetError('local reset', 'pool closed'));
    }
    const busy: Promise<void>[] = [];
    for (const c of [...this.#all]) {
      if (!c.busy) c.destroy();
      else {
        busy.push(new Promise<void>((resolve) => this.#closing.set(c, resolve)));
        c.retire();
      }
    }
    this.#idle.length = 0;
    await Promise.all(busy);
  }

  destroy(): void {
    this.#closed = true;
    for (const c of [...this.#all]) c.destroy();
    this.#idle.length = 0;
  }
}

/** Circuit-breaker overflow: fails the attempt on the next tick with reason `overflow`. */
function overflow(sink: AttemptSink): AttemptHandle {
  let cancelled = false;
  queueMicrotask(() => {
    if (!cancelled) sink.onReset(new UpstreamResetError('overflow'));
  });
  return {
    cancel: () => {
      cancelled = true;
    },
    resume: () => {},
  };
}

/** Handle of a request waiting in the pending queue; forwards to the exchange once attached. */
class PendingHandle implements AttemptHandle {
  readonly #pool: H1Pool;
  entry: Pending | null = null;
  #bound: AttemptHandle | null = null;
  #cancelled = false;
  constructor(pool: H1Pool) {
    this.#pool = pool;
  }
  bind(h: AttemptHandle): void {
    this.#bound = h;
    if (this.#cancelled) h.cancel();
  }
  cancel(): void {
    if (this.#cancelled) return;
    this.#cancelled = true;
    if (this.#bound) this.#bound.cancel();
    else if (this.entry) this.#pool.forget(this.entry);
  }
  resume(): void {
    this.#bound?.resume();
  }
}
