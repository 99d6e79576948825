/**
 * GatewayClass, Gateway and ReferenceGrant objects: checked by their schemas (schema.ts; config-apis.md
 * 1.2, 1.3, 1.10, section 6 #1-#4), then kubebuilder defaults applied. Invalid objects are reported
 * and come back undefined.
 */
import type { Diagnostics, LoadedObject } from '../../model.js';
import { objectRef } from '../../model.js';
import type { LabelSelector } from '../../schema/k8s.js';
import { GROUP } from './codes.js';
import { checkSpec, type Path } from './read.js';
import { GatewayClassSpec, GatewaySpec, ReferenceGrantSpec, type GatewayListener } from './schema.js';
import type * as gwapi from './types.js';

export function parseGatewayClass(o: LoadedObject, diags: Diagnostics): gwapi.GatewayClass | undefined {
  const spec = checkSpec(o, GatewayClassSpec, diags);
  if (!spec) return undefined;
  const p = spec.parametersRef;
  return {
    object: o,
    name: o.metadata.name,
    controllerName: spec.controllerName,
    ...(p
      ? { parametersRef: { group: p.group, kind: p.kind, name: p.name, ...(p.namespace !== undefined ? { namespace: p.namespace } : {}) } }
      : {}),
  };
}

export function parseGateway(o: LoadedObject, diags: Diagnostics): gwapi.Gateway | undefined {
  const spec = checkSpec(o, GatewaySpec, diags);
  if (!spec) return undefined;
  const listeners = spec.listeners.map((l, i) => listener(o, l, ['spec', 'listeners', i], i));
  return {
    object: o,
    namespace: o.metadata.namespace,
    name: o.metadata.name,
    ref: objectRef(o),
    className: spec.gatewayClassName,
    listeners,
  };
}

/** A checked listener with the kubebuilder defaults: TLS mode Terminate, Secret refs, routes from the same namespace. */
function listener(o: LoadedObject, l: GatewayListener, path: Path, index: number): gwapi.Listener {
  const tls: gwapi.Listener['tls'] = l.tls && {
    mode: l.tls.mode === 'Passthrough' ? 'Passthrough' : 'Terminate',
    certificateRefs: (l.tls.certificateRefs ?? []).map((r) => ({
      group: r.group ?? '',
      kind: r.kind ?? 'Secret',
      name: r.name,
      namespace: r.namespace ?? o.metadata.namespace,
    })),
  };
  const ns = l.allowedRoutes?.namespaces;
  const from = (ns?.from ?? 'Same') as gwapi.Listener['allowedRoutes']['from'];
  const kinds = l.allowedRoutes?.kinds?.map((k) => ({ group: k.group ?? GROUP, kind: k.kind }));
  return {
    name: l.name,
    index,
    path,
    ...(l.hostname !== undefined ? { hostname: l.hostname } : {}),
    port: l.port,
    protocol: l.protocol,
    ...(tls ? { tls } : {}),
    allowedRoutes: {
      from,
      ...(from === 'Selector' && ns?.selector ? { selector: labelSelector(ns.selector) } : {}),
      ...(kinds && kinds.length > 0 ? { kinds } : {}),
    },
  };
}

function labelSelector(s: LabelSelector): gwapi.LabelSelector {
  return {
    matchLabels: { ...(s.matchLabels ?? {}) },
    matchExpressions: (s.matchExpressions ?? []).map((e) => ({ key: e.key, operator: e.operator, values: e.values ?? [] })),
  };
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
  const spec = checkSpec(o, ReferenceGrantSpec, diags);
  if (!spec) return undefined;
  return {
    namespace: o.metadata.namespace,
    from: spec.from.map((f) => ({ group: f.group, kind: f.kind, namespace: f.namespace })),
    to: spec.to.map((t) => ({ group: t.group, kind: t.kind, ...(t.name ? { name: t.name } : {}) })),
  };
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
