/**
 * Outlier detection (passive health checking) with Envoy's semantics, spec section 5.
 *
 * The request path reports each result through an `OutlierMonitor`: the HTTP status of a
 * response, or a local-origin event (connect success/failure, timeout, reset). Consecutive-error
 * detectors eject a host as soon as their counter reaches the threshold (Envoy posts this to its
 * main thread; Node has one thread, so it happens synchronously with Envoy's rules kept: a host
 * already ejected is not ejected again and its counter is not reset). An interval timer unejects
 * hosts whose ejection time has passed, runs the success-rate and failure-percentage detectors on
 * the previous interval's counts, and decays the ejection multiplier of healthy hosts.
 *
 * The percentage cap is Envoy's current strict rule (envoyproxy/envoy#27909): an ejection is
 * allowed only while `(ejections_active + 1) * 100 / hosts <= max_ejection_percent`, so with the
 * default 10% no host of a cluster with fewer than 10 hosts is ever ejected unless
 * `alwaysEjectOneHost` is set (then one host may always be ejected). Ejection jitter is not
 * supported (always 0).
 */
import type * as ir from '../../ir/index.js';
import type { Clock, Timer } from '../../common/clock.js';
import type { Random } from '../../common/random.js';
import { defineStats, type StatsOf } from '../stats/define-stats.js';
import type { Host } from './host.js';
import { SuccessRateAccumulator, successRateEjectionThreshold } from './success-rate.js';

/** `cluster.<c>.outlier_detection.*`, Envoy's `ALL_OUTLIER_DETECTION_STATS`. Sorted. */
export const OUTLIER_DETECTION_STATS = {
  counters: [
    'ejections_consecutive_5xx',
    'ejections_detected_consecutive_5xx',
    'ejections_detected_consecutive_gateway_failure',
    'ejections_detected_consecutive_local_origin_failure',
    'ejections_detected_failure_percentage',
    'ejections_detected_local_origin_failure_percentage',
    'ejections_detected_local_origin_success_rate',
    'ejections_detected_success_rate',
    'ejections_enforced_consecutive_5xx',
    'ejections_enforced_consecutive_gateway_failure',
    'ejections_enforced_consecutive_local_origin_failure',
    'ejections_enforced_failure_percentage',
    'ejections_enforced_local_origin_failure_percentage',
    'ejections_enforced_local_origin_success_rate',
    'ejections_enforced_success_rate',
    'ejections_enforced_total',
    'ejections_overflow',
    'ejections_success_rate',
    'ejections_total',
  ],
  gauges: ['ejections_active'],
} as const;

export type OutlierDetectionStats = StatsOf<typeof OUTLIER_DETECTION_STATS>;

/** Why a host is ejected; the names are the stat suffixes (`ejections_enforced_<type>`). */
export type EjectionType =
  | 'consecutive_5xx'
  | 'consecutive_gateway_failure'
  | 'consecutive_local_origin_failure'
  | 'success_rate'
  | 'local_origin_success_rate'
  | 'failure_percentage'
  | 'local_origin_failure_percentage';

/** Envoy's `OutlierEjectionType` enum names, for event logs that want them. */
export const ENVOY_EJECTION_TYPE: Readonly<Record<EjectionType, string>> = {
  consecutive_5xx: 'CONSECUTIVE_5XX',
  consecutive_gateway_failure: 'CONSECUTIVE_GATEWAY_FAILURE',
  consecutive_local_origin_failure: 'CONSECUTIVE_LOCAL_ORIGIN_FAILURE',
  success_rate: 'SUCCESS_RATE',
  local_origin_success_rate: 'SUCCESS_RATE_LOCAL_ORIGIN',
  failure_percentage: 'FAILURE_PERCENTAGE',
  local_origin_failure_percentage: 'FAILURE_PERCENTAGE_LOCAL_ORIGIN',
};

