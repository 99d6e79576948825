import { randomUUID } from 'node:crypto';
import type { Clock, Timer } from '../../common/clock.js';
import { Flag } from '../http/response-flags.js';
import { httpToGrpcStatus, isGrpcContentType } from '../http/grpc.js';
import { ENVOY_INTERNAL_ONLY, HOP_BY_HOP } from '../http/headers.js';
import type { Downstream } from '../listener/downstream.js';
import type { AccessLogSink } from '../access-log.js';
import type { AttemptHandle, AttemptSink, UpstreamRequest } from '../upstream/attempt-sink.js';
import type { Cluster } from '../upstream/cluster.js';
import type { Host } from '../upstream/host.js';
import { resetFlag, type UpstreamResetError } from '../upstream/reset-reason.js';
import { sendLocalReply } from './local-reply.js';
import { lazyBody } from './lazy-body.js';

/** Applies header edits to a flat [name, value, ...] list or a header object; null when none. */
export type ResponseHeaderEdit = ((headers: string[]) => string[]) | null;
export type RequestHeaderEdit = ((headers: Record<string, string | string[]>) => void) | null;

/** What the request path needs from a forward route, compiled once per config version. */
export type ForwardTarget = {
  routeName: string;
  /** Weighted backend choice. */
  pick(): { cluster: Cluster; requestEdit: RequestHeaderEdit; responseEdit: ResponseHeaderEdit } | undefined;
  timeoutMs: number;
  requestEdit: RequestHeaderEdit;
  responseEdit: ResponseHeaderEdit;
  /** Path after rewrite, or null to keep the request's. */
  rewritePath: ((path: string) => string) | null;
  rewriteAuthority: string | null;
  includeAttemptCountInRequest: boolean;
  includeAttemptCountInResponse: boolean;
};

export type RequestContext = {
  clock: Clock;
  accessLog: AccessLogSink | null;
  /** Client is trusted: keep x-envoy-* control headers. */
  trusted: boolean;
  preserveRequestId: boolean;
};

/**
 * The per-request state machine: owns the downstream exchange, the route timeout and the
 * upstream attempt, and writes the access log when the exchange is over. Once response headers go
 * downstream the request is committed.
 */
export class RequestState implements AttemptSink {
  readonly #ds: Downstream;
  readonly #ctx: RequestContext;
  readonly #target: ForwardTarget;
  readonly #isGrpc: boolean;
  #cluster: Cluster | null = null;
  #host: Host | null = null;
  #attempt: AttemptHandle | null = null;
  #responseEdit: ResponseHeaderEdit = null;
  #timer: Timer | null = null;
  #flags = 0;
  #status = 0;
  #grpcStatus: string | undefined;
  #attempts = 0;
  #details: string | undefined;
  #done = false;
  #requestCompleteAt = -1;
  #responseHeadersAt = -1;
  readonly #start: number;
  #bytesReceived = 0;
  #requestId: string | undefined;

