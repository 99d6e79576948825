import { createRequire } from 'node:module';
import type net from 'node:net';
import type { Readable } from 'node:stream';
import { RESPONSE_HOP_BY_HOP } from '../http/headers.js';
import { connect, type ConnectOptions } from './connect.js';
import { UpstreamResetError } from './reset-reason.js';
import type { AttemptHandle, AttemptSink, UpstreamRequest } from './attempt-sink.js';

/** Node's own llhttp binding, as node:http's client uses it (no public module exports it). */
type Parser = {
  initialize(type: number, resource: object, maxHeaderSize: number, lenient: number): void;
  execute(data: Buffer): number | ParserError;
  finish(): number | ParserError | undefined;
  resume(): void;
  close(): void;
  free(): void;
  [k: number]: unknown;
};
type ParserError = Error & { code?: string; reason?: string };
type ParserClass = {
  new (): Parser;
  RESPONSE: number;
  kOnHeaders: number;
  kOnHeadersComplete: number;
  kOnBody: number;
  kOnMessageComplete: number;
  kOnExecute: number;
};
const common = createRequire(import.meta.url)('_http_common') as {
  HTTPParser: ParserClass;
  _checkIsHttpToken(s: string): boolean;
  _checkInvalidHeaderChar(s: string): boolean;
};
const { HTTPParser, _checkIsHttpToken: isToken, _checkInvalidHeaderChar: hasInvalidChar } = common;
const kOnHeaders = HTTPParser.kOnHeaders | 0;
const kOnHeadersComplete = HTTPParser.kOnHeadersComplete | 0;
const kOnBody = HTTPParser.kOnBody | 0;
const kOnMessageComplete = HTTPParser.kOnMessageComplete | 0;
const kOnExecute = HTTPParser.kOnExecute | 0;
/** llhttp's HPE_PAUSED: returned from the headers callback, execute() stops right after the head. */
const HPE_PAUSED = 21;
/** Bodies above this are sliced, not copied; below it the copy costs less than the pause (an Error per execute). */
const SLICE_MIN = 32 * 1024;

/** Parsers are native objects: reuse a few instead of making one per connection (node:http does too). */
const freeParsers: Parser[] = [];
function takeParser(): Parser {
  const p = freeParsers.pop() ?? new HTTPParser();
  // 0 = Node's max header size (--max-http-header-size, 16 KiB), as undici and node:http use; strict parsing.
  p.initialize(HTTPParser.RESPONSE, {}, 0, 0);
  return p;
}
function giveParser(p: Parser): void {
  p[kOnHeaders] = p[kOnHeadersComplete] = p[kOnBody] = p[kOnMessageComplete] = p[kOnExecute] = null;
  // Never closed or reused while it may still be inside execute(): wait for the next turn.
  setImmediate(() => {
    if (freeParsers.length < 64) freeParsers.push(p);
    else p.close();
  });
}

/** The connection's events, for the pool. */
export interface H1ConnectionOwner {
  /** The exchange ended and the connection can carry another request. */
  connectionFree(c: H1Connection): void;
  /** The connection is gone (closed, failed or discarded); called once. */
  connectionGone(c: H1Connection): void;
}

export type H1ConnectionOptions = {
  connect: ConnectOptions;
  /** Close after this long without a request; 0 = never. The upstream's Keep-Alive timeout can shorten it. */
  idleTimeoutMs: number;
  /** Requests per connection; the last one says `connection: close`; 0 = no limit. */
  maxRequests: number;
  /** Counts connections that opened (the pool's upstream_cx_total). */
  onConnected: () => void;
};

const LENGTH_MISMATCH = 'Request body length does not match content-length header';

/**
 * One HTTP/1.1 connection to an upstream, one request at a time (no pipelining, as Envoy). The
 * request line and headers go out in one write (with the first body chunk when there is a body);
 * responses are parsed by Node's llhttp binding. 1xx responses are skipped; HEAD, 204 and 304
 * responses have no body; chunked trailers are passed on. Errors map to Envoy's reset reasons:
 * parse errors are `protocol error`, a connection lost mid-exchange is `connection termination`,
 * a request body that disagrees with its content-length is a `local reset`.
 */
