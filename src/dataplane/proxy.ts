import type * as ir from '../ir/index.js';
import { validate } from '../ir/validate.js';
import type { Diagnostic } from '../ir/diagnostic.js';
import { systemClock, type Clock } from '../common/clock.js';
import { systemRandom, type Random } from '../common/random.js';
import { Listener } from './listener/listener.js';
import type { Cluster } from './upstream/cluster.js';
import { createAccessLog, type AccessLogSink } from './access-log.js';
import { buildClusters, buildHandler, loadTls } from './build.js';
import { FaultLimiter } from './request/fault.js';
import type { ProxyPlacement } from './upstream/locality.js';
import { routeKey, StatsRegistry } from './stats/scopes.js';

/** Envoy's server states as /ready reports them. */
export type ServerState = 'PRE_INITIALIZING' | 'LIVE' | 'DRAINING';

/** What a drain did, per listener. */
export type DrainReport = {
  durationMs: number;
  listeners: {
    name: string;
    address: string;
    port: number;
    activeConnectionsAtStart: number;
    activeRequestsAtStart: number;
    forcedClosed: number;
  }[];
};

export type ProxyOptions = {
  clock?: Clock;
  random?: Random;
  /** Overrides every listener's access log (tests pass a collector). */
  accessLog?: AccessLogSink | null;
  /** Where legate runs (`--locality`), for Istio's locality rules. */
  placement?: ProxyPlacement;
};

export class ConfigError extends Error {
  readonly diagnostics: Diagnostic[];
  constructor(diagnostics: Diagnostic[]) {
    super(
      'invalid configuration:\n' +
        diagnostics.map((d) => `  ${d.object ?? ''}${d.field ? ` ${d.field}` : ''}: ${d.message}${d.fix ? ` (${d.fix})` : ''}`).join('\n'),
    );
    this.name = 'ConfigError';
    this.diagnostics = diagnostics;
  }
}

/**
 * The running data plane: listeners and clusters built from an IR. `apply` swaps in a new IR:
 * unchanged clusters keep their pools and counters, listeners get their new route tables
 * atomically, and in-flight requests finish on the table they started with.
 */
export class Proxy {
  readonly #clock: Clock;
  readonly #random: Random;
  readonly #accessLogOverride: AccessLogSink | null | undefined;
  readonly #placement: ProxyPlacement | undefined;
  readonly #listeners = new Map<string, { key: string; listener: Listener }>();
  #clusters = new Map<string, { key: string; cluster: Cluster }>();
  readonly #logs = new Map<string, AccessLogSink>();
  readonly #faults = new Map<string, FaultLimiter>();
  #config: ir.Config | null = null;
  /** Listener and route stat scopes, kept across reloads. */
  readonly statsRegistry = new StatsRegistry();
  readonly #startedAt = Date.now();
  #appliedAt: number | undefined;
  #draining: Promise<DrainReport> | null = null;

  constructor(opts: ProxyOptions = {}) {
    this.#clock = opts.clock ?? systemClock;
    this.#random = opts.random ?? systemRandom;
    this.#accessLogOverride = opts.accessLog;
    this.#placement = opts.placement;
  }

  static async start(config: ir.Config, opts: ProxyOptions = {}): Promise<Proxy> {
    const p = new Proxy(opts);
    await p.apply(config);
    return p;
  }

  get config(): ir.Config | null {
    return this.#config;
  }

  /** Wall-clock ms of the last successful apply. */
  get appliedAt(): number | undefined {
    return this.#appliedAt;
  }

  /** Wall-clock ms when this proxy was created. */
  get startedAt(): number {
    return this.#startedAt;
  }

  get state(): ServerState {
    return this.#draining ? 'DRAINING' : this.#config ? 'LIVE' : 'PRE_INITIALIZING';
  }

  /**
   * Stops accepting on every listener and lets in-flight requests finish (HTTP/1.1 connections
   * close after their response, HTTP/2 sessions get GOAWAY); connections still open after
   * `graceMs` are destroyed. Listeners stay in place (their stats stay readable). Idempotent.
   */
  drain(graceMs = 30_000): Promise<DrainReport> {
    if (this.#draining) return this.#draining;
    const started = performance.now();
    const listeners = this.listeners;
    this.#draining = Promise.all(
      listeners.map(async (l) => {
        const at = { activeConnectionsAtStart: l.stats.downstream_cx_active, activeRequestsAtStart: l.stats.downstream_rq_active };
        const forcedClosed = await l.close(graceMs);
        return { name: l.name, address: l.address, port: l.port, ...at, forcedClosed };
      }),
    ).then((ls) => ({ durationMs: Math.round(performance.now() - started), listeners: ls }));
    return this.#draining;
  }

