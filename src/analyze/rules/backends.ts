/** Backends that do not exist, and Istio subsets that select no endpoint (IST0101, IST0173). */
import { resolveShortname } from '../../config/sources/istio/hosts.js';
import type { AnalysisContext, RouteView } from '../context.js';
import { clusterFinding, routeFinding, type Involved, type Rule } from '../finding.js';

export const backendNotFound: Rule = {
  code: 'A_BACKEND_NOT_FOUND',
  severity: 'error',
  title: 'a route sends traffic to a backend or subset that does not exist',
  run: (ctx) =>
    ctx.routes.flatMap((v) => {
      if (v.route.action.kind !== 'forward') return [];
      const missing = v.backends.filter((b) => b.weighted.missing);
      if (missing.length === 0) return [];
      const total = v.backends.reduce((n, b) => n + b.weighted.weight, 0);
      const lost = missing.reduce((n, b) => n + b.weighted.weight, 0);
      const share = total > 0 ? `${Number(((100 * lost) / total).toFixed(1))}%` : 'all';
      const status = v.route.action.clusterNotFoundStatus ?? 503;
      const causes = translationCauses(ctx, v);
      return [
        routeFinding('A_BACKEND_NOT_FOUND', 'error', v, {
          message: `${share} of the requests on this route (weight ${lost} of ${total}) go to a backend that does not exist and get ${status} (flag NC, cluster not found)`,
          fix:
            v.sourceKind === 'VirtualService'
              ? 'define the subset in the DestinationRule for this host, add the Service, or fix the destination'
              : 'create the Service (and a ReferenceGrant for another namespace), or fix the backendRef',
          involves: causes,
        }),
      ];
    }),
};

/** Translator codes that leave a backend out (an invalid backendRef, an undefined subset or host). */
const MISSING_CAUSES = new Set([
  'W_GWAPI_BACKEND_NOT_FOUND',
  'W_GWAPI_REF_NOT_PERMITTED',
  'W_GWAPI_INVALID_KIND',
  'W_GWAPI_UNSUPPORTED_PROTOCOL',
  'W_ISTIO_REFERENCED_RESOURCE_NOT_FOUND',
]);

/** The translator's warnings about this route's backends, each where it was found. */
function translationCauses(ctx: AnalysisContext, v: RouteView): Involved[] {
  const action = v.route.origin.action;
  if (action?.kind !== 'manifest') return [];
  return ctx.diagnostics
    .filter((d) => MISSING_CAUSES.has(d.code) && d.object === action.object && d.field?.startsWith(action.field))
    .map((d) => ({
      setting: 'backend',
      value: d.message,
      object: d.object!,
      field: d.field!,
      ...(d.file !== undefined ? { file: d.file } : {}),
      ...(d.line !== undefined ? { line: d.line } : {}),
      ...(d.column !== undefined ? { column: d.column } : {}),
    }));
}

export const subsetWithoutEndpoints: Rule = {
  code: 'A_SUBSET_WITHOUT_ENDPOINTS',
  severity: 'warning',
  title: 'a subset that selects none of the service endpoints',
  run: (ctx) =>
    ctx.config.clusters.flatMap((c) => {
      const s = ctx.clusterService(c.name);
      if (!s?.subset || c.endpoints.length > 0) return [];
      const all = ctx.serviceEndpointCount(s);
      if (all === 0) return [];
      const fqdn = `${s.name}.${s.namespace}.svc.cluster.local`;
      const where = subsetDefinition(ctx, fqdn, s.subset);
      const routes = ctx.routesTo(c.name).map((v) => v.id);
      if (routes.length === 0) return [];
      return [
        clusterFinding('A_SUBSET_WITHOUT_ENDPOINTS', 'warning', ctx, c, {
          message:
            `subset ${s.subset} of ${fqdn} selects none of the service's ${all} endpoint${all > 1 ? 's' : ''}` +
            (where?.value ? ` (no pod has the labels ${where.value})` : '') +
            `: requests routed there get 503 "no healthy upstream" (flag UH)`,
          fix: "fix the subset's labels to match the pods' labels, or deploy pods with those labels",
          involves: [...(where ? [where] : []), ...ctx.routesTo(c.name).map((v) => v.source)],
          routes,
        }),
      ];
    }),
};

function subsetDefinition(ctx: AnalysisContext, fqdn: string, subset: string): Involved | undefined {
  for (const o of ctx.objects) {
    if (o.kind !== 'DestinationRule') continue;
    const spec = (o.body.spec ?? {}) as { host?: unknown; subsets?: { name?: unknown; labels?: Record<string, unknown> }[] };
    const host = typeof spec.host === 'string' ? spec.host : o.metadata.name;
    if (resolveShortname(host, o.metadata.namespace) !== fqdn) continue;
    const i = (spec.subsets ?? []).findIndex((x) => x.name === subset);
    if (i < 0) continue;
    const labels = Object.entries(spec.subsets![i]!.labels ?? {}).map(([k, x]) => `${k}=${String(x)}`);
    return ctx.at(o, ['spec', 'subsets', i, 'labels'], 'subset.labels', labels.join(', '));
  }
  return undefined;
}
