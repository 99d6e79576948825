/**
 * How a response is judged (README 1.2 for HTTP, 1.3 for gRPC). Each function returns the first
 * difference as text, or undefined when the response is what the case expects.
 */
import type { HttpResult, GrpcResult } from './clients.js';
import type { GrpcExpect, HttpExpect, HttpRequestSpec } from './data.js';

/** The fields of the echo JSON the conformance checks read. */
export type Echo = { path: string; host: string; method: string; headers: Record<string, string[]>; namespace: string; pod: string };

const EMPTY_ECHO: Echo = { path: '', host: '', method: '', headers: {}, namespace: '', pod: '' };

/** The echo body, only when Content-Type is exactly application/json (as upstream reads it). */
export function echoOf(res: HttpResult): Echo {
  const ct = res.headers.filter(([k]) => k.toLowerCase() === 'content-type').map(([, v]) => v);
  if (ct.length !== 1 || ct[0] !== 'application/json') return EMPTY_ECHO;
  try {
    const doc = JSON.parse(res.body.toString('utf8')) as Partial<Echo>;
    return { ...EMPTY_ECHO, ...doc, headers: doc.headers ?? {} };
  } catch {
    return EMPTY_ECHO;
  }
}

function joined(list: [string, string][], name: string): string | undefined {
  const vals = list.filter(([k]) => k.toLowerCase() === name.toLowerCase()).map(([, v]) => v);
  return vals.length === 0 ? undefined : vals.join(',');
}

function echoHeader(echo: Echo, name: string): string | undefined {
  const vals = Object.entries(echo.headers)
    .filter(([k]) => k.toLowerCase() === name.toLowerCase())
    .flatMap(([, v]) => v);
  return vals.length === 0 ? undefined : vals.join(',');
}

const isRedirect = (s: number) => s >= 300 && s < 400 && s !== 304;

export function judgeHttp(req: HttpRequestSpec, expect: HttpExpect, res: HttpResult): string | undefined {
  // Upstream treats 408 and 504 as the same timeout.
  const allowed = expect.status.includes(504) ? [...expect.status, 408] : expect.status;
  if (!allowed.includes(res.status)) return `status ${res.status}, want ${expect.status.join(' or ')}${bodyHint(res)}`;
  if (res.status === 200 || res.status === 204) return judgeEcho(req, expect, res);
  if (isRedirect(res.status) && expect.redirect) return judgeRedirect(expect.redirect, res);
  return undefined;
}

function judgeEcho(req: HttpRequestSpec, expect: HttpExpect, res: HttpResult): string | undefined {
  const echo = echoOf(res);
  if (expect.answeredByGateway) {
    if (echo.path !== '' || echo.namespace !== '')
      return `answered by backend ${echo.pod || '?'} (path ${echo.path}), want the gateway to answer`;
  } else {
    const want = expect.requestSeenByBackend ?? { path: req.path, method: req.method ?? 'GET' };
    if (echo.path !== want.path) return `backend saw path ${JSON.stringify(echo.path)}, want ${JSON.stringify(want.path)}${bodyHint(res)}`;
    if (echo.method !== want.method) return `backend saw method ${echo.method}, want ${want.method}`;
    if (want.host !== undefined && echo.host !== want.host)
      return `backend saw host ${JSON.stringify(echo.host)}, want ${JSON.stringify(want.host)}`;
    for (const [k, v] of Object.entries(want.headers ?? {})) {
      const got = echoHeader(echo, k);
      if (got !== v) return `backend saw ${k}: ${got === undefined ? '(absent)' : JSON.stringify(got)}, want ${JSON.stringify(v)}`;
    }
    for (const k of want.absentHeaders ?? []) {
      const got = echoHeader(echo, k);
      if (got !== undefined) return `backend saw ${k}: ${JSON.stringify(got)}, want it absent`;
    }
  }
  if (expect.namespace !== undefined && echo.namespace !== expect.namespace)
    return `namespace ${JSON.stringify(echo.namespace)}, want ${JSON.stringify(expect.namespace)}`;
  if (expect.backend !== undefined && !echo.pod.startsWith(expect.backend))
    return `answered by pod ${echo.pod || '(none)'}, want ${expect.backend}`;
  const norm = (s: string) => (expect.ignoreWhitespaceInResponseHeaders ? s.replace(/ /g, '') : s);
  for (const [k, v] of Object.entries(expect.responseHeaders ?? {})) {
    const got = joined(res.headers, k);
    if (got === undefined || norm(got) !== norm(v))
      return `response header ${k}: ${got === undefined ? '(absent)' : JSON.stringify(got)}, want ${JSON.stringify(v)}`;
  }
  for (const [k, options] of Object.entries(expect.responseHeadersOneOf ?? {})) {
    const got = joined(res.headers, k);
    if (got === undefined || !options.some((o) => norm(o) === norm(got)))
      return `response header ${k}: ${got === undefined ? '(absent)' : JSON.stringify(got)}, want one of ${JSON.stringify(options)}`;
  }
  for (const k of expect.absentResponseHeaders ?? []) {
    const got = joined(res.headers, k);
    if (got !== undefined) return `response header ${k}: ${JSON.stringify(got)}, want it absent`;
  }
  return undefined;
}

