import { Client } from 'undici';
import type { Dispatcher } from 'undici';
import type net from 'node:net';
import { RESPONSE_HOP_BY_HOP } from '../http/headers.js';
import { connect, type CxHistograms } from './connect.js';
import { LOCAL_RESET, UpstreamResetError } from './reset-reason.js';
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
 * HTTP/1.1 connections to one host. Each connection is an undici Client with pipelining 1 (one
 * request in flight per connection, as Envoy). A request takes an idle connection, else waits in
 * the pending queue while a new connection opens; the cluster's circuit breakers are checked
 * where Envoy checks them: `max_pending_requests` when queueing, `max_requests` when a request is
 * attached to a connection, `max_connections` when opening one (over it the request waits, unless
 * the pool has no connection at all).
 *
 * undici's legacy handler callbacks (onConnect/onHeaders/onData/onComplete/onError) are used on
 * purpose: they are its native path; the newer controller API wraps them and parses every
 * response's headers into an object first.
 */
export class H1Pool {
  readonly #opts: H1PoolOptions;
  readonly #idle: Client[] = [];
  readonly #all = new Set<Client>();
  readonly #pending: Pending[] = [];
  /** Connections past their max duration, finishing their last request. */
  readonly #retired = new WeakSet<Client>();
  #closed = false;

  constructor(opts: H1PoolOptions) {
    this.#opts = opts;
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
    const client = this.#idle.pop();
    if (client) return this.#attach(client, req, sink);
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
    if (p) p.handle.bind(this.#attach(this.#newClient(), p.req, p.sink));
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

  #attach(client: Client, req: UpstreamRequest, sink: AttemptSink): AttemptHandle {
    const requests = this.#opts.resources.requests;
    if (!requests.canCreate()) {
      // Envoy counts this in the pending-overflow counter too.
      this.#opts.stats.upstream_rq_pending_overflow++;
      this.release(client);
      return overflow(sink);
    }
    requests.inc();
    const h = new H1Exchange(this, client, sink);
    try {
      client.dispatch(
        {
          origin: undefined as unknown as string,
          path: req.path,
          method: req.method,
          headers: req.headers,
          body: req.body,
          headersTimeout: 0,
          bodyTimeout: 0,
          reset: false,
        },
        h,
      );
    } catch (e) {
      // undici validates synchronously (bad header values and the like).
      h.abandon();
      this.release(client);
      queueMicrotask(() => sink.onReset(new UpstreamResetError('protocol error', (e as Error).message)));
    }
    return h;
  }

  /** An exchange is over: its request slot is freed. */
  requestDone(): void {
    this.#opts.resources.requests.dec();
  }

  /** Back into the idle list once a response is complete, or straight to a waiting request. */
  release(client: Client): void {
    if (this.#closed || client.destroyed || client.closed || this.#retired.has(client)) {
      this.#drop(client);
      return;
    }
    const p = this.#takePending();
    if (p) p.handle.bind(this.#attach(client, p.req, p.sink));
    else this.#idle.push(client);
  }

  /** Stops using a connection: it finishes what it carries, then closes. */
  #retire(client: Client): void {
    const i = this.#idle.indexOf(client);
    if (i >= 0) this.#idle.splice(i, 1);
    this.#retired.add(client);
    this.#drop(client);
    client.close().catch(() => {});
  }

  discard(client: Client): void {
    this.#drop(client);
    const i = this.#idle.indexOf(client);
    if (i >= 0) this.#idle.splice(i, 1);
    client.destroy().catch(() => {});
    if (this.#pending.length > 0 && !this.#closed) this.#maybeConnect();
  }

  #drop(client: Client): void {
    if (this.#all.delete(client)) {
      this.#opts.resources.connections.dec();
      this.#opts.stats.upstream_cx_active--;
    }
  }

  #newClient(): Client {
    const o = this.#opts;
    const scheme = o.tls ? 'https' : 'http';
    const client = new Client(`${scheme}://${o.host.includes(':') ? `[${o.host}]` : o.host}:${o.port}`, {
      pipelining: 1,
      keepAliveTimeout: o.idleTimeoutMs > 0 ? o.idleTimeoutMs : 2_147_483_647,
      keepAliveMaxTimeout: o.idleTimeoutMs > 0 ? o.idleTimeoutMs : 2_147_483_647,
      keepAliveTimeoutThreshold: 0,
      maxRequestsPerClient: o.maxRequestsPerConnection > 0 ? o.maxRequestsPerConnection : undefined,
      headersTimeout: 0,
      bodyTimeout: 0,
      strictContentLength: true,
      connect: (_opts: unknown, cb: (err: Error | null, socket: net.Socket | null) => void) => {
        connect(
          {
            host: o.host,
            port: o.port,
            timeoutMs: o.connectTimeoutMs,
            tls: o.tls ? { ...o.tls, alpn: ['http/1.1'] } : undefined,
            keepalive: o.keepaliveTimeSec !== undefined ? { timeSec: o.keepaliveTimeSec } : undefined,
            histograms: o.histograms,
          },
          (err, socket) => {
            if (!err) o.stats.upstream_cx_total++;
            cb(err, socket ?? null);
          },
        );
      },
    } as Client.Options);
    // A client whose socket failed stays usable (undici reconnects on the next dispatch).
    client.on('connectionError', () => {});
    const maxAge = o.maxConnectionDurationMs ?? 0;
    if (maxAge > 0) {
      // Envoy's max_connection_duration: drain, i.e. take no new request and close when done.
      const t = setTimeout(() => {
        o.stats.upstream_cx_max_duration_reached++;
        this.#retire(client);
      }, maxAge);
      t.unref();
      client.once('disconnect', () => clearTimeout(t));
    }
    this.#all.add(client);
    o.resources.connections.inc();
    o.stats.upstream_cx_active++;
    return client;
  }

