/**
 * `legate analyze`: the manifests are translated as `legate validate` does, with every
 * Deployment's pods as endpoints (planned, not started), then each rule reads the IR, its
 * provenance and the objects, and reports the pitfalls it finds.
 */
import { Diagnostics, type LoadedObject } from '../config/model.js';
import { translate, type TranslateResult } from '../config/translate.js';
import { KubernetesEndpoints } from '../config/sources/kubernetes/endpoint-resolver.js';
import { planPods } from '../runtime/plan.js';
import { runtimeEndpoints } from '../runtime/supervisor.js';
import { AnalysisContext } from './context.js';
import type { Finding, Rule } from './finding.js';
import { RULES } from './registry.js';

export type AnalyzeResult = { findings: Finding[]; translation: TranslateResult };

export function analyze(objects: readonly LoadedObject[], diags = new Diagnostics(), rules: readonly Rule[] = RULES): AnalyzeResult {
  // Planning problems (an image legate cannot run) matter to `legate run`, not here.
  const pods = planPods(objects, new Diagnostics());
  // Pods stand at their container ports: numeric target ports resolve whether or not the container declares them.
  const targetPorts = objects.flatMap((o) =>
    o.kind === 'Service' ? ((o.body.spec as { ports?: { targetPort?: unknown }[] } | undefined)?.ports ?? []).map((p) => p.targetPort) : [],
  );
  const instances = pods.map((plan) => {
    const ports = [...plan.ports.map((p) => p.containerPort), ...targetPorts.filter((p): p is number => typeof p === 'number')];
    return { plan, state: 'ready' as const, ports: new Map(ports.map((p) => [p, p])) };
  });
  const endpoints = runtimeEndpoints(objects, { instances });
  const translation = translate(objects, { runtimeEndpoints: endpoints }, diags);
  const ctx = new AnalysisContext(objects, translation.config, translation.diagnostics, pods, new KubernetesEndpoints(objects, endpoints));
  return { findings: merge(rules.flatMap((r) => r.run(ctx))), translation };
}

const RANK = { error: 0, warning: 1, info: 2 } as const;

/** One finding per code, place and message (a route on several listeners is one finding), sorted by file and line. */
function merge(findings: Finding[]): Finding[] {
  const byKey = new Map<string, Finding>();
  for (const f of findings) {
    const key = `${f.code}\n${f.object ?? ''}\n${f.field ?? ''}\n${f.message}`;
    const seen = byKey.get(key);
    if (!seen) byKey.set(key, f);
    else {
      if (f.routes) seen.routes = [...new Set([...(seen.routes ?? []), ...f.routes])];
      if (f.clusters) seen.clusters = [...new Set([...(seen.clusters ?? []), ...f.clusters])];
    }
  }
  return [...byKey.values()].sort(
    (a, b) =>
      (a.file ?? '').localeCompare(b.file ?? '') ||
      (a.line ?? 0) - (b.line ?? 0) ||
      (a.column ?? 0) - (b.column ?? 0) ||
      RANK[a.severity] - RANK[b.severity] ||
      a.code.localeCompare(b.code),
  );
}
