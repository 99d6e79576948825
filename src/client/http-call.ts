import http from 'node:http';
import http2 from 'node:http2';
import { Client } from 'undici';
import type { TlsOptions } from './grpc-channel.js';
import { UsageError, type HeaderPair } from './headers.js';

export type HttpCallOptions = {
  /** http:// or https:// URL. */
  url: string;
  /** Default GET, or POST when there is a body. */
  method?: string;
  headers?: readonly HeaderPair[];
  body?: string | Buffer;
  /** HTTP/2: prior knowledge (h2c) for http://, ALPN h2 for https://. */
  http2?: boolean;
  /** For https:// URLs. */
  tls?: TlsOptions;
  /** Bound on the whole exchange (default 30 s). */
  timeoutMs?: number;
};

export type HttpCallResult = {
  httpVersion: '1.1' | '2';
  status: number;
  statusText: string;
  headers: HeaderPair[];
  trailers: HeaderPair[];
  body: Buffer;
};

export function parseHttpUrl(text: string): URL {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new UsageError(`"${text}" is not a URL`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new UsageError(`"${text}" is not an http:// or https:// URL`);
  return url;
}

/** One HTTP request (HTTP/1.1 through undici, HTTP/2 through node:http2), fully read. */
export async function httpCall(opts: HttpCallOptions): Promise<HttpCallResult> {
  const url = parseHttpUrl(opts.url);
  const method = (opts.method ?? (opts.body !== undefined ? 'POST' : 'GET')).toUpperCase();
  const timeoutMs = opts.timeoutMs ?? 30_000;
  return opts.http2 ? h2Call(url, method, opts, timeoutMs) : h1Call(url, method, opts, timeoutMs);
}

/** Node's TLS connect options for a client (shared with the load generator). */
export function tlsConnectOptions(url: URL, tls: TlsOptions | undefined) {
  if (url.protocol !== 'https:') return {};
  return {
    rejectUnauthorized: !tls?.insecure,
    ...(tls?.ca !== undefined ? { ca: tls.ca } : {}),
    ...(tls?.servername ? { servername: tls.servername } : {}),
  };
}

async function h1Call(url: URL, method: string, opts: HttpCallOptions, timeoutMs: number): Promise<HttpCallResult> {
  const client = new Client(url.origin, { connect: tlsConnectOptions(url, opts.tls) });
  try {
    const res = await client.request({
      path: url.pathname + url.search,
      method: method as 'GET',
      headers: (opts.headers ?? []).flat(),
      body: opts.body ?? null,
      signal: AbortSignal.timeout(timeoutMs),
    });
    const body = Buffer.from(await res.body.arrayBuffer());
    return {
      httpVersion: '1.1',
      status: res.statusCode,
      statusText: res.statusText || http.STATUS_CODES[res.statusCode] || '',
      headers: pairs(res.headers),
      trailers: pairs(res.trailers),
      body,
    };
  } finally {
    await client.destroy();
  }
}

function h2Call(url: URL, method: string, opts: HttpCallOptions, timeoutMs: number): Promise<HttpCallResult> {
  return new Promise((resolve, reject) => {
    const session = http2.connect(url.origin, { ...tlsConnectOptions(url, opts.tls), ALPNProtocols: ['h2'] });
    const fail = (e: Error) => {
      clearTimeout(timer);
      session.destroy();
      reject(e);
    };
    const timer = setTimeout(() => fail(new Error(`no complete response within ${timeoutMs} ms`)), timeoutMs);
    session.on('error', fail);
    const headers: http2.OutgoingHttpHeaders = { ':method': method, ':path': url.pathname + url.search };
    for (const [k, v] of opts.headers ?? []) {
      const name = k === 'host' ? ':authority' : k;
      const prev = headers[name];
      headers[name] = prev === undefined ? v : ([] as string[]).concat(prev as string | string[], v);
    }
    const stream = session.request(headers, { endStream: opts.body === undefined });
    let status = 0;
    let resHeaders: HeaderPair[] = [];
    let trailers: HeaderPair[] = [];
    const chunks: Buffer[] = [];
    stream.on('response', (h) => {
      status = Number(h[':status']);
      resHeaders = pairs(h).filter(([k]) => !k.startsWith(':'));
    });
    stream.on('trailers', (t) => (trailers = pairs(t)));
    stream.on('data', (c: Buffer) => chunks.push(c));
    stream.on('error', fail);
    stream.on('end', () => {
      clearTimeout(timer);
      session.close();
      resolve({
        httpVersion: '2',
        status,
        statusText: http.STATUS_CODES[status] ?? '',
        headers: resHeaders,
        trailers,
        body: Buffer.concat(chunks),
      });
    });
    if (opts.body !== undefined) stream.end(opts.body);
  });
}

function pairs(h: Record<string, string | string[] | number | undefined> | null | undefined): HeaderPair[] {
  const out: HeaderPair[] = [];
  for (const [k, v] of Object.entries(h ?? {})) {
    if (v === undefined) continue;
    for (const x of Array.isArray(v) ? v : [v]) out.push([k, String(x)]);
  }
  return out;
}