/**
 * A local-origin result (spec 5.2). `connect-success`: the pool got a connection (TCP/TLS up).
 * `connect-failure`: connect failure or connect timeout. `timeout`: per-try timeout, global
 * timeout while awaiting headers, hedged per-try timeout. `reset`: remote reset, connection
 * termination, protocol error (any reset except overflow; overflow is not reported at all).
 */
export type LocalOriginResult = 'connect-success' | 'connect-failure' | 'timeout' | 'reset';

/** What the request path reports to; `noopOutlierMonitor` for clusters without detection. */
export interface OutlierMonitor {
  /** The HTTP status of an upstream response (for gRPC, grpc-status in headers mapped to HTTP). */
  reportHttpStatus(host: Host, status: number): void;
  reportLocalOrigin(host: Host, result: LocalOriginResult): void;
}

/** The null monitor: clusters without outlier detection report here and nothing happens. */
export const noopOutlierMonitor: OutlierMonitor = {
  reportHttpStatus(): void {},
  reportLocalOrigin(): void {},
};

/**
 * The IR settings plus Envoy fields the IR does not carry yet (Envoy's defaults when absent).
 */
export type OutlierDetectorConfig = ir.OutlierDetection & {
  /** Envoy default 100. Envoy Gateway sets 0 with split mode. */
  enforcingLocalOriginSuccessRate?: number;
  /** Envoy default 0. */
  enforcingFailurePercentageLocalOrigin?: number;
  /** Envoy default true: a successful active health check unejects the host at once. */
  successfulActiveHealthCheckUnejectHost?: boolean;
};

/** One ejection or unejection, for the admin API (newest last). */
export type OutlierEvent = {
  /** Wall-clock milliseconds since the epoch. */
  time: number;
  action: 'eject' | 'uneject';
  /** `address:port`. */
  host: string;
  /** For `uneject`, the type of the ejection that ends. */
  type: EjectionType;
  /** False when detected but not enforced (the `enforcing_*` roll failed). Always true for `uneject`. */
  enforced: boolean;
  /** `eject`: the ejection time the host got (0 if not enforced); `uneject`: how long it was ejected. */
  durationMs: number;
  numEjections: number;
  /** Success-rate / failure-percentage ejections: the host's rate and the cluster's figures. */
  hostSuccessRate?: number;
  clusterAverageSuccessRate?: number;
  clusterSuccessRateEjectionThreshold?: number;
};

export type OutlierHostSnapshot = {
  host: string;
  ejected: boolean;
  numEjections: number;
  /** Current ejection-time multiplier (0..max/base + 1). */
  ejectionMultiplier: number;
  /** External-origin success rate of the last interval in percent, -1 if not computed. */
  successRate: number;
  /** Local-origin success rate (split mode), -1 if not computed. */
  localOriginSuccessRate: number;
};

export type OutlierSnapshot = {
  ejectionsActive: number;
  /** Cluster external-origin success-rate average and ejection threshold, -1 if not computed. */
  successRateAverage: number;
  successRateEjectionThreshold: number;
  localOriginSuccessRateAverage: number;
  localOriginSuccessRateEjectionThreshold: number;
  hosts: OutlierHostSnapshot[];
};

type HostState = {
  host: Host;
  consecutive5xx: number;
  consecutiveGatewayFailure: number;
  consecutiveLocalOriginFailure: number;
  external: SuccessRateAccumulator;
  localOrigin: SuccessRateAccumulator;
  ejected: boolean;
  numEjections: number;
  multiplier: number;
  lastEjection: number;
  lastEjectionType: EjectionType;
  /** -1: never unejected. */
  lastUnejection: number;
  successRate: number;
  localOriginSuccessRate: number;
};

type Origin = 'external' | 'localOrigin';

const DEFAULT_MAX_EVENTS = 100;