export class H1Connection {
  readonly #owner: H1ConnectionOwner;
  readonly #opts: H1ConnectionOptions;
  #socket: net.Socket | null = null;
  #parser: Parser | null = null;
  /** The exchange on the connection (waiting for the connect, writing, or reading its response). */
  #ex: H1Exchange | null = null;
  #gone = false;
  #requests = 0;
  /** Close once the current exchange is over (max duration, max requests, Connection: close). */
  #closeAfter = false;
  #idleMs: number;
  #idleAt = 0;
  #idleTimer: NodeJS.Timeout | null = null;
  #paused = false;
  // Per response:
  #headersDone = false;
  #informational = false;
  #keepAlive = true;
  #completed = false;
  #contentLength = false;
  #raw: string[] | null = null;
  #trailers: string[] | null = null;

  constructor(owner: H1ConnectionOwner, opts: H1ConnectionOptions) {
    this.#owner = owner;
    this.#opts = opts;
    this.#idleMs = opts.idleTimeoutMs;
    connect(opts.connect, (err, socket) => {
      if (socket) opts.onConnected();
      if (this.#gone) {
        // Discarded while connecting (its request was cancelled, or the pool closed).
        socket?.destroy();
        return;
      }
      if (err || !socket) {
        this.#gone = true;
        const ex = this.#ex;
        this.#ex = null;
        ex?.fail(err ?? new UpstreamResetError('local connection failure'));
        this.#owner.connectionGone(this);
        return;
      }
      this.#setup(socket);
    });
  }

  get connected(): boolean {
    return this.#socket !== null;
  }
  get busy(): boolean {
    return this.#ex !== null;
  }
  get gone(): boolean {
    return this.#gone;
  }

