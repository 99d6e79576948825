/**
 * Tracing as fake-service does it through OpenTracing: a server span per request
 * (`handle_request`), a child per upstream call (`call_upstream`) and per service sleep
 * (`service_delay`); context read from and written to request headers (B3 for Zipkin,
 * x-datadog-* for Datadog). When a tracer is set, log lines carry `span_id` and `trace_id`.
 */
import http from 'node:http';
import https from 'node:https';
import { randomBytes } from 'node:crypto';

export type SpanContext = { traceId: string; spanId: string; parentId?: string; sampled: boolean };

export type SpanKind = 'SERVER' | 'CLIENT' | undefined;

export interface Span {
  readonly context: SpanContext;
  setTag(key: string, value: string): void;
  /** An OpenTracing log field (key:value annotation). */
  log(key: string, value: string): void;
  finish(): void;
}

export interface Tracer {
  readonly enabled: boolean;
  /** Reads a parent context from request headers (names in lower case). */
  extract(get: (name: string) => string | undefined): SpanContext | undefined;
  startSpan(name: string, parent: SpanContext | undefined, kind: SpanKind): Span;
  /** Writes the context as headers of an outgoing request. */
  inject(ctx: SpanContext, set: (name: string, value: string) => void): void;
  /** The values logged as span_id and trace_id. */
  logIds(ctx: SpanContext): { spanId: string; traceId: string };
  close(): Promise<void>;
}

class NoopSpan implements Span {
  readonly context: SpanContext = { traceId: '', spanId: '', sampled: false };
  setTag(): void {}
  log(): void {}
  finish(): void {}
}

export const noopTracer: Tracer = {
  enabled: false,
  extract: () => undefined,
  startSpan: () => new NoopSpan(),
  inject: () => {},
  logIds: () => ({ spanId: '', traceId: '' }),
  close: async () => {},
};

type Finished = {
  name: string;
  context: SpanContext;
  kind: SpanKind;
  shared: boolean;
  startMicros: number;
  durationMicros: number;
  tags: Record<string, string>;
  logs: { micros: number; value: string }[];
};

class RecordingSpan implements Span {
  readonly context: SpanContext;
  #finished = false;
  #rec: Finished;
  #now: () => number;
  #report: (f: Finished) => void;

  constructor(name: string, context: SpanContext, kind: SpanKind, shared: boolean, now: () => number, report: (f: Finished) => void) {
    this.context = context;
    this.#now = now;
    this.#report = report;
    this.#rec = { name, context, kind, shared, startMicros: now(), durationMicros: 0, tags: {}, logs: [] };
  }
  setTag(key: string, value: string): void {
    this.#rec.tags[key] = value;
  }
  log(key: string, value: string): void {
    this.#rec.logs.push({ micros: this.#now(), value: `${key}:${value}` });
  }
  finish(): void {
    if (this.#finished) return;
    this.#finished = true;
    this.#rec.durationMicros = Math.max(1, Math.round(this.#now() - this.#rec.startMicros));
    if (this.context.sampled) this.#report(this.#rec);
  }
}

/** Batches finished spans and hands them to `send` every interval (and on close). */
class Batcher {
  #pending: Finished[] = [];
  #timer: NodeJS.Timeout;
  #send: (spans: Finished[]) => Promise<void>;

