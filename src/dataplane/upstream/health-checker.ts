/**
 * Active health checking with Envoy's semantics (spec/envoy-semantics.md section 7).
 *
 * Envoy's template (`health_checker_base_impl.h`): `HealthChecker` is the base. It owns the
 * intervals, jitter, timeouts, thresholds, stats and one `#HostState` per host. A protocol session
 * (`CheckSession`: HTTP, gRPC or TCP) only runs one check when asked and reports the outcome; it
 * never sees timers or thresholds. The check timeout belongs to the base: when it fires the check
 * is aborted and counted as a NETWORK_TIMEOUT failure.
 *
 * State machine per host (7.2):
 *   success: if FAILED_ACTIVE_HC and (first check or ++numHealthy == healthy_threshold) -> healthy
 *            (clears ACTIVE_HC_TIMEOUT); numUnhealthy = 0
 *   failure: numHealthy = 0; if not FAILED_ACTIVE_HC and (type is active/passive and not
 *            retriable, or ++numUnhealthy == unhealthy_threshold) -> FAILED_ACTIVE_HC;
 *            ACTIVE_HC_TIMEOUT = (type is network_timeout and the host is failed)
 * Hosts start FAILED_ACTIVE_HC, so the very first success makes a host healthy at once.
 */
import http from 'node:http';
import https from 'node:https';
import http2 from 'node:http2';
import net from 'node:net';
import tls from 'node:tls';
import type * as ir from '../../ir/index.js';
import type { Clock, Timer } from '../../common/clock.js';
import type { Random } from '../../common/random.js';
import { defineStats, type StatsOf } from '../stats/define-stats.js';
import type { Host } from './host.js';

/**
 * Stats of one cluster's health checker, exposed as `cluster.<name>.health_check.<stat>` (Envoy's
 * `ALL_HEALTH_CHECKER_STATS`). `passive_failure` counts `reportImmediateFailure` calls;
 * `verify_cluster` stays 0 (no service-name verification yet); `degraded` stays 0 (no degraded
 * health yet). `network_failure` counts NETWORK failures only, as Envoy does: timeouts are
 * counted in `failure` alone.
 */
export const HEALTH_CHECK_STATS = {
  counters: ['attempt', 'failure', 'network_failure', 'passive_failure', 'success', 'verify_cluster'],
  gauges: ['degraded', 'healthy'],
} as const;

/** The prefix of `HEALTH_CHECK_STATS` names under the cluster's scope. */
export const HEALTH_CHECK_STATS_PREFIX = 'health_check.';

/** Envoy's `HealthCheckFailureType`, lower case. */
export type HealthCheckFailureType = 'active' | 'passive' | 'network' | 'network_timeout';

/** What a protocol session reports for one check. Timeouts are the base's business. */
export type CheckOutcome =
  | { ok: true }
  | {
      ok: false;
      type: 'active' | 'network';
      /** An active failure that counts toward unhealthy_threshold (Envoy's retriable_statuses). */
      retriable?: boolean;
      /** Human-readable reason, shown in the host snapshot. */
      detail: string;
    };

/** One protocol session per host. It runs at most one check at a time. */
export interface CheckSession {
  /**
   * Runs one check. `signal` aborts when the base's timeout fires or the checker closes; after
   * that the outcome is ignored. A rejection is treated as a network failure.
   */
  check(signal: AbortSignal): Promise<CheckOutcome>;
  /** Releases connections. */
  close(): void;
}

export type CheckSessionFactory = (host: Host) => CheckSession;

export type HealthCheckerOptions = {
  /** Replaces the protocol sessions (tests drive the state machine with fake checks). */
  createSession?: CheckSessionFactory;
  /** TLS to the upstream, as the cluster's own connections use (HTTP, gRPC and TCP checks). */
  tls?: { servername?: string; rejectUnauthorized: boolean } | undefined;
  /**
   * Runs after every applied result (checks and `reportImmediateFailure`), after `onChange`;
   * `changed` says whether `failedActiveHc` flipped. Envoy's host-check-complete callback: the
   * outlier detector unejects a host here on a success (`successful_active_health_check_uneject_host`).
   */
  onCheckComplete?: (host: Host, result: 'success' | HealthCheckFailureType, changed: boolean) => void;
};

