/**
 * The Go standard library's text formats that fake-service's output depends on: durations,
 * time layouts, strconv parsing and quoting, canonical header keys, URL escaping and path
 * cleaning. Written from the Go documentation so that logs and documents match byte for byte.
 */
import { STATUS_CODES } from 'node:http';

/** Go's time.Duration.String() for a duration in nanoseconds ("1.5ms", "40.876µs", "1m0.5s"). */
export function formatGoDuration(ns: number): string {
  let u = Math.abs(Math.trunc(ns));
  const sign = ns < 0 && u !== 0 ? '-' : '';
  if (u === 0) return '0s';
  if (u < 1e9) {
    if (u < 1e3) return `${sign}${u}ns`;
    if (u < 1e6) return `${sign}${fraction(u, 3)}µs`;
    return `${sign}${fraction(u, 6)}ms`;
  }
  const nanos = u % 1e9;
  u = (u - nanos) / 1e9;
  const secs = u % 60;
  u = (u - secs) / 60;
  const mins = u % 60;
  const hours = (u - mins) / 60;
  const s = `${fraction(secs * 1e9 + nanos, 9)}s`;
  if (hours > 0) return `${sign}${hours}h${mins}m${s}`;
  if (mins > 0) return `${sign}${mins}m${s}`;
  return `${sign}${s}`;
}

/** v / 10^prec with the trailing zeros of the fraction (and a bare point) dropped. */
function fraction(v: number, prec: number): string {
  const scale = 10 ** prec;
  const whole = Math.floor(v / scale);
  const frac = String(v - whole * scale)
    .padStart(prec, '0')
    .replace(/0+$/, '');
  return frac ? `${whole}.${frac}` : String(whole);
}

const UNIT_NS: Record<string, number> = { ns: 1, us: 1e3, µs: 1e3, μs: 1e3, ms: 1e6, s: 1e9, m: 60e9, h: 3600e9 };

export type GoParse<T> = { ok: true; value: T } | { ok: false; error: string };

/** Go's time.ParseDuration, to nanoseconds, with Go's error texts. */
export function parseGoDuration(text: string): GoParse<number> {
  const invalid = { ok: false as const, error: `time: invalid duration ${goQuote(text)}` };
  let s = text;
  let neg = false;
  if (s[0] === '-' || s[0] === '+') {
    neg = s[0] === '-';
    s = s.slice(1);
  }
  if (s === '0') return { ok: true, value: 0 };
  if (s === '') return invalid;
  let total = 0;
  while (s !== '') {
    const num = /^([0-9]*)(\.([0-9]*))?/.exec(s)!;
    const intPart = num[1]!;
    const fracPart = num[3] ?? '';
    if (!(s[0] === '.' || (s[0]! >= '0' && s[0]! <= '9'))) return invalid;
    if (intPart === '' && fracPart === '') return invalid;
    s = s.slice(num[0].length);
    const unit = /^[^0-9.]*/.exec(s)![0];
    if (unit === '') return { ok: false, error: `time: missing unit in duration ${goQuote(text)}` };
    const scale = UNIT_NS[unit];
    if (scale === undefined) return { ok: false, error: `time: unknown unit ${goQuote(unit)} in duration ${goQuote(text)}` };
    s = s.slice(unit.length);
    // As Go: the fraction as an integer times (unit / 10^digits), truncated.
    total += Number(intPart || '0') * scale + (fracPart ? Math.trunc(Number(fracPart) * (scale / 10 ** fracPart.length)) : 0);
    if (total > 9223372036854775807) return invalid;
  }
  return { ok: true, value: neg ? -total : total };
}

/** Go's strconv.ParseBool. */
export function parseGoBool(text: string): GoParse<boolean> {
  if (['1', 't', 'T', 'TRUE', 'true', 'True'].includes(text)) return { ok: true, value: true };
  if (['0', 'f', 'F', 'FALSE', 'false', 'False'].includes(text)) return { ok: true, value: false };
  return { ok: false, error: `strconv.ParseBool: parsing ${goQuote(text)}: invalid syntax` };
}

