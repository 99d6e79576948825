/**
 * The local runtime's plan (config-apis.md 4.3): each Deployment whose image legate can run becomes
 * `replicas` workload instances with the pod template's labels, a pod name like Kubernetes'
 * (`<deployment>-<10 chars>-<5 chars>`), the container's environment (with `$(VAR)` references
 * expanded) and its ports. Deployments with an unknown image are reported with the ways to point
 * their Services at a real address instead.
 */
import { createHash } from 'node:crypto';
import type { Diagnostics, LoadedObject } from '../config/model.js';

/** Images the runtime can start, by what they are compatible with. */
export type ImageKind = 'fake-service' | 'echo';

export type ContainerPort = { name?: string; containerPort: number };

export type InstancePlan = {
  namespace: string;
  deployment: string;
  podName: string;
  /** Index among the Deployment's replicas. */
  replica: number;
  image: string;
  kind: ImageKind;
  labels: Record<string, string>;
  env: Record<string, string>;
  ports: ContainerPort[];
  /** From the pod labels `topology.kubernetes.io/region|zone`, `topology.istio.io/subzone`, or the annotation. */
  locality?: { region?: string; zone?: string; subZone?: string };
};

export const LOCALITY_ANNOTATION = 'legate.dev/locality';

export const RUNTIME_CODES = {
  UNKNOWN_IMAGE: 'E_RUNTIME_UNKNOWN_IMAGE',
  INVALID: 'E_RUNTIME_DEPLOYMENT_INVALID',
  SELECTOR_MISMATCH: 'E_RUNTIME_SELECTOR_MISMATCH',
} as const;

/** Which runnable image an image reference is, by repository (any tag or digest). */
export function imageKind(image: string): ImageKind | undefined {
  const repo = image.replace(/@.*$/, '').replace(/:[^/:]*$/, '');
  const name = repo.replace(/^(docker\.io\/)?(library\/)?/, '');
  if (name === 'nicholasjackson/fake-service' || name.endsWith('/nicholasjackson/fake-service')) return 'fake-service';
  // The Gateway API conformance echo backend.
  if (/(^|\/)echo-basic$/.test(name) || /(^|\/)echoserver$/.test(name)) return 'echo';
  return undefined;
}

/** A pod of any image, as `legate analyze` counts them; `kind` is set when legate can run the image. */
export type PodPlan = Omit<InstancePlan, 'kind'> & { kind?: ImageKind };

/** `skip` leaves out Deployments something else stands in for (`legate run --backend`), unreported. */
export function planDeployments(
  objects: readonly LoadedObject[],
  diags: Diagnostics,
  skip?: (namespace: string, templateLabels: Record<string, string>) => boolean,
): InstancePlan[] {
  const out: InstancePlan[] = [];
  for (const o of objects) {
    if (o.kind !== 'Deployment' || !o.apiVersion.startsWith('apps/')) continue;
    if (skip?.(o.metadata.namespace, stringRecord(record(record(record(o.body.spec).template).metadata).labels))) continue;
    out.push(...(planDeployment(o, diags, false) as InstancePlan[]));
  }
  return out;
}

/** The pods of every Deployment whatever its image (the first container's when legate knows none). */
export function planPods(objects: readonly LoadedObject[], diags: Diagnostics): PodPlan[] {
  return objects.filter((o) => o.kind === 'Deployment' && o.apiVersion.startsWith('apps/')).flatMap((o) => planDeployment(o, diags, true));
}

