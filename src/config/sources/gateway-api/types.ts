/**
 * Gateway API objects after schema checks and kubebuilder defaults (config-apis.md 1.2-1.12).
 * Referenced as `gwapi.X`; never leaves `config/`. Each parsed piece keeps the field path it came
 * from, so origins and diagnostics can point at it.
 */
import type { LoadedObject } from '../../model.js';
import type { Path } from './read.js';

export type GatewayClass = {
  object: LoadedObject;
  name: string;
  controllerName: string;
  parametersRef?: { group: string; kind: string; name: string; namespace?: string };
};

export type ProtocolType = string;

export type RouteGroupKind = { group: string; kind: string };

export type Listener = {
  name: string;
  index: number;
  path: Path;
  hostname?: string;
  port: number;
  protocol: ProtocolType;
  tls?: { mode: 'Terminate' | 'Passthrough'; certificateRefs: SecretRef[] };
  allowedRoutes: {
    from: 'All' | 'Same' | 'Selector';
    selector?: LabelSelector;
    /** Undefined = derived from the protocol. */
    kinds?: RouteGroupKind[];
  };
};

export type SecretRef = { group: string; kind: string; name: string; namespace: string };

export type LabelSelector = {
  matchLabels: Record<string, string>;
  matchExpressions: { key: string; operator: string; values: string[] }[];
};

export type Gateway = {
  object: LoadedObject;
  namespace: string;
  name: string;
  /** `Gateway/ns/name`. */
  ref: string;
  className: string;
  listeners: Listener[];
};

export type ParentRef = {
  index: number;
  group: string;
  kind: string;
  namespace: string;
  name: string;
  sectionName?: string;
  port?: number;
};

export type BackendObjectRef = { group: string; kind: string; namespace: string; name: string; port?: number };

export type HeaderValue = { name: string; value: string };

export type HeaderModifier = { set: HeaderValue[]; add: HeaderValue[]; remove: string[] };

export type PathModifier = { type: 'ReplaceFullPath' | 'ReplacePrefixMatch'; value: string };

export type Filter = { index: number; /** Field path of the filter. */ at: Path } & (
  | { type: 'RequestHeaderModifier' | 'ResponseHeaderModifier'; headers: HeaderModifier }
  | {
      type: 'RequestRedirect';
      scheme?: 'http' | 'https';
      hostname?: string;
      path?: PathModifier;
      port?: number;
      statusCode: 301 | 302 | 303 | 307 | 308;
    }
  | { type: 'URLRewrite'; hostname?: string; path?: PathModifier }
  | { type: 'RequestMirror'; backendRef: BackendObjectRef; percent: number }
  | { type: 'ExtensionRef'; group: string; kind: string; name: string }
  | { type: 'CORS'; cors: Cors }
  | { type: 'ExternalAuth' }
);

/** HTTPCORSFilter, with the API server's defaults (maxAge 5). */
export type Cors = {
  allowOrigins: string[];
  allowCredentials: boolean;
  allowMethods: string[];
  allowHeaders: string[];
  exposeHeaders: string[];
  maxAge: number;
};

export type BackendRef = BackendObjectRef & { index: number; path: Path; weight: number; filters: Filter[] };

export type StringMatchType = 'Exact' | 'RegularExpression';

export type HeaderMatch = { type: StringMatchType; name: string; value: string };

export type HttpMatch = {
  index: number;
  path: { type: 'Exact' | 'PathPrefix' | 'RegularExpression'; value: string };
  headers: HeaderMatch[];
  queryParams: HeaderMatch[];
  method?: string;
};

export type GrpcMatch = {
  index: number;
  method?: { type: StringMatchType; service?: string; method?: string };
  headers: HeaderMatch[];
};

export type Rule = {
  index: number;
  path: Path;
  name?: string;
  filters: Filter[];
  backendRefs: BackendRef[];
  /** Why the rule is dropped (an unsupported value: bad regex, unknown enum), if it is. */
  unsupported?: string;
} & (
  | {
      kind: 'HTTPRoute';
      matches: HttpMatch[];
      timeouts?: { request?: number; backendRequest?: number };
      retry?: { codes: number[]; attempts?: number; backoffMs?: number };
    }
  | { kind: 'GRPCRoute'; matches: GrpcMatch[] }
);

export type RouteKind = 'HTTPRoute' | 'GRPCRoute';

export type Route = {
  kind: RouteKind;
  object: LoadedObject;
  namespace: string;
  name: string;
  /** `HTTPRoute/ns/name`. */
  ref: string;
  parentRefs: ParentRef[];
  hostnames: string[];
  rules: Rule[];
};

export type ReferenceGrant = {
  namespace: string;
  from: { group: string; kind: string; namespace: string }[];
  to: { group: string; kind: string; name?: string }[];
};
