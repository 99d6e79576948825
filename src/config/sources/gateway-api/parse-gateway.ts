/**
 * GatewayClass, Gateway and ReferenceGrant objects: schema and CEL checks (config-apis.md 1.2,
 * 1.3, 1.10, section 6 #1-#4), kubebuilder defaults applied. Invalid objects are reported and
 * come back undefined.
 */
import type { Diagnostics, LoadedObject } from '../../model.js';
import { objectRef } from '../../model.js';
import { GROUP } from './codes.js';
import { hostnameError } from './hostnames.js';
import { isDnsSubdomain, readArray, readCtx, readInt, readObject, readString, reject, type Json, type Path, type ReadCtx } from './read.js';
import type * as gwapi from './types.js';

export function parseGatewayClass(o: LoadedObject, diags: Diagnostics): gwapi.GatewayClass | undefined {
  const ctx = readCtx(o, diags);
  const spec = readObject(ctx, o.body.spec, ['spec']) ?? {};
  const controllerName = readString(ctx, spec.controllerName, ['spec', 'controllerName'], { required: true, min: 1, max: 253 });
  const p = readObject(ctx, spec.parametersRef, ['spec', 'parametersRef']);
  let parametersRef: gwapi.GatewayClass['parametersRef'];
  if (p) {
    const path = ['spec', 'parametersRef'];
    const name = readString(ctx, p.name, [...path, 'name'], { required: true, min: 1 }) ?? '';
    const kind = readString(ctx, p.kind, [...path, 'kind'], { required: true, min: 1 }) ?? '';
    const group = readString(ctx, p.group, [...path, 'group']) ?? '';
    const namespace = readString(ctx, p.namespace, [...path, 'namespace']);
    parametersRef = { group, kind, name, ...(namespace !== undefined ? { namespace } : {}) };
  }
  if (!ctx.ok || controllerName === undefined) return undefined;
  return { object: o, name: o.metadata.name, controllerName, ...(parametersRef ? { parametersRef } : {}) };
}

const CORE_PROTOCOLS = new Set(['HTTP', 'HTTPS', 'TLS', 'TCP', 'UDP']);

export function parseGateway(o: LoadedObject, diags: Diagnostics): gwapi.Gateway | undefined {
  const ctx = readCtx(o, diags);
  const spec = readObject(ctx, o.body.spec, ['spec']) ?? {};
  const className = readString(ctx, spec.gatewayClassName, ['spec', 'gatewayClassName'], { required: true, min: 1, max: 253 });
  const raw = readArray(ctx, spec.listeners, ['spec', 'listeners'], 64);
  if (raw.length === 0) reject(ctx, ['spec', 'listeners'], 'a Gateway needs at least one listener');
  const listeners: gwapi.Listener[] = [];
  raw.forEach((l, i) => {
    const parsed = parseListener(ctx, l, ['spec', 'listeners', i], i);
    if (parsed) listeners.push(parsed);
  });
  const names = new Set<string>();
  const combos = new Set<string>();
  for (const l of listeners) {
    if (names.has(l.name))
      reject(ctx, [...l.path, 'name'], `listener name "${l.name}" is used twice`, 'Listener name must be unique within the Gateway');
    names.add(l.name);
    const combo = `${l.port}/${l.protocol}/${l.hostname ?? ''}`;
    if (combos.has(combo)) reject(ctx, l.path, 'Combination of port, protocol and hostname must be unique for each listener');
    combos.add(combo);
  }
  if (!ctx.ok || className === undefined) return undefined;
  return { object: o, namespace: o.metadata.namespace, name: o.metadata.name, ref: objectRef(o), className, listeners };
}

