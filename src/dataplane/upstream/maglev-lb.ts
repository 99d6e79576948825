import type { Random } from '../../common/random.js';
import { hashString } from './hash.js';
import { MAX_RETRY_PROBES } from './ring-hash-lb.js';
import type { Host } from './host.js';
import type { LoadBalancer } from './load-balancer.js';

export type MaglevOptions = {
  /** Envoy `maglev_lb_config.table_size`: a prime up to 5,000,011; default 65537. */
  tableSize?: number;
  /** The string a host is hashed by; default `host.key` (`address:port`, Envoy's default). */
  hostKey?: (host: Host) => string;
};

export const DEFAULT_MAGLEV_TABLE_SIZE = 65537;
export const MAX_MAGLEV_TABLE_SIZE = 5000011;

function isPrime(n: number): boolean {
  if (!Number.isInteger(n) || n < 2) return false;
  if (n % 2 === 0) return n === 2;
  for (let d = 3; d * d <= n; d += 2) if (n % d === 0) return false;
  return true;
}

/**
 * Envoy's Maglev balancer (Eisenbud et al., "Maglev", NSDI 2016, pseudocode listing 1, with
 * Envoy's weighting) over a fixed host list; rebuilt when the list changes.
 *
 * Each host's preference list is the permutation `(offset + skip * j) % M` with
 * `offset = hash(key, seed 0) % M` and `skip = hash(key, seed 1) % (M - 1) + 1` (M prime, so every
 * permutation visits every slot). The table is filled in rounds: in round `r` (from 1) a host takes
 * its next free preferred slot unless `r * weight < target`, after which `target += maxWeight`. A
 * host of the largest weight takes a slot every round, one of a third of it every third round, so
 * slot counts follow weights. A key maps to `table[key % M]`.
 */
export class MaglevLb implements LoadBalancer {
  readonly #hosts: readonly Host[];
  readonly #random: Random;
  readonly #size: number;
  /** Index into #hosts of each slot's host. */
  readonly #table: Uint32Array | Uint16Array;
  readonly #distinct: number;
  /** Scratch for retry probing: stamp per host index, compared with #epoch. */
  readonly #seen: Uint32Array;
  #epoch = 0;

  constructor(hosts: readonly Host[], random: Random, opts: MaglevOptions = {}) {
    const m = opts.tableSize ?? DEFAULT_MAGLEV_TABLE_SIZE;
    if (!isPrime(m) || m > MAX_MAGLEV_TABLE_SIZE) {
      throw new RangeError(`maglev: table_size ${m} must be a prime no larger than ${MAX_MAGLEV_TABLE_SIZE}`);
    }
    this.#hosts = hosts;
    this.#random = random;
    this.#size = m;
    this.#seen = new Uint32Array(hosts.length);
    const keyOf = opts.hostKey ?? ((h: Host) => h.key);

    // Build entries for hosts that can take traffic.
    const idx: number[] = [];
    for (let i = 0; i < hosts.length; i++) if (hosts[i]!.weight > 0) idx.push(i);
    if (idx.length === 0) {
      this.#table = new Uint32Array(0);
      this.#distinct = 0;
      return;
    }
    const k = idx.length;
    const weight = new Float64Array(k);
    const target = new Float64Array(k);
    // Current slot of each host's permutation, advanced by `skip` (mod M) instead of multiplying.
    const pos = new Float64Array(k);
    const skip = new Float64Array(k);
    let maxW = 0;
    for (let e = 0; e < k; e++) {
      const h = hosts[idx[e]!]!;
      const key = keyOf(h);
      weight[e] = h.weight;
      maxW = Math.max(maxW, h.weight);
      pos[e] = hashString(key, 0) % m;
      skip[e] = (hashString(key, 1) % (m - 1)) + 1;
    }

    const NONE = 0xffffffff;
    const slots = new Uint32Array(m).fill(NONE);
    const taken = new Uint8Array(k);
    let filled = 0;
    for (let round = 1; filled < m; round++) {
      for (let e = 0; e < k && filled < m; e++) {
        if (round * weight[e]! < target[e]!) continue;
        target[e] = target[e]! + maxW;
        let c = pos[e]!;
        while (slots[c] !== NONE) c = (c + skip[e]!) % m;
        slots[c] = idx[e]!;
        pos[e] = (c + skip[e]!) % m;
        taken[e] = 1;
        filled++;
      }
    }
    let distinct = 0;
    for (let e = 0; e < k; e++) distinct += taken[e]!;
    this.#distinct = distinct;
    this.#table = hosts.length <= 0x10000 ? Uint16Array.from(slots) : slots;
  }

  /** The table size M. */
  get tableSize(): number {
    return this.#size;
  }

  /** Table slots per host, in host order (Envoy's min/max entries per host stats; tests). */
  slotsPerHost(): number[] {
    const c = new Array<number>(this.#hosts.length).fill(0);
    for (let j = 0; j < this.#table.length; j++) c[this.#table[j]!]!++;
    return c;
  }

  /** No request hash: pick with a random key, as Envoy does when no hash policy applies. */
  choose(): Host | undefined {
    return this.chooseFor(this.#random.uint32());
  }

  /**
   * The host at `table[hash % M]` (hash taken as an unsigned 32-bit integer). For `attempt` > 0
   * (retries) Envoy mutates the hash, `hash ^ (2^64 - attempt)`, here `hash ^ (2^32 - attempt)`,
   * which usually but not always lands on another host; this then walks forward from that slot
   * to the first host not returned for attempts 0..attempt-1 of the same hash, so retries reach a
   * host not yet tried while there are untried hosts (then they cycle). The walk is capped at
   * MAX_RETRY_PROBES slots; past it (extreme weight ratios) Envoy's slot is used as is.
   */
  chooseFor(hash: number, attempt = 0): Host | undefined {
    const table = this.#table;
    if (table.length === 0) return undefined;
    const m = this.#size;
    const key = hash >>> 0;
    if (attempt <= 0) return this.#hosts[table[key % m]!];
    const last = attempt % this.#distinct;
    if (last === 0) return this.#hosts[table[key % m]!];
    const seen = this.#seen;
    const epoch = this.#nextEpoch();
    seen[table[key % m]!] = epoch;
    let host = 0;
    for (let a = 1; a <= last; a++) {
      const envoySlot = ((key ^ -a) >>> 0) % m;
      let slot = envoySlot;
      // Fewer than #distinct hosts are marked, so an unmarked one is within one lap; the walk is
      // capped so a table dominated by one host cannot make a retry scan the whole table.
      for (let s = 0; seen[table[slot]!] === epoch; s++) {
        if (s === MAX_RETRY_PROBES) {
          slot = envoySlot;
          break;
        }
        slot = slot + 1 === m ? 0 : slot + 1;
      }
      host = table[slot]!;
      seen[host] = epoch;
    }
    return this.#hosts[host];
  }

  #nextEpoch(): number {
    if (this.#epoch === 0xffffffff) {
      this.#seen.fill(0);
      this.#epoch = 0;
    }
    return ++this.#epoch;
  }
}
