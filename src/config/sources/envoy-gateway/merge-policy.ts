/**
 * `mergeType` (config-apis.md 2.2): a route policy with `mergeType: StrategicMerge | JSONMerge` is
 * merged into the closest parent policy (Envoy Gateway `mergeBackendTrafficPolicy`, utils.Merge):
 * the parent is the original, the route policy the patch.
 *
 * - JSONMerge is RFC 7386: objects merge key by key, anything else (lists included) is replaced.
 * - StrategicMerge is Kubernetes' strategic merge patch with the BackendTrafficPolicy schema: the
 *   same as JSONMerge except the lists declared `patchStrategy=merge` (compression, compressor,
 *   httpUpgrade), which merge item by item on their `type`.
 * - Envoy Gateway marshals the patch from its Go struct, so unset and null fields are absent from
 *   it: a null in the route policy never deletes a parent field.
 *
 * The result keeps the route policy's identity (name, namespace) and knows which policy wrote each
 * field, so diagnostics and origins point at the right object and line.
 */
import type { LoadedObject } from '../../model.js';
import { isObject, type Json, type MergedPolicy, type Path } from './spec-reader.js';

export type MergeType = 'StrategicMerge' | 'JSONMerge';

/** Lists merged by key under StrategicMerge (`patchMergeKey`), by path below the object root. */
const STRATEGIC_LISTS: Record<string, string> = {
  'spec.compression': 'type',
  'spec.compressor': 'type',
  'spec.httpUpgrade': 'type',
};

export function mergeJson(original: unknown, patch: unknown, mergeType: MergeType, path: readonly string[] = []): unknown {
  if (patch === undefined || patch === null) return original;
  if (mergeType === 'StrategicMerge' && Array.isArray(patch) && Array.isArray(original)) {
    const key = STRATEGIC_LISTS[path.join('.')];
    if (key) return mergeListByKey(original, patch, key, mergeType, path);
  }
  if (!isObject(patch) || !isObject(original)) return stripNulls(patch);
  const out: Json = { ...original };
  for (const [k, v] of Object.entries(patch)) {
    if (v === undefined || v === null) continue;
    out[k] = k in original ? mergeJson(original[k], v, mergeType, [...path, k]) : stripNulls(v);
  }
  return out;
}

function mergeListByKey(original: unknown[], patch: unknown[], key: string, mergeType: MergeType, path: readonly string[]): unknown[] {
  const out = [...original];
  for (const item of patch) {
    const id = isObject(item) ? item[key] : undefined;
    const i = id === undefined ? -1 : out.findIndex((o) => isObject(o) && o[key] === id);
    if (i >= 0) out[i] = mergeJson(out[i], item, mergeType, path);
    else out.push(stripNulls(item));
  }
  return out;
}

function stripNulls(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(stripNulls);
  if (!isObject(v)) return v;
  const out: Json = {};
  for (const [k, x] of Object.entries(v)) if (x !== undefined && x !== null) out[k] = stripNulls(x);
  return out;
}

function has(root: unknown, path: Path): boolean {
  let cur: unknown = root;
  for (const p of path) {
    if (typeof p === 'number') {
      if (!Array.isArray(cur) || p >= cur.length) return false;
      cur = cur[p];
    } else {
      if (!isObject(cur) || !Object.hasOwn(cur, p) || cur[p] === null || cur[p] === undefined) return false;
      cur = cur[p];
    }
  }
  return true;
}

/** The route policy `child` merged into `parent`; identity and position of the child. */
export function mergePolicies(parent: LoadedObject, child: LoadedObject, mergeType: MergeType): MergedPolicy {
  const spec = mergeJson(parent.body['spec'] ?? {}, child.body['spec'] ?? {}, mergeType, ['spec']);
  const annotations = { ...parent.metadata.annotations, ...child.metadata.annotations };
  const labels = { ...parent.metadata.labels, ...child.metadata.labels };
  const metadata = { ...child.metadata, annotations, labels };
  const childMeta = isObject(child.body['metadata']) ? child.body['metadata'] : {};
  const body: Json = { ...child.body, metadata: { ...childMeta, annotations, labels }, spec };
  const ownerOf = (path: Path): LoadedObject => (has(child.body, path) ? child : has(parent.body, path) ? parent : child);
  return {
    apiVersion: child.apiVersion,
    kind: child.kind,
    metadata,
    body,
    pos: child.pos,
    posOf: (path) => ownerOf(path).posOf(path),
    ownerOf,
  };
}
