/**
 * Prometheus text exposition (version 0.0.4) as Envoy's /stats/prometheus writes it: the
 * tag-extracted name with dots as underscores under a prefix (`envoy_` by default), the tags as
 * labels, one `# TYPE` line per metric family, histograms as `_bucket` / `_sum` / `_count`.
 */
import { ENVOY_DEFAULT_BUCKETS } from './histogram.js';
import type { Stat, Tag } from './proxy-stats.js';

export type PrometheusOptions = {
  /** Metric name prefix; Envoy's `envoy_` keeps existing dashboards working. */
  prefix?: string;
};

/** A metric or label name: anything outside [a-zA-Z0-9_] becomes `_`. */
export function sanitizeName(name: string): string {
  return name.replace(/[^a-zA-Z0-9_]/g, '_');
}

/** A label value: backslash, double quote and newline escaped. */
export function escapeLabelValue(v: string): string {
  return v.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');
}

function labels(tags: readonly Tag[], extra?: string): string {
  if (tags.length === 0 && !extra) return '';
  const parts = tags.map(([k, v]) => `${sanitizeName(k)}="${escapeLabelValue(v)}"`);
  if (extra) parts.push(extra);
  return `{${parts.join(',')}}`;
}

/** Numbers as Prometheus reads them (integers without exponent where possible). */
function num(v: number): string {
  if (Number.isNaN(v)) return 'NaN';
  if (v === Infinity) return '+Inf';
  if (v === -Infinity) return '-Inf';
  return String(v);
}

export function renderPrometheus(stats: readonly Stat[], opts: PrometheusOptions = {}): string {
  const prefix = opts.prefix ?? 'envoy_';
  const families = new Map<string, { type: Stat['type']; lines: string[] }>();
  for (const s of stats) {
    const metric = prefix + sanitizeName(s.base);
    let f = families.get(metric);
    if (!f) families.set(metric, (f = { type: s.type, lines: [] }));
    // One family has one type; a clash (never expected) keeps the first.
    if (f.type !== s.type) continue;
    if (s.type === 'histogram') {
      const h = s.histogram;
      const cum = h.cumulativeBuckets();
      for (let i = 0; i < ENVOY_DEFAULT_BUCKETS.length; i++)
        f.lines.push(`${metric}_bucket${labels(s.tags, `le="${num(ENVOY_DEFAULT_BUCKETS[i]!)}"`)} ${cum[i]}`);
      f.lines.push(`${metric}_bucket${labels(s.tags, 'le="+Inf"')} ${cum[cum.length - 1]}`);
      f.lines.push(`${metric}_sum${labels(s.tags)} ${num(h.sum)}`);
      f.lines.push(`${metric}_count${labels(s.tags)} ${h.count}`);
    } else {
      f.lines.push(`${metric}${labels(s.tags)} ${num(s.value)}`);
    }
  }
  let out = '';
  for (const name of [...families.keys()].sort()) {
    const f = families.get(name)!;
    if (f.lines.length === 0) continue;
    out += `# TYPE ${name} ${f.type}\n${f.lines.join('\n')}\n`;
  }
  return out;
}
