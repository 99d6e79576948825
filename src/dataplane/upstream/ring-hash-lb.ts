import type { Random } from '../../common/random.js';
import { hashString } from './hash.js';
import type { Host } from './host.js';
import type { LoadBalancer } from './load-balancer.js';

export type RingHashOptions = {
  /** Envoy `ring_hash_lb_config.minimum_ring_size`, default 1024. */
  minimumRingSize?: number;
  /** Envoy `ring_hash_lb_config.maximum_ring_size`, default 8M (8,388,608). */
  maximumRingSize?: number;
  /** The string a host is hashed by; default `host.key` (`address:port`, Envoy's default). */
  hostKey?: (host: Host) => string;
};

export const DEFAULT_MIN_RING_SIZE = 1024;
export const DEFAULT_MAX_RING_SIZE = 1024 * 1024 * 8;

/** How far a retry looks ahead on the ring for an untried host before taking Envoy's entry. */
export const MAX_RETRY_PROBES = 4096;

/** Room for host indices below the hash when packing ring entries into one float for sorting. */
const INDEX_SPACE = 2 ** 21;

/**
 * Envoy's ring hash (ketama) balancer over a fixed host list; rebuilt when the list changes.
 *
 * Ring construction follows Envoy: weights are normalised to sum 1; the scale is
 * `min(ceil(minWeight * minimumRingSize) / minWeight, maximumRingSize)` so the lightest host gets a
 * whole number of points and the ring holds at least `minimumRingSize` and at most
 * `maximumRingSize` entries; hosts are then walked in order with running sums
 * (`target += scale * weight; while (current < target) add point`), so each host gets
 * `scale * weight` points rounded by the running sum. Point `i` of a host is the hash of
 * `${hostKey}_${i}`. The ring is sorted by hash; a key maps to the first entry whose hash is
 * `>= key`, wrapping to the first entry past the end.
 */
export class RingHashLb implements LoadBalancer {
  readonly #hosts: readonly Host[];
  readonly #random: Random;
  /** Sorted point hashes. */
  readonly #hashes: Uint32Array;
  /** Index into #hosts of the host owning each point. */
  readonly #owner: Uint32Array | Uint16Array;
  /** How many distinct hosts hold at least one point. */
  readonly #distinct: number;
  /** Scratch for retry walks: stamp per host index, compared with #epoch. */
  readonly #seen: Uint32Array;
  #epoch = 0;

  constructor(hosts: readonly Host[], random: Random, opts: RingHashOptions = {}) {
    const minSize = opts.minimumRingSize ?? DEFAULT_MIN_RING_SIZE;
    const maxSize = opts.maximumRingSize ?? DEFAULT_MAX_RING_SIZE;
    if (!(minSize >= 1) || !(maxSize >= minSize) || maxSize > DEFAULT_MAX_RING_SIZE) {
      throw new RangeError(`ring hash: need 1 <= minimum_ring_size (${minSize}) <= maximum_ring_size (${maxSize}) <= 8M`);
    }
    if (hosts.length >= INDEX_SPACE) throw new RangeError(`ring hash: too many hosts (${hosts.length})`);
    this.#hosts = hosts;
    this.#random = random;
    this.#seen = new Uint32Array(hosts.length);
    const keyOf = opts.hostKey ?? ((h: Host) => h.key);

    let sum = 0;
    for (const h of hosts) sum += Math.max(0, h.weight);
    let minW = Infinity;
    for (const h of hosts) if (h.weight > 0) minW = Math.min(minW, h.weight / sum);
    if (hosts.length === 0 || !(sum > 0)) {
      this.#hashes = new Uint32Array(0);
      this.#owner = new Uint32Array(0);
      this.#distinct = 0;
      return;
    }
    const scale = Math.min(Math.ceil(minW * minSize) / minW, maxSize);
    const size = Math.ceil(scale);

    // Pack (hash, host index) into one exactly representable float so a typed-array numeric sort
    // orders by hash (ties by host index, which keeps builds deterministic).
    // Running float sums can round up one extra point; leave room rather than drop it.
    const packed = new Float64Array(size + hosts.length);
    let n = 0;
    let current = 0;
    let target = 0;
    for (let hi = 0; hi < hosts.length; hi++) {
      const host = hosts[hi]!;
      if (!(host.weight > 0)) continue;
      const prefix = `${keyOf(host)}_`;
      target += (scale * host.weight) / sum;
      for (let i = 0; current < target; i++, current++) {
        packed[n++] = hashString(prefix + i) * INDEX_SPACE + hi;
      }
    }
    const ring = packed.subarray(0, n).sort();
    this.#hashes = new Uint32Array(n);
    this.#owner = hosts.length <= 0x10000 ? new Uint16Array(n) : new Uint32Array(n);
    const present = new Uint8Array(hosts.length);
    let distinct = 0;
    for (let j = 0; j < n; j++) {
      const v = ring[j]!;
      const hi = v % INDEX_SPACE;
      this.#hashes[j] = (v - hi) / INDEX_SPACE;
      this.#owner[j] = hi;
      if (present[hi] === 0) {
        present[hi] = 1;
        distinct++;
      }
    }
    this.#distinct = distinct;
  }