function judgeRedirect(want: NonNullable<HttpExpect['redirect']>, res: HttpResult): string | undefined {
  const location = joined(res.headers, 'location');
  if (location === undefined) return 'redirect without Location';
  let url: URL;
  try {
    url = new URL(location);
  } catch {
    return `Location ${JSON.stringify(location)} is not an absolute URL`;
  }
  const scheme = url.protocol.replace(/:$/, '');
  if (scheme !== want.scheme) return `Location ${location}: scheme ${scheme}, want ${want.scheme}`;
  if (want.host !== null && url.hostname !== want.host) return `Location ${location}: host ${url.hostname}, want ${want.host}`;
  if (url.pathname !== want.path) return `Location ${location}: path ${url.pathname}, want ${want.path}`;
  // URL drops a scheme's default port; upstream accepts it written or left out alike.
  const port = /^[a-z]+:\/\/[^/]*:(\d+)/i.exec(location)?.[1] ?? '';
  if (want.port !== null) {
    if (port !== want.port) return `Location ${location}: port ${JSON.stringify(port)}, want ${want.port}`;
  } else if (!(want.allowedPorts ?? ['']).includes(port))
    return `Location ${location}: port ${JSON.stringify(port)}, want one of ${JSON.stringify(want.allowedPorts)}`;
  return undefined;
}

function bodyHint(res: HttpResult): string {
  if (res.status === 200) return '';
  const text = res.body.toString('utf8').trim().slice(0, 80);
  return text ? ` (body: ${JSON.stringify(text)})` : '';
}

export function judgeGrpc(expect: GrpcExpect, res: GrpcResult): string | undefined {
  if (res.code !== expect.grpcCode)
    return `gRPC status ${res.code}${res.details ? ` (${res.details})` : ''}, want ${expect.grpcCode} ${expect.grpcStatus}`;
  if (res.code !== 0) return undefined;
  const a = res.assertions ?? {};
  if (expect.fullyQualifiedMethod !== undefined && a.fully_qualified_method !== expect.fullyQualifiedMethod)
    return `method ${a.fully_qualified_method}, want ${expect.fullyQualifiedMethod}`;
  if (expect.namespace !== undefined && a.context?.namespace !== expect.namespace)
    return `namespace ${a.context?.namespace}, want ${expect.namespace}`;
  if (expect.backend !== undefined && !(a.context?.pod ?? '').startsWith(expect.backend))
    return `answered by pod ${a.context?.pod || '(none)'}, want ${expect.backend}`;
  return undefined;
}

/** `infra-backend-v1-5d9c7b6f4-abcde` -> `infra-backend-v1` (README 1.4). */
export function backendOfPod(pod: string): string {
  return pod.split('-').slice(0, -2).join('-');
}
