/**
 * The two duration grammars users write.
 * - Gateway API (GEP-2257): 1-4 groups of up to 5 digits with a unit h, m, s or ms ("1h30m", "500ms").
 * - Go / protobuf / Istio: a decimal number with units, optionally fractional ("1.5s", "300ms", "2h45m").
 * Both parse to whole milliseconds (sub-millisecond values round up so that "1us" is not 0).
 */
export type DurationResult = { ok: true; ms: number } | { ok: false; error: string };

const GATEWAY_API = /^([0-9]{1,5}(h|m|s|ms)){1,4}$/;
const GATEWAY_PART = /([0-9]{1,5})(h|ms|m|s)/g;

export function parseGatewayDuration(text: string): DurationResult {
  if (!GATEWAY_API.test(text)) {
    return {
      ok: false,
      error: `"${text}" is not a Gateway API duration: use 1 to 4 groups of up to 5 digits each followed by h, m, s or ms, such as "10s" or "1m30s"`,
    };
  }
  let ms = 0;
  for (const m of text.matchAll(GATEWAY_PART)) ms += Number(m[1]) * UNIT_MS[m[2] as string]!;
  return { ok: true, ms };
}

const UNIT_MS: Record<string, number> = {
  h: 3_600_000,
  m: 60_000,
  s: 1000,
  ms: 1,
  us: 0.001,
  µs: 0.001,
  ns: 0.000001,
};
const GO_PART = /([0-9]*\.?[0-9]+)(h|ms|m|s|us|µs|ns)/g;
const GO_WHOLE = /^([0-9]*\.?[0-9]+(h|ms|m|s|us|µs|ns))+$/;

export function parseGoDuration(text: string): DurationResult {
  if (text === '0') return { ok: true, ms: 0 };
  if (!GO_WHOLE.test(text)) {
    return {
      ok: false,
      error: `"${text}" is not a duration: write a number with a unit (h, m, s, ms, us, ns), such as "1.5s" or "300ms"`,
    };
  }
  let ms = 0;
  for (const m of text.matchAll(GO_PART)) ms += Number(m[1]) * UNIT_MS[m[2] as string]!;
  // Sub-millisecond values round up ("1us" is 1 ms, not 0); the epsilon absorbs float error.
  return { ok: true, ms: ms === 0 ? 0 : Math.ceil(ms - 1e-9) };
}

/** Formats milliseconds the way Go prints durations ("1m30s", "250ms", "0s"). */
export function formatDuration(ms: number): string {
  if (ms === 0) return '0s';
  if (ms < 1000) return `${ms}ms`;
  let rest = ms;
  let out = '';
  const h = Math.floor(rest / 3_600_000);
  rest -= h * 3_600_000;
  const m = Math.floor(rest / 60_000);
  rest -= m * 60_000;
  if (h) out += `${h}h`;
  if (m) out += `${m}m`;
  if (rest) out += `${rest / 1000}s`;
  return out;
}
