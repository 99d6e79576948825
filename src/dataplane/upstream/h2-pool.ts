import type net from 'node:net';
import { RESPONSE_HOP_BY_HOP } from '../http/headers.js';
import { H2Connection, type H2CloseHow, type H2Stream, type H2StreamHandler } from '../h2/connection.js';
import { CONNECTION_SPECIFIC, ErrorCode } from '../h2/frame.js';
import { connect, type CxHistograms } from './connect.js';
import { UpstreamResetError } from './reset-reason.js';
import type { Readable } from 'node:stream';
import type { AttemptHandle, AttemptSink, UpstreamRequest } from './attempt-sink.js';
import type { ClusterResources, PoolStats } from './resource-manager.js';

export type H2PoolOptions = {
  host: string;
  port: number;
  connectTimeoutMs: number;
  idleTimeoutMs: number;
  maxConcurrentStreams: number;
  maxRequestsPerConnection: number;
  /** Drain a session once it is this old; 0 = never. */
  maxConnectionDurationMs?: number;
  tls?: { servername?: string; rejectUnauthorized: boolean } | undefined;
  keepaliveTimeSec?: number | undefined;
  /** The cluster's circuit-breaker resources and counters, shared by all its pools. */
  resources: ClusterResources;
  stats: PoolStats;
  /** The cluster's connect-time and connection-length histograms. */
  histograms?: CxHistograms | undefined;
};

type Session = {
  conn: H2Connection;
  /** The peer's SETTINGS have arrived (or we stopped waiting for them). */
  ready: boolean;
  active: number;
  total: number;
  draining: boolean;
};

type Waiter = { req: UpstreamRequest; ex: H2Exchange };

/**
 * HTTP/2 sessions to one host. A stream goes on the first session with spare capacity
 * (min of the configured limit and the peer's SETTINGS_MAX_CONCURRENT_STREAMS); when every session
 * is full a new one is opened. Requests wait while a session connects.
 */
export class H2Pool {
  readonly #opts: H2PoolOptions;
  readonly #sessions: Session[] = [];
  #connecting = 0;
  readonly #waiting: Waiter[] = [];
  #closed = false;

  constructor(opts: H2PoolOptions) {
    this.#opts = opts;
  }

  get connections(): number {
    return this.#sessions.length + this.#connecting;
  }

  request(req: UpstreamRequest, sink: AttemptSink): AttemptHandle {
    const ex = new H2Exchange(this, sink);
    const s = this.#pick();
    if (s) this.#start(ex, s, req);
    else {
      const { resources, stats } = this.#opts;
      if (!resources.pending.canCreate()) {
        stats.upstream_rq_pending_overflow++;
        queueMicrotask(() => ex.fail(new UpstreamResetError('overflow')));
        return ex;
      }
      this.#waiting.push({ req, ex });
      resources.pending.inc();
      stats.upstream_rq_pending_total++;
      stats.upstream_rq_pending_active++;
      // One connect covers the streams it can carry; open another only when the waiters exceed it.
      const pending = this.#pendingSessions();
      if (pending === 0 || this.#waiting.length > pending * this.#opts.maxConcurrentStreams) this.#connect();
    }
    return ex;
  }

  /** Attaches a stream, within max_requests (over it: overflow, counted as pending overflow as Envoy does). */
  #start(ex: H2Exchange, s: Session, req: UpstreamRequest): void {
    const { resources, stats } = this.#opts;
    if (!resources.requests.canCreate()) {
      stats.upstream_rq_pending_overflow++;
      queueMicrotask(() => ex.fail(new UpstreamResetError('overflow')));
      return;
    }
    ex.start(s, req);
  }