  /** Bound port of a listener (useful with port 0). */
  port(listenerName: string): number {
    const l = this.#listeners.get(listenerName);
    if (!l) throw new Error(`no listener named "${listenerName}"`);
    return l.listener.port;
  }

  listener(name: string): Listener | undefined {
    return this.#listeners.get(name)?.listener;
  }

  cluster(name: string): Cluster | undefined {
    return this.#clusters.get(name)?.cluster;
  }

  get clusters(): Cluster[] {
    return [...this.#clusters.values()].map((c) => c.cluster);
  }

  /** Fault counters and the active-fault gauge of a listener. */
  faults(listenerName: string): FaultLimiter | undefined {
    return this.#faults.get(listenerName);
  }

  get listeners(): Listener[] {
    return [...this.#listeners.values()].map((l) => l.listener);
  }

  /** Validates and applies a config. Throws ConfigError and keeps the running config when invalid. */
  async apply(config: ir.Config): Promise<void> {
    const errors = validate(config).filter((d) => d.severity === 'error');
    if (errors.length > 0) throw new ConfigError(errors);

    const { clusters, retired } = buildClusters(config, this.#clusters, this.#random, this.#clock, this.#placement);
    const ctx = {
      clock: this.#clock,
      random: this.#random,
      accessLogFor: (l: ir.Listener) => this.#accessLogFor(l),
      faultsFor: (l: ir.Listener) => {
        let f = this.#faults.get(l.name);
        if (!f) this.#faults.set(l.name, (f = new FaultLimiter()));
        return f;
      },
      traceAll: this.#accessLogOverride !== undefined && this.#accessLogOverride !== null,
      stats: this.statsRegistry,
    };
    // Compile every handler before touching live listeners, so a failure leaves them as they were.
    const handlers = new Map(config.listeners.map((l) => [l.name, buildHandler(l, clusters, ctx)]));

    const started: Listener[] = [];
    try {
      for (const l of config.listeners) {
        const key = listenerKey(l);
        const existing = this.#listeners.get(l.name);
        if (existing && existing.key === key) {
          existing.listener.setHandler(handlers.get(l.name)!);
          continue;
        }
        if (existing) {
          await existing.listener.close(0);
          this.#listeners.delete(l.name);
        }
        const listener = new Listener(
          {
            name: l.name,
            address: l.address,
            port: l.port,
            tls: loadTls(l.tls),
            maxRequestHeadersKb: l.limits.maxRequestHeadersKb,
            maxHeadersCount: l.limits.maxHeadersCount,
            maxConcurrentStreams: l.limits.maxConcurrentStreams,
            idleTimeoutMs: l.limits.idleTimeoutMs,
            stats: this.statsRegistry.http(l.name),
          },
          handlers.get(l.name)!,
        );
        await listener.listen();
        started.push(listener);
        this.#listeners.set(l.name, { key, listener });
      }
    } catch (e) {
      for (const l of started) await l.close(0);
      throw e;
    }
    const names = new Set(config.listeners.map((l) => l.name));
    for (const [name, l] of this.#listeners) {
      if (!names.has(name)) {
        this.#listeners.delete(name);
        await l.listener.close();
      }
    }
    this.#clusters = clusters;
    this.#config = config;
    this.#appliedAt = Date.now();
    this.statsRegistry.retain(
      names,
      new Set(config.listeners.flatMap((l) => l.virtualHosts.flatMap((vh) => vh.routes.map((r) => routeKey(vh.name, r.name))))),
    );
    // Retired clusters finish what they carry, then close.
    for (const c of retired) void c.close();
  }

  #accessLogFor(l: ir.Listener): AccessLogSink | null {
    if (this.#accessLogOverride !== undefined) return this.#accessLogOverride;
    if (!l.accessLog) return null;
    const key = `${l.accessLog.path}|${l.accessLog.format}|${l.accessLog.attemptTrace ?? false}`;
    let sink = this.#logs.get(key);
    if (!sink) {
      sink = createAccessLog(l.accessLog);
      this.#logs.set(key, sink);
    }
    return sink;
  }

  async close(graceMs = 1000): Promise<void> {
    await Promise.all([...this.#listeners.values()].map((l) => l.listener.close(graceMs)));
    this.#listeners.clear();
    await Promise.all([...this.#clusters.values()].map((c) => c.cluster.close()));
    for (const c of this.#clusters.values()) c.cluster.destroy();
    this.#clusters.clear();
    for (const log of this.#logs.values()) await log.close();
    this.#logs.clear();
  }
}

/** Listener identity that requires a new socket when changed (routes are swapped, not rebound). */
function listenerKey(l: ir.Listener): string {
  return JSON.stringify([l.address, l.port, l.tls ?? null, l.limits]);
}