/** Go's strconv.ParseInt(s, 0, 64): base prefixes 0x, 0o, 0b, leading 0 = octal, underscores between digits. */
export function parseGoInt(text: string): GoParse<number> {
  const syntax = { ok: false as const, error: `strconv.ParseInt: parsing ${goQuote(text)}: invalid syntax` };
  const m = /^([+-]?)(0[xX]|0[bB]|0[oO]|0(?=[0-7_]))?(.+)$/.exec(text);
  if (!m) return syntax;
  const prefix = (m[2] ?? '').toLowerCase();
  const digits = m[3]!;
  const base = prefix === '0x' ? 16 : prefix === '0b' ? 2 : prefix === '0o' || prefix === '0' ? 8 : 10;
  const digit = base === 16 ? '[0-9a-fA-F]' : base === 2 ? '[01]' : base === 8 ? '[0-7]' : '[0-9]';
  // Underscores only with a base prefix, each between digits (or right after the prefix).
  const ok = prefix ? new RegExp(`^_?${digit}+(_${digit}+)*$`).test(digits) : new RegExp(`^${digit}+$`).test(digits);
  if (!ok) return syntax;
  const big = BigInt(
    (m[1] === '-' ? '-' : '') + (base === 10 ? '' : base === 16 ? '0x' : base === 8 ? '0o' : '0b') + digits.replaceAll('_', ''),
  );
  if (big > 9223372036854775807n || big < -9223372036854775808n)
    return { ok: false, error: `strconv.ParseInt: parsing ${goQuote(text)}: value out of range` };
  return { ok: true, value: Number(big) };
}

/** Go's strconv.ParseInt(s, 10, 64). */
export function parseGoInt10(text: string): GoParse<number> {
  if (!/^[+-]?[0-9]+$/.test(text)) return { ok: false, error: `strconv.ParseInt: parsing ${goQuote(text)}: invalid syntax` };
  const big = BigInt(text);
  if (big > 9223372036854775807n || big < -9223372036854775808n)
    return { ok: false, error: `strconv.ParseInt: parsing ${goQuote(text)}: value out of range` };
  return { ok: true, value: Number(big) };
}

/** Go's strconv.ParseFloat(s, 64): decimal and hex forms, inf/infinity/nan in any case. */
export function parseGoFloat(text: string): GoParse<number> {
  const syntax = { ok: false as const, error: `strconv.ParseFloat: parsing ${goQuote(text)}: invalid syntax` };
  const special = /^([+-]?)(inf|infinity|nan)$/i.exec(text);
  if (special) {
    if (special[2]!.toLowerCase() === 'nan') return special[1] ? syntax : { ok: true, value: NaN };
    return { ok: true, value: special[1] === '-' ? -Infinity : Infinity };
  }
  if (/^[+-]?([0-9]+\.?[0-9]*|\.[0-9]+)([eE][+-]?[0-9]+)?$/.test(text)) {
    const v = Number(text);
    if (!Number.isFinite(v)) return { ok: false, error: `strconv.ParseFloat: parsing ${goQuote(text)}: value out of range` };
    return { ok: true, value: v };
  }
  const hex = /^([+-]?)0[xX](_?[0-9a-fA-F]+(?:_[0-9a-fA-F]+)*)?(?:\.([0-9a-fA-F]*))?[pP]([+-]?[0-9]+)$/.exec(text);
  if (hex && (hex[2] || hex[3])) {
    const mant = (hex[2] ?? '').replaceAll('_', '') + (hex[3] ?? '');
    const v = parseInt(mant || '0', 16) * 2 ** (Number(hex[4]) - 4 * (hex[3] ?? '').length);
    return { ok: true, value: hex[1] === '-' ? -v : v };
  }
  return syntax;
}

/** Go's fmt %v for a float64 (strconv 'g' with the shortest representation, exponent at 1e21 / 1e-4). */
export function formatGoFloat(v: number): string {
  if (Number.isNaN(v)) return 'NaN';
  if (v === Infinity) return '+Inf';
  if (v === -Infinity) return '-Inf';
  if (v === 0) return Object.is(v, -0) ? '-0' : '0';
  const exp = Math.floor(Math.log10(Math.abs(v)));
  if (exp < -4 || exp >= 21) {
    const [m, e] = v.toExponential().split('e') as [string, string];
    const n = Number(e);
    return `${m}e${n < 0 ? '-' : '+'}${String(Math.abs(n)).padStart(2, '0')}`;
  }
  return String(v);
}

