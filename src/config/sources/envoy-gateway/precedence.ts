/**
 * BackendTrafficPolicy attachment, precedence and merging (config-apis.md 2.2; Envoy Gateway
 * `ProcessBackendTrafficPolicies` in internal/gatewayapi/backendtrafficpolicy.go), as pure functions
 * over the policies and a description of what they can attach to.
 *
 * Policies are taken oldest first (creationTimestamp, then namespace/name) and processed level by
 * level, most specific first: route rule (route target with sectionName), route, ListenerSet
 * listener, ListenerSet, Gateway listener (Gateway with sectionName), Gateway. The first policy to
 * reach a routed place wins it:
 * - HTTP/gRPC routes take the winning policy as a whole (no field-level merge). A less specific
 *   policy that finds the place taken is `Overridden`.
 * - A route (or rule) policy with `mergeType` is merged into the closest parent policy of each
 *   listener it is served on (Gateway listener, then Gateway; for ListenerSet listeners: the
 *   ListenerSet listener, the ListenerSet, then the Gateway) and reports `Merged`.
 * - An invalid policy (`Accepted=False/Invalid`) turns the HTTP routes it would win into a direct
 *   500; the place stays open, so a less specific valid policy still fills in its settings.
 * - TCP routes take each feature from the first policy that sets it; UDP routes take only the load
 *   balancer.
 * - A second policy on the same target and level is `Accepted=False/Conflicted`; a sectionName that
 *   names no listener or rule is `Accepted=False/TargetNotFound`; a missing target object is ignored
 *   without status (a warning here).
 */
import { Diagnostics, type LoadedObject } from '../../model.js';
import type { Diagnostic } from '../../../ir/diagnostic.js';
import { buildTrafficFeatures, type TrafficFeatures } from './build-traffic-features.js';
import { mergePolicies, type MergeType } from './merge-policy.js';
import { checkValue } from '../../schema/check.js';
import type { z } from 'zod';
import { BackendTrafficPolicySpec, PolicyTargets, ROUTE_KINDS, type TargetRef } from './schema.js';
import type { LabelSelector } from '../../schema/k8s.js';
import { EG_CODES, reportProblems, type Feature } from './spec-reader.js';

export { TARGET_GROUP as GATEWAY_GROUP, ROUTE_KINDS, TARGET_KINDS } from './schema.js';
export type RouteKind = (typeof ROUTE_KINDS)[number];

export type NamespacedName = { namespace: string; name: string };
type Labels = Record<string, string>;

/** Where a route attached: one parentRef (Gateway or ListenerSet) and the listeners it landed on. */
export type RouteParent = {
  kind: 'Gateway' | 'ListenerSet';
  namespace: string;
  name: string;
  sectionName?: string;
  /** Listener names (of the Gateway, or of the ListenerSet) the route was attached to through this parentRef. */
  listeners: string[];
};

export type WorldRoute = {
  kind: RouteKind;
  namespace: string;
  name: string;
  labels?: Labels;
  creationTimestamp?: string;
  /** Rule names by rule index (undefined for unnamed rules). */
  ruleNames: (string | undefined)[];
  /** The parentRefs to Gateways (and ListenerSets) served here. */
  parents: RouteParent[];
};

/** What BackendTrafficPolicies can attach to, as the Gateway API translator resolved it. */
export type AttachmentWorld = {
  gateways: { namespace: string; name: string; labels?: Labels; creationTimestamp?: string; listeners: string[] }[];
  listenerSets?: {
    namespace: string;
    name: string;
    labels?: Labels;
    creationTimestamp?: string;
    gateway: NamespacedName;
    listeners: string[];
  }[];
  routes: WorldRoute[];
  /** Namespace labels, for targetSelectors with `namespaces.from: Selector`. */
  namespaceLabels?: Record<string, Labels>;
  /** Whether a ReferenceGrant lets a policy in `from` select the target (cross-namespace selectors). Default: no. */
  referenceGrantAllows?: (from: string, target: { kind: string; namespace: string; name: string }) => boolean;
};

/** One routed place: a route rule served on one listener (one Envoy Gateway IR route). */
export type TrafficTarget = {
  route: { kind: RouteKind; namespace: string; name: string };
  ruleIndex: number;
  ruleName?: string;
  gateway: NamespacedName;
  /** Set when the listener belongs to a ListenerSet. */
  listenerSet?: NamespacedName;
  listener: string;
  protocol: 'http' | 'tcp' | 'udp';
};

export type Condition = {
  type: 'Accepted' | 'Overridden' | 'Merged' | 'Warning';
  status: 'True' | 'False';
  reason: string;
  message: string;
};
export type AncestorStatus = { ancestor: string; conditions: Condition[] };
export type PolicyStatus = { kind: 'BackendTrafficPolicy' | 'ClientTrafficPolicy'; policy: string; ancestors: AncestorStatus[] };

