import http2 from 'node:http2';
import { Pool } from 'undici';
import { grpc, grpcClient, type GrpcTarget, type TlsOptions } from '../grpc-channel.js';
import type { HeaderPair } from '../headers.js';
import { tlsConnectOptions } from '../http-call.js';

/** What one request ended as: a response (HTTP status and/or gRPC status) or a transport error. */
export type Outcome = { status?: number; grpcCode?: number; attempts?: number; error?: string };

/** Sends one request per call; `close` releases connections (and cuts what is still in flight). */
export type Sender = { send(): Promise<Outcome>; close(): Promise<void> };

const ATTEMPTS = 'x-envoy-attempt-count';

function attemptsOf(v: unknown): number | undefined {
  const n = Number(Array.isArray(v) ? v[0] : v);
  return Number.isInteger(n) && n > 0 ? n : undefined;
}

function errorName(e: unknown): string {
  const err = e as { code?: string; message?: string };
  return err.code && err.code !== 'ERR_HTTP2_STREAM_ERROR' ? err.code : (err.message ?? String(e)).slice(0, 120);
}

export type HttpSenderOptions = {
  url: URL;
  method: string;
  headers: readonly HeaderPair[];
  body?: Buffer;
  tls?: TlsOptions;
  timeoutMs: number;
  connections: number;
};

/** HTTP/1.1 over an undici pool: keep-alive connections, no pipelining, body read and dropped. */
export function http1Sender(o: HttpSenderOptions): Sender {
  const pool = new Pool(o.url.origin, {
    connections: o.connections,
    pipelining: 1,
    headersTimeout: o.timeoutMs,
    bodyTimeout: o.timeoutMs,
    connect: tlsConnectOptions(o.url, o.tls),
  });
  const path = o.url.pathname + o.url.search;
  const headers = o.headers.flat();
  return {
    async send() {
      try {
        const res = await pool.request({ path, method: o.method as 'GET', headers, body: o.body ?? null });
        await res.body.dump({ limit: Number.MAX_SAFE_INTEGER });
        return { status: res.statusCode, attempts: attemptsOf(res.headers[ATTEMPTS]) };
      } catch (e) {
        return { error: errorName(e) };
      }
    },
    close: () => pool.destroy(),
  };
}

/** HTTP/2 (h2c prior knowledge or TLS with ALPN) over `connections` sessions, reconnected when lost. */
export function http2Sender(o: HttpSenderOptions): Sender {
  const sessions: (http2.ClientHttp2Session | undefined)[] = new Array(o.connections).fill(undefined);
  let next = 0;
  let closed = false;
  const session = () => {
    const i = next++ % sessions.length;
    let s = sessions[i];
    if (!s || s.closed || s.destroyed) {
      s = http2.connect(o.url.origin, { ...tlsConnectOptions(o.url, o.tls), ALPNProtocols: ['h2'] });
      s.on('error', () => {}); // each stream reports its own failure
      const mine = s;
      s.on('close', () => {
        if (sessions[i] === mine) sessions[i] = undefined;
      });
      sessions[i] = s;
    }
    return s;
  };
  const base: http2.OutgoingHttpHeaders = { ':method': o.method, ':path': o.url.pathname + o.url.search };
  for (const [k, v] of o.headers) {
    const name = k === 'host' ? ':authority' : k;
    const prev = base[name];
    base[name] = prev === undefined ? v : ([] as string[]).concat(prev as string | string[], v);
  }
  return {
    send() {
      if (closed) return Promise.resolve({ error: 'closed' });
      return new Promise<Outcome>((resolve) => {
        let out: Outcome | undefined;
        let timedOut = false;
        let stream: http2.ClientHttp2Stream;
        try {
          stream = session().request(base, { endStream: o.body === undefined });
        } catch (e) {
          resolve({ error: errorName(e) });
          return;
        }
        const timer = setTimeout(() => {
          timedOut = true;
          stream.close(http2.constants.NGHTTP2_CANCEL);
        }, o.timeoutMs);
        stream.on('response', (h) => {
          out = { status: Number(h[':status']), attempts: attemptsOf(h[ATTEMPTS]) };
        });
        stream.on('error', (e) => {
          if (!out || out.status === undefined) out = { error: errorName(e) };
        });
        stream.on('close', () => {
          clearTimeout(timer);
          if (timedOut) out = { error: 'timeout' };
          // A stream reset before its end loses the response, even after headers.
          else if (out?.status !== undefined && stream.rstCode !== http2.constants.NGHTTP2_NO_ERROR && !stream.readableEnded)
            out = { error: `stream reset (code ${stream.rstCode})` };
          resolve(out ?? { error: `stream closed without a response (code ${stream.rstCode})` });
        });
        stream.resume();
        if (o.body !== undefined) stream.end(o.body);
      });
    },
    async close() {
      closed = true;
      for (const s of sessions) s?.destroy();
    },
  };
}

export type GrpcSenderOptions = GrpcTarget & {
  path: string;
  request: Buffer;
  metadata: grpc.Metadata;
  timeoutMs: number;
  connections: number;
};

/** Unary gRPC calls with a pre-encoded request; responses are counted, not decoded. */
export function grpcSender(o: GrpcSenderOptions): Sender {
  // Separate channels (each with its own subchannel pool) give separate HTTP/2 connections;
  // grpc-js's own retries are off so that every attempt seen is the proxy's.
  const clients = Array.from({ length: o.connections }, () =>
    grpcClient(o, { 'grpc.enable_retries': 0, 'grpc.max_receive_message_length': -1 }),
  );
  let next = 0;
  const identity = (b: Buffer) => b;
  return {
    send() {
      return new Promise<Outcome>((resolve) => {
        let attempts: number | undefined;
        const call = clients[next++ % clients.length]!.makeUnaryRequest(
          o.path,
          identity,
          identity,
          o.request,
          o.metadata.clone(),
          { deadline: Date.now() + o.timeoutMs },
          () => {},
        );
        call.on('metadata', (md: grpc.Metadata) => (attempts = attemptsOf(md.get(ATTEMPTS))));
        // A trailers-only response (a proxy's local reply) carries its headers with the status.
        call.on('status', (s: grpc.StatusObject) =>
          resolve({ grpcCode: s.code, attempts: attempts ?? attemptsOf(s.metadata.get(ATTEMPTS)) }),
        );
      });
    },
    async close() {
      for (const c of clients) c.close();
    },
  };
}
