/**
 * `--workers N`: one event loop per process. The first process (the one the user started) owns
 * the listening sockets, the control plane (manifests, reloads, local runtime) and the admin
 * API, and serves too; N-1 worker processes serve connections it hands them, round robin, as
 * Node's cluster module does by default on Linux (Node 20 has no SO_REUSEPORT, and the kernel's
 * own distribution over a shared socket is very uneven). A connection is handed over once,
 * before anything is read from it; its requests then stay in that process.
 *
 * Shared or per worker (docs/performance.md#workers): circuit-breaker and connection limits are
 * divided among the processes, so the whole proxy never exceeds them; outlier detection and
 * active health checks run in every process on its own traffic and probes.
 */
import { fork, type ChildProcess } from 'node:child_process';
import type net from 'node:net';
import { fileURLToPath } from 'node:url';
import type * as ir from '../ir/index.js';
import { Proxy } from '../dataplane/proxy.js';
import { createAccessLog, type AccessLogSink } from '../dataplane/access-log.js';
import { parseLocality } from '../dataplane/upstream/locality.js';
import type { WireStat } from '../dataplane/stats/merge.js';
import type { ConfigTarget } from '../config/reload.js';

/** What a worker process is told at start (argv would leak into `ps`; IPC keeps it typed). */
export type WorkerSetup = {
  index: number;
  count: number;
  accessLog?: { path: string; format: 'text' | 'json'; attemptTrace?: boolean } | undefined;
  locality?: string | undefined;
};

export type ToWorker =
  | { type: 'setup'; setup: WorkerSetup }
  | { type: 'config'; id: number; config: ir.Config; ports: Record<string, number> }
  | { type: 'conn'; listener: string }
  | { type: 'stats'; id: number }
  | { type: 'reset-counters' }
  | { type: 'drain'; id: number; graceMs: number }
  | { type: 'stop'; graceMs: number };

export type FromWorker =
  | { type: 'ready' }
  | { type: 'applied'; id: number; error?: string }
  | { type: 'stats'; id: number; stats: WireStat[] }
  | { type: 'drained'; id: number };

export type WorkerInfo = {
  index: number;
  pid: number | undefined;
  state: 'starting' | 'running' | 'restarting' | 'stopped';
  restarts: number;
};

const WORKER_MAIN = fileURLToPath(new URL('./worker-main.js', import.meta.url));
const RESTART_BACKOFF_MS = [100, 500, 2000, 5000];

/** `--workers`: a whole number from 1 to 64, or the error text. */
export function parseWorkers(v: string | undefined): number | string {
  const n = Number(v ?? 1);
  if (!/^\d+$/.test(String(v ?? 1)) || n < 1 || n > 64) return `--workers must be a whole number from 1 to 64, not "${v}"`;
  return n;
}

/** Divides a limit among `count` processes: the shares add up to it, and none is below 1. */
export function shareOf(limit: number, index: number, count: number): number {
  if (count <= 1 || limit <= 0) return limit;
  const base = Math.floor(limit / count);
  return Math.max(1, base + (index < limit % count ? 1 : 0));
}

/** The IR one process applies: the same routes, its share of the cluster and connection limits. */
export function configForWorker(config: ir.Config, index: number, count: number): ir.Config {
  if (count <= 1) return config;
  const share = (v: number) => shareOf(v, index, count);
  return {
    ...config,
    listeners: config.listeners.map((l) => ({ ...l, limits: { ...l.limits, maxConnections: share(l.limits.maxConnections) } })),
    clusters: config.clusters.map((c) => ({
      ...c,
      circuitBreakers: {
        ...c.circuitBreakers,
        maxConnections: share(c.circuitBreakers.maxConnections),
        maxPendingRequests: share(c.circuitBreakers.maxPendingRequests),
        maxRequests: share(c.circuitBreakers.maxRequests),
        maxRetries: share(c.circuitBreakers.maxRetries),
      },
    })),
  };
}

/** `greeted`: set up and able to take a config; `ready`: serving the current config. */
type Child = { index: number; proc: ChildProcess | null; state: WorkerInfo['state']; restarts: number; greeted: boolean; ready: boolean };