/** Last known health-check state of one host (for /clusters, the dashboard and tests). */
export type HealthCheckHostStatus = {
  /** `address:port`. */
  host: string;
  failedActiveHc: boolean;
  activeHcTimeout: boolean;
  /** `success`, a failure type, or null before the first result. */
  lastResult: 'success' | HealthCheckFailureType | null;
  /** Why the last check failed, when it did. */
  lastDetail: string | undefined;
  /** `Clock.now()` of the last result. */
  lastResultAtMs: number | undefined;
  consecutiveSuccesses: number;
  consecutiveFailures: number;
  /** A check is in flight. */
  checking: boolean;
  /** No result has been applied yet (the next one applies immediately). */
  firstCheck: boolean;
};

/** Envoy's `no_traffic_interval` default. */
export const DEFAULT_NO_TRAFFIC_INTERVAL_MS = 60_000;
/** Envoy's `expected_statuses` default: [200, 201), i.e. 200 only. */
export const DEFAULT_EXPECTED_STATUSES: readonly (readonly [number, number])[] = [[200, 201]];

type HostState = {
  readonly host: Host;
  readonly session: CheckSession;
  firstCheck: boolean;
  /** Envoy's num_healthy_: successes while failed, toward healthy_threshold. */
  numHealthy: number;
  /** Envoy's num_unhealthy_: network failures while healthy, toward unhealthy_threshold. */
  numUnhealthy: number;
  consecutiveSuccesses: number;
  consecutiveFailures: number;
  lastResult: 'success' | HealthCheckFailureType | null;
  lastDetail: string | undefined;
  lastResultAtMs: number | undefined;
  intervalTimer: Timer | null;
  timeoutTimer: Timer | null;
  /** The check in flight: its abort controller doubles as its identity. */
  inflight: AbortController | null;
  closed: boolean;
};

/**
 * The active health checker of one cluster. Construct it with the cluster's hosts (they are
 * marked FAILED_ACTIVE_HC right away, as Envoy does for hosts of a cluster with a checker), then
 * `start()`. `onChange(host)` runs whenever a host's `failedActiveHc` flips because of a check or
 * `reportImmediateFailure`; the owner rebuilds its load balancer then. Flags set on hosts handed
 * to the constructor or to `setHosts` do not call `onChange`: the owner is rebuilding anyway.
 */
export class HealthChecker {
  readonly config: ir.HealthCheck;
  readonly clusterName: string;
  readonly stats: StatsOf<typeof HEALTH_CHECK_STATS> = defineStats(HEALTH_CHECK_STATS);
  readonly #clock: Clock;
  readonly #random: Random;
  readonly #onChange: (host: Host) => void;
  readonly #onCheckComplete: HealthCheckerOptions['onCheckComplete'];
  readonly #createSession: CheckSessionFactory;
  readonly #states = new Map<Host, HostState>();
  readonly #noTrafficIntervalMs: number;
  readonly #jitterMs: number;
  #hadTraffic = false;
  #started = false;
  #closed = false;

  constructor(
    config: ir.HealthCheck,
    clusterName: string,
    hosts: readonly Host[],
    clock: Clock,
    random: Random,
    onChange: (host: Host) => void,
    options: HealthCheckerOptions = {},
  ) {
    this.config = config;
    this.clusterName = clusterName;
    this.#clock = clock;
    this.#random = random;
    this.#onChange = onChange;
    this.#onCheckComplete = options.onCheckComplete;
    this.#noTrafficIntervalMs = config.noTrafficIntervalMs ?? DEFAULT_NO_TRAFFIC_INTERVAL_MS;
    this.#jitterMs = Math.max(0, Math.floor(config.intervalJitterMs ?? 0));
    this.#createSession = options.createSession ?? ((host) => createCheckSession(config, clusterName, host, options.tls));
    for (const h of hosts) this.#add(h);
    this.#updateGauges();
  }

  get started(): boolean {
    return this.#started;
  }

  /** The cluster has carried traffic: checks use `interval` from the next one on. */
  get hadTraffic(): boolean {
    return this.#hadTraffic;
  }

  /**
   * Called by the request path. Until the first call, checks run every `no_traffic_interval`
   * (Envoy: until `upstream_cx_total` was used). As in Envoy, a check already scheduled keeps
   * its time; the next ones use `interval`.
   */
  markTraffic(): void {
    this.#hadTraffic = true;
  }

