/**
 * Synthetic load per request (load/generator.go): CPU as a duty cycle on N cores for as long as
 * requests are in flight (worker threads, so the event loop keeps serving), memory as a buffer
 * held until the request ends; and the upstream request body generator.
 */
import { Worker } from 'node:worker_threads';
import { randomInt, seededRandom, type Random } from '../common/random.js';
import { float, type Logger } from './hclog.js';
import { GoPanic } from './response.js';

// Each unit is 100 ms: run for percentage% of it, sleep the rest; the shared cell holds the
// percentage x 1000 (0 = idle).
const WORKER_SOURCE = `
const { workerData } = require('node:worker_threads');
const state = new Int32Array(workerData);
for (;;) {
  const pct = Atomics.load(state, 0) / 1000;
  if (pct <= 0) { Atomics.wait(state, 0, 0); continue; }
  const runUs = Math.min(100000, Math.round(1000 * pct));
  const begin = performance.now();
  while ((performance.now() - begin) * 1000 < runUs) {}
  if (runUs < 100000) Atomics.wait(state, 1, 0, (100000 - runUs) / 1000);
}
`;

export class LoadGenerator {
  #cores: number;
  #percentage: number;
  #memoryBytes: number;
  #memoryVariance: number;
  #log: Logger;
  #random: Random;
  #workers: Worker[] = [];
  #state: Int32Array | undefined;
  #active = 0;
  #held = new Set<Buffer>();

  constructor(cores: number, percentage: number, memoryBytes: number, memoryVariance: number, log: Logger, random: Random) {
    if (percentage < 0 || percentage > 100 || Number.isNaN(percentage))
      throw new GoPanic(`got percentage: ${percentage.toFixed(6)} which is not between 0 and 100`);
    this.#cores = cores;
    this.#percentage = percentage;
    this.#memoryBytes = memoryBytes;
    this.#memoryVariance = memoryVariance;
    this.#log = log;
    this.#random = random;
  }

  /** Starts this request's load; call the returned function when the request is done. */
  generate(): () => void {
    const releaseMemory = this.#memory();
    const releaseCpu = this.#cpu();
    return () => {
      releaseMemory();
      releaseCpu();
    };
  }

  #memory(): () => void {
    if (this.#memoryBytes === 0) return () => {};
    let len = this.#memoryBytes;
    if (this.#memoryVariance > 0) {
      // As the original: a random 0..variance% fraction, plus 0 or 1 for the "direction".
      let variance = randomInt(this.#random, this.#memoryVariance) / 100;
      const direction = randomInt(this.#random, 2);
      variance += direction;
      len = Math.trunc(this.#memoryBytes * variance);
      this.#log.info('Generate memory variance', 'variance', float(variance), 'direction', direction);
    }
    const mem = Buffer.alloc(Math.max(0, len), 1);
    this.#held.add(mem);
    const usage = process.memoryUsage();
    this.#log.info('Allocated memory', 'MB', Math.floor((usage.heapUsed + usage.arrayBuffers) / 1024 / 1024), 'mem', len);
    return () => this.#held.delete(mem);
  }

  #cpu(): () => void {
    if (this.#cores === 0 || this.#percentage === 0) return () => {};
    this.#log.info('Generating CPU Load', 'cores', this.#cores, 'percentage', float(this.#percentage));
    if (!this.#state) {
      const shared = new SharedArrayBuffer(8);
      this.#state = new Int32Array(shared);
      for (let i = 0; i < this.#cores; i++) {
        const w = new Worker(WORKER_SOURCE, { eval: true, workerData: shared });
        w.unref();
        this.#workers.push(w);
      }
    }
    this.#active++;
    this.#update();
    let done = false;
    return () => {
      if (done) return;
      done = true;
      this.#active--;
      this.#update();
    };
  }

  /** Concurrent requests add up, to at most 100% per core. */
  #update(): void {
    if (!this.#state) return;
    Atomics.store(this.#state, 0, Math.round(Math.min(100, this.#percentage * this.#active) * 1000));
    Atomics.notify(this.#state, 0);
  }

  async close(): Promise<void> {
    this.#held.clear();
    await Promise.all(this.#workers.map((w) => w.terminate()));
    this.#workers = [];
    this.#state = undefined;
  }
}

/** load.NewRequestGenerator: a fixed body, or `size` random bytes shrunk by up to `variance`%, or nothing. */
export function requestGenerator(body: string, size: number, variance: number, seed: number, random: Random): () => Buffer {
  if (body === '' && size === 0) return () => Buffer.alloc(0);
  if (body !== '') {
    const fixed = Buffer.from(body, 'utf8');
    return () => fixed;
  }
  const bytes = seededRandom(seed);
  return () => {
    let s = size;
    if (variance > 0) {
      const change = Math.trunc((randomInt(random, size) * variance) / 100);
      // The original draws the direction from {-1, 0}: bodies shrink or stay.
      const dir = randomInt(random, 2) - 1;
      s = size + dir * change;
    }
    const b = Buffer.alloc(Math.max(0, s));
    for (let i = 0; i < b.length; i++) b[i] = bytes.uint32() & 0xff;
    return b;
  };
}
