/**
 * Watches manifest files and directories and reports, debounced, which paths changed.
 *
 * Built on chokidar (fs.watch underneath, no polling): Node 20's recursive fs.watch on Linux
 * loses a directory that is moved or renamed and cannot follow a file replaced by an editor's
 * atomic rename; chokidar re-watches both. Events are only hints: the reloader reads every file
 * again and compares texts, so a spurious or coalesced event costs a re-read, never a wrong
 * config.
 *
 * - A directory is watched recursively; only `*.yaml`, `*.yml`, `*.json` files count, and names
 *   starting with "." (`.git`, editor swap and temp files) are skipped, as the loader skips them.
 * - A file named explicitly is watched through its parent directory (depth 0), so deleting it and
 *   writing it again, or replacing it by rename, is still seen.
 * - Bursts are coalesced: `onChange` runs `debounceMs` after the last event, and at the latest
 *   `maxWaitMs` after the first one of a burst, with every path seen in it.
 */
import { statSync } from 'node:fs';
import { basename, dirname, resolve, sep } from 'node:path';
import { watch, type FSWatcher } from 'chokidar';

export type ManifestWatcherOptions = {
  /** Quiet time after the last event before `onChange` runs (default 150 ms). */
  debounceMs?: number;
  /** Longest delay from the first event of a burst to `onChange` (default 1000 ms). */
  maxWaitMs?: number;
  /** The paths (absolute) that changed in one burst, sorted. */
  onChange: (paths: string[]) => void;
  onError?: (err: Error) => void;
};

const MANIFEST_EXT = /\.(ya?ml|json)$/i;

export class ManifestWatcher {
  readonly #watchers: FSWatcher[] = [];
  readonly #dirs: string[] = [];
  readonly #files = new Set<string>();
  readonly #debounceMs: number;
  readonly #maxWaitMs: number;
  readonly #onChange: (paths: string[]) => void;
  readonly #onError: (err: Error) => void;
  readonly #pending = new Set<string>();
  #timer: NodeJS.Timeout | undefined;
  #firstAt = 0;
  #closed = false;
  /** Resolves once every directory has been scanned and is being watched. */
  readonly ready: Promise<void>;

  constructor(paths: readonly string[], opts: ManifestWatcherOptions) {
    this.#debounceMs = opts.debounceMs ?? 150;
    this.#maxWaitMs = Math.max(this.#debounceMs, opts.maxWaitMs ?? 1000);
    this.#onChange = opts.onChange;
    this.#onError = opts.onError ?? (() => {});
    for (const p of paths) {
      const abs = resolve(p);
      if (isDirectory(abs)) this.#dirs.push(abs);
      else this.#files.add(abs); // a file, or a path that does not exist yet
    }
    const started: Promise<void>[] = [];
    if (this.#dirs.length > 0) {
      started.push(
        this.#start(this.#dirs, {
          ignored: (p, stats) => {
            if (this.#dirs.includes(p)) return false;
            if (basename(p).startsWith('.')) return true;
            return stats?.isFile() === true && !MANIFEST_EXT.test(p);
          },
        }),
      );
    }
    if (this.#files.size > 0) {
      const parents = [...new Set([...this.#files].map((f) => dirname(f)))];
      started.push(this.#start(parents, { depth: 0, ignored: (p) => !parents.includes(p) && !this.#files.has(p) }));
    }
    this.ready = Promise.all(started).then(() => undefined);
  }

  #start(roots: string[], opts: { depth?: number; ignored: (p: string, stats?: { isFile(): boolean }) => boolean }): Promise<void> {
    const w = watch(roots, { ignoreInitial: true, persistent: true, ...opts });
    this.#watchers.push(w);
    w.on('all', (_event, path) => this.#event(resolve(path)));
    w.on('error', (err) => this.#onError(err instanceof Error ? err : new Error(String(err))));
    return new Promise((r) => w.once('ready', () => r()));
  }

  #relevant(p: string): boolean {
    if (this.#files.has(p)) return true;
    // Directory events count too: removing a directory removes the files under it.
    return this.#dirs.some((d) => p === d || p.startsWith(d + sep));
  }

  #event(path: string): void {
    if (this.#closed || !this.#relevant(path)) return;
    const now = Date.now();
    if (this.#pending.size === 0) this.#firstAt = now;
    this.#pending.add(path);
    if (this.#timer) clearTimeout(this.#timer);
    const wait = Math.min(this.#debounceMs, Math.max(0, this.#firstAt + this.#maxWaitMs - now));
    this.#timer = setTimeout(() => this.#flush(), wait);
  }

  #flush(): void {
    this.#timer = undefined;
    if (this.#closed || this.#pending.size === 0) return;
    const paths = [...this.#pending].sort();
    this.#pending.clear();
    this.#onChange(paths);
  }

  async close(): Promise<void> {
    this.#closed = true;
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#pending.clear();
    await Promise.all(this.#watchers.map((w) => w.close()));
  }
}

function isDirectory(p: string): boolean {
  try {
    return statSync(p).isDirectory();
  } catch {
    return false;
  }
}