  /** Runs the first check of every host now. */
  start(): void {
    if (this.#started || this.#closed) return;
    this.#started = true;
    for (const s of this.#states.values()) this.#runCheck(s);
  }

  /** Stops every timer and check and closes the sessions' connections. Host flags stay as they are. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    for (const s of this.#states.values()) this.#closeState(s);
    this.#states.clear();
  }

  /**
   * Replaces the host list. Hosts are matched by identity: known hosts keep their state, new ones
   * start FAILED_ACTIVE_HC and are checked at once (when started), removed ones stop being checked.
   */
  setHosts(hosts: readonly Host[]): void {
    if (this.#closed) return;
    const next = new Set(hosts);
    for (const [h, s] of this.#states) {
      if (!next.has(h)) {
        this.#closeState(s);
        this.#states.delete(h);
      }
    }
    for (const h of hosts) {
      if (this.#states.has(h)) continue;
      const s = this.#add(h);
      if (this.#started) this.#runCheck(s);
    }
    this.#updateGauges();
  }

  /**
   * The upstream answered with `x-envoy-immediate-health-check-fail`: the host fails at once (a
   * PASSIVE failure ignores unhealthy_threshold) and stays failed until active checks pass again.
   * The check schedule is unchanged (Envoy's `setUnhealthyCrossThread`).
   */
  reportImmediateFailure(host: Host): void {
    const s = this.#states.get(host);
    if (!s || this.#closed) return;
    this.#setUnhealthy(s, 'passive', false, 'x-envoy-immediate-health-check-fail');
  }

  /** The state of one checked host, or undefined if the host is not checked here. */
  hostStatus(host: Host): HealthCheckHostStatus | undefined {
    const s = this.#states.get(host);
    return s ? statusOf(s) : undefined;
  }

  /** The state of every checked host, in insertion order. */
  snapshot(): HealthCheckHostStatus[] {
    return [...this.#states.values()].map(statusOf);
  }

  #add(host: Host): HostState {
    host.failedActiveHc = true;
    const s: HostState = {
      host,
      session: this.#createSession(host),
      firstCheck: true,
      numHealthy: 0,
      numUnhealthy: 0,
      consecutiveSuccesses: 0,
      consecutiveFailures: 0,
      lastResult: null,
      lastDetail: undefined,
      lastResultAtMs: undefined,
      intervalTimer: null,
      timeoutTimer: null,
      inflight: null,
      closed: false,
    };
    this.#states.set(host, s);
    return s;
  }

  #closeState(s: HostState): void {
    s.closed = true;
    if (s.intervalTimer) this.#clock.clearTimeout(s.intervalTimer);
    if (s.timeoutTimer) this.#clock.clearTimeout(s.timeoutTimer);
    s.intervalTimer = s.timeoutTimer = null;
    const ac = s.inflight;
    s.inflight = null;
    ac?.abort();
    try {
      s.session.close();
    } catch {
      // A session that fails to close has nothing left to release.
    }
  }

  /** Envoy's `onIntervalBase`: one attempt, with its timeout. */
  #runCheck(s: HostState): void {
    s.intervalTimer = null;
    if (s.closed) return;
    this.stats.attempt++;
    const ac = new AbortController();
    s.inflight = ac;
    s.timeoutTimer = this.#clock.setTimeout(() => {
      if (s.inflight !== ac) return;
      s.timeoutTimer = null;
      s.inflight = null;
      ac.abort();
      this.#handleFailure(s, 'network_timeout', false, `timeout after ${this.config.timeoutMs}ms`);
    }, this.config.timeoutMs);
    let p: Promise<CheckOutcome>;
    try {
      p = s.session.check(ac.signal);
    } catch (e) {
      p = Promise.reject(e);
    }
    p.then(
      (o) => this.#onOutcome(s, ac, o),
      (e: unknown) => this.#onOutcome(s, ac, { ok: false, type: 'network', detail: e instanceof Error ? e.message : String(e) }),
    );
  }

  #onOutcome(s: HostState, ac: AbortController, o: CheckOutcome): void {
    if (s.closed || s.inflight !== ac) return;
    s.inflight = null;
    if (s.timeoutTimer) this.#clock.clearTimeout(s.timeoutTimer);
    s.timeoutTimer = null;
    if (o.ok) this.#handleSuccess(s);
    else this.#handleFailure(s, o.type, o.retriable ?? false, o.detail);
  }

  #handleSuccess(s: HostState): void {
    const h = s.host;
    s.numUnhealthy = 0;
    s.consecutiveSuccesses++;
    s.consecutiveFailures = 0;
    s.lastResult = 'success';
    s.lastDetail = undefined;
    s.lastResultAtMs = this.#clock.now();
    let changed = false;
    if (h.failedActiveHc) {
      if (s.firstCheck || ++s.numHealthy >= this.config.healthyThreshold) {
        h.activeHcTimeout = false;
        h.failedActiveHc = false;
        s.numHealthy = 0;
        changed = true;
      }
    }
    this.stats.success++;
    s.firstCheck = false;
    this.#complete(s, 'success', changed);
    this.#scheduleNext(s);
  }

