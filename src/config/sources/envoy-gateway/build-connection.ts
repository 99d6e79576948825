/**
 * BackendTrafficPolicy `spec.connection` -> connection buffer limit (Envoy Gateway
 * `buildBackendConnection`). `bufferLimit` is a Kubernetes quantity (`100M`, `32Ki`) and becomes
 * Envoy's per_connection_buffer_limit_bytes, which is also the retry replay limit
 * (`ir.RetryPolicy.bufferLimitBytes`). Not one of the seven resilience features, but an invalid
 * value rejects the whole policy, so it is checked here like the others.
 */
import type { Origins } from '../../../ir/origin.js';
import type { Diagnostics, LoadedObject } from '../../model.js';
import { Connection } from './schema.js';
import { fail, manifestOrigin, readFeature, reader } from './spec-reader.js';

export type ConnectionFragment = { bufferLimitBytes?: number; origin: Origins };

const DECIMAL_EXP: Record<string, number> = { n: -9, u: -6, m: -3, '': 0, k: 3, M: 6, G: 9, T: 12, P: 15, E: 18 };
const BINARY_EXP: Record<string, number> = { Ki: 1, Mi: 2, Gi: 3, Ti: 4, Pi: 5, Ei: 6 };
const QUANTITY = /^([+-]?)([0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE]([+-]?[0-9]+)|(Ki|Mi|Gi|Ti|Pi|Ei|[numkMGTPE]))?$/;
const NANO = 1_000_000_000n;

/** A Kubernetes quantity, exactly: its value in nano-units and the format its canonical text keeps. */
export type Quantity = { nano: bigint; format: 'DecimalSI' | 'BinarySI' | 'DecimalExponent' };

export function parseQuantity(text: string): Quantity | undefined {
  const m = QUANTITY.exec(text);
  if (!m) return undefined;
  const [, sign, num = '', exp, suffix = ''] = m;
  const [int = '', frac = ''] = num.split('.');
  // digits / 10^frac.length, scaled to nano-units.
  let nano = BigInt(int + frac || '0') * NANO;
  let div = 10n ** BigInt(frac.length);
  let format: Quantity['format'] = 'DecimalSI';
  if (exp !== undefined) {
    format = 'DecimalExponent';
    const e = Number(exp);
    if (e >= 0) nano *= 10n ** BigInt(e);
    else div *= 10n ** BigInt(-e);
  } else if (suffix in BINARY_EXP) {
    format = 'BinarySI';
    nano *= 1024n ** BigInt(BINARY_EXP[suffix]!);
  } else {
    const e = DECIMAL_EXP[suffix]!;
    if (e >= 0) nano *= 10n ** BigInt(e);
    else div *= 10n ** BigInt(-e);
  }
  // Kubernetes rounds up below the nano scale.
  const q = nano / div + (nano % div === 0n ? 0n : 1n);
  return { nano: sign === '-' ? -q : q, format };
}

/** Kubernetes' canonical text (`1000G` -> `1T`, `2048Ki` -> `2Mi`), as Envoy Gateway's messages print it. */
export function formatQuantity(q: Quantity): string {
  if (q.nano === 0n) return '0';
  const neg = q.nano < 0n;
  const abs = neg ? -q.nano : q.nano;
  const sign = neg ? '-' : '';
  if (q.format === 'BinarySI' && abs % NANO === 0n) {
    const v = abs / NANO;
    let k = 0;
    let m = v;
    while (k < 6 && m % 1024n === 0n) {
      m /= 1024n;
      k++;
    }
    if (k > 0) return `${sign}${m}${['', 'Ki', 'Mi', 'Gi', 'Ti', 'Pi', 'Ei'][k]}`;
    if (v < 1024n) return `${sign}${v}`;
  }
  let m = abs;
  let e = -9;
  while (e < 18 && m % 1000n === 0n) {
    m /= 1000n;
    e += 3;
  }
  if (q.format === 'DecimalExponent') return e === 0 ? `${sign}${m}` : `${sign}${m}e${e}`;
  const suffix = Object.entries(DECIMAL_EXP).find(([, x]) => x === e)![0];
  return `${sign}${m}${suffix}`;
}

export function buildConnection(btp: LoadedObject, diags: Diagnostics): ConnectionFragment | undefined {
  const r = reader(btp, diags, 'connection');
  const block = readFeature(r, Connection);
  if (!block) return undefined;
  const { value: conn, at } = block;
  const out: ConnectionFragment = { origin: {} };
  const b = { value: conn.bufferLimit, path: at('bufferLimit') };
  if (b.value !== undefined) {
    const text = String(b.value);
    const q = parseQuantity(text);
    if (q === undefined)
      fail(
        r,
        b.path,
        `quantities must match the regular expression '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'`,
        'write bytes such as 32Ki or 100M',
      );
    else if (q.nano % NANO !== 0n)
      fail(
        r,
        b.path,
        `invalid BufferLimit value ${formatQuantity(q)}`,
        'the limit must be a whole number of bytes (note that "m" means milli; use M)',
      );
    else if (q.nano < 0n || q.nano / NANO > 4_294_967_295n)
      fail(r, b.path, `BufferLimit value ${formatQuantity(q)} is out of range`, 'use 0 to 4294967295 bytes (4Gi - 1)');
    else {
      out.bufferLimitBytes = Number(q.nano / NANO);
      out.origin['bufferLimitBytes'] = manifestOrigin(r, b.path);
    }
  }
  return r.ok ? out : undefined;
}
