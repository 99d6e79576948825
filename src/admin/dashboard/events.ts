/**
 * GET /dashboard/events: server-sent events for the dashboard. A `topology` event on connect and
 * whenever the configuration changes, a `stats` event every interval. Streams asking for the same
 * interval share one timer and one sample; with no stream open there is no timer and nothing is
 * computed.
 */
import type http from 'node:http';
import type { AdminContext } from '../admin-context.js';
import { Sampler, topology, topologyKey } from './snapshot.js';

export const DEFAULT_INTERVAL_MS = 1000;
export const MIN_INTERVAL_MS = 100;
export const MAX_INTERVAL_MS = 60_000;
/** A client this far behind (unsent bytes) is too slow to follow: its stream is closed. */
const MAX_BUFFERED = 1 << 20;
/** How long EventSource waits before reconnecting after the stream ends (the `retry:` field). */
const RETRY_MS = 2000;

type Group = {
  intervalMs: number;
  clients: Set<http.ServerResponse>;
  timer: NodeJS.Timeout;
  sampler: Sampler;
  topologyKey: string;
  /** The last events sent, so a client joining between ticks sees numbers at once. */
  topologyEvent: string;
  statsEvent: string;
};

/** Reads `?interval_ms=`; a message when it is not a whole number within bounds. */
export function parseInterval(url: URL): number | string {
  const v = url.searchParams.get('interval_ms');
  if (v === null) return DEFAULT_INTERVAL_MS;
  const n = Number(v);
  if (!/^[0-9]+$/.test(v) || n < MIN_INTERVAL_MS || n > MAX_INTERVAL_MS)
    return `interval_ms must be a whole number of milliseconds from ${MIN_INTERVAL_MS} to ${MAX_INTERVAL_MS}, not "${v}"\n`;
  return n;
}

const event = (name: string, data: unknown) => `event: ${name}\ndata: ${JSON.stringify(data)}\n\n`;

export class DashboardEvents {
  readonly #ctx: AdminContext;
  readonly #groups = new Map<number, Group>();
  #samples = 0;
  #closed = false;

  constructor(ctx: AdminContext) {
    this.#ctx = ctx;
  }

  /** Open event streams. */
  get clients(): number {
    let n = 0;
    for (const g of this.#groups.values()) n += g.clients.size;
    return n;
  }

  /** Stats samples computed since the admin server started (stays put while no stream is open). */
  get samples(): number {
    return this.#samples;
  }

  /** Running timers: one per distinct interval with open streams. */
  get timers(): number {
    return this.#groups.size;
  }

  /** Starts a stream on `res` (the interval was checked by `parseInterval`). */
  open(req: http.IncomingMessage, res: http.ServerResponse, intervalMs: number): void {
    res.writeHead(200, {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-cache, max-age=0',
      'x-content-type-options': 'nosniff',
      // Tells a reverse proxy in front of the admin port not to buffer the stream.
      'x-accel-buffering': 'no',
    });
    if (req.method === 'HEAD' || this.#closed) {
      res.end();
      return;
    }
    const g = this.#groups.get(intervalMs) ?? this.#startGroup(intervalMs);
    g.clients.add(res);
    res.on('close', () => this.#remove(g, res));
    this.#send(g, res, `retry: ${RETRY_MS}\n\n${g.topologyEvent}${g.statsEvent}`);
  }

  /**
   * Ends every open stream after a last sample, and stops the timers (the end of a drain).
   * Streams opened later are served as before.
   */
  end(): void {
    for (const g of [...this.#groups.values()]) {
      this.#tick(g);
      this.#endGroup(g);
    }
  }

  /** Ends every stream and stops the timers; later streams end at once (admin shutdown). */
  close(): void {
    this.#closed = true;
    for (const g of [...this.#groups.values()]) this.#endGroup(g);
  }

  #endGroup(g: Group): void {
    clearInterval(g.timer);
    this.#groups.delete(g.intervalMs);
    for (const res of [...g.clients]) res.end();
    g.clients.clear();
  }

  #startGroup(intervalMs: number): Group {
    const sampler = new Sampler(this.#ctx);
    const topologyEvent = event('topology', topology(this.#ctx));
    const statsEvent = this.#sample(sampler, intervalMs);
    // The timer starts after the first sample, so no window is shorter than the interval.
    const timer = setInterval(() => this.#tick(g), intervalMs);
    // The admin server's own streams never keep the process alive.
    timer.unref();
    const g: Group = { intervalMs, clients: new Set(), sampler, timer, topologyKey: topologyKey(this.#ctx), topologyEvent, statsEvent };
    this.#groups.set(intervalMs, g);
    return g;
  }

  #sample(sampler: Sampler, intervalMs: number): string {
    this.#samples++;
    return event('stats', sampler.sample(intervalMs));
  }

  #tick(g: Group): void {
    let out = '';
    try {
      const key = topologyKey(this.#ctx);
      if (key !== g.topologyKey) {
        g.topologyKey = key;
        g.topologyEvent = event('topology', topology(this.#ctx));
        out += g.topologyEvent;
      }
      g.statsEvent = this.#sample(g.sampler, g.intervalMs);
      out += g.statsEvent;
    } catch (e) {
      // A timer callback that throws would end the process: report it on the stream instead.
      out = event('sample_error', { message: `dashboard sample failed: ${(e as Error).message}` });
    }
    for (const res of [...g.clients]) this.#send(g, res, out);
  }

  #send(g: Group, res: http.ServerResponse, chunk: string): void {
    if (res.destroyed || res.writableEnded) return this.#remove(g, res);
    if (res.writableLength > MAX_BUFFERED) {
      res.destroy();
      this.#remove(g, res);
      return;
    }
    res.write(chunk);
  }

  #remove(g: Group, res: http.ServerResponse): void {
    g.clients.delete(res);
    if (g.clients.size === 0 && this.#groups.get(g.intervalMs) === g) {
      clearInterval(g.timer);
      this.#groups.delete(g.intervalMs);
    }
  }
}
