import http from 'node:http';
import http2 from 'node:http2';
import type net from 'node:net';
import type { Readable } from 'node:stream';

const { NGHTTP2_INTERNAL_ERROR, NGHTTP2_FLAG_END_STREAM } = http2.constants;

/**
 * One downstream request/response exchange, the same for HTTP/1.1 and HTTP/2. The request path
 * talks only to this interface. Response headers are a flat [name, value, ...] list with
 * lower-case names.
 */
export interface Downstream {
  readonly protocol: 'http1' | 'http2';
  readonly method: string;
  /** Request target: path and query. */
  readonly path: string;
  readonly authority: string;
  readonly scheme: 'http' | 'https';
  /** Lower-case names; HTTP/2 exchanges include the pseudo-headers (`:authority`...). */
  readonly headers: Record<string, string | string[] | undefined>;
  readonly remoteAddress: string;
  /** The listener port the request arrived on (route `port` matches). */
  readonly port: number;
  /** TLS: the server name (SNI) the client asked for, when it sent one. */
  readonly sni: string | undefined;
  /** null when the request has no body. */
  readonly body: Readable | null;
  /** Every byte of the request has arrived (read or not). */
  readonly requestComplete: boolean;
  /** Wall-clock ms when the request arrived (access log). */
  readonly startWall: number;
  /** Monotonic ms (performance.now) when the request arrived (downstream_rq_time). */
  readonly startMono: number;
  readonly responseStarted: boolean;
  /** The response status sent, 0 before `respond`. */
  readonly status: number;
  /** The proxy reset the exchange (downstream_rq_tx_reset), rather than the client. */
  readonly resetByProxy: boolean;
  readonly bytesSent: number;
  respond(status: number, headers: string[], endStream: boolean): void;
  /** false = the client is slow; `onDrain` fires when it can take more. */
  write(chunk: Buffer): boolean;
  end(trailers: string[] | null): void;
  /** Abort the response (HTTP/2 RST_STREAM, HTTP/1.1 connection close). */
  reset(): void;
  /** Registers the handler called when a write that returned false can continue. */
  onDrain(fn: () => void): void;
  /**
   * Registers the handler called once when the exchange is over: `aborted` is true when the
   * client went away (or the stream was reset) before the response completed.
   */
  onDone(fn: (aborted: boolean) => void): void;
}

/** Called by the listener's downstreams when an exchange is over (its stats). */
export type DownstreamDoneHook = (ds: Downstream, aborted: boolean) => void;

/** One close listener per exchange: the request path's handler (if any), then the listener's hook. */
function chainDone(prev: ((aborted: boolean) => void) | null, fn: (aborted: boolean) => void): (aborted: boolean) => void {
  return prev
    ? (aborted) => {
        prev(aborted);
        fn(aborted);
      }
    : fn;
}

export class H1Downstream implements Downstream {
  readonly protocol = 'http1' as const;
  readonly method: string;
  readonly path: string;
  readonly authority: string;
  readonly scheme: 'http' | 'https';
  readonly headers: Record<string, string | string[] | undefined>;
  readonly remoteAddress: string;
  readonly port: number;
  readonly sni: string | undefined;
  readonly body: Readable | null;
  readonly startWall = Date.now();
  readonly startMono = performance.now();
  responseStarted = false;
  status = 0;
  resetByProxy = false;
  readonly #res: http.ServerResponse;
  /** The connection (the listener closes it once idle while draining). */
  readonly socket: net.Socket;
  bytesSent = 0;
  #done: ((aborted: boolean) => void) | null = null;
  #drain: (() => void) | null = null;
  #drainArmed = false;

