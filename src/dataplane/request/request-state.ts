import { randomUUID } from 'node:crypto';
import type { Clock, Timer } from '../../common/clock.js';
import type { Random } from '../../common/random.js';
import { Flag } from '../http/response-flags.js';
import { formatGrpcTimeout, grpcToHttpStatus, httpToGrpcStatus, isGrpcContentType, parseGrpcTimeout } from '../http/grpc.js';
import { ENVOY_INTERNAL_ONLY, HOP_BY_HOP } from '../http/headers.js';
import type { Downstream } from '../listener/downstream.js';
import { downstreamEntry, type AccessLogSink } from '../access-log.js';
import type { UpstreamRequest } from '../upstream/attempt-sink.js';
import type { Cluster } from '../upstream/cluster.js';
import type { Host } from '../upstream/host.js';
import { isConnectFailure, resetFlag, UpstreamResetError, type ResetReason } from '../upstream/reset-reason.js';
import { sendLocalReply } from './local-reply.js';
import { ReplayBody } from './replay-body.js';
import { firstValue } from './backoff.js';
import { wouldRetryFromHeaders, wouldRetryFromReset, type RetryReason } from './retry-decision.js';
import { RetryState, type RetryVerdict } from './retry-state.js';
import type { CompiledRetryPolicy } from './retry-policy.js';
import { UpstreamAttempt, type AttemptOwner, type AttemptTrace } from './upstream-attempt.js';
import { FAULT_ABORT_BODY, type CompiledFault, type FaultLimiter, type FaultSlot } from './fault.js';
import { chargeCode, type ListenerStats, type RouteStats } from '../stats/scopes.js';
import { sendShadow, type CompiledMirror } from './shadow.js';
import { setHeaders, type CompiledCors } from './cors.js';

/** Applies header edits to a flat [name, value, ...] list or a header object; null when none. */
export type ResponseHeaderEdit = ((headers: string[]) => string[]) | null;
export type RequestHeaderEdit = ((headers: Record<string, string | string[]>) => void) | null;

/** What the request path needs from a forward route, compiled once per config version. */
export type ForwardTarget = {
  routeName: string;
  /** Weighted backend choice. */
  pick(): { cluster: Cluster; requestEdit: RequestHeaderEdit; responseEdit: ResponseHeaderEdit } | undefined;
  /** Status when the picked cluster does not exist (Envoy's cluster_not_found_response_code). */
  clusterNotFoundStatus: number;
  /** Route (global) timeout; 0 = none. */
  timeoutMs: number;
  /** Stream idle timeout (the route's, else the listener's); 0 = none. */
  idleMs: number;
  /** Legacy gRPC timeouts (max_grpc_timeout set): the global timeout comes from grpc-timeout. */
  grpcTimeout: { maxMs: number; offsetMs: number } | null;
  /** "New" stream-duration timeouts; when set the route timeout is not armed (Envoy's quirk). */
  maxStreamDuration: { maxMs: number | undefined; headerMaxMs: number | undefined; headerOffsetMs: number | undefined } | null;
  requestEdit: RequestHeaderEdit;
  responseEdit: ResponseHeaderEdit;
  /** Path after rewrite, or null to keep the request's. */
  rewritePath: ((path: string) => string) | null;
  rewriteAuthority: string | null;
  includeAttemptCountInRequest: boolean;
  includeAttemptCountInResponse: boolean;
  retry: CompiledRetryPolicy | null;
  hedgeOnPerTryTimeout: boolean;
  fault: CompiledFault | null;
  /** Request mirrors (Envoy's shadows), or null when the route has none. */
  mirrors: CompiledMirror[] | null;
  /** Bytes of request body kept for mirrors (Envoy's request buffer limit). */
  mirrorBufferLimit: number;
  /** Consistent-hashing key of a request, or null when the route has no hash policy. */
  hashKey: ((ds: Downstream) => number | undefined) | null;
  /** The route's stats (`vhost.<vh>.route.<route>.`). */
  stats?: RouteStats | undefined;
  /** The route's CORS policy (preflights are answered before a RequestState exists). */
  cors: CompiledCors | null;
};

export type RequestContext = {
  clock: Clock;
  random: Random;
  accessLog: AccessLogSink | null;
  /** Client is trusted: honour x-envoy-* control headers. */
  trusted: boolean;
  preserveRequestId: boolean;
  /** Make an x-request-id when there is none (or it is not preserved). */
  generateRequestId: boolean;
  /** HCM request_timeout: the whole request must arrive within this; 0 = none. */
  requestTimeoutMs: number;
  faults: FaultLimiter;
  /** The policy used when only trusted request headers ask for retries. */
  emptyRetryPolicy: CompiledRetryPolicy;
  /** Whether the access log wants the attempt trace. */
  wantTrace: boolean;
  /** The listener's HTTP stats (router and HCM counters the request path bumps). */
  http?: ListenerStats | undefined;
};

const LOCAL_RESET_BODY = 'upstream connect error or disconnect/reset before headers.';
/** How much of a retried response legate reads to keep its connection; beyond it, reset. */
const DRAIN_LIMIT = 64 * 1024;

/**
 * The per-request state machine: owns the downstream exchange, the route timeout, the replay
 * buffer and the attempts, decides retries (pure predicates, then RetryState.shouldRetry) and
 * writes the access log. Once response headers go downstream the request is committed.
 */
