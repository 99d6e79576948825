import type { LoadProgress } from './run-load.js';

/** A one-line progress bar redrawn in place; only for terminals (the caller checks isTTY). */
export function progressBar(write: (s: string) => void, columns = 80): { update(p: LoadProgress): void; clear(): void } {
  return {
    update(p) {
      const done = Math.min(1, Math.max(p.requests ? p.completed / p.requests : 0, p.elapsedMs / p.durationMs));
      const rate = p.elapsedMs > 0 ? (p.completed * 1000) / p.elapsedMs : 0;
      const info = ` ${String(Math.floor(done * 100)).padStart(3)}%  ${p.completed}${p.requests ? `/${p.requests}` : ''}  ${(p.elapsedMs / 1000).toFixed(1)}s  ${rate.toFixed(0)}/s`;
      const width = Math.max(10, Math.min(50, columns - info.length - 3));
      const filled = Math.round(done * width);
      write(`\r[${'#'.repeat(filled)}${'.'.repeat(width - filled)}]${info}\x1b[K`);
    },
    clear() {
      write('\r\x1b[K');
    },
  };
}