/** Go's strconv.Quote: double quotes, Go escapes, non-printable runes escaped. */
export function goQuote(s: string): string {
  let out = '"';
  for (const ch of s) {
    const c = ch.codePointAt(0)!;
    if (ch === '"' || ch === '\\') out += '\\' + ch;
    else if (c === 0x07) out += '\\a';
    else if (c === 0x08) out += '\\b';
    else if (c === 0x0c) out += '\\f';
    else if (c === 0x0a) out += '\\n';
    else if (c === 0x0d) out += '\\r';
    else if (c === 0x09) out += '\\t';
    else if (c === 0x0b) out += '\\v';
    else if (isGoPrint(c)) out += ch;
    else if (c < 0x20 || c === 0x7f) out += '\\x' + c.toString(16).padStart(2, '0');
    else if (c >= 0xd800 && c <= 0xdfff) out += '\\ufffd';
    else if (c < 0x10000) out += '\\u' + c.toString(16).padStart(4, '0');
    else out += '\\U' + c.toString(16).padStart(8, '0');
  }
  return out + '"';
}

/** unicode.IsPrint, approximated: letters, marks, numbers, punctuation, symbols and the ASCII space. */
export function isGoPrint(c: number): boolean {
  if (c === 0x20) return true;
  if (c < 0x20 || (c >= 0x7f && c <= 0x9f)) return false;
  return /[\p{L}\p{M}\p{N}\p{P}\p{S}]/u.test(String.fromCodePoint(c));
}

/** textproto.CanonicalMIMEHeaderKey: "content-type" -> "Content-Type"; keys with invalid bytes stay as they are. */
export function canonicalHeaderKey(key: string): string {
  if (!/^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/.test(key)) return key;
  let upper = true;
  let out = '';
  for (const ch of key) {
    out += upper ? ch.toUpperCase() : ch.toLowerCase();
    upper = ch === '-';
  }
  return out;
}

/** url.QueryEscape: space -> '+', unreserved kept, everything else %XX (upper case). */
export function queryEscape(s: string): string {
  let out = '';
  for (const b of Buffer.from(s, 'utf8')) {
    const ch = String.fromCharCode(b);
    if (/[A-Za-z0-9\-_.~]/.test(ch)) out += ch;
    else if (ch === ' ') out += '+';
    else out += '%' + b.toString(16).toUpperCase().padStart(2, '0');
  }
  return out;
}

/** url.Values.Encode: keys sorted, each value "k=v", joined with '&'. */
export function encodeGoForm(values: Map<string, string[]>): string {
  const keys = [...values.keys()].sort(compareBytes);
  const parts: string[] = [];
  for (const k of keys) for (const v of values.get(k)!) parts.push(`${queryEscape(k)}=${queryEscape(v)}`);
  return parts.join('&');
}

/** url.ParseQuery, keeping pairs in order; malformed escapes are skipped as Go does. */
export function parseGoQuery(query: string, into = new Map<string, string[]>()): Map<string, string[]> {
  for (const part of query.split('&')) {
    if (part === '' || part.includes(';')) continue;
    const eq = part.indexOf('=');
    const k = unescapeQuery(eq < 0 ? part : part.slice(0, eq));
    const v = unescapeQuery(eq < 0 ? '' : part.slice(eq + 1));
    if (k === undefined || v === undefined) continue;
    const list = into.get(k) ?? [];
    list.push(v);
    into.set(k, list);
  }
  return into;
}

function unescapeQuery(s: string): string | undefined {
  if (/%(?![0-9a-fA-F]{2})/.test(s)) return undefined;
  try {
    return decodeURIComponent(s.replaceAll('+', ' '));
  } catch {
    return Buffer.from(
      s.replaceAll('+', ' ').replace(/%([0-9a-fA-F]{2})/g, (_, h: string) => String.fromCharCode(parseInt(h, 16))),
      'latin1',
    ).toString('utf8');
  }
}