  constructor(
    req: http.IncomingMessage,
    res: http.ServerResponse,
    scheme: 'http' | 'https',
    hook?: DownstreamDoneHook,
    declaredPort?: number,
  ) {
    this.#res = res;
    this.socket = req.socket;
    res.once('close', () => {
      const aborted = !res.writableFinished;
      this.#done?.(aborted);
      hook?.(this, aborted);
    });
    this.method = req.method ?? 'GET';
    this.path = req.url ?? '/';
    this.headers = req.headers;
    this.authority = req.headers.host ?? '';
    this.scheme = scheme;
    const sock = req.socket;
    this.remoteAddress = sock.remoteAddress ?? '';
    this.port = declaredPort ?? sock.localPort ?? 0;
    this.sni = sniOf(sock);
    const cl = req.headers['content-length'];
    this.body = req.headers['transfer-encoding'] !== undefined || (cl !== undefined && cl !== '0') ? req : null;
  }

  get requestComplete(): boolean {
    const b = this.body as http.IncomingMessage | null;
    return b === null || b.complete;
  }

  respond(status: number, headers: string[], endStream: boolean): void {
    this.responseStarted = true;
    this.status = status;
    const res = this.#res;
    res.writeHead(status, headers as unknown as http.OutgoingHttpHeaders);
    if (endStream) res.end();
  }

  write(chunk: Buffer): boolean {
    this.bytesSent += chunk.length;
    const ok = this.#res.write(chunk);
    // The drain listener is added only when a write is refused (most responses never are).
    if (!ok && this.#drain !== null && !this.#drainArmed) {
      this.#drainArmed = true;
      this.#res.once('drain', () => {
        this.#drainArmed = false;
        this.#drain?.();
      });
    }
    return ok;
  }

  end(trailers: string[] | null): void {
    const res = this.#res;
    if (trailers && trailers.length > 0) {
      const t: [string, string][] = [];
      for (let i = 0; i < trailers.length; i += 2) t.push([trailers[i]!, trailers[i + 1]!]);
      res.addTrailers(t);
    }
    res.end();
  }

  reset(): void {
    // HTTP/1.1 has no stream reset: closing the connection tells the client the response is cut.
    this.resetByProxy = true;
    this.#res.destroy();
  }

  onDrain(fn: () => void): void {
    this.#drain = fn;
  }

  onDone(fn: (aborted: boolean) => void): void {
    this.#done = chainDone(this.#done, fn);
  }
}

export class H2Downstream implements Downstream {
  readonly protocol = 'http2' as const;
  readonly method: string;
  readonly path: string;
  readonly authority: string;
  readonly scheme: 'http' | 'https';
  readonly headers: http2.IncomingHttpHeaders;
  readonly remoteAddress: string;
  readonly port: number;
  readonly sni: string | undefined;
  readonly body: Readable | null;
  readonly startWall = Date.now();
  readonly startMono = performance.now();
  responseStarted = false;
  status = 0;
  resetByProxy = false;
  bytesSent = 0;
  readonly #stream: http2.ServerHttp2Stream;
  #trailers: string[] | null = null;
  #wantTrailers = false;
  #done: ((aborted: boolean) => void) | null = null;

  constructor(
    stream: http2.ServerHttp2Stream,
    headers: http2.IncomingHttpHeaders,
    flags: number,
    scheme: 'http' | 'https',
    hook?: DownstreamDoneHook,
    declaredPort?: number,
  ) {
    this.#stream = stream;
    // Read once per session: session.socket is a Proxy, costly to touch on every stream.
    const info = sessionInfo(stream.session);
    info.active++;
    stream.once('close', () => {
      info.active--;
      const aborted = !stream.writableFinished || (stream.rstCode !== undefined && stream.rstCode !== 0);
      this.#done?.(aborted);
      hook?.(this, aborted);
    });
    this.headers = headers;
    this.method = (headers[':method'] as string | undefined) ?? 'GET';
    this.path = (headers[':path'] as string | undefined) ?? '/';
    this.authority = (headers[':authority'] as string | undefined) ?? headers.host ?? '';
    this.scheme = scheme;
    this.remoteAddress = info.remoteAddress;
    this.port = declaredPort ?? info.port;
    this.sni = info.sni;
    this.body = (flags & NGHTTP2_FLAG_END_STREAM) !== 0 ? null : stream;
  }

