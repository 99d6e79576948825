/**
 * Weighted choice among a route's clusters (Envoy weighted_clusters, Gateway API backendRef
 * weights, Istio destination weights). Cumulative weights are computed once per config version;
 * a pick is one random draw and a binary search, with no allocation.
 */
import type { Random } from '../../common/random.js';

export type WeightedPicker<C> = {
  /** Items with a positive weight, in input order. */
  readonly items: readonly C[];
  /** Sum of the positive weights; 0 when nothing can be picked. */
  readonly total: number;
  /** An item with probability weight / total; undefined when total is 0. */
  pick(random: Random): C | undefined;
};

export function compileWeightedPicker<C extends { readonly weight: number }>(all: readonly C[]): WeightedPicker<C> {
  const items: C[] = [];
  const cumulative: number[] = [];
  let total = 0;
  for (const item of all) {
    // Weight 0 means "no traffic" (Gateway API, Istio); negative or NaN weights are invalid IR and
    // get none either.
    if (!(item.weight > 0)) continue;
    total += item.weight;
    items.push(item);
    cumulative.push(total);
  }
  const last = items.length - 1;
  const only = items.length === 1 ? items[0] : undefined;
  const pick = (random: Random): C | undefined => {
    if (last < 0) return undefined;
    // One candidate: no draw, so a shared Random's sequence is not consumed for nothing.
    if (only !== undefined) return only;
    const r = random.next() * total;
    // First index whose cumulative weight exceeds r; zero weights were dropped above, so every
    // slot has a non-empty range. Rounding can make r == total, hence the clamp to `last`.
    let lo = 0;
    let hi = last;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (cumulative[mid]! > r) hi = mid;
      else lo = mid + 1;
    }
    return items[lo];
  };
  return { items, total, pick };
}

/**
 * One-off weighted choice without a compiled picker (tests, cold paths). The hot path uses the
 * picker compiled on each route.
 */
export function pickWeightedCluster<C extends { readonly weight: number }>(clusters: readonly C[], random: Random): C | undefined {
  return compileWeightedPicker(clusters).pick(random);
}
