// Proto3 JSON mapping (https://protobuf.dev/programming-guides/json/) over protobufjs reflection:
// JSON names (lowerCamelCase) out, JSON or original names in, 64-bit integers as strings,
// bytes as base64, enums by name, and the well-known types in their JSON forms.
import protobuf from 'protobufjs';
import { UsageError } from './headers.js';

type Json = null | boolean | number | string | Json[] | { [k: string]: Json };
type Plain = Record<string, unknown>;

/** A request that does not fit its message type (a usage mistake: nothing was sent). */
export class JsonMappingError extends UsageError {
  override name = 'JsonMappingError';
}

/** protoc's json_name: underscores dropped, the next letter upper-cased. */
export function jsonName(name: string): string {
  return name.replace(/_+([a-zA-Z0-9])/g, (_, c: string) => c.toUpperCase());
}

const byJsonName = new WeakMap<protobuf.Type, Map<string, protobuf.Field>>();

function fieldsOf(type: protobuf.Type): Map<string, protobuf.Field> {
  let m = byJsonName.get(type);
  if (!m) {
    m = new Map();
    for (const f of type.fieldsArray) {
      m.set(f.name, f);
      m.set(jsonName(f.name), f);
    }
    byJsonName.set(type, m);
  }
  return m;
}

/** The field whose JSON name is `name` (the well-known types are found this way whatever their source). */
function field(type: protobuf.Type, name: string): protobuf.Field {
  const f = fieldsOf(type).get(name);
  if (!f) throw new JsonMappingError(`${type.fullName.slice(1)} has no field ${name}`);
  return f;
}

/** Encodes a JSON value as a message of `type`. */
export function encodeJson(type: protobuf.Type, json: unknown): Uint8Array {
  const plain = messageFromJson(type, json as Json, '');
  return type.encode(type.fromObject(plain)).finish();
}

/** Decodes a message of `type` to its proto3 JSON form. */
export function decodeToJson(type: protobuf.Type, bytes: Uint8Array): unknown {
  return messageToJson(type, type.decode(bytes) as unknown as Plain);
}

const WRAPPERS: Record<string, string> = {
  '.google.protobuf.DoubleValue': 'double',
  '.google.protobuf.FloatValue': 'float',
  '.google.protobuf.Int64Value': 'int64',
  '.google.protobuf.UInt64Value': 'uint64',
  '.google.protobuf.Int32Value': 'int32',
  '.google.protobuf.UInt32Value': 'uint32',
  '.google.protobuf.BoolValue': 'bool',
  '.google.protobuf.StringValue': 'string',
  '.google.protobuf.BytesValue': 'bytes',
};

function messageFromJson(type: protobuf.Type, json: Json, path: string): Plain {
  const wkt = wktFromJson(type, json, path);
  if (wkt) return wkt;
  if (json === null || typeof json !== 'object' || Array.isArray(json))
    throw new JsonMappingError(`${path || 'the request'}: expected a JSON object for ${type.fullName.slice(1)}`);
  const out: Plain = {};
  for (const [key, value] of Object.entries(json)) {
    const f = fieldsOf(type).get(key);
    const where = path ? `${path}.${key}` : key;
    if (!f) throw new JsonMappingError(`${where}: ${type.fullName.slice(1)} has no field "${key}"`);
    if (value === null && f.resolvedType?.fullName !== '.google.protobuf.Value') continue;
    out[f.name] = fieldFromJson(f, value, where);
  }
  return out;
}

function fieldFromJson(f: protobuf.Field, value: Json, path: string): unknown {
  if (f instanceof protobuf.MapField) {
    if (value === null || typeof value !== 'object' || Array.isArray(value))
      throw new JsonMappingError(`${path}: expected a JSON object (map)`);
    const out: Plain = {};
    for (const [k, v] of Object.entries(value)) out[k] = singleFromJson(f, v, `${path}["${k}"]`);
    return out;
  }
  if (f.repeated) {
    if (!Array.isArray(value)) throw new JsonMappingError(`${path}: expected a JSON array`);
    return value.map((v, i) => singleFromJson(f, v, `${path}[${i}]`));
  }
  return singleFromJson(f, value, path);
}

function singleFromJson(f: protobuf.FieldBase, value: Json, path: string): unknown {
  const t = f.resolvedType;
  if (t instanceof protobuf.Type) return messageFromJson(t, value, path);
  if (t instanceof protobuf.Enum) {
    if (typeof value === 'number' && Number.isInteger(value)) return value;
    if (typeof value === 'string' && value in t.values) return t.values[value];
    throw new JsonMappingError(
      `${path}: ${JSON.stringify(value)} is not a value of ${t.fullName.slice(1)} (${Object.keys(t.values).join(', ')})`,
    );
  }
  return scalarFromJson(f.type, value, path);
}

