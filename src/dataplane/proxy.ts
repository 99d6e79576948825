import type net from 'node:net';
import type * as ir from '../ir/index.js';
import { validate } from '../ir/validate.js';
import type { Diagnostic } from '../ir/diagnostic.js';
import { systemClock, type Clock } from '../common/clock.js';
import { systemRandom, type Random } from '../common/random.js';
import { Listener, type RequestHandler } from './listener/listener.js';
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
  /**
   * Workers: another process owns the listening sockets and hands connections over; the port
   * each listener reports comes from here. See src/cli/workers.ts.
   */
  acceptOnly?: ((listener: string) => number) | undefined;
  /** Workers: offered each accepted connection; true when it went to another process. */
  distribute?: ((listener: string, socket: net.Socket) => boolean) | undefined;
};

/** How long a replaced or removed listener keeps serving the connections it has. */
const LISTENER_DRAIN_MS = 30_000;

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

/** The new config runs, but a listener replaced on its own port could not bind again. */
export class RebindError extends Error {
  /** Tells a reloader the config did change (see ConfigTarget in config/reload.ts). */
  readonly applied = true;
  constructor(message: string) {
    super(message);
    this.name = 'RebindError';
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
  readonly #acceptOnly: ProxyOptions['acceptOnly'];
  readonly #distribute: ProxyOptions['distribute'];
  readonly #listeners = new Map<string, { key: string; address: string; port: number; listener: Listener }>();
  /** Replaced or removed listeners finishing their requests. */
  readonly #draining = new Set<Listener>();
  #clusters = new Map<string, { key: string; cluster: Cluster }>();
  readonly #logs = new Map<string, AccessLogSink>();
  readonly #faults = new Map<string, FaultLimiter>();
  #config: ir.Config | null = null;
  /** Listener and route stat scopes, kept across reloads. */
  readonly statsRegistry = new StatsRegistry();
  readonly #startedAt = Date.now();
  #appliedAt: number | undefined;
  /** Set by POST /drain: every listener stops accepting. */
  #drained: Promise<DrainReport> | null = null;
  #closed = false;

  constructor(opts: ProxyOptions = {}) {
    this.#clock = opts.clock ?? systemClock;
    this.#random = opts.random ?? systemRandom;
    this.#accessLogOverride = opts.accessLog;
    this.#placement = opts.placement;
    this.#acceptOnly = opts.acceptOnly;
    this.#distribute = opts.distribute;
  }

  /** Serves a connection another process accepted on listener `name`; false when there is no such listener. */
  acceptConnection(name: string, socket: net.Socket): boolean {
    const l = this.#listeners.get(name)?.listener;
    if (!l || l.closing) return false;
    l.accept(socket);
    return true;
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
    return this.#drained ? 'DRAINING' : this.#config ? 'LIVE' : 'PRE_INITIALIZING';
  }

  /**
   * Stops accepting on every listener and lets in-flight requests finish (HTTP/1.1 connections
   * close after their response, HTTP/2 sessions get GOAWAY); connections still open after
   * `graceMs` are destroyed. Listeners stay in place (their stats stay readable). Idempotent.
   */
  drain(graceMs = 30_000): Promise<DrainReport> {
    if (this.#drained) return this.#drained;
    const started = performance.now();
    const listeners = this.listeners;
    this.#drained = Promise.all(
      listeners.map(async (l) => {
        const at = { activeConnectionsAtStart: l.stats.downstream_cx_active, activeRequestsAtStart: l.stats.downstream_rq_active };
        const forcedClosed = await l.close(graceMs);
        return { name: l.name, address: l.address, port: l.port, ...at, forcedClosed };
      }),
    ).then((ls) => ({ durationMs: Math.round(performance.now() - started), listeners: ls }));
    return this.#drained;
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

  /**
   * Validates and applies a config. Throws (ConfigError, a bind error) and keeps the running
   * config when it cannot: new clusters are built, route tables compiled and new ports bound
   * before anything running changes. Then, at once: clusters whose endpoints changed take them
   * (hosts that remain keep their state), listeners get their new route tables (requests in
   * flight finish on the table they started with), and removed listeners drain.
   */
  async apply(config: ir.Config): Promise<void> {
    // A late reload (a backend exiting during shutdown) must not bind listeners again.
    if (this.#closed) throw new Error('the proxy is closed; a new configuration cannot be applied');
    const errors = validate(config).filter((d) => d.severity === 'error');
    if (errors.length > 0) throw new ConfigError(errors);

    const built = buildClusters(config, this.#clusters, this.#random, this.#clock, this.#placement);
    const abandon = () => {
      for (const c of built.created) c.destroy();
    };
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
    let handlers: Map<string, RequestHandler>;
    try {
      handlers = new Map(config.listeners.map((l) => [l.name, buildHandler(l, built.clusters, ctx)]));
    } catch (e) {
      abandon();
      throw e;
    }

    // Bind every new socket that does not take over a running one's address and port.
    const started = new Map<string, Listener>();
    const rebind: ir.Listener[] = [];
    try {
      for (const l of config.listeners) {
        const key = listenerKey(l);
        const existing = this.#listeners.get(l.name);
        if (existing?.key === key) continue;
        if (existing && l.port !== 0 && existing.address === l.address && existing.port === l.port) {
          rebind.push(l);
          continue;
        }
        const listener = this.#newListener(l, handlers.get(l.name)!);
        await listener.listen();
        started.set(l.name, listener);
      }
    } catch (e) {
      for (const l of started.values()) await l.close(0);
      abandon();
      throw e;
    }

    // Commit: nothing below depends on user input.
    for (const u of built.updates) u.cluster.update(u.config);
    for (const l of config.listeners) {
      const existing = this.#listeners.get(l.name);
      const listener = started.get(l.name);
      if (listener) {
        if (existing) this.#drain(existing.listener);
        this.#listeners.set(l.name, { key: listenerKey(l), address: l.address, port: l.port, listener });
      } else if (existing) {
        // Also a listener about to be bound again: until then it serves with the new routes.
        existing.listener.setHandler(handlers.get(l.name)!);
      }
    }
    const names = new Set(config.listeners.map((l) => l.name));
    for (const [name, l] of this.#listeners) {
      if (!names.has(name)) {
        this.#listeners.delete(name);
        this.#drain(l.listener);
      }
    }
    this.#clusters = built.clusters;
    this.#config = config;
    this.#appliedAt = Date.now();
    this.statsRegistry.retain(
      names,
      new Set(config.listeners.flatMap((l) => l.virtualHosts.flatMap((vh) => vh.routes.map((r) => routeKey(vh.name, r.name))))),
    );
    // Retired clusters finish what they carry, then close.
    for (const c of built.retired) void c.close();

    // A listener whose TLS or limits changed on the same port: the old socket must go first.
    const failed: string[] = [];
    for (const l of rebind) {
      const old = this.#listeners.get(l.name)!;
      this.#listeners.delete(l.name);
      this.#drain(old.listener);
      const listener = this.#newListener(l, handlers.get(l.name)!);
      try {
        await listener.listen();
        this.#listeners.set(l.name, { key: listenerKey(l), address: l.address, port: l.port, listener });
      } catch (e) {
        failed.push(`${l.name}: ${(e as Error).message}`);
      }
    }
    if (failed.length > 0) throw new RebindError(`the config is applied but listeners could not be bound again: ${failed.join('; ')}`);
  }

  #newListener(l: ir.Listener, handler: RequestHandler): Listener {
    return new Listener(
      {
        name: l.name,
        address: l.address,
        port: l.port,
        declaredPort: l.declaredPort,
        tls: loadTls(l.tls),
        maxRequestHeadersKb: l.limits.maxRequestHeadersKb,
        maxHeadersCount: l.limits.maxHeadersCount,
        maxConcurrentStreams: l.limits.maxConcurrentStreams,
        idleTimeoutMs: l.limits.idleTimeoutMs,
        requestHeadersTimeoutMs: l.limits.requestHeadersTimeoutMs,
        maxConnections: l.limits.maxConnections,
        h2InitialStreamWindowSize: l.limits.h2InitialStreamWindowSize,
        h2InitialConnectionWindowSize: l.limits.h2InitialConnectionWindowSize,
        tcpKeepaliveIdleMs: l.limits.tcpKeepaliveIdleMs,
        h2Keepalive: l.limits.h2Keepalive,
        acceptOnly: this.#acceptOnly ? { port: this.#acceptOnly(l.name) } : undefined,
        distribute: this.#distribute ? (socket: net.Socket) => this.#distribute!(l.name, socket) : undefined,
        stats: this.statsRegistry.http(l.name),
      },
      handler,
    );
  }

  /** Stops accepting on a listener that is replaced or removed; its requests in flight finish. */
  #drain(listener: Listener): void {
    this.#draining.add(listener);
    void listener.close(LISTENER_DRAIN_MS).finally(() => this.#draining.delete(listener));
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
    this.#closed = true;
    await Promise.all([...this.#listeners.values()].map((l) => l.listener.close(graceMs)));
    await Promise.all([...this.#draining].map((l) => l.close(graceMs)));
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
  return JSON.stringify([l.address, l.port, l.declaredPort ?? null, l.tls ?? null, l.limits]);
}
