/** Randomness, injected so tests are deterministic. */
export interface Random {
  /** Uniform float in [0, 1). */
  next(): number;
  /** Uniform integer in [0, 2^32). */
  uint32(): number;
}

/** Uniform integer in [0, n) for n >= 1. */
export function randomInt(random: Random, n: number): number {
  return n <= 1 ? 0 : Math.floor(random.next() * n);
}

export const systemRandom: Random = {
  next: Math.random,
  uint32: () => Math.floor(Math.random() * 0x1_0000_0000),
};

/** mulberry32: small, fast, good enough for load balancing and fault rolls in tests. */
export function seededRandom(seed: number): Random {
  let a = seed >>> 0;
  const uint32 = (): number => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (t ^ (t >>> 14)) >>> 0;
  };
  return { uint32, next: () => uint32() / 0x1_0000_0000 };
}
