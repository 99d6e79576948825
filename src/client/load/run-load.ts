import { setMaxListeners } from 'node:events';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { grpc, statusName, toMetadata, type TlsOptions } from '../grpc-channel.js';
import { NoReflectionError, grpcList, loadMethod, requestMessages } from '../grpc-call.js';
import { parseMethodName } from '../grpc-method.js';
import { UsageError, type HeaderPair } from '../headers.js';
import { parseHttpUrl } from '../http-call.js';
import { encodeJson } from '../proto-json.js';
import { LatencyRecorder } from './latency.js';
import { grpcSender, http1Sender, http2Sender, type Outcome, type Sender } from './senders.js';
import type { LoadProtocol, LoadSummary } from './summary.js';

/** Hard limits: every run ends, however it is asked. */
export const LIMITS = {
  maxDurationMs: 3_600_000,
  /** The time bound of a run given only a request count. */
  defaultTimeCapMs: 600_000,
  maxRequests: 10_000_000,
  maxConcurrency: 1000,
  maxRate: 1_000_000,
} as const;

export type LoadOptions = {
  /** http:// or https:// URL (HTTP/1.1, or HTTP/2 with `http2`), or host:port for gRPC. */
  target: string;
  /** gRPC method (Service.Method, package.Service/Method); found by reflection when the server has only one. */
  grpcMethod?: string;
  /** HTTP/2 for URL targets. */
  http2?: boolean;
  /** Number of requests (`-n`). At least one of `requests` and `durationMs` is required. */
  requests?: number;
  /** How long to send (`-d 10s`); with `requests` too, whichever comes first ends the run. */
  durationMs?: number;
  /** Requests in flight at once (default 10). */
  concurrency?: number;
  /** Requests started per second, over all workers (default: as fast as concurrency allows). */
  rate?: number;
  /** Per-request bound (default 10 s): gRPC deadline, HTTP response time. */
  timeoutMs?: number;
  /** Connections (HTTP/1.1: at most; HTTP/2 and gRPC: exactly). Default: concurrency for HTTP/1.1, 1 otherwise. */
  connections?: number;
  /** HTTP method (default GET, POST with a body). */
  method?: string;
  /** HTTP headers or gRPC metadata. */
  headers?: readonly HeaderPair[];
  /** HTTP body, or the gRPC request as JSON (default {}). */
  body?: string | Buffer;
  /** :authority / Host to send (routes match on it). */
  authority?: string;
  /** TLS for gRPC (plaintext otherwise); for HTTP the URL scheme decides and this tunes it. */
  tls?: TlsOptions;
  /** .proto files instead of server reflection (gRPC). */
  protoFiles?: readonly string[];
  /** Stops sending; requests in flight finish and the summary covers what completed. */
  signal?: AbortSignal;
  /** Called every `progressIntervalMs` (default 200) while the run lasts. */
  onProgress?: (p: LoadProgress) => void;
  progressIntervalMs?: number;
};

export type LoadProgress = {
  completed: number;
  elapsedMs: number;
  /** The bounds of the run. */
  requests?: number;
  durationMs: number;
};

type Plan = { protocol: LoadProtocol; method: string; sender: Sender };

/**
 * Sends bounded load and summarizes it: success rate, HTTP and gRPC status counts, attempts per
 * request (x-envoy-attempt-count), latency percentiles and histogram. Throws UsageError before
 * sending anything when the options are wrong.
 */
export async function runLoad(opts: LoadOptions): Promise<LoadSummary> {
  const bounds = checkBounds(opts);
  const plan = await prepare(opts, bounds.concurrency);
  try {
    return await drive(opts, plan, bounds);
  } finally {
    await plan.sender.close();
  }
}

type Bounds = { requests: number; durationMs: number; concurrency: number; rate?: number; timeoutMs: number };

