/**
 * HTTPRoute / GRPCRoute filters and backend references (config-apis.md 1.9, 1.10): schema and
 * CEL checks. Schema violations reject the object (`reject`); values Gateway API lets a controller
 * refuse (an unknown enum value) drop the rule (`RuleIssues.unsupported`).
 */
import { hostnameError } from './hostnames.js';
import { isObject, readArray, readBool, readInt, readObject, readString, reject, type Json, type Path, type ReadCtx } from './read.js';
import type * as gwapi from './types.js';

/** What makes a rule unusable without making the object invalid. */
export type RuleIssues = { unsupported?: string };

export function unsupported(issues: RuleIssues, message: string): void {
  issues.unsupported ??= message;
}

const HEADER_NAME = /^[A-Za-z0-9!#$%&'*+\-.^_`|~]+$/;

export function readHeaderName(ctx: ReadCtx, v: unknown, path: Path): string {
  const name = readString(ctx, v, path, { required: true, min: 1, max: 256 }) ?? '';
  if (name !== '' && !HEADER_NAME.test(name)) reject(ctx, path, `header name "${name}" may only contain token characters (RFC 7230)`);
  return name;
}

const FILTER_FIELDS: Record<string, string> = {
  RequestHeaderModifier: 'requestHeaderModifier',
  ResponseHeaderModifier: 'responseHeaderModifier',
  RequestRedirect: 'requestRedirect',
  URLRewrite: 'urlRewrite',
  RequestMirror: 'requestMirror',
  ExtensionRef: 'extensionRef',
  CORS: 'cors',
  ExternalAuth: 'externalAuth',
};

const HTTP_FILTERS = new Set(Object.keys(FILTER_FIELDS));
const GRPC_FILTERS = new Set(['RequestHeaderModifier', 'ResponseHeaderModifier', 'RequestMirror', 'ExtensionRef']);
const REPEATABLE = new Set(['RequestMirror', 'ExtensionRef']);

export function parseFilters(ctx: ReadCtx, v: unknown, path: Path, kind: gwapi.RouteKind, issues: RuleIssues): gwapi.Filter[] {
  const out: gwapi.Filter[] = [];
  const seen = new Set<string>();
  readArray(ctx, v, path, 16).forEach((raw, index) => {
    const fp = [...path, index];
    const f = readObject(ctx, raw, fp);
    if (!f) return;
    const type = readString(ctx, f.type, [...fp, 'type'], { required: true }) ?? '';
    const allowed = kind === 'GRPCRoute' ? GRPC_FILTERS : HTTP_FILTERS;
    if (!allowed.has(type)) {
      unsupported(issues, `filter type "${type}" is not supported on a ${kind}`);
      return;
    }
    // The sub-object named after the type must be there, and no other (CEL).
    const field = FILTER_FIELDS[type]!;
    for (const [t, other] of Object.entries(FILTER_FIELDS)) {
      if (t !== type && f[other] !== undefined && f[other] !== null)
        reject(ctx, [...fp, other], `filter.${other} must be nil if the filter.type is not ${t}`);
    }
    const body = f[field];
    if ((body === undefined || body === null) && type !== 'CORS' && type !== 'ExternalAuth') {
      reject(ctx, [...fp, field], `filter.${field} must be specified for ${type} filter.type`);
      return;
    }
    if (!REPEATABLE.has(type)) {
      if (seen.has(type)) reject(ctx, fp, `${type} filter cannot be repeated`);
      seen.add(type);
    }
    const bp = [...fp, field];
    const filter = parseFilter(ctx, type, isObject(body) ? body : {}, bp, issues);
    if (filter) out.push({ index, at: fp, ...filter } as gwapi.Filter);
  });
  if (seen.has('RequestRedirect') && seen.has('URLRewrite'))
    reject(ctx, path, 'May specify either httpRouteFilterRequestRedirect or httpRouteFilterRequestRewrite, but not both');
  return out;
}

type FilterBody = gwapi.Filter extends infer F ? (F extends unknown ? Omit<F, 'index' | 'at'> : never) : never;

function parseFilter(ctx: ReadCtx, type: string, body: Json, path: Path, issues: RuleIssues): FilterBody | undefined {
  switch (type) {
    case 'RequestHeaderModifier':
    case 'ResponseHeaderModifier':
      return { type, headers: parseHeaderModifier(ctx, body, path) };
    case 'RequestRedirect': {
      const scheme = readString(ctx, body.scheme, [...path, 'scheme']);
      if (scheme !== undefined && scheme !== 'http' && scheme !== 'https')
        unsupported(issues, `redirect scheme "${scheme}" is not http or https`);
      const hostname = readPreciseHostname(ctx, body.hostname, [...path, 'hostname']);
      const port = readInt(ctx, body.port, [...path, 'port'], 1, 65535);
      const statusCode = readInt(ctx, body.statusCode, [...path, 'statusCode'], 0, 999) ?? 302;
      if (![301, 302, 303, 307, 308].includes(statusCode))
        unsupported(issues, `redirect statusCode ${statusCode} is not 301, 302, 303, 307 or 308`);
      const p = parsePathModifier(ctx, body.path, [...path, 'path'], issues);
      return {
        type,
        ...(scheme === 'http' || scheme === 'https' ? { scheme } : {}),
        ...(hostname !== undefined ? { hostname } : {}),
        ...(p ? { path: p } : {}),
        ...(port !== undefined ? { port } : {}),
        statusCode: statusCode as 301 | 302 | 303 | 307 | 308,
      };
    }
    case 'URLRewrite': {
      const hostname = readPreciseHostname(ctx, body.hostname, [...path, 'hostname']);
      const p = parsePathModifier(ctx, body.path, [...path, 'path'], issues);
      return { type, ...(hostname !== undefined ? { hostname } : {}), ...(p ? { path: p } : {}) };
    }
    case 'RequestMirror': {
      const backendRef = parseObjectRef(ctx, body.backendRef, [...path, 'backendRef'], true) ?? {
        group: '',
        kind: 'Service',
        namespace: '',
        name: '',
      };
      let percent = 100;
      if (body.percent !== undefined && body.fraction !== undefined)
        reject(ctx, path, 'Only one of percent or fraction may be specified in HTTPRequestMirrorFilter');
      if (body.percent !== undefined) percent = readInt(ctx, body.percent, [...path, 'percent'], 0, 100) ?? 100;
      const fr = readObject(ctx, body.fraction, [...path, 'fraction']);
      if (fr) {
        const num = readInt(ctx, fr.numerator, [...path, 'fraction', 'numerator'], 0, 2 ** 31 - 1, true) ?? 0;
        const den = readInt(ctx, fr.denominator, [...path, 'fraction', 'denominator'], 1, 2 ** 31 - 1) ?? 100;
        if (num > den) reject(ctx, [...path, 'fraction'], 'numerator must be less than or equal to denominator');
        percent = (num / den) * 100;
      }
      return { type, backendRef, percent };
    }
    case 'ExtensionRef':
      return {
        type,
        group: readString(ctx, body.group, [...path, 'group'], { required: true }) ?? '',
        kind: readString(ctx, body.kind, [...path, 'kind'], { required: true, min: 1 }) ?? '',
        name: readString(ctx, body.name, [...path, 'name'], { required: true, min: 1 }) ?? '',
      };
    case 'CORS':
      return { type, cors: parseCors(ctx, body, path) };
    case 'ExternalAuth':
      return { type };
  }
  return undefined;
}

const CORS_METHODS = new Set(['GET', 'HEAD', 'POST', 'PUT', 'DELETE', 'CONNECT', 'OPTIONS', 'TRACE', 'PATCH', '*']);
// `*`, or scheme://host[:port] where the host may hold `*` wildcards (HTTPCORSFilter's CORSOrigin).
const CORS_ORIGIN = /^(\*|[a-zA-Z][a-zA-Z0-9+\-.]+:\/\/[^:/?#]+(:[0-9]{1,5})?)$/;

/** HTTPCORSFilter: schema, enums and the CEL rules on `*`; maxAge defaults to 5 (kubebuilder). */
function parseCors(ctx: ReadCtx, body: Json, path: Path): gwapi.Cors {
  const list = (key: string, max: number, read: (v: unknown, p: Path) => string): string[] => {
    const out = readArray(ctx, body[key], [...path, key], max).map((v, i) => read(v, [...path, key, i]));
    if (new Set(out).size !== out.length) reject(ctx, [...path, key], `${key} must not list a value twice`);
    if (out.includes('*') && out.length > 1) reject(ctx, [...path, key], `${key} cannot contain '*' alongside other values`);
    return out;
  };
  const allowOrigins = list('allowOrigins', 64, (v, p) => {
    const s = readString(ctx, v, p, { required: true, min: 1, max: 253 }) ?? '';
    if (s !== '' && !CORS_ORIGIN.test(s)) reject(ctx, p, `origin "${s}" must be "*" or scheme://host[:port]`);
    return s;
  });
  const allowMethods = list('allowMethods', 9, (v, p) => {
    const s = readString(ctx, v, p, { required: true }) ?? '';
    if (!CORS_METHODS.has(s)) reject(ctx, p, `method "${s}" must be one of ${[...CORS_METHODS].join(', ')}`);
    return s;
  });
  const headerOrStar = (v: unknown, p: Path) => (v === '*' ? '*' : readHeaderName(ctx, v, p));
  return {
    allowOrigins,
    allowCredentials: readBool(ctx, body.allowCredentials, [...path, 'allowCredentials']) ?? false,
    allowMethods,
    allowHeaders: list('allowHeaders', 64, headerOrStar),
    exposeHeaders: list('exposeHeaders', 64, headerOrStar),
    maxAge: readInt(ctx, body.maxAge, [...path, 'maxAge'], 1, 2 ** 31 - 1) ?? 5,
  };
}

function readPreciseHostname(ctx: ReadCtx, v: unknown, path: Path): string | undefined {
  const h = readString(ctx, v, path);
  if (h === undefined) return undefined;
  const err = hostnameError(h, true);
  if (err) reject(ctx, path, err);
  return h;
}

function parseHeaderModifier(ctx: ReadCtx, body: Json, path: Path): gwapi.HeaderModifier {
  const values = (key: 'set' | 'add'): gwapi.HeaderValue[] => {
    const seen = new Set<string>();
    return readArray(ctx, body[key], [...path, key], 16).map((h, i) => {
      const hp = [...path, key, i];
      const obj = readObject(ctx, h, hp) ?? {};
      const name = readHeaderName(ctx, obj.name, [...hp, 'name']);
      const value = readString(ctx, obj.value, [...hp, 'value'], { required: true, max: 4096 }) ?? '';
      const lower = name.toLowerCase();
      if (seen.has(lower)) reject(ctx, hp, `header "${name}" appears twice in ${key}`);
      seen.add(lower);
      return { name, value };
    });
  };
  const set = values('set');
  const add = values('add');
  const remove = readArray(ctx, body.remove, [...path, 'remove'], 16).map((n, i) => readHeaderName(ctx, n, [...path, 'remove', i]));
  if (new Set(remove.map((r) => r.toLowerCase())).size !== remove.length) reject(ctx, [...path, 'remove'], 'remove lists a header twice');
  return { set, add, remove };
}

function parsePathModifier(ctx: ReadCtx, v: unknown, path: Path, issues: RuleIssues): gwapi.PathModifier | undefined {
  const p = readObject(ctx, v, path);
  if (!p) return undefined;
  const type = readString(ctx, p.type, [...path, 'type'], { required: true }) ?? '';
  const full = readString(ctx, p.replaceFullPath, [...path, 'replaceFullPath'], { max: 1024 });
  const prefix = readString(ctx, p.replacePrefixMatch, [...path, 'replacePrefixMatch'], { max: 1024 });
  if (type === 'ReplaceFullPath') {
    if (full === undefined) reject(ctx, path, "replaceFullPath must be specified when type is set to 'ReplaceFullPath'");
    if (prefix !== undefined) reject(ctx, path, "type must be 'ReplacePrefixMatch' when replacePrefixMatch is set");
    return { type, value: full ?? '' };
  }
  if (type === 'ReplacePrefixMatch') {
    if (prefix === undefined) reject(ctx, path, "replacePrefixMatch must be specified when type is set to 'ReplacePrefixMatch'");
    if (full !== undefined) reject(ctx, path, "type must be 'ReplaceFullPath' when replaceFullPath is set");
    return { type, value: prefix ?? '' };
  }
  unsupported(issues, `path modifier type "${type}" is not ReplaceFullPath or ReplacePrefixMatch`);
  return undefined;
}

/** BackendObjectReference: `group` "" and `kind` Service by default; Services need a port (CEL). */
export function parseObjectRef(ctx: ReadCtx, v: unknown, path: Path, required: boolean): gwapi.BackendObjectRef | undefined {
  const r = readObject(ctx, v, path);
  if (!r) {
    if (required) reject(ctx, path, `${path[path.length - 1]} is required`);
    return undefined;
  }
  const group = readString(ctx, r.group, [...path, 'group'], { max: 253 }) ?? '';
  const kind = readString(ctx, r.kind, [...path, 'kind'], { min: 1, max: 63 }) ?? 'Service';
  const name = readString(ctx, r.name, [...path, 'name'], { required: true, min: 1, max: 253 }) ?? '';
  const namespace = readString(ctx, r.namespace, [...path, 'namespace'], { min: 1, max: 63 }) ?? ctx.o.metadata.namespace;
  const port = readInt(ctx, r.port, [...path, 'port'], 1, 65535);
  if (port === undefined && group === '' && kind === 'Service') reject(ctx, path, 'Must have port for Service reference');
  return { group, kind, name, namespace, ...(port !== undefined ? { port } : {}) };
}

export function parseBackendRefs(ctx: ReadCtx, v: unknown, path: Path, kind: gwapi.RouteKind, issues: RuleIssues): gwapi.BackendRef[] {
  const out: gwapi.BackendRef[] = [];
  readArray(ctx, v, path, 16).forEach((raw, index) => {
    const bp = [...path, index];
    const ref = parseObjectRef(ctx, raw, bp, true);
    if (!ref) return;
    const body = isObject(raw) ? raw : {};
    const weight = readInt(ctx, body.weight, [...bp, 'weight'], 0, 1_000_000) ?? 1;
    const filters = parseFilters(ctx, body.filters, [...bp, 'filters'], kind, issues);
    out.push({ ...ref, index, path: bp, weight, filters });
  });
  return out;
}
