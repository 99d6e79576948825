/** Monotonic time and timers, injected so tests control them. */
export interface Clock {
  /** Milliseconds on a monotonic scale (not wall time). */
  now(): number;
  /** Wall-clock milliseconds since the epoch (Retry-After dates, logs). */
  wallNow(): number;
  setTimeout(fn: () => void, ms: number): Timer;
  clearTimeout(timer: Timer): void;
}

export type Timer = { readonly id: unknown };

class SystemClock implements Clock {
  now(): number {
    return performance.now();
  }
  wallNow(): number {
    return Date.now();
  }
  setTimeout(fn: () => void, ms: number): Timer {
    const t = setTimeout(fn, ms);
    t.unref?.();
    return { id: t };
  }
  clearTimeout(timer: Timer): void {
    clearTimeout(timer.id as NodeJS.Timeout);
  }
}

export const systemClock: Clock = new SystemClock();

/** A clock that only moves when told to: timers fire inside `advance`. */
export class ManualClock implements Clock {
  #now = 0;
  #wall: number;
  #seq = 0;
  #timers = new Map<number, { at: number; fn: () => void }>();

  constructor(wallStart = Date.UTC(2026, 0, 1)) {
    this.#wall = wallStart;
  }
  now(): number {
    return this.#now;
  }
  wallNow(): number {
    return this.#wall + this.#now;
  }
  setTimeout(fn: () => void, ms: number): Timer {
    const id = ++this.#seq;
    this.#timers.set(id, { at: this.#now + Math.max(0, ms), fn });
    return { id };
  }
  clearTimeout(timer: Timer): void {
    this.#timers.delete(timer.id as number);
  }
  get pending(): number {
    return this.#timers.size;
  }
  /** Moves time forward, firing due timers in time order (ties in creation order). */
  advance(ms: number): void {
    const end = this.#now + ms;
    for (;;) {
      let nextId = -1;
      let nextAt = Infinity;
      for (const [id, t] of this.#timers) {
        if (t.at <= end && (t.at < nextAt || (t.at === nextAt && id < nextId))) {
          nextAt = t.at;
          nextId = id;
        }
      }
      if (nextId < 0) break;
      const t = this.#timers.get(nextId)!;
      this.#timers.delete(nextId);
      this.#now = t.at;
      t.fn();
    }
    this.#now = end;
  }
}
