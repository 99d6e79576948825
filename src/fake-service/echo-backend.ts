/**
 * A stand-in for the Gateway API conformance echo backend (echo-basic v0.1.0): the HTTP mode
 * (JSON echo of the request with namespace and pod, X-Echo-Set-Header, ?delay=, /status/NNN,
 * the per-uuid retry simulator, /ws) on HTTP_PORT, HTTP/1.1 + h2c on H2C_PORT, TLS on HTTPS_PORT;
 * and the gRPC mode (GRPC_ECHO_SERVER) serving gateway_api_conformance...GrpcEcho with reflection.
 */
import fs from 'node:fs';
import http from 'node:http';
import http2 from 'node:http2';
import https from 'node:https';
import net from 'node:net';
import tls from 'node:tls';
import type { Duplex } from 'node:stream';
import { systemClock, type Clock } from '../common/clock.js';
import type { Env } from './config.js';
import { ConnectionSplitter, h2cPreface } from './conn-split.js';
import { canonicalHeaderKey, cleanMuxPath, compareBytes, goStatusText, parseGoDuration, parseGoQuery, unescapePath } from './go-format.js';
import { indentGoJson, marshalGo, type GoValue } from './go-json.js';
import { GrpcServer, type GrpcCall, type GrpcService } from './grpc-server.js';
import { GRPCECHO_FILES, messageType } from './protos.js';
import { ProtoRegistry, reflectionServices } from './reflection.js';
import { GoPanic } from './response.js';
import { serveWebSocketEcho } from './websocket.js';

export type EchoBackendOptions = {
  /** Bind ports instead of HTTP_PORT / H2C_PORT / HTTPS_PORT (the echoed httpPort still comes from the env). */
  httpPort?: number;
  h2cPort?: number;
  httpsPort?: number;
  /** Bind address; 0.0.0.0 as the original by default. */
  host?: string;
  clock?: Clock;
  /** Where the backend's own lines go ("Echoing back request made to ..."); stdout by default. */
  stdout?: (line: string) => void;
  shutdownGraceMs?: number;
};

export type EchoBackendHandle = {
  mode: 'http' | 'grpc';
  /** Bound ports: http (or the gRPC plaintext port), h2c, https when serving TLS. */
  ports: { http: number; h2c?: number; https?: number };
  port: number;
  address: string;
  /** Request-URIs echoed so far, in order (what the mirror tests read from the pod log). */
  requestURIs: string[];
  close(): Promise<void>;
};

type Context = { namespace: string; ingress: string; service: string; pod: string };

/** One request as the echo handler sees it (http.Request). */
export type EchoRequest = {
  requestURI: string;
  host: string;
  method: string;
  proto: string;
  /** Header lines with Go's canonical names, Host excluded. */
  headers: [string, string][];
  remoteAddr: string;
  tls?: TLSInfo;
  /** Body form values for POST/PUT/PATCH form requests (FormValue reads them before the query). */
  form?: Map<string, string[]>;
};

export type TLSInfo = { version: string; serverName: string; negotiatedProtocol: string; cipherSuite: string; peerCertificates: string[] };

/** A complete answer: status, header lines in order, body; or a connection reset. */
export type EchoReply =
  { kind: 'response'; status: number; headers: [string, string][]; body: Buffer } | { kind: 'reset' } | { kind: 'hijack-unsupported' };

const JSON_HEADERS: [string, string][] = [
  ['Content-Type', 'application/json'],
  ['X-Content-Type-Options', 'nosniff'],
];

/** The echo JSON (RequestAssertions, json.MarshalIndent with one space). */
export function echoDocument(req: EchoRequest, httpPort: string, ctx: Context): string {
  const headers = new Map<string, string[]>();
  for (const [k, v] of req.headers) headers.set(k, [...(headers.get(k) ?? []), v]);
  const sorted = new Map<string, GoValue>();
  for (const k of [...headers.keys()].sort(compareBytes)) sorted.set(k, headers.get(k)!);
  const doc = new Map<string, GoValue>([
    ['path', req.requestURI],
    ['host', req.host],
    ['method', req.method],
    ['proto', req.proto],
    ['headers', sorted],
    ['httpPort', httpPort],
    ['namespace', ctx.namespace],
    ['ingress', ctx.ingress],
    ['service', ctx.service],
    ['pod', ctx.pod],
  ]);
  if (req.tls) {
    const t = new Map<string, GoValue>([['version', req.tls.version]]);
    if (req.tls.peerCertificates.length) t.set('peerCertificates', req.tls.peerCertificates);
    t.set('serverName', req.tls.serverName);
    if (req.tls.negotiatedProtocol) t.set('negotiatedProtocol', req.tls.negotiatedProtocol);
    t.set('cipherSuite', req.tls.cipherSuite);
    doc.set('tls', t);
  }
  return indentGoJson(marshalGo(doc), ' ');
}