function planDeployment(o: LoadedObject, diags: Diagnostics, anyImage: boolean): PodPlan[] {
  const spec = record(o.body.spec);
  const template = record(spec.template);
  const meta = record(template.metadata);
  const podSpec = record(template.spec);
  const labels = stringRecord(meta.labels);
  const annotations = stringRecord(meta.annotations);
  const containers = Array.isArray(podSpec.containers) ? (podSpec.containers as unknown[]).map(record) : [];
  const replicas = spec.replicas === undefined ? 1 : spec.replicas;
  if (typeof replicas !== 'number' || !Number.isInteger(replicas) || replicas < 0) {
    diags.error(RUNTIME_CODES.INVALID, 'spec.replicas must be a whole number >= 0', { object: o, path: ['spec', 'replicas'] });
    return [];
  }
  const selector = stringRecord(record(spec.selector).matchLabels);
  for (const [k, v] of Object.entries(selector))
    if (labels[k] !== v) {
      diags.error(
        RUNTIME_CODES.SELECTOR_MISMATCH,
        '`selector` does not match template `labels` (the API server rejects this Deployment)',
        { object: o, path: ['spec', 'selector'] },
        `add ${k}: ${v} to spec.template.metadata.labels`,
      );
      return [];
    }
  if (containers.length === 0) {
    diags.error(RUNTIME_CODES.INVALID, 'spec.template.spec.containers must have at least one container', {
      object: o,
      path: ['spec', 'template', 'spec', 'containers'],
    });
    return [];
  }
  // The first container whose image legate knows is the workload; sidecars are ignored.
  const idx = containers.findIndex((c) => typeof c.image === 'string' && imageKind(c.image) !== undefined);
  if (idx < 0 && !anyImage) {
    const image = String(containers[0]!.image ?? '');
    diags.error(
      RUNTIME_CODES.UNKNOWN_IMAGE,
      `Deployment ${o.metadata.namespace}/${o.metadata.name} runs image "${image}", which legate cannot start locally (it runs nicholasjackson/fake-service and the Gateway API echo backend)`,
      { object: o, path: ['spec', 'template', 'spec', 'containers', 0, 'image'] },
      'run the workload yourself and point its Service at it: `legate run --backend NAMESPACE/SERVICE=HOST:PORT`, an EndpointSlice, or a ServiceEntry with a STATIC endpoint',
    );
    return [];
  }
  const c = containers[Math.max(0, idx)]!;
  const image = String(c.image ?? '');
  const kind = imageKind(image);
  const ports: ContainerPort[] = (Array.isArray(c.ports) ? (c.ports as unknown[]).map(record) : []).flatMap((p) =>
    typeof p.containerPort === 'number'
      ? [{ containerPort: p.containerPort, ...(typeof p.name === 'string' ? { name: p.name } : {}) }]
      : [],
  );
  const env = expandEnv(Array.isArray(c.env) ? (c.env as unknown[]).map(record) : []);
  const locality = localityOf(labels, annotations);
  const rsHash = hash(`${o.metadata.namespace}/${o.metadata.name}/${JSON.stringify(template)}`, 10);
  const out: PodPlan[] = [];
  for (let i = 0; i < replicas; i++)
    out.push({
      namespace: o.metadata.namespace,
      deployment: o.metadata.name,
      podName: `${o.metadata.name}-${rsHash}-${hash(`${rsHash}/${i}`, 5)}`,
      replica: i,
      image,
      ...(kind ? { kind } : {}),
      labels,
      env,
      ports,
      ...(locality ? { locality } : {}),
    });
  return out;
}

/** Kubernetes expands `$(VAR)` from earlier entries; `$$(VAR)` is a literal `$(VAR)`. */
export function expandEnv(entries: Record<string, unknown>[]): Record<string, string> {
  const env: Record<string, string> = {};
  for (const e of entries) {
    if (typeof e.name !== 'string') continue;
    const raw = e.value === undefined || e.value === null ? '' : String(e.value);
    env[e.name] = raw.replace(/\$\$\(([A-Za-z_][A-Za-z0-9_]*)\)|\$\(([A-Za-z_][A-Za-z0-9_]*)\)/g, (m, escaped: string, name: string) =>
      escaped !== undefined ? `$(${escaped})` : (env[name] ?? m),
    );
  }
  return env;
}

function localityOf(labels: Record<string, string>, annotations: Record<string, string>): InstancePlan['locality'] {
  const explicit = annotations[LOCALITY_ANNOTATION] ?? labels['topology.istio.io/locality'] ?? labels['istio-locality'];
  if (explicit) {
    // Label values cannot hold '/', so Istio writes dots there.
    const parts = (explicit.includes('/') ? explicit : explicit.replace(/\./g, '/')).split('/');
    return compact({ region: parts[0], zone: parts[1], subZone: parts[2] });
  }
  return compact({
    region: labels['topology.kubernetes.io/region'] ?? labels['failure-domain.beta.kubernetes.io/region'],
    zone: labels['topology.kubernetes.io/zone'] ?? labels['failure-domain.beta.kubernetes.io/zone'],
    subZone: labels['topology.istio.io/subzone'],
  });
}

function compact(l: { region?: string | undefined; zone?: string | undefined; subZone?: string | undefined }): InstancePlan['locality'] {
  const out: { region?: string; zone?: string; subZone?: string } = {};
  if (l.region) out.region = l.region;
  if (l.zone) out.zone = l.zone;
  if (l.subZone) out.subZone = l.subZone;
  return Object.keys(out).length > 0 ? out : undefined;
}

/** Pod-name suffixes use Kubernetes' alphabet (no vowels, no confusable digits). */
const ALPHABET = 'bcdfghjklmnpqrstvwxz2456789';

function hash(s: string, n: number): string {
  const bytes = createHash('sha256').update(s).digest();
  let out = '';
  for (let i = 0; i < n; i++) out += ALPHABET[bytes[i]! % ALPHABET.length];
  return out;
}

function record(v: unknown): Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Record<string, unknown>) : {};
}

function stringRecord(v: unknown): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, x] of Object.entries(record(v))) if (typeof x === 'string') out[k] = x;
  return out;
}