export class RequestState implements AttemptOwner {
  readonly #ds: Downstream;
  readonly #ctx: RequestContext;
  readonly #t: ForwardTarget;
  readonly #isGrpc: boolean;
  readonly #start: number;
  #cluster: Cluster | null = null;
  #responseEdit: ResponseHeaderEdit = null;
  #baseHeaders: Record<string, string | string[]> | null = null;
  #req: UpstreamRequest | null = null;
  #body: ReplayBody | null = null;
  #retry: RetryState | null = null;
  #attempts: UpstreamAttempt[] = [];
  #attemptCount = 0;
  #triedHosts: Host[] | null = null;
  #committed: UpstreamAttempt | null = null;
  #held: { a: UpstreamAttempt; status: number; headers: string[]; chunks: Buffer[]; size: number } | null = null;
  #retryTimer: Timer | null = null;
  #globalTimer: Timer | null = null;
  #durationTimer: Timer | null = null;
  #globalMs = 0;
  #perTryMs = 0;
  #perTryIdleMs = 0;
  #requestComplete = false;
  #requestCompleteAt = -1;
  #responseHeadersAt = -1;
  #anyBytesSent = false;
  #retried = false;
  #flags = 0;
  #status = 0;
  #grpcStatus: string | undefined;
  #details: string | undefined;
  #finished = false;
  #responseDone = false;
  #endStreamSent = false;
  #bytesReceived = 0;
  #requestId: string | undefined;
  #trace: AttemptTrace[] | null = null;
  #faultSlot: FaultSlot | null = null;
  /** Retried responses being read to the end so their connections stay reusable. */
  #draining: Set<UpstreamAttempt> | null = null;
  #faultTimer: Timer | null = null;
  /** Stream idle timer: armed once, it re-arms itself lazily from the last activity (no timer churn per chunk). */
  #idleTimer: Timer | null = null;
  #lastActivity = 0;
  #requestTimer: Timer | null = null;

  /** Access-Control-* headers every response gets (an allowed CORS request), or null. */
  readonly #corsHeaders: string[] | null;