/** X-Echo-Set-Header "k1:v1,k2:v2": response headers, names kept as written, repeats appended with ','. */
export function echoSetHeaders(req: EchoRequest): [string, string][] {
  const out = new Map<string, string>();
  for (const [k, v] of req.headers) {
    if (k !== 'X-Echo-Set-Header') continue;
    for (const piece of v.split(',')) {
      const trimmed = piece.trim();
      const colon = trimmed.indexOf(':');
      const name = colon < 0 ? trimmed : trimmed.slice(0, colon);
      const value = colon < 0 ? '' : trimmed.slice(colon + 1);
      const prev = out.get(name);
      out.set(name, prev === undefined ? value : `${prev},${value.trim()}`);
    }
  }
  // Go writes no header with an invalid name, and trims values.
  return [...out]
    .filter(([k]) => /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/.test(k))
    .map(([k, v]) => [k, v.trim()] as [string, string])
    .filter(([, v]) => !/[\r\n\0]/.test(v));
}

function jsonError(message: string, status: number): EchoReply {
  return { kind: 'response', status, headers: [...JSON_HEADERS], body: Buffer.from(JSON.stringify({ message }), 'utf8') };
}

/** FormValue: the body form first, then the query. */
function formValue(req: EchoRequest, key: string): string {
  const q = req.requestURI.indexOf('?');
  const values = new Map(req.form ?? []);
  parseGoQuery(q < 0 ? '' : req.requestURI.slice(q + 1), values);
  return values.get(key)?.[0] ?? '';
}

function queryValue(req: EchoRequest, key: string): string {
  const q = req.requestURI.indexOf('?');
  return parseGoQuery(q < 0 ? '' : req.requestURI.slice(q + 1)).get(key)?.[0] ?? '';
}

/** Go's strconv.Atoi. */
function atoi(s: string): number | undefined {
  return /^[+-]?[0-9]+$/.test(s) && Math.abs(Number(s)) <= Number.MAX_SAFE_INTEGER ? Number(s) : undefined;
}

export class EchoHandlers {
  #httpPort: string;
  #ctx: Context;
  #clock: Clock;
  #stdout: (line: string) => void;
  #attempts = new Map<string, number>();
  #retryLock: Promise<void> = Promise.resolve();
  readonly requestURIs: string[] = [];

  constructor(httpPort: string, ctx: Context, clock: Clock, stdout: (line: string) => void) {
    this.#httpPort = httpPort;
    this.#ctx = ctx;
    this.#clock = clock;
    this.#stdout = stdout;
  }

  #sleep(ms: number): Promise<void> {
    return new Promise((resolve) => void this.#clock.setTimeout(resolve, ms));
  }

