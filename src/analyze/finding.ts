/**
 * What `legate analyze` reports: a diagnostic (stable code, severity, message, fix, the main
 * object and field with file:line:column) plus every setting involved, each with where its value
 * came from (a manifest field, a control plane's default, or a value derived from others).
 */
import type * as ir from '../ir/index.js';
import type { Diagnostic, Severity } from '../ir/diagnostic.js';
import type { AnalysisContext, RouteView } from './context.js';

/** One setting a finding rests on. */
export type Involved = {
  /** The IR setting, such as `retry.perTryTimeoutMs` or `cluster.outlierDetection.maxEjectionPercent`. */
  setting: string;
  /** Its value as users write it (`250ms`, `[unavailable, retriable-status-codes]`). */
  value?: string;
  /** Set by a manifest: `Kind/namespace/name`, field path and position. */
  object?: string;
  field?: string;
  file?: string;
  line?: number;
  column?: number;
  /** Not written anywhere: whose default it is (`ENVOY_GATEWAY.ROUTE_TIMEOUT_MS (envoy-gateway)`). */
  default?: string;
  /** Computed from other values: how. */
  derived?: string;
};

export type Finding = Diagnostic & {
  /** Every setting involved, the main one first. */
  involves: Involved[];
  /** IR routes (`listener/route`) and clusters the finding is about. */
  routes?: string[];
  clusters?: string[];
};

export type FindingInput = {
  message: string;
  fix: string;
  involves: Involved[];
  routes?: string[];
  clusters?: string[];
};

/** A setting and its origin, for `involves`. */
export function involved(setting: string, value: unknown, origin: ir.Origin | undefined): Involved {
  const out: Involved = { setting };
  if (value !== undefined) out.value = typeof value === 'string' ? value : Array.isArray(value) ? `[${value.join(', ')}]` : String(value);
  if (!origin) return out;
  if (origin.kind === 'manifest') {
    out.object = origin.object;
    out.field = origin.field;
    if (origin.file !== undefined) out.file = origin.file;
    if (origin.line !== undefined) out.line = origin.line;
    if (origin.column !== undefined) out.column = origin.column;
  } else if (origin.kind === 'default') out.default = `${origin.name} (${origin.dialect})`;
  else out.derived = origin.from;
  return out;
}

/** A finding located at its first involved setting that a manifest wrote. */
export function finding(code: string, severity: Severity, f: FindingInput): Finding {
  const main = f.involves.find((i) => i.object !== undefined);
  return {
    code,
    severity,
    message: f.message,
    ...(main?.object ? { object: main.object } : {}),
    ...(main?.field ? { field: main.field } : {}),
    ...(main?.file ? { file: main.file } : {}),
    ...(main?.line !== undefined ? { line: main.line } : {}),
    ...(main?.column !== undefined ? { column: main.column } : {}),
    fix: f.fix,
    involves: f.involves,
    ...(f.routes ? { routes: f.routes } : {}),
    ...(f.clusters ? { clusters: f.clusters } : {}),
  };
}

/** A finding about one route: the route is the last setting involved. */
export function routeFinding(code: string, severity: Severity, v: RouteView, f: Omit<FindingInput, 'routes'>): Finding {
  return finding(code, severity, { ...f, involves: [...f.involves, v.source], routes: [v.id] });
}

/** A finding about one cluster, with the routes that send traffic to it unless given. */
export function clusterFinding(code: string, severity: Severity, ctx: AnalysisContext, c: ir.Cluster, f: FindingInput): Finding {
  return finding(code, severity, { routes: ctx.routesTo(c.name).map((v) => v.id), ...f, clusters: [c.name] });
}

/** One pitfall: a stable code, its usual severity, and the check. */
export type Rule = {
  code: string;
  /** The usual severity; a rule may report a finding lower when the manifest makes it harmless. */
  severity: Severity;
  title: string;
  run(ctx: AnalysisContext): Finding[];
};
