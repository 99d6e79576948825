/**
 * Log lines in hashicorp/go-hclog's formats (v1.6): the text format
 * `<time> [LEVEL] <name>: <message>: key=value ...` with hclog's quoting and multi-line values,
 * and the JSON format (one object per line, keys sorted as Go sorts a map).
 */
import { compareBytes, formatGoDuration, formatGoFloat, formatGoTime, goQuote } from './go-format.js';
import { encodeGoString } from './go-json.js';

export type LogLevel = 'trace' | 'debug' | 'info' | 'warn' | 'error';
const ORDER: Record<LogLevel | 'off', number> = { trace: 1, debug: 2, info: 3, warn: 4, error: 5, off: 6 };
const BRACKET: Record<LogLevel, string> = { trace: '[TRACE]', debug: '[DEBUG]', info: '[INFO] ', warn: '[WARN] ', error: '[ERROR]' };

/** A field value: Go's int, float64, bool, string, time.Duration or error. */
export type LogValue = string | number | boolean | { float: number } | { durationNs: number } | { error: string } | { strings: string[] };

export type LogSink = (line: string) => void;

export type LoggerOptions = {
  level: LogLevel | 'off';
  json: boolean;
  sink: LogSink;
  /** Wall-clock time in microseconds since the epoch. */
  nowMicros: () => number;
  /** Minutes east of UTC for timestamps; the process's local zone when absent. */
  tzOffsetMin?: number;
};

/** hclog.LevelFromString: unknown names fall back to info, as hclog's NoLevel does. */
export function levelFromString(s: string): LogLevel | 'off' {
  const l = s.trim().toLowerCase();
  return l === 'trace' || l === 'debug' || l === 'info' || l === 'warn' || l === 'error' || l === 'off' ? l : 'info';
}

export class Logger {
  #opts: LoggerOptions;
  #name: string;

  constructor(opts: LoggerOptions, name = '') {
    this.#opts = opts;
    this.#name = name;
  }