  constructor(ds: Downstream, target: ForwardTarget, ctx: RequestContext, corsHeaders: string[] | null = null) {
    this.#corsHeaders = corsHeaders;
    this.#ds = ds;
    this.#ctx = ctx;
    this.#t = target;
    this.#isGrpc = isGrpcContentType(ds.headers['content-type']);
    this.#start = ctx.clock.now();
    ds.onDone((aborted) => this.#onDownstreamDone(aborted));
  }

  start(): void {
    const idle = this.#t.idleMs;
    if (idle > 0) {
      this.#lastActivity = this.#start;
      this.#idleTimer = this.#ctx.clock.setTimeout(this.#onIdleCheck, idle);
    }
    const rqTimeout = this.#ctx.requestTimeoutMs;
    if (rqTimeout > 0 && this.#ds.body) this.#requestTimer = this.#ctx.clock.setTimeout(this.#onRequestTimeout, rqTimeout);
    const fault = this.#t.fault;
    if (fault && fault.scope === 'request') {
      // Envoy's placement: before the router, once per request, outside the route timeout.
      this.#faultSlot = { held: false };
      const delay = fault.decideDelay(this.#ds.headers, this.#ctx.random, this.#ctx.faults, this.#faultSlot);
      if (delay > 0) {
        this.#flags |= Flag.DI;
        this.#faultTimer = this.#ctx.clock.setTimeout(() => {
          this.#faultTimer = null;
          if (!this.#finished) this.#afterRequestDelay();
        }, delay);
        return;
      }
      this.#afterRequestDelay();
      return;
    }
    this.#route();
  }

  #afterRequestDelay(): void {
    const fault = this.#t.fault!;
    const abort = fault.decideAbort(this.#ds.headers, this.#ctx.random, this.#ctx.faults, this.#faultSlot!, this.#isGrpc);
    if (abort) {
      this.#localReply(abort.httpStatus, FAULT_ABORT_BODY, Flag.FI, 'fault_filter_abort', abort.grpcStatus);
      return;
    }
    this.#route();
  }

  #route(): void {
    const picked = this.#t.pick();
    const http = this.#ctx.http;
    if (!picked) {
      if (http) http.no_cluster++;
      this.#localReply(this.#t.clusterNotFoundStatus, '', Flag.NC, 'cluster_not_found');
      return;
    }
    if (http) http.rq_total++;
    const rs = this.#t.stats;
    if (rs) rs.counters.upstream_rq_total++;
    const cluster = picked.cluster;
    this.#cluster = cluster;
    this.#responseEdit = picked.responseEdit ?? this.#t.responseEdit;
    const ds = this.#ds;

    const headers = this.#upstreamHeaders();
    this.#computeTimeouts(headers);
    this.#t.requestEdit?.(headers);
    picked.requestEdit?.(headers);
    this.#baseHeaders = headers;

    if (ds.body) {
      const mirrors = this.#t.mirrors;
      let limit = this.#retry ? this.#retry.policy.bufferLimitBytes : 0;
      if (mirrors) limit = Math.max(limit, this.#t.mirrorBufferLimit);
      this.#body = new ReplayBody(ds.body, limit, this.#onBodyBytes, this.#retry || mirrors ? () => this.#onBodyOverLimit() : null);
      ds.body.once('end', () => this.#onRequestComplete());
    }
    const useH2 =
      this.#isGrpc || cluster.config.protocol === 'http2' || (cluster.config.protocol === 'downstream' && ds.protocol === 'http2');
    // HTTP/2 carries the authority as :authority; HTTP/1.1 needs it as Host.
    const authority = this.#t.rewriteAuthority ?? ds.authority;
    if (useH2) delete headers.host;
    else headers.host = authority;
    this.#req = {
      method: ds.method,
      path: this.#t.rewritePath ? this.#t.rewritePath(ds.path) : ds.path,
      authority,
      scheme: cluster.config.tls ? 'https' : 'http',
      headers,
      body: null,
    };
    this.#useH2 = useH2;
    if (!ds.body) this.#onRequestComplete();
    this.#startAttempt();
  }

  #useH2 = false;

  /** Copies the downstream headers for the upstream, adding the proxy's own; consumes control headers. */
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
      if (ENVOY_INTERNAL_ONLY.has(k) && !trusted) continue;
      out[k] = v;
    }
    // Retry control headers are consumed by the router (honoured only from trusted clients).
    const control = trusted ? takeRetryControl(out) : null;
    this.#retry = RetryState.create(this.#t.retry, control, src, this.#ctx.emptyRetryPolicy, this.#t.stats?.counters);
    const xff = src['x-forwarded-for'];
    out['x-forwarded-for'] = xff ? `${xff}, ${ds.remoteAddress}` : ds.remoteAddress;
    out['x-forwarded-proto'] = ds.scheme;
    let rid = src['x-request-id'];
    if (typeof rid !== 'string' || rid === '' || !this.#ctx.preserveRequestId) rid = this.#ctx.generateRequestId ? randomUUID() : undefined;
    if (rid !== undefined) out['x-request-id'] = rid;
    else delete out['x-request-id'];
    this.#requestId = rid;
    return out;
  }

  /** Envoy's timeout set (spec 1.2): route or gRPC-derived global timeout, per-try, header overrides. */
  #computeTimeouts(h: Record<string, string | string[]>): void {
    const t = this.#t;
    let global = t.timeoutMs;
    if (t.maxStreamDuration) {
      global = 0; // the route timeout is not armed in this mode (Envoy's behaviour)
      this.#armStreamDuration(h);
    } else if (this.#isGrpc && t.grpcTimeout) {
      let g = parseGrpcTimeout(this.#ds.headers['grpc-timeout']) ?? 0;
      const { maxMs, offsetMs } = t.grpcTimeout;
      if (offsetMs > 0 && offsetMs < g) g -= offsetMs;
      if (maxMs !== 0 && (g === 0 || g > maxMs)) g = maxMs;
      global = g;
    }
    // Per-try timeouts come from the route's policy even when it retries on nothing.
    const policy = this.#t.retry;
    let perTry = policy?.perTryTimeoutMs ?? 0;
    this.#perTryIdleMs = policy?.perTryIdleTimeoutMs ?? 0;
    const rqTimeout = h['x-envoy-upstream-rq-timeout-ms'];
    if (rqTimeout !== undefined) {
      if (typeof rqTimeout === 'string' && /^[0-9]+$/.test(rqTimeout)) global = Number(rqTimeout);
      delete h['x-envoy-upstream-rq-timeout-ms'];
    }
    const ptTimeout = h['x-envoy-upstream-rq-per-try-timeout-ms'];
    if (ptTimeout !== undefined) {
      if (typeof ptTimeout === 'string' && /^[0-9]+$/.test(ptTimeout)) perTry = Number(ptTimeout);
      delete h['x-envoy-upstream-rq-per-try-timeout-ms'];
    }
    if (global !== 0 && perTry >= global) perTry = 0; // a per-try timeout >= the global one is ignored
    this.#globalMs = global;
    this.#perTryMs = perTry;
  }

  /** The stream-duration timer of the "new" gRPC timeouts, counted from the stream's start. */
  #armStreamDuration(h: Record<string, string | string[]>): void {
    const m = this.#t.maxStreamDuration!;
    let ms: number | undefined;
    const g = parseGrpcTimeout(this.#ds.headers['grpc-timeout']);
    if (g !== undefined && m.headerMaxMs !== undefined) {
      ms = m.headerMaxMs !== 0 && g > m.headerMaxMs ? m.headerMaxMs : g;
      if (ms !== 0 && m.headerOffsetMs !== undefined) ms = m.headerOffsetMs < ms ? ms - m.headerOffsetMs : 0;
      if (ms === 0 && g === 0) ms = 0;
    } else if (m.maxMs !== undefined && m.maxMs > 0) {
      ms = m.maxMs;
    }
    if (ms === undefined) return;
    // The upstream is told the capped budget (before the time already spent is subtracted).
    if (this.#isGrpc) h['grpc-timeout'] = formatGrpcTimeout(ms);
    const left = Math.max(0, ms - (this.#ctx.clock.now() - this.#start));
    this.#durationTimer = this.#ctx.clock.setTimeout(() => this.#onStreamDuration(), left);
  }

  #onStreamDuration(): void {
    this.#durationTimer = null;
    if (this.#finished || this.#responseDone) return;
    this.#cancelAll();
    if (this.#ctx.http) this.#ctx.http.downstream_rq_max_duration_reached++;
    if (this.#ds.responseStarted) {
      this.#ds.reset();
      return;
    }
    // HCM timeouts surface as DEADLINE_EXCEEDED for gRPC (router timeouts as UNAVAILABLE).
    this.#localReply(this.#requestComplete ? 504 : 408, 'downstream duration timeout', 0, 'max_duration_timeout', 4);
  }

  readonly #onBodyBytes = (n: number): void => {
    this.#bytesReceived += n;
    if (this.#idleTimer) this.#lastActivity = this.#ctx.clock.now();
  };

  /** HCM stream idle timeout: nothing sent or received for `idleMs`. */
  readonly #onIdleCheck = (): void => {
    this.#idleTimer = null;
    // Once legate's response is complete, the client finishing its side is not legate's wait.
    if (this.#finished || this.#responseDone) return;
    const idle = this.#t.idleMs;
    const quiet = this.#ctx.clock.now() - this.#lastActivity;
    if (quiet < idle) {
      this.#idleTimer = this.#ctx.clock.setTimeout(this.#onIdleCheck, idle - quiet);
      return;
    }
    if (this.#ctx.http) this.#ctx.http.downstream_rq_idle_timeout++;
    this.#localReply(this.#requestComplete ? 504 : 408, 'stream timeout', Flag.SI, 'stream_idle_timeout');
  };

  /** HCM request_timeout: the request did not arrive in time (disarmed once it has, or once the response starts). */
  readonly #onRequestTimeout = (): void => {
    this.#requestTimer = null;
    if (this.#finished || this.#requestComplete || this.#ds.responseStarted) return;
    if (this.#ctx.http) this.#ctx.http.downstream_rq_timeout++;
    this.#localReply(408, 'request timeout', 0, 'request_overall_timeout');
  };

  /** Mirrors were sent or given up (body over the buffer limit). */
  #shadowDone = false;

  /** Sends the route's mirrors, once the whole request is here (Envoy shadows complete requests). */
  #shadow(): void {
    this.#shadowDone = true;
    const body = this.#body;
    const kept = body ? body.kept : null;
    if (body && !kept) return; // dropped over the limit: counted in retry_or_shadow_abandoned
    const bytes = kept ? (kept.length === 1 ? kept[0]! : Buffer.concat(kept)) : null;
    const req = { ...this.#req!, headers: this.#baseHeaders! };
    for (const m of this.#t.mirrors!)
      sendShadow(m, req, bytes, this.#useH2, this.#isGrpc, this.#globalMs, this.#ctx.clock, this.#ctx.random);
    // Nothing else needs the copy once the response has started (no retry is possible then).
    if (this.#committed) body?.release();
  }

  #onRequestComplete(): void {
    if (this.#requestComplete) return;
    this.#requestComplete = true;
    if (this.#t.mirrors && !this.#shadowDone && !this.#finished) this.#shadow();
    if (this.#requestTimer) {
      this.#ctx.clock.clearTimeout(this.#requestTimer);
      this.#requestTimer = null;
    }
    this.#requestCompleteAt = this.#ctx.clock.now();
    if (this.#finished || this.#responseDone) return;
    if (this.#globalMs > 0) this.#globalTimer = this.#ctx.clock.setTimeout(() => this.#onGlobalTimeout(), this.#globalMs);
    for (const a of this.#attempts) if (a.poolReady && !a.done) this.#armPerTry(a);
  }

  // === attempts ===

  #startAttempt(): void {
    const cluster = this.#cluster!;
    const host = this.#chooseHost(cluster);
    if (!host) {
      cluster.stats.upstream_cx_none_healthy++;
      this.#localReply(503, 'no healthy upstream', Flag.UH, 'no_healthy_upstream');
      return;
    }
    const n = ++this.#attemptCount;
    const a = new UpstreamAttempt(this, host, n, this.#ctx.clock.now());
    this.#attempts.push(a);
    if (this.#retry?.policy.previousHosts) (this.#triedHosts ??= []).push(host);
    if (this.#retry?.policy.previousPrioritiesEvery) (this.#triedPriorities ??= new Set()).add(host.priority);
    cluster.stats.upstream_rq_total++;
    cluster.stats.upstream_rq_active++;
    host.stats.rq_total++;
    host.stats.rq_active++;

    const fault = this.#t.fault;
    if (fault && fault.scope === 'attempt') {
      // legate's attempt scope: the fault is decided per attempt, as if the host answered it.
      const slot: FaultSlot = { held: false };
      a.faultSlot = slot;
      const delay = fault.decideDelay(this.#ds.headers, this.#ctx.random, this.#ctx.faults, slot);
      const go = () => {
        const abort = fault.decideAbort(this.#ds.headers, this.#ctx.random, this.#ctx.faults, slot, this.#isGrpc);
        this.#ctx.faults.releaseSlot(slot);
        if (abort) this.#injectAbort(a, abort.httpStatus, abort.grpcStatus);
        else this.#dispatch(a);
      };
      if (delay > 0) {
        this.#flags |= Flag.DI;
        a.faultTimer = this.#ctx.clock.setTimeout(() => {
          a.faultTimer = null;
          if (!a.done && !this.#finished) go();
        }, delay);
      } else go();
      return;
    }
    this.#dispatch(a);
  }

  #dispatch(a: UpstreamAttempt): void {
    const base = this.#req!;
    let req = base;
    const needCopy =
      this.#attemptCount > 1 ||
      this.#t.includeAttemptCountInRequest ||
      this.#globalMs > 0 ||
      this.#perTryMs > 0 ||
      (this.#isGrpc && this.#t.grpcTimeout !== null);
    if (needCopy) {
      const headers = this.#attemptCount > 1 ? { ...this.#baseHeaders! } : this.#baseHeaders!;
      this.#setTimeoutHeaders(headers, a.number);
      if (this.#t.includeAttemptCountInRequest) headers['x-envoy-attempt-count'] = String(a.number);
      req = { ...base, headers };
    }
    if (this.#body) req = { ...req, body: this.#body.reader() };
    const pool = this.#useH2 ? a.host.h2() : a.host.h1();
    a.handle = pool.request(req, a);
  }

  /** x-envoy-expected-rq-timeout-ms (and grpc-timeout in legacy mode) with the time already spent. */
  #setTimeoutHeaders(h: Record<string, string | string[]>, attempt: number): void {
    const g = this.#globalMs;
    let expected = this.#t.hedgeOnPerTryTimeout || this.#perTryMs === 0 ? g : this.#perTryMs;
    if (expected <= 0) return;
    if (g > 0) {
      // The first attempt is told the whole budget (Envoy passes no elapsed time there).
      const elapsed = attempt > 1 && this.#requestCompleteAt >= 0 ? this.#ctx.clock.now() - this.#requestCompleteAt : 0;
      expected = elapsed >= g ? 1 : Math.min(expected, Math.ceil(g - elapsed));
    }
    h['x-envoy-expected-rq-timeout-ms'] = String(expected);
    if (this.#isGrpc && this.#t.grpcTimeout) h['grpc-timeout'] = formatGrpcTimeout(expected);
  }

  /** Envoy's host selection on retries: redraw hosts already tried, up to N extra picks, else keep the last. */
  #hash: number | undefined;
  #triedPriorities: Set<number> | null = null;
  #excluded: ReadonlySet<number> | undefined;

  /**
   * previous_priorities (Envoy): every `updateFrequency` attempts the excluded set is refreshed
   * from all priorities tried so far; in between it stays as it was.
   */
  #excludedPriorities(): ReadonlySet<number> | undefined {
    const every = this.#retry?.policy.previousPrioritiesEvery ?? 0;
    if (every === 0 || this.#attemptCount === 0) return undefined;
    if (this.#attemptCount % every === 0 && this.#triedPriorities) this.#excluded = new Set(this.#triedPriorities);
    return this.#excluded;
  }

  #chooseHost(cluster: Cluster): Host | undefined {
    const tried = this.#triedHosts;
    if (this.#attemptCount === 0 && this.#t.hashKey) this.#hash = this.#t.hashKey(this.#ds);
    let host = cluster.chooseHost(this.#hash, this.#attemptCount, this.#excludedPriorities());
    if (!host || !tried || this.#attemptCount === 0) return host;
    const extra = this.#retry!.policy.hostSelectionRetryMaxAttempts;
    for (let i = 0; i < extra && tried.includes(host); i++) {
      const next = cluster.chooseHost(this.#hash, this.#attemptCount + i + 1, this.#excludedPriorities());
      if (!next) break;
      host = next;
    }
    return host;
  }

  #injectAbort(a: UpstreamAttempt, httpStatus: number, grpcStatus: number | undefined): void {
    this.#flags |= Flag.FI;
    a.trace.outcome = `fault abort ${grpcStatus !== undefined ? `grpc ${grpcStatus}` : httpStatus}`;
    a.gotHeaders = true;
    if (this.#isGrpc) {
      const g = grpcStatus ?? httpToGrpcStatus(httpStatus);
      this.onAttemptHeaders(
        a,
        200,
        ['content-type', 'application/grpc', 'grpc-status', String(g), 'grpc-message', 'fault%20filter%20abort'],
        true,
      );
      if (!a.done) {
        a.done = true;
        this.onAttemptEnd(a, null);
      }
      return;
    }
    const body = Buffer.from(FAULT_ABORT_BODY);
    this.onAttemptHeaders(a, httpStatus, ['content-type', 'text/plain', 'content-length', String(body.length)], false);
    if (!a.done) {
      this.onAttemptData(a, body);
      a.done = true;
      this.onAttemptEnd(a, null);
    }
  }

  #armPerTry(a: UpstreamAttempt): void {
    const ms = this.#perTryMs;
    if (ms > 0 && !a.perTryTimer) a.perTryTimer = this.#ctx.clock.setTimeout(() => this.#onPerTryTimeout(a, false), ms);
    this.#armIdle(a);
  }

  #armIdle(a: UpstreamAttempt): void {
    const ms = this.#perTryIdleMs;
    if (ms <= 0) return;
    if (a.idleTimer) this.#ctx.clock.clearTimeout(a.idleTimer);
    a.idleTimer = this.#ctx.clock.setTimeout(() => this.#onPerTryTimeout(a, true), ms);
  }

  #clearAttemptTimers(a: UpstreamAttempt): void {
    const c = this.#ctx.clock;
    if (a.faultTimer) {
      c.clearTimeout(a.faultTimer);
      a.faultTimer = null;
    }
    if (a.faultSlot) this.#ctx.faults.releaseSlot(a.faultSlot);
    if (a.perTryTimer) {
      c.clearTimeout(a.perTryTimer);
      a.perTryTimer = null;
    }
    if (a.idleTimer) {
      c.clearTimeout(a.idleTimer);
      a.idleTimer = null;
    }
  }

  /** Ends an attempt's accounting (active gauges, host success/error). */
  #finishAttempt(a: UpstreamAttempt, success: boolean): void {
    this.#clearAttemptTimers(a);
    const i = this.#attempts.indexOf(a);
    if (i < 0) return;
    this.#attempts.splice(i, 1);
    a.trace.ms = Math.round(this.#ctx.clock.now() - a.startedAt);
    if (this.#trace || this.#ctx.wantTrace) (this.#trace ??= []).push(a.trace);
    const c = this.#cluster!;
    c.stats.upstream_rq_active--;
    a.host.stats.rq_active--;
    if (success) a.host.stats.rq_success++;
    else a.host.stats.rq_error++;
  }

  #cancelAttempt(a: UpstreamAttempt, decision: string): void {
    if (!a.trace.decision) a.trace.decision = decision;
    // A stream that was sent upstream and is now reset by legate (Envoy's upstream_rq_tx_reset).
    if (!a.done && a.poolReady) this.#cluster!.stats.upstream_rq_tx_reset++;
    a.cancel();
    this.#finishAttempt(a, false);
  }

  #cancelAll(): void {
    for (const a of [...this.#attempts]) this.#cancelAttempt(a, 'cancelled');
    if (this.#retryTimer) {
      this.#ctx.clock.clearTimeout(this.#retryTimer);
      this.#retryTimer = null;
    }
  }

  // === AttemptOwner ===

  onAttemptPoolReady(a: UpstreamAttempt): void {
    this.#anyBytesSent = true;
    this.#cluster!.outlier.reportLocalOrigin(a.host, 'connect-success');
    if (this.#requestComplete) this.#armPerTry(a);
  }

  onAttemptHeaders(a: UpstreamAttempt, status: number, headers: string[], endStream: boolean): void {
    if (this.#committed || this.#finished) {
      this.#cancelAttempt(a, 'lost the race');
      return;
    }
    this.#armIdle(a);
    const c = this.#cluster!;
    let grpc: number | undefined;
    if (this.#isGrpc) {
      const g = firstValue(headers, 'grpc-status');
      if (g !== undefined) grpc = Number(g);
    }
    if (a.trace.outcome === 'pending' || a.hedged) {
      const got = grpc !== undefined ? `${status} grpc ${grpc}` : String(status);
      a.trace.outcome = a.hedged ? `${got} after per-try timeout` : got;
    }
    // Outlier detection sees a gRPC status only in headers, mapped to HTTP (UNAVAILABLE = 503).
    c.outlier.reportHttpStatus(a.host, grpc !== undefined ? grpcToHttpStatus(grpc) : status);
    if (c.healthChecker && firstValue(headers, 'x-envoy-immediate-health-check-fail') !== undefined)
      c.healthChecker.reportImmediateFailure(a.host);
    const retry = this.#retry;
    if (retry) {
      // legate's option: hold a gRPC response whose status will come in trailers, to retry on it.
      if (retry.policy.grpcTrailerRetry && this.#isGrpc && grpc === undefined && !endStream && status === 200) {
        this.#held = { a, status, headers, chunks: [], size: 0 };
        return;
      }
      let reason = wouldRetryFromHeaders(retry, status, headers, grpc);
      let pushbackMs: number | undefined;
      if (retry.policy.grpcTrailerRetry && grpc !== undefined) {
        // A trailers-only response carries its trailers here: honour the server's pushback too.
        const pb = firstValue(headers, 'grpc-retry-pushback-ms');
        if (pb !== undefined) {
          if (/^[0-9]+$/.test(pb)) pushbackMs = Number(pb);
          else reason = null;
        }
      }
      if (this.#decideOnResponse(a, status, reason, headers, pushbackMs, endStream)) return;
    }
    this.#commit(a, status, headers, endStream);
  }

  /** True when the response was discarded for a retry (or left for a hedged sibling). */
  #decideOnResponse(
    a: UpstreamAttempt,
    status: number,
    reason: RetryReason,
    headers: string[],
    pushbackMs: number | undefined,
    endStream: boolean,
  ): boolean {
    const retry = this.#retry!;
    if (reason !== null && (this.#attempts.length > 1 || this.#retryTimer)) {
      // Hedging: a retriable answer while others are in flight is dropped; they may still win.
      this.#charge(status, true);
      this.#discard(a, `discarded (${reason.on}): another attempt is in flight`, endStream);
      return true;
    }
    if (reason !== null && a.hedged) {
      // Envoy: an attempt that was already hedged is never retried again.
      retry.shouldRetry(null, this.#cluster!, this.#ctx.random, this.#ctx.clock, null);
      a.trace.decision = `not retried (${reason.on}): already hedged`;
      return false;
    }
    const verdict = retry.shouldRetry(reason, this.#cluster!, this.#ctx.random, this.#ctx.clock, { headers, pushbackMs });
    if (verdict.kind === 'yes') {
      this.#charge(status, true);
      this.#discard(a, `retried (${reason!.on}) after ${verdict.delayMs} ms`, endStream);
      this.#scheduleRetry(verdict);
      return true;
    }
    this.#noteNoRetry(a, verdict, reason);
    return false;
  }

  /**
   * Drops a response that will not be used. Envoy resets it; legate reads a small rest (up to
   * DRAIN_LIMIT bytes) to the end instead, so an HTTP/1.1 connection is not thrown away for every
   * retried 503. Anything larger is reset.
   */
  #discard(a: UpstreamAttempt, decision: string, endStream: boolean): void {
    if (endStream || a.done) {
      this.#cancelAttempt(a, decision);
      return;
    }
    if (!a.trace.decision) a.trace.decision = decision;
    this.#finishAttempt(a, false);
    a.draining = true;
    (this.#draining ??= new Set()).add(a);
  }

  #noteNoRetry(a: UpstreamAttempt, verdict: RetryVerdict, reason: RetryReason): void {
    if (verdict.kind === 'limit') {
      this.#flags |= Flag.URX;
      a.trace.decision = `not retried (${reason?.on}): retry limit reached`;
    } else if (verdict.kind === 'overflow') {
      this.#flags |= Flag.UO;
      a.trace.decision = `not retried (${reason?.on}): retry circuit breaker overflow`;
    } else if (!a.trace.decision && !a.gotHeaders) {
      // A response that is not retriable is simply committed; say why only for failures.
      a.trace.decision = 'not retriable';
    }
  }

  /** Response-code stats: the cluster's and route's for a response sent on, `retry.` for a dropped one. */
  #charge(status: number, dropped: boolean): void {
    const c = this.#cluster!;
    if (dropped) {
      chargeCode(c.retryStats, c.retryCodes, status);
      return;
    }
    chargeCode(c.stats, c.codes, status);
    const rs = this.#t.stats;
    if (rs) chargeCode(rs.counters, rs.codes, status);
  }

  #commit(a: UpstreamAttempt, status: number, headers: string[], endStream: boolean): void {
    this.#committed = a;
    if (!a.trace.decision || a.hedged) a.trace.decision = a.hedged ? 'committed (won after hedging)' : 'committed';
    if (a.perTryTimer) {
      // Once the response started the per-try timeout no longer applies (the idle one does).
      this.#ctx.clock.clearTimeout(a.perTryTimer);
      a.perTryTimer = null;
    }
    for (const other of [...this.#attempts]) if (other !== a) this.#cancelAttempt(other, 'lost the race');
    if (this.#retryTimer) {
      this.#ctx.clock.clearTimeout(this.#retryTimer);
      this.#retryTimer = null;
    }
    if (this.#shadowDone || !this.#t.mirrors) this.#body?.release();
    this.#status = status;
    this.#charge(status, false);
    if (this.#isGrpc) this.#grpcStatus = firstValue(headers, 'grpc-status');
    this.#responseHeadersAt = this.#ctx.clock.now();
    if (this.#idleTimer) this.#lastActivity = this.#responseHeadersAt;
    if (this.#requestTimer) {
      this.#ctx.clock.clearTimeout(this.#requestTimer);
      this.#requestTimer = null;
    }
    let out = this.#responseEdit ? this.#responseEdit(headers) : headers;
    if (this.#corsHeaders) out = setHeaders(out, this.#corsHeaders);
    if (this.#requestCompleteAt >= 0) {
      out.push('x-envoy-upstream-service-time', String(Math.round(this.#responseHeadersAt - this.#requestCompleteAt)));
    }
    if (this.#t.includeAttemptCountInResponse) out = [...out, 'x-envoy-attempt-count', String(this.#attemptCount)];
    this.#endStreamSent = endStream;
    const ds = this.#ds;
    ds.respond(status, out, endStream);
    if (!endStream) ds.onDrain(() => this.#committed?.resume());
  }

  onAttemptData(a: UpstreamAttempt, chunk: Buffer): boolean {
    if (a.draining) {
      a.drained += chunk.length;
      if (a.drained > DRAIN_LIMIT) {
        this.#draining?.delete(a);
        a.cancel();
      }
      return true;
    }
    if (this.#idleTimer) this.#lastActivity = this.#ctx.clock.now();
    if (a === this.#committed) {
      this.#armIdle(a);
      return this.#ds.write(chunk);
    }
    const held = this.#held;
    if (held && held.a === a) {
      this.#armIdle(a);
      held.chunks.push(chunk);
      held.size += chunk.length;
      if (held.size > this.#retry!.policy.bufferLimitBytes) {
        // Too big to hold: give up retrying on trailers and stream what we have.
        this.#held = null;
        this.#commit(a, held.status, held.headers, false);
        for (const c of held.chunks) this.#ds.write(c);
      }
      return true;
    }
    return true;
  }

  onAttemptEnd(a: UpstreamAttempt, trailers: string[] | null): void {
    if (a.draining) {
      this.#draining?.delete(a);
      return;
    }
    const held = this.#held;
    if (held && held.a === a) {
      this.#held = null;
      const g = trailers ? firstValue(trailers, 'grpc-status') : undefined;
      const grpc = g !== undefined ? Number(g) : undefined;
      a.trace.outcome = `${held.status} grpc ${g ?? '-'} (trailers)`;
      // gRPC's pushback: a negative or malformed value means "do not retry".
      const pb = trailers ? firstValue(trailers, 'grpc-retry-pushback-ms') : undefined;
      let reason = wouldRetryFromHeaders(this.#retry!, held.status, held.headers, grpc);
      let pushbackMs: number | undefined;
      if (pb !== undefined) {
        if (/^[0-9]+$/.test(pb)) pushbackMs = Number(pb);
        else reason = null;
      }
      a.done = true;
      if (this.#decideOnResponse(a, held.status, reason, held.headers, pushbackMs, true)) return;
      this.#commit(a, held.status, held.headers, false);
      for (const c of held.chunks) this.#ds.write(c);
    }
    if (a !== this.#committed) return;
    this.#responseDone = true;
    if (trailers && this.#isGrpc) {
      const g = firstValue(trailers, 'grpc-status');
      if (g !== undefined) this.#grpcStatus = g;
    }
    if (this.#requestCompleteAt >= 0) {
      // Envoy's upstream_rq_time: from the end of the downstream request to the end of the response.
      const ms = this.#ctx.clock.now() - this.#requestCompleteAt;
      this.#cluster!.rqTime.record(ms);
      this.#t.stats?.rqTime.record(ms);
    }
    this.#finishAttempt(a, this.#status < 500);
    this.#retry?.done();
    this.#clearRequestTimers();
    // A trailers-only response already ended the downstream stream with its headers.
    if (!this.#endStreamSent) this.#ds.end(trailers);
  }

  onAttemptReset(a: UpstreamAttempt, err: UpstreamResetError): void {
    if (a.draining) {
      this.#draining?.delete(a);
      return;
    }
    const c = this.#cluster!;
    const reason = err.reason;
    c.noteReset(a.host, reason);
    if (a.trace.outcome === 'pending') a.trace.outcome = `reset: ${reason}`;
    this.#finishAttempt(a, false);
    if (a === this.#committed) {
      // Never present a truncated response as complete.
      c.stats.upstream_rq_reset_after_downstream_response_started++;
      this.#flags |= resetFlag(reason);
      this.#details = `upstream_reset_after_response_started{${reason.replaceAll(' ', '_')}}`;
      this.#responseDone = true;
      this.#clearRequestTimers();
      this.#ds.reset();
      return;
    }
    if (this.#held?.a === a) this.#held = null;
    this.#onFailureBeforeHeaders(a, wouldRetryFromReset(this.#retry?.retryOn ?? 0, reason, this.#anyBytesSent), err);
  }

  /** A failure without response headers (reset, connect failure, per-try timeout). */
  #onFailureBeforeHeaders(a: UpstreamAttempt, reason: RetryReason, err: UpstreamResetError | 'timeout'): void {
    const retry = this.#retry;
    if (retry) {
      const verdict = retry.shouldRetry(reason, this.#cluster!, this.#ctx.random, this.#ctx.clock, null);
      if (verdict.kind === 'yes') {
        if (!a.trace.decision) a.trace.decision = `retried (${reason!.on}) after ${verdict.delayMs} ms`;
        this.#scheduleRetry(verdict);
        return;
      }
      this.#noteNoRetry(a, verdict, reason);
    }
    // A hedged sibling may still answer.
    if (this.#attempts.length > 0 || this.#retryTimer) return;
    if (err === 'timeout') {
      if (!this.#ds.responseStarted) this.#charge(504, false);
      this.#localReply(504, 'upstream request timeout', Flag.UT, 'upstream_per_try_timeout');
      return;
    }
    const status = err.reason === 'protocol error' ? 502 : 503;
    // Envoy charges the local reply of an upstream failure to the cluster as its response code.
    if (!this.#ds.responseStarted) this.#charge(status, false);
    let body = `${LOCAL_RESET_BODY} ${this.#retried ? 'retried and the latest reset reason' : 'reset reason'}: ${err.reason}`;
    // Envoy gives a transport failure reason only for connection (pool) failures.
    if (err.transportFailure && isConnectFailure(err.reason)) body += `, transport failure reason: ${err.transportFailure}`;
    const details = `upstream_reset_before_response_started{${err.reason.replaceAll(' ', '_')}}`;
    // A circuit breaker said no: Envoy tells the client with x-envoy-overloaded.
    this.#localReply(
      status,
      body,
      resetFlag(err.reason),
      details,
      undefined,
      err.reason === 'overflow' ? ['x-envoy-overloaded', 'true'] : undefined,
    );
  }

  #scheduleRetry(v: Extract<RetryVerdict, { kind: 'yes' }>): void {
    this.#retried = true;
    if (this.#body && !this.#body.replayable) return; // cannot happen: overflow drops the retry state
    const fire = () => {
      this.#retryTimer = null;
      if (this.#finished || this.#committed) return;
      this.#startAttempt();
    };
    this.#retryTimer = this.#ctx.clock.setTimeout(fire, v.delayMs);
  }

  #onPerTryTimeout(a: UpstreamAttempt, idle: boolean): void {
    if (idle) a.idleTimer = null;
    else a.perTryTimer = null;
    if (a.done || this.#finished) return;
    const c = this.#cluster!;
    if (a === this.#committed) {
      // Only the idle timeout applies once the response started: reset the client's stream.
      c.stats.upstream_rq_per_try_idle_timeout++;
      this.#flags |= Flag.UT;
      this.#cancelAttempt(a, 'per-try idle timeout after response started');
      this.#responseDone = true;
      this.#clearRequestTimers();
      this.#ds.reset();
      return;
    }
    a.host.stats.rq_timeout++;
    c.outlier.reportLocalOrigin(a.host, 'timeout');
    a.trace.outcome = idle ? 'per-try idle timeout' : 'per-try timeout';
    if (this.#t.hedgeOnPerTryTimeout && !idle) {
      // Soft timeout: keep this attempt, start another beside it (still bounded by retries).
      a.hedged = true;
      const verdict = this.#retry
        ? this.#retry.shouldRetry({ kind: 'retry', on: '5xx', rateLimited: false }, c, this.#ctx.random, this.#ctx.clock, null)
        : { kind: 'no' as const };
      if (verdict.kind === 'yes') {
        a.trace.decision = `hedged after ${verdict.delayMs} ms`;
        this.#scheduleRetry(verdict);
      }
      return;
    }
    if (idle) c.stats.upstream_rq_per_try_idle_timeout++;
    else c.stats.upstream_rq_per_try_timeout++;
    // UT is set only if no retry follows (the 504 local reply sets it).
    this.#cancelAttempt(a, '');
    a.trace.decision = '';
    this.#onFailureBeforeHeaders(a, wouldRetryFromReset(this.#retry?.retryOn ?? 0, 'local reset', this.#anyBytesSent), 'timeout');
  }

  #onGlobalTimeout(): void {
    this.#globalTimer = null;
    if (this.#finished || this.#responseDone) return;
    const c = this.#cluster!;
    if (this.#t.stats) this.#t.stats.counters.upstream_rq_timeout++;
    if (this.#attempts.length === 0) c.stats.upstream_rq_timeout++;
    for (const a of this.#attempts) {
      c.stats.upstream_rq_timeout++;
      if (!a.gotHeaders && !a.hedged) {
        a.host.stats.rq_timeout++;
        c.outlier.reportLocalOrigin(a.host, 'timeout');
      }
      if (a.trace.outcome === 'pending') a.trace.outcome = 'route timeout';
    }
    this.#cancelAll();
    this.#retry?.done();
    this.#flags |= Flag.UT;
    if (this.#ds.responseStarted) {
      this.#responseDone = true;
      this.#ds.reset();
      return;
    }
    this.#charge(504, false);
    this.#localReply(504, 'upstream request timeout', Flag.UT, 'response_timeout');
  }

  #onBodyOverLimit(): void {
    // Envoy: the request can no longer be retried (nor mirrored); if it was waiting to retry, it fails now.
    this.#cluster!.stats.retry_or_shadow_abandoned++;
    this.#shadowDone = true;
    this.#retry?.done();
    this.#retry = null;
    // A response held for its trailers can no longer be retried: send what was held and stream on.
    const held = this.#held;
    if (held) {
      this.#held = null;
      this.#commit(held.a, held.status, held.headers, false);
      for (const c of held.chunks) this.#ds.write(c);
    }
    if (this.#retryTimer && this.#attempts.length === 0) {
      this.#ctx.clock.clearTimeout(this.#retryTimer);
      this.#retryTimer = null;
      this.#localReply(507, 'exceeded request buffer limit while retrying upstream', 0, 'request_payload_exceeded_retry_buffer_limit');
    }
  }

  #clearRequestTimers(): void {
    const c = this.#ctx.clock;
    if (this.#globalTimer) {
      c.clearTimeout(this.#globalTimer);
      this.#globalTimer = null;
    }
    if (this.#durationTimer) {
      c.clearTimeout(this.#durationTimer);
      this.#durationTimer = null;
    }
    if (this.#retryTimer) {
      c.clearTimeout(this.#retryTimer);
      this.#retryTimer = null;
    }
    if (this.#faultTimer) {
      c.clearTimeout(this.#faultTimer);
      this.#faultTimer = null;
    }
    if (this.#requestTimer) {
      c.clearTimeout(this.#requestTimer);
      this.#requestTimer = null;
    }
  }

  #localReply(status: number, body: string, flags: number, details: string, grpcStatus?: number, headers?: string[]): void {
    this.#cancelAll();
    this.#clearRequestTimers();
    this.#retry?.done();
    this.#responseDone = true;
    this.#flags |= flags;
    this.#details = details;
    if (this.#ds.responseStarted) {
      this.#ds.reset();
      return;
    }
    let extra =
      this.#t.includeAttemptCountInResponse && this.#attemptCount > 0 ? ['x-envoy-attempt-count', String(this.#attemptCount)] : undefined;
    if (headers) extra = extra ? [...extra, ...headers] : headers;
    if (this.#corsHeaders) extra = setHeaders(extra ?? [], this.#corsHeaders);
    this.#status = sendLocalReply(this.#ds, status, body, { isGrpc: this.#isGrpc, headers: extra, grpcStatus });
    if (this.#isGrpc) this.#grpcStatus = String(grpcStatus ?? httpToGrpcStatus(status));
  }

  #onDownstreamDone(aborted: boolean): void {
    if (this.#finished) return;
    this.#finished = true;
    if (aborted && !this.#responseDone) {
      this.#flags |= Flag.DC;
      if (this.#attempts.length > 0) this.#cluster!.stats.upstream_rq_cancelled++;
    }
    this.#cancelAll();
    this.#clearRequestTimers();
    if (this.#idleTimer) {
      this.#ctx.clock.clearTimeout(this.#idleTimer);
      this.#idleTimer = null;
    }
    this.#retry?.done();
    if (this.#draining) for (const d of this.#draining) d.cancel();
    if (this.#faultSlot) this.#ctx.faults.releaseSlot(this.#faultSlot);
    const log = this.#ctx.accessLog;
    if (!log) return;
    const ds = this.#ds;
    const last = this.#committed ?? this.#lastAttemptHost();
    log.log({
      ...downstreamEntry(ds),
      status: this.#status,
      grpcStatus: this.#grpcStatus,
      flags: this.#flags,
      bytesReceived: this.#bytesReceived,
      durationMs: this.#ctx.clock.now() - this.#start,
      // As x-envoy-upstream-service-time: only when the request had ended before the response
      // headers came (a bidirectional stream answered first has none, not a negative time).
      upstreamServiceTimeMs:
        this.#requestCompleteAt >= 0 && this.#responseHeadersAt >= this.#requestCompleteAt
          ? Math.round(this.#responseHeadersAt - this.#requestCompleteAt)
          : undefined,
      requestId: this.#requestId ?? (ds.headers['x-request-id'] as string | undefined),
      upstreamHost: last instanceof UpstreamAttempt ? last.host.key : last,
      upstreamCluster: this.#cluster?.name,
      route: this.#t.routeName,
      attempts: this.#attemptCount,
      details: this.#details,
      attemptTrace: this.#trace ?? undefined,
    });
  }

  #lastAttemptHost(): string | undefined {
    const t = this.#trace;
    return t && t.length > 0 ? t[t.length - 1]!.host : undefined;
  }
}

/** Takes the retry control headers out of the upstream headers (they are for the router). */
function takeRetryControl(h: Record<string, string | string[]>) {
  const get = (name: string): string | undefined => {
    const v = h[name];
    if (v === undefined) return undefined;
    delete h[name];
    return Array.isArray(v) ? v[0] : v;
  };
  const control = {
    retryOn: get('x-envoy-retry-on'),
    grpcRetryOn: get('x-envoy-retry-grpc-on'),
    maxRetries: get('x-envoy-max-retries'),
    statusCodes: get('x-envoy-retriable-status-codes'),
    headerNames: get('x-envoy-retriable-header-names'),
  };
  delete h['x-envoy-hedge-on-per-try-timeout'];
  return control.retryOn || control.grpcRetryOn || control.maxRetries || control.statusCodes || control.headerNames ? control : null;
}

export type { ResetReason };
