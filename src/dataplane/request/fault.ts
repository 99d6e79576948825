/**
 * Fault injection decisions, as Envoy's HTTP fault filter (`envoy.filters.http.fault`) makes them,
 * without timers or I/O. The request path calls them either once per downstream request before
 * the upstream exchange (scope `request`, Envoy's behaviour: never retried) or once per attempt
 * (scope `attempt`, legate's extension: retries, outlier detection and breakers see the fault).
 *
 * Per request (or per attempt), with the limiter of the listener captured at the start:
 *
 * ```ts
 * const slot = newFaultSlot();
 * const ms = fault.decideDelay(headers, random, limiter, slot);
 * if (ms > 0) { flags |= Flag.DI; await sleep(ms); }            // the delay, before the abort roll
 * const abort = fault.decideAbort(headers, random, limiter, slot, isGrpc);
 * if (abort) { flags |= Flag.FI; sendLocalReply(ds, abort.httpStatus, FAULT_ABORT_BODY, { isGrpc, grpcStatus: abort.grpcStatus }); }
 * // ... when the stream (or attempt) ends, also on reset during the delay:
 * limiter.releaseSlot(slot);
 * ```
 *
 * Envoy's algorithm, kept exactly: the delay is rolled first; when a delay is injected the abort
 * is rolled (separately) only after the delay has elapsed, otherwise right away; a roll is
 * `random % denominator < numerator`; a request holds at most one active-fault slot whatever
 * faults it gets; when no slot is free the fault is skipped (the request proceeds normally) and
 * `faults_overflow` is bumped, possibly twice for one request (once for the delay, once for the
 * abort), as in Envoy. After a delay without an abort the slot is given back at once, as Envoy's
 * `postDelayInjection` does; after an abort it is held until the caller releases it.
 *
 * Not modelled here (not in the IR): the filter's `headers`, `upstream_cluster` and
 * `downstream_nodes` conditions, runtime overrides, response rate limiting, per-downstream-cluster
 * stats.
 */
import type * as ir from '../../ir/index.js';
import type { Random } from '../../common/random.js';
import { defineStats, type StatsOf } from '../stats/define-stats.js';

/** Body of an injected abort (the grpc-message for gRPC requests). */
export const FAULT_ABORT_BODY = 'fault filter abort';
/** Envoy's response code details for an injected abort. */
export const FAULT_ABORT_DETAILS = 'fault_filter_abort';

/** Request headers that drive header-controlled faults (only when the policy says `fromHeader`). */
export const FAULT_HEADERS = {
  abort: 'x-envoy-fault-abort-request',
  abortGrpc: 'x-envoy-fault-abort-grpc-request',
  abortPercentage: 'x-envoy-fault-abort-request-percentage',
  delay: 'x-envoy-fault-delay-request',
  delayPercentage: 'x-envoy-fault-delay-request-percentage',
} as const;

/** Envoy's `http.<prefix>.fault.*` stats, one set per listener. */
export const FAULT_STATS = {
  counters: ['aborts_injected', 'delays_injected', 'faults_overflow'],
  gauges: ['active_faults'],
} as const;
export type FaultStats = StatsOf<typeof FAULT_STATS>;

/** Request headers, lower-case names; only the first value of a header is used. */
export type FaultHeaders = Readonly<Record<string, string | string[] | undefined>>;

/** The active-fault slot of one request (or one attempt): held at most once. */
export type FaultSlot = { held: boolean };

export function newFaultSlot(): FaultSlot {
  return { held: false };
}

/**
 * An abort to send as a local reply with body {@link FAULT_ABORT_BODY}.
 * - An HTTP status (configured or from the header) wins: `{ httpStatus, grpcStatus: undefined }`.
 *   For a gRPC request the caller maps it with the HTTP->gRPC table (503 -> 14), which
 *   `sendLocalReply` does when given no `grpcStatus`.
 * - Otherwise a gRPC status: `{ httpStatus: 200, grpcStatus }`, a trailers-only reply. On a
 *   non-gRPC request `grpcStatus` is `undefined`: Envoy's local reply there is plain HTTP 200 with
 *   the body, and carries no grpc-status.
 */
