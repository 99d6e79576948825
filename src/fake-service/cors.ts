/**
 * gorilla/handlers CORS (v1.5.2) as fake-service configures it: ALLOWED_ORIGINS,
 * ALLOWED_HEADERS (added to the defaults) and ALLOW_CREDENTIALS. Headers are only added when the
 * request's Origin is allowed; an OPTIONS request never reaches the handler.
 */
import type http from 'node:http';
import { canonicalHeaderKey } from './go-format.js';

const DEFAULT_METHODS = ['GET', 'HEAD', 'POST'];
const DEFAULT_HEADERS = ['Accept', 'Accept-Language', 'Content-Language', 'Origin'];

export type CorsOptions = { allowedOrigins: string; allowedHeaders: string; allowCredentials: boolean };

export type CorsDecision =
  /** Run the handler (CORS headers, if any, are already set). */
  | { kind: 'next' }
  /** Answer with this status and an empty body, without the handler. */
  | { kind: 'status'; code: number };

export class Cors {
  #origins: string[];
  #headers: string[];
  #credentials: boolean;

  constructor(opts: CorsOptions) {
    // AllowedOrigins: "*" anywhere in the list means every origin; an empty setting is no option at all.
    const origins = opts.allowedOrigins === '' ? [] : opts.allowedOrigins.split(',');
    this.#origins = origins.includes('*') ? ['*'] : origins;
    this.#headers = [...DEFAULT_HEADERS];
    if (opts.allowedHeaders !== '')
      for (const h of opts.allowedHeaders.split(',')) {
        const c = canonicalHeaderKey(h.trim());
        if (c !== '' && !this.#headers.includes(c)) this.#headers.push(c);
      }
    this.#credentials = opts.allowCredentials;
  }

  #originAllowed(origin: string): boolean {
    if (origin === '') return false;
    if (this.#origins.length === 0) return true;
    return this.#origins.some((o) => o === origin || o === '*');
  }

  apply(req: http.IncomingMessage, res: http.ServerResponse): CorsDecision {
    const origin = headerValue(req, 'origin');
    if (!this.#originAllowed(origin)) return req.method === 'OPTIONS' ? { kind: 'status', code: 200 } : { kind: 'next' };
    if (req.method === 'OPTIONS') {
      if (req.headers['access-control-request-method'] === undefined) return { kind: 'status', code: 400 };
      const method = headerValue(req, 'access-control-request-method');
      if (!DEFAULT_METHODS.includes(method)) return { kind: 'status', code: 405 };
      const allowed: string[] = [];
      for (const v of headerValue(req, 'access-control-request-headers').split(',')) {
        const c = canonicalHeaderKey(v.trim());
        if (c === '' || DEFAULT_HEADERS.includes(c)) continue;
        if (!this.#headers.includes(c)) return { kind: 'status', code: 403 };
        allowed.push(c);
      }
      if (allowed.length > 0) res.setHeader('Access-Control-Allow-Headers', allowed.join(','));
    }
    if (this.#credentials) res.setHeader('Access-Control-Allow-Credentials', 'true');
    if (this.#origins.length > 1) res.setHeader('Vary', 'Origin');
    res.setHeader('Access-Control-Allow-Origin', this.#origins.length === 0 || this.#origins.includes('*') ? '*' : origin);
    return req.method === 'OPTIONS' ? { kind: 'status', code: 200 } : { kind: 'next' };
  }
}

/** Header.Get: the first value. */
function headerValue(req: http.IncomingMessage, name: string): string {
  const v = req.headers[name];
  return Array.isArray(v) ? (v[0] ?? '') : (v ?? '');
}
