/** GET /stats, GET /stats/prometheus and POST /reset_counters. */
import { collectStats, resetProxyCounters, type Stat, type StatType } from '../../dataplane/stats/proxy-stats.js';
import { mergeStats } from '../../dataplane/stats/merge.js';
import { renderPrometheus } from '../../dataplane/stats/prometheus.js';
import { renderStatsJson, renderStatsText, selectStats, type StatsQuery } from '../../dataplane/stats/stats-text.js';
import { json, text, type AdminContext, type AdminRequest, type AdminResponse } from '../admin-context.js';

const TYPES: Record<string, StatType | undefined> = {
  counters: 'counter',
  gauges: 'gauge',
  histograms: 'histogram',
  all: undefined,
};

/** Envoy's query parameters: `filter` (regex), `usedonly`, `type`; an error message when bad. */
function query(url: URL): StatsQuery | string {
  const q: StatsQuery = {};
  const f = url.searchParams.get('filter');
  if (f) {
    try {
      q.filter = new RegExp(f);
    } catch (e) {
      return `Invalid regex: ${(e as Error).message}\n`;
    }
  }
  if (url.searchParams.has('usedonly')) q.usedOnly = true;
  const t = url.searchParams.get('type');
  if (t !== null) {
    const key = t.toLowerCase();
    if (!(key in TYPES)) return `invalid type "${t}": use Counters, Gauges, Histograms or All\n`;
    q.type = TYPES[key];
  }
  return q;
}

/** This process's stats, merged with every worker's when there are workers. */
async function collect(ctx: AdminContext, sorted = true): Promise<Stat[]> {
  const local = collectStats(ctx.sources.proxy, { localRuntime: ctx.sources.localRuntimeStats, sorted });
  const w = ctx.sources.workers;
  if (!w) return local;
  const merged = mergeStats(local, await w.stats());
  for (const s of merged) if (s.name === 'server.concurrency' && s.type === 'gauge') s.value = w.count;
  return merged;
}

export async function stats(ctx: AdminContext, req: AdminRequest): Promise<AdminResponse> {
  const q = query(req.url);
  if (typeof q === 'string') return text(q, 400);
  const selected = selectStats(await collect(ctx), q);
  return req.url.searchParams.get('format') === 'json' ? json(renderStatsJson(selected)) : text(renderStatsText(selected));
}

export async function statsPrometheus(ctx: AdminContext, req: AdminRequest): Promise<AdminResponse> {
  const q = query(req.url);
  if (typeof q === 'string') return text(q, 400);
  return {
    status: 200,
    contentType: 'text/plain; version=0.0.4; charset=utf-8',
    body: renderPrometheus(selectStats(await collect(ctx, false), q)),
  };
}

export function resetCounters(ctx: AdminContext): AdminResponse {
  resetProxyCounters(ctx.sources.proxy);
  ctx.sources.workers?.resetCounters();
  return text('OK\n');
}
