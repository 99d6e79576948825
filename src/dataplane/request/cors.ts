/**
 * CORS on a route (Envoy's cors filter with the route's CorsPolicy; Gateway API CORS filter):
 *
 * - A request with a non-empty `Origin` is a CORS request; the origin is allowed when one of the
 *   policy's matchers accepts it (or accepts the literal `*`).
 * - A preflight (OPTIONS with a non-empty `Access-Control-Request-Method`) is answered here with
 *   200: allow-origin (the request's origin) when allowed, allow-credentials when set,
 *   allow-methods and allow-headers (`*` answers with what the preflight asks for), max-age, then
 *   the response headers below. From an origin not allowed it goes to the backend instead when
 *   `forwardNotMatchingPreflights` (Envoy's default; Envoy Gateway turns it off).
 * - Any other response to an allowed origin (the backend's or a local reply) gets
 *   allow-origin, allow-credentials when set and expose-headers when set, replacing the
 *   backend's own values.
 */
import type { CorsPolicy } from '../../ir/index.js';
import type { Downstream } from '../listener/downstream.js';

/** The route's policy with its origin matchers compiled into one test. */
export type CompiledCors = Omit<CorsPolicy, 'allowOrigins'> & { allowOrigin(origin: string): boolean };

export type CorsDecision =
  /** Answer the preflight here with these headers. */
  | { kind: 'preflight'; headers: string[] }
  /** Forward; add these headers to the response (null: not an allowed CORS request). */
  | { kind: 'forward'; responseHeaders: string[] | null };

const NOT_CORS: CorsDecision = { kind: 'forward', responseHeaders: null };

function one(v: string | string[] | undefined): string {
  return Array.isArray(v) ? v.join(',') : (v ?? '');
}

export function decideCors(cors: CompiledCors, ds: Pick<Downstream, 'method' | 'headers'>): CorsDecision {
  const origin = one(ds.headers.origin);
  if (origin === '') return NOT_CORS;
  const allowed = cors.allowOrigin(origin) || cors.allowOrigin('*');
  const response = allowed ? responseHeaders(cors, origin) : null;
  const requestedMethod = one(ds.headers['access-control-request-method']);
  if (ds.method !== 'OPTIONS' || requestedMethod === '' || (!allowed && cors.forwardNotMatchingPreflights))
    return response ? { kind: 'forward', responseHeaders: response } : NOT_CORS;
  const h: string[] = [];
  if (allowed) h.push('access-control-allow-origin', origin);
  if (cors.allowCredentials) h.push('access-control-allow-credentials', 'true');
  if (cors.allowMethods !== '') h.push('access-control-allow-methods', cors.allowMethods === '*' ? requestedMethod : cors.allowMethods);
  if (cors.allowHeaders !== '')
    h.push(
      'access-control-allow-headers',
      cors.allowHeaders === '*' ? one(ds.headers['access-control-request-headers']) : cors.allowHeaders,
    );
  if (cors.maxAge !== '') h.push('access-control-max-age', cors.maxAge);
  return { kind: 'preflight', headers: response ? setHeaders(h, response) : h };
}

function responseHeaders(cors: CompiledCors, origin: string): string[] {
  const h = ['access-control-allow-origin', origin];
  if (cors.allowCredentials) h.push('access-control-allow-credentials', 'true');
  if (cors.exposeHeaders !== '') h.push('access-control-expose-headers', cors.exposeHeaders);
  return h;
}

/** `headers` (flat, lower-case names) with each name of `set` replaced by its value there. */
export function setHeaders(headers: string[], set: readonly string[]): string[] {
  const names = new Set<string>();
  for (let i = 0; i < set.length; i += 2) names.add(set[i]!);
  const out: string[] = [];
  for (let i = 0; i < headers.length; i += 2) if (!names.has(headers[i]!)) out.push(headers[i]!, headers[i + 1]!);
  out.push(...set);
  return out;
}