  #setup(socket: net.Socket): void {
    this.#socket = socket;
    // Idle pooled connections must not keep the process alive; the downstream side does while busy.
    socket.unref();
    const p = takeParser();
    p[kOnHeaders] = this.#onHeaders;
    p[kOnHeadersComplete] = this.#onHeadersComplete;
    p[kOnBody] = this.#onBody;
    p[kOnMessageComplete] = this.#onMessageComplete;
    this.#parser = p;
    socket.on('data', this.#onData);
    socket.on('end', this.#onEnd);
    socket.on('error', this.#onError);
    socket.on('close', this.#onClose);
    const ex = this.#ex;
    if (ex) this.#send(ex);
    else this.#becomeIdle();
  }

  /** Takes an exchange: written now when connected, else once the connection is up. */
  start(ex: H1Exchange): void {
    this.#ex = ex;
    if (this.#socket) this.#send(ex);
  }

  /** Stop using the connection: it closes now when idle, else after its exchange. */
  retire(): void {
    this.#closeAfter = true;
    if (!this.#ex) this.destroy();
  }

  /** Closes the connection at once; an exchange on it gets no further events. */
  destroy(): void {
    if (this.#gone) return;
    this.#gone = true;
    const ex = this.#ex;
    this.#ex = null;
    ex?.detachBody();
    this.#teardown();
    this.#owner.connectionGone(this);
  }

  #teardown(): void {
    if (this.#idleTimer) {
      clearTimeout(this.#idleTimer);
      this.#idleTimer = null;
    }
    const s = this.#socket;
    if (s) {
      s.removeListener('data', this.#onData);
      s.removeListener('end', this.#onEnd);
      s.destroy();
    }
    const p = this.#parser;
    if (p) {
      this.#parser = null;
      giveParser(p);
    }
  }

  /** The exchange failed with the connection: report it, then close. */
  #fail(err: UpstreamResetError): void {
    if (this.#gone) return;
    const ex = this.#ex;
    this.#gone = true;
    this.#ex = null;
    this.#teardown();
    if (ex) {
      ex.detachBody();
      ex.fail(err);
    }
    this.#owner.connectionGone(this);
  }

  /** Resumes reading after the sink asked for a pause. */
  resumeFor(ex: H1Exchange): void {
    if (ex !== this.#ex || !this.#paused) return;
    this.#paused = false;
    this.#socket?.resume();
  }

  // === request ===

  #send(ex: H1Exchange): void {
    const req = ex.req;
    const n = ++this.#requests;
    const max = this.#opts.maxRequests;
    if (max > 0 && n >= max) this.#closeAfter = true;
    let head: Head;
    try {
      head = serializeHead(req, this.#closeAfter, this.#opts.connect);
    } catch (e) {
      // A request that cannot be written (bad header, method or path): the connection stays good.
      this.#ex = null;
      this.#requests--;
      if (max > 0 && n >= max) this.#closeAfter = false;
      queueMicrotask(() => ex.fail(new UpstreamResetError('protocol error', (e as Error).message)));
      this.#release();
      return;
    }
    if (head.closeAfter) this.#closeAfter = true;
    this.#headersDone = false;
    this.#informational = false;
    this.#completed = false;
    this.#bodyLeft = 0;
    this.#raw = null;
    this.#trailers = null;
    this.#isHead = req.method === 'HEAD';
    const socket = this.#socket!;
    const body = req.body;
    if (body === null) {
      ex.sink.onPoolReady();
      if (this.#ex !== ex) return;
      ex.written = true;
      socket.write(head.text + (head.expectsPayload ? 'content-length: 0\r\n\r\n' : '\r\n'), 'latin1');
      return;
    }
    new BodyWriter(this, ex, socket, body, head);
  }

  #isHead = false;

  /** The request body broke the exchange (its own error or a length mismatch). */
  bodyFailed(ex: H1Exchange, err: UpstreamResetError): void {
    if (ex === this.#ex) this.#fail(err);
  }

  /** Everything of the request was written; a response that already ended frees the connection. */
  bodyDone(ex: H1Exchange): void {
    ex.written = true;
  }

  // === response ===

  readonly #onData = (chunk: Buffer): void => {
    const p = this.#parser;
    if (!p) return;
    const ex = this.#ex;
    if (ex === null) {
      // Bytes nobody asked for: the connection's framing cannot be trusted any more.
      this.destroy();
      return;
    }
    // Inside a content-length body: pass the bytes on as they are (the parser still frames them).
    if (this.#bodyLeft > 0 && !this.#deliver(ex, chunk, 0)) return;
    let r = p.execute(chunk);
    // The parser pauses after a head that starts a content-length body: its bytes begin at bytesParsed.
    while (typeof r !== 'number' && r.code === 'HPE_PAUSED') {
      const at = (r as ParserError & { bytesParsed: number }).bytesParsed;
      p.resume();
      if (this.#bodyLeft > 0 && !this.#deliver(ex, chunk, at)) return;
      r = p.execute(at === 0 ? chunk : chunk.subarray(at));
    }
    if (typeof r !== 'number') {
      this.#fail(new UpstreamResetError('protocol error', parserMessage(r)));
      return;
    }
    if (this.#completed) {
      this.#completed = false;
      this.#afterResponse();
    }
  };

  /** Bytes left of a content-length body, delivered from the socket's chunks without a copy. */
  #bodyLeft = 0;

  /** Passes on the body bytes of `chunk` from `at`; false when the exchange went away meanwhile. */
  #deliver(ex: H1Exchange, chunk: Buffer, at: number): boolean {
    const n = Math.min(this.#bodyLeft, chunk.length - at);
    if (n <= 0) return true;
    this.#bodyLeft -= n;
    this.#onBody(at === 0 && n === chunk.length ? chunk : chunk.subarray(at, at + n));
    return this.#ex === ex && !this.#gone;
  }

  readonly #onHeaders = (headers: string[]): void => {
    // Headers flushed early (more than 32) or, after the head, chunked trailers.
    if (this.#headersDone) (this.#trailers ??= []).push(...headers);
    else (this.#raw ??= []).push(...headers);
  };

  readonly #onHeadersComplete = (
    _major: number,
    _minor: number,
    headers: string[] | undefined,
    _method: unknown,
    _url: unknown,
    status: number,
    _statusText: string,
    upgrade: boolean,
    shouldKeepAlive: boolean,
  ): number => {
    const ex = this.#ex;
    if (ex === null || this.#completed) return -1;
    let raw = headers;
    if (this.#raw) raw = headers ? this.#raw.concat(headers) : this.#raw;
    this.#raw = null;
    if (status < 200) {
      if (status === 101 || upgrade) return -1; // never asked for: a protocol error
      this.#informational = true;
      return 0;
    }
    this.#headersDone = true;
    const out: string[] = [];
    let connection = '';
    let chunked = false;
    let length = 0;
    this.#contentLength = false;
    if (raw) {
      for (let i = 0; i < raw.length; i += 2) {
        const name = raw[i]!.toLowerCase();
        if (RESPONSE_HOP_BY_HOP.has(name)) {
          if (name === 'connection') connection = raw[i + 1]!.toLowerCase();
          else if (name === 'keep-alive') this.#keepAliveHint(raw[i + 1]!);
          else if (name === 'transfer-encoding') chunked = true;
          continue;
        }
        if (name === 'content-length') {
          this.#contentLength = true;
          length = Number(raw[i + 1]);
        }
        out.push(name, raw[i + 1]!);
      }
    }
    // llhttp calls a HEAD response without a length not reusable; undici (and so legate) kept it when the upstream said keep-alive.
    this.#keepAlive = shouldKeepAlive || (this.#isHead && connection === 'keep-alive');
    ex.gotHeaders = true;
    ex.sink.onResponseHeaders(status, out, false);
    if (this.#isHead) return 1;
    // A content-length body is sliced from the socket's chunks (#onData): the parser's body
    // callback would copy every chunk. Pausing here tells #onData where the body starts.
    const sliced = length > SLICE_MIN && !chunked && status !== 204 && status !== 304 && this.#ex === ex;
    this.#parser![kOnBody] = sliced ? null : this.#onBody;
    if (sliced) {
      this.#bodyLeft = length;
      return HPE_PAUSED;
    }
    return 0;
  };

  /** The upstream's `Keep-Alive: timeout=N` caps the idle timeout (it will close then anyway). */
  #keepAliveHint(v: string): void {
    const m = /timeout=(\d+)/i.exec(v);
    if (!m) return;
    const ms = Number(m[1]) * 1000;
    if (ms <= 0) this.#closeAfter = true;
    else if (this.#opts.idleTimeoutMs <= 0 || ms < this.#idleMs) this.#idleMs = ms;
  }

  readonly #onBody = (chunk: Buffer): void => {
    const ex = this.#ex;
    if (ex === null || ex.done) return;
    if (!ex.sink.onResponseData(chunk) && !this.#paused && this.#ex === ex) {
      this.#paused = true;
      this.#socket?.pause();
    }
  };

  readonly #onMessageComplete = (): void => {
    if (this.#informational) {
      this.#informational = false;
      return;
    }
    const ex = this.#ex;
    if (ex === null) return;
    this.#headersDone = false;
    const t = this.#trailers;
    this.#trailers = null;
    let trailers: string[] | null = null;
    if (t && t.length > 0) {
      trailers = [];
      for (let i = 0; i < t.length; i += 2) trailers.push(t[i]!.toLowerCase(), t[i + 1]!);
    }
    // Reuse is decided once execute() returns, so bytes after this response are never read as the next one's.
    this.#completed = true;
    if (!this.#keepAlive || !ex.written) this.#closeAfter = true;
    ex.complete(trailers);
  };

  /** The response ended: free the connection, or close it. */
  #afterResponse(): void {
    this.#ex = null;
    if (this.#paused) {
      this.#paused = false;
      this.#socket?.resume();
    }
    if (this.#closeAfter) this.destroy();
    else this.#release();
  }

  #release(): void {
    if (this.#gone) return;
    this.#becomeIdle();
    this.#owner.connectionFree(this);
  }

  #becomeIdle(): void {
    const ms = this.#idleMs;
    if (ms <= 0) return;
    this.#idleAt = performance.now();
    if (!this.#idleTimer) this.#armIdle(ms);
  }

  #armIdle(ms: number): void {
    const t = setTimeout(this.#onIdleTimer, ms);
    t.unref();
    this.#idleTimer = t;
  }

  // One timer per connection, re-armed from the last time it went idle (no timer churn per request).
  readonly #onIdleTimer = (): void => {
    this.#idleTimer = null;
    if (this.#gone || this.#ex) return;
    const left = this.#idleAt + this.#idleMs - performance.now();
    if (left > 1) this.#armIdle(left);
    else this.destroy();
  };

  readonly #onEnd = (): void => {
    const ex = this.#ex;
    if (ex && ex.gotHeaders && this.#parser) {
      // A body delimited by the end of the connection ends here; anything else is cut short.
      const r = this.#parser.finish();
      if (this.#completed) {
        this.#completed = false;
        this.#afterResponse();
        return;
      }
      if (r !== undefined && typeof r !== 'number' && !this.#keepAlive && this.#contentLength) {
        this.#fail(new UpstreamResetError('protocol error', 'Response body length does not match content-length header'));
        return;
      }
    }
    this.#fail(new UpstreamResetError('connection termination', 'other side closed'));
  };

  readonly #onError = (e: NodeJS.ErrnoException): void => {
    this.#fail(new UpstreamResetError('connection termination', e.code ? `${e.code}: ${e.message}` : e.message));
  };

  readonly #onClose = (): void => {
    this.#fail(new UpstreamResetError('connection termination', 'socket closed'));
  };
}

function parserMessage(e: ParserError): string {
  return e.code ? `${e.code}${e.reason ? `: ${e.reason}` : ''}` : e.message;
}

/**
 * One request on one connection, as the request path sees it (AttemptHandle). Frees its
 * circuit-breaker slot exactly once, whichever way it ends.
 */
export class H1Exchange implements AttemptHandle {
  readonly req: UpstreamRequest;
  readonly sink: AttemptSink;
  readonly #onDone: () => void;
  conn: H1Connection | null = null;
  /** Ended, failed or cancelled: no further sink events. */
  done = false;
  gotHeaders = false;
  /** The whole request has been written. */
  written = false;
  body: BodyWriter | null = null;

  constructor(req: UpstreamRequest, sink: AttemptSink, onDone: () => void) {
    this.req = req;
    this.sink = sink;
    this.#onDone = onDone;
  }

  #end(): boolean {
    if (this.done) return false;
    this.done = true;
    this.#onDone();
    return true;
  }

  complete(trailers: string[] | null): void {
    this.detachBody();
    if (this.#end()) this.sink.onResponseEnd(trailers);
  }

  fail(err: UpstreamResetError): void {
    this.detachBody();
    if (this.#end()) this.sink.onReset(err);
  }

  detachBody(): void {
    const b = this.body;
    if (b) {
      this.body = null;
      b.detach();
    }
  }

  /** Local reset: the connection is closed (its state mid-exchange is unknown). */
  cancel(): void {
    if (!this.#end()) return;
    this.detachBody();
    this.conn?.destroy();
  }

  resume(): void {
    this.conn?.resumeFor(this);
  }
}

type Head = { text: string; contentLength: number | null; expectsPayload: boolean; closeAfter: boolean };

const KNOWN_METHODS = new Set(['GET', 'HEAD', 'POST', 'PUT', 'DELETE', 'OPTIONS', 'PATCH', 'TRACE']);
/** Methods whose requests carry a payload: an empty one is sent with `content-length: 0`. */
const PAYLOAD_METHODS = new Set(['PUT', 'POST', 'PATCH', 'QUERY', 'PROPFIND', 'PROPPATCH']);
/** Header names already checked to be tokens (names repeat from request to request). */
const goodNames = new Set<string>();
const INVALID_PATH = /[^\u0021-\u00ff]/;

function checkName(name: string): void {
  if (goodNames.has(name)) return;
  if (!isToken(name)) throw new Error(`invalid header name ${JSON.stringify(name)}`);
  if (goodNames.size < 1024) goodNames.add(name);
}

/**
 * The request line and headers, validated (a bad one would corrupt the connection or smuggle a
 * request): host first, then `connection`, then the request's headers in order; the framing
 * header (content-length or chunked) is added by the writer.
 */
function serializeHead(req: UpstreamRequest, closeAfter: boolean, target: ConnectOptions): Head {
  const method = req.method;
  if (!KNOWN_METHODS.has(method)) {
    if (!isToken(method)) throw new Error('invalid request method');
    if (method === 'CONNECT') throw new Error('CONNECT is not supported on a pooled connection');
  }
  const path = req.path;
  if ((path.charCodeAt(0) !== 47 /* / */ && !(path === '*' && method === 'OPTIONS')) || INVALID_PATH.test(path))
    throw new Error('invalid request path');
  let host: string | undefined;
  let contentLength: number | null = null;
  let rest = '';
  const headers = req.headers;
  for (const name in headers) {
    const v = headers[name];
    if (v === undefined) continue;
    checkName(name);
    if (typeof v === 'string') {
      if (hasInvalidChar(v)) throw new Error(`invalid ${name} header`);
    } else for (const x of v) if (hasInvalidChar(x)) throw new Error(`invalid ${name} header`);
    switch (name) {
      case 'host':
        if (typeof v !== 'string' || host !== undefined) throw new Error('invalid host header');
        host = v;
        continue;
      case 'content-length':
        if (typeof v !== 'string' || !/^\d+$/.test(v)) throw new Error('invalid content-length header');
        contentLength = Number(v);
        continue;
      case 'connection':
        for (const tok of (typeof v === 'string' ? v : v.join(',')).toLowerCase().split(',')) {
          const t = tok.trim();
          if (!isToken(t)) throw new Error('invalid connection header');
          if (t === 'close') closeAfter = true;
        }
        continue;
      case 'transfer-encoding':
      case 'keep-alive':
      case 'upgrade':
        throw new Error(`invalid ${name} header`);
      case 'expect':
        throw new Error('expect header not supported');
    }
    if (typeof v === 'string') rest += `${name}: ${v}\r\n`;
    else for (const x of v) rest += `${name}: ${x}\r\n`;
  }
  if (host === undefined) host = defaultHost(target);
  const text = `${method} ${path} HTTP/1.1\r\nhost: ${host}\r\n${closeAfter ? 'connection: close' : 'connection: keep-alive'}\r\n${rest}`;
  return { text, contentLength, expectsPayload: PAYLOAD_METHODS.has(method), closeAfter };
}

/** `host:port` of the upstream, the port left out when it is the scheme's default. */
function defaultHost(t: ConnectOptions): string {
  const h = t.host.includes(':') ? `[${t.host}]` : t.host;
  return t.port === (t.tls ? 443 : 80) ? h : `${h}:${t.port}`;
}

/** Sends a request body (a stream): with its content-length when known, else chunked. */
class BodyWriter {
  readonly #conn: H1Connection;
  readonly #ex: H1Exchange;
  readonly #socket: net.Socket;
  readonly #body: Readable;
  #head: string | null;
  readonly #expectsPayload: boolean;
  /** null = chunked. */
  readonly #length: number | null;
  #written = 0;
  #detached = false;

  constructor(conn: H1Connection, ex: H1Exchange, socket: net.Socket, body: Readable, head: Head) {
    this.#conn = conn;
    this.#ex = ex;
    this.#socket = socket;
    this.#body = body;
    this.#head = head.text;
    this.#expectsPayload = head.expectsPayload;
    // A body already fully buffered (a retry replaying a complete request) has a known length.
    const st = (body as unknown as { _readableState?: { ended: boolean; length: number; objectMode: boolean } })._readableState;
    const known = st && st.ended && !st.objectMode ? st.length : null;
    let length = head.contentLength;
    if (known !== null) {
      if (length !== null && known > 0 && length !== known && !NO_LENGTH_CHECK.has(ex.req.method)) {
        this.#head = null;
        this.#length = null;
        queueMicrotask(() => conn.bodyFailed(ex, new UpstreamResetError('local reset', LENGTH_MISMATCH)));
        return;
      }
      length = known;
    }
    if (length === 0 && !head.expectsPayload) length = null;
    this.#length = length;
    ex.body = this;
    ex.sink.onPoolReady();
    if (ex.done) return;
    if (known === 0) {
      // Nothing to send: the body is not read at all.
      ex.body = null;
      this.#detached = true;
      ex.written = true;
      socket.write(this.#head + (head.expectsPayload ? 'content-length: 0\r\n\r\n' : '\r\n'), 'latin1');
      this.#head = null;
      return;
    }
    body.on('data', this.#onData);
    body.once('end', this.#onEnd);
    body.once('error', this.#onError);
    body.once('close', this.#onClose);
    socket.on('drain', this.#onDrain);
  }

  readonly #onData = (chunk: Buffer): void => {
    if (this.#detached || chunk.length === 0) return;
    const len = chunk.length;
    if (this.#length !== null && this.#written + len > this.#length) {
      this.#conn.bodyFailed(this.#ex, new UpstreamResetError('local reset', LENGTH_MISMATCH));
      return;
    }
    this.#written += len;
    const s = this.#socket;
    const chunked = this.#length === null;
    let ok: boolean;
    if (this.#head !== null) {
      // The head goes out with the first chunk: one write.
      const framing = chunked ? `transfer-encoding: chunked\r\n\r\n${len.toString(16)}\r\n` : `content-length: ${this.#length}\r\n\r\n`;
      s.cork();
      s.write(this.#head + framing, 'latin1');
      this.#head = null;
      ok = s.write(chunk);
      if (chunked) ok = s.write('\r\n', 'latin1');
      s.uncork();
    } else if (chunked) {
      s.cork();
      s.write(`${len.toString(16)}\r\n`, 'latin1');
      s.write(chunk);
      ok = s.write('\r\n', 'latin1');
      s.uncork();
    } else ok = s.write(chunk);
    if (!ok) this.#body.pause();
  };

  readonly #onDrain = (): void => {
    if (!this.#detached) this.#body.resume();
  };

  readonly #onEnd = (): void => {
    if (this.#detached) return;
    const s = this.#socket;
    if (this.#length !== null && this.#written !== this.#length) {
      this.#conn.bodyFailed(this.#ex, new UpstreamResetError('local reset', LENGTH_MISMATCH));
      return;
    }
    if (this.#head !== null) {
      s.write(this.#head + (this.#expectsPayload ? 'content-length: 0\r\n\r\n' : '\r\n'), 'latin1');
      this.#head = null;
    } else if (this.#length === null) s.write('0\r\n\r\n', 'latin1');
    this.detach();
    this.#ex.body = null;
    this.#conn.bodyDone(this.#ex);
  };

  readonly #onError = (e: Error): void => {
    if (this.#detached) return;
    this.#conn.bodyFailed(this.#ex, e instanceof UpstreamResetError ? e : new UpstreamResetError('connection termination', e.message));
  };

  readonly #onClose = (): void => {
    // 'close' can come before 'error' for a broken stream: wait a tick, as the error says more.
    if (!this.#detached) queueMicrotask(() => this.#onError(new Error('request body closed before its end')));
  };

  /** Stops sending: the exchange ended (or failed); an unfinished body is destroyed. */
  detach(): void {
    if (this.#detached) return;
    this.#detached = true;
    const b = this.#body;
    b.removeListener('data', this.#onData);
    b.removeListener('end', this.#onEnd);
    b.removeListener('close', this.#onClose);
    // Keep an error listener: a late error on an abandoned body must not crash the process.
    b.removeListener('error', this.#onError);
    b.on('error', noop);
    this.#socket.removeListener('drain', this.#onDrain);
    if (!b.readableEnded) b.destroy();
  }
}

/** Methods for which a body length that disagrees with content-length is not checked (undici's rule). */
const NO_LENGTH_CHECK = new Set(['GET', 'HEAD', 'OPTIONS', 'TRACE', 'CONNECT']);

function noop(): void {}
