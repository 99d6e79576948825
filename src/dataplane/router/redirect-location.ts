/**
 * The Location header of a redirect route (Gateway API RequestRedirect, config-apis.md 1.9;
 * Istio HTTPRedirect, 3.6; Envoy RedirectAction).
 *
 * - scheme: the redirect's, else the request's.
 * - host: the redirect's, else the request's host without its port.
 * - port, first that applies:
 *   1. the redirect's port;
 *   2. the default port of the redirect's scheme when it sets one (Gateway API: "http" -> 80,
 *      "https" -> 443; a scheme change never carries the old port along);
 *   3. Gateway API (`portFromListener`): the listener port, even when the host is replaced;
 *   4. Envoy/Istio: the request's own port when the host is kept; none when the host is replaced
 *      (Envoy's host_redirect replaces the whole authority). Istio's FROM_REQUEST_PORT is resolved
 *      by the translator into an explicit port, as Istio itself does.
 *   The port is left out of Location when it is the scheme's default (http:80, https:443).
 * - path: rewritten like a forwarded request (full, prefix or regex), query kept.
 */
import type * as ir from '../../ir/index.js';
import { hostOfAuthority, portOfAuthority } from './compile-host-index.js';
import { compilePathRewrite, rewritePath, type CompiledPathRewrite, type MatchedPrefix } from './rewrite-path.js';

export type RedirectRequest = {
  /** `http` or `https`: how the request reached the listener. */
  scheme: string;
  /** Host / :authority as received, possibly with a port. */
  authority: string | undefined;
  /** Raw request target, including the query. */
  path: string;
  /** The listener port as declared in config (not a port it was remapped to). */
  port: number;
};

export type CompiledRedirect = {
  readonly redirect: ir.Redirect;
  readonly statusCode: ir.Redirect['statusCode'];
  readonly path: CompiledPathRewrite | undefined;
  readonly matchedPrefix: MatchedPrefix | undefined;
  /** Gateway API: without port and scheme, the listener port is the redirect port. */
  readonly portFromListener: boolean;
};

export function compileRedirect(
  redirect: ir.Redirect,
  matchedPrefix: MatchedPrefix | undefined,
  options: { portFromListener: boolean },
): CompiledRedirect {
  return {
    redirect,
    statusCode: redirect.statusCode,
    path: redirect.path ? compilePathRewrite(redirect.path) : undefined,
    matchedPrefix,
    portFromListener: options.portFromListener,
  };
}

export function defaultPortOf(scheme: string): number | undefined {
  return scheme === 'http' ? 80 : scheme === 'https' ? 443 : undefined;
}

export function redirectLocation(req: RedirectRequest, compiled: CompiledRedirect): string {
  const r = compiled.redirect;
  const scheme = (r.scheme ?? req.scheme).toLowerCase();
  const authority = req.authority ?? '';
  const host = r.host ?? hostOfAuthority(authority);

  let port: number | undefined;
  if (r.port !== undefined) port = r.port;
  else if (r.scheme !== undefined) port = defaultPortOf(r.scheme);
  else if (compiled.portFromListener) port = req.port;
  else if (r.host === undefined) port = portOfAuthority(authority);

  const path = compiled.path ? rewritePath(req.path, compiled.matchedPrefix, compiled.path) : req.path;
  // Without any host to name, a relative reference is still a valid Location (RFC 9110 10.2.2).
  if (host === '') return path;
  const portText = port === undefined || port === defaultPortOf(scheme) ? '' : `:${port}`;
  return `${scheme}://${host}${portText}${path}`;
}