  #unqueue(n: number): void {
    this.#opts.resources.pending.count -= Math.min(n, this.#opts.resources.pending.count);
    this.#opts.stats.upstream_rq_pending_active -= n;
  }

  /** Removes a waiter that was cancelled before a session was ready. */
  forget(ex: H2Exchange): void {
    const i = this.#waiting.findIndex((w) => w.ex === ex);
    if (i >= 0) {
      this.#waiting.splice(i, 1);
      this.#unqueue(1);
    }
  }

  /** Sessions on their way: connecting, or connected and waiting for the peer's SETTINGS. */
  #pendingSessions(): number {
    let n = this.#connecting;
    for (const s of this.#sessions) if (!s.ready) n++;
    return n;
  }

  #capacity(s: Session): number {
    return Math.min(this.#opts.maxConcurrentStreams, s.conn.remoteMaxConcurrent);
  }

  #pick(): Session | undefined {
    for (const s of this.#sessions) {
      if (s.ready && !s.draining && !s.conn.destroyed && !s.conn.closing && s.active < this.#capacity(s)) return s;
    }
    return undefined;
  }

  #connect(): void {
    const o = this.#opts;
    if (!o.resources.connections.canCreate()) {
      o.stats.upstream_cx_overflow++;
      // Envoy opens one anyway when the pool has none, so a queue never waits on nothing.
      if (this.#sessions.length + this.#connecting > 0) return;
    }
    o.resources.connections.inc();
    o.stats.upstream_cx_active++;
    this.#connecting++;
    connect(
      {
        host: o.host,
        port: o.port,
        timeoutMs: o.connectTimeoutMs,
        tls: o.tls ? { ...o.tls, alpn: ['h2'] } : undefined,
        keepalive: o.keepaliveTimeSec !== undefined ? { timeSec: o.keepaliveTimeSec } : undefined,
        histograms: o.histograms,
      },
      (err, socket) => {
        this.#connecting--;
        if (err || !socket) {
          o.resources.connections.dec();
          o.stats.upstream_cx_active--;
          // Envoy fails every stream queued on a connection that could not be established.
          const waiting = this.#waiting.splice(0);
          this.#unqueue(waiting.length);
          for (const w of waiting) w.ex.fail(err ?? new UpstreamResetError('local connection failure'));
          return;
        }
        if (this.#closed) {
          o.resources.connections.dec();
          o.stats.upstream_cx_active--;
          socket.destroy();
          return;
        }
        o.stats.upstream_cx_total++;
        this.#addSession(socket);
      },
    );
  }

  #addSession(socket: net.Socket): void {
    const o = this.#opts;
    const conn = new H2Connection(socket, {
      role: 'client',
      initialWindowSize: 1 << 20,
      connectionWindowSize: 1 << 20,
      idleTimeoutMs: o.idleTimeoutMs,
    });
    const s: Session = { conn, ready: false, active: 0, total: 0, draining: false };
    this.#sessions.push(s);
    // Until the peer's SETTINGS arrive its stream limit reads as unlimited, and a burst of waiters
    // would overshoot it (the peer refuses the excess). Start streams once SETTINGS are in, or
    // after the connect timeout for a peer that never sends them.
    const ready = () => {
      if (s.ready) return;
      s.ready = true;
      clearTimeout(timer);
      this.#drainWaiting();
    };
    const timer = setTimeout(ready, o.connectTimeoutMs);
    timer.unref();
    let maxAgeTimer: NodeJS.Timeout | undefined;
    conn.events = {
      onRemoteSettings: ready,
      onGoaway: () => {
        s.draining = true;
      },
      onClose: () => {
        clearTimeout(timer);
        clearTimeout(maxAgeTimer);
        const i = this.#sessions.indexOf(s);
        if (i >= 0) {
          this.#sessions.splice(i, 1);
          o.resources.connections.dec();
          o.stats.upstream_cx_active--;
        }
        if (this.#waiting.length > 0 && !this.#closed && this.#pendingSessions() === 0) this.#connect();
      },
    };
    const maxAge = o.maxConnectionDurationMs ?? 0;
    if (maxAge > 0) {
      // Envoy's max_connection_duration: no new streams, close when the last one ends.
      maxAgeTimer = setTimeout(() => {
        o.stats.upstream_cx_max_duration_reached++;
        s.draining = true;
        if (s.active === 0) conn.close();
      }, maxAge);
      maxAgeTimer.unref();
    }
  }

  #drainWaiting(): void {
    while (this.#waiting.length > 0) {
      const s = this.#pick();
      if (!s) {
        if (this.#pendingSessions() === 0) this.#connect();
        return;
      }
      const w = this.#waiting.shift()!;
      this.#unqueue(1);
      this.#start(w.ex, s, w.req);
    }
  }

  /** Called by an exchange when its stream closes. */
  streamDone(s: Session): void {
    s.active--;
    this.#opts.resources.requests.dec();
    if (s.draining && s.active === 0) s.conn.close();
    else if (this.#waiting.length > 0) this.#drainWaiting();
  }

  noteStreamStarted(s: Session): void {
    this.#opts.resources.requests.inc();
    s.active++;
    s.total++;
    const max = this.#opts.maxRequestsPerConnection;
    if (max > 0 && s.total >= max && !s.draining) {
      s.draining = true;
      this.#opts.stats.upstream_cx_max_requests++;
    }
  }

  async close(): Promise<void> {
    this.#closed = true;
    const all = this.#sessions.splice(0);
    await Promise.all(
      all.map(
        (s) =>
          new Promise<void>((resolve) => {
            if (s.conn.destroyed) return resolve();
            s.conn.socket.once('close', () => resolve());
            s.conn.close();
          }),
      ),
    );
  }

  destroy(): void {
    this.#closed = true;
    for (const s of this.#sessions.splice(0)) s.conn.destroy();
  }
}

/** One attempt on one stream: the stream's handler, adapting its events to the AttemptSink. */
class H2Exchange implements AttemptHandle, H2StreamHandler {
  readonly #pool: H2Pool;
  readonly #sink: AttemptSink;
  #stream: H2Stream | null = null;
  #session: Session | null = null;
  #trailers: string[] | null = null;
  #done = false;
  #body: Readable | null = null;

  constructor(pool: H2Pool, sink: AttemptSink) {
    this.#pool = pool;
    this.#sink = sink;
  }

  start(s: Session, req: UpstreamRequest): void {
    if (this.#done) return;
    const list = [':method', req.method, ':scheme', req.scheme, ':authority', req.authority, ':path', req.path];
    const h = req.headers;
    for (const k in h) {
      if (CONNECTION_SPECIFIC.has(k) || k === 'host' || k.charCodeAt(0) === 58) continue;
      const v = h[k];
      if (v === undefined) continue;
      if (k === 'te' && v !== 'trailers') continue;
      if (typeof v === 'string') list.push(k, v);
      else for (const x of v) list.push(k, x);
    }
    const stream = s.conn.request(list, req.body === null, this, req.method === 'HEAD');
    this.#stream = stream;
    this.#session = s;
    this.#pool.noteStreamStarted(s);
    this.#sink.onPoolReady();
    if (req.body) this.#pipeBody(req.body, stream);
  }

  /** The request body into the stream, paused while the stream's window or buffer is full. */
  #pipeBody(body: Readable, stream: H2Stream): void {
    this.#body = body;
    body.on('data', (chunk: Buffer) => {
      if (!stream.write(chunk)) body.pause();
    });
    body.once('end', () => stream.end());
    body.once('error', () => this.cancel());
  }

  onWritable(): void {
    this.#body?.resume();
  }

  onHeaders(_s: H2Stream, headers: string[], endStream: boolean): void {
    if (this.#done) return;
    const status = Number(headers[1]);
    // A trailers-only response ends the stream: mark it done first, so a retry decision made in
    // the headers callback does not reset a finished stream (a peer counts those resets and
    // closes the connection after too many).
    if (endStream) this.#done = true;
    this.#sink.onResponseHeaders(status, responseHeaders(headers), endStream);
    if (endStream) this.#sink.onResponseEnd(null);
  }

  onData(s: H2Stream, chunk: Buffer): void {
    if (!this.#done && !this.#sink.onResponseData(chunk)) s.pause();
  }

  onTrailers(_s: H2Stream, trailers: string[]): void {
    this.#trailers = trailers;
  }

  onEnd(): void {
    if (this.#done) return;
    this.#done = true;
    this.#sink.onResponseEnd(this.#trailers);
  }

  onClose(_s: H2Stream, code: number | null, how: H2CloseHow | null): void {
    if (this.#session) {
      this.#pool.streamDone(this.#session);
      this.#session = null;
    }
    const body = this.#body;
    if (body && !body.readableEnded) body.destroy();
    if (this.#done) return;
    // The stream closed without a complete response.
    this.#done = true;
    let reason: UpstreamResetError;
    if (how === 'refused' || code === ErrorCode.REFUSED_STREAM) reason = new UpstreamResetError('remote refused stream reset');
    else if (how === 'protocol') reason = new UpstreamResetError('protocol error');
    else if (how === 'remote' && code !== ErrorCode.NO_ERROR) reason = new UpstreamResetError('remote reset', `RST_STREAM code ${code}`);
    else reason = new UpstreamResetError('connection termination');
    this.#sink.onReset(reason);
  }

  fail(err: UpstreamResetError): void {
    if (this.#done) return;
    this.#done = true;
    this.#sink.onReset(err);
  }

  cancel(): void {
    if (this.#done) return;
    this.#done = true;
    // RST_STREAM(CANCEL) alone: a request body still streaming is cut, never ended.
    if (this.#stream) this.#stream.reset(ErrorCode.CANCEL);
    else this.#pool.forget(this);
  }

  resume(): void {
    this.#stream?.resume();
  }
}

/** Response headers without pseudo or hop-by-hop headers, as the sink takes them. */
function responseHeaders(h: string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < h.length; i += 2) {
    const k = h[i]!;
    if (k.charCodeAt(0) === 58 /* : */ || RESPONSE_HOP_BY_HOP.has(k)) continue;
    out.push(k, h[i + 1]!);
  }
  return out;
}
