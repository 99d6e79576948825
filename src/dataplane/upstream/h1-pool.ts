import { Client } from 'undici';
import type { Dispatcher } from 'undici';
import type net from 'node:net';
import { RESPONSE_HOP_BY_HOP } from '../http/headers.js';
import { connect } from './connect.js';
import { UpstreamResetError } from './reset-reason.js';
import type { AttemptHandle, AttemptSink, UpstreamRequest } from './attempt-sink.js';

export type H1PoolOptions = {
  host: string;
  port: number;
  connectTimeoutMs: number;
  idleTimeoutMs: number;
  maxRequestsPerConnection: number;
  tls?: { servername?: string; rejectUnauthorized: boolean } | undefined;
  keepaliveTimeSec?: number | undefined;
};

/**
 * HTTP/1.1 connections to one host. Each connection is an undici Client with pipelining 1 (one
 * request in flight per connection, as Envoy). The pool hands a request to an idle connection,
 * else opens a new one; circuit-breaker limits are applied by the caller.
 *
 * undici's legacy handler callbacks (onConnect/onHeaders/onData/onComplete/onError) are used on
 * purpose: they are its native path; the newer controller API wraps them and parses every
 * response's headers into an object first.
 */
export class H1Pool {
  readonly #opts: H1PoolOptions;
  readonly #idle: Client[] = [];
  readonly #all = new Set<Client>();
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

  request(req: UpstreamRequest, sink: AttemptSink): AttemptHandle {
    const client = this.#idle.pop() ?? this.#newClient();
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
      this.release(client);
      queueMicrotask(() => sink.onReset(new UpstreamResetError('protocol error', (e as Error).message)));
    }
    return h;
  }

  /** Back into the idle list once a response is complete. */
  release(client: Client): void {
    if (this.#closed || client.destroyed || client.closed) {
      this.#all.delete(client);
      return;
    }
    this.#idle.push(client);
  }

  discard(client: Client): void {
    this.#all.delete(client);
    const i = this.#idle.indexOf(client);
    if (i >= 0) this.#idle.splice(i, 1);
    client.destroy().catch(() => {});
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
          },
          (err, socket) => cb(err, socket ?? null),
        );
      },
    } as Client.Options);
    // A client whose socket failed stays usable (undici reconnects on the next dispatch).
    client.on('connectionError', () => {});
    this.#all.add(client);
    return client;
  }

  async close(): Promise<void> {
    this.#closed = true;
    const all = [...this.#all];
    this.#all.clear();
    this.#idle.length = 0;
    await Promise.all(all.map((c) => c.close().catch(() => {})));
  }

  destroy(): void {
    this.#closed = true;
    for (const c of this.#all) c.destroy().catch(() => {});
    this.#all.clear();
    this.#idle.length = 0;
  }
}

/** One request on one undici client, adapting undici's callbacks to an AttemptSink. */
class H1Exchange implements AttemptHandle, Dispatcher.DispatchHandler {
  readonly #pool: H1Pool;
  readonly #client: Client;
  readonly #sink: AttemptSink;
  #abort: ((err?: Error) => void) | null = null;
  #resume: (() => void) | null = null;
  #state: 'waiting' | 'headers' | 'done' = 'waiting';
  #cancelled = false;

  constructor(pool: H1Pool, client: Client, sink: AttemptSink) {
    this.#pool = pool;
    this.#client = client;
    this.#sink = sink;
  }

  cancel(): void {
    if (this.#state === 'done' || this.#cancelled) return;
    this.#cancelled = true;
    if (this.#abort) this.#abort(new UpstreamResetError('local reset'));
    else this.#pool.discard(this.#client);
  }

  resume(): void {
    const r = this.#resume;
    if (r) r();
  }

  onConnect(abort: (err?: Error) => void): void {
    this.#abort = abort;
    if (this.#cancelled) {
      abort(new UpstreamResetError('local reset'));
      return;
    }
    this.#sink.onPoolReady();
  }

  onHeaders(statusCode: number, rawHeaders: Buffer[], resume: () => void): boolean {
    if (this.#cancelled) return false;
    if (statusCode < 200) return true; // informational responses are not forwarded
    this.#resume = resume;
    this.#state = 'headers';
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
    if (this.#cancelled) return;
    this.#state = 'done';
    this.#pool.release(this.#client);
    let t: string[] | null = null;
    if (trailers && trailers.length > 0) {
      t = [];
      for (let i = 0; i < trailers.length; i += 2) t.push(String(trailers[i]).toLowerCase(), String(trailers[i + 1]));
    }
    this.#sink.onResponseEnd(t);
  }

  onError(err: Error): void {
    this.#state = 'done';
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
