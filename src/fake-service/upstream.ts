/**
 * Upstream calls (handlers/util.go, client/*.go, worker/upstream_worker.go): `http://` and
 * `https://` URIs get an HTTP GET (POST with a body), anything else a gRPC FakeService.Handle
 * call (`grpc://` stripped); UPSTREAM_WORKERS calls run in parallel; the first failure makes the
 * whole request fail while every call's document is kept under `upstream_calls`.
 */
import http from 'node:http';
import https from 'node:https';
import zlib from 'node:zlib';
import grpc from '@grpc/grpc-js';
import { canonicalHeaderKey, escapeGoPath, unescapePath } from './go-format.js';
import { err } from './hclog.js';
import { decodeStatusDetail, messageType } from './protos.js';
import { emptyResponse, GoPanic, responseFromJSON, type FakeResponse } from './response.js';
import { formatRequest, type ServiceLog } from './service-log.js';
import type { Span } from './tracing.js';

/** The inbound HTTP request whose path and headers HTTP_CLIENT_APPEND_REQUEST copies. */
export type InboundRequest = { path: string; headers: [string, string][] };

export type UpstreamResult = { uri: string; response: FakeResponse; error: string | undefined };

export type UpstreamOptions = {
  keepAlives: boolean;
  appendRequest: boolean;
  timeoutMs: number;
  allowInsecure: boolean;
  log: ServiceLog;
};

/** grpc-go's codes.Code String(). */
const CODE_NAMES = [
  'OK',
  'Canceled',
  'Unknown',
  'InvalidArgument',
  'DeadlineExceeded',
  'NotFound',
  'AlreadyExists',
  'PermissionDenied',
  'ResourceExhausted',
  'FailedPrecondition',
  'Aborted',
  'OutOfRange',
  'Unimplemented',
  'Internal',
  'Unavailable',
  'DataLoss',
  'Unauthenticated',
];
export const grpcCodeName = (code: number) => CODE_NAMES[code] ?? `Code(${code})`;

/** Headers Go's client transport never takes from Request.Header, and hop-by-hop headers. */
const NOT_COPIED = new Set([
  'host',
  'content-length',
  'transfer-encoding',
  'trailer',
  'connection',
  'keep-alive',
  'proxy-connection',
  'te',
  'upgrade',
]);

/** Runs the calls with `workers` in parallel, as the original worker pool (0 workers: no calls). */
export async function runWorkers(
  uris: string[],
  workers: number,
  call: (uri: string) => Promise<UpstreamResult>,
): Promise<UpstreamResult[]> {
  if (workers < 0) throw new GoPanic('sync: negative WaitGroup counter');
  const n = Math.min(workers, uris.length);
  const done: UpstreamResult[] = [];
  let next = 0;
  await Promise.all(
    Array.from({ length: n }, async () => {
      while (next < uris.length) {
        const uri = uris[next++]!;
        done.push(await call(uri));
      }
    }),
  );
  return done;
}

export class UpstreamClient {
  #opts: UpstreamOptions;
  #agents: { http: http.Agent; https: https.Agent };
  #grpc = new Map<string, grpc.Client>();

