/**
 * One test's manifests in the local runtime (README 1, steps 1-4): the base and test manifests
 * with the GatewayClass and the generated Secret, translated with each Gateway on its own
 * listeners (Envoy Gateway gives each Gateway its own Envoy), applied to one Proxy. Every
 * (Gateway, port) is bound to its own free loopback port and keeps its declared port for
 * redirects. Objects carry metadata.generation 1, as the API server sets it on create.
 */
import type * as ir from '../../src/ir/index.js';
import type { Diagnostic } from '../../src/ir/diagnostic.js';
import { Diagnostics, type LoadedObject } from '../../src/config/model.js';
import { loadManifests, type ManifestSource } from '../../src/config/load/load-manifests.js';
import { translate, type TranslateResult } from '../../src/config/translate.js';
import type { Proxy } from '../../src/dataplane/proxy.js';
import { readManifest, type BeforeAction, type ConformanceTest, type SetupStep, type Target } from './data.js';
import { podEndpoints, type EchoPods } from './echo-pods.js';

export const GATEWAY_CLASS = 'legate-conformance';
export const CONTROLLER_NAME = 'legate.dev/gateway-controller';
/** The Secret the suite creates in code (README 1, step 3). */
export const TLS_SECRET = 'gateway-conformance-infra/tls-validity-checks-certificate';

export type Certificate = { cert: string; key: string };

export class LocalGateway {
  readonly #proxy: Proxy;
  readonly #pods: EchoPods;
  readonly #harness: ManifestSource;
  objects: LoadedObject[] = [];
  result: TranslateResult | undefined;
  /** `ns/gateway:port` -> local port. */
  #ports = new Map<string, number>();

  constructor(proxy: Proxy, pods: EchoPods, cert: Certificate) {
    this.#proxy = proxy;
    this.#pods = pods;
    const [ns, name] = TLS_SECRET.split('/');
    const docs = [
      {
        apiVersion: 'gateway.networking.k8s.io/v1',
        kind: 'GatewayClass',
        metadata: { name: GATEWAY_CLASS },
        spec: { controllerName: CONTROLLER_NAME },
      },
      {
        apiVersion: 'v1',
        kind: 'Secret',
        metadata: { name, namespace: ns },
        type: 'kubernetes.io/tls',
        stringData: { 'tls.crt': cert.cert, 'tls.key': cert.key },
      },
    ];
    this.#harness = {
      name: 'conformance-harness (GatewayClass, generated Secret)',
      text: docs.map((d) => JSON.stringify(d)).join('\n---\n'),
    };
  }

  /** Loads a test's manifests and runs its setup steps; then `apply()`. */
  load(test: ConformanceTest): void {
    const diags = new Diagnostics();
    const sources: ManifestSource[] = [this.#harness];
    for (const m of test.manifests) {
      const { name, text } = readManifest(m);
      sources.push({ name, text: text.replaceAll('{GATEWAY_CLASS_NAME}', GATEWAY_CLASS) });
    }
    const objects = loadManifests(sources, diags);
    const errors = diags.items.filter((d) => d.severity === 'error');
    if (errors.length > 0) throw new Error(`${test.name}: the manifests do not load: ${errors.map(describe).join('; ')}`);
    for (const o of objects) o.metadata.generation ??= 1;
    this.objects = objects;
    for (const step of test.setup ?? []) this.#setup(step);
  }

  /** Translates the loaded objects (status included). */
  translate(): TranslateResult {
    this.result = translate(this.objects, { runtimeEndpoints: this.#pods.endpoints(this.objects), mergeGateways: false });
    return this.result;
  }

  /** Translates and applies to the proxy; resolves once every listener serves. */
  async apply(): Promise<TranslateResult> {
    const result = this.translate();
    const config: ir.Config = {
      ...result.config,
      listeners: result.config.listeners.map((l) => ({ ...l, address: '127.0.0.1', port: 0, declaredPort: l.port })),
    };
    await this.#proxy.apply(config);
    const ports = new Map<string, number>();
    for (const l of config.listeners) {
      // Unmerged Gateway API listeners are named `ns/gateway/http-80`.
      const gateway = l.name.slice(0, l.name.lastIndexOf('/'));
      ports.set(`${gateway}:${l.declaredPort}`, this.#proxy.port(l.name));
    }
    this.#ports = ports;
    return result;
  }

  /** The local port serving a case's target, or a text saying why there is none. */
  port(target: Target): number | string {
    const p = this.#ports.get(`${target.gateway}:${target.port}`);
    if (p !== undefined) return p;
    const have = [...this.#ports.keys()].join(', ') || 'none';
    return `no listener serves Gateway ${target.gateway} port ${target.port} (listeners: ${have})`;
  }

  /** A case's `before` action (README 1, step 5), then translate and apply again. */
  async before(action: BeforeAction): Promise<void> {
    if (action.action !== 'delete') throw new Error(`unknown before action ${JSON.stringify(action)}`);
    const i = this.objects.findIndex(
      (o) => o.kind === action.kind && o.metadata.namespace === action.namespace && o.metadata.name === action.name,
    );
    if (i < 0) throw new Error(`before: ${action.kind} ${action.namespace}/${action.name} is not loaded`);
    this.objects.splice(i, 1);
    await this.apply();
  }

  /**
   * populateEndpointSlices (HTTPRouteServiceTypes): upstream writes the pods' IPs into the
   * slices. Locally every pod is 127.0.0.1 on its own port, and a slice has one port for all its
   * endpoints, so each pod gets a slice of its own for the same Service (Kubernetes allows many).
   * There are no IPv6 pods: those slices stay empty, as upstream skips an empty family.
   */
  #setup(step: SetupStep): void {
    if (step.action !== 'populateEndpointSlices') throw new Error(`unknown setup step ${JSON.stringify(step)}`);
    const [ns, deployment] = step.from.deployment.split('/') as [string, string];
    const eps = podEndpoints(this.#pods, ns, deployment, step.from.port);
    if (eps.length === 0) throw new Error(`setup: no pods of ${step.from.deployment} on port ${step.from.port}`);
    for (const ref of step.endpointSlices) {
      const [sns, sname] = ref.split('/') as [string, string];
      const slice = this.objects.find((o) => o.kind === 'EndpointSlice' && o.metadata.namespace === sns && o.metadata.name === sname);
      if (!slice) throw new Error(`setup: EndpointSlice ${ref} is not in the manifests`);
      if (slice.body.addressType !== 'IPv4') continue;
      const ports = (slice.body.ports ?? []) as Record<string, unknown>[];
      eps.forEach((ep, i) => {
        const body = {
          ...structuredClone(slice.body),
          endpoints: [{ addresses: [ep.address], conditions: { ready: true }, targetRef: { kind: 'Pod', name: ep.hostname } }],
          ports: ports.map((p) => ({ ...p, port: ep.port })),
        };
        if (i === 0) slice.body = body;
        else this.objects.push({ ...slice, metadata: { ...slice.metadata, name: `${sname}-${i}` }, body });
      });
    }
  }
}

function describe(d: Diagnostic): string {
  return `${d.file ?? ''}:${d.line ?? ''} ${d.code} ${d.message}`;
}
