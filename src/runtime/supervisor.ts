/**
 * Runs planned workload instances as child processes (`legate fake-service`, `legate echo-backend`)
 * with the container's environment, each container port mapped to a free local port. An instance
 * is an endpoint only while it is ready (its ports accept connections); one that exits is
 * restarted with exponential backoff (1 s doubling to 30 s, as CrashLoopBackOff) and is not an
 * endpoint while it is down. Every state change calls `onChange`, so the caller can re-translate.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import net from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { createInterface } from 'node:readline';
import type * as ir from '../ir/index.js';
import type { LoadedObject } from '../config/model.js';
import type { RuntimeEndpoints, ServicePort } from '../config/sources/kubernetes/endpoint-resolver.js';
import type { ImageKind, InstancePlan, PodPlan } from './plan.js';

export type InstanceState = 'starting' | 'ready' | 'crashed' | 'stopped';

export type Instance = {
  readonly plan: InstancePlan;
  state: InstanceState;
  /** containerPort -> local port. */
  readonly ports: Map<number, number>;
  restarts: number;
  pid?: number;
};

export type SupervisorOptions = {
  /** Called after any instance changes state. */
  onChange?: (i: Instance) => void;
  /** Log lines of the instances, prefixed with the pod name. */
  log?: (line: string) => void;
  /** How long an instance may take to accept connections. */
  readyTimeoutMs?: number;
  maxBackoffMs?: number;
};

const LEGATE_BIN = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../bin/legate.js');

/** The subcommand that runs an image, and the environment that makes it listen on a local port. */
const IMAGES: Record<ImageKind, { command: string; listenEnv(containerPort: number, local: number): Record<string, string> }> = {
  'fake-service': { command: 'fake-service', listenEnv: (_cp, local) => ({ LISTEN_ADDR: `127.0.0.1:${local}` }) },
  echo: {
    command: 'echo-backend',
    listenEnv: (cp, local): Record<string, string> => ({
      [cp === 3001 ? 'H2C_PORT' : cp === 8443 ? 'HTTPS_PORT' : 'HTTP_PORT']: String(local),
    }),
  },
};

export class Supervisor {
  readonly instances: Instance[];
  readonly #opts: SupervisorOptions;
  readonly #children = new Map<Instance, ChildProcess>();
  readonly #timers = new Set<NodeJS.Timeout>();
  #stopping = false;

  constructor(plans: readonly InstancePlan[], opts: SupervisorOptions = {}) {
    this.instances = plans.map((plan) => ({ plan, state: 'starting', ports: new Map(), restarts: 0 }));
    this.#opts = opts;
  }

