/**
 * Hot reload of manifests: read the sources again, keep the last good version of what broke,
 * translate, and hand the IR to the data plane.
 *
 * - Per file, the last text that parsed with no error is kept. A file that no longer parses
 *   (YAML syntax, an object without kind or name) keeps serving its last good objects, all of
 *   them, and the reload reports the error with file:line. A new file that never parsed cleanly
 *   contributes what did parse, as the first load does.
 * - Per object (group, kind, namespace, name), the last version that translated without error
 *   is kept. A changed object that now has errors is replaced by that version ("kept"); one that
 *   has no good version yet is left out ("rejected"). Leaving an object out can break another
 *   (a route whose Gateway was rejected), so selection repeats until no new object breaks.
 * - The IR goes to the target (the Proxy) only as a whole. If the target refuses it (invalid IR,
 *   a port it cannot bind) the running config stays and nothing is remembered as good.
 * - Every reload yields a ReloadResult: the CLI prints it, the admin API can show the last one.
 *
 * The data plane is reached through `ConfigTarget`, which Proxy satisfies: config/ does not
 * import the data plane.
 */
import { readFileSync } from 'node:fs';
import type * as ir from '../ir/index.js';
import type { Diagnostic } from '../ir/diagnostic.js';
import { Diagnostics, objectRef, type LoadedObject } from './model.js';
import { listManifestFiles, objectIdentity, parseManifestText, UniqueObjects, type ManifestSource } from './load/load-manifests.js';
import { ManifestWatcher } from './load/watch.js';
import { translate, type TranslateOptions, type TranslateResult } from './translate.js';

/**
 * Where a new IR goes. `Proxy` fits: it throws to refuse a config and keeps the running one; an
 * error with `applied: true` means the config runs but something went wrong (reported).
 */
export interface ConfigTarget {
  apply(config: ir.Config): Promise<void>;
}

export type ReloadTrigger = 'initial' | 'watch' | 'manual';

/** An object whose new version was not used. */
export type ObjectNote = {
  /** `Kind/namespace/name`. */
  object: string;
  apiVersion: string;
  /** Where the refused version is. */
  file: string;
  line: number;
  /** The first error, for one-line output; `errors` has them all. */
  reason: string;
  errors: Diagnostic[];
};

export type ReloadResult = {
  /** Counts every reload, applied or not: 1 is the initial load. */
  version: number;
  /** The IR version running after this reload (`config.version`); unchanged when not applied. */
  configVersion: string;
  /** ISO time the reload started. */
  time: string;
  durationMs: number;
  trigger: ReloadTrigger;
  /** Files whose text changed, appeared or disappeared since the last applied reload. */
  changedFiles: string[];
  /** Whether the new IR now runs. */
  applied: boolean;
  /** Why it was not applied (the target refused it), or what went wrong while applying it. */
  error?: string;
  /** Objects in the applied set compared with the previous one (`Kind/namespace/name`). */
  objects: { added: string[]; updated: string[]; removed: string[]; total: number };
  /** Changed objects with errors whose previous good version still serves. */
  kept: ObjectNote[];
  /** New objects with errors, left out. */
  rejected: ObjectNote[];
  /** Files that no longer parse and still serve their last good content. */
  keptFiles: { file: string; reason: string; line?: number }[];
  listeners: number;
  clusters: number;
  /** Everything found: load, translation, kept and rejected objects. */
  diagnostics: Diagnostic[];
};

export type ManifestReloaderOptions = {
  /** Files and directories (watched) and fixed texts such as stdin (never re-read). */
  sources: readonly ManifestSource[];
  /** Passed to translate on every reload; a function is asked each time (runtime endpoints change). */
  translateOptions?: TranslateOptions | (() => TranslateOptions);
  /** Receives every IR to run; without one the reloader only computes results. */
  target?: ConfigTarget;
  /** Adjusts the IR before it is applied (port offsets; tests bind port 0). */
  prepare?: (config: ir.Config) => ir.Config;
  onReload?: (result: ReloadResult) => void;
  /** Watch the file and directory sources (default true). */
  watch?: boolean;
  /** Watcher debounce (default 150 ms). */
  debounceMs?: number;
  /** Watcher errors (a directory that cannot be read...). */
  onWatchError?: (err: Error) => void;
};

/** The configuration that runs now. */
export type CurrentConfig = {
  configVersion: string;
  objects: LoadedObject[];
  /** The translation that produced it: the IR before `prepare`, status and diagnostics. */
  translation: TranslateResult;
  /** The IR as applied (after `prepare`). */
  config: ir.Config;
};