export type AppliedPolicy = {
  /** Policies whose settings reach the target, in the order applied (merged policies carry the route policy's name). */
  applied: string[];
  /** The effective features (HTTP: all of the winning policy's; TCP: per feature; UDP: load balancer only). */
  features: Omit<TrafficFeatures, 'error'>;
  /** Which policy (`namespace/name`) each feature came from. */
  sources: Partial<Record<Feature, string>>;
  /** Set when a policy that reached this HTTP route is invalid: Envoy Gateway answers 500 here. */
  directResponse?: { status: 500; policy: string; message: string };
};

export type PolicyResolution = {
  /** Status per policy, in processing order (Envoy Gateway's `status.ancestors`). */
  statuses: PolicyStatus[];
  /** The settings that apply to one routed place. */
  apply(target: TrafficTarget): AppliedPolicy;
};

type Ref = { kind: string; namespace: string; name: string; sectionName?: string };
type Policy = {
  btp: LoadedObject;
  id: string;
  refs: Ref[];
  selectors: Selector[];
  mergeType?: MergeType;
  deprecated: string[];
};
export type Selector = {
  kind: string;
  matchLabels: Labels;
  matchExpressions: { key: string; operator: string; values: string[] }[];
  from: string;
  nsSelector?: LabelSelector;
};

const nn = (o: { namespace: string; name: string }) => `${o.namespace}/${o.name}`;

/** Oldest first, then namespace/name: the order Envoy Gateway's provider hands policies over in. */
export function sortPolicies(policies: readonly LoadedObject[]): LoadedObject[] {
  return [...policies].sort((a, b) => {
    const ta = a.metadata.creationTimestamp ?? '';
    const tb = b.metadata.creationTimestamp ?? '';
    if (ta !== tb) return ta < tb ? -1 : 1;
    if (a.metadata.namespace !== b.metadata.namespace) return a.metadata.namespace < b.metadata.namespace ? -1 : 1;
    return a.metadata.name < b.metadata.name ? -1 : a.metadata.name > b.metadata.name ? 1 : 0;
  });
}

/**
 * Reads a policy's targets (targetRef / targetRefs / targetSelectors) and mergeType, checked by
 * `schema`: the targets' CEL rules alone by default (any policy kind), or a kind's whole spec
 * (BackendTrafficPolicySpec: its fields and spec-level rules; the feature blocks are the builders').
 * Returns undefined when the policy would be refused by the API server.
 */
export function readPolicyTargets(
  btp: LoadedObject,
  diags: Diagnostics,
  schema: typeof PolicyTargets | typeof BackendTrafficPolicySpec = PolicyTargets,
): Omit<Policy, 'btp' | 'id'> | undefined {
  const raw = btp.body['spec'] ?? {};
  const { data: spec, problems } = checkValue<z.ZodType<PolicyTargets & { compression?: unknown[] | undefined }>>(schema, raw, {
    base: ['spec'],
    caseInsensitive: true,
  });
  if (reportProblems(btp, diags, problems, EG_CODES.POLICY_INVALID) || !spec) return undefined;
  const deprecated: string[] = [];
  const refs: Ref[] = [];
  const addRef = (r: TargetRef) =>
    refs.push({ kind: r.kind, namespace: btp.metadata.namespace, name: r.name, ...(r.sectionName ? { sectionName: r.sectionName } : {}) });
  if (spec.targetRef) {
    deprecated.push('spec.targetRef');
    addRef(spec.targetRef);
  } else (spec.targetRefs ?? []).forEach(addRef);
  if ((spec.compression ?? []).length > 0) deprecated.push('spec.compression');
  const selectors: Selector[] = (spec.targetSelectors ?? []).map((s) => {
    const ns = s.namespaces;
    return {
      kind: s.kind,
      matchLabels: { ...(s.matchLabels ?? {}) },
      matchExpressions: (s.matchExpressions ?? []).map((e) => ({ key: e.key, operator: e.operator, values: e.values ?? [] })),
      from: ns?.from ?? 'Same',
      ...(ns?.selector ? { nsSelector: ns.selector } : {}),
    };
  });
  const mergeType = spec.mergeType as MergeType | undefined;
  return { refs, selectors, deprecated, ...(mergeType ? { mergeType } : {}) };
}

// ---- scopes (Envoy Gateway's policyScopeGraph) ----

type ScopeKind = 'Gateway' | 'GatewayListener' | 'ListenerSet' | 'ListenerSetListener' | 'Route' | 'RouteRule';
type Scope = { kind: ScopeKind; nn: string; section?: string; routeKind?: string };
const scopeKey = (s: Scope) => `${s.kind}|${s.routeKind ?? ''}|${s.nn}|${s.section ?? ''}`;
type ScopeSet = Map<string, Scope>;
type ScopeGraph = { children: Map<string, ScopeSet>; containment: Map<string, ScopeSet> };

