/**
 * Go's encoding/json as far as fake-service and the echo backend show it: a parser that keeps
 * every value's raw text (json.RawMessage keeps numbers as written) and reports Go's syntax error
 * texts, string escaping with HTML-safe escapes, Compact and Indent.
 */
import { goQuote } from './go-format.js';

export type JsonNode =
  | { kind: 'object'; entries: [string, JsonNode][]; raw: string }
  | { kind: 'array'; items: JsonNode[]; raw: string }
  | { kind: 'string'; value: string; raw: string }
  | { kind: 'number'; raw: string }
  | { kind: 'bool'; value: boolean; raw: string }
  | { kind: 'null'; raw: string };

export type JsonParse = { ok: true; node: JsonNode } | { ok: false; error: string };

class SyntaxError extends Error {}

/** Parses one JSON document (with optional surrounding whitespace), as json.Unmarshal would check it. */
export function parseGoJson(text: string | Buffer): JsonParse {
  const buf = typeof text === 'string' ? Buffer.from(text, 'utf8') : text;
  let i = 0;
  const eof = () => new SyntaxError('unexpected end of JSON input');
  const bad = (context: string) => new SyntaxError(`invalid character ${quoteChar(buf[i]!)} ${context}`);
  const space = () => {
    while (i < buf.length && (buf[i] === 0x20 || buf[i] === 0x09 || buf[i] === 0x0a || buf[i] === 0x0d)) i++;
  };
  const literal = (word: string, value: JsonNode) => {
    for (let k = 1; k < word.length; k++) {
      i++;
      if (i >= buf.length) throw eof();
      if (buf[i] !== word.charCodeAt(k)) throw bad(`in literal ${word} (expecting ${quoteChar(word.charCodeAt(k))})`);
    }
    i++;
    return value;
  };
  const digits = () => {
    const start = i;
    while (i < buf.length && buf[i]! >= 0x30 && buf[i]! <= 0x39) i++;
    return i - start;
  };
  const number = (): JsonNode => {
    const start = i;
    if (buf[i] === 0x2d) {
      i++;
      if (i >= buf.length) throw eof();
      if (!(buf[i]! >= 0x30 && buf[i]! <= 0x39)) throw bad('in numeric literal');
    }
    if (buf[i] === 0x30) i++;
    else digits();
    if (buf[i] === 0x2e) {
      i++;
      if (i >= buf.length) throw eof();
      if (digits() === 0) throw bad('after decimal point in numeric literal');
    }
    if (buf[i] === 0x65 || buf[i] === 0x45) {
      i++;
      if (i >= buf.length) throw eof();
      if (buf[i] === 0x2b || buf[i] === 0x2d) i++;
      if (i >= buf.length) throw eof();
      if (digits() === 0) throw bad('in exponent of numeric literal');
    }
    return { kind: 'number', raw: buf.subarray(start, i).toString('utf8') };
  };
  const string = (): JsonNode & { kind: 'string' } => {
    const start = i;
    i++;
    for (;;) {
      if (i >= buf.length) throw eof();
      const c = buf[i]!;
      if (c === 0x22) break;
      if (c < 0x20) throw bad('in string literal');
      if (c === 0x5c) {
        i++;
        if (i >= buf.length) throw eof();
        const e = buf[i]!;
        if (e === 0x75) {
          for (let k = 0; k < 4; k++) {
            i++;
            if (i >= buf.length) throw eof();
            if (!/[0-9a-fA-F]/.test(String.fromCharCode(buf[i]!))) throw bad('in \\u hexadecimal character escape');
          }
        } else if (!'"\\/bfnrt'.includes(String.fromCharCode(e))) throw bad('in string escape code');
      }
      i++;
    }
    i++;
    const raw = buf.subarray(start, i).toString('utf8');
    return { kind: 'string', value: JSON.parse(raw) as string, raw };
  };
  const value = (): JsonNode => {
    space();
    if (i >= buf.length) throw eof();
    const c = buf[i]!;
    const start = i;
    switch (c) {
      case 0x7b: {
        i++;
        const entries: [string, JsonNode][] = [];
        space();
        if (i >= buf.length) throw eof();
        if (buf[i] === 0x7d) {
          i++;
          return { kind: 'object', entries, raw: buf.subarray(start, i).toString('utf8') };
        }
        for (;;) {
          space();
          if (i >= buf.length) throw eof();
          if (buf[i] !== 0x22) throw bad('looking for beginning of object key string');
          const key = string().value;
          space();
          if (i >= buf.length) throw eof();
          if (buf[i] !== 0x3a) throw bad('after object key');
          i++;
          entries.push([key, value()]);
          space();
          if (i >= buf.length) throw eof();
          if (buf[i] === 0x2c) {
            i++;
            continue;
          }
          if (buf[i] === 0x7d) {
            i++;
            return { kind: 'object', entries, raw: buf.subarray(start, i).toString('utf8') };
          }
          throw bad('after object key:value pair');
        }
      }
      case 0x5b: {
        i++;
        const items: JsonNode[] = [];
        space();
        if (i >= buf.length) throw eof();
        if (buf[i] === 0x5d) {
          i++;
          return { kind: 'array', items, raw: buf.subarray(start, i).toString('utf8') };
        }
        for (;;) {
          items.push(value());
          space();
          if (i >= buf.length) throw eof();
          if (buf[i] === 0x2c) {
            i++;
            continue;
          }
          if (buf[i] === 0x5d) {
            i++;
            return { kind: 'array', items, raw: buf.subarray(start, i).toString('utf8') };
          }
          throw bad('after array element');
        }
      }
      case 0x22:
        return string();
      case 0x74:
        return literal('true', { kind: 'bool', value: true, raw: 'true' });
      case 0x66:
        return literal('false', { kind: 'bool', value: false, raw: 'false' });
      case 0x6e:
        return literal('null', { kind: 'null', raw: 'null' });
      default:
        if (c === 0x2d || (c >= 0x30 && c <= 0x39)) return number();
        throw bad('looking for beginning of value');
    }
  };
  try {
    const node = value();
    space();
    if (i < buf.length) throw bad('after top-level value');
    return { ok: true, node };
  } catch (e) {
    if (e instanceof SyntaxError) return { ok: false, error: e.message };
    throw e;
  }
}

