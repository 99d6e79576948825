/**
 * The status checks of the conformance data (README 1.5) against the status legate's translator
 * writes. Each check returns a failure text, or undefined when it holds. `mutate` patches the
 * route as the API server would (bumping metadata.generation) and translates again.
 */
import type { LoadedObject } from '../../src/config/model.js';
import type { StatusEntry } from '../../src/config/sources/gateway-api/status.js';
import type { Cond, Ref, StatusCheck } from './data.js';

const GROUP = 'gateway.networking.k8s.io';

export type StatusState = {
  status: StatusEntry[];
  objects: LoadedObject[];
  /** The controllerName of the GatewayClass the Gateways use. */
  controllerName: string;
  /** Translates `objects` again and updates `status`. */
  retranslate(): void;
};

const refName = (r: Ref) => `${r.kind}/${r.namespace}/${r.name}`;

function parentsOf(status: readonly StatusEntry[], route: Ref, parent?: Ref): StatusEntry[] {
  return status.filter(
    (s) =>
      s.object === refName(route) &&
      s.parentRef !== undefined &&
      (parent === undefined ||
        (s.parentRef.namespace === parent.namespace && s.parentRef.name === parent.name && s.parentRef.kind === parent.kind)),
  );
}

function listenersOf(status: readonly StatusEntry[], gateway: Ref): StatusEntry[] {
  return status.filter((s) => s.object === refName(gateway) && s.listener !== undefined);
}

function hasCondition(list: StatusEntry['conditions'], want: Cond): boolean {
  return list.some((c) => c.type === want.type && c.status === want.status && (want.reason === undefined || c.reason === want.reason));
}

function show(entries: StatusEntry[]): string {
  if (entries.length === 0) return '(no status entries)';
  return entries
    .map((e) => `${e.parent ?? e.listener ?? e.object}: ${e.conditions.map((c) => `${c.type}=${c.status}/${c.reason}`).join(', ')}`)
    .join('; ');
}

/** What upstream checks of a parent entry besides its conditions (GatewayAndRoutesMustBeAccepted). */
function parentRefProblem(s: StatusEntry, route: Ref, controllerName: string): string | undefined {
  const p = s.parentRef!;
  if (s.controllerName !== controllerName) return `controllerName is ${s.controllerName}, want ${controllerName}`;
  if (p.group !== GROUP || p.kind !== 'Gateway') return `parentRef group/kind are ${p.group}/${p.kind}, want ${GROUP}/Gateway`;
  if (route.namespace !== p.namespace && !p.namespace) return 'parentRef.namespace is missing for a parent in another namespace';
  return undefined;
}

function objectOf(state: StatusState, r: Ref): LoadedObject | undefined {
  return state.objects.find((o) => o.kind === r.kind && o.metadata.namespace === r.namespace && o.metadata.name === r.name);
}