  /** A sub-logger; names nest with '.' as hclog's Named does. */
  named(name: string): Logger {
    return new Logger(this.#opts, this.#name ? `${this.#name}.${name}` : name);
  }

  enabled(level: LogLevel): boolean {
    return ORDER[level] >= ORDER[this.#opts.level];
  }

  trace(msg: string, ...kv: (string | LogValue)[]): void {
    this.log('trace', msg, kv);
  }
  debug(msg: string, ...kv: (string | LogValue)[]): void {
    this.log('debug', msg, kv);
  }
  info(msg: string, ...kv: (string | LogValue)[]): void {
    this.log('info', msg, kv);
  }
  warn(msg: string, ...kv: (string | LogValue)[]): void {
    this.log('warn', msg, kv);
  }
  error(msg: string, ...kv: (string | LogValue)[]): void {
    this.log('error', msg, kv);
  }

  log(level: LogLevel, msg: string, kv: (string | LogValue)[]): void {
    if (!this.enabled(level)) return;
    const micros = this.#opts.nowMicros();
    this.#opts.sink(
      this.#opts.json
        ? jsonLine(micros, this.#opts.tzOffsetMin, this.#name, level, msg, kv)
        : textLine(micros, this.#opts.tzOffsetMin, this.#name, level, msg, kv),
    );
  }
}

function textLine(micros: number, tz: number | undefined, name: string, level: LogLevel, msg: string, kv: (string | LogValue)[]): string {
  let out = `${formatGoTime(micros, 'hclog', tz)} ${BRACKET[level]} `;
  if (name) out += msg ? `${name}: ${msg}` : name;
  else out += msg;
  if (kv.length > 0) {
    if (kv.length % 2 !== 0) kv = [...kv.slice(0, -1), 'EXTRA_VALUE_AT_END', kv[kv.length - 1]!];
    out += ':';
    for (let i = 0; i < kv.length; i += 2) {
      const key = String(kv[i]);
      let val: string;
      let raw = false;
      const v = kv[i + 1]!;
      if (typeof v === 'string') {
        val = v;
        if (v === '') {
          val = '""';
          raw = true;
        }
      } else if (typeof v === 'object' && 'strings' in v) {
        // A []string renders as ["a", "b"] and is never quoted again.
        val = `[${v.strings.map(goQuote).join(', ')}]`;
        raw = true;
      } else val = textValue(v);
      if (val.includes('\n')) {
        out += `\n  ${key}=\n`;
        out += indentLines(val);
        out += '  ';
      } else if (!raw && needsQuoting(val)) out += ` ${key}="${escapeForOutput(val, true)}"`;
      else out += ` ${key}=${val}`;
    }
  }
  return out + '\n';
}

function textValue(v: Exclude<LogValue, string | { strings: string[] }>): string {
  if (typeof v === 'number') return String(v);
  if (typeof v === 'boolean') return v ? 'true' : 'false';
  if ('float' in v) return formatGoFloat(v.float);
  if ('durationNs' in v) return formatGoDuration(v.durationNs);
  return v.error;
}

/** Each line of a multi-line value prefixed with "  | "; a trailing newline adds no empty line. */
function indentLines(val: string): string {
  let out = '';
  let rest = val;
  for (;;) {
    const nl = rest.indexOf('\n');
    if (nl < 0) {
      if (rest !== '') out += `  | ${escapeForOutput(rest, false)}\n`;
      return out;
    }
    out += `  | ${escapeForOutput(rest.slice(0, nl), false)}\n`;
    rest = rest.slice(nl + 1);
  }
}

/** hclog's isNormal: only '-' through '~' may stand unquoted. */
function needsQuoting(s: string): boolean {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x2d || c > 0x7e) return true;
  }
  return false;
}

/** writeEscapedForOutput: non-printable runes escaped, quotes escaped inside quoted values. */
function escapeForOutput(s: string, escapeQuotes: boolean): string {
  let out = '';
  for (const ch of s) {
    const c = ch.codePointAt(0)!;
    if (escapeQuotes && ch === '"') out += '\\"';
    else if (c >= 0x20 && c !== 0x7f && !(c >= 0x80 && c <= 0x9f) && !(c >= 0xd800 && c <= 0xdfff)) out += ch;
    else if (c === 0x07) out += '\\a';
    else if (c === 0x08) out += '\\b';
    else if (c === 0x0c) out += '\\f';
    else if (c === 0x0a) out += '\\n';
    else if (c === 0x0d) out += '\\r';
    else if (c === 0x09) out += '\\t';
    else if (c === 0x0b) out += '\\v';
    else if (c < 0x20) out += '\\x' + c.toString(16).padStart(2, '0');
    else out += '\\u' + (c >= 0xd800 && c <= 0xdfff ? 0xfffd : c).toString(16).padStart(4, '0');
  }
  return out;
}

function jsonLine(micros: number, tz: number | undefined, name: string, level: LogLevel, msg: string, kv: (string | LogValue)[]): string {
  const vals = new Map<string, string>();
  vals.set('@message', encodeGoString(msg));
  vals.set('@timestamp', encodeGoString(formatGoTime(micros, 'hclog-json', tz)));
  vals.set('@level', encodeGoString(level));
  if (name) vals.set('@module', encodeGoString(name));
  if (kv.length % 2 !== 0) kv = [...kv.slice(0, -1), 'EXTRA_VALUE_AT_END', kv[kv.length - 1]!];
  for (let i = 0; i < kv.length; i += 2) vals.set(String(kv[i]), jsonValue(kv[i + 1]!));
  const keys = [...vals.keys()].sort(compareBytes);
  return '{' + keys.map((k) => `${encodeGoString(k)}:${vals.get(k)}`).join(',') + '}\n';
}

function jsonValue(v: LogValue): string {
  if (typeof v === 'string') return encodeGoString(v);
  if (typeof v === 'number') return String(v);
  if (typeof v === 'boolean') return v ? 'true' : 'false';
  if ('float' in v) return Number.isFinite(v.float) ? String(v.float) : 'null';
  if ('durationNs' in v) return String(Math.trunc(v.durationNs));
  if ('strings' in v) return `[${v.strings.map((x) => encodeGoString(x)).join(',')}]`;
  return encodeGoString(v.error);
}

export const dur = (ns: number): LogValue => ({ durationNs: ns });
export const float = (v: number): LogValue => ({ float: v });
export const err = (text: string): LogValue => ({ error: text });