function parseListener(ctx: ReadCtx, v: unknown, path: Path, index: number): gwapi.Listener | undefined {
  const l = readObject(ctx, v, path);
  if (!l) return undefined;
  const name = readString(ctx, l.name, [...path, 'name'], { required: true, min: 1, max: 253 });
  if (name !== undefined && !isDnsSubdomain(name)) reject(ctx, [...path, 'name'], `listener name "${name}" must be a DNS subdomain`);
  const hostname = readString(ctx, l.hostname, [...path, 'hostname']);
  if (hostname !== undefined) {
    const err = hostnameError(hostname);
    if (err) reject(ctx, [...path, 'hostname'], err);
  }
  const port = readInt(ctx, l.port, [...path, 'port'], 1, 65535, true);
  const protocol = readString(ctx, l.protocol, [...path, 'protocol'], { required: true, min: 1, max: 255 });
  if (protocol !== undefined && !CORE_PROTOCOLS.has(protocol) && !protocol.includes('/'))
    reject(ctx, [...path, 'protocol'], `protocol "${protocol}" is not HTTP, HTTPS, TLS, TCP, UDP or a domain-prefixed name`);
  if (hostname !== undefined && (protocol === 'TCP' || protocol === 'UDP'))
    reject(ctx, [...path, 'hostname'], "hostname must not be specified for protocols ['TCP', 'UDP']");

  const tlsRaw = readObject(ctx, l.tls, [...path, 'tls']);
  let tls: gwapi.Listener['tls'];
  if (tlsRaw) {
    if (protocol === 'HTTP' || protocol === 'TCP' || protocol === 'UDP')
      reject(ctx, [...path, 'tls'], "tls must not be specified for protocols ['HTTP', 'TCP', 'UDP']");
    const mode = readString(ctx, tlsRaw.mode, [...path, 'tls', 'mode']) ?? 'Terminate';
    if (mode !== 'Terminate' && mode !== 'Passthrough')
      reject(ctx, [...path, 'tls', 'mode'], `tls.mode must be Terminate or Passthrough, not "${mode}"`);
    if (protocol === 'HTTPS' && mode !== 'Terminate')
      reject(ctx, [...path, 'tls', 'mode'], 'tls mode must be Terminate for protocol HTTPS');
    const refs = readArray(ctx, tlsRaw.certificateRefs, [...path, 'tls', 'certificateRefs'], 64);
    const certificateRefs: gwapi.SecretRef[] = [];
    refs.forEach((r, i) => {
      const rp = [...path, 'tls', 'certificateRefs', i];
      const ref = readObject(ctx, r, rp);
      if (!ref) return;
      certificateRefs.push({
        group: readString(ctx, ref.group, [...rp, 'group']) ?? '',
        kind: readString(ctx, ref.kind, [...rp, 'kind']) ?? 'Secret',
        name: readString(ctx, ref.name, [...rp, 'name'], { required: true, min: 1 }) ?? '',
        namespace: readString(ctx, ref.namespace, [...rp, 'namespace']) ?? ctx.o.metadata.namespace,
      });
    });
    tls = { mode: mode === 'Passthrough' ? 'Passthrough' : 'Terminate', certificateRefs };
  } else if (protocol === 'TLS') {
    reject(ctx, [...path, 'tls'], 'tls mode must be set for protocol TLS');
  }

  const allowed = readObject(ctx, l.allowedRoutes, [...path, 'allowedRoutes']) ?? {};
  const nsRaw = readObject(ctx, allowed.namespaces, [...path, 'allowedRoutes', 'namespaces']) ?? {};
  const from = readString(ctx, nsRaw.from, [...path, 'allowedRoutes', 'namespaces', 'from']) ?? 'Same';
  if (from !== 'All' && from !== 'Same' && from !== 'Selector')
    reject(ctx, [...path, 'allowedRoutes', 'namespaces', 'from'], `namespaces.from must be All, Same or Selector, not "${from}"`);
  let selector: gwapi.LabelSelector | undefined;
  if (from === 'Selector') {
    const sp = [...path, 'allowedRoutes', 'namespaces', 'selector'];
    const s = readObject(ctx, nsRaw.selector, sp);
    if (!s) reject(ctx, sp, 'namespaces.selector is required when from is Selector');
    else selector = parseLabelSelector(ctx, s, sp);
  }
  let kinds: gwapi.RouteGroupKind[] | undefined;
  if (allowed.kinds !== undefined) {
    kinds = [];
    readArray(ctx, allowed.kinds, [...path, 'allowedRoutes', 'kinds'], 8).forEach((k, i) => {
      const kp = [...path, 'allowedRoutes', 'kinds', i];
      const obj = readObject(ctx, k, kp);
      if (!obj) return;
      const kind = readString(ctx, obj.kind, [...kp, 'kind'], { required: true, min: 1, max: 63 }) ?? '';
      kinds!.push({ group: readString(ctx, obj.group, [...kp, 'group']) ?? GROUP, kind });
    });
    if (kinds.length === 0) kinds = undefined;
  }
  if (name === undefined || port === undefined || protocol === undefined) return undefined;
  return {
    name,
    index,
    path,
    ...(hostname !== undefined ? { hostname } : {}),
    port,
    protocol,
    ...(tls ? { tls } : {}),
    allowedRoutes: {
      from: from as gwapi.Listener['allowedRoutes']['from'],
      ...(selector ? { selector } : {}),
      ...(kinds ? { kinds } : {}),
    },
  };
}

