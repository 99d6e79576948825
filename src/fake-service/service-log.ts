/**
 * fake-service's logging/logger.go: the log line, span and metric of each activity
 * (inbound HTTP or gRPC request, service sleep, upstream call, health and ready checks).
 */
import type { Clock } from '../common/clock.js';
import { dur, err, type Logger, type LogValue } from './hclog.js';
import type { GrpcMetadata } from './grpc-server.js';
import { metricTags, type Metrics } from './metrics.js';
import type { Span, SpanContext, Tracer } from './tracing.js';

/** One activity in progress: its span, error and metadata, ended by finished(). */
export class LogProcess {
  readonly span: Span;
  #error: string | undefined;
  #meta = new Map<string, string>();
  #onFinish: (error: string | undefined, meta: Map<string, string>) => void;
  #done = false;

  constructor(span: Span, onFinish: (error: string | undefined, meta: Map<string, string>) => void) {
    this.span = span;
    this.#onFinish = onFinish;
  }
  setError(text: string | undefined): void {
    this.#error = text;
  }
  setMetadata(key: string, value: string): void {
    this.#meta.set(key, value);
  }
  finished(): void {
    if (this.#done) return;
    this.#done = true;
    this.#onFinish(this.#error, this.#meta);
  }
}

const NOT_FOUND = 'opentracing: SpanContext not found in Extract carrier';

export class ServiceLog {
  readonly log: Logger;
  #tracer: Tracer;
  #metrics: Metrics;
  #clock: Clock;

  constructor(log: Logger, tracer: Tracer, metrics: Metrics, clock: Clock) {
    this.log = log;
    this.#tracer = tracer;
    this.#metrics = metrics;
    this.#clock = clock;
  }

  get tracer(): Tracer {
    return this.#tracer;
  }

  #fields(ctx: SpanContext, ...kv: (string | LogValue)[]): (string | LogValue)[] {
    if (!this.#tracer.enabled) return kv;
    const ids = this.#tracer.logIds(ctx);
    return [...kv, 'span_id', ids.spanId, 'trace_id', ids.traceId];
  }

  serviceStarted(name: string, upstreamURIs: string, upstreamWorkers: number, listenAddress: string): void {
    this.log.info(
      'Started service',
      'name',
      name,
      'upstreamURIs',
      upstreamURIs,
      'upstreamWorkers',
      String(upstreamWorkers),
      'listenAddress',
      listenAddress,
    );
    this.#metrics.increment('service.started', []);
  }

  #serverSpan(get: (name: string) => string | undefined, type: string): Span {
    const parent = this.#tracer.extract(get);
    if (!parent && this.#tracer.enabled) this.log.debug('Error obtaining context, creating new span', 'error', err(NOT_FOUND));
    const span = this.#tracer.startSpan('handle_request', parent, 'SERVER');
    span.log('service.type', type);
    return span;
  }