  #handleFailure(s: HostState, type: HealthCheckFailureType, retriable: boolean, detail: string): void {
    this.#setUnhealthy(s, type, retriable, detail);
    this.#scheduleNext(s);
  }

  /** Envoy's `setUnhealthy`. */
  #setUnhealthy(s: HostState, type: HealthCheckFailureType, retriable: boolean, detail: string): void {
    const h = s.host;
    s.numHealthy = 0;
    s.consecutiveFailures++;
    s.consecutiveSuccesses = 0;
    s.lastResult = type;
    s.lastDetail = detail;
    s.lastResultAtMs = this.#clock.now();
    let changed = false;
    if (!h.failedActiveHc) {
      const networkFailure = type === 'network' || type === 'network_timeout';
      if ((!networkFailure && !retriable) || ++s.numUnhealthy >= this.config.unhealthyThreshold) {
        h.failedActiveHc = true;
        s.numUnhealthy = 0;
        changed = true;
      }
    }
    // Toggles with the failure reason while the host stays failed.
    h.activeHcTimeout = type === 'network_timeout' && h.failedActiveHc;
    this.stats.failure++;
    if (type === 'network') this.stats.network_failure++;
    else if (type === 'passive') this.stats.passive_failure++;
    s.firstCheck = false;
    this.#complete(s, type, changed);
  }

  #complete(s: HostState, result: 'success' | HealthCheckFailureType, changed: boolean): void {
    if (changed) {
      this.#updateGauges();
      this.#onChange(s.host);
    }
    // A callback may have closed the checker or removed the host.
    if (!s.closed) this.#onCheckComplete?.(s.host, result, changed);
  }

  #scheduleNext(s: HostState): void {
    if (s.closed) return;
    if (s.intervalTimer) this.#clock.clearTimeout(s.intervalTimer);
    s.intervalTimer = this.#clock.setTimeout(() => this.#runCheck(s), this.nextIntervalMs());
  }

  /**
   * The delay before a host's next check: `interval` once the cluster carried traffic, else
   * `no_traffic_interval`, plus a uniform jitter in [0, interval_jitter) (Envoy's
   * `intervalWithJitter`: `random() % interval_jitter`).
   */
  nextIntervalMs(): number {
    const base = this.#hadTraffic ? this.config.intervalMs : this.#noTrafficIntervalMs;
    return this.#jitterMs > 0 ? base + Math.floor(this.#random.next() * this.#jitterMs) : base;
  }

  #updateGauges(): void {
    let healthy = 0;
    for (const h of this.#states.keys()) if (!h.failedActiveHc) healthy++;
    this.stats.healthy = healthy;
  }
}

function statusOf(s: HostState): HealthCheckHostStatus {
  return {
    host: s.host.key,
    failedActiveHc: s.host.failedActiveHc,
    activeHcTimeout: s.host.activeHcTimeout,
    lastResult: s.lastResult,
    lastDetail: s.lastDetail,
    lastResultAtMs: s.lastResultAtMs,
    consecutiveSuccesses: s.consecutiveSuccesses,
    consecutiveFailures: s.consecutiveFailures,
    checking: s.inflight !== null,
    firstCheck: s.firstCheck,
  };
}

// ---------------------------------------------------------------------------------------------
// Protocol sessions

type TlsSettings = HealthCheckerOptions['tls'];