function newGraph(): ScopeGraph {
  return { children: new Map(), containment: new Map() };
}
function insert(map: Map<string, ScopeSet>, parent: Scope, child: Scope): void {
  const k = scopeKey(parent);
  let set = map.get(k);
  if (!set) map.set(k, (set = new Map()));
  set.set(scopeKey(child), child);
}
function resourceScope(s: Scope): Scope {
  const kind: ScopeKind =
    s.kind === 'GatewayListener' ? 'Gateway' : s.kind === 'ListenerSetListener' ? 'ListenerSet' : s.kind === 'RouteRule' ? 'Route' : s.kind;
  return { kind, nn: s.nn, ...(s.routeKind ? { routeKind: s.routeKind } : {}) };
}
function addEdge(g: ScopeGraph, parent: Scope, child: Scope): void {
  insert(g.children, parent, child);
  if (parent.kind === 'GatewayListener' || parent.kind === 'ListenerSetListener' || parent.kind === 'RouteRule')
    insert(g.containment, resourceScope(parent), parent);
}
function directChildren(g: ScopeGraph, parent: Scope): ScopeSet {
  return new Map(g.children.get(scopeKey(parent)) ?? []);
}
function withDescendants(g: ScopeGraph, parent: Scope): ScopeSet {
  const out = directChildren(g, parent);
  const addAll = (s: Scope) => {
    for (const [k, c] of g.children.get(scopeKey(s)) ?? []) out.set(k, c);
  };
  if (parent.kind === 'Gateway' || parent.kind === 'ListenerSet' || parent.kind === 'Route') {
    for (const desc of g.containment.get(scopeKey(parent))?.values() ?? []) {
      addAll(desc);
      if (desc.kind === 'ListenerSet') for (const sub of g.containment.get(scopeKey(desc))?.values() ?? []) addAll(sub);
    }
  } else if (parent.kind === 'GatewayListener' || parent.kind === 'ListenerSetListener') {
    for (const [k, c] of g.children.get(scopeKey(resourceScope(parent))) ?? []) if (c.kind === 'Route') out.set(k, c);
  }
  return out;
}
/** "these gateway listeners: [...] and these routes: [...]" (Envoy Gateway `formatPolicyScopes`). */
function formatScopes(scopes: ScopeSet): string {
  const labels: [ScopeKind, string][] = [
    ['GatewayListener', 'these gateway listeners'],
    ['ListenerSet', 'these listenersets'],
    ['ListenerSetListener', 'these listenerset listeners'],
    ['Route', 'these routes'],
    ['RouteRule', 'these route rules'],
  ];
  const parts: string[] = [];
  for (const [kind, label] of labels) {
    const list = [...scopes.values()]
      .filter((s) => s.kind === kind)
      .map((s) => (s.section ? `${s.nn}/${s.section}` : s.nn))
      .sort();
    if (list.length > 0) parts.push(`${label}: [${list.join(' ')}]`);
  }
  return parts.join(' and ');
}

// ---- status ----

type StatusBook = Map<string, Map<string, Condition[]>>;

function setCondition(book: StatusBook, policy: string, ancestor: string, c: Condition): void {
  let anc = book.get(policy);
  if (!anc) book.set(policy, (anc = new Map()));
  let list = anc.get(ancestor);
  if (!list) anc.set(ancestor, (list = []));
  const i = list.findIndex((x) => x.type === c.type);
  if (i >= 0) list[i] = c;
  else list.push(c);
}
function hasCondition(book: StatusBook, policy: string, ancestor: string, type: Condition['type']): boolean {
  return (
    book
      .get(policy)
      ?.get(ancestor)
      ?.some((c) => c.type === type) ?? false
  );
}
const ACCEPTED: Condition = { type: 'Accepted', status: 'True', reason: 'Accepted', message: 'Policy has been accepted.' };

function deprecationMessage(fields: string[]): string {
  const alt: Record<string, string> = { 'spec.targetRef': 'spec.targetRefs', 'spec.compression': 'spec.compressor' };
  return [...fields]
    .sort()
    .map((f) => `${f} is deprecated, use ${alt[f]} instead`)
    .join('; ');
}

export function labelsMatch(sel: Selector, labels: Labels): boolean {
  for (const [k, v] of Object.entries(sel.matchLabels)) if (labels[k] !== v) return false;
  for (const e of sel.matchExpressions) {
    const has = Object.hasOwn(labels, e.key);
    const v = labels[e.key];
    if (e.operator === 'In' && !(has && e.values.includes(v!))) return false;
    if (e.operator === 'NotIn' && has && e.values.includes(v!)) return false;
    if (e.operator === 'Exists' && !has) return false;
    if (e.operator === 'DoesNotExist' && has) return false;
  }
  return true;
}