  constructor(ds: Downstream, target: ForwardTarget, ctx: RequestContext) {
    this.#ds = ds;
    this.#ctx = ctx;
    this.#target = target;
    this.#isGrpc = isGrpcContentType(ds.headers['content-type']);
    this.#start = ctx.clock.now();
    ds.onDone((aborted) => this.#onDownstreamDone(aborted));
  }

  start(): void {
    const picked = this.#target.pick();
    if (!picked) {
      this.#localReply(503, 'no cluster found', Flag.NC, 'cluster_not_found');
      return;
    }
    const cluster = picked.cluster;
    this.#cluster = cluster;
    this.#responseEdit = picked.responseEdit ?? this.#target.responseEdit;
    const host = cluster.chooseHost();
    if (!host) {
      this.#localReply(503, 'no healthy upstream', Flag.UH, 'no_healthy_upstream');
      return;
    }
    this.#host = host;

    const ds = this.#ds;
    const headers = this.#upstreamHeaders();
    this.#target.requestEdit?.(headers);
    picked.requestEdit?.(headers);
    const req: UpstreamRequest = {
      method: ds.method,
      path: this.#target.rewritePath ? this.#target.rewritePath(ds.path) : ds.path,
      authority: this.#target.rewriteAuthority ?? ds.authority,
      scheme: cluster.config.tls ? 'https' : 'http',
      headers,
      body: ds.body ? lazyBody(ds.body, (n) => (this.#bytesReceived += n)) : null,
    };
    if (ds.body) {
      ds.body.once('end', () => this.#onRequestComplete());
    } else {
      this.#onRequestComplete();
    }
    const useH2 =
      this.#isGrpc || cluster.config.protocol === 'http2' || (cluster.config.protocol === 'downstream' && ds.protocol === 'http2');
    // HTTP/2 carries the authority as :authority; HTTP/1.1 needs it as Host.
    if (useH2) delete headers.host;
    else headers.host = req.authority;
    this.#attempts++;
    cluster.stats.upstream_rq_total++;
    cluster.stats.upstream_rq_active++;
    host.stats.rq_total++;
    host.stats.rq_active++;
    this.#attempt = useH2 ? host.h2().request(req, this) : host.h1().request(req, this);
  }

  /** Copies the downstream headers for the upstream, adding the proxy's own. */
  #upstreamHeaders(): Record<string, string | string[]> {
    const ds = this.#ds;
    const src = ds.headers;
    const out: Record<string, string | string[]> = {};
    const trusted = this.#ctx.trusted;
    for (const k in src) {
      const v = src[k];
      if (v === undefined || k.charCodeAt(0) === 58 /* : */) continue;
      if (HOP_BY_HOP.has(k)) {
        // gRPC needs `te: trailers`, the one value HTTP/2 allows.
        if (k === 'te' && v === 'trailers') out.te = v;
        continue;
      }
      if (!trusted && ENVOY_INTERNAL_ONLY.has(k)) continue;
      out[k] = v;
    }
    const xff = src['x-forwarded-for'];
    out['x-forwarded-for'] = xff ? `${xff}, ${ds.remoteAddress}` : ds.remoteAddress;
    out['x-forwarded-proto'] = ds.scheme;
    let rid = src['x-request-id'];
    if (typeof rid !== 'string' || rid === '' || !this.#ctx.preserveRequestId) rid = randomUUID();
    out['x-request-id'] = rid;
    this.#requestId = rid;
    const t = this.#target.timeoutMs;
    if (t > 0) out['x-envoy-expected-rq-timeout-ms'] = String(t);
    if (this.#target.includeAttemptCountInRequest) out['x-envoy-attempt-count'] = '1';
    return out;
  }

  #onRequestComplete(): void {
    this.#requestCompleteAt = this.#ctx.clock.now();
    const t = this.#target.timeoutMs;
    if (t > 0 && !this.#done && this.#status === 0) {
      this.#timer = this.#ctx.clock.setTimeout(() => this.#onGlobalTimeout(), t);
    }
  }

  #onGlobalTimeout(): void {
    this.#timer = null;
    if (this.#done || this.#responseComplete) return;
    const cluster = this.#cluster!;
    cluster.stats.upstream_rq_timeout++;
    if (this.#host) this.#host.stats.rq_timeout++;
    this.#cancelAttempt();
    if (this.#ds.responseStarted) {
      this.#flags |= Flag.UT;
      this.#ds.reset();
      return;
    }
    this.#localReply(504, 'upstream request timeout', Flag.UT, 'response_timeout');
  }

  #responseComplete = false;
  #endStreamSent = false;

  #cancelAttempt(): void {
    const a = this.#attempt;
    if (!a) return;
    this.#attempt = null;
    a.cancel();
    this.#finishAttempt(false);
  }

  #finishAttempt(success: boolean): void {
    const c = this.#cluster;
    const h = this.#host;
    if (c) c.stats.upstream_rq_active--;
    if (h) {
      h.stats.rq_active--;
      if (success) h.stats.rq_success++;
      else h.stats.rq_error++;
    }
  }

  // === AttemptSink ===

  onPoolReady(): void {}

  onResponseHeaders(status: number, headers: string[], endStream: boolean): void {
    if (this.#attempt === null) return;
    const ds = this.#ds;
    this.#status = status;
    this.#responseHeadersAt = this.#ctx.clock.now();
    const c = this.#cluster!;
    countStatus(c.stats, status);
    if (this.#isGrpc) {
      for (let i = 0; i < headers.length; i += 2) if (headers[i] === 'grpc-status') this.#grpcStatus = headers[i + 1];
    }
    let out = this.#responseEdit ? this.#responseEdit(headers) : headers;
    if (this.#requestCompleteAt >= 0) {
      out.push('x-envoy-upstream-service-time', String(Math.round(this.#responseHeadersAt - this.#requestCompleteAt)));
    }
    if (this.#target.includeAttemptCountInResponse) out = [...out, 'x-envoy-attempt-count', String(this.#attempts)];
    this.#endStreamSent = endStream;
    ds.respond(status, out, endStream);
    if (!endStream) {
      ds.onDrain(() => this.#attempt?.resume());
    }
  }

  onResponseData(chunk: Buffer): boolean {
    if (this.#attempt === null) return true;
    return this.#ds.write(chunk);
  }

  onResponseEnd(trailers: string[] | null): void {
    if (this.#attempt === null) return;
    this.#attempt = null;
    this.#responseComplete = true;
    this.#clearTimer();
    if (trailers && this.#isGrpc) {
      for (let i = 0; i < trailers.length; i += 2) if (trailers[i] === 'grpc-status') this.#grpcStatus = trailers[i + 1];
    }
    this.#cluster!.stats.upstream_rq_completed++;
    this.#finishAttempt(this.#status < 500);
    // A trailers-only response already ended the downstream stream with its headers.
    if (!this.#endStreamSent) this.#ds.end(trailers);
  }

  onReset(err: UpstreamResetError): void {
    if (this.#attempt === null) return;
    this.#attempt = null;
    const c = this.#cluster!;
    const h = this.#host!;
    this.#finishAttempt(false);
    if (err.reason === 'remote connection failure' || err.reason === 'local connection failure' || err.reason === 'connection timeout') {
      c.stats.upstream_cx_connect_fail++;
      h.stats.cx_connect_fail++;
      if (err.reason === 'connection timeout') c.stats.upstream_cx_connect_timeout++;
    } else if (err.reason === 'remote reset' || err.reason === 'remote refused stream reset') {
      c.stats.upstream_rq_rx_reset++;
    } else if (err.reason === 'connection termination') {
      c.stats.upstream_cx_destroy_remote_with_active_rq++;
    } else if (err.reason === 'protocol error') {
      c.stats.upstream_cx_protocol_error++;
    }
    const flag = resetFlag(err.reason);
    if (this.#ds.responseStarted) {
      // Never present a truncated response as complete.
      c.stats.upstream_rq_reset_after_downstream_response_started++;
      this.#flags |= flag;
      this.#details = 'upstream_reset_after_response_started{' + err.reason.replaceAll(' ', '_') + '}';
      this.#clearTimer();
      this.#ds.reset();
      return;
    }
    const status = err.reason === 'protocol error' ? 502 : 503;
    let body = `upstream connect error or disconnect/reset before headers. reset reason: ${err.reason}`;
    if (err.transportFailure) body += `, transport failure reason: ${err.transportFailure}`;
    this.#localReply(status, body, flag, 'upstream_reset_before_response_started{' + err.reason.replaceAll(' ', '_') + '}');
  }

  #clearTimer(): void {
    if (this.#timer) {
      this.#ctx.clock.clearTimeout(this.#timer);
      this.#timer = null;
    }
  }

  #localReply(status: number, body: string, flags: number, details: string): void {
    this.#clearTimer();
    this.#flags |= flags;
    this.#details = details;
    const extra =
      this.#target.includeAttemptCountInResponse && this.#attempts > 0 ? ['x-envoy-attempt-count', String(this.#attempts)] : undefined;
    this.#status = sendLocalReply(this.#ds, status, body, { isGrpc: this.#isGrpc, headers: extra });
    if (this.#isGrpc) this.#grpcStatus = String(httpToGrpcStatus(status));
  }

  #onDownstreamDone(aborted: boolean): void {
    if (this.#done) return;
    this.#done = true;
    this.#clearTimer();
    if (aborted && this.#attempt) {
      this.#flags |= Flag.DC;
      this.#cluster!.stats.upstream_rq_cancelled++;
      this.#cancelAttempt();
    } else if (aborted && !this.#responseComplete && this.#status === 0) {
      this.#flags |= Flag.DC;
    }
    const log = this.#ctx.accessLog;
    if (!log) return;
    const ds = this.#ds;
    log.log({
      startWall: ds.startWall,
      method: ds.method,
      path: ds.path,
      protocol: ds.protocol === 'http2' ? 'HTTP/2' : 'HTTP/1.1',
      status: this.#status,
      grpcStatus: this.#grpcStatus,
      flags: this.#flags,
      bytesReceived: this.#bytesReceived,
      bytesSent: ds.bytesSent,
      durationMs: this.#ctx.clock.now() - this.#start,
      upstreamServiceTimeMs:
        this.#requestCompleteAt >= 0 && this.#responseHeadersAt >= 0
          ? Math.round(this.#responseHeadersAt - this.#requestCompleteAt)
          : undefined,
      forwardedFor: ds.headers['x-forwarded-for'] as string | undefined,
      userAgent: ds.headers['user-agent'] as string | undefined,
      requestId: this.#requestId ?? (ds.headers['x-request-id'] as string | undefined),
      authority: ds.authority,
      upstreamHost: this.#host?.key,
      upstreamCluster: this.#cluster?.name,
      route: this.#target.routeName,
      attempts: this.#attempts,
      details: this.#details,
    });
  }
}

function countStatus(
  stats: { upstream_rq_2xx: number; upstream_rq_3xx: number; upstream_rq_4xx: number; upstream_rq_5xx: number; upstream_rq_1xx: number },
  status: number,
): void {
  if (status >= 500) stats.upstream_rq_5xx++;
  else if (status >= 400) stats.upstream_rq_4xx++;
  else if (status >= 300) stats.upstream_rq_3xx++;
  else if (status >= 200) stats.upstream_rq_2xx++;
  else stats.upstream_rq_1xx++;
}