const CHECKS: Record<string, (s: StatusState, c: StatusCheck) => string | undefined> = {
  routeAcceptedByGateway(s, c) {
    const parents = parentsOf(s.status, c.route!, c.parent);
    const accepted = parents.find((p) => hasCondition(p.conditions, { type: 'Accepted', status: 'True', reason: 'Accepted' }));
    if (!accepted) return `${refName(c.route!)} is not accepted by ${refName(c.parent!)}: ${show(parents)}`;
    const problem = parentRefProblem(accepted, c.route!, s.controllerName);
    if (problem) return `${refName(c.route!)} parent ${refName(c.parent!)}: ${problem}`;
    const listeners = listenersOf(s.status, c.parent!);
    if (listeners.length === 0) return `${refName(c.parent!)} has no listener status`;
    for (const l of listeners)
      for (const want of c.gatewayListenersMustHave ?? [])
        if (!hasCondition(l.conditions, want)) return `listener ${l.listener} lacks ${want.type}=${want.status}: ${show([l])}`;
    return undefined;
  },
  routeParentCondition(s, c) {
    const parents = parentsOf(s.status, c.route!, c.parent);
    if (!parents.some((p) => hasCondition(p.conditions, c.condition!)))
      return `${refName(c.route!)} parent ${refName(c.parent!)} lacks ${JSON.stringify(c.condition)}: ${show(parents)}`;
    const generation = objectOf(s, c.route!)?.metadata.generation;
    const stale = parents.find((p) => p.observedGeneration !== generation);
    if (stale)
      return `${refName(c.route!)} parent ${stale.parent}: observedGeneration ${stale.observedGeneration}, generation ${generation}`;
    return undefined;
  },
  routeParents(s, c) {
    const parents = parentsOf(s.status, c.route!);
    if (parents.length !== c.parents!.length) return `want ${c.parents!.length} parents, got ${parents.length}: ${show(parents)}`;
    for (const want of c.parents!) {
      const got = parentsOf(s.status, c.route!, want.parentRef);
      if (got.length !== 1) return `want one parent ${refName(want.parentRef)}: ${show(got)}`;
      const missing = want.conditions.find((w) => !hasCondition(got[0]!.conditions, w));
      if (missing) return `parent ${refName(want.parentRef)} lacks ${JSON.stringify(missing)}: ${show(got)}`;
      const problem = parentRefProblem(got[0]!, c.route!, s.controllerName);
      if (problem) return problem;
      if (got[0]!.parentRef!.namespace !== want.parentRef.namespace) return `parentRef.namespace is ${got[0]!.parentRef!.namespace}`;
    }
    return undefined;
  },
  routeHasNoAcceptedParents(s, c) {
    const parents = parentsOf(s.status, c.route!);
    const ok =
      parents.length === 0 || (parents.length === 1 && hasCondition(parents[0]!.conditions, { type: 'Accepted', status: 'False' }));
    return ok ? undefined : `${refName(c.route!)} has accepted parents: ${show(parents)}`;
  },
  gatewayHasZeroAttachedRoutes(s, c) {
    const ls = listenersOf(s.status, c.gateway!);
    if (ls.length === 0 || (ls.length === 1 && ls[0]!.attachedRoutes === 0)) return undefined;
    return `${refName(c.gateway!)} listeners: ${ls.map((l) => `${l.listener} attachedRoutes=${l.attachedRoutes}`).join(', ')}`;
  },
  gatewayListenerStatus(s, c) {
    const ls = listenersOf(s.status, c.gateway!);
    if (c.exactListenerCount !== undefined && ls.length !== c.exactListenerCount)
      return `want ${c.exactListenerCount} listeners, got ${ls.length}`;
    for (const want of c.listeners ?? []) {
      const got = ls.find((l) => l.listener === want.name);
      if (!got) return `no listener ${want.name}`;
      if (got.attachedRoutes !== want.attachedRoutes)
        return `listener ${want.name}: attachedRoutes ${got.attachedRoutes}, want ${want.attachedRoutes}`;
      for (const k of want.supportedKinds)
        if (!got.supportedKinds!.some((x) => x.group === k.group && x.kind === k.kind)) return `listener ${want.name} lacks kind ${k.kind}`;
      for (const cond of want.conditions)
        if (!hasCondition(got.conditions, cond)) return `listener ${want.name} lacks ${JSON.stringify(cond)}`;
    }
    return undefined;
  },
  routeConditionsHaveLatestObservedGeneration(s, c) {
    const generation = objectOf(s, c.route!)?.metadata.generation;
    if (generation === undefined) return `${refName(c.route!)} has no metadata.generation`;
    const parents = parentsOf(s.status, c.route!);
    if (parents.length === 0) return `${refName(c.route!)} has no parent status`;
    const stale = parents.find((p) => p.observedGeneration !== generation);
    return stale ? `parent ${stale.parent}: observedGeneration ${stale.observedGeneration}, generation ${generation}` : undefined;
  },
  mutate(s, c) {
    const o = objectOf(s, c.route!);
    if (!o) return `${refName(c.route!)} is not loaded`;
    const before = o.metadata.generation ?? 0;
    for (const [path, value] of Object.entries(c.patch ?? {})) setPath(o.body, path, value);
    // The API server bumps the generation on every spec change.
    o.metadata.generation = before + 1;
    s.retranslate();
    return undefined;
  },
};

export function knownStatusCheck(c: StatusCheck): boolean {
  return CHECKS[c.check] !== undefined;
}

export function runStatusCheck(state: StatusState, c: StatusCheck): string | undefined {
  const f = CHECKS[c.check];
  if (!f) return `unknown status check "${c.check}"`;
  return f(state, c);
}

/** Sets `spec.rules[0].backendRefs[0].name` in a plain JSON object. */
function setPath(root: Record<string, unknown>, path: string, value: unknown): void {
  const keys = path.split(/\.|\[(\d+)\]/).filter((k) => k !== undefined && k !== '');
  let cur: Record<string, unknown> | unknown[] = root;
  for (let i = 0; i < keys.length - 1; i++) {
    const next = (cur as Record<string, unknown>)[keys[i]!];
    if (typeof next !== 'object' || next === null)
      throw new Error(`patch path ${path}: ${keys.slice(0, i + 1).join('.')} is not an object`);
    cur = next as Record<string, unknown>;
  }
  (cur as Record<string, unknown>)[keys[keys.length - 1]!] = value;
}