export type FaultAbort = { readonly httpStatus: number; readonly grpcStatus: number | undefined };

/** A FractionalPercent with the numerator an integer in [0, denominator]. */
export type FaultPercent = { readonly numerator: number; readonly denominator: 100 | 10_000 | 1_000_000 };

export type CompiledFaultDelay = {
  readonly percent: FaultPercent;
  /** Fixed delay in whole ms; unused when `fromHeader`. */
  readonly fixedMs: number;
  readonly fromHeader: boolean;
};

export type CompiledFaultAbort = {
  readonly percent: FaultPercent;
  /** Configured HTTP status in [200, 600); unused when `fromHeader`. */
  readonly httpStatus: number | undefined;
  /** Configured gRPC status; used when no HTTP status is configured; unused when `fromHeader`. */
  readonly grpcStatus: number | undefined;
  readonly fromHeader: boolean;
};

/**
 * `max_active_faults` accounting shared by all routes of a listener (Envoy keeps the gauge in the
 * filter config of the listener, the limit in the route's settings), and the fault stats. The
 * limit is fuzzy in Envoy (no compare-and-swap across workers); here it is exact per process.
 */
export class FaultLimiter {
  /** `aborts_injected`, `delays_injected`, `faults_overflow` and the gauge `active_faults`. */
  readonly stats: FaultStats = defineStats(FAULT_STATS);

  /** Requests currently holding an active-fault slot. */
  get active(): number {
    return this.stats.active_faults;
  }

  /** Takes a slot unless `active >= max` (then `faults_overflow++`); `undefined` = unlimited. */
  tryAcquire(max: number | undefined): boolean {
    const s = this.stats;
    if (max !== undefined && s.active_faults >= max) {
      s.faults_overflow++;
      return false;
    }
    s.active_faults++;
    return true;
  }

  release(): void {
    if (this.stats.active_faults > 0) this.stats.active_faults--;
  }

  /** One slot per request: true at once when `slot` is already held (no overflow check). */
  acquireSlot(slot: FaultSlot, max: number | undefined): boolean {
    if (slot.held) return true;
    if (!this.tryAcquire(max)) return false;
    slot.held = true;
    return true;
  }

  /** Gives the slot back if held; safe to call more than once. */
  releaseSlot(slot: FaultSlot): void {
    if (!slot.held) return;
    slot.held = false;
    this.release();
  }
}

/** A fault policy compiled once per config version; see the module comment for the call order. */
export class CompiledFault {
  readonly scope: 'request' | 'attempt';
  /** Normalized `max_active_faults`; `undefined` = unlimited. */
  readonly maxActiveFaults: number | undefined;
  readonly delay: CompiledFaultDelay | undefined;
  readonly abort: CompiledFaultAbort | undefined;
  /** False when the policy can never inject anything (no usable delay or abort). */
  readonly enabled: boolean;
  /** Precomputed replies of a configured (not header-controlled) abort, for gRPC and HTTP requests. */
  readonly #fixedGrpcReply: FaultAbort | null;
  readonly #fixedHttpReply: FaultAbort | null;

  constructor(policy: ir.FaultPolicy) {
    this.scope = policy.scope === 'attempt' ? 'attempt' : 'request';
    this.maxActiveFaults = compileMax(policy.maxActiveFaults);
    this.delay = compileDelay(policy.delay);
    this.abort = compileAbort(policy.abort);
    this.enabled = this.delay !== undefined || this.abort !== undefined;
    const a = this.abort;
    if (a && !a.fromHeader) {
      if (a.httpStatus !== undefined) {
        this.#fixedGrpcReply = this.#fixedHttpReply = Object.freeze({ httpStatus: a.httpStatus, grpcStatus: undefined });
      } else {
        this.#fixedGrpcReply = Object.freeze({ httpStatus: 200, grpcStatus: a.grpcStatus });
        this.#fixedHttpReply = Object.freeze({ httpStatus: 200, grpcStatus: undefined });
      }
    } else {
      this.#fixedGrpcReply = this.#fixedHttpReply = null;
    }
  }

