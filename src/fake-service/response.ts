/**
 * fake-service's response document: Go struct order, `omitempty` on every key but `code`, maps
 * sorted by key, two-space indentation and a trailing newline (json.Encoder with SetIndent).
 * Parsing follows json.Unmarshal into that struct, so a chain of services nests documents as
 * the original does and keeps `body` as raw JSON text.
 */
import { compareBytes } from './go-format.js';
import { indentGoJson, marshalGo, parseGoJson, type GoValue, type JsonNode } from './go-json.js';

export type FakeResponse = {
  name: string;
  uri: string;
  type: string;
  ipAddresses: string[];
  path: string[];
  startTime: string;
  endTime: string;
  duration: string;
  headers: Map<string, string>;
  cookies: Map<string, string>;
  /** Raw JSON text (json.RawMessage); '' when absent. */
  body: string;
  upstreamCalls: Map<string, FakeResponse>;
  code: number;
  error: string;
};

export function emptyResponse(): FakeResponse {
  return {
    name: '',
    uri: '',
    type: '',
    ipAddresses: [],
    path: [],
    startTime: '',
    endTime: '',
    duration: '',
    headers: new Map(),
    cookies: new Map(),
    body: '',
    upstreamCalls: new Map(),
    code: 0,
    error: '',
  };
}

/** A Go panic while answering: net/http drops the connection; a gRPC handler would crash the process. */
export class GoPanic extends Error {}

function sortedMap<T>(m: Map<string, T>, f: (v: T) => GoValue): Map<string, GoValue> {
  const out = new Map<string, GoValue>();
  for (const k of [...m.keys()].sort(compareBytes)) out.set(k, f(m.get(k)!));
  return out;
}

function toGoValue(r: FakeResponse): Map<string, GoValue> {
  const o = new Map<string, GoValue>();
  if (r.name) o.set('name', r.name);
  if (r.uri) o.set('uri', r.uri);
  if (r.type) o.set('type', r.type);
  if (r.ipAddresses.length) o.set('ip_addresses', r.ipAddresses);
  if (r.path.length) o.set('path', r.path);
  if (r.startTime) o.set('start_time', r.startTime);
  if (r.endTime) o.set('end_time', r.endTime);
  if (r.duration) o.set('duration', r.duration);
  if (r.headers.size)
    o.set(
      'headers',
      sortedMap(r.headers, (v) => v),
    );
  if (r.cookies.size)
    o.set(
      'cookies',
      sortedMap(r.cookies, (v) => v),
    );
  if (r.body) {
    const check = parseGoJson(r.body);
    if (!check.ok) throw new GoPanic(`json: error calling MarshalJSON for type json.RawMessage: ${check.error}`);
    o.set('body', { raw: r.body });
  }
  if (r.upstreamCalls.size) o.set('upstream_calls', sortedMap(r.upstreamCalls, toGoValue));
  o.set('code', r.code);
  if (r.error) o.set('error', r.error);
  return o;
}

/** Response.ToJSON; throws GoPanic when `body` is not valid JSON (as the Go encoder panics). */
export function responseToJSON(r: FakeResponse): string {
  return indentGoJson(marshalGo(toGoValue(r)), '  ') + '\n';
}

/** MESSAGE as the body: raw JSON when it starts with '{', else wrapped in quotes without escaping. */
export function messageBody(message: string): string {
  return message.startsWith('{') ? message : `"${message}"`;
}

