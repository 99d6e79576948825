/**
 * Gateway API schemas (config-apis.md 1.1-1.12, section 6 #1-#4, #11, #14-#17): GatewayClass,
 * Gateway, HTTPRoute, GRPCRoute and ReferenceGrant `spec`s as the CRDs check them: required fields,
 * types, lengths, patterns, bounds, list sizes, GEP-2257 durations, and the per-object CEL rules
 * with the CRDs' messages. v1, v1beta1 and v1alpha2 share these schemas (the served versions are
 * identical). Field sets follow the experimental channel (a superset); bounds follow the standard
 * channel where the two differ.
 *
 * Not here, on purpose: enum values Gateway API lets a controller refuse (match, filter and path
 * modifier types, methods, redirect scheme and status) are plain strings, checked by the readers,
 * which drop the rule with `UnsupportedValue` (config-apis.md 6 #14); so is RE2 validity. No
 * kubebuilder defaults are applied here: the readers apply them and record where values came from.
 */
import { z } from 'zod';
import {
  DNS_SUBDOMAIN,
  dnsSubdomain,
  gatewayDuration,
  int,
  INT32_MAX,
  issue,
  labelSelector,
  namespaceName,
  pattern,
  str,
  validDurationMs,
} from '../../schema/k8s.js';
import { hostnameError } from './hostnames.js';

// ---------------------------------------------------------------- shared types (1.1)

