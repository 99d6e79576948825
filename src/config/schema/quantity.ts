/**
 * Kubernetes resource quantities (`100M`, `32Ki`, `1e3`), exactly: Envoy Gateway reads buffer limits
 * as quantities and prints them in their canonical form in its messages.
 */
const DECIMAL_EXP: Record<string, number> = { n: -9, u: -6, m: -3, '': 0, k: 3, M: 6, G: 9, T: 12, P: 15, E: 18 };
const BINARY_EXP: Record<string, number> = { Ki: 1, Mi: 2, Gi: 3, Ti: 4, Pi: 5, Ei: 6 };
const QUANTITY = /^([+-]?)([0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE]([+-]?[0-9]+)|(Ki|Mi|Gi|Ti|Pi|Ei|[numkMGTPE]))?$/;
export const NANO = 1_000_000_000n;

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
