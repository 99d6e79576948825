/**
 * A backend compatible with nicholasjackson/fake-service v0.26.2, configured by the same
 * environment variables: HTTP/1.1 and gRPC on one port (split as cmux does), the JSON response
 * document, deterministic error injection, service timing, rate limiting, health and readiness
 * endpoints, upstream calls (HTTP and gRPC) and hclog log lines.
 */
import fs from 'node:fs';
import http from 'node:http';
import http2 from 'node:http2';
import net from 'node:net';
import os from 'node:os';
import tls from 'node:tls';
import { systemClock, type Clock } from '../common/clock.js';
import { systemRandom, type Random } from '../common/random.js';
import { parseFakeServiceEnv, tidyURIs, type Env, type FakeServiceConfig } from './config.js';
import { cmuxHttp1Fast, ConnectionSplitter } from './conn-split.js';
import { Cors } from './cors.js';
import { ErrorInjector } from './error-injector.js';
import { cleanMuxPath, encodeGoForm, formatGoDuration, parseGoFloat, parseGoInt10, parseGoQuery, unescapePath } from './go-format.js';
import { goError, goHeaderLines, goRedirect, goRespond } from './go-http.js';
import { GrpcServer, GrpcStatusError, type GrpcCall, type GrpcService } from './grpc-server.js';
import { levelFromString, Logger, type LogSink } from './hclog.js';
import { LoadGenerator, requestGenerator } from './load.js';
import { noopMetrics, statsdMetrics, type Metrics } from './metrics.js';
import { encodeStatusDetails, FAKE_SERVICE_FILES, messageType } from './protos.js';
import { ProtoRegistry, reflectionServices } from './reflection.js';
import { emptyResponse, GoPanic, messageBody, responseToJSON, type FakeResponse } from './response.js';
import { formatRequest, ServiceLog, type LogProcess } from './service-log.js';
import { RequestDuration } from './timing.js';
import { datadogTracer, noopTracer, splitHostPort, zipkinTracer, type Tracer } from './tracing.js';
import { runWorkers, UpstreamClient, type InboundRequest, type UpstreamResult } from './upstream.js';

export type FakeServiceOptions = {
  /** Time source (service time, error delay, rate limit, timestamps); the system clock by default. */
  clock?: Clock;
  /** Randomness for TIMING_* percentiles, variance and synthetic load; Math.random by default. */
  random?: Random;
  /** Where log lines go, instead of LOG_OUTPUT (stdout, stderr or a file). */
  logSink?: LogSink;
  /** Bind here instead of LISTEN_ADDR (the local runtime maps ports); LISTEN_ADDR is still logged. */
  listen?: { host?: string; port: number };
  /** `ip_addresses` in documents; the machine's non-loopback IPv4 addresses by default. */
  ipAddresses?: string[];
  /** Minutes east of UTC for timestamps; the process's zone by default. */
  tzOffsetMin?: number;
  /**
   * A panic the original does not recover (in a gRPC handler) kills its process. Called with it;
   * by default the service is closed and `panic: ...` is written to stderr.
   */
  onFatal?: (error: Error) => void;
  /** How long close() waits for requests in flight before cutting connections (default 30 s, as the original). */
  shutdownGraceMs?: number;
};

export type FakeServiceHandle = {
  /** The bound port and address. */
  port: number;
  address: string;
  /** The configuration read from the environment, and the variables that did not parse. */
  config: FakeServiceConfig;
  problems: string[];
  /** Graceful stop: no new connections, requests in flight finish (bounded by shutdownGraceMs). */
  close(): Promise<void>;
  /** Resolves when the service has stopped (after close() or a fatal panic). */
  closed: Promise<Error | undefined>;
};

const GRACE_DEFAULT_MS = 30_000;
const UI_PAGE = `<!doctype html>
<html><head><meta charset="utf-8"><title>fake-service</title></head>
<body><h1>fake-service</h1><pre id="out">loading...</pre>
<script>fetch('../').then(r => r.text()).then(t => { document.getElementById('out').textContent = t; });</script>
</body></html>
`;

