/**
 * Envoy's /stats output: `name: value` lines for counters and gauges, then histograms as
 * quantile summaries (`P50(interval,cumulative)`), or the same as JSON. legate keeps no
 * flush interval, so the interval value is always `nan` (JSON `null`).
 */
import { ENVOY_QUANTILES } from './histogram.js';
import type { Stat, StatType } from './proxy-stats.js';

export type StatsQuery = {
  /** Regular expression over the full name (Envoy's `filter`). */
  filter?: RegExp | undefined;
  /** Only stats that were ever set: non-zero values, histograms with samples (Envoy's `usedonly`). */
  usedOnly?: boolean | undefined;
  /** Envoy's `type`: Counters, Gauges, Histograms or All. */
  type?: StatType | undefined;
};

export function selectStats(stats: readonly Stat[], q: StatsQuery): Stat[] {
  return stats.filter((s) => {
    if (q.type && s.type !== q.type) return false;
    if (q.filter && !q.filter.test(s.name)) return false;
    if (q.usedOnly) return s.type === 'histogram' ? s.histogram.count > 0 : s.value !== 0;
    return true;
  });
}

const QUANTILE_LABELS = ENVOY_QUANTILES.map((q) => `P${+(q * 100).toFixed(1)}`);

function fmt(v: number): string {
  if (Number.isNaN(v)) return 'nan';
  return String(+v.toPrecision(6));
}

export function renderStatsText(stats: readonly Stat[]): string {
  const scalars: string[] = [];
  const histograms: string[] = [];
  for (const s of stats) {
    if (s.type !== 'histogram') {
      scalars.push(`${s.name}: ${s.value}`);
      continue;
    }
    const h = s.histogram;
    if (h.count === 0) {
      histograms.push(`${s.name}: No recorded values`);
      continue;
    }
    const parts = ENVOY_QUANTILES.map((q, i) => `${QUANTILE_LABELS[i]}(nan,${fmt(h.quantile(q))})`);
    histograms.push(`${s.name}: ${parts.join(' ')}`);
  }
  const lines = [...scalars, ...histograms];
  return lines.length === 0 ? '' : lines.join('\n') + '\n';
}

/** Envoy's `/stats?format=json` shape. */
export function renderStatsJson(stats: readonly Stat[]): unknown {
  const out: unknown[] = [];
  const computed: unknown[] = [];
  for (const s of stats) {
    if (s.type !== 'histogram') {
      out.push({ name: s.name, value: s.value });
      continue;
    }
    const h = s.histogram;
    computed.push({
      name: s.name,
      values: ENVOY_QUANTILES.map((q) => ({ interval: null, cumulative: h.count === 0 ? null : +h.quantile(q).toPrecision(6) })),
    });
  }
  if (computed.length > 0)
    out.push({ histograms: { supported_quantiles: ENVOY_QUANTILES.map((q) => +(q * 100).toFixed(1)), computed_quantiles: computed } });
  return { stats: out };
}
