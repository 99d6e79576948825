/**
 * Field positions from the yaml library's node ranges.
 *
 * A path resolves to:
 * - a map entry whose value is a non-empty scalar: the value (`timeout: 1.5s` points at `1.5s`);
 * - any other map entry (a mapping, a sequence, an alias, an empty value): its key;
 * - a sequence item: the item (for `- name: a` the `name` key, just after the dash).
 * A path that goes further than the document resolves to the nearest entry that exists, and the
 * empty path to the object itself. Aliases and `<<` merge keys are followed, so a field that
 * comes from an anchor points at the anchored text.
 */
import { isAlias, isMap, isScalar, isSeq, type Document, type LineCounter, type Node, type Pair, type YAMLMap } from 'yaml';
import type { SourcePos } from '../model.js';

type AnyDoc = Document.Parsed | Document;

/** Follows aliases to the node they name (undefined when unresolved or circular). */
export function resolveNode(node: unknown, doc: AnyDoc): Node | undefined {
  let n = node;
  for (let hops = 0; isAlias(n); hops++) {
    if (hops > 64) return undefined;
    n = n.resolve(doc as Document);
  }
  return isMap(n) || isSeq(n) || isScalar(n) ? n : undefined;
}

function isMergeKey(key: unknown): boolean {
  if (!isScalar(key)) return false;
  const v = key.value;
  return v === '<<' || (typeof v === 'symbol' && v.description === '<<');
}

/** The entry for `key` in a mapping, explicit keys first, then `<<` merges in order. */
export function findPair(map: YAMLMap, key: string, doc: AnyDoc, depth = 0): Pair | undefined {
  for (const pair of map.items) {
    if (isScalar(pair.key) && !isMergeKey(pair.key) && String(pair.key.value) === key) return pair;
  }
  if (depth > 16) return undefined;
  for (const pair of map.items) {
    if (!isMergeKey(pair.key)) continue;
    const source = resolveNode(pair.value, doc);
    const sources = isSeq(source) ? source.items.map((it) => resolveNode(it, doc)) : [source];
    for (const s of sources) {
      if (!isMap(s)) continue;
      const found = findPair(s, key, doc, depth + 1);
      if (found) return found;
    }
  }
  return undefined;
}

function start(node: unknown): number | undefined {
  if (!node || typeof node !== 'object' || !('range' in node)) return undefined;
  const range = (node as { range?: [number, number, number] | null }).range;
  return range ? range[0] : undefined;
}

function pairOffset(pair: Pair): number | undefined {
  const v = pair.value;
  if (isScalar(v) && v.range && v.range[1] > v.range[0]) return v.range[0];
  return start(pair.key) ?? start(v);
}

/** Offset of the node that `path` names under `root`, or of its nearest existing ancestor. */
export function offsetOf(root: Node, rootOffset: number, path: readonly (string | number)[], doc: AnyDoc): number {
  let offset = rootOffset;
  let node: unknown = root;
  for (const seg of path) {
    const n = resolveNode(node, doc);
    if (typeof seg === 'string' && isMap(n)) {
      const pair = findPair(n, seg, doc);
      const at = pair && pairOffset(pair);
      if (at === undefined) break;
      offset = at;
      node = pair?.value;
    } else if (typeof seg === 'number' && isSeq(n)) {
      const item: unknown = n.items[seg];
      const at = start(item);
      if (at === undefined) break;
      offset = at;
      node = item;
    } else break;
  }
  return offset;
}

/** `posOf` for an object rooted at `root`. */
export function makePosOf(
  file: string,
  lineCounter: LineCounter,
  doc: AnyDoc,
  root: Node,
): { pos: SourcePos; posOf: (path: readonly (string | number)[]) => SourcePos } {
  const toPos = (offset: number): SourcePos => {
    const { line, col } = lineCounter.linePos(offset);
    return { file, line, column: col };
  };
  const rootOffset = start(root) ?? 0;
  const pos = toPos(rootOffset);
  return {
    pos,
    posOf: (path) => (path.length === 0 ? { ...pos } : toPos(offsetOf(root, rootOffset, path, doc))),
  };
}
