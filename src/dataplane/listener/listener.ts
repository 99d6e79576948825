import http from 'node:http';
import net from 'node:net';
import tls from 'node:tls';
import { HttpStats, type ListenerStats } from '../stats/scopes.js';
import { Histogram } from '../stats/histogram.js';
import { H1Downstream, H2Downstream, sniOf, type Downstream } from './downstream.js';
import { H2Connection, type H2Options } from '../h2/connection.js';
import { isWebSocketUpgrade, type UpgradeRequest } from '../request/upgrade.js';

export type ListenerOptions = {
  name: string;
  address: string;
  port: number;
  /** The port requests are told they arrived on (redirects, route port matches); default: the bound one. */
  declaredPort?: number | undefined;
  tls?:
    | {
        cert: string | Buffer;
        key: string | Buffer;
        minVersion?: tls.SecureVersion | undefined;
        maxVersion?: tls.SecureVersion | undefined;
        ciphers?: string | undefined;
        alpnProtocols?: string[] | undefined;
      }
    | undefined;
  maxRequestHeadersKb: number;
  maxHeadersCount: number;
  maxConcurrentStreams: number;
  /** Connection idle timeout; 0 = never. */
  idleTimeoutMs: number;
  /** HTTP/1.1 request headers timeout; 0 = none. */
  requestHeadersTimeoutMs?: number;
  /** 0 = no limit. */
  maxConnections?: number;
  h2InitialStreamWindowSize?: number;
  h2InitialConnectionWindowSize?: number;
  tcpKeepaliveIdleMs?: number | undefined;
  /** HTTP/2 PING keepalive: interval, ack timeout, jitter (% of the interval). */
  h2Keepalive?: { intervalMs: number; timeoutMs: number; jitterPercent: number } | undefined;
  /**
   * Another process owns the socket and hands accepted connections over (`accept`): `listen`
   * binds nothing and reports this port.
   */
  acceptOnly?: { port: number } | undefined;
  /**
   * Offered every accepted connection before it is read; returns true when it took the socket
   * (handed to another worker). Only set with workers: the socket is then accepted paused.
   */
  distribute?: ((socket: net.Socket) => boolean) | undefined;
  /** The HTTP stats scope to count in (kept by the proxy across reloads); a fresh one if absent. */
  stats?: HttpStats | undefined;
};

/** Serves each request; `upgrade` takes websocket handshakes (HTTP/1.1 only), when it exists. */
export type RequestHandler = ((ds: Downstream) => void) & { upgrade?: (u: UpgradeRequest) => void };

const PREFACE = Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n');

/**
 * One port serving HTTP/1.1 and HTTP/2: cleartext connections are sniffed for the HTTP/2
 * preface (prior knowledge), TLS connections choose by ALPN. Both protocols feed the same
 * handler through the Downstream interface. The handler can be swapped (config reload) without
 * touching open connections.
 */
export class Listener {
  readonly name: string;
  readonly stats: ListenerStats;
  /** The HTTP stats scope: counters (`stats`) and the downstream histograms. */
  readonly http: HttpStats;
  /** `listener.<address>.downstream_cx_length_ms` (this socket's own; the HTTP scope has its own). */
  readonly cxLength = new Histogram();
  #handler: RequestHandler;
  readonly #opts: ListenerOptions;
  /** Accepts connections; TLS ones go on to #tls. */
  readonly #server: net.Server;
  readonly #tls: tls.Server | null = null;
  readonly #h1: http.Server;
  readonly #h2Options: H2Options;
  readonly #sockets = new Set<net.Socket>();
  /**
   * HTTP/1.1 connections and their requests in flight. http.Server's closeIdleConnections only
   * knows sockets it accepted itself, so idle keep-alive connections are found here when closing.
   */
  readonly #h1Conns = new Map<net.Socket, { inflight: number }>();
  readonly #sessions = new Set<H2Connection>();
  #closing = false;
  #closed: Promise<number> | undefined;
  #deadline = Infinity;
  /** The bound address, kept once the socket is closed (drained listeners still report it). */
  #bound: { address: string; port: number } | null = null;