  /** Number of points on the ring (Envoy's `size` gauge). */
  get size(): number {
    return this.#hashes.length;
  }

  /** Points per host, in host order (for stats and tests). */
  pointsPerHost(): number[] {
    const c = new Array<number>(this.#hosts.length).fill(0);
    for (let j = 0; j < this.#owner.length; j++) c[this.#owner[j]!]!++;
    return c;
  }

  /** No request hash: pick with a random key, as Envoy does when no hash policy applies. */
  choose(): Host | undefined {
    return this.chooseFor(this.#random.uint32());
  }

  /**
   * The host for `hash` (taken as an unsigned 32-bit integer). `attempt` > 0 (retries) walks the
   * ring forward from the key's entry and returns the `attempt`-th distinct host after the
   * primary one, so every retry of a request lands on a host not yet tried while there are
   * untried hosts (then it cycles). Envoy returns entry `(index + attempt) % size`, which can
   * repeat a host; this keeps Envoy's direction and order but skips repeated hosts. The walk is
   * capped at MAX_RETRY_PROBES entries (a whole lap for rings up to that size); past the cap,
   * which takes extreme weight ratios on a big ring, it returns Envoy's entry.
   */
  chooseFor(hash: number, attempt = 0): Host | undefined {
    const hashes = this.#hashes;
    const n = hashes.length;
    if (n === 0) return undefined;
    const key = hash >>> 0;
    // Lower bound: first entry with hashes[i] >= key; past the end wraps to 0.
    let lo = 0;
    let hi = n;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (hashes[mid]! < key) lo = mid + 1;
      else hi = mid;
    }
    const start = lo === n ? 0 : lo;
    const owner = this.#owner;
    if (attempt <= 0) return this.#hosts[owner[start]!];

    let want = attempt % this.#distinct;
    if (want === 0) return this.#hosts[owner[start]!];
    const seen = this.#seen;
    const epoch = this.#nextEpoch();
    seen[owner[start]!] = epoch;
    // One lap (n - 1 steps) is sure to find `want` (< #distinct) new hosts; the walk is capped so a
    // ring dominated by one host cannot make a retry scan millions of entries.
    const steps = Math.min(n - 1, MAX_RETRY_PROBES);
    let idx = start;
    for (let s = 0; s < steps; s++) {
      idx = idx + 1 === n ? 0 : idx + 1;
      const o = owner[idx]!;
      if (seen[o] === epoch) continue;
      seen[o] = epoch;
      if (--want === 0) return this.#hosts[o];
    }
    // Not found within the cap: Envoy's own choice.
    return this.#hosts[owner[(start + attempt) % n]!];
  }

  #nextEpoch(): number {
    if (this.#epoch === 0xffffffff) {
      this.#seen.fill(0);
      this.#epoch = 0;
    }
    return ++this.#epoch;
  }
}