function scalarFromJson(type: string, value: Json, path: string): unknown {
  const bad = (what: string) => new JsonMappingError(`${path}: expected ${what}, got ${JSON.stringify(value)}`);
  switch (type) {
    case 'string':
      if (typeof value !== 'string') throw bad('a string');
      return value;
    case 'bool':
      if (typeof value !== 'boolean') throw bad('true or false');
      return value;
    case 'bytes':
      if (typeof value !== 'string' || !/^[A-Za-z0-9+/_-]*=*$/.test(value)) throw bad('base64 text');
      return Buffer.from(value, value.includes('-') || value.includes('_') ? 'base64url' : 'base64');
    case 'double':
    case 'float':
      if (typeof value === 'number') return value;
      if (value === 'NaN' || value === 'Infinity' || value === '-Infinity') return Number(value);
      if (typeof value === 'string' && value.trim() !== '' && Number.isFinite(Number(value))) return Number(value);
      throw bad('a number');
    case 'int64':
    case 'uint64':
    case 'sint64':
    case 'fixed64':
    case 'sfixed64':
      // protobufjs parses decimal strings into Long without losing precision.
      if (typeof value === 'number' && Number.isInteger(value)) return String(value);
      if (typeof value === 'string' && /^-?[0-9]+$/.test(value)) return value;
      throw bad('an integer (a number or a decimal string)');
    default: {
      const n = typeof value === 'string' && /^-?[0-9]+$/.test(value) ? Number(value) : value;
      if (typeof n !== 'number' || !Number.isInteger(n)) throw bad('an integer');
      const unsigned = type.startsWith('u') || type === 'fixed32';
      if (unsigned ? n < 0 || n > 0xffffffff : n < -0x80000000 || n > 0x7fffffff) throw bad(`a ${type}`);
      return n;
    }
  }
}