  /** delayResponse: sleeps for the Go duration in `key`; an error text when it does not parse. */
  async #delay(req: EchoRequest, key: string): Promise<string | undefined> {
    const d = formValue(req, key);
    if (d === '') return undefined;
    const parsed = parseGoDuration(d);
    if (!parsed.ok) return parsed.error;
    if (parsed.value > 0) await this.#sleep(parsed.value / 1e6);
    return undefined;
  }

  async echo(req: EchoRequest): Promise<EchoReply> {
    this.#stdout(`Echoing back request made to ${req.requestURI} to client (${req.remoteAddr})\n`);
    this.requestURIs.push(req.requestURI);
    const delayError = await this.#delay(req, 'delay');
    if (delayError) return jsonError(delayError, 500);
    const body = Buffer.from(echoDocument(req, this.#httpPort, this.#ctx), 'utf8');
    const headers = echoSetHeaders(req).filter(([k]) => !/^(content-type|x-content-type-options)$/i.test(k));
    return { kind: 'response', status: 200, headers: [...headers, ...JSON_HEADERS], body };
  }

  health(): EchoReply {
    return { kind: 'response', status: 200, headers: [], body: Buffer.from('OK') };
  }

  status(req: EchoRequest): EchoReply {
    const m = /^\/status\/([0-9]{3})$/.exec(req.requestURI);
    return { kind: 'response', status: m ? Number(m[1]) : 400, headers: [], body: Buffer.alloc(0) };
  }

  /** The retry simulator: fails until `succeedAfter` attempts were seen for `uuid` (one lock, as the original's mutex). */
  async retry(req: EchoRequest): Promise<EchoReply> {
    const uuid = queryValue(req, 'uuid');
    if (uuid === '') return { kind: 'response', status: 400, headers: [], body: Buffer.from('uuid is required') };
    const succeedAfter = atoi(queryValue(req, 'succeedAfter'));
    if (succeedAfter === undefined) return { kind: 'response', status: 400, headers: [], body: Buffer.from('succeedAfter is required') };
    const responseCode = atoi(queryValue(req, 'responseCode'));
    const previous = this.#retryLock;
    let release!: () => void;
    this.#retryLock = new Promise((r) => (release = r));
    await previous;
    try {
      const seen = this.#attempts.get(uuid) ?? 0;
      if (seen < succeedAfter) {
        this.#attempts.set(uuid, seen + 1);
        const delayError = await this.#delay(req, 'delayRetry');
        if (delayError) return jsonError(delayError, 500);
        if (responseCode !== undefined) return { kind: 'response', status: responseCode, headers: [], body: Buffer.alloc(0) };
        return req.proto === 'HTTP/2.0' ? { kind: 'hijack-unsupported' } : { kind: 'reset' };
      }
      return await this.echo(req);
    } finally {
      release();
    }
  }

  /** The mux of the HTTP and HTTPS ports (after `//` became `/`); undefined for /ws. */
  async route(req: EchoRequest): Promise<EchoReply | { kind: 'redirect'; location: string } | undefined> {
    const m = /^(?:[a-zA-Z][a-zA-Z0-9+.-]*:\/\/[^/?#]*)?([^?#]*)(?:\?([^#]*))?/.exec(req.requestURI)!;
    const path = unescapePath(m[1] ?? '').replaceAll('//', '/');
    const patterns = ['/health', '/status/', '/retry/', '/', '/ws'];
    if (req.method !== 'CONNECT') {
      const clean = cleanMuxPath(path);
      const suffix = m[2] ? `?${m[2]}` : '';
      if (!patterns.includes(clean) && patterns.includes(clean + '/')) return { kind: 'redirect', location: clean + '/' + suffix };
      if (clean !== path) return { kind: 'redirect', location: clean + suffix };
    }
    if (path === '/health') return this.health();
    if (path === '/ws') return undefined;
    if (path.startsWith('/status/')) return this.status(req);
    if (path.startsWith('/retry/')) return this.retry(req);
    return this.echo(req);
  }

  /** The h2c port's only handler. */
  async h2c(req: EchoRequest): Promise<EchoReply> {
    const upgrade = req.headers.find(([k]) => k === 'Upgrade')?.[1] ?? '';
    if (req.proto !== 'HTTP/2.0' && upgrade !== 'h2c')
      return { kind: 'response', status: 400, headers: [], body: Buffer.from('Expected h2c request') };
    return this.echo(req);
  }
}

/** Writes a reply as net/http would (Date, Content-Length, sniffed text/plain). */
function writeReply(res: http.ServerResponse | http2.Http2ServerResponse, reply: EchoReply): void {
  if (reply.kind === 'reset') {
    const socket = res.socket as net.Socket | null;
    if (socket && typeof socket.resetAndDestroy === 'function') socket.resetAndDestroy();
    else socket?.destroy();
    return;
  }
  if (reply.kind === 'hijack-unsupported') return writeReply(res, jsonError('response writer does not support hijacking', 500));
  if (reply.status < 100 || reply.status > 999) throw new GoPanic(`invalid WriteHeader code ${reply.status}`);
  for (const [k, v] of reply.headers) {
    const prev = res.getHeader(k);
    res.setHeader(k, prev === undefined ? v : [...(Array.isArray(prev) ? prev : [String(prev)]), v]);
  }
  if (reply.body.length > 0 && !res.hasHeader('content-type')) res.setHeader('Content-Type', 'text/plain; charset=utf-8');
  res.setHeader('Content-Length', String(reply.body.length));
  res.statusCode = reply.status < 200 ? 200 : reply.status;
  if ('statusMessage' in res && !(res instanceof http2.Http2ServerResponse)) res.statusMessage = goStatusText(res.statusCode);
  res.end(reply.body);
}

/** The same reply written raw on a socket taken over by an Upgrade request. */
function writeRawReply(socket: Duplex, input: EchoReply | { kind: 'redirect'; location: string }): void {
  if (input.kind === 'reset') {
    (socket as net.Socket).resetAndDestroy?.();
    return;
  }
  const reply =
    input.kind === 'redirect'
      ? { status: 301, headers: [['Location', input.location]] as [string, string][], body: Buffer.alloc(0) }
      : input.kind === 'hijack-unsupported'
        ? (jsonError('response writer does not support hijacking', 500) as EchoReply & { kind: 'response' })
        : input;
  if (reply.status < 100 || reply.status > 999) {
    socket.destroy();
    return;
  }
  const lines = [`HTTP/1.1 ${reply.status} ${goStatusText(reply.status)}`, ...reply.headers.map(([k, v]) => `${k}: ${v}`)];
  if (reply.body.length > 0 && !reply.headers.some(([k]) => k.toLowerCase() === 'content-type'))
    lines.push('Content-Type: text/plain; charset=utf-8');
  lines.push(`Content-Length: ${reply.body.length}`, `Date: ${new Date().toUTCString()}`, 'Connection: close');
  socket.end(Buffer.concat([Buffer.from(lines.join('\r\n') + '\r\n\r\n', 'latin1'), reply.body]));
}

function tlsInfo(socket: tls.TLSSocket): TLSInfo {
  const version = socket.getProtocol() ?? '';
  const peer = socket.getPeerCertificate?.(true);
  const certs: string[] = [];
  let cert = peer && 'raw' in peer && peer.raw ? peer : undefined;
  const seen = new Set<unknown>();
  while (cert && !seen.has(cert)) {
    seen.add(cert);
    const b64 = cert.raw.toString('base64').replace(/.{64}/g, '$&\n');
    certs.push(`-----BEGIN CERTIFICATE-----\n${b64}${b64.endsWith('\n') ? '' : '\n'}-----END CERTIFICATE-----\n`);
    cert =
      (cert as tls.DetailedPeerCertificate).issuerCertificate !== cert
        ? (cert as tls.DetailedPeerCertificate).issuerCertificate
        : undefined;
    if (cert && !('raw' in cert)) cert = undefined;
  }
  return {
    version: version.replace(/^TLSv1$/, 'TLSv1.0'),
    serverName: (socket as tls.TLSSocket & { servername?: string | false }).servername || '',
    negotiatedProtocol: socket.alpnProtocol || '',
    cipherSuite: socket.getCipher()?.standardName ?? '',
    peerCertificates: certs,
  };
}

function remoteAddr(socket: { remoteAddress?: string | undefined; remotePort?: number | undefined } | null | undefined): string {
  const a = socket?.remoteAddress ?? '';
  return `${a.includes(':') ? `[${a}]` : a}:${socket?.remotePort ?? 0}`;
}

/** The request as EchoRequest; reads a form body when FormValue would. */
async function toEchoRequest(req: http.IncomingMessage | http2.Http2ServerRequest, peer?: string): Promise<EchoRequest> {
  const h2 = req.httpVersionMajor === 2;
  const headers: [string, string][] = [];
  const raw = req.rawHeaders;
  for (let i = 0; i + 1 < raw.length; i += 2) {
    const k = raw[i]!;
    if (k.startsWith(':') || k.toLowerCase() === 'host') continue;
    headers.push([canonicalHeaderKey(k), raw[i + 1]!]);
  }
  const socket = req.socket as net.Socket | tls.TLSSocket | undefined;
  const method = req.method ?? 'GET';
  const out: EchoRequest = {
    requestURI: req.url ?? '/',
    host: h2 ? String(req.headers[':authority'] ?? req.headers['host'] ?? '') : String(req.headers['host'] ?? ''),
    method,
    proto: h2 ? 'HTTP/2.0' : `HTTP/${req.httpVersion}`,
    headers,
    remoteAddr: peer ?? remoteAddr(socket),
  };
  if (socket && socket instanceof tls.TLSSocket) out.tls = tlsInfo(socket);
  const ct = String(req.headers['content-type'] ?? '')
    .split(';')[0]!
    .trim()
    .toLowerCase();
  if (['POST', 'PUT', 'PATCH'].includes(method) && ct === 'application/x-www-form-urlencoded') {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    out.form = parseGoQuery(Buffer.concat(chunks).toString('utf8'));
  } else req.resume();
  return out;
}

const contextFrom = (env: Env): Context => ({
  namespace: env['NAMESPACE'] ?? '',
  ingress: env['INGRESS_NAME'] ?? '',
  service: env['SERVICE_NAME'] ?? '',
  pod: env['POD_NAME'] ?? '',
});

function listen(server: net.Server, port: number, host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      server.on('error', () => {});
      resolve((server.address() as net.AddressInfo).port);
    });
  });
}