type Parsed = { objects: LoadedObject[]; diagnostics: Diagnostic[]; ok: boolean };
type FileState = { text: string; parsed: Parsed; good: Parsed | undefined };

/** Selection rounds: each can only drop or downgrade objects, so few are ever needed. */
const MAX_ROUNDS = 8;

export class ManifestReloader {
  readonly #sources: readonly ManifestSource[];
  readonly #opts: ManifestReloaderOptions;
  readonly #listeners = new Set<(r: ReloadResult) => void>();
  /** Fixed texts, parsed once. */
  readonly #fixed = new Map<string, Parsed>();
  #files = new Map<string, FileState>();
  /** Last good version of each object, by identity. */
  #good = new Map<string, LoadedObject>();
  /** The objects of the running config, by identity. */
  #applied = new Map<string, LoadedObject>();
  #current: CurrentConfig | undefined;
  #last: ReloadResult | undefined;
  #version = 0;
  #configVersion = 0;
  #watcher: ManifestWatcher | undefined;
  #queue: Promise<unknown> = Promise.resolve();
  #watchQueued = false;
  #started = false;
  #closed = false;

  constructor(opts: ManifestReloaderOptions) {
    this.#opts = opts;
    this.#sources = opts.sources;
    for (const s of opts.sources) if (typeof s !== 'string' && !this.#fixed.has(s.name)) this.#fixed.set(s.name, parse(s.name, s.text));
  }

  /** Loads, applies, then watches (unless `watch: false`). Resolves with the first result. */
  async start(): Promise<ReloadResult> {
    if (this.#started || this.#closed) throw new Error('ManifestReloader.start() runs once');
    this.#started = true;
    const result = await this.#exclusive(() => this.#reload('initial'));
    const paths = this.#sources.filter((s): s is string => typeof s === 'string');
    if (this.#opts.watch !== false && paths.length > 0 && !this.#closed) {
      this.#watcher = new ManifestWatcher(paths, {
        debounceMs: this.#opts.debounceMs,
        onChange: () => this.#onWatch(),
        onError: (e) => this.#opts.onWatchError?.(e),
      });
      await this.#watcher.ready;
    }
    return result!;
  }

  /** Reloads now, whether files changed or not. */
  async reloadNow(): Promise<ReloadResult> {
    return (await this.#exclusive(() => this.#reload('manual')))!;
  }

  /** Stops watching; a reload under way finishes first. */
  async close(): Promise<void> {
    this.#closed = true;
    await this.#watcher?.close();
    await this.#queue.catch(() => {});
  }

  /** The last reload's result (applied or not). */
  get lastResult(): ReloadResult | undefined {
    return this.#last;
  }

  /** What runs now: objects, translation and IR. */
  get current(): CurrentConfig | undefined {
    return this.#current;
  }

  /** Calls `fn` with every result from now on; returns the unsubscribe function. */
  subscribe(fn: (r: ReloadResult) => void): () => void {
    this.#listeners.add(fn);
    return () => this.#listeners.delete(fn);
  }

  #onWatch(): void {
    // One queued reload re-reads everything, so further events before it starts add nothing.
    if (this.#watchQueued || this.#closed) return;
    this.#watchQueued = true;
    void this.#exclusive(() => {
      this.#watchQueued = false;
      return this.#reload('watch');
    }).catch((e: unknown) => this.#opts.onWatchError?.(e instanceof Error ? e : new Error(String(e))));
  }

