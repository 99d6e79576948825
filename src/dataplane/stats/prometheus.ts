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

const UNSAFE_NAME = /[^a-zA-Z0-9_]/g;
const UNSAFE_VALUE = /[\\"\n]/;

/** A metric or label name: anything outside [a-zA-Z0-9_] becomes `_`. */
export function sanitizeName(name: string): string {
  return name.replace(UNSAFE_NAME, '_');
}

/** A label value: backslash, double quote and newline escaped. */
export function escapeLabelValue(v: string): string {
  if (!UNSAFE_VALUE.test(v)) return v;
  return v.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');
}

/** `k="v",k2="v2"` without braces; stats of one scope share their tags array, so it is cached. */
function labelBody(tags: readonly Tag[], cache: WeakMap<readonly Tag[], string>): string {
  let s = cache.get(tags);
  if (s === undefined) {
    s = tags.map(([k, v]) => `${sanitizeName(k)}="${escapeLabelValue(v)}"`).join(',');
    cache.set(tags, s);
  }
  return s;
}

/** Numbers as Prometheus reads them (integers without exponent where possible). */
function num(v: number): string {
  if (Number.isNaN(v)) return 'NaN';
  if (v === Infinity) return '+Inf';
  if (v === -Infinity) return '-Inf';
  return String(v);
}

const LE = [...ENVOY_DEFAULT_BUCKETS.map((b) => `le="${num(b)}"}`), 'le="+Inf"}'];

export function renderPrometheus(stats: readonly Stat[], opts: PrometheusOptions = {}): string {
  const prefix = opts.prefix ?? 'envoy_';
  const families = new Map<string, { type: Stat['type']; text: string }>();
  const metricOf = new Map<string, string>();
  const labelCache = new WeakMap<readonly Tag[], string>();
  for (const s of stats) {
    let metric = metricOf.get(s.base);
    if (metric === undefined) metricOf.set(s.base, (metric = prefix + sanitizeName(s.base)));
    let f = families.get(metric);
    if (!f) families.set(metric, (f = { type: s.type, text: '' }));
    // One family has one type; a clash (never expected) keeps the first.
    if (f.type !== s.type) continue;
    const body = s.tags.length === 0 ? '' : labelBody(s.tags, labelCache);
    const braced = body === '' ? '' : `{${body}}`;
    if (s.type === 'histogram') {
      const h = s.histogram;
      const cum = h.cumulativeBuckets();
      const open = `${metric}_bucket{${body === '' ? '' : body + ','}`;
      let t = '';
      for (let i = 0; i < LE.length; i++) t += `${open}${LE[i]} ${cum[i]}\n`;
      f.text += `${t}${metric}_sum${braced} ${num(h.sum)}\n${metric}_count${braced} ${h.count}\n`;
    } else {
      f.text += `${metric}${braced} ${num(s.value)}\n`;
    }
  }
  let out = '';
  for (const name of [...families.keys()].sort()) {
    const f = families.get(name)!;
    if (f.text !== '') out += `# TYPE ${name} ${f.type}\n${f.text}`;
  }
  return out;
}