function portFrom(env: Env, name: string, dflt: number): number {
  const v = env[name];
  if (v === undefined || v === '') return dflt;
  if (!/^[0-9]+$/.test(v)) throw new Error(`non-integer value in ${name} '${v}'`);
  return Number(v);
}

/** Tracks sockets so close() can end them after the grace period. */
function tracked(server: net.Server): Set<net.Socket> {
  const set = new Set<net.Socket>();
  server.on('connection', (s: net.Socket) => {
    set.add(s);
    s.once('close', () => set.delete(s));
  });
  server.on('secureConnection', (s: net.Socket) => {
    set.add(s);
    s.once('close', () => set.delete(s));
  });
  return set;
}

async function closeAll(servers: net.Server[], sockets: Set<net.Socket>[], graceMs: number): Promise<void> {
  const closed = Promise.all(servers.map((s) => new Promise<void>((r) => s.close(() => r()))));
  for (const s of servers) (s as http.Server).closeIdleConnections?.();
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([closed, new Promise<void>((r) => (timer = setTimeout(r, graceMs)))]);
  clearTimeout(timer);
  for (const set of sockets) for (const s of set) s.destroy();
  await closed;
}

/** Starts the echo backend in the mode its environment selects. */
export async function startEchoBackend(env: Env, opts: EchoBackendOptions = {}): Promise<EchoBackendHandle> {
  const clock = opts.clock ?? systemClock;
  const stdout = opts.stdout ?? ((l: string) => void process.stdout.write(l));
  const host = opts.host ?? '0.0.0.0';
  const grace = opts.shutdownGraceMs ?? 5000;
  const ctx = contextFrom(env);
  if ((env['GRPC_ECHO_SERVER'] ?? '') !== '') return startGrpcEcho(env, opts, ctx, host, grace, stdout);

  const httpPortText = env['HTTP_PORT'] || '3000';
  const handlers = new EchoHandlers(httpPortText, ctx, clock, stdout);
  const servers: net.Server[] = [];
  const sockets: Set<net.Socket>[] = [];

  const onMuxRequest = (req: http.IncomingMessage | http2.Http2ServerRequest, res: http.ServerResponse | http2.Http2ServerResponse) => {
    void (async () => {
      const er = await toEchoRequest(req);
      const reply = await handlers.route(er);
      if (reply === undefined) return writeReply(res, { kind: 'response', status: 400, headers: [], body: Buffer.from('Bad Request') });
      if (reply.kind === 'redirect')
        return writeReply(res, { kind: 'response', status: 301, headers: [['Location', reply.location]], body: Buffer.alloc(0) });
      writeReply(res, reply);
    })().catch(() => req.socket?.destroy());
  };
  const onMuxUpgrade = (req: http.IncomingMessage, socket: Duplex, head: Buffer) => {
    socket.on('error', () => {});
    void (async () => {
      const er = await toEchoRequest(req);
      const reply = await handlers.route(er);
      if (reply === undefined) {
        if (serveWebSocketEcho(req, socket, head)) stdout(`established websocket connection ${er.remoteAddr}\n`);
        return;
      }
      writeRawReply(socket, reply);
    })().catch(() => socket.destroy());
  };

  // HTTP_PORT: plain HTTP/1.1.
  const main = http.createServer(onMuxRequest);
  main.on('upgrade', onMuxUpgrade);
  main.on('clientError', (_e, s) => s.destroy());
  sockets.push(tracked(main));
  servers.push(main);
  const httpPort = await listen(main, opts.httpPort ?? portFrom(env, 'HTTP_PORT', 3000), host);
  stdout(`Starting server, listening on port ${httpPortText} (http)\n`);

  // H2C_PORT: HTTP/1.1 and HTTP/2 with prior knowledge, every path to the echo handler.
  const onH2c = (
    req: http.IncomingMessage | http2.Http2ServerRequest,
    res: http.ServerResponse | http2.Http2ServerResponse,
    peer?: string,
  ) => {
    void (async () => writeReply(res, await handlers.h2c(await toEchoRequest(req, peer))))().catch(() => req.socket?.destroy());
  };
  const h2cHttp1 = http.createServer((req, res) => onH2c(req, res));
  h2cHttp1.on('upgrade', (req: http.IncomingMessage, socket: Duplex) => {
    socket.on('error', () => {});
    void (async () => writeRawReply(socket, await handlers.h2c(await toEchoRequest(req))))().catch(() => socket.destroy());
  });
  const h2cHttp2 = http2.createServer();
  const splitter = new ConnectionSplitter(h2cPreface, h2cHttp1, h2cHttp2);
  h2cHttp2.on('request', (req, res) => {
    const p = splitter.peer(req.stream.session);
    onH2c(req, res, p ? remoteAddr(p) : undefined);
  });
  const h2cServer = net.createServer((s) => splitter.accept(s));
  servers.push(h2cServer);
  sockets.push(splitter.sockets);
  const h2cPort = await listen(h2cServer, opts.h2cPort ?? portFrom(env, 'H2C_PORT', 3001), host);
  stdout(`Starting server, listening on port ${env['H2C_PORT'] || '3001'} (h2c)\n`);

  let httpsPort: number | undefined;
  if ((env['TLS_SERVER_CERT'] ?? '') !== '' && (env['TLS_SERVER_PRIVKEY'] ?? '') !== '') {
    const caFile = env['TLS_CLIENT_CACERTS'] ?? '';
    const secure = http2.createSecureServer(
      {
        cert: fs.readFileSync(env['TLS_SERVER_CERT']!),
        key: fs.readFileSync(env['TLS_SERVER_PRIVKEY']!),
        allowHTTP1: true,
        ...(caFile ? { ca: fs.readFileSync(caFile), requestCert: true, rejectUnauthorized: false } : {}),
      },
      onMuxRequest,
    );
    // VerifyClientCertIfGiven: a presented certificate must verify; none is fine.
    if (caFile)
      secure.on('secureConnection', (s: tls.TLSSocket) => {
        if (!s.authorized && s.getPeerCertificate() && Object.keys(s.getPeerCertificate()).length > 0) s.destroy();
      });
    (secure as unknown as https.Server).on('upgrade', onMuxUpgrade);
    sockets.push(tracked(secure));
    servers.push(secure);
    httpsPort = await listen(secure, opts.httpsPort ?? portFrom(env, 'HTTPS_PORT', 8443), host);
    stdout(`Starting server, listening on port ${env['HTTPS_PORT'] || '8443'} (https)\n`);
  }

  let closing: Promise<void> | undefined;
  return {
    mode: 'http',
    ports: { http: httpPort, h2c: h2cPort, ...(httpsPort !== undefined ? { https: httpsPort } : {}) },
    port: httpPort,
    address: (main.address() as net.AddressInfo).address,
    requestURIs: handlers.requestURIs,
    close: () => {
      splitter.closeUnclassified();
      return (closing ??= closeAll(servers, sockets, grace));
    },
  };
}