  constructor(opts: UpstreamOptions) {
    this.#opts = opts;
    this.#agents = {
      http: new http.Agent({ keepAlive: opts.keepAlives }),
      https: new https.Agent({ keepAlive: opts.keepAlives, rejectUnauthorized: !opts.allowInsecure }),
    };
  }

  close(): void {
    this.#agents.http.destroy();
    this.#agents.https.destroy();
    for (const c of this.#grpc.values()) c.close();
    this.#grpc.clear();
  }

  /** workerHTTP: the call, its log lines and its nested document. */
  async callHTTP(parent: Span, uri: string, body: Buffer, inbound: InboundRequest | undefined): Promise<UpstreamResult> {
    const log = this.#opts.log;
    const method = body.length > 0 ? 'POST' : 'GET';
    const headers: [string, string][] = [];
    const parts = splitURL(uri);
    const process = log.callHTTPUpstream(
      parent,
      uri,
      method,
      () => formatRequest(method, uri, 'HTTP/1.1', parts?.host ?? '', headers),
      (k, v) => headers.push([k, v]),
    );
    const result = parts
      ? await this.#doHTTP(parts, uri, method, body, headers, inbound)
      : {
          code: -1,
          error: `Error communicating with upstream service: ${method[0]}${method.slice(1).toLowerCase()} "${uri}": unsupported protocol scheme`,
        };
    process.setMetadata('response', String(result.code));
    process.setError(result.error);
    let response = emptyResponse();
    if (result.data !== undefined) {
      const parsed = responseFromJSON(result.data);
      if (parsed.ok) response = parsed.response;
      else log.log.error('Unable to read response JSON', 'error', err(parsed.error));
    }
    response.uri = uri;
    response.code = result.code;
    response.headers = result.headers ?? new Map();
    response.cookies = result.cookies ?? new Map();
    if (result.error !== undefined) response.error = result.error;
    process.finished();
    return { uri, response, error: result.error };
  }

  /** client.HTTPImpl.Do. */
  #doHTTP(
    parts: URLParts,
    uri: string,
    method: string,
    body: Buffer,
    headers: [string, string][],
    inbound: InboundRequest | undefined,
  ): Promise<{ code: number; data?: Buffer; headers?: Map<string, string>; cookies?: Map<string, string>; error?: string }> {
    const out = new Map<string, string>();
    for (const [k, v] of headers) out.set(canonicalHeaderKey(k), v);
    let target = uri;
    if (inbound && this.#opts.appendRequest) {
      // appendHeaders: inbound headers the request does not have yet (the last value wins); appendPath.
      const initial = new Set(out.keys());
      for (const [k, v] of inbound.headers) {
        const key = canonicalHeaderKey(k);
        if (!NOT_COPIED.has(key.toLowerCase()) && !initial.has(key)) out.set(key, v);
      }
      target = `${parts.scheme}://${parts.host}${escapeGoPath(unescapePath(parts.path) + inbound.path)}${parts.query}`;
    }
    const goMethod = method[0] + method.slice(1).toLowerCase();
    const url = new URL(target);
    const wrap = (text: string) => `Error communicating with upstream service: ${goMethod} "${target}": ${text}`;
    if (!out.has('User-Agent')) out.set('User-Agent', 'Go-http-client/1.1');
    const addedGzip = !out.has('Accept-Encoding');
    if (addedGzip) out.set('Accept-Encoding', 'gzip');
    if (body.length > 0) out.set('Content-Length', String(body.length));
    if (!this.#opts.keepAlives) out.set('Connection', 'close');
    const isHttps = url.protocol === 'https:';
    const log = this.#opts.log;
    return new Promise((resolve) => {
      let settled = false;
      const settle = (v: Parameters<typeof resolve>[0]) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        resolve(v);
      };
      const req = (isHttps ? https : http).request(
        url,
        { method, headers: Object.fromEntries(out), agent: isHttps ? this.#agents.https : this.#agents.http },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('error', (e) => settle({ code: res.statusCode ?? -1, error: `Error reading response body: ${e.message}` }));
          res.on('end', () => {
            let data = Buffer.concat(chunks);
            const h = new Map<string, string[]>();
            for (let i = 0; i + 1 < res.rawHeaders.length; i += 2) {
              const k = canonicalHeaderKey(res.rawHeaders[i]!);
              h.set(k, [...(h.get(k) ?? []), res.rawHeaders[i + 1]!]);
            }
            // Go moves Transfer-Encoding out of Header and drops "Connection: close".
            h.delete('Transfer-Encoding');
            if ((h.get('Connection') ?? []).some((v) => /(^|,)\s*close\s*($|,)/i.test(v))) h.delete('Connection');
            if (addedGzip && (h.get('Content-Encoding') ?? [])[0]?.toLowerCase() === 'gzip') {
              try {
                data = zlib.gunzipSync(data);
              } catch (e) {
                settle({ code: res.statusCode ?? -1, error: `Error reading response body: ${(e as Error).message}` });
                return;
              }
              h.delete('Content-Encoding');
              h.delete('Content-Length');
            }
            const headersOut = new Map<string, string>();
            for (const [k, v] of h) headersOut.set(k, v.join(','));
            const cookies = new Map<string, string>();
            for (const line of h.get('Set-Cookie') ?? []) {
              const c = parseSetCookie(line);
              if (c) cookies.set(c[0], c[1]);
            }
            const code = res.statusCode ?? -1;
            settle({
              code,
              data,
              headers: headersOut,
              cookies,
              ...(code !== 200 ? { error: `Error processing upstream request: ${target}, expected code 200, got ${code}` } : {}),
            });
          });
        },
      );
      req.on('socket', () => log.gotConnection(req.reusedSocket));
      req.on('error', (e: NodeJS.ErrnoException) => settle({ code: -1, error: wrap(goDialError(e, url)) }));
      const timer = setTimeout(
        () => {
          req.destroy();
          settle({ code: -1, error: wrap('context deadline exceeded (Client.Timeout exceeded while awaiting headers)') });
        },
        this.#opts.timeoutMs || 2 ** 31 - 1,
      );
      timer.unref();
      req.end(body.length > 0 ? body : undefined);
    });
  }

  #grpcClient(uri: string): grpc.Client {
    let c = this.#grpc.get(uri);
    if (!c) {
      c = new grpc.Client(uri.replace(/^grpc:\/\//, ''), grpc.credentials.createInsecure());
      this.#grpc.set(uri, c);
    }
    return c;
  }

  /** workerGRPC. */
  async callGRPC(parent: Span, uri: string, data: Buffer): Promise<UpstreamResult> {
    const log = this.#opts.log;
    const { process, metadata } = log.callGRPCUpstream(parent, uri);
    const Request = messageType('Request');
    const Response = messageType('Response');
    const md = new grpc.Metadata();
    for (const [k, v] of metadata) md.add(k, v);
    const headers = new Map<string, string>();
    const addAll = (m: grpc.Metadata) => {
      for (const [k, v] of Object.entries(m.toJSON())) {
        if (GRPC_CLIENT_DROPPED.has(k)) continue;
        headers.set(k, v.map((x) => (Buffer.isBuffer(x) ? x.toString('latin1') : String(x))).join(','));
      }
    };
    let client: grpc.Client;
    try {
      client = this.#grpcClient(uri);
    } catch (e) {
      const text = `rpc error: code = Unavailable desc = ${(e as Error).message}`;
      process.setError(text);
      process.finished();
      const r = emptyResponse();
      Object.assign(r, { uri, type: 'gRPC', code: 14, error: text });
      return { uri, response: r, error: text };
    }
    const outcome = await new Promise<{ message?: Buffer; error?: grpc.ServiceError }>((resolve) => {
      const call = client.makeUnaryRequest(
        '/FakeService/Handle',
        (m: Buffer) => m,
        (b: Buffer) => b,
        Buffer.from(Request.encode(Request.create({ data })).finish()),
        md,
        {},
        (error, message) => resolve(error ? { error } : { ...(message ? { message } : {}) }),
      );
      call.on('metadata', addAll);
      call.on('status', (s) => addAll(s.metadata));
    });
    let r = emptyResponse();
    let errorText: string | undefined;
    if (outcome.error) {
      const e = outcome.error;
      errorText = `rpc error: code = ${grpcCodeName(e.code)} desc = ${e.details ?? ''}`;
      process.setError(errorText);
      r.code = e.code;
      process.setMetadata('ResponseCode', String(r.code));
      const details = e.metadata?.get('grpc-status-details-bin')[0];
      if (Buffer.isBuffer(details)) {
        const detail = decodeStatusDetail(details, 'Response');
        if (detail) {
          const parsed = responseFromJSON(String((Response.toObject(Response.decode(detail)) as { Message?: string }).Message ?? ''));
          if (parsed.ok) r = parsed.response;
        }
      }
    }
    if (outcome.message) {
      const msg = String((Response.toObject(Response.decode(outcome.message)) as { Message?: string }).Message ?? '');
      const parsed = responseFromJSON(msg);
      if (parsed.ok) r = parsed.response;
      else log.log.error('Unable to read response JSON', 'error', err(parsed.error));
    }
    r.uri = uri;
    r.type = 'gRPC';
    r.headers = headers;
    if (errorText !== undefined) r.error = errorText;
    process.finished();
    return { uri, response: r, error: errorText };
  }
}