/** The protocol session for `config.kind`. */
export function createCheckSession(config: ir.HealthCheck, clusterName: string, host: Host, tlsSettings?: TlsSettings): CheckSession {
  switch (config.kind) {
    case 'http':
      return new HttpCheckSession(host, {
        path: config.http?.path ?? '/',
        host: config.http?.host || clusterName,
        expectedStatuses: config.http?.expectedStatuses.length ? config.http.expectedStatuses : DEFAULT_EXPECTED_STATUSES,
        tls: tlsSettings,
      });
    case 'grpc':
      return new GrpcCheckSession(host, {
        serviceName: config.grpc?.serviceName ?? '',
        authority: config.grpc?.authority || clusterName,
        tls: tlsSettings,
      });
    case 'tcp': {
      let send: Buffer | undefined;
      let receive: Buffer[];
      try {
        send = config.tcp?.send ? decodeHexPayload(config.tcp.send) : undefined;
        receive = (config.tcp?.receive ?? []).map(decodeHexPayload);
      } catch (e) {
        // IR validation should have refused it; never crash the data plane over it.
        const detail = errorDetail(e);
        return { check: () => Promise.resolve({ ok: false, type: 'active', detail }), close() {} };
      }
      return new TcpCheckSession(host, { send, receive, tls: tlsSettings });
    }
  }
}

/** Envoy's health-check user agent; some backends recognise it. */
const USER_AGENT = 'Envoy/HC';

/** `[start, end)` ranges, Envoy's `expected_statuses`. */
export function statusInRanges(status: number, ranges: readonly (readonly [number, number])[]): boolean {
  for (const [start, end] of ranges) if (status >= start && status < end) return true;
  return false;
}

function servername(host: Host, t: NonNullable<TlsSettings>): string | undefined {
  return t.servername ?? (net.isIP(host.address) ? undefined : host.address);
}

type HttpCheckOptions = { path: string; host: string; expectedStatuses: readonly (readonly [number, number])[]; tls: TlsSettings };

/**
 * HTTP/1.1 check: `GET path` with `Host` = the configured host or the cluster name. The
 * connection is kept for the next check (Envoy's reuse_connection) and closed on a timeout. The
 * result is decided when the response body ends; the body itself is ignored.
 */
class HttpCheckSession implements CheckSession {
  readonly #host: Host;
  readonly #opts: HttpCheckOptions;
  readonly #agent: http.Agent;

  constructor(host: Host, opts: HttpCheckOptions) {
    this.#host = host;
    this.#opts = opts;
    const agentOpts = { keepAlive: true, maxSockets: 1, maxFreeSockets: 1 };
    this.#agent = opts.tls ? new https.Agent(agentOpts) : new http.Agent(agentOpts);
  }