  /**
   * Milliseconds to delay this request, 0 for none. Rolls the delay percentage (the header
   * percentage, if any, capped by the configured one), then takes the duration (the header's when
   * `fromHeader`; missing or invalid = no delay); a duration of 0 is no delay. On a delay it takes
   * the request's slot (overflow = no delay) and bumps `delays_injected`.
   */
  decideDelay(headers: FaultHeaders, random: Random, limiter: FaultLimiter, slot: FaultSlot): number {
    const d = this.delay;
    if (d === undefined) return 0;
    const { denominator } = d.percent;
    let numerator = d.percent.numerator;
    if (d.fromHeader) numerator = headerNumerator(headers, FAULT_HEADERS.delayPercentage, numerator);
    if (!roll(random, numerator, denominator)) return 0;
    let ms = d.fixedMs;
    if (d.fromHeader) {
      const v = parseUint(firstValue(headers[FAULT_HEADERS.delay]), Number.MAX_SAFE_INTEGER);
      if (v === undefined) return 0;
      ms = v;
    }
    if (ms <= 0) return 0;
    if (!limiter.acquireSlot(slot, this.maxActiveFaults)) return 0;
    limiter.stats.delays_injected++;
    return ms;
  }

  /**
   * The abort for this request, or null. Call it after the delay has elapsed (or right away when
   * `decideDelay` returned 0): it makes its own percentage roll. Header-controlled: the HTTP status
   * from `x-envoy-fault-abort-request` when 200 <= v < 600, else the gRPC status from
   * `x-envoy-fault-abort-grpc-request`, else none. On an abort it takes the request's slot
   * (overflow = no abort) and bumps `aborts_injected`; without one it gives back a slot held by
   * the delay, as Envoy does once the delay is over.
   */
  decideAbort(headers: FaultHeaders, random: Random, limiter: FaultLimiter, slot: FaultSlot, isGrpc: boolean): FaultAbort | null {
    const reply = this.#abortReply(headers, random, isGrpc);
    if (reply === null) {
      limiter.releaseSlot(slot);
      return null;
    }
    if (!limiter.acquireSlot(slot, this.maxActiveFaults)) return null;
    limiter.stats.aborts_injected++;
    return reply;
  }

  #abortReply(headers: FaultHeaders, random: Random, isGrpc: boolean): FaultAbort | null {
    const a = this.abort;
    if (a === undefined) return null;
    const { denominator } = a.percent;
    let numerator = a.percent.numerator;
    if (a.fromHeader) numerator = headerNumerator(headers, FAULT_HEADERS.abortPercentage, numerator);
    if (!roll(random, numerator, denominator)) return null;
    if (!a.fromHeader) return isGrpc ? this.#fixedGrpcReply : this.#fixedHttpReply;
    const http = parseUint(firstValue(headers[FAULT_HEADERS.abort]), Number.MAX_SAFE_INTEGER);
    if (http !== undefined && http >= 200 && http < 600) return { httpStatus: http, grpcStatus: undefined };
    const grpc = parseUint(firstValue(headers[FAULT_HEADERS.abortGrpc]), Number.MAX_SAFE_INTEGER);
    if (grpc !== undefined) return { httpStatus: 200, grpcStatus: isGrpc ? grpc : undefined };
    return null;
  }
}