type Field = 'string' | 'strings' | 'stringMap' | 'raw' | 'calls' | 'int';
const FIELDS: [json: string, key: keyof FakeResponse, type: Field][] = [
  ['name', 'name', 'string'],
  ['uri', 'uri', 'string'],
  ['type', 'type', 'string'],
  ['ip_addresses', 'ipAddresses', 'strings'],
  ['path', 'path', 'strings'],
  ['start_time', 'startTime', 'string'],
  ['end_time', 'endTime', 'string'],
  ['duration', 'duration', 'string'],
  ['headers', 'headers', 'stringMap'],
  ['cookies', 'cookies', 'stringMap'],
  ['body', 'body', 'raw'],
  ['upstream_calls', 'upstreamCalls', 'calls'],
  ['code', 'code', 'int'],
  ['error', 'error', 'string'],
];
const GO_TYPE: Record<Field, string> = {
  string: 'string',
  strings: '[]string',
  stringMap: 'map[string]string',
  raw: 'json.RawMessage',
  calls: 'map[string]response.Response',
  int: 'int',
};

class TypeError_ extends Error {}

function kindWord(n: JsonNode): string {
  return n.kind === 'bool' ? 'bool' : n.kind;
}

function typeError(n: JsonNode, path: string[], goType: string, value = kindWord(n)): TypeError_ {
  const where = path.length ? `Go struct field Response.${path.join('.')}` : 'Go value';
  return new TypeError_(`json: cannot unmarshal ${value} into ${where} of type ${goType}`);
}

function decodeString(n: JsonNode, path: string[]): string | undefined {
  if (n.kind === 'null') return undefined;
  if (n.kind !== 'string') throw typeError(n, path, 'string');
  return n.value;
}

function decodeInto(r: FakeResponse, n: JsonNode, path: string[]): void {
  if (n.kind === 'null') return;
  if (n.kind !== 'object') throw typeError(n, path, 'response.Response');
  for (const [key, value] of n.entries) {
    const field = FIELDS.find((f) => f[0] === key) ?? FIELDS.find((f) => f[0].toLowerCase() === key.toLowerCase());
    if (!field) continue;
    const [json, k, type] = field;
    const at = [...path, json];
    const rec = r as unknown as Record<string, unknown>;
    switch (type) {
      case 'string': {
        const s = decodeString(value, at);
        if (s !== undefined) rec[k] = s;
        break;
      }
      case 'strings':
        if (value.kind === 'null') rec[k] = [];
        else if (value.kind !== 'array') throw typeError(value, at, GO_TYPE[type]);
        else rec[k] = value.items.map((item) => decodeString(item, at) ?? '');
        break;
      case 'stringMap':
        if (value.kind === 'null') rec[k] = new Map();
        else if (value.kind !== 'object') throw typeError(value, at, GO_TYPE[type]);
        else for (const [mk, mv] of value.entries) (rec[k] as Map<string, string>).set(mk, decodeString(mv, at) ?? '');
        break;
      case 'raw':
        rec[k] = value.raw;
        break;
      case 'calls':
        if (value.kind === 'null') rec[k] = new Map();
        else if (value.kind !== 'object') throw typeError(value, at, GO_TYPE[type]);
        else
          for (const [mk, mv] of value.entries) {
            const inner = emptyResponse();
            decodeInto(inner, mv, at);
            (rec[k] as Map<string, FakeResponse>).set(mk, inner);
          }
        break;
      case 'int':
        if (value.kind === 'null') break;
        if (value.kind !== 'number') throw typeError(value, at, 'int');
        if (!/^-?[0-9]+$/.test(value.raw) || BigInt(value.raw) > 9223372036854775807n || BigInt(value.raw) < -9223372036854775808n)
          throw typeError(value, at, 'int', `number ${value.raw}`);
        rec[k] = Number(value.raw);
        break;
    }
  }
}

/** Response.FromJSON: the parsed document, or the json.Unmarshal error text. */
export function responseFromJSON(text: string | Buffer): { ok: true; response: FakeResponse } | { ok: false; error: string } {
  const parsed = parseGoJson(text);
  if (!parsed.ok) return parsed;
  const r = emptyResponse();
  try {
    decodeInto(r, parsed.node, []);
  } catch (e) {
    if (e instanceof TypeError_) return { ok: false, error: e.message };
    throw e;
  }
  return { ok: true, response: r };
}