  /** Starts every instance and waits until each is ready (or failed to start). */
  async start(): Promise<void> {
    for (const i of this.instances) {
      for (const cp of containerPorts(i.plan)) i.ports.set(cp, await freePort());
    }
    await Promise.all(this.instances.map((i) => this.#launch(i)));
  }

  #launch(i: Instance): Promise<void> {
    const image = IMAGES[i.plan.kind];
    const env: Record<string, string> = {
      PATH: process.env.PATH ?? '',
      ...i.plan.env,
      POD_NAME: i.plan.podName,
      NAMESPACE: i.plan.namespace,
      HOSTNAME: i.plan.podName,
    };
    for (const [cp, local] of i.ports) Object.assign(env, image.listenEnv(cp, local));
    const child = spawn(process.execPath, [LEGATE_BIN, image.command], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    this.#children.set(i, child);
    i.state = 'starting';
    if (child.pid !== undefined) i.pid = child.pid;
    const prefix = `[${i.plan.podName}] `;
    for (const stream of [child.stdout, child.stderr]) createInterface({ input: stream }).on('line', (l) => this.#opts.log?.(prefix + l));
    child.on('exit', (code, signal) => {
      this.#children.delete(i);
      if (this.#stopping) {
        this.#set(i, 'stopped');
        return;
      }
      this.#opts.log?.(`${prefix}exited (${signal ?? `code ${code}`}); restarting in ${this.#backoff(i) / 1000} s`);
      this.#set(i, 'crashed');
      const t = setTimeout(() => {
        this.#timers.delete(t);
        i.restarts++;
        void this.#launch(i);
      }, this.#backoff(i));
      this.#timers.add(t);
    });
    return this.#waitReady(i, child);
  }

  #backoff(i: Instance): number {
    return Math.min(1000 * 2 ** i.restarts, this.#opts.maxBackoffMs ?? 30_000);
  }

  async #waitReady(i: Instance, child: ChildProcess): Promise<void> {
    const deadline = Date.now() + (this.#opts.readyTimeoutMs ?? 10_000);
    for (const port of i.ports.values()) {
      while (!(await canConnect(port))) {
        if (this.#children.get(i) !== child) return;
        if (Date.now() > deadline) {
          this.#opts.log?.(`[${i.plan.podName}] not ready after ${this.#opts.readyTimeoutMs ?? 10_000} ms; stopping it`);
          child.kill('SIGKILL');
          return;
        }
        await new Promise((r) => setTimeout(r, 25));
      }
    }
    if (this.#children.get(i) === child) this.#set(i, 'ready');
  }

  #set(i: Instance, state: InstanceState): void {
    if (i.state === state) return;
    i.state = state;
    this.#opts.onChange?.(i);
  }

  /** Stops an instance as a crash would (tests and chaos). */
  kill(podName: string, signal: NodeJS.Signals = 'SIGKILL'): boolean {
    for (const [i, child] of this.#children) if (i.plan.podName === podName) return child.kill(signal);
    return false;
  }

  async stop(): Promise<void> {
    this.#stopping = true;
    for (const t of this.#timers) clearTimeout(t);
    this.#timers.clear();
    await Promise.all(
      [...this.#children.values()].map(
        (c) =>
          new Promise<void>((resolve) => {
            const force = setTimeout(() => c.kill('SIGKILL'), 3000);
            c.once('exit', () => {
              clearTimeout(force);
              resolve();
            });
            c.kill('SIGTERM');
          }),
      ),
    );
  }
}

/**
 * The ports an instance listens on: the container's declared ports, else the image's own (the
 * conformance Deployments declare none; echo-basic's HTTP mode serves 3000 and h2c on 3001).
 */
export function containerPorts(plan: Pick<InstancePlan, 'kind' | 'ports' | 'env'>): number[] {
  if (plan.ports.length > 0) return plan.ports.map((p) => p.containerPort);
  if (plan.kind === 'fake-service') return [9090];
  return (plan.env['GRPC_ECHO_SERVER'] ?? '') !== '' ? [3000] : [3000, 3001];
}

/**
 * Endpoints of Services whose selector picks runtime instances: ready instances only, the target
 * port resolved by number or by container port name. Undefined when the Service selects none of
 * them (the manifests' own EndpointSlices then apply).
 */
export function runtimeEndpoints(
  objects: readonly LoadedObject[],
  supervisor: { instances: readonly (Pick<Instance, 'ports' | 'state'> & { plan: PodPlan })[] },
): RuntimeEndpoints {
  const selectors = new Map<string, Record<string, string>>();
  for (const o of objects) {
    if (o.kind !== 'Service' || o.apiVersion !== 'v1') continue;
    const sel = (o.body.spec as { selector?: unknown } | undefined)?.selector;
    if (sel && typeof sel === 'object') selectors.set(`${o.metadata.namespace}/${o.metadata.name}`, sel as Record<string, string>);
  }
  return (namespace: string, service: string, sp: ServicePort) => {
    const sel = selectors.get(`${namespace}/${service}`);
    if (!sel || Object.keys(sel).length === 0) return undefined;
    const members = supervisor.instances.filter(
      (i) => i.plan.namespace === namespace && Object.entries(sel).every(([k, v]) => i.plan.labels[k] === v),
    );
    if (members.length === 0) return undefined;
    const out: ir.Endpoint[] = [];
    for (const i of members) {
      const target = typeof sp.targetPort === 'number' ? sp.targetPort : i.plan.ports.find((p) => p.name === sp.targetPort)?.containerPort;
      // A named target port the container does not declare: not an endpoint for this port.
      if (target === undefined) continue;
      const local = i.ports.get(target);
      if (local === undefined) continue;
      out.push({
        address: '127.0.0.1',
        port: local,
        weight: 1,
        priority: 0,
        hostname: i.plan.podName,
        labels: i.plan.labels,
        health: i.state === 'ready' ? 'healthy' : 'unhealthy',
        ...(i.plan.locality ? { locality: i.plan.locality } : {}),
      });
    }
    return out;
  };
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.unref();
    s.on('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(port));
    });
  });
}

function canConnect(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const sock = net.connect({ port, host: '127.0.0.1' });
    sock.once('connect', () => {
      sock.destroy();
      resolve(true);
    });
    sock.once('error', () => resolve(false));
  });
}