/**
 * Compiles a fault policy once per config version. Normalizes rather than rejects (translate has
 * already reported bad input): an unknown denominator is HUNDRED (the proto default); a numerator
 * is rounded (float noise from `percent x 10000`), negative or non-finite = 0, clipped to the
 * denominator; a delay is whole ms (truncated), none or invalid = never delays; an HTTP status
 * outside [200, 600) or a gRPC status that is not a non-negative integer counts as unset, and an
 * abort with neither (and not `fromHeader`) never fires; `maxActiveFaults` is floored, negative =
 * 0 (every fault overflows), non-finite = unlimited. With `fromHeader` the configured duration or
 * statuses are not used (Envoy's `header_delay`/`header_abort` are alternatives to them).
 */
export function compileFault(policy: ir.FaultPolicy): CompiledFault {
  return new CompiledFault(policy);
}

function compilePercent(p: ir.FractionalPercent | undefined): FaultPercent {
  const d = p?.denominator;
  const denominator = d === 10_000 || d === 1_000_000 ? d : 100;
  const raw = p?.numerator;
  const n = typeof raw === 'number' && Number.isFinite(raw) && raw > 0 ? Math.round(raw) : 0;
  return Object.freeze({ numerator: Math.min(n, denominator), denominator });
}

function compileMax(max: number | undefined): number | undefined {
  if (typeof max !== 'number' || Number.isNaN(max) || max === Infinity) return undefined;
  return max < 0 ? 0 : Math.floor(max);
}

function compileDelay(delay: ir.FaultPolicy['delay']): CompiledFaultDelay | undefined {
  if (!delay) return undefined;
  const fromHeader = delay.fromHeader === true;
  const raw = delay.fixedMs;
  const fixedMs = typeof raw === 'number' && Number.isFinite(raw) && raw > 0 ? Math.floor(raw) : 0;
  if (!fromHeader && fixedMs === 0) return undefined;
  return Object.freeze({ percent: compilePercent(delay.percent), fixedMs: fromHeader ? 0 : fixedMs, fromHeader });
}

function compileAbort(abort: ir.FaultPolicy['abort']): CompiledFaultAbort | undefined {
  if (!abort) return undefined;
  const fromHeader = abort.fromHeader === true;
  const h = abort.httpStatus;
  const g = abort.grpcStatus;
  const httpStatus = typeof h === 'number' && Number.isInteger(h) && h >= 200 && h < 600 ? h : undefined;
  const grpcStatus = typeof g === 'number' && Number.isSafeInteger(g) && g >= 0 ? g : undefined;
  if (!fromHeader && httpStatus === undefined && grpcStatus === undefined) return undefined;
  return Object.freeze({
    percent: compilePercent(abort.percent),
    httpStatus: fromHeader ? undefined : httpStatus,
    grpcStatus: fromHeader || httpStatus !== undefined ? undefined : grpcStatus,
    fromHeader,
  });
}

/** Envoy's `random % denominator < numerator`; 0 never fires, numerator >= denominator always. */
function roll(random: Random, numerator: number, denominator: number): boolean {
  if (numerator <= 0) return false;
  if (numerator >= denominator) return true;
  return random.uint32() % denominator < numerator;
}

/** The header's numerator capped by the configured one; missing or invalid = the configured one. */
function headerNumerator(headers: FaultHeaders, name: string, configured: number): number {
  const v = parseUint(firstValue(headers[name]), 0xffff_ffff);
  return v === undefined ? configured : Math.min(v, configured);
}

function firstValue(v: string | string[] | undefined): string | undefined {
  return typeof v === 'string' ? v : v?.[0];
}

// absl::SimpleAtoi for unsigned types: surrounding ASCII whitespace, an optional '+', decimal digits.
const UINT = /^[\t\n\v\f\r ]*\+?([0-9]+)[\t\n\v\f\r ]*$/;

/** The value, or undefined when it is not an unsigned decimal integer <= max. */
function parseUint(v: string | undefined, max: number): number | undefined {
  if (v === undefined) return undefined;
  const m = UINT.exec(v);
  if (m === null) return undefined;
  const n = Number(m[1]);
  return n <= max ? n : undefined;
}
