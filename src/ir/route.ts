import type { Origins } from './origin.js';
import type { RetryPolicy, HedgePolicy, FaultPolicy, TimeoutPolicy } from './policy.js';

/** Path match. `prefix` is segment-aware (Gateway API) unless `segmentAware` is false (Istio). */
export type PathMatch =
  | { kind: 'exact'; value: string; ignoreCase?: boolean }
  | { kind: 'prefix'; value: string; segmentAware: boolean; ignoreCase?: boolean }
  | { kind: 'regex'; value: string };

/**
 * String matcher shared by header, query and authority matches. `present` tests existence only.
 * `invert` negates the result as Envoy's invert_match does: a missing header still fails a value
 * matcher, so "header absent" is `{ kind: 'present' }` with invert.
 */
export type StringMatch =
  | { kind: 'exact'; value: string; ignoreCase?: boolean }
  | { kind: 'prefix'; value: string; ignoreCase?: boolean }
  | { kind: 'suffix'; value: string; ignoreCase?: boolean }
  | { kind: 'contains'; value: string; ignoreCase?: boolean }
  | { kind: 'regex'; value: string }
  | { kind: 'present' };

export type HeaderMatch = { name: string; match: StringMatch; invert?: boolean };
/** `absent` is a header match with kind present and invert true. */
export type QueryMatch = { name: string; match: StringMatch; invert?: boolean };

export type GrpcMethodMatch = {
  kind: 'exact' | 'regex';
  /** Fully qualified service, such as `helloworld.Greeter`; absent matches any service. */
  service?: string;
  method?: string;
};

export type RouteMatch = {
  path?: PathMatch;
  /** Upper-case HTTP method. */
  method?: string;
  headers?: HeaderMatch[];
  query?: QueryMatch[];
  grpc?: GrpcMethodMatch;
  /** Istio `match.port`: only when the request arrived on this listener port. */
  port?: number;
};

export type HeaderValue = { name: string; value: string };

/** Request or response header edits, applied in the order remove, set, add. */
export type HeaderMutation = {
  set?: HeaderValue[];
  add?: HeaderValue[];
  remove?: string[];
};

export type WeightedCluster = {
  cluster: string;
  weight: number;
  /**
   * The cluster does not exist on purpose (an Istio subset nobody defined, a Gateway API backend
   * that is invalid): its share gets the route's `clusterNotFoundStatus`, flag NC, as in Envoy.
   */
  missing?: boolean;
  /** Backend-level header edits (Gateway API backendRef filters). */
  requestHeaders?: HeaderMutation;
  responseHeaders?: HeaderMutation;
};

export type PathRewrite =
  | { kind: 'full'; value: string }
  /** Replace the matched prefix (Gateway API ReplacePrefixMatch, Istio rewrite.uri on a prefix). */
  | { kind: 'prefix'; value: string }
  | { kind: 'regex'; pattern: string; substitution: string };

export type Rewrite = {
  path?: PathRewrite;
  /** New :authority / Host. */
  authority?: string;
};

export type Redirect = {
  scheme?: 'http' | 'https';
  host?: string;
  port?: number;
  path?: PathRewrite;
  /** Always set by translators: Envoy and Istio default to 301, Gateway API to 302. */
  statusCode: 301 | 302 | 303 | 307 | 308;
};

export type DirectResponse = { status: number; body?: string; contentType?: string };

export type Mirror = { cluster: string; percent: number };

export type RouteAction =
  /** `clusterNotFoundStatus`: Envoy's cluster_not_found_response_code (503 unless set; Envoy Gateway uses 500). */
  | { kind: 'forward'; clusters: WeightedCluster[]; clusterNotFoundStatus?: 500 | 503 | 404 }
  | { kind: 'redirect'; redirect: Redirect }
  | { kind: 'direct'; response: DirectResponse };

/**
 * Ordering key for Gateway API precedence across routes of one virtual host. Routes with the same
 * match specificity are ordered by creation timestamp, then namespace/name, then rule and match index.
 */
export type RouteSortKey = {
  creationTimestamp?: string;
  namespacedName: string;
  ruleIndex: number;
  matchIndex: number;
};

export type Route = {
  /** Unique within its virtual host; appears in stats and logs. */
  name: string;
  match: RouteMatch;
  action: RouteAction;
  timeout?: TimeoutPolicy;
  retry?: RetryPolicy;
  hedge?: HedgePolicy;
  fault?: FaultPolicy;
  mirrors?: Mirror[];
  requestHeaders?: HeaderMutation;
  responseHeaders?: HeaderMutation;
  rewrite?: Rewrite;
  sortKey?: RouteSortKey;
  /**
   * Consistent-hashing key for ring_hash / maglev clusters (Envoy's hash_policy): the first policy
   * that yields a value wins (or all are combined up to a `terminal` one); none -> a random pick.
   */
  hashPolicy?: HashPolicy[];
  /** CORS: preflights answered here, Access-Control-* response headers (forward routes). */
  cors?: CorsPolicy;
  origin: Origins;
};

/** Envoy's CorsPolicy (Gateway API CORS filter). */
export type CorsPolicy = {
  /** Allowed origins: exact, or regex (full match; Gateway API `*` wildcards become `.*`). */
  allowOrigins: StringMatch[];
  /** `access-control-allow-methods`, joined; `*` answers a preflight with the method it asks for; `` none. */
  allowMethods: string;
  /** `access-control-allow-headers`, joined; `*` answers with the headers the preflight asks for. */
  allowHeaders: string;
  /** `access-control-expose-headers`, joined; `` none. */
  exposeHeaders: string;
  /** `access-control-max-age` in seconds, as text; `` none. */
  maxAge: string;
  allowCredentials: boolean;
  /** A preflight from an origin not allowed goes to the backend (Envoy's default) instead of being answered. */
  forwardNotMatchingPreflights: boolean;
};

export type HashPolicy =
  | { kind: 'header'; name: string; terminal?: boolean }
  | { kind: 'cookie'; name: string; terminal?: boolean }
  | { kind: 'source-ip'; terminal?: boolean }
  | { kind: 'query'; name: string; terminal?: boolean };

export type VirtualHost = {
  name: string;
  /** Exact names, `*.suffix` wildcards, or `*` for any. Ports are ignored when matching. */
  domains: string[];
  /**
   * `ordered`: the first route whose match succeeds wins (Istio, Envoy).
   * `gateway-api`: routes are sorted by Gateway API precedence at compile time.
   */
  routeOrder: 'ordered' | 'gateway-api';
  routes: Route[];
  /** Send `x-envoy-attempt-count` upstream. */
  includeAttemptCountInRequest?: boolean;
  /** Send `x-envoy-attempt-count` downstream. */
  includeAttemptCountInResponse?: boolean;
  retry?: RetryPolicy;
  hedge?: HedgePolicy;
  origin: Origins;
};
