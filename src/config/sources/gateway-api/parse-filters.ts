/**
 * HTTPRoute / GRPCRoute filters and backend references (config-apis.md 1.9, 1.10), already checked
 * by the schemas (schema.ts): kubebuilder defaults, and the values Gateway API lets a controller
 * refuse (an unknown enum value), which drop the rule (`RuleIssues.unsupported`).
 */
import type { LoadedObject } from '../../model.js';
import type { Path } from './read.js';
import type { BackendObjectReference, GrpcFilter, HttpFilter, PathModifier } from './schema.js';
import type * as gwapi from './types.js';

/** What makes a rule unusable without making the object invalid. */
export type RuleIssues = { unsupported?: string };

export function unsupported(issues: RuleIssues, message: string): void {
  issues.unsupported ??= message;
}

const HTTP_FILTERS = new Set([
  'RequestHeaderModifier',
  'ResponseHeaderModifier',
  'RequestRedirect',
  'URLRewrite',
  'RequestMirror',
  'ExtensionRef',
  'CORS',
  'ExternalAuth',
]);
const GRPC_FILTERS = new Set(['RequestHeaderModifier', 'ResponseHeaderModifier', 'RequestMirror', 'ExtensionRef']);

type FilterBody = gwapi.Filter extends infer F ? (F extends unknown ? Omit<F, 'index' | 'at'> : never) : never;

export function filters(
  o: LoadedObject,
  list: readonly (HttpFilter | GrpcFilter)[] | undefined,
  path: Path,
  kind: gwapi.RouteKind,
  issues: RuleIssues,
): gwapi.Filter[] {
  const out: gwapi.Filter[] = [];
  (list ?? []).forEach((f, index) => {
    if (!(kind === 'GRPCRoute' ? GRPC_FILTERS : HTTP_FILTERS).has(f.type)) {
      unsupported(issues, `filter type "${f.type}" is not supported on a ${kind}`);
      return;
    }
    const body = filter(o, f as HttpFilter, issues);
    if (body) out.push({ index, at: [...path, index], ...body } as gwapi.Filter);
  });
  return out;
}

function filter(o: LoadedObject, f: HttpFilter, issues: RuleIssues): FilterBody | undefined {
  switch (f.type) {
    case 'RequestHeaderModifier':
    case 'ResponseHeaderModifier': {
      const m = (f.type === 'RequestHeaderModifier' ? f.requestHeaderModifier : f.responseHeaderModifier) ?? {};
      return { type: f.type, headers: { set: m.set ?? [], add: m.add ?? [], remove: m.remove ?? [] } };
    }
    case 'RequestRedirect': {
      const r = f.requestRedirect ?? {};
      if (r.scheme !== undefined && r.scheme !== 'http' && r.scheme !== 'https')
        unsupported(issues, `redirect scheme "${r.scheme}" is not http or https`);
      const statusCode = r.statusCode ?? 302;
      if (![301, 302, 303, 307, 308].includes(statusCode))
        unsupported(issues, `redirect statusCode ${statusCode} is not 301, 302, 303, 307 or 308`);
      const p = pathModifier(r.path, issues);
      return {
        type: f.type,
        ...(r.scheme === 'http' || r.scheme === 'https' ? { scheme: r.scheme } : {}),
        ...(r.hostname !== undefined ? { hostname: r.hostname } : {}),
        ...(p ? { path: p } : {}),
        ...(r.port !== undefined ? { port: r.port } : {}),
        statusCode: statusCode as 301 | 302 | 303 | 307 | 308,
      };
    }
    case 'URLRewrite': {
      const r = f.urlRewrite ?? {};
      const p = pathModifier(r.path, issues);
      return { type: f.type, ...(r.hostname !== undefined ? { hostname: r.hostname } : {}), ...(p ? { path: p } : {}) };
    }
    case 'RequestMirror': {
      const m = f.requestMirror!;
      const fr = m.fraction;
      const percent = fr ? (fr.numerator / (fr.denominator ?? 100)) * 100 : (m.percent ?? 100);
      return { type: f.type, backendRef: objectRef(o, m.backendRef), percent };
    }
    case 'ExtensionRef': {
      const e = f.extensionRef!;
      return { type: f.type, group: e.group, kind: e.kind, name: e.name };
    }
    case 'CORS': {
      // The API server's defaults: no credentials, maxAge 5.
      const c = f.cors ?? {};
      return {
        type: f.type,
        cors: {
          allowOrigins: c.allowOrigins ?? [],
          allowCredentials: c.allowCredentials ?? false,
          allowMethods: c.allowMethods ?? [],
          allowHeaders: c.allowHeaders ?? [],
          exposeHeaders: c.exposeHeaders ?? [],
          maxAge: c.maxAge ?? 5,
        },
      };
    }
    case 'ExternalAuth':
      return { type: f.type };
  }
  return undefined;
}

function pathModifier(p: PathModifier | undefined, issues: RuleIssues): gwapi.PathModifier | undefined {
  if (!p) return undefined;
  if (p.type === 'ReplaceFullPath') return { type: p.type, value: p.replaceFullPath ?? '' };
  if (p.type === 'ReplacePrefixMatch') return { type: p.type, value: p.replacePrefixMatch ?? '' };
  unsupported(issues, `path modifier type "${p.type}" is not ReplaceFullPath or ReplacePrefixMatch`);
  return undefined;
}

/** BackendObjectReference with its defaults: group "" (core), kind Service, the route's namespace. */
export function objectRef(o: LoadedObject, r: BackendObjectReference): gwapi.BackendObjectRef {
  return {
    group: r.group ?? '',
    kind: r.kind ?? 'Service',
    name: r.name,
    namespace: r.namespace ?? o.metadata.namespace,
    ...(r.port !== undefined ? { port: r.port } : {}),
  };
}

export function backendRefs(
  o: LoadedObject,
  list:
    readonly (BackendObjectReference & { weight?: number | undefined; filters?: (HttpFilter | GrpcFilter)[] | undefined })[] | undefined,
  path: Path,
  kind: gwapi.RouteKind,
  issues: RuleIssues,
): gwapi.BackendRef[] {
  return (list ?? []).map((r, index) => {
    const bp = [...path, index];
    return {
      ...objectRef(o, r),
      index,
      path: bp,
      weight: r.weight ?? 1,
      filters: filters(o, r.filters, [...bp, 'filters'], kind, issues),
    };
  });
}
