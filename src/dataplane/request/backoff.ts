import { randomInt, type Random } from '../../common/random.js';

/**
 * Envoy's jittered exponential backoff as its code implements it (not as its docs say): retry N
 * waits a uniform whole number of ms in [0, min(base * 2^(N-1), max)).
 */
export class JitteredBackoff {
  readonly #max: number;
  readonly #doublingLimit: number;
  #next: number;

  constructor(baseMs: number, maxMs: number) {
    this.#next = Math.max(1, baseMs);
    this.#max = Math.max(this.#next, maxMs);
    this.#doublingLimit = Math.floor(this.#max / 2);
  }

  nextMs(random: Random): number {
    const cur = this.#next;
    this.#next = cur < this.#doublingLimit ? cur * 2 : this.#max;
    return randomInt(random, cur);
  }
}

export type ResetHeader = { name: string; format: 'seconds' | 'unix-timestamp' };

/**
 * Interval a rate-limited upstream asks for, from its reset headers in the configured order:
 * `seconds` takes an integer (and, as a legate extension for Retry-After, an HTTP-date);
 * `unix-timestamp` takes epoch seconds in the future. Returns undefined when none parses or the
 * interval exceeds `maxMs` (Envoy discards such hints).
 */
export function rateLimitedIntervalMs(
  headers: string[],
  resetHeaders: readonly ResetHeader[],
  maxMs: number,
  nowWallMs: number,
): number | undefined {
  for (const rh of resetHeaders) {
    const v = firstValue(headers, rh.name);
    if (v === undefined) continue;
    let ms: number | undefined;
    if (rh.format === 'seconds') {
      if (/^[0-9]+$/.test(v.trim())) ms = Number(v.trim()) * 1000;
      else {
        const date = Date.parse(v);
        if (!Number.isNaN(date) && /[a-z]/i.test(v)) ms = Math.max(0, Math.ceil((date - nowWallMs) / 1000) * 1000);
      }
    } else if (/^[0-9]+$/.test(v.trim())) {
      const t = Number(v.trim());
      const now = Math.floor(nowWallMs / 1000);
      if (t >= now) ms = (t - now) * 1000;
    }
    if (ms !== undefined && ms <= maxMs) return ms;
  }
  return undefined;
}

/** Envoy's rate-limited delay: uniform in [interval, 1.5 * interval). */
export function rateLimitedDelayMs(intervalMs: number, random: Random): number {
  return intervalMs + randomInt(random, Math.floor(intervalMs / 2));
}

export function firstValue(flat: string[], name: string): string | undefined {
  for (let i = 0; i < flat.length; i += 2) if (flat[i] === name) return flat[i + 1];
  return undefined;
}
