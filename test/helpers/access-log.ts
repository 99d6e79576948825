import type { AccessLogEntry, AccessLogSink } from '../../src/dataplane/access-log.js';

/** An access-log sink that keeps entries in memory, with a way to wait for the next ones. */
export class CollectingLog implements AccessLogSink {
  readonly entries: AccessLogEntry[] = [];
  #waiters: { n: number; resolve: () => void }[] = [];
  log(e: AccessLogEntry): void {
    this.entries.push(e);
    this.#waiters = this.#waiters.filter((w) => {
      if (this.entries.length >= w.n) {
        w.resolve();
        return false;
      }
      return true;
    });
  }
  /** Resolves once `n` entries in total have been logged. */
  waitFor(n: number, timeoutMs = 5000): Promise<void> {
    if (this.entries.length >= n) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const t = setTimeout(() => reject(new Error(`access log has ${this.entries.length} entries, waited for ${n}`)), timeoutMs);
      this.#waiters.push({ n, resolve: () => (clearTimeout(t), resolve()) });
    });
  }
  last(): AccessLogEntry {
    const e = this.entries[this.entries.length - 1];
    if (!e) throw new Error('access log is empty');
    return e;
  }
  close(): Promise<void> {
    return Promise.resolve();
  }
}