function checkBounds(o: LoadOptions): Bounds {
  const int = (v: number | undefined, name: string, min: number, max: number) => {
    if (v === undefined) return undefined;
    if (!Number.isFinite(v) || v < min || v > max || (name !== 'rate' && !Number.isInteger(v)))
      throw new UsageError(`${name} must be ${name === 'rate' ? 'a number' : 'a whole number'} from ${min} to ${max}, not ${v}`);
    return v;
  };
  if (o.requests === undefined && o.durationMs === undefined)
    throw new UsageError('a load run needs a bound: give a request count (-n 1000) or a duration (-d 30s), or both');
  const requests = int(o.requests, 'requests', 1, LIMITS.maxRequests) ?? LIMITS.maxRequests;
  const durationMs = int(o.durationMs, 'duration (ms)', 1, LIMITS.maxDurationMs) ?? LIMITS.defaultTimeCapMs;
  const concurrency = Math.min(int(o.concurrency, 'concurrency', 1, LIMITS.maxConcurrency) ?? 10, requests);
  const rate = int(o.rate, 'rate', 0.001, LIMITS.maxRate);
  const timeoutMs = int(o.timeoutMs, 'timeout (ms)', 1, LIMITS.maxDurationMs) ?? 10_000;
  int(o.connections, 'connections', 1, LIMITS.maxConcurrency);
  return { requests, durationMs, concurrency, ...(rate !== undefined ? { rate } : {}), timeoutMs };
}

async function prepare(o: LoadOptions, concurrency: number): Promise<Plan> {
  const timeoutMs = o.timeoutMs ?? 10_000;
  const headers = [...(o.headers ?? [])];
  if (/^https?:\/\//i.test(o.target)) {
    if (o.grpcMethod) throw new UsageError('a gRPC method goes with a host:port target, not a URL');
    const url = parseHttpUrl(o.target);
    if (o.authority) headers.push(['host', o.authority]);
    const method = (o.method ?? (o.body !== undefined ? 'POST' : 'GET')).toUpperCase();
    const body = o.body === undefined ? undefined : Buffer.from(o.body);
    const common = { url, method, headers, ...(body ? { body } : {}), ...(o.tls ? { tls: o.tls } : {}), timeoutMs };
    return o.http2
      ? { protocol: 'http2', method, sender: http2Sender({ ...common, connections: o.connections ?? 1 }) }
      : { protocol: 'http1', method, sender: http1Sender({ ...common, connections: o.connections ?? concurrency }) };
  }
  if (o.http2) throw new UsageError('--http2 goes with an http:// or https:// URL; gRPC always uses HTTP/2');
  const target = { address: o.target, ...(o.authority ? { authority: o.authority } : {}), ...(o.tls ? { tls: o.tls } : {}) };
  const schema = { ...target, metadata: headers, ...(o.protoFiles ? { protoFiles: o.protoFiles } : {}) };
  const name = o.grpcMethod ?? (await onlyMethod(schema));
  const data = o.body === undefined ? undefined : Buffer.from(o.body).toString('utf8');
  let path: string;
  let request: Buffer;
  try {
    const method = await loadMethod(schema, name);
    if (method.requestStream || method.responseStream)
      throw new UsageError(`${method.path} is a streaming method; legate load sends unary calls`);
    const messages = requestMessages(data, method);
    if (messages.length !== 1) throw new UsageError(`a unary call takes one request message, ${messages.length} given`);
    path = method.path;
    request = Buffer.from(encodeJson(method.requestType, messages[0]));
  } catch (e) {
    // Without a schema an empty request can still be sent: it is the empty message of any type.
    if (!(e instanceof NoReflectionError) || (data !== undefined && !/^\s*(\{\s*\})?\s*$/.test(data))) throw e;
    const m = parseMethodName(name);
    path = `/${m.service}/${m.method}`;
    request = Buffer.alloc(0);
  }
  return {
    protocol: 'grpc',
    method: path,
    sender: grpcSender({ ...target, path, request, metadata: toMetadata(headers), timeoutMs, connections: o.connections ?? 1 }),
  };
}

/** The method to load when none is named: the only unary method of the only application service. */
async function onlyMethod(schema: Parameters<typeof grpcList>[0]): Promise<string> {
  const svcs = (await grpcList(schema)).filter((s) => !/^grpc\.(reflection|health)\./.test(s));
  const methods = (await Promise.all(svcs.map((service) => grpcList({ ...schema, service })))).flat();
  if (methods.length === 1) return methods[0]!;
  throw new UsageError(`name the method to call (${methods.length ? `one of ${methods.join(', ')}` : 'the server lists none'})`);
}