  constructor(opts: ListenerOptions, handler: RequestHandler) {
    this.name = opts.name;
    this.#opts = opts;
    this.#handler = handler;
    this.http = opts.stats ?? new HttpStats();
    this.stats = this.http.counters;
    const onDone = this.#onRequestDone;
    const scheme = opts.tls ? 'https' : 'http';
    const maxHeaderSize = opts.maxRequestHeadersKb * 1024;

    const headersTimeout = opts.requestHeadersTimeoutMs ?? 0;
    this.#h1 = http.createServer({
      maxHeaderSize,
      requireHostHeader: false,
      // The request timeout is the request path's (Envoy's semantics: disarmed once the response starts).
      requestTimeout: 0,
      headersTimeout,
      // Node checks its header timers on this period (30 s by default): too coarse for short timeouts.
      ...(headersTimeout > 0 ? { connectionsCheckingInterval: Math.max(50, Math.min(30_000, Math.floor(headersTimeout / 4))) } : {}),
      // 0 turns Node's keep-alive timer off: the connection stays until the client closes it.
      keepAliveTimeout: opts.idleTimeoutMs,
      noDelay: true,
    });
    // Node starts its header-timeout checks when the server listens; this one never does (the
    // listener hands it connections), so start them as listening would.
    if (headersTimeout > 0) this.#h1.emit('listening');
    // Node closes an idle keep-alive connection on its own timer; count it as Envoy's idle timeout.
    this.#h1.on('timeout', (socket: net.Socket) => {
      this.stats.downstream_cx_idle_timeout++;
      socket.destroy();
    });
    // One more than the limit so that an over-limit request is seen and rejected, not truncated.
    this.#h1.maxHeadersCount = opts.maxHeadersCount + 1;
    const onRequest = (req: http.IncomingMessage, res: http.ServerResponse) => {
      const st = this.stats;
      st.downstream_rq_total++;
      st.downstream_rq_http1_total++;
      if (req.rawHeaders.length / 2 > opts.maxHeadersCount) {
        st.downstream_rq_4xx++;
        st.downstream_rq_completed++;
        res.writeHead(431, { 'content-type': 'text/plain', connection: 'close' });
        res.end(`request has more than ${opts.maxHeadersCount} headers`);
        return;
      }
      // Draining: answer what is in flight, then close the connection (Envoy's drain close).
      if (this.#closing) res.shouldKeepAlive = false;
      const conn = this.#h1Conns.get(req.socket);
      if (conn) conn.inflight++;
      st.downstream_rq_active++;
      this.#handler(new H1Downstream(req, res, scheme, onDone, opts.declaredPort));
    };
    this.#h1.on('request', onRequest);
    // Node hands every Upgrade request here once anyone listens: websockets go to the route's
    // upstream; other upgrades (curl's h2c) are served as plain HTTP/1.1, as before.
    this.#h1.on('upgrade', (req: http.IncomingMessage, socket: net.Socket, head: Buffer) => {
      const upgrade = this.#handler.upgrade;
      if (upgrade && isWebSocketUpgrade(req)) {
        const st = this.stats;
        st.downstream_rq_total++;
        st.downstream_rq_http1_total++;
        upgrade({ req, socket, head, scheme, port: opts.declaredPort ?? socket.localPort ?? 0 });
        return;
      }
      if (head.length > 0) socket.unshift(head);
      const res = new http.ServerResponse(req);
      res.shouldKeepAlive = false;
      res.assignSocket(socket);
      res.once('finish', () => socket.end());
      onRequest(req, res);
    });
    this.#h1.on('clientError', (err: NodeJS.ErrnoException, socket: net.Socket) => {
      if (!socket.writable) return socket.destroy();
      const status = err.code === 'HPE_HEADER_OVERFLOW' ? 431 : err.code === 'ERR_HTTP_REQUEST_TIMEOUT' ? 408 : 400;
      const body = status === 431 ? 'request headers too large' : status === 408 ? 'request timeout' : 'bad request';
      socket.end(
        `HTTP/1.1 ${status} ${http.STATUS_CODES[status]}\r\ncontent-type: text/plain\r\ncontent-length: ${body.length}\r\nconnection: close\r\n\r\n${body}`,
      );
    });

    this.#h2Options = {
      role: 'server',
      maxConcurrentStreams: opts.maxConcurrentStreams,
      maxHeaderListSize: maxHeaderSize,
      // Pseudo-headers count too (as node:http2's maxHeaderListPairs did).
      maxHeaderCount: opts.maxHeadersCount + 8,
      initialWindowSize: opts.h2InitialStreamWindowSize ?? 1 << 20,
      connectionWindowSize: opts.h2InitialConnectionWindowSize ?? 1 << 20,
      idleTimeoutMs: opts.idleTimeoutMs,
    };

    if (opts.tls) {
      const t = opts.tls;
      const options: tls.TlsOptions = { key: t.key, cert: t.cert, ALPNProtocols: t.alpnProtocols ?? ['h2', 'http/1.1'] };
      if (t.minVersion) options.minVersion = t.minVersion;
      if (t.maxVersion) options.maxVersion = t.maxVersion;
      if (t.ciphers) options.ciphers = t.ciphers;
      this.#tls = tls.createServer(options, (socket) => {
        this.stats.downstream_cx_ssl_total++;
        this.#track(socket);
        this.#dispatch(socket, socket.alpnProtocol === 'h2');
      });
      this.#tls.on('tlsClientError', () => {});
    }
    const distribute = opts.distribute;
    // Paused only when the socket may move to another process, which must read it first.
    this.#server = net.createServer({ noDelay: true, pauseOnConnect: distribute !== undefined }, (socket) => {
      if (distribute?.(socket)) return;
      if (distribute) socket.resume();
      this.accept(socket);
    });
    if (opts.maxConnections) {
      this.#server.maxConnections = opts.maxConnections;
      this.#server.on('drop', () => this.stats.downstream_cx_overflow++);
    }
  }

  /**
   * Envoy's HTTP/2 connection_keepalive: a PING every interval (jittered up to jitterPercent), and
   * the connection closed when one is not answered within the timeout.
   */
  #keepalive(conn: H2Connection, ka: { intervalMs: number; timeoutMs: number; jitterPercent: number }): void {
    let timer: NodeJS.Timeout | undefined;
    const schedule = () => {
      const jitter = ka.intervalMs * (ka.jitterPercent / 100) * Math.random();
      timer = setTimeout(ping, ka.intervalMs + jitter);
      timer.unref();
    };
    const ping = () => {
      if (conn.destroyed) return;
      const deadline = setTimeout(() => {
        this.stats.downstream_http2_keepalive_timeout++;
        conn.destroy();
      }, ka.timeoutMs);
      deadline.unref();
      conn.ping(() => {
        clearTimeout(deadline);
        schedule();
      });
    };
    conn.socket.once('close', () => clearTimeout(timer));
    schedule();
  }

  /** An HTTP/2 connection on legate's codec: every stream goes to the handler as an H2Downstream. */
  #serveH2(socket: net.Socket): void {
    const opts = this.#opts;
    const scheme = opts.tls ? 'https' : 'http';
    const info = { remoteAddress: socket.remoteAddress ?? '', port: socket.localPort ?? 0, sni: sniOf(socket) };
    const conn = new H2Connection(socket, this.#h2Options);
    const onDone = this.#onRequestDone;
    conn.events = {
      onStream: (stream, headers, endStream) => {
        const st = this.stats;
        st.downstream_rq_total++;
        st.downstream_rq_http2_total++;
        st.downstream_rq_active++;
        this.#handler(new H2Downstream(stream, headers, endStream, scheme, info, onDone, opts.declaredPort));
      },
      onCount: (what) => {
        const st = this.stats;
        switch (what) {
          case 'idle_timeout':
            st.downstream_cx_idle_timeout++;
            break;
          case 'rx_reset':
            st.downstream_http2_rx_reset++;
            break;
          case 'tx_reset':
            st.downstream_http2_tx_reset++;
            break;
          case 'header_overflow':
            st.downstream_http2_header_overflow++;
            break;
          case 'messaging_error':
            st.downstream_http2_rx_messaging_error++;
            break;
          case 'protocol_error':
            st.downstream_cx_protocol_error++;
            break;
          case 'control_flood':
            st.downstream_http2_outbound_control_flood++;
            break;
          default:
            break; // refused streams are counted as tx resets
        }
      },
      onClose: () => this.#sessions.delete(conn),
    };
    this.#sessions.add(conn);
    if (opts.h2Keepalive) this.#keepalive(conn, opts.h2Keepalive);
    if (this.#closing) conn.close();
    socket.resume();
  }

  /** Serves a connection accepted here or handed over by the process that owns the socket. */
  accept(socket: net.Socket): void {
    if (this.#closing) {
      socket.destroy();
      return;
    }
    // A handed-over connection bypasses the socket's own maxConnections: count it here.
    const max = this.#opts.maxConnections;
    if (max && this.#opts.acceptOnly && this.stats.downstream_cx_active >= max) {
      this.stats.downstream_cx_overflow++;
      socket.destroy();
      return;
    }
    if (this.#tls) {
      this.#tls.emit('connection', socket);
      return;
    }
    socket.setNoDelay(true);
    this.#track(socket);
    this.#sniff(socket);
  }

  setHandler(handler: RequestHandler): void {
    this.#handler = handler;
  }

  /** Per-exchange accounting, once the response is over: codes, resets, request time. */
  readonly #onRequestDone = (ds: Downstream, aborted: boolean): void => {
    const st = this.stats;
    st.downstream_rq_active--;
    if (ds instanceof H1Downstream) {
      const conn = this.#h1Conns.get(ds.socket);
      // A keep-alive connection that has gone idle while closing is closed now.
      if (conn && --conn.inflight === 0 && this.#closing) ds.socket.end();
    }
    const status = ds.status;
    if (status > 0) {
      st.downstream_rq_completed++;
      if (status >= 500) st.downstream_rq_5xx++;
      else if (status >= 400) st.downstream_rq_4xx++;
      else if (status >= 300) st.downstream_rq_3xx++;
      else if (status >= 200) st.downstream_rq_2xx++;
      else st.downstream_rq_1xx++;
    }
    if (aborted) {
      if (ds.resetByProxy) st.downstream_rq_tx_reset++;
      else st.downstream_rq_rx_reset++;
    }
    this.http.downstreamRqTime.record(performance.now() - ds.startMono);
  };

  #track(socket: net.Socket): void {
    const st = this.stats;
    const ka = this.#opts.tcpKeepaliveIdleMs;
    if (ka !== undefined) socket.setKeepAlive(true, ka);
    st.downstream_cx_total++;
    st.downstream_cx_active++;
    this.#sockets.add(socket);
    const opened = performance.now();
    socket.on('close', () => {
      st.downstream_cx_active--;
      st.downstream_cx_destroy++;
      const ms = performance.now() - opened;
      this.cxLength.record(ms);
      this.http.downstreamCxLength.record(ms);
      this.#sockets.delete(socket);
    });
    socket.on('error', () => {});
  }

  /** Reads until the first bytes tell HTTP/2 prior knowledge from HTTP/1.1. */
  #sniff(socket: net.Socket): void {
    let buf: Buffer | null = null;
    const onData = (chunk: Buffer) => {
      buf = buf ? Buffer.concat([buf, chunk]) : chunk;
      const n = Math.min(buf.length, PREFACE.length);
      const prefix = buf.subarray(0, n).equals(PREFACE.subarray(0, n));
      if (prefix && n < PREFACE.length) return; // could still be the preface: wait for more
      socket.removeListener('data', onData);
      socket.pause();
      socket.unshift(buf);
      this.#dispatch(socket, prefix);
    };
    socket.on('data', onData);
  }

  #dispatch(socket: net.Socket, h2: boolean): void {
    if (h2) {
      const st = this.stats;
      st.downstream_cx_http2_total++;
      st.downstream_cx_http2_active++;
      socket.once('close', () => st.downstream_cx_http2_active--);
      this.#serveH2(socket);
    } else {
      const st = this.stats;
      st.downstream_cx_http1_total++;
      st.downstream_cx_http1_active++;
      this.#h1Conns.set(socket, { inflight: 0 });
      socket.once('close', () => {
        st.downstream_cx_http1_active--;
        this.#h1Conns.delete(socket);
      });
      this.#h1.emit('connection', socket);
      socket.resume();
    }
  }

  /** Binds the port; resolves with the bound port (useful with port 0). */
  listen(): Promise<number> {
    const owner = this.#opts.acceptOnly;
    if (owner) {
      this.#bound = { address: this.#opts.address, port: owner.port };
      return Promise.resolve(owner.port);
    }
    return new Promise((resolve, reject) => {
      const onError = (e: Error) => reject(e);
      this.#server.once('error', onError);
      this.#server.listen({ host: this.#opts.address, port: this.#opts.port }, () => {
        this.#server.removeListener('error', onError);
        const a = this.#server.address();
        if (a && typeof a === 'object') this.#bound = { address: a.address, port: a.port };
        resolve(this.port);
      });
    });
  }

  get port(): number {
    return this.#bound?.port ?? 0;
  }

  get address(): string {
    return this.#bound?.address ?? this.#opts.address;
  }

  /** Stopped accepting (closed or draining). */
  get closing(): boolean {
    return this.#closing;
  }

  /**
   * Stops accepting, lets in-flight requests finish (HTTP/2 GOAWAY, HTTP/1.1 keep-alive closed
   * after the current response) and destroys what is left after `graceMs`. Calling it again
   * (a drain under way, then shutdown) can only shorten the grace period. Resolves with the
   * number of connections that had to be destroyed.
   */
  close(graceMs = 5000): Promise<number> {
    this.#deadline = Math.min(this.#deadline, Date.now() + graceMs);
    return (this.#closed ??= this.#close());
  }

  async #close(): Promise<number> {
    this.#closing = true;
    const closed = this.#server.listening ? new Promise<void>((resolve) => this.#server.close(() => resolve())) : Promise.resolve();
    // Stops the header-timeout checks (the server itself never listened).
    this.#h1.close();
    for (const s of this.#sessions) s.close();
    for (const [socket, c] of this.#h1Conns) if (c.inflight === 0) socket.end();
    while (this.#sockets.size > 0 && Date.now() < this.#deadline) {
      // A connection still being sniffed, or one that went idle without a request finishing.
      for (const [socket, c] of this.#h1Conns) if (c.inflight === 0) socket.end();
      await new Promise((r) => setTimeout(r, 20));
    }
    const forced = this.#sockets.size;
    for (const s of this.#sockets) s.destroy();
    // The socket stopped accepting at once; the callback also waits for connections handed to
    // worker processes (Node counts them until a worker reports them closed, which a killed
    // worker never does), so it is awaited only until the deadline.
    const left = this.#deadline - Date.now();
    if (left > 0) {
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([closed, new Promise<void>((r) => (timer = setTimeout(r, left)))]);
      clearTimeout(timer);
    }
    return forced;
  }
}