/** Response metadata grpc-go keeps out of header and trailer maps (content-type stays). */
const GRPC_CLIENT_DROPPED = new Set([
  'grpc-status',
  'grpc-message',
  'grpc-status-details-bin',
  'grpc-encoding',
  'grpc-timeout',
  'grpc-message-type',
  'te',
  'user-agent',
]);

/** Go's dial and read errors, in its words, for the common cases. */
function goDialError(e: NodeJS.ErrnoException, url: URL): string {
  const port = url.port || (url.protocol === 'https:' ? '443' : '80');
  const addr = (e as { address?: string }).address ?? url.hostname;
  switch (e.code) {
    case 'ECONNREFUSED':
      return `dial tcp ${addr.includes(':') ? `[${addr}]` : addr}:${(e as { port?: number }).port ?? port}: connect: connection refused`;
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
      return `dial tcp: lookup ${url.hostname}: no such host`;
    case 'ECONNRESET':
      return 'EOF';
    case 'ETIMEDOUT':
      return `dial tcp ${addr}:${port}: i/o timeout`;
    default:
      return e.message;
  }
}

type URLParts = { scheme: string; host: string; path: string; query: string };

/** The pieces of an absolute URI as url.Parse keeps them (raw path, host with its port as written). */
function splitURL(uri: string): URLParts | undefined {
  const m = /^([a-zA-Z][a-zA-Z0-9+.-]*):\/\/([^/?#]*)([^?#]*)(\?[^#]*)?/.exec(uri);
  if (!m || !['http', 'https'].includes(m[1]!.toLowerCase())) return undefined;
  return { scheme: m[1]!.toLowerCase(), host: m[2]!.replace(/^[^@]*@/, ''), path: m[3]!, query: m[4] ?? '' };
}

/** The first name=value of a Set-Cookie line (http.Response.Cookies), quotes around the value removed. */
export function parseSetCookie(line: string): [string, string] | undefined {
  const first = line.split(';')[0]!.trim();
  const eq = first.indexOf('=');
  if (eq <= 0) return undefined;
  const name = first.slice(0, eq).trim();
  let value = first.slice(eq + 1).trim();
  if (!/^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/.test(name)) return undefined;
  if (value.length >= 2 && value.startsWith('"') && value.endsWith('"')) value = value.slice(1, -1);
  if (!/^[\x21\x23-\x2b\x2d-\x3a\x3c-\x5b\x5d-\x7e ,]*$/.test(value)) return undefined;
  return [name, value];
}
