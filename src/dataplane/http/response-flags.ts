/**
 * Envoy's response flags, as a bitset on each request and printed comma-separated in the
 * access log, in Envoy's order.
 */
export const Flag = {
  DC: 1 << 0, // downstream connection termination
  UH: 1 << 1, // no healthy upstream
  UT: 1 << 2, // upstream request timeout
  LR: 1 << 3, // local reset
  UR: 1 << 4, // upstream remote reset
  UF: 1 << 5, // upstream connection failure
  UC: 1 << 6, // upstream connection termination
  UO: 1 << 7, // upstream overflow (circuit breaker)
  NR: 1 << 8, // no route
  DI: 1 << 9, // delay injected
  FI: 1 << 10, // fault injected
  RL: 1 << 11, // rate limited
  URX: 1 << 12, // upstream retry limit exceeded
  SI: 1 << 13, // stream idle timeout
  DPE: 1 << 14, // downstream protocol error
  UPE: 1 << 15, // upstream protocol error
  UMSDR: 1 << 16, // upstream max stream duration reached
  NC: 1 << 17, // no cluster found
  DT: 1 << 18, // duration timeout
  IH: 1 << 19, // invalid envoy request headers
} as const;
export type FlagName = keyof typeof Flag;

// Envoy prints flags in the order of its flag table.
const ORDER = [
  'LH',
  'UH',
  'UT',
  'LR',
  'UR',
  'UF',
  'UC',
  'UO',
  'NR',
  'DI',
  'FI',
  'RL',
  'UAEX',
  'RLSE',
  'DC',
  'URX',
  'SI',
  'IH',
  'DPE',
  'UMSDR',
  'RFCF',
  'NFCF',
  'DT',
  'UPE',
  'NC',
].filter((f): f is FlagName => f in Flag);

const cache = new Map<number, string>();

/** `-` when no flag is set, as Envoy prints it. */
export function formatFlags(bits: number): string {
  if (bits === 0) return '-';
  let s = cache.get(bits);
  if (s === undefined) {
    s = ORDER.filter((f) => (bits & Flag[f]) !== 0).join(',');
    if (cache.size < 4096) cache.set(bits, s);
  }
  return s;
}
