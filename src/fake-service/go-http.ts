/**
 * net/http server behaviour that clients of fake-service and the echo backend can observe:
 * status lines with Go's reason phrases, content sniffed as text/plain, http.Error and
 * http.Redirect bodies, and WriteHeader's panic on codes outside 100..999.
 */
import type http from 'node:http';
import { goStatusText } from './go-format.js';
import { GoPanic } from './response.js';

/** Writes a complete response as a Go handler that calls WriteHeader(code) and Write(body) would. */
export function goRespond(res: http.ServerResponse, code: number, body: string | Buffer = '', headers: Record<string, string> = {}): void {
  if (!Number.isInteger(code) || code < 100 || code > 999) throw new GoPanic(`invalid WriteHeader code ${code}`);
  const bytes = typeof body === 'string' ? Buffer.from(body, 'utf8') : body;
  for (const [k, v] of Object.entries(headers)) res.setHeader(k, v);
  // 1xx codes other than 101 are informational in Go; the final status becomes 200 on Write.
  if (code < 200 && code !== 101) {
    res.socket?.write(`HTTP/1.1 ${code} ${goStatusText(code)}\r\n\r\n`);
    code = 200;
  }
  if (bytes.length > 0 && !res.hasHeader('content-type')) res.setHeader('Content-Type', 'text/plain; charset=utf-8');
  res.setHeader('Content-Length', String(bytes.length));
  res.statusCode = code;
  res.statusMessage = goStatusText(code);
  res.end(bytes);
}

/** http.Error. */
export function goError(res: http.ServerResponse, message: string, code: number): void {
  goRespond(res, code, message + '\n', { 'Content-Type': 'text/plain; charset=utf-8', 'X-Content-Type-Options': 'nosniff' });
}

/** http.Redirect with an absolute path, as ServeMux's cleaning redirects use it. */
export function goRedirect(req: http.IncomingMessage, res: http.ServerResponse, location: string, code = 301): void {
  res.setHeader('Location', location);
  if (req.method === 'GET' || req.method === 'HEAD') {
    const href = location.replace(/[&'<>"]/g, (c) => ({ '&': '&amp;', "'": '&#39;', '<': '&lt;', '>': '&gt;', '"': '&#34;' })[c]!);
    goRespond(res, code, `<a href="${href}">${goStatusText(code)}</a>.\n\n`, { 'Content-Type': 'text/html; charset=utf-8' });
  } else goRespond(res, code);
}

/** The request's header lines with Go's canonical names (http.Header), in arrival order, Host and pseudo-headers excluded. */
export function goHeaderLines(req: http.IncomingMessage, canonical: (k: string) => string): [string, string][] {
  const out: [string, string][] = [];
  const raw = req.rawHeaders;
  for (let i = 0; i + 1 < raw.length; i += 2) {
    const k = raw[i]!;
    if (k.toLowerCase() === 'host' || k.startsWith(':')) continue;
    out.push([canonical(k), raw[i + 1]!]);
  }
  return out;
}