function parseLabelSelector(ctx: ReadCtx, s: Json, path: Path): gwapi.LabelSelector {
  const matchLabels: Record<string, string> = {};
  const ml = readObject(ctx, s.matchLabels, [...path, 'matchLabels']) ?? {};
  for (const [k, v] of Object.entries(ml)) {
    const value = readString(ctx, v, [...path, 'matchLabels', k]);
    if (value !== undefined) matchLabels[k] = value;
  }
  const matchExpressions: gwapi.LabelSelector['matchExpressions'] = [];
  readArray(ctx, s.matchExpressions, [...path, 'matchExpressions']).forEach((e, i) => {
    const ep = [...path, 'matchExpressions', i];
    const obj = readObject(ctx, e, ep);
    if (!obj) return;
    const key = readString(ctx, obj.key, [...ep, 'key'], { required: true, min: 1 }) ?? '';
    const operator = readString(ctx, obj.operator, [...ep, 'operator'], { required: true }) ?? '';
    if (!['In', 'NotIn', 'Exists', 'DoesNotExist'].includes(operator))
      reject(ctx, [...ep, 'operator'], `operator must be In, NotIn, Exists or DoesNotExist, not "${operator}"`);
    const values = readArray(ctx, obj.values, [...ep, 'values']).map((v, j) => readString(ctx, v, [...ep, 'values', j]) ?? '');
    if ((operator === 'In' || operator === 'NotIn') && values.length === 0)
      reject(ctx, [...ep, 'values'], `values must be non-empty for operator ${operator}`);
    matchExpressions.push({ key, operator, values });
  });
  return { matchLabels, matchExpressions };
}

/** Kubernetes label-selector semantics (an empty selector matches everything). */
export function matchesSelector(sel: gwapi.LabelSelector, labels: Record<string, string>): boolean {
  for (const [k, v] of Object.entries(sel.matchLabels)) if (labels[k] !== v) return false;
  for (const e of sel.matchExpressions) {
    const has = Object.hasOwn(labels, e.key);
    switch (e.operator) {
      case 'In':
        if (!has || !e.values.includes(labels[e.key]!)) return false;
        break;
      case 'NotIn':
        if (has && e.values.includes(labels[e.key]!)) return false;
        break;
      case 'Exists':
        if (!has) return false;
        break;
      case 'DoesNotExist':
        if (has) return false;
        break;
    }
  }
  return true;
}

export function parseReferenceGrant(o: LoadedObject, diags: Diagnostics): gwapi.ReferenceGrant | undefined {
  const ctx = readCtx(o, diags);
  const spec = readObject(ctx, o.body.spec, ['spec']) ?? {};
  const from = readArray(ctx, spec.from, ['spec', 'from'], 16).map((f, i) => {
    const p = ['spec', 'from', i];
    const obj = readObject(ctx, f, p) ?? {};
    return {
      group: readString(ctx, obj.group, [...p, 'group'], { required: true }) ?? '',
      kind: readString(ctx, obj.kind, [...p, 'kind'], { required: true, min: 1 }) ?? '',
      namespace: readString(ctx, obj.namespace, [...p, 'namespace'], { required: true, min: 1 }) ?? '',
    };
  });
  const to = readArray(ctx, spec.to, ['spec', 'to'], 16).map((t, i) => {
    const p = ['spec', 'to', i];
    const obj = readObject(ctx, t, p) ?? {};
    const name = readString(ctx, obj.name, [...p, 'name']);
    return {
      group: readString(ctx, obj.group, [...p, 'group'], { required: true }) ?? '',
      kind: readString(ctx, obj.kind, [...p, 'kind'], { required: true, min: 1 }) ?? '',
      ...(name ? { name } : {}),
    };
  });
  if (from.length === 0) reject(ctx, ['spec', 'from'], 'spec.from needs at least one entry');
  if (to.length === 0) reject(ctx, ['spec', 'to'], 'spec.to needs at least one entry');
  if (!ctx.ok) return undefined;
  return { namespace: o.metadata.namespace, from, to };
}

/**
 * Whether a reference from `from` (a route or Gateway) to an object in another namespace is
 * allowed by a ReferenceGrant in the target's namespace (EG validateCrossNamespaceRef).
 */
export function referenceAllowed(
  grants: readonly gwapi.ReferenceGrant[],
  from: { group: string; kind: string; namespace: string },
  to: { group: string; kind: string; namespace: string; name: string },
): boolean {
  if (from.namespace === to.namespace) return true;
  return grants.some(
    (g) =>
      g.namespace === to.namespace &&
      g.from.some((f) => f.group === from.group && f.kind === from.kind && f.namespace === from.namespace) &&
      g.to.some((t) => t.group === to.group && t.kind === to.kind && (t.name === undefined || t.name === to.name)),
  );
}
