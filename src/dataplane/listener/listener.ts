import http from 'node:http';
import http2 from 'node:http2';
import net from 'node:net';
import tls from 'node:tls';
import { defineStats, type StatsOf } from '../stats/define-stats.js';
import { LISTENER_STATS } from '../stats/catalog.js';
import { H1Downstream, H2Downstream, type Downstream } from './downstream.js';

export type ListenerOptions = {
  name: string;
  address: string;
  port: number;
  tls?: { cert: string | Buffer; key: string | Buffer } | undefined;
  maxRequestHeadersKb: number;
  maxHeadersCount: number;
  maxConcurrentStreams: number;
  idleTimeoutMs: number;
};

export type RequestHandler = (ds: Downstream) => void;

const PREFACE = Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n');

/**
 * One port serving HTTP/1.1 and HTTP/2: cleartext connections are sniffed for the HTTP/2
 * preface (prior knowledge), TLS connections choose by ALPN. Both protocols feed the same
 * handler through the Downstream interface. The handler can be swapped (config reload) without
 * touching open connections.
 */
export class Listener {
  readonly name: string;
  readonly stats: StatsOf<typeof LISTENER_STATS> = defineStats(LISTENER_STATS);
  #handler: RequestHandler;
  readonly #opts: ListenerOptions;
  readonly #server: net.Server;
  readonly #h1: http.Server;
  readonly #h2: http2.Http2Server;
  readonly #sockets = new Set<net.Socket>();
  readonly #sessions = new Set<http2.ServerHttp2Session>();
  #closing = false;
  #closed: Promise<void> | undefined;
  #deadline = Infinity;

  constructor(opts: ListenerOptions, handler: RequestHandler) {
    this.name = opts.name;
    this.#opts = opts;
    this.#handler = handler;
    const scheme = opts.tls ? 'https' : 'http';
    const maxHeaderSize = opts.maxRequestHeadersKb * 1024;

    this.#h1 = http.createServer({
      maxHeaderSize,
      requireHostHeader: false,
      // Envoy has no whole-request timeout by default; Node's 5-minute one would cut long uploads.
      requestTimeout: 0,
      keepAliveTimeout: opts.idleTimeoutMs > 0 ? opts.idleTimeoutMs : 60_000,
      noDelay: true,
    });
    // One more than the limit so that an over-limit request is seen and rejected, not truncated.
    this.#h1.maxHeadersCount = opts.maxHeadersCount + 1;
    this.#h1.on('request', (req, res) => {
      const st = this.stats;
      st.downstream_rq_total++;
      st.downstream_rq_http1_total++;
      if (req.rawHeaders.length / 2 > opts.maxHeadersCount) {
        res.writeHead(431, { 'content-type': 'text/plain', connection: 'close' });
        res.end(`request has more than ${opts.maxHeadersCount} headers`);
        return;
      }
      this.#handler(new H1Downstream(req, res, scheme));
    });
    this.#h1.on('clientError', (err: NodeJS.ErrnoException, socket: net.Socket) => {
      if (!socket.writable) return socket.destroy();
      const status = err.code === 'HPE_HEADER_OVERFLOW' ? 431 : err.code === 'ERR_HTTP_REQUEST_TIMEOUT' ? 408 : 400;
      const body = status === 431 ? 'request headers too large' : status === 408 ? 'request timeout' : 'bad request';
      socket.end(
        `HTTP/1.1 ${status} ${http.STATUS_CODES[status]}\r\ncontent-type: text/plain\r\ncontent-length: ${body.length}\r\nconnection: close\r\n\r\n${body}`,
      );
    });

    this.#h2 = http2.createServer({
      maxHeaderListPairs: opts.maxHeadersCount + 8,
      maxSessionMemory: 64,
      settings: {
        maxConcurrentStreams: opts.maxConcurrentStreams,
        maxHeaderListSize: maxHeaderSize,
        initialWindowSize: 1 << 20,
      },
    });
    this.#h2.on('session', (session) => {
      this.#sessions.add(session);
      session.on('close', () => this.#sessions.delete(session));
      session.on('error', () => {});
      if (this.#closing) session.close();
    });
    this.#h2.on('stream', (stream, headers, flags) => {
      const st = this.stats;
      st.downstream_rq_total++;
      st.downstream_rq_http2_total++;
      stream.on('error', () => {});
      this.#handler(new H2Downstream(stream, headers, flags, scheme));
    });

    if (opts.tls) {
      this.#server = tls.createServer({ key: opts.tls.key, cert: opts.tls.cert, ALPNProtocols: ['h2', 'http/1.1'] }, (socket) => {
        this.stats.downstream_cx_ssl_total++;
        this.#track(socket);
        this.#dispatch(socket, socket.alpnProtocol === 'h2');
      });
      this.#server.on('tlsClientError', () => {});
    } else {
      this.#server = net.createServer({ noDelay: true }, (socket) => {
        this.#track(socket);
        this.#sniff(socket);
      });
    }
  }

  setHandler(handler: RequestHandler): void {
    this.#handler = handler;
  }

  #track(socket: net.Socket): void {
    const st = this.stats;
    st.downstream_cx_total++;
    st.downstream_cx_active++;
    this.#sockets.add(socket);
    socket.on('close', () => {
      st.downstream_cx_active--;
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
      // The session consumes the native handle itself and takes the bytes already read from
      // the socket's buffer; resuming the JS stream here would compete with it for data.
      this.stats.downstream_cx_http2_total++;
      this.#h2.emit('connection', socket);
    } else {
      this.stats.downstream_cx_http1_total++;
      this.#h1.emit('connection', socket);
      socket.resume();
    }
  }

  /** Binds the port; resolves with the bound port (useful with port 0). */
  listen(): Promise<number> {
    return new Promise((resolve, reject) => {
      const onError = (e: Error) => reject(e);
      this.#server.once('error', onError);
      this.#server.listen({ host: this.#opts.address, port: this.#opts.port }, () => {
        this.#server.removeListener('error', onError);
        resolve(this.port);
      });
    });
  }

  get port(): number {
    const a = this.#server.address();
    return a && typeof a === 'object' ? a.port : 0;
  }

  get address(): string {
    const a = this.#server.address();
    return a && typeof a === 'object' ? a.address : this.#opts.address;
  }

  /**
   * Stops accepting, lets in-flight requests finish (HTTP/2 GOAWAY, HTTP/1.1 keep-alive closed
   * after the current response) and destroys what is left after `graceMs`. Calling it again
   * (a drain under way, then shutdown) can only shorten the grace period.
   */
  close(graceMs = 5000): Promise<void> {
    this.#deadline = Math.min(this.#deadline, Date.now() + graceMs);
    return (this.#closed ??= this.#close());
  }

  async #close(): Promise<void> {
    this.#closing = true;
    const closed = new Promise<void>((resolve) => this.#server.close(() => resolve()));
    for (const s of this.#sessions) s.close();
    this.#h1.closeIdleConnections();
    while (this.#sockets.size > 0 && Date.now() < this.#deadline) {
      this.#h1.closeIdleConnections();
      await new Promise((r) => setTimeout(r, 20));
    }
    for (const s of this.#sockets) s.destroy();
    await closed;
  }
}