/** Per-cluster outlier detector. Create one per cluster with detection; `start()` arms the sweep. */
export class OutlierDetector implements OutlierMonitor {
  readonly stats: OutlierDetectionStats = defineStats(OUTLIER_DETECTION_STATS);
  readonly #cfg: Required<OutlierDetectorConfig>;
  readonly #maxEjectionTimeMs: number;
  readonly #clock: Clock;
  readonly #random: Random;
  readonly #onChange: () => void;
  readonly #maxEvents: number;
  #hosts = new Map<string, HostState>();
  #timer: Timer | undefined;
  #active = 0;
  readonly #events: OutlierEvent[] = [];
  readonly #sr: Record<Origin, { mean: number; threshold: number }> = {
    external: { mean: -1, threshold: -1 },
    localOrigin: { mean: -1, threshold: -1 },
  };

  constructor(
    config: OutlierDetectorConfig,
    hosts: readonly Host[],
    clock: Clock,
    random: Random,
    onChange: () => void,
    options: { maxEvents?: number } = {},
  ) {
    this.#cfg = {
      ...config,
      enforcingLocalOriginSuccessRate: config.enforcingLocalOriginSuccessRate ?? 100,
      enforcingFailurePercentageLocalOrigin: config.enforcingFailurePercentageLocalOrigin ?? 0,
      successfulActiveHealthCheckUnejectHost: config.successfulActiveHealthCheckUnejectHost ?? true,
    };
    // Envoy rejects max < base as a config error; validation reports it, here base wins.
    this.#maxEjectionTimeMs = Math.max(config.maxEjectionTimeMs, config.baseEjectionTimeMs);
    this.#clock = clock;
    this.#random = random;
    this.#onChange = onChange;
    this.#maxEvents = Math.max(1, options.maxEvents ?? DEFAULT_MAX_EVENTS);
    this.setHosts(hosts);
  }

  /** Arms the interval timer (idempotent). */
  start(): void {
    if (this.#timer === undefined) this.#arm();
  }

  /** Stops the interval timer. Host flags are left as they are. */
  close(): void {
    if (this.#timer !== undefined) this.#clock.clearTimeout(this.#timer);
    this.#timer = undefined;
  }

  /**
   * Replaces the host list. Hosts are identified by `key`: a host that stays keeps its counters,
   * buckets and ejection (the flag is copied onto a new `Host` object with the same key); a removed
   * ejected host no longer counts in `ejections_active` and its flag is cleared. Does not call
   * `onChange`: the caller rebuilds its balancer after changing hosts anyway.
   */
  setHosts(hosts: readonly Host[]): void {
    const next = new Map<string, HostState>();
    for (const host of hosts) {
      if (next.has(host.key)) continue;
      const st = this.#hosts.get(host.key);
      if (st) {
        if (st.host !== host) {
          st.host.failedOutlierCheck = false;
          st.host = host;
        }
        host.failedOutlierCheck = st.ejected;
        next.set(host.key, st);
      } else {
        next.set(host.key, newHostState(host));
      }
    }
    for (const [key, st] of this.#hosts) {
      if (next.has(key)) continue;
      if (st.ejected) {
        this.#active--;
        st.host.failedOutlierCheck = false;
      }
    }
    this.#hosts = next;
    this.stats.ejections_active = this.#active;
  }

  // ---- request path -------------------------------------------------------------------------

  reportHttpStatus(host: Host, status: number): void {
    // Interim responses (100 Continue, 102, 103) are not results; 101 (upgrade) is final.
    if (status < 200 && status !== 101) return;
    const st = this.#hosts.get(host.key);
    if (st) this.#putHttpCode(st, status);
  }

  reportLocalOrigin(host: Host, result: LocalOriginResult): void {
    const st = this.#hosts.get(host.key);
    if (!st) return;
    if (!this.#cfg.splitExternalLocalOriginErrors) {
      // Non-split: connect success says nothing; failures are 503, timeouts 504.
      if (result === 'connect-success') return;
      this.#putHttpCode(st, result === 'timeout' ? 504 : 503);
      return;
    }
    if (result === 'connect-success') {
      st.localOrigin.add(true);
      st.consecutiveLocalOriginFailure = 0;
      return;
    }
    st.localOrigin.add(false);
    if (++st.consecutiveLocalOriginFailure === this.#cfg.consecutiveLocalOriginFailure) {
      this.#onConsecutiveError(st, 'consecutive_local_origin_failure');
    }
  }

  #putHttpCode(st: HostState, code: number): void {
    if (code >= 500 && code <= 599) {
      st.external.add(false);
      if (code === 502 || code === 503 || code === 504) {
        if (++st.consecutiveGatewayFailure === this.#cfg.consecutiveGatewayFailure) {
          this.#onConsecutiveError(st, 'consecutive_gateway_failure');
        }
      } else {
        st.consecutiveGatewayFailure = 0;
      }
      if (++st.consecutive5xx === this.#cfg.consecutive5xx) this.#onConsecutiveError(st, 'consecutive_5xx');
    } else {
      st.external.add(true);
      st.consecutive5xx = 0;
      st.consecutiveGatewayFailure = 0;
    }
  }

  #onConsecutiveError(st: HostState, type: 'consecutive_5xx' | 'consecutive_gateway_failure' | 'consecutive_local_origin_failure'): void {
    // Removed (stale state) or already ejected: nothing, and the counter is not reset.
    if (this.#hosts.get(st.host.key) !== st || st.ejected) return;
    this.stats[`ejections_detected_${type}`]++;
    this.#ejectHost(st, type);
    if (type === 'consecutive_5xx') {
      this.stats.ejections_consecutive_5xx++; // deprecated
      st.consecutive5xx = 0;
    } else if (type === 'consecutive_gateway_failure') {
      st.consecutiveGatewayFailure = 0;
    } else {
      st.consecutiveLocalOriginFailure = 0;
    }
  }

  // ---- ejection -----------------------------------------------------------------------------

  #ejectHost(st: HostState, type: EjectionType, sr?: Origin): void {
    if (st.ejected) return;
    const maxPct = Math.min(100, this.#cfg.maxEjectionPercent);
    let allowed = (100 * (this.#active + 1)) / this.#hosts.size <= maxPct;
    if (this.#cfg.alwaysEjectOneHost) allowed ||= this.#active === 0;
    if (!allowed) {
      this.stats.ejections_overflow++;
      return;
    }
    if (type === 'consecutive_5xx' || type === 'success_rate') this.stats.ejections_total++; // deprecated
    const extra =
      sr === undefined
        ? {}
        : type === 'success_rate' || type === 'local_origin_success_rate'
          ? {
              hostSuccessRate: srOf(st, sr),
              clusterAverageSuccessRate: this.#sr[sr].mean,
              clusterSuccessRateEjectionThreshold: this.#sr[sr].threshold,
            }
          : { hostSuccessRate: srOf(st, sr) };
    if (!this.#roll(this.#enforcing(type))) {
      this.#log({ action: 'eject', host: st.host.key, type, enforced: false, durationMs: 0, numEjections: st.numEjections, ...extra });
      return;
    }
    this.#active++;
    this.stats.ejections_active = this.#active;
    this.stats.ejections_enforced_total++;
    this.stats[`ejections_enforced_${type}`]++;
    st.ejected = true;
    st.host.failedOutlierCheck = true;
    st.numEjections++;
    st.lastEjection = this.#clock.now();
    st.lastEjectionType = type;
    const base = this.#cfg.baseEjectionTimeMs;
    if (st.multiplier * base < this.#maxEjectionTimeMs + base) st.multiplier++;
    this.#onChange();
    this.#log({
      action: 'eject',
      host: st.host.key,
      type,
      enforced: true,
      durationMs: this.#ejectionTimeMs(st),
      numEjections: st.numEjections,
      ...extra,
    });
  }

  #unejectHost(st: HostState): void {
    const now = this.#clock.now();
    st.ejected = false;
    st.host.failedOutlierCheck = false;
    this.#active--;
    this.stats.ejections_active = this.#active;
    st.consecutive5xx = 0;
    st.consecutiveGatewayFailure = 0;
    st.consecutiveLocalOriginFailure = 0;
    st.lastUnejection = now;
    this.#onChange();
    this.#log({
      action: 'uneject',
      host: st.host.key,
      type: st.lastEjectionType,
      enforced: true,
      durationMs: now - st.lastEjection,
      numEjections: st.numEjections,
    });
  }

  #ejectionTimeMs(st: HostState): number {
    return Math.min(this.#cfg.baseEjectionTimeMs * st.multiplier, this.#maxEjectionTimeMs);
  }

  #enforcing(type: EjectionType): number {
    const c = this.#cfg;
    switch (type) {
      case 'consecutive_5xx':
        return c.enforcingConsecutive5xx;
      case 'consecutive_gateway_failure':
        return c.enforcingConsecutiveGatewayFailure;
      case 'consecutive_local_origin_failure':
        return c.enforcingConsecutiveLocalOriginFailure;
      case 'success_rate':
        return c.enforcingSuccessRate;
      case 'local_origin_success_rate':
        return c.enforcingLocalOriginSuccessRate;
      case 'failure_percentage':
        return c.enforcingFailurePercentage;
      case 'local_origin_failure_percentage':
        return c.enforcingFailurePercentageLocalOrigin;
    }
  }

  /** Envoy's `featureEnabled(key, percent)`: `random % 100 < percent`. */
  #roll(percent: number): boolean {
    if (percent <= 0) return false;
    if (percent >= 100) return true;
    return this.#random.uint32() % 100 < percent;
  }

  #log(e: Omit<OutlierEvent, 'time'>): void {
    this.#events.push({ time: this.#clock.wallNow(), ...e });
    if (this.#events.length > this.#maxEvents) this.#events.shift();
  }

  // ---- interval sweep -----------------------------------------------------------------------

  #arm(): void {
    this.#timer = this.#clock.setTimeout(() => this.#onInterval(), Math.max(1, this.#cfg.intervalMs));
  }

  #onInterval(): void {
    const now = this.#clock.now();
    for (const st of this.#hosts.values()) {
      if (st.ejected && this.#ejectionTimeMs(st) <= now - st.lastEjection) this.#unejectHost(st);
      st.external.swap();
      st.localOrigin.swap();
      st.successRate = -1;
      st.localOriginSuccessRate = -1;
    }
    this.#processSuccessRate('external');
    this.#processSuccessRate('localOrigin');
    // Decay: a host not ejected, unejected at least one interval ago, loses one multiplier step.
    for (const st of this.#hosts.values()) {
      if (!st.ejected && st.lastUnejection >= 0 && now - st.lastUnejection >= this.#cfg.intervalMs && st.multiplier > 0) {
        st.multiplier--;
      }
    }
    this.#arm();
  }

  #processSuccessRate(origin: Origin): void {
    const c = this.#cfg;
    this.#sr[origin] = { mean: -1, threshold: -1 };
    if (this.#hosts.size < c.successRateMinimumHosts && this.#hosts.size < c.failurePercentageMinimumHosts) return;
    const srHosts: HostState[] = [];
    const srRates: number[] = [];
    const fpHosts: HostState[] = [];
    const fpRates: number[] = [];
    const minVolume = Math.min(c.successRateRequestVolume, c.failurePercentageRequestVolume);
    for (const st of this.#hosts.values()) {
      if (st.ejected) continue;
      const rv = st[origin].rateAndVolume();
      if (!rv) continue;
      if (rv.volume >= minVolume) {
        if (origin === 'external') st.successRate = rv.rate;
        else st.localOriginSuccessRate = rv.rate;
      }
      if (rv.volume >= c.successRateRequestVolume) {
        srHosts.push(st);
        srRates.push(rv.rate);
      }
      if (rv.volume >= c.failurePercentageRequestVolume) {
        fpHosts.push(st);
        fpRates.push(rv.rate);
      }
    }
    if (srHosts.length > 0 && srHosts.length >= c.successRateMinimumHosts) {
      const sr = successRateEjectionThreshold(srRates, c.successRateStdevFactor / 1000);
      this.#sr[origin] = sr;
      const type = origin === 'external' ? 'success_rate' : 'local_origin_success_rate';
      for (let i = 0; i < srHosts.length; i++) {
        if (srRates[i]! < sr.threshold) {
          this.stats.ejections_success_rate++; // deprecated
          this.stats[`ejections_detected_${type}`]++;
          this.#ejectHost(srHosts[i]!, type, origin);
        }
      }
    }
    if (fpHosts.length > 0 && fpHosts.length >= c.failurePercentageMinimumHosts) {
      const type = origin === 'external' ? 'failure_percentage' : 'local_origin_failure_percentage';
      for (let i = 0; i < fpHosts.length; i++) {
        if (100 - fpRates[i]! >= c.failurePercentageThreshold) {
          this.stats[`ejections_detected_${type}`]++;
          this.#ejectHost(fpHosts[i]!, type, origin);
        }
      }
    }
  }

  // ---- active health checking ---------------------------------------------------------------

  /**
   * An active health check of `host` succeeded: with `successfulActiveHealthCheckUnejectHost`
   * (default true), an ejected host that is not failing active HC is unejected at once.
   */
  successfulActiveHealthCheck(host: Host): void {
    if (!this.#cfg.successfulActiveHealthCheckUnejectHost) return;
    const st = this.#hosts.get(host.key);
    if (st?.ejected && !host.failedActiveHc) this.#unejectHost(st);
  }

  // ---- admin --------------------------------------------------------------------------------

  /** The last ejection/unejection events, oldest first. */
  get events(): readonly OutlierEvent[] {
    return this.#events;
  }

  get successRateAverage(): number {
    return this.#sr.external.mean;
  }
  get successRateEjectionThreshold(): number {
    return this.#sr.external.threshold;
  }
  get localOriginSuccessRateAverage(): number {
    return this.#sr.localOrigin.mean;
  }
  get localOriginSuccessRateEjectionThreshold(): number {
    return this.#sr.localOrigin.threshold;
  }

  isEjected(host: Host): boolean {
    return this.#hosts.get(host.key)?.ejected ?? false;
  }

  /** Per-host state for /clusters; undefined for a host this detector does not know. */
  hostSnapshot(host: Host): OutlierHostSnapshot | undefined {
    const st = this.#hosts.get(host.key);
    return st && hostSnapshot(st);
  }

  snapshot(): OutlierSnapshot {
    return {
      ejectionsActive: this.#active,
      successRateAverage: this.#sr.external.mean,
      successRateEjectionThreshold: this.#sr.external.threshold,
      localOriginSuccessRateAverage: this.#sr.localOrigin.mean,
      localOriginSuccessRateEjectionThreshold: this.#sr.localOrigin.threshold,
      hosts: [...this.#hosts.values()].map(hostSnapshot),
    };
  }
}

function newHostState(host: Host): HostState {
  host.failedOutlierCheck = false;
  return {
    host,
    consecutive5xx: 0,
    consecutiveGatewayFailure: 0,
    consecutiveLocalOriginFailure: 0,
    external: new SuccessRateAccumulator(),
    localOrigin: new SuccessRateAccumulator(),
    ejected: false,
    numEjections: 0,
    multiplier: 0,
    lastEjection: 0,
    lastEjectionType: 'consecutive_5xx',
    lastUnejection: -1,
    successRate: -1,
    localOriginSuccessRate: -1,
  };
}

function srOf(st: HostState, origin: Origin): number {
  return origin === 'external' ? st.successRate : st.localOriginSuccessRate;
}

function hostSnapshot(st: HostState): OutlierHostSnapshot {
  return {
    host: st.host.key,
    ejected: st.ejected,
    numEjections: st.numEjections,
    ejectionMultiplier: st.multiplier,
    successRate: st.successRate,
    localOriginSuccessRate: st.localOriginSuccessRate,
  };
}