  check(signal: AbortSignal): Promise<CheckOutcome> {
    return new Promise((resolve) => {
      let done = false;
      const finish = (o: CheckOutcome) => {
        if (done) return;
        done = true;
        signal.removeEventListener('abort', onAbort);
        resolve(o);
      };
      const t = this.#opts.tls;
      const reqOpts: https.RequestOptions = {
        host: this.#host.address,
        port: this.#host.port,
        method: 'GET',
        path: this.#opts.path,
        headers: { host: this.#opts.host, 'user-agent': USER_AGENT },
        agent: this.#agent,
        ...(t ? { servername: servername(this.#host, t), rejectUnauthorized: t.rejectUnauthorized } : {}),
      };
      const req = t ? https.request(reqOpts) : http.request(reqOpts);
      const onAbort = () => {
        done = true;
        req.destroy();
      };
      signal.addEventListener('abort', onAbort, { once: true });
      req.on('socket', (sock) => sock.unref());
      req.on('error', (e) => finish({ ok: false, type: 'network', detail: errorDetail(e) }));
      req.on('response', (res) => {
        const status = res.statusCode ?? 0;
        res.on('data', () => {});
        res.on('end', () => {
          if (statusInRanges(status, this.#opts.expectedStatuses)) finish({ ok: true });
          else finish({ ok: false, type: 'active', detail: `unexpected status ${status}` });
        });
        res.on('error', (e) => finish({ ok: false, type: 'network', detail: errorDetail(e) }));
        res.on('close', () => {
          if (!res.complete) finish({ ok: false, type: 'network', detail: 'connection closed before the response ended' });
        });
      });
      req.end();
      if (signal.aborted) onAbort();
    });
  }

  close(): void {
    this.#agent.destroy();
  }
}

/** `grpc.health.v1.HealthCheckResponse.ServingStatus.SERVING`. */
export const GRPC_SERVING = 1;

/** A gRPC message frame holding `grpc.health.v1.HealthCheckRequest{service}` (field 1, string). */
export function encodeHealthCheckRequest(service: string): Buffer {
  const name = Buffer.from(service, 'utf8');
  const body = name.length ? Buffer.concat([Buffer.from([0x0a]), encodeVarint(name.length), name]) : Buffer.alloc(0);
  const frame = Buffer.alloc(5 + body.length);
  frame[0] = 0;
  frame.writeUInt32BE(body.length, 1);
  body.copy(frame, 5);
  return frame;
}

function encodeVarint(n: number): Buffer {
  const out: number[] = [];
  while (n > 0x7f) {
    out.push((n & 0x7f) | 0x80);
    n = Math.floor(n / 128);
  }
  out.push(n);
  return Buffer.from(out);
}

/**
 * Decodes the message of a `grpc.health.v1.HealthCheckResponse{status}` (field 1, enum; a
 * missing field is UNKNOWN = 0). Unknown fields are skipped. Throws on malformed input.
 */
export function decodeHealthCheckResponse(msg: Uint8Array): number {
  let pos = 0;
  let status = 0;
  const varint = (): number => {
    let result = 0;
    let mul = 1;
    for (let i = 0; i < 10; i++) {
      if (pos >= msg.length) throw new Error('truncated varint');
      const b = msg[pos++]!;
      result += (b & 0x7f) * mul;
      if (b < 0x80) return result;
      mul *= 128;
    }
    throw new Error('varint too long');
  };
  while (pos < msg.length) {
    const tag = varint();
    const field = Math.floor(tag / 8);
    const wire = tag & 7;
    if (field === 0) throw new Error('field number 0');
    if (wire === 0) {
      const v = varint();
      if (field === 1) status = v;
    } else if (wire === 1) pos += 8;
    else if (wire === 2) {
      const len = varint();
      pos += len;
    } else if (wire === 5) pos += 4;
    else throw new Error(`unsupported wire type ${wire}`);
    if (pos > msg.length) throw new Error('truncated field');
  }
  return status;
}

/**
 * Splits a gRPC response body into messages. Returns an error string for compressed or truncated
 * frames.
 */
function grpcMessages(body: Buffer): Buffer[] | string {
  const out: Buffer[] = [];
  let pos = 0;
  while (pos < body.length) {
    if (body.length - pos < 5) return 'truncated gRPC frame';
    if (body[pos] !== 0) return 'compressed gRPC message';
    const len = body.readUInt32BE(pos + 1);
    if (body.length - pos - 5 < len) return 'truncated gRPC message';
    out.push(body.subarray(pos + 5, pos + 5 + len));
    pos += 5 + len;
  }
  return out;
}

/**
 * gRPC check: `grpc.health.v1.Health/Check` over h2c (or h2 with TLS), `:authority` = the
 * configured authority or the cluster name. Healthy iff HTTP 200, grpc-status 0 and exactly one
 * response message with status SERVING; anything else in a complete response is an active
 * failure; a reset stream or a dead connection is a network failure. The HTTP/2 connection is
 * kept between checks; on a timeout the stream is cancelled (the connection too if it never came
 * up).
 */
class GrpcCheckSession implements CheckSession {
  readonly #host: Host;
  readonly #opts: { serviceName: string; authority: string; tls: TlsSettings };
  readonly #frame: Buffer;
  #session: http2.ClientHttp2Session | null = null;
  /** Every connection not yet closed, including ones left after a GOAWAY. */
  readonly #all = new Set<http2.ClientHttp2Session>();

  constructor(host: Host, opts: { serviceName: string; authority: string; tls: TlsSettings }) {
    this.#host = host;
    this.#opts = opts;
    this.#frame = encodeHealthCheckRequest(opts.serviceName);
  }

  #connect(): http2.ClientHttp2Session {
    const cur = this.#session;
    if (cur && !cur.closed && !cur.destroyed) return cur;
    const t = this.#opts.tls;
    const authority = `${t ? 'https' : 'http'}://${this.#host.key}`;
    const s = t
      ? http2.connect(authority, { servername: servername(this.#host, t), rejectUnauthorized: t.rejectUnauthorized, ALPNProtocols: ['h2'] })
      : http2.connect(authority);
    const forget = () => {
      if (this.#session === s) this.#session = null;
    };
    s.on('error', () => {});
    // A GOAWAY lets the stream in flight finish; the next check opens a new connection.
    s.on('goaway', forget);
    s.on('close', () => {
      forget();
      this.#all.delete(s);
    });
    s.unref();
    this.#session = s;
    this.#all.add(s);
    return s;
  }

  check(signal: AbortSignal): Promise<CheckOutcome> {
    return new Promise((resolve) => {
      let done = false;
      const finish = (o: CheckOutcome) => {
        if (done) return;
        done = true;
        signal.removeEventListener('abort', onAbort);
        resolve(o);
      };
      let session: http2.ClientHttp2Session;
      let stream: http2.ClientHttp2Stream;
      try {
        session = this.#connect();
        stream = session.request(
          {
            ':method': 'POST',
            ':path': '/grpc.health.v1.Health/Check',
            ':scheme': this.#opts.tls ? 'https' : 'http',
            ':authority': this.#opts.authority,
            'content-type': 'application/grpc',
            te: 'trailers',
            'user-agent': USER_AGENT,
          },
          { endStream: false },
        );
      } catch (e) {
        finish({ ok: false, type: 'network', detail: errorDetail(e) });
        return;
      }
      const onAbort = () => {
        done = true;
        if (session.connecting) session.destroy();
        else stream.close(http2.constants.NGHTTP2_CANCEL);
      };
      signal.addEventListener('abort', onAbort, { once: true });
      let headers: http2.IncomingHttpHeaders | undefined;
      let trailers: http2.IncomingHttpHeaders | undefined;
      let ended = false;
      const chunks: Buffer[] = [];
      stream.on('response', (h) => (headers = h));
      stream.on('trailers', (t) => (trailers = t));
      stream.on('data', (c: Buffer) => chunks.push(c));
      stream.on('end', () => (ended = true));
      stream.on('error', () => {});
      stream.on('close', () => {
        if (!ended || !headers) {
          const code = stream.rstCode;
          finish({ ok: false, type: 'network', detail: `stream closed before the response ended (rst ${code ?? 'none'})` });
          return;
        }
        finish(grpcOutcome(headers, trailers, Buffer.concat(chunks)));
      });
      stream.end(this.#frame);
      if (signal.aborted) onAbort();
    });
  }

  close(): void {
    for (const s of this.#all) s.destroy();
    this.#all.clear();
    this.#session = null;
  }
}

function grpcOutcome(headers: http2.IncomingHttpHeaders, trailers: http2.IncomingHttpHeaders | undefined, body: Buffer): CheckOutcome {
  const status = Number(headers[':status']);
  if (status !== 200) return { ok: false, type: 'active', detail: `non-200 HTTP response ${status}` };
  const ct = String(headers['content-type'] ?? '');
  if (!ct.startsWith('application/grpc')) return { ok: false, type: 'active', detail: `invalid gRPC content-type "${ct}"` };
  const gs = trailers?.['grpc-status'] ?? headers['grpc-status'];
  if (gs === undefined) return { ok: false, type: 'active', detail: 'no grpc-status' };
  if (String(gs) !== '0') {
    const msg = trailers?.['grpc-message'] ?? headers['grpc-message'];
    return { ok: false, type: 'active', detail: `grpc-status ${String(gs)}${msg ? `: ${decodeURIComponent(String(msg))}` : ''}` };
  }
  const msgs = grpcMessages(body);
  if (typeof msgs === 'string') return { ok: false, type: 'active', detail: msgs };
  if (msgs.length !== 1) return { ok: false, type: 'active', detail: `expected one response message, got ${msgs.length}` };
  let serving: number;
  try {
    serving = decodeHealthCheckResponse(msgs[0]!);
  } catch (e) {
    return { ok: false, type: 'active', detail: `bad HealthCheckResponse: ${errorDetail(e)}` };
  }
  if (serving !== GRPC_SERVING) return { ok: false, type: 'active', detail: `status ${GRPC_STATUS_NAMES[serving] ?? serving}` };
  return { ok: true };
}

const GRPC_STATUS_NAMES: Record<number, string> = { 0: 'UNKNOWN', 1: 'SERVING', 2: 'NOT_SERVING', 3: 'SERVICE_UNKNOWN' };

/**
 * Decodes a TCP payload of the IR (`HealthCheck.tcp.send` and each `receive` entry): hex digits,
 * case-insensitive, two per byte, as Envoy's `Payload.text`; whitespace is ignored, so
 * "50 49 4E 47" and "50494e47" are both "PING". Throws on anything else (odd length, non-hex).
 */
export function decodeHexPayload(hex: string): Buffer {
  const clean = hex.replace(/\s+/g, '');
  if (clean.length % 2 !== 0 || !/^[0-9a-fA-F]*$/.test(clean)) throw new Error(`invalid hex payload "${hex}"`);
  return Buffer.from(clean, 'hex');
}

/**
 * Envoy's TCP payload matcher: every expected segment must occur in `data`, in order, each after
 * the end of the previous one (not necessarily adjacent).
 */
export function matchPayloads(expected: readonly Buffer[], data: Buffer): boolean {
  let from = 0;
  for (const seg of expected) {
    const at = data.indexOf(seg, from);
    if (at < 0) return false;
    from = at + seg.length;
  }
  return true;
}

/**
 * TCP check: connect, write `send` if set, then succeed once every `receive` segment has arrived
 * (in order) or, without `receive`, as soon as the connection is up. Data that does not match yet
 * waits for more until the timeout (Envoy cannot tell wrong data from too little). A connection
 * closed or refused first is a network failure. Unlike Envoy's default, each check opens its own
 * connection and closes it afterwards.
 */
class TcpCheckSession implements CheckSession {
  readonly #host: Host;
  readonly #opts: { send: Buffer | undefined; receive: Buffer[]; tls: TlsSettings };
  readonly #sockets = new Set<net.Socket>();

  constructor(host: Host, opts: { send: Buffer | undefined; receive: Buffer[]; tls: TlsSettings }) {
    this.#host = host;
    this.#opts = opts;
  }

  check(signal: AbortSignal): Promise<CheckOutcome> {
    return new Promise((resolve) => {
      const t = this.#opts.tls;
      const sock: net.Socket = t
        ? tls.connect({
            host: this.#host.address,
            port: this.#host.port,
            servername: servername(this.#host, t),
            rejectUnauthorized: t.rejectUnauthorized,
          })
        : net.connect({ host: this.#host.address, port: this.#host.port, noDelay: true });
      sock.unref();
      this.#sockets.add(sock);
      let done = false;
      let received = Buffer.alloc(0);
      const finish = (o: CheckOutcome) => {
        if (done) return;
        done = true;
        signal.removeEventListener('abort', onAbort);
        // Flush what was written, then let go of the connection.
        if (o.ok) sock.end(() => sock.destroy());
        else sock.destroy();
        resolve(o);
      };
      const onAbort = () => {
        done = true;
        sock.destroy();
      };
      signal.addEventListener('abort', onAbort, { once: true });
      sock.on('close', () => {
        this.#sockets.delete(sock);
        finish({ ok: false, type: 'network', detail: 'connection closed before the expected bytes arrived' });
      });
      sock.on('error', (e) => finish({ ok: false, type: 'network', detail: errorDetail(e) }));
      sock.once(t ? 'secureConnect' : 'connect', () => {
        if (this.#opts.send && this.#opts.send.length) sock.write(this.#opts.send);
        if (this.#opts.receive.length === 0) finish({ ok: true });
      });
      sock.on('data', (chunk: Buffer) => {
        if (done) return;
        received = Buffer.concat([received, chunk]);
        if (matchPayloads(this.#opts.receive, received)) finish({ ok: true });
      });
      if (signal.aborted) onAbort();
    });
  }

  close(): void {
    for (const s of this.#sockets) s.destroy();
    this.#sockets.clear();
  }
}

function errorDetail(e: unknown): string {
  if (e instanceof Error) {
    const code = (e as NodeJS.ErrnoException).code;
    return code && !e.message.includes(code) ? `${code}: ${e.message}` : e.message;
  }
  return String(e);
}