export class WorkerPool {
  readonly count: number;
  readonly #setup: Omit<WorkerSetup, 'index' | 'count'>;
  readonly #children: Child[] = [];
  #proxy: Proxy | null = null;
  #config: ir.Config | null = null;
  #ports: Record<string, number> = {};
  #next = 0;
  #seq = 0;
  #stopping = false;
  /** Requests to workers awaiting replies, by id. */
  readonly #pending = new Map<number, { waitingOn: Set<Child>; results: FromWorker[]; done: (r: FromWorker[]) => void }>();

  /** `count` processes in all, this one included. */
  constructor(count: number, setup: Omit<WorkerSetup, 'index' | 'count'> = {}) {
    this.count = count;
    this.#setup = setup;
    for (let i = 1; i < count; i++)
      this.#children.push({ index: i, proc: null, state: 'starting', restarts: 0, greeted: false, ready: false });
  }

  /** Starts the worker processes. */
  start(): void {
    for (const c of this.#children) this.#spawn(c);
  }

  /**
   * Round robin over this process and the workers: returns true when the connection went to a
   * worker. Pass it as the Proxy's `distribute` option.
   */
  readonly distribute = (listener: string, socket: net.Socket): boolean => {
    const turn = this.#next++ % this.count;
    if (turn === 0) return false;
    const c = this.#children[turn - 1]!;
    if (!c.ready || !c.proc?.connected) return false;
    c.proc.send({ type: 'conn', listener } satisfies ToWorker, socket, (err) => {
      // Not delivered: serve it here rather than drop it.
      if (err && !socket.destroyed) {
        socket.resume();
        if (!this.#proxy?.acceptConnection(listener, socket)) socket.destroy();
      }
    });
    return true;
  };

  /** The reloader's target: this process applies its share, then every worker gets the same IR. */
  target(proxy: Proxy): ConfigTarget {
    this.#proxy = proxy;
    return {
      apply: async (config) => {
        let rebind: unknown;
        try {
          await proxy.apply(configForWorker(config, 0, this.count));
        } catch (e) {
          // A listener that could not bind again still leaves the new config running.
          if (!(e as { applied?: boolean }).applied) throw e;
          rebind = e;
        }
        this.#config = config;
        this.#ports = Object.fromEntries(proxy.listeners.map((l) => [l.name, l.port]));
        await this.#broadcastConfig();
        if (rebind) throw rebind;
      },
    };
  }

  async #broadcastConfig(): Promise<void> {
    await this.#ask(
      this.#children.filter((c) => c.greeted),
      (id, c) => this.#configMessage(id, c.index),
    );
  }

  #configMessage(id: number, index: number): ToWorker {
    return { type: 'config', id, config: configForWorker(this.#config!, index, this.count), ports: this.#ports };
  }

  /** Every worker's stats, for the admin API to merge with this process's. */
  async stats(): Promise<WireStat[][]> {
    const ready = this.#children.filter((c) => c.ready);
    const replies = await this.#ask(ready, (id) => ({ type: 'stats', id }));
    return replies.flatMap((m) => (m.type === 'stats' ? [m.stats] : []));
  }

  resetCounters(): void {
    for (const c of this.#children) if (c.ready) c.proc?.send({ type: 'reset-counters' } satisfies ToWorker);
  }

  async drain(graceMs: number): Promise<void> {
    await this.#ask(
      this.#children.filter((c) => c.ready),
      (id) => ({ type: 'drain', id, graceMs }),
      graceMs + 5000,
    );
  }

  list(): WorkerInfo[] {
    return [
      { index: 0, pid: process.pid, state: 'running', restarts: 0 },
      ...this.#children.map((c) => ({ index: c.index, pid: c.proc?.pid, state: c.state, restarts: c.restarts })),
    ];
  }

  async close(graceMs = 2000): Promise<void> {
    this.#stopping = true;
    await Promise.all(
      this.#children.map(
        (c) =>
          new Promise<void>((resolve) => {
            const p = c.proc;
            c.state = 'stopped';
            if (!p || p.exitCode !== null || p.signalCode !== null) return resolve();
            const kill = setTimeout(() => p.kill('SIGKILL'), graceMs + 2000);
            p.once('exit', () => {
              clearTimeout(kill);
              resolve();
            });
            if (p.connected) p.send({ type: 'stop', graceMs } satisfies ToWorker);
            else p.kill('SIGTERM');
          }),
      ),
    );
  }