const TCP_FEATURES: readonly Feature[] = ['loadBalancer', 'healthCheck', 'circuitBreaker', 'tcpKeepalive', 'timeout', 'connection'];
const UDP_FEATURES: readonly Feature[] = ['loadBalancer'];

/**
 * Resolves every policy against the world: statuses for all of them, and `apply` for the settings
 * of any routed place. Builder diagnostics of each policy (and of merged policies) go to `diags`.
 */
export function resolveBackendTrafficPolicies(
  policies: readonly LoadedObject[],
  world: AttachmentWorld,
  diags: Diagnostics,
): PolicyResolution {
  const sorted: Policy[] = [];
  for (const btp of sortPolicies(policies)) {
    const t = readPolicyTargets(btp, diags, BackendTrafficPolicySpec);
    if (t) sorted.push({ btp, id: nn(btp.metadata), ...t });
  }
  const gateways = new Map(world.gateways.map((g) => [nn(g), g]));
  const listenerSets = new Map((world.listenerSets ?? []).map((l) => [nn(l), l]));
  const routes = new Map(world.routes.map((r) => [`${r.kind}/${nn(r)}`, r]));

  // Built features, once per policy and once per (parent, child) merge.
  const built = new Map<string, TrafficFeatures>();
  const features = (p: Policy): TrafficFeatures => {
    let f = built.get(p.id);
    if (!f) built.set(p.id, (f = buildTrafficFeatures(p.btp, diags)));
    return f;
  };
  const seen = new Set(diags.items.map(diagKey));
  const mergedFeatures = (parent: Policy, child: Policy): TrafficFeatures => {
    const key = `${parent.id} <- ${child.id}`;
    let f = built.get(key);
    if (!f) {
      features(parent);
      features(child);
      for (const d of diags.items) seen.add(diagKey(d));
      const local = new Diagnostics();
      f = buildTrafficFeatures(mergePolicies(parent.btp, child.btp, child.mergeType!), local);
      for (const d of local.items) {
        if (seen.has(diagKey(d))) continue;
        seen.add(diagKey(d));
        diags.items.push(d);
      }
      built.set(key, f);
    }
    return f;
  };

  // Every policy is validated, attached or not, so `legate validate` reports all of them.
  for (const p of sorted) features(p);

  // Resolved target refs per policy: selector matches (oldest object first), then the plain refs.
  const resolveRefs = (
    p: Policy,
    candidates: { kind: string; namespace: string; name: string; labels?: Labels; creationTimestamp?: string }[],
  ): Ref[] => {
    const found: { ref: Ref; ts: string }[] = [];
    for (const s of p.selectors)
      for (const c of candidates) {
        if (c.kind !== s.kind || !labelsMatch(s, c.labels ?? {})) continue;
        const ns = p.btp.metadata.namespace;
        if (s.from === 'Same' && c.namespace !== ns) continue;
        if (s.from === 'Selector') {
          const ml = s.nsSelector?.matchLabels ?? {};
          if (!labelsMatch({ ...s, matchLabels: ml, matchExpressions: [] }, world.namespaceLabels?.[c.namespace] ?? {})) continue;
        }
        if (c.namespace !== ns && !(world.referenceGrantAllows?.(ns, c) ?? false)) continue;
        if (!found.some((f) => f.ref.kind === c.kind && nn(f.ref) === nn(c)))
          found.push({ ref: { kind: c.kind, namespace: c.namespace, name: c.name }, ts: c.creationTimestamp ?? '' });
      }
    found.sort((a, b) => (a.ts < b.ts ? -1 : a.ts > b.ts ? 1 : 0));
    const out = found.map((f) => f.ref);
    for (const r of p.refs) if (!out.some((o) => o.kind === r.kind && nn(o) === nn(r) && o.sectionName === r.sectionName)) out.push(r);
    return out;
  };
  const routeCandidates = world.routes.map((r) => ({ ...r }));
  const gatewayCandidates = world.gateways.map((g) => ({ kind: 'Gateway', ...g }));
  const lsCandidates = (world.listenerSets ?? []).map((l) => ({ kind: 'ListenerSet', ...l }));

  const missing = new Set<string>();
  const notFound = (p: Policy, ref: Ref) => {
    const k = `${p.id}|${ref.kind}/${nn(ref)}`;
    if (missing.has(k)) return;
    missing.add(k);
    diags.warning(
      EG_CODES.TARGET_NOT_FOUND,
      `target ${ref.kind} ${nn(ref)} does not exist; the policy does not apply there (Envoy Gateway reports nothing)`,
      { object: p.btp, path: ['spec'] },
      'check the target kind, name and that it lives in the policy namespace',
    );
  };

  // Parent policy maps for merging: the first policy per Gateway[/listener] and ListenerSet[/listener].
  const gwPolicy = new Map<string, Policy>();
  const lsPolicy = new Map<string, Policy>();
  for (const p of sorted) {
    for (const ref of resolveRefs(p, gatewayCandidates)) {
      if (ref.kind !== 'Gateway') continue;
      const g = gateways.get(nn(ref));
      if (!g || (ref.sectionName && !g.listeners.includes(ref.sectionName))) continue;
      const k = ref.sectionName ? `${nn(ref)}#${ref.sectionName}` : nn(ref);
      if (!gwPolicy.has(k)) gwPolicy.set(k, p);
    }
    for (const ref of resolveRefs(p, lsCandidates)) {
      if (ref.kind !== 'ListenerSet') continue;
      const l = listenerSets.get(nn(ref));
      if (!l || (ref.sectionName && !l.listeners.includes(ref.sectionName))) continue;
      const k = ref.sectionName ? `${nn(ref)}#${ref.sectionName}` : nn(ref);
      if (!lsPolicy.has(k)) lsPolicy.set(k, p);
    }
  }

  const book: StatusBook = new Map();
  const order: string[] = [];
  const touch = (p: Policy) => {
    if (!order.includes(p.id)) order.push(p.id);
  };
  const overrides = newGraph();
  const merged = newGraph();
  // Attachments that won their target.
  const ruleLevel = new Map<string, Policy>();
  const routeLevel = new Map<string, Policy>();
  const lsListenerLevel = new Map<string, Policy>();
  const lsLevel = new Map<string, Policy>();
  const gwListenerLevel = new Map<string, Policy>();
  const gwLevel = new Map<string, Policy>();
  const attachedRules = new Map<string, Set<string>>();

  const notAttached = (p: Policy, ancestor: string, reason: string, message: string) =>
    diags.warning(EG_CODES.POLICY_NOT_ATTACHED, `${reason} on ${ancestor}: ${message}`, { object: p.btp, path: ['spec'] });

  const processRoute = (p: Policy, ref: Ref) => {
    const route = routes.get(`${ref.kind}/${nn(ref)}`);
    if (!route) {
      if ((ROUTE_KINDS as readonly string[]).includes(ref.kind)) notFound(p, ref);
      return;
    }
    touch(p);
    const rkey = `${route.kind}/${nn(route)}`;
    const routeScope: Scope = { kind: 'Route', nn: nn(route), routeKind: route.kind };
    const ancestors: string[] = [];
    const parentCtx: { parent: RouteParent; gateway: NamespacedName }[] = [];
    for (const parent of route.parents) {
      const pn = nn(parent);
      if (parent.kind === 'Gateway') {
        if (!gateways.has(pn)) continue;
        addEdge(
          overrides,
          parent.sectionName ? { kind: 'GatewayListener', nn: pn, section: parent.sectionName } : { kind: 'Gateway', nn: pn },
          routeScope,
        );
        ancestors.push(`Gateway ${pn}${parent.sectionName ? `#${parent.sectionName}` : ''}`);
        parentCtx.push({ parent, gateway: parent });
      } else {
        const ls = listenerSets.get(pn);
        if (!ls) continue;
        insert(overrides.containment, { kind: 'Gateway', nn: nn(ls.gateway) }, { kind: 'ListenerSet', nn: pn });
        addEdge(
          overrides,
          parent.sectionName ? { kind: 'ListenerSetListener', nn: pn, section: parent.sectionName } : { kind: 'ListenerSet', nn: pn },
          routeScope,
        );
        ancestors.push(`ListenerSet ${pn}${parent.sectionName ? `#${parent.sectionName}` : ''}`);
        parentCtx.push({ parent, gateway: ls.gateway });
      }
    }
    const uniq = [...new Set(ancestors)];
    let resolveErr: { reason: string; message: string } | undefined;
    if (ref.sectionName !== undefined) {
      const rules = attachedRules.get(rkey) ?? new Set<string>();
      if (!route.ruleNames.includes(ref.sectionName))
        resolveErr = { reason: 'TargetNotFound', message: `No section name ${ref.sectionName} found for ${route.kind} ${nn(route)}` };
      else if (rules.has(ref.sectionName))
        resolveErr = {
          reason: 'Conflicted',
          message: `Unable to target RouteRule ${route.name}/${ref.sectionName}, another BackendTrafficPolicy has already attached to it`,
        };
      else {
        rules.add(ref.sectionName);
        attachedRules.set(rkey, rules);
        ruleLevel.set(`${rkey}#${ref.sectionName}`, p);
      }
    } else if (routeLevel.has(rkey)) {
      resolveErr = {
        reason: 'Conflicted',
        message: `Unable to target ${route.kind} ${route.name}, another BackendTrafficPolicy has already attached to it`,
      };
    } else routeLevel.set(rkey, p);
    if (resolveErr) {
      for (const a of uniq) {
        setCondition(book, p.id, a, { type: 'Accepted', status: 'False', ...resolveErr });
        notAttached(p, a, resolveErr.reason, resolveErr.message);
      }
      return;
    }
    if (!p.mergeType) {
      const f = features(p);
      if (f.error)
        for (const a of uniq) setCondition(book, p.id, a, { type: 'Accepted', status: 'False', reason: 'Invalid', message: f.error });
    } else {
      for (const { parent, gateway } of parentCtx) {
        for (const listener of parent.listeners) {
          let ancestor: string;
          let parentPolicy: Policy | undefined;
          let parentScope: Scope | undefined;
          const gw = nn(gateway);
          if (parent.kind === 'ListenerSet') {
            const ls = nn(parent);
            ancestor = `ListenerSet ${ls}#${listener}`;
            if ((parentPolicy = lsPolicy.get(`${ls}#${listener}`)))
              parentScope = { kind: 'ListenerSetListener', nn: ls, section: listener };
            else if ((parentPolicy = lsPolicy.get(ls))) parentScope = { kind: 'ListenerSet', nn: ls };
            else if ((parentPolicy = gwPolicy.get(gw))) parentScope = { kind: 'Gateway', nn: gw };
          } else {
            ancestor = `Gateway ${gw}#${listener}`;
            if ((parentPolicy = gwPolicy.get(`${gw}#${listener}`))) parentScope = { kind: 'GatewayListener', nn: gw, section: listener };
            else if ((parentPolicy = gwPolicy.get(gw))) parentScope = { kind: 'Gateway', nn: gw };
          }
          if (!parentPolicy || !parentScope) {
            const f = features(p);
            if (f.error) setCondition(book, p.id, ancestor, { type: 'Accepted', status: 'False', reason: 'Invalid', message: f.error });
            continue;
          }
          const f = mergedFeatures(parentPolicy, p);
          if (f.error) {
            setCondition(book, p.id, ancestor, { type: 'Accepted', status: 'False', reason: 'Invalid', message: f.error });
            continue;
          }
          addEdge(merged, parentScope, routeScope);
          setCondition(book, p.id, ancestor, {
            type: 'Merged',
            status: 'True',
            reason: 'Merged',
            message: `Merged with policy ${parentPolicy.id}`,
          });
        }
      }
    }
    for (const a of uniq) if (!hasCondition(book, p.id, a, 'Accepted')) setCondition(book, p.id, a, ACCEPTED);
    if (p.deprecated.length > 0)
      for (const a of uniq)
        setCondition(book, p.id, a, {
          type: 'Warning',
          status: 'True',
          reason: 'DeprecatedField',
          message: deprecationMessage(p.deprecated),
        });
    if (ref.sectionName === undefined) {
      const rules = [...(attachedRules.get(rkey) ?? [])].sort();
      if (rules.length > 0)
        for (const a of uniq)
          setCondition(book, p.id, a, {
            type: 'Overridden',
            status: 'True',
            reason: 'Overridden',
            message: `This policy is being overridden by other backendTrafficPolicy for these route rules: [${rules.join(' ')}]`,
          });
    }
  };

  const finishParent = (p: Policy, ancestor: string, own: Scope, deprecatedFirst: boolean) => {
    if (!hasCondition(book, p.id, ancestor, 'Accepted')) setCondition(book, p.id, ancestor, ACCEPTED);
    const warnDeprecated = () => {
      if (p.deprecated.length > 0)
        setCondition(book, p.id, ancestor, {
          type: 'Warning',
          status: 'True',
          reason: 'DeprecatedField',
          message: deprecationMessage(p.deprecated),
        });
    };
    if (deprecatedFirst) warnDeprecated();
    const mergedScopes = directChildren(merged, own);
    const overridden = withDescendants(overrides, own);
    for (const k of mergedScopes.keys()) overridden.delete(k);
    const mergedMsg = formatScopes(mergedScopes);
    const overriddenMsg = formatScopes(overridden);
    if (mergedMsg)
      setCondition(book, p.id, ancestor, {
        type: 'Merged',
        status: 'True',
        reason: 'Merged',
        message: `This policy is being merged by other backendTrafficPolicies for ${mergedMsg}`,
      });
    if (overriddenMsg)
      setCondition(book, p.id, ancestor, {
        type: 'Overridden',
        status: 'True',
        reason: 'Overridden',
        message: `This policy is being overridden by other backendTrafficPolicies for ${overriddenMsg}`,
      });
    if (!deprecatedFirst) warnDeprecated();
  };

  const processListenerSet = (p: Policy, ref: Ref) => {
    const ls = listenerSets.get(nn(ref));
    if (!ls) return notFound(p, ref);
    if (!gateways.has(nn(ls.gateway))) return;
    touch(p);
    const lsn = nn(ls);
    const ancestor = `ListenerSet ${lsn}${ref.sectionName ? `#${ref.sectionName}` : ''}`;
    const resolveErr = parentClaimError('ListenerSet', ref.sectionName, ls.listeners, lsLevel, lsListenerLevel, lsn, ls.name, ls.name);
    if (resolveErr) {
      setCondition(book, p.id, ancestor, { type: 'Accepted', status: 'False', ...resolveErr });
      notAttached(p, ancestor, resolveErr.reason, resolveErr.message);
      return;
    }
    let own: Scope;
    if (ref.sectionName !== undefined) {
      lsListenerLevel.set(`${lsn}#${ref.sectionName}`, p);
      own = { kind: 'ListenerSetListener', nn: lsn, section: ref.sectionName };
      insert(overrides.containment, { kind: 'Gateway', nn: nn(ls.gateway) }, { kind: 'ListenerSet', nn: lsn });
      addEdge(overrides, { kind: 'ListenerSet', nn: lsn }, own);
    } else {
      lsLevel.set(lsn, p);
      own = { kind: 'ListenerSet', nn: lsn };
      addEdge(overrides, { kind: 'Gateway', nn: nn(ls.gateway) }, own);
    }
    const f = features(p);
    if (f.error) setCondition(book, p.id, ancestor, { type: 'Accepted', status: 'False', reason: 'Invalid', message: f.error });
    finishParent(p, ancestor, own, false);
  };

  const processGateway = (p: Policy, ref: Ref) => {
    const gw = gateways.get(nn(ref));
    if (!gw) return notFound(p, ref);
    touch(p);
    const gwn = nn(gw);
    const ancestor = `Gateway ${gwn}${ref.sectionName ? `#${ref.sectionName}` : ''}`;
    const resolveErr = parentClaimError('Gateway', ref.sectionName, gw.listeners, gwLevel, gwListenerLevel, gwn, gw.name, gwn);
    if (resolveErr) {
      setCondition(book, p.id, ancestor, { type: 'Accepted', status: 'False', ...resolveErr });
      notAttached(p, ancestor, resolveErr.reason, resolveErr.message);
      return;
    }
    let own: Scope;
    if (ref.sectionName !== undefined) {
      gwListenerLevel.set(`${gwn}#${ref.sectionName}`, p);
      own = { kind: 'GatewayListener', nn: gwn, section: ref.sectionName };
      addEdge(overrides, { kind: 'Gateway', nn: gwn }, own);
    } else {
      gwLevel.set(gwn, p);
      own = { kind: 'Gateway', nn: gwn };
    }
    const f = features(p);
    if (f.error) setCondition(book, p.id, ancestor, { type: 'Accepted', status: 'False', reason: 'Invalid', message: f.error });
    finishParent(p, ancestor, own, true);
  };

  const isRouteKind = (k: string) => (ROUTE_KINDS as readonly string[]).includes(k);
  // 1. route rules (plain refs only: selectors carry no sectionName), 2. routes,
  // 3. ListenerSet listeners, 4. ListenerSets, 5. Gateway listeners, 6. Gateways.
  for (const p of sorted) for (const ref of p.refs) if (isRouteKind(ref.kind) && ref.sectionName !== undefined) processRoute(p, ref);
  for (const p of sorted)
    for (const ref of resolveRefs(p, routeCandidates)) if (isRouteKind(ref.kind) && ref.sectionName === undefined) processRoute(p, ref);
  for (const p of sorted)
    for (const ref of p.refs) if (ref.kind === 'ListenerSet' && ref.sectionName !== undefined) processListenerSet(p, ref);
  for (const p of sorted)
    for (const ref of resolveRefs(p, lsCandidates))
      if (ref.kind === 'ListenerSet' && ref.sectionName === undefined) processListenerSet(p, ref);
  for (const p of sorted) for (const ref of p.refs) if (ref.kind === 'Gateway' && ref.sectionName !== undefined) processGateway(p, ref);
  for (const p of sorted)
    for (const ref of resolveRefs(p, gatewayCandidates))
      if (ref.kind === 'Gateway' && ref.sectionName === undefined) processGateway(p, ref);

  const statuses: PolicyStatus[] = order.map((id) => ({
    kind: 'BackendTrafficPolicy',
    policy: id,
    ancestors: [...(book.get(id) ?? new Map<string, Condition[]>()).entries()].map(([ancestor, conditions]) => ({ ancestor, conditions })),
  }));

  const apply = (t: TrafficTarget): AppliedPolicy => {
    const rkey = `${t.route.kind}/${nn(t.route)}`;
    const gw = nn(t.gateway);
    const ls = t.listenerSet ? nn(t.listenerSet) : undefined;
    // Candidates most specific first, each with the features it contributes here.
    const chain: { policy: Policy; f: () => TrafficFeatures }[] = [];
    const routePolicyFeatures = (p: Policy) => () => {
      if (!p.mergeType) return features(p);
      let parent: Policy | undefined;
      if (ls) parent = lsPolicy.get(`${ls}#${t.listener}`) ?? lsPolicy.get(ls) ?? gwPolicy.get(gw);
      else parent = gwPolicy.get(`${gw}#${t.listener}`) ?? gwPolicy.get(gw);
      return parent ? mergedFeatures(parent, p) : features(p);
    };
    const rule = t.ruleName !== undefined ? ruleLevel.get(`${rkey}#${t.ruleName}`) : undefined;
    if (rule) chain.push({ policy: rule, f: routePolicyFeatures(rule) });
    const route = routeLevel.get(rkey);
    if (route) chain.push({ policy: route, f: routePolicyFeatures(route) });
    if (ls) {
      const a = lsListenerLevel.get(`${ls}#${t.listener}`);
      if (a) chain.push({ policy: a, f: () => features(a) });
      const b = lsLevel.get(ls);
      if (b) chain.push({ policy: b, f: () => features(b) });
    } else {
      const c = gwListenerLevel.get(`${gw}#${t.listener}`);
      if (c) chain.push({ policy: c, f: () => features(c) });
    }
    const g = gwLevel.get(gw);
    if (g) chain.push({ policy: g, f: () => features(g) });

    const out: AppliedPolicy = { applied: [], features: {}, sources: {} };
    if (t.protocol === 'http') {
      for (const { policy, f } of chain) {
        const feats = f();
        if (feats.error) {
          out.directResponse ??= { status: 500, policy: policy.id, message: feats.error };
          continue;
        }
        const { error: _error, ...rest } = feats;
        out.features = rest;
        for (const k of Object.keys(rest) as Feature[]) out.sources[k] = policy.id;
        out.applied.push(policy.id);
        break;
      }
      return out;
    }
    const allowed = t.protocol === 'tcp' ? TCP_FEATURES : UDP_FEATURES;
    for (const { policy, f } of chain) {
      const feats = f();
      for (const k of allowed) {
        if (out.features[k] !== undefined || feats[k] === undefined) continue;
        (out.features as Record<Feature, unknown>)[k] = feats[k];
        out.sources[k] = policy.id;
      }
      if (t.protocol === 'tcp') out.applied.push(policy.id);
    }
    return out;
  };
  return { statuses, apply };
}

function diagKey(d: Diagnostic): string {
  return `${d.code}|${d.object ?? ''}|${d.field ?? ''}|${d.message}`;
}

/** `Gateway ns/name#section` -> ancestor parts, for callers that render status objects. */
export function parseAncestor(ancestor: string): { kind: string; namespace: string; name: string; sectionName?: string } {
  const [kind = '', rest = ''] = ancestor.split(' ');
  const [ref = '', sectionName] = rest.split('#');
  const [namespace = '', name = ''] = ref.split('/');
  return { kind, namespace, name, ...(sectionName ? { sectionName } : {}) };
}

/**
 * Why a policy cannot take a Gateway or ListenerSet (or one of its listeners): the section does not
 * exist, or an older policy holds that level. Envoy Gateway names the parent by `name` and the
 * listener by `listenerOwner/section` (the Gateway's namespace/name, the ListenerSet's name).
 */
function parentClaimError(
  kind: 'Gateway' | 'ListenerSet',
  section: string | undefined,
  listeners: readonly string[],
  level: ReadonlyMap<string, unknown>,
  listenerLevel: ReadonlyMap<string, unknown>,
  key: string,
  name: string,
  listenerOwner: string,
): { reason: string; message: string } | undefined {
  const taken = (what: string) => ({
    reason: 'Conflicted',
    message: `Unable to target ${what}, another BackendTrafficPolicy has already attached to it`,
  });
  if (section === undefined) return level.has(key) ? taken(`${kind} ${name}`) : undefined;
  if (!listeners.includes(section)) return { reason: 'TargetNotFound', message: `No section name ${section} found for ${kind} ${key}` };
  return listenerLevel.has(`${key}#${section}`) ? taken(`Listener ${listenerOwner}/${section}`) : undefined;
}
