/**
 * Route attachment (config-apis.md 1.4, 1.5, 1.13): for each parentRef, the listeners it selects
 * (sectionName, port), those that allow the route (namespace, kind), the effective host names on
 * each (listener ∩ route, minus what a more specific sibling listener serves), and the parent's
 * status conditions.
 */
import type { Diagnostics } from '../../model.js';
import type { RouteRules } from './build-rules.js';
import { CODES, condition, GROUP, type Condition } from './codes.js';
import type { GatewayCtx, ListenerCtx } from './gateways.js';
import { computeHosts, isolateHosts } from './hostnames.js';
import { matchesSelector } from './parse-gateway.js';
import { generationOf, parentName, type StatusEntry } from './status.js';
import type * as gwapi from './types.js';

/** A listener a route is attached to, with its effective host names there. */
export type Attachment = { listener: ListenerCtx; hosts: string[] };

export type AttachInputs = {
  gateways: ReadonlyMap<string, GatewayCtx>;
  /** Gateways of other controllers (or of classes not served): parentRefs to them are not ours. */
  foreignGateways: ReadonlySet<string>;
  namespaceLabels: (namespace: string) => Record<string, string>;
  defaultControllerName: string;
  diags: Diagnostics;
};

export type ParentResult = { status?: StatusEntry; attachments: Attachment[] };

export function attachParent(rr: RouteRules, ref: gwapi.ParentRef, input: AttachInputs): ParentResult {
  const route = rr.route;
  const path = ['spec', 'parentRefs', ref.index];
  const warn = (code: string, message: string) => input.diags.warning(code, message, { object: route.object, path });
  if (ref.group !== GROUP || ref.kind !== 'Gateway') {
    warn(
      CODES.UNSUPPORTED_PARENT,
      `parentRef to ${ref.group}/${ref.kind} ${ref.namespace}/${ref.name} is not supported: only Gateways are`,
    );
    return { attachments: [] };
  }
  const gatewayRef = `Gateway/${ref.namespace}/${ref.name}`;
  const parentRef = {
    group: ref.group,
    kind: ref.kind,
    namespace: ref.namespace,
    name: ref.name,
    ...(ref.sectionName !== undefined ? { sectionName: ref.sectionName } : {}),
    ...(ref.port !== undefined ? { port: ref.port } : {}),
  };
  const g = input.gateways.get(gatewayRef);
  if (!g && input.foreignGateways.has(gatewayRef)) return { attachments: [] };
  const conditions: Condition[] = [];
  const status: StatusEntry = {
    object: route.ref,
    parent: parentName(parentRef),
    ...generationOf(route.object),
    parentRef,
    controllerName: g?.gatewayClass.controllerName ?? input.defaultControllerName,
    conditions,
  };
  const resolved =
    rr.refErrors.length === 0
      ? condition('ResolvedRefs', 'True', 'ResolvedRefs', 'Resolved all the Object references for the Route')
      : condition('ResolvedRefs', 'False', rr.refErrors[0]!.reason, rr.refErrors.map((e) => e.message).join('; '));
  const refuse = (code: string, reason: string, message: string, diagMessage = message): ParentResult => {
    warn(code, diagMessage);
    conditions.push(condition('Accepted', 'False', reason, message), resolved);
    return { status, attachments: [] };
  };
  if (!g) return refuse(CODES.NO_MATCHING_PARENT, 'NoMatchingParent', `parent Gateway ${ref.namespace}/${ref.name} not found`);

  const selected = g.listeners.filter(
    (l) => (ref.sectionName === undefined || l.spec.name === ref.sectionName) && (ref.port === undefined || l.spec.port === ref.port),
  );
  if (selected.length === 0)
    return refuse(
      CODES.NO_MATCHING_PARENT,
      'NoMatchingParent',
      'No listeners match this parent ref',
      `No listeners of ${gatewayRef} match this parent ref${describeSelection(ref)}`,
    );
  const allowed = selected.filter((l) => allowsKind(l, route.kind) && allowsNamespace(l, route.namespace, input));
  if (allowed.length === 0)
    return refuse(
      CODES.NOT_ALLOWED_BY_LISTENERS,
      'NotAllowedByListeners',
      'No listeners included by this parent ref allowed this attachment.',
      `No listeners of ${gatewayRef} selected by this parent ref allow a ${route.kind} from namespace ${route.namespace}`,
    );
  const attachments: Attachment[] = [];
  for (const l of allowed) {
    const siblings = g.listeners.filter((s) => s !== l && s.ready && s.spec.port === l.spec.port).map((s) => s.spec.hostname);
    const hosts = isolateHosts(computeHosts(route.hostnames, l.spec.hostname), l.spec.hostname, siblings);
    if (hosts.length > 0) attachments.push({ listener: l, hosts });
  }
  if (attachments.length === 0)
    return refuse(
      CODES.NO_MATCHING_LISTENER_HOSTNAME,
      'NoMatchingListenerHostname',
      `There were no hostname intersections between the ${route.kind} and this parent ref's Listener(s).`,
    );
  if (rr.rules.length === 0 && rr.dropped.length > 0) {
    const message = dropMessage(rr);
    return refuse(CODES.UNSUPPORTED_VALUE, 'UnsupportedValue', message);
  }
  conditions.push(condition('Accepted', 'True', 'Accepted', 'Route is accepted'), resolved);
  if (rr.dropped.length > 0) conditions.push(condition('PartiallyInvalid', 'True', 'UnsupportedValue', dropMessage(rr)));
  return { status, attachments };
}

function dropMessage(rr: RouteRules): string {
  return rr.dropped.map((d) => `Dropped Rule ${d.index}: ${d.message}`).join('; ');
}

function describeSelection(ref: gwapi.ParentRef): string {
  const parts: string[] = [];
  if (ref.sectionName !== undefined) parts.push(`sectionName "${ref.sectionName}"`);
  if (ref.port !== undefined) parts.push(`port ${ref.port}`);
  return parts.length > 0 ? ` (${parts.join(' and ')})` : '';
}

function allowsKind(l: ListenerCtx, kind: gwapi.RouteKind): boolean {
  return l.supportedKinds.some((k) => k.group === GROUP && k.kind === kind);
}

function allowsNamespace(l: ListenerCtx, namespace: string, input: AttachInputs): boolean {
  const a = l.spec.allowedRoutes;
  switch (a.from) {
    case 'All':
      return true;
    case 'Same':
      return namespace === l.gateway.namespace;
    case 'Selector':
      return a.selector !== undefined && matchesSelector(a.selector, input.namespaceLabels(namespace));
  }
}