  constructor(intervalMs: number, send: (spans: Finished[]) => Promise<void>) {
    this.#send = send;
    this.#timer = setInterval(() => void this.flush(), intervalMs);
    this.#timer.unref();
  }
  add(f: Finished): void {
    this.#pending.push(f);
    if (this.#pending.length >= 100) void this.flush();
  }
  async flush(): Promise<void> {
    if (this.#pending.length === 0) return;
    const batch = this.#pending;
    this.#pending = [];
    await this.#send(batch).catch(() => {});
  }
  async close(): Promise<void> {
    clearInterval(this.#timer);
    await this.flush();
  }
}

function post(url: string, method: string, contentType: string, body: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const u = new URL(url);
    const req = (u.protocol === 'https:' ? https : http).request(
      u,
      { method, headers: { 'Content-Type': contentType, 'Content-Length': Buffer.byteLength(body) }, timeout: 5000 },
      (res) => {
        res.resume();
        res.on('end', resolve);
      },
    );
    req.on('error', reject);
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.end(body);
  });
}

const hex64 = () => randomBytes(8).toString('hex');

export type TracerOptions = {
  serviceName: string;
  listenAddress: string;
  /** Wall-clock microseconds since the epoch. */
  nowMicros: () => number;
  /** Where the log reporter writes (a Zipkin URI that is not http(s) logs spans instead). */
  logSink?: (line: string) => void;
};

/** zipkin-go with zipkin-go-opentracing: B3 headers, 64-bit ids, shared server spans, JSON v2 reporter. */
export function zipkinTracer(uri: string, opts: TracerOptions): Tracer {
  const [host, port] = splitHostPort(opts.listenAddress);
  const localEndpoint = { serviceName: opts.serviceName, ...(host ? { ipv4: host } : {}), ...(port ? { port } : {}) };
  const toJson = (f: Finished) => ({
    traceId: f.context.traceId,
    id: f.context.spanId,
    ...(f.context.parentId ? { parentId: f.context.parentId } : {}),
    ...(f.kind ? { kind: f.kind } : {}),
    name: f.name,
    timestamp: Math.round(f.startMicros),
    duration: f.durationMicros,
    ...(f.shared ? { shared: true } : {}),
    localEndpoint,
    ...(f.logs.length ? { annotations: f.logs.map((l) => ({ timestamp: Math.round(l.micros), value: l.value })) } : {}),
    ...(Object.keys(f.tags).length ? { tags: f.tags } : {}),
  });
  const http_ = uri.startsWith('http://') || uri.startsWith('https://');
  const batcher = new Batcher(1000, async (spans) => {
    const body = JSON.stringify(spans.map(toJson));
    if (http_) await post(`${uri}/api/v2/spans`, 'POST', 'application/json', body);
    else opts.logSink?.(body + '\n');
  });
  return {
    enabled: true,
    extract(get) {
      const traceId = get('x-b3-traceid');
      const spanId = get('x-b3-spanid');
      if (!traceId || !spanId) return undefined;
      const sampled = get('x-b3-sampled');
      const parentId = get('x-b3-parentspanid');
      return { traceId, spanId, ...(parentId ? { parentId } : {}), sampled: sampled !== '0' && sampled !== 'false' };
    },
    startSpan(name, parent, kind) {
      // A server span joins its client's span (zipkin-go shares span ids by default).
      const shared = kind === 'SERVER' && parent !== undefined;
      const ctx: SpanContext = shared
        ? { ...parent }
        : parent
          ? { traceId: parent.traceId, spanId: hex64(), parentId: parent.spanId, sampled: parent.sampled }
          : { traceId: hex64(), spanId: hex64(), sampled: true };
      return new RecordingSpan(name, ctx, kind, shared, opts.nowMicros, (f) => batcher.add(f));
    },
    inject(ctx, set) {
      set('X-B3-Traceid', ctx.traceId);
      set('X-B3-Spanid', ctx.spanId);
      if (ctx.parentId) set('X-B3-Parentspanid', ctx.parentId);
      set('X-B3-Sampled', ctx.sampled ? '1' : '0');
    },
    logIds: (ctx) => ({ spanId: ctx.spanId, traceId: ctx.traceId }),
    close: () => batcher.close(),
  };
}

/** dd-trace-go's opentracer: x-datadog-* headers, decimal 63-bit ids, spans PUT to the agent's /v0.4/traces as JSON. */
export function datadogTracer(agent: string, opts: TracerOptions): Tracer {
  const id = () => (randomBytes(8).readBigUInt64BE() >> 1n).toString();
  const batcher = new Batcher(1000, async (spans) => {
    const traces = new Map<string, Finished[]>();
    for (const s of spans) traces.set(s.context.traceId, [...(traces.get(s.context.traceId) ?? []), s]);
    // Ids are uint64: written as raw JSON numbers, never through a JS number.
    const span = (f: Finished) =>
      `{"trace_id":${f.context.traceId},"span_id":${f.context.spanId},"parent_id":${f.context.parentId ?? '0'},` +
      `"name":${JSON.stringify(f.name)},"resource":${JSON.stringify(f.name)},"service":${JSON.stringify(opts.serviceName)},"type":"",` +
      `"start":${Math.round(f.startMicros * 1000)},"duration":${f.durationMicros * 1000},"error":${f.tags['error'] === 'true' ? 1 : 0},` +
      `"meta":${JSON.stringify({ ...f.tags, ...(f.kind ? { 'span.kind': f.kind.toLowerCase() } : {}) })},` +
      `"metrics":{"_sampling_priority_v1":1,"_dd1.sr.eausr":1}}`;
    const body = '[' + [...traces.values()].map((t) => '[' + t.map(span).join(',') + ']').join(',') + ']';
    await post(`http://${agent}/v0.4/traces`, 'PUT', 'application/json', body);
  });
  return {
    enabled: true,
    extract(get) {
      const traceId = get('x-datadog-trace-id');
      const spanId = get('x-datadog-parent-id');
      if (!traceId || !spanId || !/^[0-9]+$/.test(traceId) || !/^[0-9]+$/.test(spanId)) return undefined;
      const priority = get('x-datadog-sampling-priority');
      return { traceId, spanId, sampled: priority === undefined || Number(priority) > 0 };
    },
    startSpan(name, parent, kind) {
      const spanId = id();
      const ctx: SpanContext = parent
        ? { traceId: parent.traceId, spanId, parentId: parent.spanId, sampled: parent.sampled }
        : { traceId: spanId, spanId, sampled: true };
      return new RecordingSpan(name, ctx, kind, false, opts.nowMicros, (f) => batcher.add(f));
    },
    inject(ctx, set) {
      set('X-Datadog-Trace-Id', ctx.traceId);
      set('X-Datadog-Parent-Id', ctx.spanId);
      set('X-Datadog-Sampling-Priority', ctx.sampled ? '1' : '0');
    },
    logIds: (ctx) => ({ spanId: ctx.spanId, traceId: ctx.traceId }),
    close: () => batcher.close(),
  };
}

export function splitHostPort(addr: string): [string, number | undefined] {
  const m = /^\[?([^\]]*?)\]?:([0-9]+)$/.exec(addr);
  if (!m) return [addr, undefined];
  return [m[1]!, Number(m[2])];
}
