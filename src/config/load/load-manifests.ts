/**
 * The loader: manifest sources (files, directories, in-memory texts) -> LoadedObject[].
 *
 * - A directory is read recursively; its `*.yaml`, `*.yml` and `*.json` files (any case) are
 *   loaded in code-unit order of their names, directory by directory, so output never depends on
 *   the file system. Entries whose name starts with "." (`.git`, editor swap files) are skipped.
 *   A file named explicitly is loaded whatever its extension.
 * - Every document of every text is parsed (see parse-manifest-text.ts); `kind: List` and typed
 *   lists (`ConfigMapList`) are expanded; empty documents are skipped.
 * - The same object (apiVersion group, kind, namespace, name) twice: E_DUPLICATE_OBJECT on the
 *   later one, which is skipped.
 * Unknown kinds are kept: the translators report them.
 */
import { readdirSync, readFileSync, realpathSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { Diagnostics, LoadedObject } from '../model.js';
import { objectRef } from '../model.js';
import { apiGroup } from './api-group.js';
import { parseManifestText } from './parse-manifest-text.js';

export { apiGroup, isKind } from './api-group.js';
export { CLUSTER_SCOPED_KINDS, isClusterScoped } from './cluster-scoped.js';
export { parseManifestText } from './parse-manifest-text.js';
export { readSources, STDIN_NAME } from './read-sources.js';

/** A file or directory path, or a named text (stdin, tests). */
export type ManifestSource = string | { name: string; text: string };

const MANIFEST_EXT = /\.(ya?ml|json)$/i;

/** Loads every source in order. Never throws on bad input: problems go to `diags`. */
export function loadManifests(sources: readonly ManifestSource[], diags: Diagnostics): LoadedObject[] {
  const unique = new UniqueObjects(diags);
  for (const source of sources) {
    if (typeof source !== 'string') {
      unique.add(parseManifestText(source.name, source.text, diags));
      continue;
    }
    for (const file of listManifestFiles(source, diags)) {
      let text: string;
      try {
        text = readFileSync(file, 'utf8');
      } catch (err) {
        diags.error('E_SOURCE_READ', `cannot read manifest file ${file}: ${errText(err)}`);
        continue;
      }
      unique.add(parseManifestText(file, text, diags));
    }
  }
  return unique.objects;
}

/** Collects objects in order, reporting and skipping a second definition of the same object. */
export class UniqueObjects {
  readonly objects: LoadedObject[] = [];
  readonly #seen = new Map<string, LoadedObject>();
  readonly #diags: Diagnostics;

  constructor(diags: Diagnostics) {
    this.#diags = diags;
  }

  add(objects: readonly LoadedObject[]): void {
    for (const o of objects) {
      const key = objectIdentity(o);
      const first = this.#seen.get(key);
      if (first) {
        this.#diags.error(
          'E_DUPLICATE_OBJECT',
          `${objectRef(o)} (${o.apiVersion}) is defined twice: first at ${at(first)}, again at ${at(o)}; the later one is skipped`,
          { object: o },
          `Remove one of the two definitions, or give them different names or namespaces.`,
        );
        continue;
      }
      this.#seen.set(key, o);
      this.objects.push(o);
    }
  }
}

/** The identity duplicates are found by: group, kind, namespace, name (the version does not count). */
export function objectIdentity(o: LoadedObject): string {
  return `${apiGroup(o.apiVersion)}\u0000${o.kind}\u0000${o.metadata.namespace}\u0000${o.metadata.name}`;
}

function at(o: LoadedObject): string {
  return `${o.pos.file}:${o.pos.line}:${o.pos.column}`;
}

function errText(err: unknown): string {
  if (err && typeof err === 'object' && 'code' in err && err.code === 'ENOENT') return 'no such file or directory';
  return err instanceof Error ? err.message : String(err);
}

/** The files a path stands for: itself, or a directory's manifest files, sorted. */
export function listManifestFiles(path: string, diags: Diagnostics): string[] {
  let isDir: boolean;
  try {
    isDir = statSync(path).isDirectory();
  } catch (err) {
    diags.error('E_SOURCE_READ', `cannot read manifests from ${path}: ${errText(err)}`, undefined, 'Check the path given with -f.');
    return [];
  }
  if (!isDir) return [path];
  const files: string[] = [];
  walk(path, files, new Set(), diags);
  if (files.length === 0) {
    diags.warning('W_NO_MANIFESTS', `directory ${path} holds no .yaml, .yml or .json files`);
  }
  return files;
}

function walk(dir: string, files: string[], visited: Set<string>, diags: Diagnostics): void {
  let names: string[];
  try {
    const real = realpathSync(dir);
    if (visited.has(real)) return; // a symlink loop
    visited.add(real);
    names = readdirSync(dir);
  } catch (err) {
    diags.error('E_SOURCE_READ', `cannot read directory ${dir}: ${errText(err)}`);
    return;
  }
  names.sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  for (const name of names) {
    if (name.startsWith('.')) continue;
    const p = join(dir, name);
    let st;
    try {
      st = statSync(p);
    } catch {
      continue; // a dangling symlink
    }
    if (st.isDirectory()) walk(p, files, visited, diags);
    else if (st.isFile() && MANIFEST_EXT.test(name)) files.push(p);
  }
}