async function drive(o: LoadOptions, plan: Plan, b: Bounds): Promise<LoadSummary> {
  const latency = new LatencyRecorder();
  const statusCodes: Record<string, number> = {};
  const grpcStatus: Record<string, number> = {};
  const errors: Record<string, number> = {};
  const attemptCounts: Record<string, number> = {};
  let withoutHeader = 0;
  let retried = 0;
  let succeeded = 0;
  let completed = 0;
  let started = 0;
  let stoppedBy: LoadSummary['stoppedBy'] = 'count';

  // Every waiting worker listens to the abort signal.
  if (o.signal) setMaxListeners(b.concurrency + 10, o.signal);
  const t0 = performance.now();
  const end = t0 + b.durationMs;
  const interval = b.rate ? 1000 / b.rate : 0;
  const bump = (r: Record<string, number>, k: string) => (r[k] = (r[k] ?? 0) + 1);
  const record = (out: Outcome, ms: number) => {
    completed++;
    latency.recordMs(ms);
    if (out.error !== undefined) return void bump(errors, out.error);
    if (out.status !== undefined) bump(statusCodes, String(out.status));
    if (out.grpcCode !== undefined) bump(grpcStatus, statusName(out.grpcCode));
    if (out.grpcCode !== undefined ? out.grpcCode === grpc.status.OK : out.status! >= 200 && out.status! < 400) succeeded++;
    if (out.attempts === undefined) withoutHeader++;
    else {
      bump(attemptCounts, String(out.attempts));
      if (out.attempts > 1) retried++;
    }
  };
  // Stop when asked, when the count is reached, or when the next start would fall after the end.
  const mayStart = (at: number): boolean => {
    if (o.signal?.aborted) stoppedBy = 'aborted';
    else if (at >= end && started < b.requests) stoppedBy = 'duration';
    else return started < b.requests;
    return false;
  };
  const worker = async () => {
    for (;;) {
      const at = interval ? t0 + started * interval : performance.now();
      if (!mayStart(at)) return;
      started++;
      const wait = at - performance.now();
      if (wait > 1) await sleep(wait, undefined, o.signal ? { signal: o.signal } : undefined).catch(() => {});
      if (o.signal?.aborted) {
        started--;
        stoppedBy = 'aborted';
        return;
      }
      const t = performance.now();
      const out = await plan.sender.send();
      record(out, performance.now() - t);
    }
  };

  const progress =
    o.onProgress &&
    setInterval(
      () =>
        o.onProgress!({
          completed,
          elapsedMs: performance.now() - t0,
          durationMs: b.durationMs,
          ...(o.requests ? { requests: b.requests } : {}),
        }),
      o.progressIntervalMs ?? 200,
    );
  // In-flight requests may outlive the duration by at most their own timeout.
  let hardStop: NodeJS.Timeout | undefined;
  const cut = new Promise<void>((resolve) => (hardStop = setTimeout(resolve, b.durationMs + b.timeoutMs + 1000)));
  try {
    await Promise.race([Promise.all(Array.from({ length: b.concurrency }, worker)), cut]);
  } finally {
    clearTimeout(hardStop);
    if (progress) clearInterval(progress);
  }
  const elapsedMs = performance.now() - t0;
  return {
    target: o.target,
    protocol: plan.protocol,
    method: plan.method,
    concurrency: b.concurrency,
    ...(b.rate ? { rate: b.rate } : {}),
    requests: completed,
    succeeded,
    failed: completed - succeeded,
    successRate: completed ? succeeded / completed : 0,
    elapsedMs: Math.round(elapsedMs),
    throughput: completed ? Math.round((completed * 10_000) / elapsedMs) / 10 : 0,
    stoppedBy,
    statusCodes,
    grpcStatus,
    errors,
    attempts: { counts: attemptCounts, withoutHeader, retried },
    latencyMs: latency.stats(),
    histogram: latency.buckets(),
  };
}