  get requestComplete(): boolean {
    return this.body === null || this.#stream.readableEnded || this.#stream.endAfterHeaders;
  }

  respond(status: number, headers: string[], endStream: boolean): void {
    this.responseStarted = true;
    this.status = status;
    const out: http2.OutgoingHttpHeaders = { ':status': status };
    for (let i = 0; i < headers.length; i += 2) {
      const k = headers[i]!;
      const prev = out[k];
      if (prev === undefined) out[k] = headers[i + 1]!;
      else if (Array.isArray(prev)) prev.push(headers[i + 1]!);
      else out[k] = [prev as string, headers[i + 1]!];
    }
    const stream = this.#stream;
    if (stream.destroyed || stream.closed) return;
    // Trailers can only be sent when asked for at respond time: do it when the client can take them.
    const te = this.headers.te;
    const ct = this.headers['content-type'];
    this.#wantTrailers = !endStream && (te === 'trailers' || (typeof ct === 'string' && ct.startsWith('application/grpc')));
    try {
      stream.respond(out, { endStream, waitForTrailers: this.#wantTrailers });
    } catch {
      stream.close(NGHTTP2_INTERNAL_ERROR);
      return;
    }
    if (this.#wantTrailers) {
      stream.once('wantTrailers', () => {
        const t: http2.OutgoingHttpHeaders = {};
        const tr = this.#trailers;
        if (tr) for (let i = 0; i < tr.length; i += 2) t[tr[i]!] = tr[i + 1]!;
        try {
          stream.sendTrailers(t);
        } catch {
          stream.close();
        }
      });
    }
  }

  write(chunk: Buffer): boolean {
    this.bytesSent += chunk.length;
    const s = this.#stream;
    if (s.destroyed) return true;
    return s.write(chunk);
  }

  end(trailers: string[] | null): void {
    this.#trailers = trailers;
    const s = this.#stream;
    if (!s.destroyed) s.end();
  }

  reset(): void {
    const s = this.#stream;
    // Not close(code): with the response still open it ends the writable side first, and that
    // END_STREAM reaches the client before the RST_STREAM, so a truncated response looks complete.
    // destroy(err) sends RST_STREAM(INTERNAL_ERROR) alone.
    if (!s.destroyed) {
      this.resetByProxy = true;
      s.destroy(new Error('response reset'));
    }
  }

  onDrain(fn: () => void): void {
    this.#stream.on('drain', fn);
  }

  onDone(fn: (aborted: boolean) => void): void {
    this.#done = chainDone(this.#done, fn);
  }
}

type SessionInfo = { remoteAddress: string; port: number; active: number; sni: string | undefined };
const SESSION_INFO = new WeakMap<object, SessionInfo>();

/** Streams of a downstream HTTP/2 session not yet closed. */
export function activeStreams(session: http2.Http2Session): number {
  return SESSION_INFO.get(session)?.active ?? 0;
}

/** The SNI of a TLS socket (`servername` is false or absent without one). */
function sniOf(sock: net.Socket | undefined): string | undefined {
  const name = (sock as { servername?: string | false } | undefined)?.servername;
  return typeof name === 'string' && name !== '' ? name : undefined;
}

function sessionInfo(session: http2.Http2Session | undefined): SessionInfo {
  if (!session) return { remoteAddress: '', port: 0, active: 0, sni: undefined };
  let info = SESSION_INFO.get(session);
  if (!info) {
    const sock = session.socket;
    info = { remoteAddress: sock?.remoteAddress ?? '', port: sock?.localPort ?? 0, active: 0, sni: sniOf(sock) };
    SESSION_INFO.set(session, info);
  }
  return info;
}