/** Wall-clock microseconds: the high-resolution system time, or the injected clock's wall time plus its monotonic progress. */
export function wallMicros(clock: Clock): () => number {
  if (clock === systemClock) return () => Math.round((performance.timeOrigin + performance.now()) * 1000);
  const wall0 = clock.wallNow();
  const mono0 = clock.now();
  return () => Math.round((wall0 + (clock.now() - mono0)) * 1000);
}

/** Non-loopback, non-multicast IPv4 addresses of every interface (getIPInfo). */
function machineIPv4(): string[] {
  const out: string[] = [];
  for (const list of Object.values(os.networkInterfaces()))
    for (const a of list ?? []) if (a.family === 'IPv4' && !a.internal && !/^2(2[4-9]|3[0-9])\./.test(a.address)) out.push(a.address);
  return out;
}

function sinkFor(output: string): { sink: LogSink; close(): Promise<void> } {
  if (output === 'stdout') return { sink: (l) => void process.stdout.write(l), close: async () => {} };
  if (output === 'stderr') return { sink: (l) => void process.stderr.write(l), close: async () => {} };
  const fd = fs.openSync(output, 'w');
  return { sink: (l) => fs.writeSync(fd, l), close: async () => fs.closeSync(fd) };
}

/** Starts a fake-service from a container's environment. */
export async function startFakeService(env: Env, opts: FakeServiceOptions = {}): Promise<FakeServiceHandle> {
  const clock = opts.clock ?? systemClock;
  const random = opts.random ?? systemRandom;
  const { config: cfg, problems } = parseFakeServiceEnv(env, Math.floor(clock.wallNow() / 1000));
  const nowMicros = wallMicros(clock);
  // Go's time.Sleep never returns early; a Node timer can, by up to a few ms (it counts from the
  // event loop's cached time), so the rest is slept again.
  const sleep = (ns: number) =>
    new Promise<void>((resolve) => {
      const until = clock.now() + ns / 1e6;
      const wait = (ms: number) => void clock.setTimeout(() => (clock.now() >= until ? resolve() : wait(until - clock.now())), ms);
      wait(ns / 1e6);
    });

  const output = opts.logSink ? { sink: opts.logSink, close: async () => {} } : sinkFor(cfg.logOutput);
  const logger = new Logger({
    level: levelFromString(cfg.logLevel),
    json: cfg.logFormat === 'json',
    sink: output.sink,
    nowMicros,
    ...(opts.tzOffsetMin !== undefined ? { tzOffsetMin: opts.tzOffsetMin } : {}),
  });
  const tracerOpts = {
    serviceName: cfg.name,
    listenAddress: cfg.listenAddress,
    nowMicros,
    logSink: (l: string) => void process.stderr.write(l),
  };
  let tracer: Tracer = noopTracer;
  if (cfg.zipkinEndpoint !== '') tracer = zipkinTracer(cfg.zipkinEndpoint, tracerOpts);
  if (cfg.datadogTracingHost !== '') tracer = datadogTracer(`${cfg.datadogTracingHost}:${cfg.datadogTracingPort}`, tracerOpts);
  let metrics: Metrics = noopMetrics;
  if (cfg.datadogMetricsHost !== '')
    metrics = statsdMetrics(cfg.datadogMetricsHost, Number(cfg.datadogMetricsPort) || 8125, cfg.name, cfg.datadogMetricsEnvironment);
  const slog = new ServiceLog(logger, tracer, metrics, clock);
  logger.info('Using seed', 'seed', cfg.seed);

  const duration = new RequestDuration(cfg.timing50Ns, cfg.timing90Ns, cfg.timing99Ns, cfg.timingVariance, random);
  const injector = new ErrorInjector(
    {
      errorRate: cfg.errorRate,
      errorCode: cfg.errorCode,
      errorType: cfg.errorType,
      errorDelayNs: cfg.errorDelayNs,
      rateLimitRPS: cfg.rateLimitRPS,
      rateLimitCode: cfg.rateLimitCode,
    },
    logger.named('error_injector'),
    clock,
  );
  const cores = cfg.loadCPUCores === -1 ? os.availableParallelism() : cfg.loadCPUCores;
  const cpuPercentage =
    cfg.loadCPUAllocated !== 0 ? (cfg.loadCPUAllocated / (cfg.loadCPUClockSpeed * cores)) * cfg.loadCPUPercentage : cfg.loadCPUPercentage;
  const load = new LoadGenerator(
    cores,
    cpuPercentage,
    cfg.loadMemoryAllocated,
    cfg.loadMemoryVariance,
    logger.named('load_generator'),
    random,
  );
  const nextBody = requestGenerator(cfg.upstreamRequestBody, cfg.upstreamRequestSize, cfg.upstreamRequestVariance, cfg.seed, random);
  const upstream = new UpstreamClient({
    keepAlives: cfg.upstreamClientKeepAlives,
    appendRequest: cfg.upstreamAppendRequest,
    timeoutMs: cfg.upstreamRequestTimeoutNs / 1e6,
    allowInsecure: cfg.upstreamAllowInsecure,
    log: slog,
  });
  const uris = tidyURIs(cfg.upstreamURIs);
  const ipAddresses = opts.ipAddresses ?? machineIPv4();

  let healthCode = cfg.healthResponseCode;
  let ready = false;
  const readyTimer = clock.setTimeout(() => (ready = true), cfg.readyResponseDelayNs / 1e6);
  if (cfg.readyResponseDelayNs <= 0) ready = true;

  let closing = false;
  let resolveClosed!: (e: Error | undefined) => void;
  const closed = new Promise<Error | undefined>((r) => (resolveClosed = r));

  // The shared listener, as net.Listen(LISTEN_ADDR) (and the TLS wrap when configured).
  const [listenHost, listenPort] = opts.listen ? [opts.listen.host ?? '127.0.0.1', opts.listen.port] : splitHostPort(cfg.listenAddress);
  if (listenPort === undefined) {
    await output.close();
    throw new Error(`fake-service: LISTEN_ADDR ${JSON.stringify(cfg.listenAddress)} is not host:port`);
  }

  // --- gRPC: FakeService.Handle and server reflection -----------------------------------------
  const fakeGrpc: GrpcService = {
    name: 'FakeService',
    methods: { Handle: { kind: 'unary', handle: (_req, call) => handleGrpc(call) } },
  };
  const registry = new ProtoRegistry(FAKE_SERVICE_FILES);
  const grpcServer = new GrpcServer([fakeGrpc, ...reflectionServices(registry)], { onPanic: (e) => fatal(e) });
  const ResponseType = messageType('Response');
  const encodeResponse = (json: string) => Buffer.from(ResponseType.encode(ResponseType.create({ Message: json })).finish());

  async function handleGrpc(call: GrpcCall): Promise<Buffer> {
    if (cfg.readyRootPathWaitTillReady && !ready) {
      logger.info('Service Unavailable');
      throw new GrpcStatusError(14, 'Server Unavailable');
    }
    const ts = clock.now();
    const tsWall = nowMicros();
    const finished = load.generate();
    const hq = slog.handleGRPCRequest(call.metadata);
    try {
      const resp = emptyResponse();
      resp.name = cfg.name;
      resp.type = 'gRPC';
      resp.ipAddresses = ipAddresses;
      const injected = await injector.do(sleep);
      if (injected) {
        resp.code = injected.code;
        resp.error = injected.error;
        hq.setError(injected.error);
        hq.setMetadata('response', String(injected.code));
        throw new GrpcStatusError(injected.code, injected.error, statusDetails(injected.code, injected.error, resp));
      }
      const results = uris.length > 0 ? await callUpstreams(hq, undefined, (u) => u.startsWith('http://')) : [];
      for (const r of results) resp.upstreamCalls.set(r.uri, r.response);
      const failed = results.find((r) => r.error !== undefined);
      if (failed) {
        resp.code = 13;
        resp.error = failed.error!;
        hq.setMetadata('response', '13');
        hq.setError(failed.error);
        throw new GrpcStatusError(13, failed.error!, statusDetails(13, failed.error!, resp));
      }
      await serviceSleep(hq, ts);
      hq.setMetadata('response', '0');
      const te = nowMicros();
      resp.startTime = formatTime(tsWall);
      resp.endTime = formatTime(te);
      resp.duration = formatGoDuration(Math.round((clock.now() - ts) * 1e6));
      resp.body = messageBody(cfg.message);
      return encodeResponse(responseToJSON(resp));
    } finally {
      hq.finished();
      finished();
    }
  }

  function statusDetails(code: number, text: string, resp: FakeResponse): Buffer {
    return encodeStatusDetails(
      code,
      text,
      'Response',
      ResponseType.encode(ResponseType.create({ Message: responseToJSON(resp) })).finish(),
    );
  }

  const formatTime = (micros: number) => {
    const ms = Math.floor(micros / 1000);
    const offset = opts.tzOffsetMin ?? -new Date(ms).getTimezoneOffset();
    const local = new Date(ms + offset * 60_000);
    const p = (n: number, w = 2) => String(n).padStart(w, '0');
    return `${local.getUTCFullYear()}-${p(local.getUTCMonth() + 1)}-${p(local.getUTCDate())}T${p(local.getUTCHours())}:${p(local.getUTCMinutes())}:${p(local.getUTCSeconds())}.${p(((micros % 1e6) + 1e6) % 1e6, 6)}`;
  };

  /** Sleeps the calculated service time minus the time already spent ("Sleeping for"). */
  async function serviceSleep(hq: LogProcess, ts: number): Promise<void> {
    const d = duration.calculate();
    const rd = d - Math.round((clock.now() - ts) * 1e6);
    if (rd > 0) {
      const lp = slog.sleepService(hq.span, formatGoDuration(rd));
      await sleep(rd);
      lp.finished();
    }
  }

  /** The worker pool over UPSTREAM_URIS; `isHTTP` decides per URI (the gRPC handler only knows http://). */
  function callUpstreams(hq: LogProcess, inbound: InboundRequest | undefined, isHTTP: (uri: string) => boolean): Promise<UpstreamResult[]> {
    const body = nextBody();
    return runWorkers(uris, cfg.upstreamWorkers, (uri) =>
      isHTTP(uri) ? upstream.callHTTP(hq.span, uri, body, inbound) : upstream.callGRPC(hq.span, uri, body),
    );
  }

  // --- HTTP ------------------------------------------------------------------------------------
  const patterns = [cfg.uiPath, '/health', '/ready', '/config/', '/'];
  if (new Set(patterns).size !== patterns.length) {
    await output.close();
    throw new GoPanic(`http: multiple registrations for ${cfg.uiPath}`);
  }
  logger.info('Adding handler for UI static files');
  const cors = new Cors({ allowedOrigins: cfg.allowedOrigins, allowedHeaders: cfg.allowedHeaders, allowCredentials: cfg.allowCredentials });
  logger.info(
    'Settings CORS options',
    'allow_creds',
    cfg.allowCredentials,
    'allow_headers',
    cfg.allowedHeaders,
    'allow_origins',
    cfg.allowedOrigins,
  );

  const readMs = cfg.serverReadTimeoutNs / 1e6;
  const headerMs = cfg.serverReadHeaderTimeoutNs > 0 ? cfg.serverReadHeaderTimeoutNs / 1e6 : readMs;
  const idleMs = (cfg.serverIdleTimeoutNs > 0 ? cfg.serverIdleTimeoutNs : cfg.serverReadTimeoutNs) / 1e6;
  const httpServer = http.createServer({
    requestTimeout: readMs > 0 ? Math.max(readMs, headerMs) : 0,
    headersTimeout: headerMs > 0 ? headerMs : 0,
    keepAliveTimeout: cfg.serverKeepAlives ? idleMs : 0,
    connectionsCheckingInterval: 250,
  });
  httpServer.on('request', (req: http.IncomingMessage, res: http.ServerResponse) => {
    const started = clock.now();
    req.on('error', () => {});
    if (!cfg.serverKeepAlives || closing) res.setHeader('Connection', 'close');
    serveHTTP(req, res, started).catch((e: unknown) => {
      if (e instanceof GoPanic) {
        const remote = `${req.socket.remoteAddress ?? ''}:${req.socket.remotePort ?? ''}`;
        logger.info(`http: panic serving ${remote}: ${e.message}`);
      } else logger.error(`http: ${(e as Error).message}`);
      req.socket.destroy();
    });
  });
  // net/http answers a malformed request with a bare 400 and closes; a read timeout just closes.
  httpServer.on('clientError', (e: NodeJS.ErrnoException, socket) => {
    if (socket.writable && e.code !== 'ERR_HTTP_REQUEST_TIMEOUT')
      socket.end('HTTP/1.1 400 Bad Request\r\nContent-Type: text/plain; charset=utf-8\r\nConnection: close\r\n\r\n400 Bad Request');
    else socket.destroy();
  });

  /** Writes a response unless HTTP_SERVER_WRITE_TIMEOUT has passed (then Go's write fails and the connection drops). */
  function write(res: http.ServerResponse, started: number, f: () => void): void {
    if (cfg.serverWriteTimeoutNs > 0 && (clock.now() - started) * 1e6 > cfg.serverWriteTimeoutNs) {
      res.socket?.destroy();
      return;
    }
    f();
  }

  async function serveHTTP(req: http.IncomingMessage, res: http.ServerResponse, started: number): Promise<void> {
    const decision = cors.apply(req, res);
    if (decision.kind === 'status') {
      req.resume();
      return write(res, started, () => goRespond(res, decision.code));
    }
    const target = req.url ?? '/';
    const m = /^(?:[a-zA-Z][a-zA-Z0-9+.-]*:\/\/[^/?#]*)?([^?#]*)(?:\?([^#]*))?/.exec(target)!;
    const path = unescapePath(m[1] ?? '');
    const rawQuery = m[2];
    if (req.method !== 'CONNECT') {
      const clean = cleanMuxPath(path);
      const suffix = rawQuery !== undefined && rawQuery !== '' ? `?${rawQuery}` : '';
      if (!patterns.includes(clean) && patterns.includes(clean + '/')) {
        req.resume();
        return write(res, started, () => goRedirect(req, res, clean + '/' + suffix));
      }
      if (clean !== path) {
        req.resume();
        return write(res, started, () => goRedirect(req, res, clean + suffix));
      }
    }
    const pattern = patterns.filter((p) => (p.endsWith('/') ? path.startsWith(p) : path === p)).sort((a, b) => b.length - a.length)[0];
    switch (pattern) {
      case undefined:
        req.resume();
        return write(res, started, () => goError(res, '404 page not found', 404));
      case '/health': {
        req.resume();
        const hq = slog.callHealthHTTP();
        hq.setMetadata('response', String(healthCode));
        const code = healthCode;
        hq.finished();
        return write(res, started, () => goRespond(res, code, 'OK'));
      }
      case '/ready': {
        req.resume();
        const hq = slog.callReadyHTTP();
        const code = ready ? cfg.readySuccessResponseCode : cfg.readyFailureResponseCode;
        hq.setMetadata('response', String(code));
        hq.setMetadata('code', String(code));
        hq.finished();
        return write(res, started, () => goRespond(res, code, ready ? 'OK' : 'Starting Process'));
      }
      case '/config/':
        req.resume();
        return write(res, started, () => serveConfig(path, res));
      case '/':
        return serveRoot(req, res, started, target, path, rawQuery ?? '');
      default:
        req.resume();
        return write(res, started, () => serveUI(req, res, path.slice(cfg.uiPath.length)));
    }
  }

  function serveConfig(path: string, res: http.ServerResponse): void {
    logger.info('Config called', 'path', path);
    const parts = path.split('/');
    if (parts.length < 4) return goError(res, 'Config endpoint expects /config/parameter/value', 400);
    logger.info('Set config', 'parameter', parts[2]!, 'value', parts[3]!);
    if (parts[2] === 'error_rate') {
      const rate = parseGoFloat(parts[3]!);
      if (!rate.ok) {
        const text = 'Config endpoint error_rate expects a floating point value between 0 and 1';
        logger.error(text, 'data', { strings: parts }, 'error', { error: rate.error });
        return goError(res, text, 400);
      }
      injector.setErrorRate(rate.value);
    } else if (parts[2] === 'health_check_response_code') {
      const code = parseGoInt10(parts[3]!);
      if (!code.ok) {
        const text = 'Config endpoint health_check_response_code expects an int value representing an HTTP status code';
        logger.error(text, 'data', { strings: parts }, 'error', { error: code.error });
        return goError(res, text, 400);
      }
      healthCode = code.value;
    } else return goError(res, 'Invalid parameter', 400);
    goRespond(res, 200);
  }

  function serveUI(req: http.IncomingMessage, res: http.ServerResponse, rest: string): void {
    if (rest === 'index.html') return goRedirect(req, res, './');
    if (rest !== '') return goError(res, '404 page not found', 404);
    goRespond(res, 200, UI_PAGE, { 'Content-Type': 'text/html; charset=utf-8' });
  }

  async function serveRoot(
    req: http.IncomingMessage,
    res: http.ServerResponse,
    started: number,
    target: string,
    path: string,
    rawQuery: string,
  ): Promise<void> {
    if (cfg.readyRootPathWaitTillReady && !ready) {
      req.resume();
      logger.info('Service not ready');
      return write(res, started, () => goRespond(res, 503));
    }
    const finished = load.generate();
    const ts = clock.now();
    const tsWall = nowMicros();
    const headerLines = goHeaderLines(req, (k) => k);
    // ParseForm for the log: POST bodies of form type, then the query.
    let form: string | undefined;
    if (req.method === 'POST') {
      const values = new Map<string, string[]>();
      const ct = String(req.headers['content-type'] ?? '')
        .split(';')[0]!
        .trim()
        .toLowerCase();
      if (ct === 'application/x-www-form-urlencoded') {
        const chunks: Buffer[] = [];
        for await (const c of req) chunks.push(c as Buffer);
        parseGoQuery(Buffer.concat(chunks).toString('utf8'), values);
      } else req.resume();
      parseGoQuery(rawQuery, values);
      form = encodeGoForm(values);
    } else req.resume();
    const host = req.headers.host ?? '';
    const hq = slog.handleHTTPRequest(
      (name) => {
        const v = req.headers[name];
        return Array.isArray(v) ? v[0] : v;
      },
      formatRequest(req.method ?? 'GET', target, `HTTP/${req.httpVersion}`, host, headerLines, form),
    );
    let send: () => void;
    try {
      send = await rootResponse(hq, res, started, target, path, headerLines, ts, tsWall);
    } finally {
      // As the handler's deferred calls: the log lines come before the response leaves.
      hq.finished();
      finished();
    }
    send();
  }

  /** The `/` handler's work; returns the write to do once the deferred log lines are out. */
  async function rootResponse(
    hq: LogProcess,
    res: http.ServerResponse,
    started: number,
    target: string,
    path: string,
    headerLines: [string, string][],
    ts: number,
    tsWall: number,
  ): Promise<() => void> {
    const resp = emptyResponse();
    resp.name = cfg.name;
    resp.type = 'HTTP';
    resp.uri = target;
    resp.ipAddresses = ipAddresses;
    const injected = await injector.do(sleep);
    if (injected) {
      resp.code = injected.code;
      resp.error = injected.error;
      hq.setError(injected.error);
      hq.setMetadata('response', String(injected.code));
      const text = responseToJSON(resp);
      return () => write(res, started, () => goRespond(res, injected.code, text));
    }
    const results =
      uris.length > 0
        ? await callUpstreams(hq, { path, headers: headerLines }, (u) => u.startsWith('http://') || u.startsWith('https://'))
        : [];
    for (const r of results) resp.upstreamCalls.set(r.uri, r.response);
    const failed = results.find((r) => r.error !== undefined);
    if (failed) {
      resp.code = 500;
      hq.setMetadata('response', '500');
      hq.setError(failed.error);
    } else {
      await serviceSleep(hq, ts);
      resp.code = 200;
      hq.setMetadata('response', '200');
    }
    const te = nowMicros();
    resp.startTime = formatTime(tsWall);
    resp.endTime = formatTime(te);
    resp.duration = formatGoDuration(Math.round((clock.now() - ts) * 1e6));
    resp.body = messageBody(cfg.message);
    const text = responseToJSON(resp);
    return () => write(res, started, () => goRespond(res, resp.code, text));
  }

  // --- the listener --------------------------------------------------------------------------
  const h2 = http2.createServer({ settings: { maxConcurrentStreams: 4294967295 } });
  h2.on('stream', (stream, headers, _flags, rawHeaders?: string[]) => grpcServer.handleStream(stream, headers, rawHeaders));
  h2.on('sessionError', () => {});
  const sessions = new Set<http2.ServerHttp2Session>();
  h2.on('session', (s) => {
    sessions.add(s);
    s.on('error', () => {});
    s.once('close', () => sessions.delete(s));
    if (closing) s.close();
  });
  const splitter = new ConnectionSplitter(cmuxHttp1Fast, httpServer, h2);
  let server: net.Server;
  if (cfg.tlsCertificate !== '' && cfg.tlsKey !== '') {
    logger.info('Enabling TLS for HTTP endpoint');
    let cert: Buffer;
    let key: Buffer;
    try {
      cert = fs.readFileSync(cfg.tlsCertificate);
      key = fs.readFileSync(cfg.tlsKey);
    } catch (e) {
      logger.error('Error loading certificates', 'error', { error: (e as Error).message });
      await output.close();
      throw e;
    }
    // http/1.1 first: browsers and curl stay on HTTP/1.1 as with Go's listener (no ALPN), gRPC clients offer only h2.
    server = tls.createServer({ cert, key, ALPNProtocols: ['http/1.1', 'h2'] }, (s) => splitter.accept(s));
  } else server = net.createServer((s) => splitter.accept(s));
  try {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(listenPort, listenHost || undefined, () => resolve());
    });
  } catch (e) {
    logger.error('Unable to listen at', 'address', cfg.listenAddress, 'error', { error: (e as Error).message });
    clock.clearTimeout(readyTimer);
    await output.close();
    throw e;
  }
  server.on('error', () => {});
  const bound = server.address() as net.AddressInfo;
  slog.serviceStarted(cfg.name, cfg.upstreamURIs, cfg.upstreamWorkers, cfg.listenAddress);

  let closePromise: Promise<void> | undefined;
  async function shutdown(): Promise<void> {
    closing = true;
    clock.clearTimeout(readyTimer);
    const grace = opts.shutdownGraceMs ?? GRACE_DEFAULT_MS;
    const serverClosed = new Promise<void>((resolve) => server.close(() => resolve()));
    for (const s of sessions) s.close();
    httpServer.closeIdleConnections();
    splitter.closeUnclassified();
    const drained = Promise.all([
      serverClosed,
      new Promise<void>((resolve) => {
        const check = () => (splitter.sockets.size === 0 ? resolve() : setTimeout(check, 20).unref());
        check();
      }),
    ]);
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([drained, new Promise<void>((resolve) => (timer = setTimeout(resolve, grace)))]);
    clearTimeout(timer);
    for (const s of splitter.sockets) s.destroy();
    for (const s of sessions) s.destroy();
    upstream.close();
    await Promise.all([tracer.close(), metrics.close(), load.close()]);
    await output.close();
  }
  const close = () => (closePromise ??= shutdown().then(() => resolveClosed(undefined)));

  function fatal(e: Error): void {
    if (opts.onFatal) {
      opts.onFatal(e);
      return;
    }
    process.stderr.write(`panic: ${e.message}\n`);
    closePromise ??= shutdown().then(() => resolveClosed(e));
  }

  return { port: bound.port, address: bound.address, config: cfg, problems, close, closed };
}