  async close(): Promise<void> {
    this.#closed = true;
    for (const p of this.#pending.splice(0)) {
      this.#opts.resources.pending.dec();
      this.#opts.stats.upstream_rq_pending_active--;
      p.sink.onReset(new UpstreamResetError('local reset', 'pool closed'));
    }
    const all = [...this.#all];
    for (const c of all) this.#drop(c);
    this.#idle.length = 0;
    await Promise.all(all.map((c) => c.close().catch(() => {})));
  }

  destroy(): void {
    this.#closed = true;
    for (const c of [...this.#all]) {
      this.#drop(c);
      c.destroy().catch(() => {});
    }
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

/** One request on one undici client, adapting undici's callbacks to an AttemptSink. */
class H1Exchange implements AttemptHandle, Dispatcher.DispatchHandler {
  readonly #pool: H1Pool;
  readonly #client: Client;
  readonly #sink: AttemptSink;
  #abort: ((err?: Error) => void) | null = null;
  #resume: (() => void) | null = null;
  #done = false;
  #cancelled = false;

  constructor(pool: H1Pool, client: Client, sink: AttemptSink) {
    this.#pool = pool;
    this.#client = client;
    this.#sink = sink;
  }

  /** The exchange is over: free its request slot and hand the connection back, once. */
  #finish(): void {
    if (this.#done) return;
    this.#done = true;
    this.#pool.requestDone();
    this.#pool.release(this.#client);
  }

  /** Dispatch threw synchronously: only the request slot needs freeing. */
  abandon(): void {
    if (this.#done) return;
    this.#done = true;
    this.#pool.requestDone();
  }

  cancel(): void {
    if (this.#done || this.#cancelled) return;
    this.#cancelled = true;
    // undici answers the abort with onError, which finishes the exchange.
    if (this.#abort) this.#abort(LOCAL_RESET);
    else this.#pool.discard(this.#client);
  }

  resume(): void {
    const r = this.#resume;
    if (r) r();
  }

  onConnect(abort: (err?: Error) => void): void {
    this.#abort = abort;
    if (this.#cancelled) {
      abort(LOCAL_RESET);
      return;
    }
    this.#sink.onPoolReady();
  }

  onHeaders(statusCode: number, rawHeaders: Buffer[], resume: () => void): boolean {
    if (this.#cancelled) return false;
    if (statusCode < 200) return true; // informational responses are not forwarded
    this.#resume = resume;
    const headers: string[] = [];
    for (let i = 0; i < rawHeaders.length; i += 2) {
      const name = rawHeaders[i]!.toString('latin1').toLowerCase();
      if (RESPONSE_HOP_BY_HOP.has(name)) continue;
      headers.push(name, rawHeaders[i + 1]!.toString('latin1'));
    }
    this.#sink.onResponseHeaders(statusCode, headers, false);
    return true;
  }

  onData(chunk: Buffer): boolean {
    if (this.#cancelled) return false;
    return this.#sink.onResponseData(chunk);
  }

  onComplete(trailers: Buffer[] | string[] | null): void {
    this.#finish();
    if (this.#cancelled) return;
    let t: string[] | null = null;
    if (trailers && trailers.length > 0) {
      t = [];
      for (let i = 0; i < trailers.length; i += 2) t.push(String(trailers[i]).toLowerCase(), String(trailers[i + 1]));
    }
    this.#sink.onResponseEnd(t);
  }

  onError(err: Error): void {
    this.#finish();
    if (this.#cancelled) return;
    this.#sink.onReset(classifyUndiciError(err));
  }
}

/** Maps undici's errors to Envoy's reset reasons. */
function classifyUndiciError(err: Error): UpstreamResetError {
  if (err instanceof UpstreamResetError) return err;
  const code = (err as { code?: string }).code ?? '';
  // undici's parser errors sometimes carry no code; the class name still says what happened.
  if (
    err.name === 'HTTPParserError' ||
    code.startsWith('HPE_') ||
    code === 'UND_ERR_RES_CONTENT_LENGTH_MISMATCH' ||
    code === 'UND_ERR_INFO'
  )
    return new UpstreamResetError('protocol error', err.message);
  if (code === 'UND_ERR_REQ_CONTENT_LENGTH_MISMATCH') return new UpstreamResetError('local reset', err.message);
  return new UpstreamResetError('connection termination', err.message);
}
