/**
 * Stats of several worker processes as one view: counters and gauges add up, histograms merge
 * their recordings. Workers send `serializeStats` output over IPC; the admin API's process merges
 * it with its own (`mergeStats`), so /stats and /stats/prometheus speak for the whole proxy.
 */
import { Histogram, type HistogramState } from './histogram.js';
import type { Stat } from './proxy-stats.js';

export type WireStat =
  | { type: 'counter' | 'gauge'; name: string; base: string; tags: [string, string][]; value: number }
  | { type: 'histogram'; name: string; base: string; tags: [string, string][]; histogram: HistogramState };

export function serializeStats(stats: readonly Stat[]): WireStat[] {
  return stats.map((s) =>
    s.type === 'histogram'
      ? { type: 'histogram', name: s.name, base: s.base, tags: s.tags.map((t) => [t[0], t[1]]), histogram: s.histogram.exportState() }
      : { type: s.type, name: s.name, base: s.base, tags: s.tags.map((t) => [t[0], t[1]]), value: s.value },
  );
}

/**
 * `local` plus every worker's stats, by full name: scalars summed, histograms merged into new
 * ones (the local histograms are never modified). A stat only a worker has is added; the order
 * of `local` is kept, new names follow sorted.
 */
export function mergeStats(local: readonly Stat[], workers: readonly (readonly WireStat[])[]): Stat[] {
  if (workers.length === 0) return [...local];
  const out = new Map<string, Stat>();
  for (const s of local) {
    if (s.type === 'histogram') {
      const h = new Histogram();
      h.mergeState(s.histogram.exportState());
      out.set(s.name, { ...s, histogram: h });
    } else out.set(s.name, { ...s });
  }
  const added: string[] = [];
  for (const list of workers)
    for (const w of list) {
      const have = out.get(w.name);
      if (!have) {
        added.push(w.name);
        if (w.type === 'histogram') {
          const h = new Histogram();
          h.mergeState(w.histogram);
          out.set(w.name, { type: 'histogram', name: w.name, base: w.base, tags: w.tags, histogram: h });
        } else out.set(w.name, { type: w.type, name: w.name, base: w.base, tags: w.tags, value: w.value });
        continue;
      }
      if (have.type === 'histogram' && w.type === 'histogram') have.histogram.mergeState(w.histogram);
      else if (have.type !== 'histogram' && w.type !== 'histogram') have.value = combine(have.name, have.type, have.value, w.value);
    }
  const order = [...local.map((s) => s.name), ...added.sort()];
  return order.map((n) => out.get(n)!);
}

/** Gauges every worker reports alike (the proxy's own state, the cluster's membership): not summed. */
const SAME_EVERYWHERE = /^server\.(uptime|live|state|concurrency)$|\.membership_(total|healthy)$/;

function combine(name: string, type: 'counter' | 'gauge', a: number, b: number): number {
  if (type === 'counter') return a + b;
  if (SAME_EVERYWHERE.test(name)) return a;
  // Circuit-breaker open flags: open if open in any worker.
  if (name.endsWith('_open')) return Math.max(a, b);
  return a + b;
}