/** url.PathUnescape-like decoding of a request path (invalid escapes left as they are). */
export function unescapePath(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
}

/** url.URL.EscapedPath for a path without a usable RawPath (Go's shouldEscape in encodePath mode). */
export function escapeGoPath(p: string): string {
  let out = '';
  for (const b of Buffer.from(p, 'utf8')) {
    const ch = String.fromCharCode(b);
    if (/[A-Za-z0-9\-_.~$&+,/:;=@]/.test(ch)) out += ch;
    else out += '%' + b.toString(16).toUpperCase().padStart(2, '0');
  }
  return out;
}

/** path.Clean. */
export function cleanGoPath(p: string): string {
  if (p === '') return '.';
  const rooted = p.startsWith('/');
  const out: string[] = [];
  for (const seg of p.split('/')) {
    if (seg === '' || seg === '.') continue;
    if (seg === '..') {
      if (out.length > 0 && out[out.length - 1] !== '..') out.pop();
      else if (!rooted) out.push('..');
    } else out.push(seg);
  }
  const joined = out.join('/');
  if (rooted) return '/' + joined;
  return joined === '' ? '.' : joined;
}

/** net/http's cleanPath for ServeMux: rooted, cleaned, trailing slash kept. */
export function cleanMuxPath(p: string): string {
  if (p === '') return '/';
  if (p[0] !== '/') p = '/' + p;
  let np = cleanGoPath(p);
  if (p.endsWith('/') && np !== '/') np += '/';
  return np;
}

/** Byte-wise string order, as Go sorts map keys. */
export function compareBytes(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8'));
}

/** Local time in a Go layout made of the pieces fake-service uses. */
export function formatGoTime(epochMicros: number, layout: 'micro' | 'hclog' | 'hclog-json' | 'stdlog', tzOffsetMin?: number): string {
  const ms = Math.floor(epochMicros / 1000);
  const offset = tzOffsetMin ?? -new Date(ms).getTimezoneOffset();
  const local = new Date(ms + offset * 60_000);
  const p = (n: number, w = 2) => String(n).padStart(w, '0');
  const date = `${local.getUTCFullYear()}-${p(local.getUTCMonth() + 1)}-${p(local.getUTCDate())}`;
  const clock = `${p(local.getUTCHours())}:${p(local.getUTCMinutes())}:${p(local.getUTCSeconds())}`;
  const micros = ((epochMicros % 1_000_000) + 1_000_000) % 1_000_000;
  const zone = (colon: boolean) => {
    if (offset === 0) return 'Z';
    const a = Math.abs(offset);
    return `${offset < 0 ? '-' : '+'}${p(Math.floor(a / 60))}${colon ? ':' : ''}${p(a % 60)}`;
  };
  switch (layout) {
    case 'micro':
      return `${date}T${clock}.${p(micros, 6)}`;
    case 'hclog':
      return `${date}T${clock}.${p(Math.floor(micros / 1000), 3)}${zone(false)}`;
    case 'hclog-json':
      return `${date}T${clock}.${p(micros, 6)}${zone(true)}`;
    case 'stdlog':
      return `${date.replaceAll('-', '/')} ${clock}`;
  }
}

/** The reason phrase Go writes in a status line ("status code N" when unknown). */
export function goStatusText(code: number): string {
  return GO_STATUS_TEXT[code] ?? `status code ${code}`;
}

/**
 * net/http's StatusText: Node's table, which has the same codes and phrases but for the ones Go
 * spells differently, and 509, which Go does not know.
 */
export const GO_STATUS_TEXT: Record<number, string> = (() => {
  const table: Record<number, string> = {};
  for (const [code, text] of Object.entries(STATUS_CODES)) if (text !== undefined) table[Number(code)] = text;
  delete table[509];
  return {
    ...table,
    413: 'Request Entity Too Large',
    414: 'Request URI Too Long',
    416: 'Requested Range Not Satisfiable',
    418: "I'm a teapot",
  };
})();
