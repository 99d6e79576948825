/**
 * Hashing for consistent-hash load balancing (ring hash, Maglev).
 *
 * The hash is xxHash32 (XXH32, Yann Collet), written here from the algorithm's definition: 32-bit
 * arithmetic on little-endian 4-byte lanes, four accumulators over 16-byte stripes, then the tail
 * and the avalanche. Envoy uses xxHash64 (XXH64) for ring points and Maglev permutations; this uses
 * the 32-bit member of the family so every step stays in `Math.imul` / `>>> 0` arithmetic with no
 * BigInt, and ring positions and request keys fit a `Uint32Array`. Keys are unsigned 32-bit
 * integers (0 .. 2^32-1).
 */

const PRIME32_1 = 0x9e3779b1;
const PRIME32_2 = 0x85ebca77;
const PRIME32_3 = 0xc2b2ae3d;
const PRIME32_4 = 0x27d4eb2f;
const PRIME32_5 = 0x165667b1;

function rotl(x: number, r: number): number {
  return (x << r) | (x >>> (32 - r));
}

function read32(b: Uint8Array, i: number): number {
  return b[i]! | (b[i + 1]! << 8) | (b[i + 2]! << 16) | (b[i + 3]! << 24);
}

function round(acc: number, lane: number): number {
  acc = (acc + Math.imul(lane, PRIME32_2)) | 0;
  return Math.imul(rotl(acc, 13), PRIME32_1);
}

/** XXH32 of `bytes[start, end)` with a 32-bit seed; returns an unsigned 32-bit integer. */
export function xxHash32(bytes: Uint8Array, seed = 0, start = 0, end = bytes.length): number {
  const len = end - start;
  let i = start;
  let h: number;
  if (len >= 16) {
    let v1 = (seed + PRIME32_1 + PRIME32_2) | 0;
    let v2 = (seed + PRIME32_2) | 0;
    let v3 = seed | 0;
    let v4 = (seed - PRIME32_1) | 0;
    const limit = end - 16;
    while (i <= limit) {
      v1 = round(v1, read32(bytes, i));
      v2 = round(v2, read32(bytes, i + 4));
      v3 = round(v3, read32(bytes, i + 8));
      v4 = round(v4, read32(bytes, i + 12));
      i += 16;
    }
    h = (rotl(v1, 1) + rotl(v2, 7) + rotl(v3, 12) + rotl(v4, 18)) | 0;
  } else {
    h = (seed + PRIME32_5) | 0;
  }
  h = (h + len) | 0;
  while (i + 4 <= end) {
    h = (h + Math.imul(read32(bytes, i), PRIME32_3)) | 0;
    h = Math.imul(rotl(h, 17), PRIME32_4);
    i += 4;
  }
  while (i < end) {
    h = (h + Math.imul(bytes[i]!, PRIME32_5)) | 0;
    h = Math.imul(rotl(h, 11), PRIME32_1);
    i++;
  }
  h ^= h >>> 15;
  h = Math.imul(h, PRIME32_2);
  h ^= h >>> 13;
  h = Math.imul(h, PRIME32_3);
  h ^= h >>> 16;
  return h >>> 0;
}

const encoder = new TextEncoder();
// Reused across calls (hashing is synchronous), so hashing a string does not allocate once the
// buffer has grown to the longest key seen.
let scratch = new Uint8Array(256);

/** XXH32 of the UTF-8 bytes of `s`; an unsigned 32-bit integer. */
export function hashString(s: string, seed = 0): number {
  // UTF-8 needs at most 3 bytes per UTF-16 code unit.
  if (s.length * 3 > scratch.length) scratch = new Uint8Array(Math.max(s.length * 3, scratch.length * 2));
  const { written } = encoder.encodeInto(s, scratch);
  return xxHash32(scratch, seed, 0, written);
}

/**
 * Folds one more policy hash into a running one as Envoy's hash policy does: rotate the previous
 * value left by one, then xor, so duplicate rules do not cancel each other out. `prev` undefined
 * means no hash yet.
 */
export function combineHash(prev: number | undefined, next: number): number {
  if (prev === undefined) return next >>> 0;
  return (rotl(prev | 0, 1) ^ next) >>> 0;
}

/**
 * The request hash key for the values the route's hash policies produced, in policy order (each
 * hashed with `hashString`, then combined with `combineHash`). Undefined when no policy produced a
 * value: the balancer then picks with a random key, as Envoy does.
 */
export function hashKeyOf(parts: readonly string[]): number | undefined {
  let h: number | undefined;
  for (const p of parts) h = combineHash(h, hashString(p));
  return h;
}