/** The scanner's quoteChar: a byte shown as a Go rune literal. */
function quoteChar(c: number): string {
  if (c === 0x27) return `'\\''`;
  if (c === 0x22) return `'"'`;
  const q = goQuote(String.fromCharCode(c));
  return `'${q.slice(1, -1)}'`;
}

const HEX = '0123456789abcdef';

/** encoding/json string encoding with HTML escaping (Go 1.22+: \b and \f short forms). */
export function encodeGoString(s: string, escapeHTML = true): string {
  let out = '"';
  for (const ch of s) {
    const c = ch.codePointAt(0)!;
    if (c < 0x80) {
      if (ch === '"' || ch === '\\') out += '\\' + ch;
      else if (c === 0x0a) out += '\\n';
      else if (c === 0x0d) out += '\\r';
      else if (c === 0x09) out += '\\t';
      else if (c === 0x08) out += '\\b';
      else if (c === 0x0c) out += '\\f';
      else if (c < 0x20 || (escapeHTML && (ch === '<' || ch === '>' || ch === '&'))) out += '\\u00' + HEX[c >> 4] + HEX[c & 0xf];
      else out += ch;
    } else if (c >= 0xd800 && c <= 0xdfff) out += '\\ufffd';
    else if (c === 0x2028 || c === 0x2029) out += '\\u202' + HEX[c & 0xf];
    else out += ch;
  }
  return out + '"';
}

/** json.Compact with HTML escaping, for valid JSON text (a RawMessage being marshalled). */
export function compactGoJson(raw: string): string {
  let out = '';
  let inString = false;
  let escaped = false;
  for (const ch of raw) {
    if (inString) {
      if (escaped) escaped = false;
      else if (ch === '\\') escaped = true;
      else if (ch === '"') inString = false;
    } else if (ch === ' ' || ch === '\t' || ch === '\n' || ch === '\r') continue;
    else if (ch === '"') inString = true;
    if (ch === '<' || ch === '>' || ch === '&') out += '\\u00' + ch.charCodeAt(0).toString(16);
    else if (ch === '\u2028' || ch === '\u2029') out += '\\u202' + (ch === '\u2028' ? '8' : '9');
    else out += ch;
  }
  return out;
}

/** json.Indent of compact JSON text: empty objects and arrays stay "{}" and "[]". */
export function indentGoJson(compact: string, indent: string, prefix = ''): string {
  let out = '';
  let depth = 0;
  let needIndent = false;
  let inString = false;
  let escaped = false;
  const newline = () => '\n' + prefix + indent.repeat(depth);
  for (const ch of compact) {
    if (inString) {
      out += ch;
      if (escaped) escaped = false;
      else if (ch === '\\') escaped = true;
      else if (ch === '"') inString = false;
      continue;
    }
    if (needIndent && ch !== '}' && ch !== ']') {
      needIndent = false;
      depth++;
      out += newline();
    }
    switch (ch) {
      case '"':
        inString = true;
        out += ch;
        break;
      case '{':
      case '[':
        needIndent = true;
        out += ch;
        break;
      case ',':
        out += ch + newline();
        break;
      case ':':
        out += ': ';
        break;
      case '}':
      case ']':
        if (needIndent) needIndent = false;
        else {
          depth--;
          out += newline();
        }
        out += ch;
        break;
      default:
        out += ch;
    }
  }
  return out;
}

/** An ordered JSON value for marshalling: objects keep insertion order (Go struct order), raw is inserted as is. */
export type GoValue = string | number | boolean | null | GoValue[] | { raw: string } | Map<string, GoValue>;

/** json.Marshal (compact) of an ordered value; map keys are written in the order given. */
export function marshalGo(v: GoValue): string {
  if (v === null) return 'null';
  if (typeof v === 'string') return encodeGoString(v);
  if (typeof v === 'number') return String(v);
  if (typeof v === 'boolean') return v ? 'true' : 'false';
  if (Array.isArray(v)) return '[' + v.map(marshalGo).join(',') + ']';
  if (v instanceof Map) return '{' + [...v].map(([k, x]) => encodeGoString(k) + ':' + marshalGo(x)).join(',') + '}';
  return compactGoJson(v.raw);
}