  #exclusive<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.#queue.then(fn, fn);
    this.#queue = run.catch(() => {});
    return run;
  }

  /** One reload; a watch-triggered one that finds no changed file produces no result. */
  async #reload(trigger: ReloadTrigger): Promise<ReloadResult | undefined> {
    if (this.#closed && trigger === 'watch') return undefined;
    const started = performance.now();
    const time = new Date().toISOString();
    const load = new Diagnostics();

    // 1. Read every file; a file that does not parse any more serves its last good content.
    const files = new Map<string, FileState>();
    const keptFiles: ReloadResult['keptFiles'] = [];
    const changedFiles: string[] = [];
    const unique = new UniqueObjects(load);
    for (const source of this.#sources) {
      if (typeof source !== 'string') {
        const p = this.#fixed.get(source.name)!;
        load.items.push(...p.diagnostics);
        unique.add(p.objects);
        continue;
      }
      for (const file of listManifestFiles(source, load)) {
        if (files.has(file)) continue;
        const prev = this.#files.get(file);
        const text = readText(file, load);
        if (text === null) continue; // deleted between listing and reading: its objects go
        if (text === undefined) {
          if (!prev?.good) continue;
          files.set(file, prev);
          keptFiles.push({ file, reason: 'the file cannot be read' });
          unique.add(prev.good.objects);
          continue;
        }
        if (prev?.text !== text) changedFiles.push(file);
        const parsed = prev?.text === text ? prev.parsed : parse(file, text);
        load.items.push(...parsed.diagnostics);
        const state: FileState = { text, parsed, good: parsed.ok ? parsed : prev?.good };
        files.set(file, state);
        if (!parsed.ok && prev?.good) {
          const first = parsed.diagnostics.find((d) => d.severity === 'error')!;
          keptFiles.push({ file, reason: first.message, ...(first.line !== undefined ? { line: first.line } : {}) });
          load.items.push({
            code: 'W_KEPT_LAST_GOOD_FILE',
            severity: 'warning',
            message: `${file} does not parse: its last good content (${prev.good.objects.length} object${prev.good.objects.length === 1 ? '' : 's'}) keeps serving`,
            file,
            ...(first.line !== undefined ? { line: first.line, column: first.column ?? 1 } : {}),
            fix: 'Fix the error above and save again.',
          });
          unique.add(prev.good.objects);
        } else {
          unique.add(parsed.objects);
        }
      }
    }
    for (const file of this.#files.keys()) if (!files.has(file)) changedFiles.push(file);
    // Events that changed no text (a touch, an editor's temp file) make no reload; a file that
    // cannot be read is reported each time.
    const unreadable = load.items.some((d) => d.code === 'E_SOURCE_READ');
    if (trigger === 'watch' && changedFiles.length === 0 && !unreadable) return undefined;

    // 2. Choose a version of each object: the new one, else the last good one, else none.
    const topts = typeof this.#opts.translateOptions === 'function' ? this.#opts.translateOptions() : (this.#opts.translateOptions ?? {});
    const configVersion = String(this.#configVersion + 1);
    const chosen = new Map(unique.objects.map((o) => [objectIdentity(o), o]));
    const kept: ObjectNote[] = [];
    const rejected: ObjectNote[] = [];
    const noteDiags: Diagnostic[] = [];
    let translation = translate([...chosen.values()], { ...topts, version: configVersion });
    for (let round = 0; round < MAX_ROUNDS; round++) {
      let changed = false;
      for (const [id, errors] of errorsByObject(translation.diagnostics, chosen)) {
        const cur = chosen.get(id)!;
        const good = this.#good.get(id);
        if (good && sameVersion(good, cur)) continue; // broken by another object: nothing older to fall back to
        const note = objectNote(cur, errors);
        noteDiags.push(...errors);
        if (good) {
          chosen.set(id, good);
          kept.push(note);
          noteDiags.push(noteDiagnostic('W_KEPT_PREVIOUS_VERSION', `kept previous version of ${note.object} because: ${note.reason}`, cur));
        } else {
          chosen.delete(id);
          rejected.push(note);
          noteDiags.push(
            noteDiagnostic('W_OBJECT_REJECTED', `left out ${note.object} (no earlier good version) because: ${note.reason}`, cur),
          );
        }
        changed = true;
      }
      if (!changed) break;
      translation = translate([...chosen.values()], { ...topts, version: configVersion });
    }

    // 3. Apply as a whole; the target keeps its running config if it refuses.
    const config = this.#opts.prepare ? this.#opts.prepare(translation.config) : translation.config;
    let error: string | undefined;
    let applied = true;
    const applyDiags: Diagnostic[] = [];
    try {
      await this.#opts.target?.apply(config);
    } catch (e) {
      error = e instanceof Error ? e.message : String(e);
      // An error marked `applied: true` reports a problem with a config that nonetheless runs.
      applied = (e as { applied?: unknown }).applied === true;
      const ds = (e as { diagnostics?: unknown }).diagnostics;
      if (Array.isArray(ds)) applyDiags.push(...(ds as Diagnostic[]));
    }

    const objects = diffObjects(this.#applied, chosen);
    if (applied) {
      const finalErrors = errorsByObject(translation.diagnostics, chosen);
      const good = new Map<string, LoadedObject>();
      for (const [id, o] of chosen) {
        const prevGood = this.#good.get(id);
        if (!finalErrors.has(id)) good.set(id, o);
        else if (prevGood) good.set(id, prevGood);
      }
      this.#good = good;
      this.#files = files;
      this.#applied = chosen;
      this.#configVersion++;
      this.#current = { configVersion, objects: [...chosen.values()], translation, config };
    }
    const result: ReloadResult = {
      version: ++this.#version,
      configVersion: this.#current?.configVersion ?? '0',
      time,
      durationMs: Math.round((performance.now() - started) * 10) / 10,
      trigger,
      changedFiles: changedFiles.sort(),
      applied,
      ...(error !== undefined ? { error } : {}),
      objects,
      kept,
      rejected,
      keptFiles,
      listeners: config.listeners.length,
      clusters: config.clusters.length,
      diagnostics: [...load.items, ...noteDiags, ...translation.diagnostics, ...applyDiags],
    };
    this.#last = result;
    this.#emit(result);
    return result;
  }

  #emit(result: ReloadResult): void {
    for (const fn of [this.#opts.onReload, ...this.#listeners]) {
      try {
        fn?.(result);
      } catch {
        // A failing observer must not stop reloads.
      }
    }
  }
}

function parse(file: string, text: string): Parsed {
  const d = new Diagnostics();
  const objects = parseManifestText(file, text, d);
  return { objects, diagnostics: d.items, ok: !d.hasErrors };
}

/** The file's text; null when it no longer exists; undefined (reported) when it cannot be read. */
function readText(file: string, diags: Diagnostics): string | null | undefined {
  try {
    return readFileSync(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    diags.error('E_SOURCE_READ', `cannot read manifest file ${file}: ${(err as Error).message}`);
    return undefined;
  }
}

const bodyText = new WeakMap<LoadedObject, string>();
function versionText(o: LoadedObject): string {
  let t = bodyText.get(o);
  if (t === undefined) bodyText.set(o, (t = JSON.stringify(o.body)));
  return t;
}

/** The same content (positions may differ: lines added above do not make a new version). */
function sameVersion(a: LoadedObject, b: LoadedObject): boolean {
  return a === b || versionText(a) === versionText(b);
}

/**
 * Error diagnostics per chosen object. Diagnostics name objects as `Kind/namespace/name`; when two
 * chosen objects share that (same kind in two API groups), the file tells them apart.
 */
function errorsByObject(diags: readonly Diagnostic[], chosen: Map<string, LoadedObject>): Map<string, Diagnostic[]> {
  const byRef = new Map<string, [string, LoadedObject][]>();
  for (const entry of chosen) {
    const ref = objectRef(entry[1]);
    const list = byRef.get(ref);
    if (list) list.push(entry);
    else byRef.set(ref, [entry]);
  }
  const out = new Map<string, Diagnostic[]>();
  for (const d of diags) {
    if (d.severity !== 'error' || !d.object) continue;
    const candidates = byRef.get(d.object);
    if (!candidates) continue;
    const hit = candidates.length === 1 ? candidates[0]! : (candidates.find(([, o]) => o.pos.file === d.file) ?? candidates[0]!);
    const list = out.get(hit[0]);
    if (list) list.push(d);
    else out.set(hit[0], [d]);
  }
  return out;
}

function objectNote(o: LoadedObject, errors: Diagnostic[]): ObjectNote {
  const first = errors[0]!;
  const where = first.file ? ` (${first.file}:${first.line ?? 1}${first.field ? ` ${first.field}` : ''})` : '';
  return {
    object: objectRef(o),
    apiVersion: o.apiVersion,
    file: o.pos.file,
    line: o.pos.line,
    reason: `${first.message}${where}`,
    errors,
  };
}

function noteDiagnostic(code: string, message: string, o: LoadedObject): Diagnostic {
  return {
    code,
    severity: 'warning',
    message,
    object: objectRef(o),
    file: o.pos.file,
    line: o.pos.line,
    column: o.pos.column,
    fix: 'Fix the errors reported for this object and save again.',
  };
}

function diffObjects(before: Map<string, LoadedObject>, after: Map<string, LoadedObject>): ReloadResult['objects'] {
  const added: string[] = [];
  const updated: string[] = [];
  const removed: string[] = [];
  for (const [id, o] of after) {
    const b = before.get(id);
    if (!b) added.push(objectRef(o));
    else if (!sameVersion(b, o)) updated.push(objectRef(o));
  }
  for (const [id, o] of before) if (!after.has(id)) removed.push(objectRef(o));
  return { added: added.sort(), updated: updated.sort(), removed: removed.sort(), total: after.size };
}
