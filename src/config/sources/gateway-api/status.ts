/**
 * Gateway API status as plain data (config-apis.md 1.2, 1.3, 1.13): what a controller would write
 * to `status` of each GatewayClass, Gateway (and each of its listeners) and route parent.
 */
import type { LoadedObject } from '../../model.js';
import type { Condition } from './codes.js';
import type { RouteGroupKind } from './types.js';

export type ParentRefStatus = {
  group: string;
  kind: string;
  namespace: string;
  name: string;
  sectionName?: string;
  port?: number;
};

export type StatusEntry = {
  /** `Kind/namespace/name` of the object whose status this is. */
  object: string;
  /**
   * Route parents: the parent as `Gateway/ns/name`, plus `/sectionName` and `:port` when the
   * parentRef sets them. Absent for Gateways, listeners and GatewayClasses.
   */
  parent?: string;
  /** The parentRef as written, with defaults (route parents only). */
  parentRef?: ParentRefStatus;
  /** Gateway listeners: the listener's name (`object` is its Gateway). */
  listener?: string;
  /** Gateway listeners: routes accepted on it (counted whatever the listener's own state). */
  attachedRoutes?: number;
  /** Gateway listeners: the route kinds it accepts. */
  supportedKinds?: RouteGroupKind[];
  /** Route parents and GatewayClasses: the controller that owns the status. */
  controllerName?: string;
  /** `metadata.generation` of the object the conditions were computed from, when it has one. */
  observedGeneration?: number;
  conditions: Condition[];
};

export function parentName(ref: ParentRefStatus): string {
  let s = `${ref.kind}/${ref.namespace}/${ref.name}`;
  if (ref.sectionName !== undefined) s += `/${ref.sectionName}`;
  if (ref.port !== undefined) s += `:${ref.port}`;
  return s;
}

/** Sets a condition of a type, replacing an earlier one of the same type (as meta.SetStatusCondition). */
export function setCondition(list: Condition[], c: Condition): void {
  const i = list.findIndex((x) => x.type === c.type);
  if (i >= 0) list[i] = c;
  else list.push(c);
}

export function getCondition(list: readonly Condition[], type: string): Condition | undefined {
  return list.find((c) => c.type === type);
}

/** `{ observedGeneration }` when the object carries `metadata.generation`. */
export function generationOf(o: LoadedObject): { observedGeneration?: number } {
  return o.metadata.generation !== undefined ? { observedGeneration: o.metadata.generation } : {};
}