function wktFromJson(type: protobuf.Type, json: Json, path: string): Plain | undefined {
  const name = type.fullName;
  const at = path || 'the request';
  if (name in WRAPPERS) return { [field(type, 'value').name]: scalarFromJson(WRAPPERS[name]!, json, at) };
  switch (name) {
    case '.google.protobuf.Timestamp': {
      const m = typeof json === 'string' ? /^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(\.\d{1,9})?(Z|[+-]\d\d:\d\d)$/.exec(json) : null;
      const ms = m ? Date.parse(`${m[1]}${m[3]}`) : NaN;
      if (!m || Number.isNaN(ms)) throw new JsonMappingError(`${at}: expected an RFC 3339 timestamp such as "2025-01-02T03:04:05Z"`);
      return { seconds: String(ms / 1000), nanos: fractionNanos(m[2]) };
    }
    case '.google.protobuf.Duration': {
      const m = typeof json === 'string' ? /^(-)?(\d+)(\.\d{1,9})?s$/.exec(json) : null;
      if (!m) throw new JsonMappingError(`${at}: expected a duration in seconds such as "1.5s"`);
      const sign = m[1] ? -1 : 1;
      return { seconds: `${m[1] ?? ''}${m[2]}`, nanos: sign * fractionNanos(m[3]) };
    }
    case '.google.protobuf.FieldMask':
      if (typeof json !== 'string') throw new JsonMappingError(`${at}: expected a field mask such as "name,address.city"`);
      return { paths: json === '' ? [] : json.split(',').map((p) => p.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`)) };
    case '.google.protobuf.Struct': {
      if (json === null || typeof json !== 'object' || Array.isArray(json)) throw new JsonMappingError(`${at}: expected a JSON object`);
      const valueType = field(type, 'fields').resolvedType as protobuf.Type;
      return { [field(type, 'fields').name]: Object.fromEntries(Object.entries(json).map(([k, v]) => [k, valueFromJson(valueType, v)])) };
    }
    case '.google.protobuf.ListValue': {
      if (!Array.isArray(json)) throw new JsonMappingError(`${at}: expected a JSON array`);
      const valueType = field(type, 'values').resolvedType as protobuf.Type;
      return { [field(type, 'values').name]: json.map((v) => valueFromJson(valueType, v)) };
    }
    case '.google.protobuf.Value':
      return valueFromJson(type, json);
    case '.google.protobuf.Any':
      throw new JsonMappingError(`${at}: google.protobuf.Any is not supported in JSON requests`);
  }
  return undefined;
}

function valueFromJson(valueType: protobuf.Type, json: Json): Plain {
  const set = (jsonField: string, v: unknown): Plain => ({ [field(valueType, jsonField).name]: v });
  if (json === null) return set('nullValue', 0);
  if (typeof json === 'number') return set('numberValue', json);
  if (typeof json === 'string') return set('stringValue', json);
  if (typeof json === 'boolean') return set('boolValue', json);
  const struct = field(valueType, 'structValue').resolvedType as protobuf.Type;
  const list = field(valueType, 'listValue').resolvedType as protobuf.Type;
  if (Array.isArray(json)) return set('listValue', wktFromJson(list, json, ''));
  return set('structValue', wktFromJson(struct, json, ''));
}

function fractionNanos(fraction: string | undefined): number {
  return fraction ? Number(fraction.slice(1).padEnd(9, '0')) : 0;
}

function messageToJson(type: protobuf.Type, msg: Plain): unknown {
  const wkt = wktToJson(type, msg);
  if (wkt !== undefined) return wkt;
  const out: Record<string, unknown> = {};
  for (const f of type.fieldsArray) {
    if (!Object.prototype.hasOwnProperty.call(msg, f.name)) continue;
    const v = msg[f.name];
    if (v === null || v === undefined) continue;
    if (f instanceof protobuf.MapField) {
      const entries = Object.entries(v as Plain);
      if (entries.length > 0)
        out[jsonName(f.name)] = Object.fromEntries(entries.map(([k, x]) => [mapKey(f.keyType, k), singleToJson(f, x)]));
    } else if (f.repeated) {
      if ((v as unknown[]).length > 0) out[jsonName(f.name)] = (v as unknown[]).map((x) => singleToJson(f, x));
    } else out[jsonName(f.name)] = singleToJson(f, v);
  }
  return out;
}

// protobufjs keys 64-bit map entries by an 8-character hash of the number.
function mapKey(keyType: string, key: string): string {
  if (!keyType.endsWith('64') || key.length !== 8 || !protobuf.util.Long) return key;
  return protobuf.util.LongBits.fromHash(key)
    .toLong(keyType === 'uint64' || keyType === 'fixed64')
    .toString();
}

function singleToJson(f: protobuf.FieldBase, v: unknown): unknown {
  const t = f.resolvedType;
  if (t instanceof protobuf.Type) return messageToJson(t, v as Plain);
  if (t instanceof protobuf.Enum) return t.valuesById[v as number] ?? v;
  return scalarToJson(f.type, v);
}

function scalarToJson(type: string, v: unknown): unknown {
  if (type === 'bytes') return Buffer.from(v as Uint8Array).toString('base64');
  if (type.endsWith('64')) return String(v); // int64 family: strings, as proto3 JSON says
  if (typeof v === 'number' && !Number.isFinite(v)) return String(v);
  return v;
}

function wktToJson(type: protobuf.Type, msg: Plain): unknown {
  const name = type.fullName;
  const get = (jsonField: string) => msg[field(type, jsonField).name];
  if (name in WRAPPERS) return scalarToJson(WRAPPERS[name]!, get('value') ?? type.fieldsArray[0]!.defaultValue);
  switch (name) {
    case '.google.protobuf.Timestamp': {
      const seconds = Number(get('seconds') ?? 0);
      const nanos = Number(get('nanos') ?? 0);
      const iso = new Date(seconds * 1000).toISOString().replace(/\.\d{3}Z$/, '');
      return `${iso}${nanosText(nanos)}Z`;
    }
    case '.google.protobuf.Duration': {
      const seconds = BigInt(String(get('seconds') ?? 0));
      const nanos = Number(get('nanos') ?? 0);
      const negative = seconds < 0n || nanos < 0;
      const abs = seconds < 0n ? -seconds : seconds;
      return `${negative ? '-' : ''}${abs}${nanosText(Math.abs(nanos))}s`;
    }
    case '.google.protobuf.FieldMask':
      return ((get('paths') as string[] | undefined) ?? []).map(jsonName).join(',');
    case '.google.protobuf.Struct': {
      const valueType = field(type, 'fields').resolvedType as protobuf.Type;
      const fields = (get('fields') as Record<string, Plain> | undefined) ?? {};
      return Object.fromEntries(Object.entries(fields).map(([k, v]) => [k, wktToJson(valueType, v)]));
    }
    case '.google.protobuf.ListValue': {
      const valueType = field(type, 'values').resolvedType as protobuf.Type;
      return ((get('values') as Plain[] | undefined) ?? []).map((v) => wktToJson(valueType, v));
    }
    case '.google.protobuf.Value': {
      for (const f of type.fieldsArray) {
        if (!Object.prototype.hasOwnProperty.call(msg, f.name) || msg[f.name] === null || msg[f.name] === undefined) continue;
        const k = jsonName(f.name);
        if (k === 'nullValue') return null;
        if (k === 'structValue' || k === 'listValue') return wktToJson(f.resolvedType as protobuf.Type, msg[f.name] as Plain);
        return msg[f.name];
      }
      return null;
    }
  }
  return undefined;
}

function nanosText(nanos: number): string {
  if (nanos === 0) return '';
  const s = String(nanos).padStart(9, '0');
  return '.' + (s.endsWith('000000') ? s.slice(0, 3) : s.endsWith('000') ? s.slice(0, 6) : s);
}
