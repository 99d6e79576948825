import http from 'node:http';
import type net from 'node:net';
import { Readable } from 'node:stream';
import { CONNECTION_SPECIFIC, ErrorCode } from '../h2/frame.js';
import type { H2Stream, H2StreamHandler } from '../h2/connection.js';

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

/** Per connection facts every stream of it shares (read once). */
export type H2ConnInfo = { remoteAddress: string; port: number; sni: string | undefined };

/** Node's `date` header value, refreshed at most once a second. */
let dateValue = '';
let dateAt = 0;
function httpDate(): string {
  const now = Date.now();
  if (now - dateAt >= 1000) {
    dateAt = now - (now % 1000);
    dateValue = new Date(now).toUTCString();
  }
  return dateValue;
}

/**
 * An HTTP/2 exchange on legate's own codec (src/dataplane/h2). It is the stream's handler: data,
 * end, reset and drain come straight here, and the request body is a Readable only when the
 * request has one.
 */
export class H2Downstream implements Downstream, H2StreamHandler {
  readonly protocol = 'http2' as const;
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
  bytesSent = 0;
  readonly #stream: H2Stream;
  readonly #hook: DownstreamDoneHook | undefined;
  #done: ((aborted: boolean) => void) | null = null;
  #drain: (() => void) | null = null;

  constructor(
    stream: H2Stream,
    list: string[],
    endStream: boolean,
    scheme: 'http' | 'https',
    info: H2ConnInfo,
    hook?: DownstreamDoneHook,
    declaredPort?: number,
  ) {
    this.#stream = stream;
    this.#hook = hook;
    stream.handler = this;
    const headers = toHeaderObject(list);
    this.headers = headers;
    this.method = (headers[':method'] as string | undefined) ?? 'GET';
    this.path = (headers[':path'] as string | undefined) ?? '/';
    this.authority = (headers[':authority'] as string | undefined) ?? (headers.host as string | undefined) ?? '';
    this.scheme = scheme;
    this.remoteAddress = info.remoteAddress;
    this.port = declaredPort ?? info.port;
    this.sni = info.sni;
    if (endStream) this.body = null;
    else {
      // Reading resumes the stream; a full buffer pauses it (flow control holds the client back).
      const body: Readable = new Readable({ read: () => stream.resume() });
      this.body = body;
    }
  }

  get requestComplete(): boolean {
    return this.body === null || this.#stream.remoteEnded;
  }

  respond(status: number, headers: string[], endStream: boolean): void {
    this.responseStarted = true;
    this.status = status;
    const s = this.#stream;
    if (s.closed) return;
    const out: string[] = [':status', String(status)];
    let date = false;
    for (let i = 0; i < headers.length; i += 2) {
      const k = headers[i]!;
      if (CONNECTION_SPECIFIC.has(k)) continue;
      if (k === 'date') date = true;
      out.push(k, headers[i + 1]!);
    }
    if (!date) out.push('date', httpDate());
    s.respond(out, endStream);
  }

  write(chunk: Buffer): boolean {
    this.bytesSent += chunk.length;
    const s = this.#stream;
    if (s.closed) return true;
    return s.write(chunk);
  }

  end(trailers: string[] | null): void {
    const s = this.#stream;
    if (!s.closed) s.end(trailers && trailers.length > 0 ? trailers : null);
  }

  reset(): void {
    const s = this.#stream;
    if (!s.closed) {
      this.resetByProxy = true;
      s.reset(ErrorCode.INTERNAL_ERROR);
    }
  }

  onDrain(fn: () => void): void {
    this.#drain = fn;
  }

  onDone(fn: (aborted: boolean) => void): void {
    this.#done = chainDone(this.#done, fn);
  }

  // H2StreamHandler: the stream's events.
  onHeaders(): void {}

  onData(s: H2Stream, chunk: Buffer): void {
    const b = this.body;
    if (b !== null && !b.push(chunk)) s.pause();
  }

  onTrailers(): void {}

  onEnd(): void {
    const b = this.body;
    if (b !== null) b.push(null);
  }

  onWritable(): void {
    this.#drain?.();
  }

  onClose(_s: H2Stream, code: number | null): void {
    // Closing can happen inside respond() (a trailers-only reply): report it once the caller
    // has recorded what it sent, as node:http2's asynchronous 'close' did.
    process.nextTick(() => this.#closed(code));
  }

  #closed(code: number | null): void {
    const aborted = code !== null || !this.#stream.localEnded;
    const b = this.body;
    // A request cut short by a reset: its body ends with an error, as node:http2's stream did.
    if (code !== null && b !== null && !b.readableEnded && !this.#stream.remoteEnded) b.destroy(new Error('stream reset'));
    this.#done?.(aborted);
    this.#hook?.(this, aborted);
  }
}

/**
 * A request header object as node:http2 builds it: duplicates become arrays, except cookie
 * (joined with "; ") and single-value headers (first wins).
 */
function toHeaderObject(list: string[]): Record<string, string | string[] | undefined> {
  const h: Record<string, string | string[] | undefined> = Object.create(null);
  for (let i = 0; i < list.length; i += 2) {
    const k = list[i]!;
    const v = list[i + 1]!;
    const prev = h[k];
    if (prev === undefined) h[k] = v;
    else if (k === 'cookie') h[k] = `${prev as string}; ${v}`;
    else if (SINGLE_VALUE.has(k)) continue;
    else if (Array.isArray(prev)) prev.push(v);
    else h[k] = [prev, v];
  }
  return h;
}

const SINGLE_VALUE = new Set([
  ':method',
  ':path',
  ':authority',
  ':scheme',
  'authorization',
  'content-length',
  'content-type',
  'from',
  'host',
  'if-modified-since',
  'if-unmodified-since',
  'max-forwards',
  'proxy-authorization',
  'referer',
  'user-agent',
]);

/** The SNI of a TLS socket (`servername` is false or absent without one). */
export function sniOf(sock: net.Socket | undefined): string | undefined {
  const name = (sock as { servername?: string | false } | undefined)?.servername;
  return typeof name === 'string' && name !== '' ? name : undefined;
}
