/**
 * Stats are declared once per subsystem as sorted name lists; `defineStats` turns a list into a
 * plain object of numbers, so the hot path bumps a property and exposition happens on scrape.
 */
export type StatCatalog = { readonly counters: readonly string[]; readonly gauges: readonly string[] };

export type StatsOf<C extends StatCatalog> = { [K in C['counters'][number] | C['gauges'][number]]: number };

export function defineStats<const C extends StatCatalog>(catalog: C): StatsOf<C> {
  const out: Record<string, number> = {};
  for (const n of catalog.counters) out[n] = 0;
  for (const n of catalog.gauges) out[n] = 0;
  return out as StatsOf<C>;
}

/** Resets counters (not gauges), as Envoy's /reset_counters does. */
export function resetCounters<C extends StatCatalog>(catalog: C, stats: StatsOf<C>): void {
  const s = stats as Record<string, number>;
  for (const n of catalog.counters) s[n] = 0;
}