/** The gRPC mode: GrpcEcho (Echo, EchoTwo; EchoThree unimplemented) and reflection. */
async function startGrpcEcho(
  env: Env,
  opts: EchoBackendOptions,
  ctx: Context,
  host: string,
  grace: number,
  stdout: (line: string) => void,
): Promise<EchoBackendHandle> {
  const SERVICE = 'gateway_api_conformance.echo_basic.grpcecho.GrpcEcho';
  const EchoResponse = messageType('gateway_api_conformance.echo_basic.grpcecho.EchoResponse');
  const make = (secure: boolean): GrpcService => {
    const doEcho = (method: string) => async (_req: Buffer, call: GrpcCall) => {
      stdout(`Received over ${secure ? 'TLS' : 'plaintext'}: \n`);
      let authority = '';
      const headers = call.metadata.map(([k, v]) => {
        const value = Buffer.isBuffer(v) ? v.toString('latin1') : v;
        if (k === ':authority') authority = value;
        return { key: k, value };
      });
      const socket = call.stream.session?.socket as tls.TLSSocket | undefined;
      const t = secure && socket ? tlsInfo(socket) : undefined;
      const assertions = {
        fully_qualified_method: `/${SERVICE}/${method}`,
        headers,
        authority,
        context: { namespace: ctx.namespace, ingress: ctx.ingress, service_name: ctx.service, pod: ctx.pod },
        ...(t
          ? {
              tls_assertions: {
                version: t.version,
                negotiated_protocol: t.negotiatedProtocol,
                server_name: t.serverName,
                cipher_suite: t.cipherSuite,
                peer_certificates: t.peerCertificates,
              },
            }
          : {}),
      };
      return Buffer.from(EchoResponse.encode(EchoResponse.fromObject({ assertions })).finish());
    };
    return {
      name: SERVICE,
      methods: {
        Echo: { kind: 'unary', handle: doEcho('Echo') },
        EchoTwo: { kind: 'unary', handle: doEcho('EchoTwo') },
      },
      // echo-basic embeds grpc-go's generated default for EchoThree; the conformance cases expect UNIMPLEMENTED.
      declaredOnly: ['EchoThree'],
    };
  };
  const registry = new ProtoRegistry(GRPCECHO_FILES);
  const servers: net.Server[] = [];
  const sockets: Set<net.Socket>[] = [];
  const sessions = new Set<http2.Http2Session>();
  const serve = (server: http2.Http2Server | http2.Http2SecureServer, secure: boolean) => {
    const grpc = new GrpcServer([make(secure), ...reflectionServices(registry)]);
    server.on('stream', (stream, headers, _flags, rawHeaders?: string[]) => grpc.handleStream(stream, headers, rawHeaders));
    server.on('session', (s) => {
      sessions.add(s);
      s.on('error', () => {});
      s.once('close', () => sessions.delete(s));
    });
    sockets.push(tracked(server));
    servers.push(server);
  };
  const plain = http2.createServer();
  serve(plain, false);
  const port = await listen(plain, opts.httpPort ?? portFrom(env, 'HTTP_PORT', 3000), host);
  stdout(`plaintext server listening at ${host}:${port}\n`);
  let httpsPort: number | undefined;
  if ((env['TLS_SERVER_CERT'] ?? '') !== '' && (env['TLS_SERVER_PRIV_KEY'] ?? '') !== '') {
    const secure = http2.createSecureServer({
      cert: fs.readFileSync(env['TLS_SERVER_CERT']!),
      key: fs.readFileSync(env['TLS_SERVER_PRIV_KEY']!),
    });
    serve(secure, true);
    httpsPort = await listen(secure, opts.httpsPort ?? portFrom(env, 'HTTPS_PORT', 8443), host);
    stdout(`secure server listening at ${host}:${httpsPort}\n`);
  }
  let closing: Promise<void> | undefined;
  return {
    mode: 'grpc',
    ports: { http: port, ...(httpsPort !== undefined ? { https: httpsPort } : {}) },
    port,
    address: (plain.address() as net.AddressInfo).address,
    requestURIs: [],
    close: () =>
      (closing ??= (async () => {
        for (const s of sessions) s.close();
        await closeAll(servers, sockets, grace);
      })()),
  };
}