  #requestProcess(span: Span, metric: string): LogProcess {
    const start = this.#clock.now();
    return new LogProcess(span, (error, meta) => {
      const ns = Math.round((this.#clock.now() - start) * 1e6);
      if (error !== undefined) {
        span.setTag('error', 'true');
        span.log('error', error);
        this.log.error('Error handling request', ...this.#fields(span.context, 'error', err(error)));
      }
      for (const [k, v] of meta) span.setTag(k, v);
      this.log.info('Finished handling request', ...this.#fields(span.context, 'duration', dur(ns)));
      span.finish();
      this.#metrics.timing(metric, ns / 1e6, metricTags(error !== undefined, meta));
    });
  }

  /** "Handle inbound request" with the request printed as formatRequest does. */
  handleHTTPRequest(get: (name: string) => string | undefined, request: string): LogProcess {
    const span = this.#serverSpan(get, 'http');
    this.log.info('Handle inbound request', ...this.#fields(span.context, 'request', request));
    return this.#requestProcess(span, 'handle.request.http');
  }

  /** "Handling request gRPC request" with the metadata printed as printContext does. */
  handleGRPCRequest(md: GrpcMetadata): LogProcess {
    const get = (name: string) => {
      const e = md.find(([k]) => k === name);
      return e ? String(e[1]) : undefined;
    };
    const span = this.#serverSpan(get, 'grpc');
    this.log.info('Handling request gRPC request', ...this.#fields(span.context, 'context', printContext(md)));
    return this.#requestProcess(span, 'handle.request.grpc');
  }

  sleepService(parent: Span, text: string): LogProcess {
    const span = this.#tracer.startSpan('service_delay', parent.context, undefined);
    span.log('randomized_duration', text);
    this.log.info('Sleeping for', ...this.#fields(parent.context, 'duration', text));
    return new LogProcess(span, () => span.finish());
  }

  #upstreamProcess(span: Span, metric: string): LogProcess {
    const start = this.#clock.now();
    return new LogProcess(span, (error, meta) => {
      if (error !== undefined) {
        span.log('error', error);
        span.setTag('error', 'true');
        this.log.error('Error processing upstream request', ...this.#fields(span.context, 'error', err(error)));
      }
      for (const [k, v] of meta) span.setTag(k, v);
      this.#metrics.timing(metric, this.#clock.now() - start, metricTags(error !== undefined, meta));
      span.finish();
    });
  }

  /** "Calling upstream service" for an HTTP upstream; `inject` receives the trace headers to send. */
  callHTTPUpstream(
    parent: Span,
    url: string,
    method: string,
    request: () => string,
    inject: (name: string, value: string) => void,
  ): LogProcess {
    const span = this.#tracer.startSpan('call_upstream', parent.context, 'CLIENT');
    span.log('upstream.type', 'http');
    span.setTag('http.url', url);
    span.setTag('http.method', method);
    if (this.#tracer.enabled) this.#tracer.inject(span.context, inject);
    this.log.info('Calling upstream service', ...this.#fields(parent.context, 'uri', url, 'type', 'HTTP', 'request', request()));
    return this.#upstreamProcess(span, 'upstream.request.http');
  }

  /** "Calling upstream service" for a gRPC upstream; returns the trace metadata to send. */
  callGRPCUpstream(parent: Span, uri: string): { process: LogProcess; metadata: [string, string][] } {
    const span = this.#tracer.startSpan('call_upstream', parent.context, 'CLIENT');
    span.log('upstream.type', 'grpc');
    const metadata: [string, string][] = [];
    if (this.#tracer.enabled) this.#tracer.inject(span.context, (k, v) => metadata.push([k.toLowerCase(), v]));
    this.log.info('Calling upstream service', ...this.#fields(span.context, 'uri', uri, 'type', 'gRPC'));
    return { process: this.#upstreamProcess(span, 'upstream.request.grpc'), metadata };
  }

  /** The GotConn trace hook of an upstream HTTP call. */
  gotConnection(reused: boolean): void {
    this.log.debug('Got connection for upstream request', 'idle', reused, 'reused', reused);
    this.#metrics.increment(reused ? 'upstream.request.http.connection.reused' : 'upstream.request.http.connection.created', []);
  }

  #checkProcess(message: string, metric: string): LogProcess {
    const start = this.#clock.now();
    this.log.info(message);
    return new LogProcess(this.#tracer.startSpan('noop', undefined, undefined), (error, meta) =>
      this.#metrics.timing(metric, this.#clock.now() - start, metricTags(error !== undefined, meta)),
    );
  }

  callHealthHTTP(): LogProcess {
    return this.#checkProcess('Handling health request', 'handle.health.http');
  }

  callReadyHTTP(): LogProcess {
    return this.#checkProcess('Handling ready request', 'handle.ready.http');
  }
}

/** printContext: "key: <k> value: [<v1> <v2>]" per metadata key, one per line. */
export function printContext(md: GrpcMetadata): string {
  const byKey = new Map<string, string[]>();
  for (const [k, v] of md) byKey.set(k, [...(byKey.get(k) ?? []), Buffer.isBuffer(v) ? v.toString('latin1') : v]);
  let out = '';
  for (const [k, vs] of byKey) out += `key: ${k} value: [${vs.join(' ')}]\n`;
  return out;
}

/** formatRequest: request line, Host, then each header value on its own line (names lower case). */
export function formatRequest(
  method: string,
  url: string,
  proto: string,
  host: string,
  headers: [string, string][],
  form?: string,
): string {
  const lines = [`${method} ${url} ${proto}`, `Host: ${host}`];
  for (const [k, v] of headers) lines.push(`${k.toLowerCase()}: ${v}`);
  if (method === 'POST') lines.push('\n', form ?? '');
  return lines.join('\n');
}
