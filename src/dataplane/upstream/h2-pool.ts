import http2 from 'node:http2';
import type net from 'node:net';
import { RESPONSE_HOP_BY_HOP } from '../http/headers.js';
import { connect, type CxHistograms } from './connect.js';
import { UpstreamResetError } from './reset-reason.js';
import type { AttemptHandle, AttemptSink, UpstreamRequest } from './attempt-sink.js';
import type { ClusterResources, PoolStats } from './resource-manager.js';

const { HTTP2_HEADER_STATUS, NGHTTP2_REFUSED_STREAM, NGHTTP2_NO_ERROR } = http2.constants;

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
  session: http2.ClientHttp2Session;
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
    const remote = s.session.remoteSettings?.maxConcurrentStreams ?? 0xffffffff;
    return Math.min(this.#opts.maxConcurrentStreams, remote);
  }

  #pick(): Session | undefined {
    for (const s of this.#sessions) {
      if (s.ready && !s.draining && !s.session.destroyed && s.active < this.#capacity(s)) return s;
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
    const authority = `${o.tls ? 'https' : 'http'}://${o.host.includes(':') ? `[${o.host}]` : o.host}:${o.port}`;
    const session = http2.connect(authority, {
      createConnection: () => socket,
      settings: { enablePush: false, initialWindowSize: 1 << 20 },
      maxSessionMemory: 64,
    });
    const s: Session = { session, ready: false, active: 0, total: 0, draining: false };
    this.#sessions.push(s);
    session.on('error', () => {});
    session.on('goaway', () => {
      s.draining = true;
    });
    session.on('close', () => {
      const i = this.#sessions.indexOf(s);
      if (i >= 0) {
        this.#sessions.splice(i, 1);
        o.resources.connections.dec();
        o.stats.upstream_cx_active--;
      }
      if (this.#waiting.length > 0 && !this.#closed && this.#pendingSessions() === 0) this.#connect();
    });
    const maxAge = o.maxConnectionDurationMs ?? 0;
    if (maxAge > 0) {
      // Envoy's max_connection_duration: no new streams, close when the last one ends.
      const t = setTimeout(() => {
        o.stats.upstream_cx_max_duration_reached++;
        s.draining = true;
        if (s.active === 0) session.close();
      }, maxAge);
      t.unref();
      session.once('close', () => clearTimeout(t));
    }
    if (o.idleTimeoutMs > 0) {
      session.setTimeout(o.idleTimeoutMs, () => {
        if (s.active === 0) session.close();
      });
    }
    // Until the peer's SETTINGS arrive its stream limit reads as unlimited, and a burst of waiters
    // would overshoot it (the peer refuses the excess). Start streams once SETTINGS are in, or
    // after the connect timeout for a peer that never sends them.
    s.ready = false;
    const ready = () => {
      if (s.ready) return;
      s.ready = true;
      clearTimeout(timer);
      this.#drainWaiting();
    };
    const timer = setTimeout(ready, o.connectTimeoutMs);
    timer.unref();
    session.once('remoteSettings', ready);
    session.once('close', () => clearTimeout(timer));
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
    if (s.draining && s.active === 0) s.session.close();
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
    await Promise.all(all.map((s) => new Promise<void>((resolve) => (s.session.destroyed ? resolve() : s.session.close(() => resolve())))));
  }

  destroy(): void {
    this.#closed = true;
    for (const s of this.#sessions.splice(0)) s.session.destroy();
  }
}

class H2Exchange implements AttemptHandle {
  readonly #pool: H2Pool;
  readonly #sink: AttemptSink;
  #stream: http2.ClientHttp2Stream | null = null;
  #session: Session | null = null;
  #gotHeaders = false;
  #trailers: string[] | null = null;
  #done = false;

  constructor(pool: H2Pool, sink: AttemptSink) {
    this.#pool = pool;
    this.#sink = sink;
  }

  start(s: Session, req: UpstreamRequest): void {
    if (this.#done) return;
    const headers: http2.OutgoingHttpHeaders = {
      ':method': req.method,
      ':path': req.path,
      ':authority': req.authority,
      ':scheme': req.scheme,
    };
    const h = req.headers;
    for (const k in h) headers[k] = h[k];
    let stream: http2.ClientHttp2Stream;
    try {
      stream = s.session.request(headers, { endStream: req.body === null });
    } catch (e) {
      this.fail(new UpstreamResetError('local reset', (e as Error).message));
      return;
    }
    this.#stream = stream;
    this.#session = s;
    this.#pool.noteStreamStarted(s);
    stream.on('response', (hdrs, flags) => this.#onResponse(hdrs, flags));
    stream.on('data', (chunk: Buffer) => {
      if (!this.#done && !this.#sink.onResponseData(chunk)) stream.pause();
    });
    stream.on('trailers', (t) => {
      this.#trailers = flatten(t);
    });
    stream.on('end', () => this.#onEnd());
    stream.on('error', () => {});
    stream.on('close', () => this.#onClose(stream));
    this.#sink.onPoolReady();
    if (req.body) {
      const body = req.body;
      body.pipe(stream);
      body.on('error', () => this.cancel());
    }
  }

  #onResponse(hdrs: http2.IncomingHttpHeaders & http2.IncomingHttpStatusHeader, flags: number): void {
    const status = Number(hdrs[HTTP2_HEADER_STATUS]);
    if (this.#done || status < 200) return;
    this.#gotHeaders = true;
    const endStream = (flags & http2.constants.NGHTTP2_FLAG_END_STREAM) !== 0;
    // A trailers-only response ends the stream: mark it done first, so a retry decision made in
    // the headers callback does not reset a finished stream (a peer counts those resets and
    // closes the connection after too many).
    if (endStream) this.#done = true;
    this.#sink.onResponseHeaders(status, flatten(hdrs), endStream);
    if (endStream) this.#sink.onResponseEnd(null);
  }

  #onEnd(): void {
    if (this.#done) return;
    this.#done = true;
    this.#sink.onResponseEnd(this.#trailers);
  }

  #onClose(stream: http2.ClientHttp2Stream): void {
    if (this.#session) {
      this.#pool.streamDone(this.#session);
      this.#session = null;
    }
    if (this.#done) return;
    // The stream closed without a complete response.
    this.#done = true;
    const code = stream.rstCode;
    let reason: UpstreamResetError;
    if (code === NGHTTP2_REFUSED_STREAM) reason = new UpstreamResetError('remote refused stream reset');
    else if (code !== undefined && code !== NGHTTP2_NO_ERROR && !stream.session?.destroyed)
      reason = new UpstreamResetError('remote reset', `RST_STREAM code ${code}`);
    else reason = new UpstreamResetError('connection termination');
    void this.#gotHeaders;
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
    // destroy() sends RST_STREAM(CANCEL) alone; close() would first end a request body that is
    // still streaming, and the upstream would see a cut request as complete.
    if (this.#stream) this.#stream.destroy();
    else this.#pool.forget(this);
  }

  resume(): void {
    this.#stream?.resume();
  }
}

/** http2 header object -> flat [name, value, ...] list without pseudo or hop-by-hop headers. */
function flatten(h: http2.IncomingHttpHeaders): string[] {
  const out: string[] = [];
  for (const k in h) {
    if (k.charCodeAt(0) === 58 /* : */ || RESPONSE_HOP_BY_HOP.has(k)) continue;
    const v = h[k];
    if (v === undefined) continue;
    if (Array.isArray(v)) for (const x of v) out.push(k, x);
    else out.push(k, v);
  }
  return out;
}