  #spawn(c: Child): void {
    c.ready = false;
    c.greeted = false;
    const proc = fork(WORKER_MAIN, [], { serialization: 'advanced', stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    c.proc = proc;
    proc.on('message', (m: FromWorker) => this.#onMessage(c, m));
    proc.on('exit', () => {
      c.ready = false;
      c.greeted = false;
      c.proc = null;
      // Replies it owed will not come.
      for (const [id, p] of this.#pending) if (p.waitingOn.delete(c) && p.waitingOn.size === 0) this.#finish(id);
      if (this.#stopping) return;
      c.state = 'restarting';
      const delay = RESTART_BACKOFF_MS[Math.min(c.restarts, RESTART_BACKOFF_MS.length - 1)]!;
      c.restarts++;
      setTimeout(() => {
        if (!this.#stopping) this.#spawn(c);
      }, delay).unref();
    });
    proc.send({ type: 'setup', setup: { ...this.#setup, index: c.index, count: this.count } } satisfies ToWorker);
  }

  #onMessage(c: Child, m: FromWorker): void {
    if (m.type === 'ready') {
      c.greeted = true;
      // A new (or restarted) worker gets the running config before any connection.
      if (this.#config) void this.#ask([c], (id) => this.#configMessage(id, c.index));
      return;
    }
    if (m.type === 'applied' && m.error === undefined) {
      c.ready = true;
      c.state = 'running';
    }
    const p = this.#pending.get(m.id);
    if (!p) return;
    p.results.push(m);
    if (p.waitingOn.delete(c) && p.waitingOn.size === 0) this.#finish(m.id);
  }

  #finish(id: number): void {
    const p = this.#pending.get(id);
    if (!p) return;
    this.#pending.delete(id);
    p.done(p.results);
  }

  /** Sends one message per child and resolves with the replies that came (a dead or slow child gives none). */
  #ask(children: Child[], make: (id: number, c: Child) => ToWorker, timeoutMs = 5000): Promise<FromWorker[]> {
    const live = children.filter((c) => c.proc?.connected);
    if (live.length === 0) return Promise.resolve([]);
    const id = ++this.#seq;
    return new Promise((resolve) => {
      const timer = setTimeout(() => this.#finish(id), timeoutMs);
      timer.unref();
      this.#pending.set(id, {
        waitingOn: new Set(live),
        results: [],
        done: (r) => {
          clearTimeout(timer);
          resolve(r);
        },
      });
      for (const c of live) c.proc!.send(make(id, c));
    });
  }
}

/**
 * The serving side of `run` and `serve`: the access log, the Proxy (with `locality` as where it
 * runs) and, with more than one worker, the pool that hands it connections. Call `pool?.start()`
 * before the first apply and apply through `pool.target(proxy)`.
 */
export function servingProxy(opts: {
  workers: number;
  accessLog?: NonNullable<WorkerSetup['accessLog']> | undefined;
  locality?: string | undefined;
}): { proxy: Proxy; pool: WorkerPool | null; accessLog: AccessLogSink | undefined } {
  const where = opts.locality;
  const accessLog = opts.accessLog ? createAccessLog(opts.accessLog) : undefined;
  const pool = opts.workers > 1 ? new WorkerPool(opts.workers, { accessLog: opts.accessLog, locality: where }) : null;
  const proxy = new Proxy({
    ...(accessLog ? { accessLog } : {}),
    ...(where ? { placement: { locality: parseLocality(where), labels: {} } } : {}),
    ...(pool ? { distribute: pool.distribute } : {}),
  });
  return { proxy, pool, accessLog };
}