const GROUP_RE = /^$|^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const KIND_RE = /^[a-zA-Z]([-a-zA-Z0-9]*[a-zA-Z0-9])?$/;
const HEADER_NAME_RE = /^[A-Za-z0-9!#$%&'*+\-.^_`|~]+$/;

export const group = pattern(GROUP_RE, (v) => `{path} "${v}" must be empty (core) or a DNS subdomain`, 0, 253);
export const kind = pattern(KIND_RE, (v) => `{path} "${v}" must be a kind name: a letter, then letters, digits or '-'`, 1, 63);
export const objectName = str(1, 253);
export const sectionName = dnsSubdomain;
const port = int(1, 65535);

const hostname = z.string().superRefine((h, ctx) => {
  const err = hostnameError(h);
  if (err) issue(ctx, err);
});
const preciseHostname = z.string().superRefine((h, ctx) => {
  const err = hostnameError(h, true);
  if (err) issue(ctx, err);
});

export const headerName = pattern(HEADER_NAME_RE, (v) => `header name "${v}" may only contain token characters (RFC 7230)`, 1, 256);

const duration = gatewayDuration();

// ---------------------------------------------------------------- GatewayClass (1.2)

const CONTROLLER_RE = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*\/[A-Za-z0-9/\-._~%!$&'()*+,;=:]+$/;

export const GatewayClassSpec = z.object({
  controllerName: pattern(
    CONTROLLER_RE,
    (v) => `controllerName "${v}" must be a domain-prefixed path such as example.com/controller`,
    1,
    253,
  ),
  description: str(0, 64).optional(),
  parametersRef: z.object({ group, kind, name: objectName, namespace: namespaceName.optional() }).optional(),
});
export type GatewayClassSpec = z.infer<typeof GatewayClassSpec>;

// ---------------------------------------------------------------- Gateway (1.3)

const PROTOCOL_RE =
  /^[a-zA-Z0-9]([-a-zA-Z0-9]*[a-zA-Z0-9])?$|[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*\/[A-Za-z0-9]+$/;

const SecretObjectReference = z.object({
  group: group.optional(),
  kind: kind.optional(),
  name: objectName,
  namespace: namespaceName.optional(),
});

const Listener = z.object({
  name: pattern(DNS_SUBDOMAIN, (v) => `listener name "${v}" must be a DNS subdomain`, 1, 253),
  hostname: hostname.optional(),
  port,
  protocol: pattern(
    PROTOCOL_RE,
    (v) => `protocol "${v}" is not HTTP, HTTPS, TLS, TCP, UDP, an alphanumeric name or a domain-prefixed name such as example.com/proto`,
    1,
    255,
  ),
  tls: z
    .object({
      mode: z.string().optional(),
      certificateRefs: z.array(SecretObjectReference).max(64).optional(),
      options: z.record(z.string(), str(0, 4096)).optional(),
      // Removed in v1.3 but still served by older CRDs.
      frontendValidation: z.looseObject({}).optional(),
    })
    .superRefine((t, ctx) => {
      if (t.mode !== undefined && t.mode !== 'Terminate' && t.mode !== 'Passthrough')
        issue(ctx, `tls.mode must be Terminate or Passthrough, not "${t.mode}"`, { path: ['mode'] });
      if ((t.mode ?? 'Terminate') === 'Terminate' && (t.certificateRefs ?? []).length === 0 && Object.keys(t.options ?? {}).length === 0)
        issue(ctx, 'certificateRefs or options must be specified when mode is Terminate', {
          fix: 'list the Secret holding the certificate in certificateRefs',
        });
    })
    .optional(),
  allowedRoutes: z
    .object({
      namespaces: z
        .object({ from: z.string().optional(), selector: labelSelector.optional() })
        .superRefine((n, ctx) => {
          if (n.from !== undefined && !['All', 'Same', 'Selector'].includes(n.from))
            issue(ctx, `namespaces.from must be All, Same or Selector, not "${n.from}"`, { path: ['from'] });
          else if (n.from === 'Selector' && n.selector === undefined)
            issue(ctx, 'namespaces.selector is required when from is Selector', { path: ['selector'] });
        })
        .optional(),
      kinds: z
        .array(z.object({ group: group.optional(), kind }))
        .max(8)
        .optional(),
    })
    .optional(),
});
export type GatewayListener = z.infer<typeof Listener>;

const LABEL_KEY_RE = /^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*\/)?([A-Za-z0-9][-A-Za-z0-9_.]{0,61})?[A-Za-z0-9]$/;

export const GatewaySpec = z
  .object({
    gatewayClassName: objectName,
    listeners: z.array(Listener).min(1, { error: 'a Gateway needs at least one listener' }).max(64),
    addresses: z
      .array(z.object({ type: str(1, 253).optional(), value: str(0, 253).optional() }))
      .max(16)
      .optional(),
    infrastructure: z
      .object({
        labels: z.record(z.string(), str(0, 63)).optional(),
        annotations: z.record(z.string(), str(0, 4096)).optional(),
        parametersRef: z.object({ group, kind, name: objectName }).optional(),
      })
      .superRefine((i, ctx) => {
        for (const key of ['labels', 'annotations'] as const)
          for (const k of Object.keys(i[key] ?? {}))
            if (!LABEL_KEY_RE.test(k))
              issue(
                ctx,
                `${key === 'labels' ? 'Label' : 'Annotation'} keys must be in the form of an optional DNS subdomain prefix followed by a required name segment of up to 63 characters.`,
                { path: [key, k] },
              );
      })
      .optional(),
    tls: z.looseObject({}).optional(),
    allowedListeners: z.looseObject({}).optional(),
    defaultScope: z.enum(['All', 'None']).optional(),
    backendTLS: z.looseObject({}).optional(),
  })
  .superRefine((g, ctx) => {
    const names = new Set<string>();
    const combos = new Set<string>();
    g.listeners.forEach((l, i) => {
      const at = (...p: (string | number)[]) => ({ path: ['listeners', i, ...p] });
      if (l.tls !== undefined && ['HTTP', 'TCP', 'UDP'].includes(l.protocol))
        issue(ctx, "tls must not be specified for protocols ['HTTP', 'TCP', 'UDP']", at('tls'));
      if (l.protocol === 'HTTPS' && l.tls?.mode !== undefined && l.tls.mode !== 'Terminate')
        issue(ctx, 'tls mode must be Terminate for protocol HTTPS', at('tls', 'mode'));
      if (l.protocol === 'TLS' && (l.tls === undefined || !l.tls.mode)) issue(ctx, 'tls mode must be set for protocol TLS', at('tls'));
      if (l.hostname !== undefined && l.hostname !== '' && (l.protocol === 'TCP' || l.protocol === 'UDP'))
        issue(ctx, "hostname must not be specified for protocols ['TCP', 'UDP']", at('hostname'));
      if (names.has(l.name))
        issue(ctx, `listener name "${l.name}" is used twice`, { ...at('name'), fix: 'Listener name must be unique within the Gateway' });
      names.add(l.name);
      const combo = `${l.port}/${l.protocol}/${l.hostname ?? ''}`;
      if (combos.has(combo)) issue(ctx, 'Combination of port, protocol and hostname must be unique for each listener', at());
      combos.add(combo);
    });
  });
export type GatewaySpec = z.infer<typeof GatewaySpec>;

// ---------------------------------------------------------------- references (1.4, 1.10)

const ParentReference = z.object({
  group: group.optional(),
  kind: kind.optional(),
  namespace: namespaceName.optional(),
  name: objectName,
  sectionName: sectionName.optional(),
  port: port.optional(),
});
export type ParentReference = z.infer<typeof ParentReference>;

/** BackendObjectReference; a core Service needs a port (CEL). */
const BackendObjectReference = z
  .object({ group: group.optional(), kind: kind.optional(), name: objectName, namespace: namespaceName.optional(), port: port.optional() })
  .superRefine((r, ctx) => {
    if ((r.group ?? '') === '' && (r.kind ?? 'Service') === 'Service' && r.port === undefined)
      issue(ctx, 'Must have port for Service reference', { fix: 'add the Service port (port: 80)' });
  });
export type BackendObjectReference = z.infer<typeof BackendObjectReference>;

// ---------------------------------------------------------------- filters (1.9)

const HeaderValue = z.object({ name: headerName, value: str(1, 4096) });

const HeaderModifier = z
  .object({
    set: z.array(HeaderValue).max(16).optional(),
    add: z.array(HeaderValue).max(16).optional(),
    remove: z.array(headerName).max(16).optional(),
  })
  .superRefine((m, ctx) => {
    for (const key of ['set', 'add'] as const) {
      const seen = new Set<string>();
      (m[key] ?? []).forEach((h, i) => {
        const lower = h.name.toLowerCase();
        if (seen.has(lower)) issue(ctx, `header "${h.name}" appears twice in ${key}`, { path: [key, i] });
        seen.add(lower);
      });
    }
    const remove = (m.remove ?? []).map((r) => r.toLowerCase());
    if (new Set(remove).size !== remove.length) issue(ctx, 'remove lists a header twice', { path: ['remove'] });
  });

const PathModifier = z
  .object({ type: z.string(), replaceFullPath: str(0, 1024).optional(), replacePrefixMatch: str(0, 1024).optional() })
  .superRefine((p, ctx) => {
    if (p.type === 'ReplaceFullPath' && p.replaceFullPath === undefined)
      issue(ctx, "replaceFullPath must be specified when type is set to 'ReplaceFullPath'");
    if (p.replaceFullPath !== undefined && p.type !== 'ReplaceFullPath')
      issue(ctx, "type must be 'ReplaceFullPath' when replaceFullPath is set");
    if (p.type === 'ReplacePrefixMatch' && p.replacePrefixMatch === undefined)
      issue(ctx, "replacePrefixMatch must be specified when type is set to 'ReplacePrefixMatch'");
    if (p.replacePrefixMatch !== undefined && p.type !== 'ReplacePrefixMatch')
      issue(ctx, "type must be 'ReplacePrefixMatch' when replacePrefixMatch is set");
  });
export type PathModifier = z.infer<typeof PathModifier>;

const RequestRedirect = z.object({
  scheme: z.string().optional(),
  hostname: preciseHostname.optional(),
  path: PathModifier.optional(),
  port: port.optional(),
  statusCode: int(0, 999).optional(),
});

const URLRewrite = z.object({ hostname: preciseHostname.optional(), path: PathModifier.optional() });

const RequestMirror = z
  .object({
    backendRef: BackendObjectReference,
    percent: int(0, 100).optional(),
    fraction: z
      .object({ numerator: int(0, INT32_MAX), denominator: int(1, INT32_MAX).optional() })
      .superRefine((f, ctx) => {
        if (f.numerator > (f.denominator ?? 100)) issue(ctx, 'numerator must be less than or equal to denominator');
      })
      .optional(),
  })
  .superRefine((m, ctx) => {
    if (m.percent !== undefined && m.fraction !== undefined)
      issue(ctx, 'Only one of percent or fraction may be specified in HTTPRequestMirrorFilter');
  });

const LocalObjectReference = z.object({ group, kind, name: objectName });

const CORS_METHODS = ['GET', 'HEAD', 'POST', 'PUT', 'DELETE', 'CONNECT', 'OPTIONS', 'TRACE', 'PATCH', '*'];
// `*`, or scheme://host[:port] where the host may hold `*` wildcards (CORSOrigin).
const CORS_ORIGIN = /^(\*|[a-zA-Z][a-zA-Z0-9+\-.]+:\/\/[^:/?#]+(:[0-9]{1,5})?)$/;

/** A CORS list: a set (no value twice), and, where the CRD says so, `*` only alone. */
function corsList(item: z.ZodType<string>, max: number, star?: 'AllowOrigins' | 'AllowMethods' | 'AllowHeaders') {
  return z
    .array(item)
    .max(max)
    .superRefine((list, ctx) => {
      if (new Set(list).size !== list.length) issue(ctx, '{path} must not list a value twice');
      if (star && list.includes('*') && list.length > 1)
        issue(ctx, `${star} cannot contain '*' alongside other ${star === 'AllowOrigins' ? 'origins' : 'methods'}`);
    });
}

const CORS = z.object({
  allowOrigins: corsList(
    pattern(CORS_ORIGIN, (v) => `origin "${v}" must be "*" or scheme://host[:port]`, 1, 253),
    64,
    'AllowOrigins',
  ).optional(),
  allowCredentials: z.boolean().optional(),
  allowMethods: corsList(
    z.string().superRefine((m, ctx) => {
      if (!CORS_METHODS.includes(m)) issue(ctx, `method "${m}" must be one of ${CORS_METHODS.join(', ')}`);
    }),
    9,
    'AllowMethods',
  ).optional(),
  allowHeaders: corsList(headerName, 64, 'AllowHeaders').optional(),
  exposeHeaders: corsList(headerName, 64).optional(),
  maxAge: int(1, INT32_MAX).optional(),
});

const ExternalAuth = z
  .object({
    protocol: z.enum(['HTTP', 'GRPC']),
    backendRef: BackendObjectReference,
    grpc: z.object({ allowedHeaders: z.array(z.string()).max(64).optional() }).optional(),
    http: z
      .object({
        path: str(0, 1024).optional(),
        allowedHeaders: z.array(z.string()).max(64).optional(),
        allowedResponseHeaders: z.array(z.string()).max(64).optional(),
      })
      .optional(),
    forwardBody: z.object({ maxSize: int(0, INT32_MAX).optional() }).optional(),
  })
  .superRefine((a, ctx) => {
    if (a.protocol === 'GRPC' && !a.grpc) issue(ctx, "grpc must be specified when protocol is set to 'GRPC'");
    if (a.grpc && a.protocol !== 'GRPC') issue(ctx, "protocol must be 'GRPC' when grpc is set");
    if (a.protocol === 'HTTP' && !a.http) issue(ctx, "http must be specified when protocol is set to 'HTTP'");
    if (a.http && a.protocol !== 'HTTP') issue(ctx, "protocol must be 'HTTP' when http is set");
  });

/** Filter types and the field each one's settings go in. */
export const FILTER_FIELDS = {
  RequestHeaderModifier: 'requestHeaderModifier',
  ResponseHeaderModifier: 'responseHeaderModifier',
  RequestRedirect: 'requestRedirect',
  URLRewrite: 'urlRewrite',
  RequestMirror: 'requestMirror',
  ExtensionRef: 'extensionRef',
  CORS: 'cors',
  ExternalAuth: 'externalAuth',
} as const;
export type FilterType = keyof typeof FILTER_FIELDS;

const HTTP_FILTER_TYPES = Object.keys(FILTER_FIELDS) as FilterType[];
const GRPC_FILTER_TYPES: FilterType[] = ['RequestHeaderModifier', 'ResponseHeaderModifier', 'RequestMirror', 'ExtensionRef'];
const NOT_REPEATABLE: Record<'HTTPRoute' | 'GRPCRoute', FilterType[]> = {
  HTTPRoute: ['CORS', 'RequestHeaderModifier', 'ResponseHeaderModifier', 'RequestRedirect', 'URLRewrite'],
  GRPCRoute: ['RequestHeaderModifier', 'ResponseHeaderModifier'],
};

const GrpcFilterFields = {
  type: z.string(),
  requestHeaderModifier: HeaderModifier.optional(),
  responseHeaderModifier: HeaderModifier.optional(),
  requestMirror: RequestMirror.optional(),
  extensionRef: LocalObjectReference.optional(),
};
// A GRPCRoute filter has no redirect, rewrite, CORS or external auth fields (they are unknown there).
const HttpFilterFields = {
  ...GrpcFilterFields,
  requestRedirect: RequestRedirect.optional(),
  urlRewrite: URLRewrite.optional(),
  cors: CORS.optional(),
  externalAuth: ExternalAuth.optional(),
};

/** The CEL rules tying a filter's type to its one settings field; unknown types are the reader's (UnsupportedValue). */
function checkFilterFields(types: readonly FilterType[]) {
  return (f: { type: string }, ctx: z.RefinementCtx) => {
    if (!(types as readonly string[]).includes(f.type)) return;
    const own = FILTER_FIELDS[f.type as FilterType];
    const body = f as Record<string, unknown>;
    for (const t of types) {
      const field = FILTER_FIELDS[t];
      if (t !== f.type && body[field] !== undefined)
        issue(ctx, `filter.${field} must be nil if the filter.type is not ${t}`, { path: [field] });
    }
    if (body[own] === undefined) issue(ctx, `filter.${own} must be specified for ${f.type} filter.type`, { path: [own] });
  };
}

const HttpFilter = z.object(HttpFilterFields).superRefine(checkFilterFields(HTTP_FILTER_TYPES));
const GrpcFilter = z.object(GrpcFilterFields).superRefine(checkFilterFields(GRPC_FILTER_TYPES));

function filtersSchema<F extends typeof HttpFilter | typeof GrpcFilter>(route: 'HTTPRoute' | 'GRPCRoute', filter: F) {
  return z
    .array(filter)
    .max(16)
    .superRefine((list, ctx) => {
      for (const t of NOT_REPEATABLE[route]) if (list.filter((f) => f.type === t).length > 1) issue(ctx, `${t} filter cannot be repeated`);
      if (list.some((f) => f.type === 'RequestRedirect') && list.some((f) => f.type === 'URLRewrite'))
        issue(ctx, 'May specify either httpRouteFilterRequestRedirect or httpRouteFilterRequestRewrite, but not both');
    });
}

const HttpFilters = filtersSchema('HTTPRoute', HttpFilter);
const GrpcFilters = filtersSchema('GRPCRoute', GrpcFilter);
export type HttpFilter = z.infer<typeof HttpFilters>[number];
export type GrpcFilter = z.infer<typeof GrpcFilters>[number];

function backendRefSchema(filters: typeof HttpFilters | typeof GrpcFilters) {
  return z
    .object({
      group: group.optional(),
      kind: kind.optional(),
      name: objectName,
      namespace: namespaceName.optional(),
      port: port.optional(),
      weight: int(0, 1_000_000).optional(),
      filters: filters.optional(),
    })
    .superRefine((r, ctx) => {
      if ((r.group ?? '') === '' && (r.kind ?? 'Service') === 'Service' && r.port === undefined)
        issue(ctx, 'Must have port for Service reference', { fix: 'add the Service port (port: 80)' });
    });
}

// ---------------------------------------------------------------- matches (1.6, 1.8)

const PATH_CHARS = /^(?:[-A-Za-z0-9/._~!$&'()*+,;=:@]|[%][0-9a-fA-F]{2})+$/;

/** The CEL rules on Exact and PathPrefix values, with the CRD's messages, in its order. */
export function pathValueErrors(value: string): string[] {
  const rules: [boolean, string][] = [
    [!value.startsWith('/'), "value must be an absolute path and start with '/' when type one of ['Exact', 'PathPrefix']"],
    [value.includes('//'), "must not contain '//' when type one of ['Exact', 'PathPrefix']"],
    [value.includes('/./'), "must not contain '/./' when type one of ['Exact', 'PathPrefix']"],
    [value.includes('/../'), "must not contain '/../' when type one of ['Exact', 'PathPrefix']"],
    [value.includes('%2f'), "must not contain '%2f' when type one of ['Exact', 'PathPrefix']"],
    [value.includes('%2F'), "must not contain '%2F' when type one of ['Exact', 'PathPrefix']"],
    [value.includes('#'), "must not contain '#' when type one of ['Exact', 'PathPrefix']"],
    [value.endsWith('/..'), "must not end with '/..' when type one of ['Exact', 'PathPrefix']"],
    [value.endsWith('/.'), "must not end with '/.' when type one of ['Exact', 'PathPrefix']"],
    [
      !PATH_CHARS.test(value),
      "must only contain valid characters (matching ^(?:[-A-Za-z0-9/._~!$&'()*+,;=:@]|[%][0-9a-fA-F]{2})+$) for types ['Exact', 'PathPrefix']",
    ],
  ];
  return rules.filter(([bad]) => bad).map(([, m]) => m);
}

const HttpPathMatch = z.object({ type: z.string().optional(), value: str(0, 1024).optional() }).superRefine((p, ctx) => {
  const type = p.type ?? 'PathPrefix';
  if (type === 'Exact' || type === 'PathPrefix') for (const m of pathValueErrors(p.value ?? '/')) issue(ctx, m, { path: ['value'] });
});

/** Header / query parameter matches: names unique (the list is keyed by name). */
function stringMatches(name: typeof headerName, valueMax: number, what: 'header' | 'query') {
  return z
    .array(z.object({ type: z.string().optional(), name, value: str(1, valueMax) }))
    .max(16)
    .superRefine((list, ctx) => {
      const seen = new Set<string>();
      list.forEach((m, i) => {
        if (seen.has(m.name)) issue(ctx, `${what} "${m.name}" is matched twice`, { path: [i] });
        seen.add(m.name);
      });
    });
}

const HttpRouteMatch = z.object({
  path: HttpPathMatch.optional(),
  headers: stringMatches(headerName, 4096, 'header').optional(),
  queryParams: stringMatches(headerName, 1024, 'query').optional(),
  method: z.string().optional(),
});
export type HttpRouteMatch = z.infer<typeof HttpRouteMatch>;

const GRPC_SERVICE = /^\.?[a-z_][a-z_0-9]*(\.[a-z_][a-z_0-9]*)*$/i;
const GRPC_METHOD = /^[A-Za-z_][A-Za-z_0-9]*$/;

const GrpcMethodMatch = z
  .object({ type: z.string().optional(), service: str(0, 1024).optional(), method: str(0, 1024).optional() })
  .superRefine((m, ctx) => {
    if (m.service === undefined && m.method === undefined) issue(ctx, "One or both of 'service' or 'method' must be specified");
    if ((m.type ?? 'Exact') !== 'Exact') return;
    if (m.service !== undefined && !GRPC_SERVICE.test(m.service))
      issue(ctx, 'service must only contain valid characters (matching ^(?i)\\.?[a-z_][a-z_0-9]*(\\.[a-z_][a-z_0-9]*)*$)', {
        path: ['service'],
      });
    if (m.method !== undefined && !GRPC_METHOD.test(m.method))
      issue(ctx, 'method must only contain valid characters (matching ^[A-Za-z_][A-Za-z_0-9]*$)', { path: ['method'] });
  });

const GrpcRouteMatch = z.object({ method: GrpcMethodMatch.optional(), headers: stringMatches(headerName, 4096, 'header').optional() });
export type GrpcRouteMatch = z.infer<typeof GrpcRouteMatch>;

// ---------------------------------------------------------------- rules and routes (1.6, 1.8, 1.11, 1.12)

const SessionPersistence = z
  .object({
    sessionName: str(1, 128).optional(),
    absoluteTimeout: duration.optional(),
    idleTimeout: duration.optional(),
    type: z.enum(['Cookie', 'Header']).optional(),
    cookieConfig: z.object({ lifetimeType: z.enum(['Permanent', 'Session']).optional() }).optional(),
    cookie: z
      .object({ lifetimeType: z.enum(['Permanent', 'Session']).optional(), name: headerName.optional(), path: str(0, 1024).optional() })
      .optional(),
    header: z.object({ name: headerName }).optional(),
  })
  .superRefine((s, ctx) => {
    const type = s.type ?? 'Cookie';
    if (s.cookie && type !== 'Cookie') issue(ctx, 'cookie must be nil if type is not Cookie');
    if (s.header && type !== 'Header') issue(ctx, 'header must be nil if type is not Header');
    if (type === 'Header' && !s.header) issue(ctx, 'header must be specified for Header type');
    const lifetime = s.cookie?.lifetimeType ?? s.cookieConfig?.lifetimeType;
    if (lifetime === 'Permanent' && s.absoluteTimeout === undefined)
      issue(ctx, 'AbsoluteTimeout must be specified when cookie lifetimeType is Permanent');
  });

const Timeouts = z.object({ request: duration.optional(), backendRequest: duration.optional() }).superRefine((t, ctx) => {
  const request = validDurationMs(t.request);
  const backendRequest = validDurationMs(t.backendRequest);
  if (request !== undefined && backendRequest !== undefined && request !== 0 && backendRequest > request)
    issue(ctx, 'backendRequest timeout cannot be longer than request timeout', { path: ['backendRequest'] });
});

const Retry = z.object({
  codes: z
    .array(int(400, 599))
    .superRefine((codes, ctx) => {
      if (new Set(codes).size !== codes.length) issue(ctx, 'codes lists a status twice');
    })
    .optional(),
  attempts: int(1, INT32_MAX).optional(),
  backoff: duration.optional(),
});

const RULE_NAME = pattern(DNS_SUBDOMAIN, (v) => `rule name "${v}" must be a DNS subdomain`, 1, 253);

/** The CEL rules on ReplacePrefixMatch: only with exactly one PathPrefix match (kubebuilder defaults applied). */
function checkPrefixRewrites(
  rule: { matches?: HttpRouteMatch[]; filters?: HttpFilter[]; backendRefs?: { filters?: HttpFilter[] }[] },
  ctx: z.RefinementCtx,
): void {
  const matches = rule.matches ?? [{}];
  const onePrefix = matches.length === 1 && (matches[0]!.path?.type ?? 'PathPrefix') === 'PathPrefix';
  if (onePrefix) return;
  const prefix = (filters: HttpFilter[] | undefined, t: 'RequestRedirect' | 'URLRewrite') =>
    (filters ?? []).some(
      (f) => f.type === t && (t === 'RequestRedirect' ? f.requestRedirect : f.urlRewrite)?.path?.type === 'ReplacePrefixMatch',
    );
  for (const t of ['RequestRedirect', 'URLRewrite'] as const) {
    if (prefix(rule.filters, t))
      issue(ctx, `When using ${t} filter with path.replacePrefixMatch, exactly one PathPrefix match must be specified`);
    if ((rule.backendRefs ?? []).some((b) => prefix(b.filters, t)))
      issue(
        ctx,
        `Within backendRefs, ${t === 'RequestRedirect' ? 'when' : 'When'} using ${t} filter with path.replacePrefixMatch, exactly one PathPrefix match must be specified`,
      );
  }
}

const HttpRouteRule = z
  .object({
    name: RULE_NAME.optional(),
    matches: z.array(HttpRouteMatch).max(64).optional(),
    filters: HttpFilters.optional(),
    backendRefs: z.array(backendRefSchema(HttpFilters)).max(16).optional(),
    timeouts: Timeouts.optional(),
    retry: Retry.optional(),
    sessionPersistence: SessionPersistence.optional(),
  })
  .superRefine((r, ctx) => {
    if ((r.backendRefs ?? []).length > 0 && (r.filters ?? []).some((f) => f.requestRedirect !== undefined))
      issue(ctx, 'RequestRedirect filter must not be used together with backendRefs');
    checkPrefixRewrites(r, ctx);
  });
export type HttpRouteRule = z.infer<typeof HttpRouteRule>;

const GrpcRouteRule = z.object({
  name: RULE_NAME.optional(),
  matches: z.array(GrpcRouteMatch).max(64).optional(),
  filters: GrpcFilters.optional(),
  backendRefs: z.array(backendRefSchema(GrpcFilters)).max(16).optional(),
  sessionPersistence: SessionPersistence.optional(),
});
export type GrpcRouteRule = z.infer<typeof GrpcRouteRule>;

/**
 * Several references to one parent must each name a distinct section (or port). As in the CEL rule,
 * group and kind compare with their defaults, namespace as written.
 */
function checkParentRefs(refs: ParentReference[], ctx: z.RefinementCtx): void {
  const byParent = new Map<string, ParentReference[]>();
  for (const r of refs) {
    const key = `${r.group ?? 'gateway.networking.k8s.io'}/${r.kind ?? 'Gateway'}/${r.namespace ?? ''}/${r.name}`;
    byParent.set(key, [...(byParent.get(key) ?? []), r]);
  }
  for (const same of byParent.values()) {
    if (same.length < 2) continue;
    if (same.some((r) => r.sectionName === undefined && r.port === undefined))
      issue(ctx, 'sectionName or port must be specified when parentRefs includes 2 or more references to the same parent', {
        path: ['parentRefs'],
      });
    else if (new Set(same.map((r) => `${r.sectionName ?? ''}:${r.port ?? ''}`)).size !== same.length)
      issue(ctx, 'sectionName or port must be unique when parentRefs includes 2 or more references to the same parent', {
        path: ['parentRefs'],
      });
  }
}

function checkRuleNames(rules: { name?: string | undefined }[], ctx: z.RefinementCtx): void {
  const names = new Set<string>();
  rules.forEach((r, i) => {
    if (r.name === undefined) return;
    if (names.has(r.name)) issue(ctx, 'Rule name must be unique within the route', { path: ['rules', i, 'name'] });
    names.add(r.name);
  });
}

const routeCommon = {
  parentRefs: z.array(ParentReference).max(32).optional(),
  hostnames: z.array(hostname).max(16).optional(),
  useDefaultGateways: z.enum(['All', 'None']).optional(),
};

export const HttpRouteSpec = z.object({ ...routeCommon, rules: z.array(HttpRouteRule).min(1).max(16).optional() }).superRefine((s, ctx) => {
  checkParentRefs(s.parentRefs ?? [], ctx);
  const rules = s.rules ?? [];
  checkRuleNames(rules, ctx);
  const total = rules.reduce((n, r) => n + Math.max(1, (r.matches ?? []).length), 0);
  if (total > 128)
    issue(
      ctx,
      'While 16 rules and 64 matches per rule are allowed, the total number of matches across all rules in a route must be less than 128',
      { path: ['rules'], fix: `the rules have ${total} matches: split the route` },
    );
});
export type HttpRouteSpec = z.infer<typeof HttpRouteSpec>;

export const GrpcRouteSpec = z.object({ ...routeCommon, rules: z.array(GrpcRouteRule).max(16).optional() }).superRefine((s, ctx) => {
  checkParentRefs(s.parentRefs ?? [], ctx);
  checkRuleNames(s.rules ?? [], ctx);
});
export type GrpcRouteSpec = z.infer<typeof GrpcRouteSpec>;

// ---------------------------------------------------------------- ReferenceGrant (1.10)

export const ReferenceGrantSpec = z.object({
  from: z
    .array(z.object({ group, kind, namespace: namespaceName }))
    .min(1)
    .max(16),
  to: z
    .array(z.object({ group, kind, name: objectName.optional() }))
    .min(1)
    .max(16),
});
export type ReferenceGrantSpec = z.infer<typeof ReferenceGrantSpec>;
