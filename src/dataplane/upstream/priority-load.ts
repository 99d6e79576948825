/**
 * Envoy's priority load: how traffic splits across priorities given their health, with the
 * overprovisioning factor (1.4: a priority at 72% health still takes all its traffic), and which
 * priorities are in panic (too few healthy hosts: balance over all of them, healthy or not).
 */
export type PriorityHealth = { total: number; healthy: number };

export type PriorityLoad = {
  /** Percent of traffic per priority (sums to 100 when any host exists). */
  load: number[];
  /** Per priority: balance over every host, ignoring health. */
  panic: boolean[];
};

export function computePriorityLoad(priorities: readonly PriorityHealth[], panicThreshold: number, overprovisioning = 140): PriorityLoad {
  const n = priorities.length;
  const health = priorities.map((p) => (p.total === 0 ? 0 : Math.min(100, Math.floor((overprovisioning * p.healthy) / p.total))));
  const normTotal = Math.min(
    100,
    health.reduce((a, b) => a + b, 0),
  );
  const load = new Array<number>(n).fill(0);
  const panic = new Array<boolean>(n).fill(false);
  if (n === 0) return { load, panic };

  if (normTotal === 0) {
    // Nothing healthy anywhere: with panic enabled every priority is in panic and load follows
    // raw host counts; with panic disabled, everything goes to P0 and selection fails.
    if (panicThreshold > 0) {
      const hosts = priorities.reduce((a, p) => a + p.total, 0);
      if (hosts === 0) return { load, panic };
      distribute(
        priorities.map((p) => p.total),
        hosts,
        load,
      );
      for (let i = 0; i < n; i++) panic[i] = priorities[i]!.total > 0;
    } else {
      load[0] = 100;
    }
    return { load, panic };
  }

  let remaining = 100;
  for (let i = 0; i < n; i++) {
    const l = Math.min(remaining, Math.floor((health[i]! * 100) / normTotal));
    load[i] = l;
    remaining -= l;
  }
  // Rounding leftovers go to the first priority with healthy hosts.
  if (remaining > 0) {
    const first = health.findIndex((h) => h > 0);
    load[first] = load[first]! + remaining;
  }
  // Panic is only considered when the priorities together are short of 100% health.
  if (normTotal < 100 && panicThreshold > 0) {
    for (let i = 0; i < n; i++) {
      const p = priorities[i]!;
      if (p.total > 0 && (100 * p.healthy) / p.total < panicThreshold) panic[i] = true;
    }
  }
  return { load, panic };
}

function distribute(weights: number[], total: number, out: number[]): void {
  let remaining = 100;
  for (let i = 0; i < weights.length; i++) {
    const l = Math.min(remaining, Math.floor((weights[i]! * 100) / total));
    out[i] = l;
    remaining -= l;
  }
  const first = weights.findIndex((w) => w > 0);
  if (first >= 0) out[first] = out[first]! + remaining;
}
