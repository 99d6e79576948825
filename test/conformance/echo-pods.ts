/**
 * The base manifests' echo Deployments as in-process echo backends (README 2, 3): the local
 * runtime's plan gives each replica its pod name and environment, each container port gets a
 * free loopback port, and Services resolve to them like `legate run` resolves its own processes.
 * One set serves every test: the base manifests' Deployments are the same for all of them.
 */
import type * as ir from '../../src/ir/index.js';
import { Diagnostics, type LoadedObject } from '../../src/config/model.js';
import type { RuntimeEndpoints } from '../../src/config/sources/kubernetes/endpoint-resolver.js';
import { startEchoBackend, type EchoBackendHandle } from '../../src/fake-service/index.js';
import { planDeployments, type InstancePlan } from '../../src/runtime/plan.js';
import { containerPorts, runtimeEndpoints, type Instance } from '../../src/runtime/supervisor.js';

export type EchoPod = { instance: Instance; handle: EchoBackendHandle };

export type EchoPods = {
  pods: EchoPod[];
  endpoints(objects: readonly LoadedObject[]): RuntimeEndpoints;
  /** Request-URIs a Deployment's pods echoed (the mirror tests read the pods' logs). */
  requestURIs(namespace: string, deployment: string): string[];
  close(): Promise<void>;
};

/**
 * Environment a stand-in cannot honour: the TLS files (Secret volumes the extracted tests never
 * reach, README 2 step 3) and the TCP mode (no extracted test uses tcp-backend).
 */
const DROPPED_ENV = ['TLS_SERVER_CERT', 'TLS_SERVER_PRIVKEY', 'TLS_SERVER_PRIV_KEY', 'TLS_CLIENT_CACERTS'];

export async function startEchoPods(base: readonly LoadedObject[]): Promise<EchoPods> {
  const diags = new Diagnostics();
  const plans = planDeployments(base, diags).filter((p) => p.kind === 'echo' && !p.env['TCP_ECHO_SERVER'] && !p.env['UDP_ECHO_SERVER']);
  const pods: EchoPod[] = [];
  try {
    for (const plan of plans) pods.push(await startPod(plan));
  } catch (err) {
    await Promise.all(pods.map((p) => p.handle.close()));
    throw err;
  }
  return {
    pods,
    endpoints: (objects) => runtimeEndpoints(objects, { instances: pods.map((p) => p.instance) }),
    requestURIs: (namespace, deployment) =>
      pods
        .filter((p) => p.instance.plan.namespace === namespace && p.instance.plan.deployment === deployment)
        .flatMap((p) => p.handle.requestURIs),
    close: async () => {
      await Promise.all(pods.map((p) => p.handle.close()));
    },
  };
}

async function startPod(plan: InstancePlan): Promise<EchoPod> {
  const env: Record<string, string> = { ...plan.env, POD_NAME: plan.podName, NAMESPACE: plan.namespace };
  for (const k of DROPPED_ENV) delete env[k];
  const grpc = (env['GRPC_ECHO_SERVER'] ?? '') !== '';
  const handle = await startEchoBackend(env, {
    host: '127.0.0.1',
    httpPort: 0,
    ...(grpc ? {} : { h2cPort: 0 }),
    stdout: () => {},
    shutdownGraceMs: 100,
  });
  const ports = new Map<number, number>();
  for (const cp of containerPorts(plan)) {
    const local = cp === 3001 ? handle.ports.h2c : cp === 3000 ? handle.ports.http : undefined;
    if (local === undefined) throw new Error(`echo pod ${plan.podName}: no local port for container port ${cp}`);
    ports.set(cp, local);
  }
  return { instance: { plan, state: 'ready', ports, restarts: 0 }, handle };
}

/** Endpoints of one Deployment's pods on a container port (to fill EndpointSlices, README 4). */
export function podEndpoints(pods: EchoPods, namespace: string, deployment: string, containerPort: number): ir.Endpoint[] {
  return pods.pods
    .filter((p) => p.instance.plan.namespace === namespace && p.instance.plan.deployment === deployment)
    .flatMap((p) => {
      const port = p.instance.ports.get(containerPort);
      return port === undefined ? [] : [{ address: '127.0.0.1', port, weight: 1, priority: 0, hostname: p.instance.plan.podName }];
    });
}
