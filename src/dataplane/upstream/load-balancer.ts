import type { Random } from '../../common/random.js';
import type { Host } from './host.js';
import { RingHashLb } from './ring-hash-lb.js';
import { MaglevLb } from './maglev-lb.js';

/** Chooses a host from a fixed list; a new balancer is built when the list changes. */
export interface LoadBalancer {
  choose(): Host | undefined;
  /** Consistent hashing: the host for a request's hash key; `attempt` > 0 probes further (retries). */
  chooseFor?(hash: number, attempt: number): Host | undefined;
}

export function createLoadBalancer(
  policy: 'round_robin' | 'least_request' | 'random' | 'ring_hash' | 'maglev',
  hosts: Host[],
  random: Random,
  choiceCount = 2,
  /** Slow start's factor per host (0-1]; when given, round robin and least request weigh by it. */
  ramp?: (h: Host) => number,
): LoadBalancer {
  if (hosts.length === 0) return { choose: () => undefined };
  if (ramp && (policy === 'round_robin' || policy === 'least_request')) {
    return policy === 'round_robin'
      ? new EdfLb(hosts, random, (h) => h.weight * ramp(h))
      : new EdfLb(hosts, random, (h) => (h.weight * ramp(h)) / (h.stats.rq_active + 1));
  }
  switch (policy) {
    case 'least_request':
      return hosts.every((h) => h.weight === hosts[0]!.weight)
        ? new LeastRequestLb(hosts, random, choiceCount)
        : // Unequal weights: EDF on weight / (active + 1), Envoy's default active_request_bias 1.0.
          new EdfLb(hosts, random, (h) => h.weight / (h.stats.rq_active + 1));
    case 'random':
      return new RandomLb(hosts, random);
    case 'ring_hash':
      return new RingHashLb(hosts, random);
    case 'maglev':
      return new MaglevLb(hosts, random);
    default:
      return hosts.every((h) => h.weight === hosts[0]!.weight)
        ? new RoundRobinLb(hosts, random)
        : new EdfLb(hosts, random, (h) => h.weight);
  }
}

/** Equal weights: rotate from a random start (Envoy seeds the index randomly). */
export class RoundRobinLb implements LoadBalancer {
  readonly #hosts: Host[];
  #next: number;
  constructor(hosts: Host[], random: Random) {
    this.#hosts = hosts;
    this.#next = Math.floor(random.next() * hosts.length);
  }
  choose(): Host | undefined {
    const h = this.#hosts[this.#next]!;
    this.#next = this.#next + 1 === this.#hosts.length ? 0 : this.#next + 1;
    return h;
  }
}

/**
 * Earliest-deadline-first weighted scheduling, as Envoy's EDF scheduler: each host's next deadline
 * advances by 1/weight when picked, so picks follow weights smoothly.
 */
export class EdfLb implements LoadBalancer {
  readonly #hosts: Host[];
  readonly #deadline: Float64Array;
  readonly #weight: (h: Host) => number;
  constructor(hosts: Host[], random: Random, weight: (h: Host) => number) {
    this.#hosts = hosts;
    this.#weight = weight;
    this.#deadline = new Float64Array(hosts.length);
    // A random offset so that every proxy does not start on the same host.
    for (let i = 0; i < hosts.length; i++) this.#deadline[i] = random.next() / weight(hosts[i]!);
  }
  choose(): Host | undefined {
    let best = 0;
    let bestD = this.#deadline[0]!;
    for (let i = 1; i < this.#hosts.length; i++) {
      const d = this.#deadline[i]!;
      if (d < bestD) {
        bestD = d;
        best = i;
      }
    }
    const h = this.#hosts[best]!;
    this.#deadline[best] = bestD + 1 / Math.max(1e-9, this.#weight(h));
    return h;
  }
}

/** Power of two choices: sample with replacement, keep the one with fewer active requests. */
export class LeastRequestLb implements LoadBalancer {
  readonly #hosts: Host[];
  readonly #random: Random;
  readonly #choices: number;
  constructor(hosts: Host[], random: Random, choices: number) {
    this.#hosts = hosts;
    this.#random = random;
    this.#choices = Math.max(1, choices);
  }
  choose(): Host | undefined {
    const n = this.#hosts.length;
    let best = this.#hosts[Math.floor(this.#random.next() * n)]!;
    for (let i = 1; i < this.#choices; i++) {
      const h = this.#hosts[Math.floor(this.#random.next() * n)]!;
      if (h.stats.rq_active < best.stats.rq_active) best = h;
    }
    return best;
  }
}

/** One random draw; host weights are ignored, as Envoy's random LB does. */
export class RandomLb implements LoadBalancer {
  readonly #hosts: Host[];
  readonly #random: Random;
  constructor(hosts: Host[], random: Random) {
    this.#hosts = hosts;
    this.#random = random;
  }
  choose(): Host | undefined {
    return this.#hosts[Math.floor(this.#random.next() * this.#hosts.length)];
  }
}
