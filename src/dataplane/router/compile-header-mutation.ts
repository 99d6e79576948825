/**
 * Request/response header edits (Gateway API RequestHeaderModifier/ResponseHeaderModifier, Istio
 * `headers.request|response`, Envoy `*_headers_to_add|remove`), compiled once into a function
 * that edits a plain headers object in place: remove, then set, then add (Envoy's HeaderParser
 * removes before it adds).
 *
 * `add` appends: a header that already has a value becomes an array, one element per value. Node
 * sends an array as separate header lines (HTTP/1.1) or fields (HTTP/2), which is what Envoy's
 * APPEND_IF_EXISTS_OR_ADD does. A receiver that combines lines reads "a,b", which is the comma
 * semantics Gateway API asks for; joining here with ", " instead would make Gateway API's
 * conformance comparison fail ("a, b" != "a,b") and would corrupt `set-cookie`.
 */
import type * as ir from '../../ir/index.js';

/** Headers as node:http and node:http2 use them: lower-case names. */
export type MutableHeaders = Record<string, string | string[] | number | undefined>;

export type HeaderMutator = (headers: MutableHeaders) => void;

/** Returns null when there is nothing to do, so callers skip the call entirely. */
export function compileHeaderMutation(m?: ir.HeaderMutation): HeaderMutator | null {
  if (!m) return null;
  const remove = [...new Set((m.remove ?? []).map((n) => n.toLowerCase()))];
  // Several `set` entries for one name: the last wins, as repeated overwrites would.
  const setMap = new Map<string, string>();
  for (const h of m.set ?? []) setMap.set(h.name.toLowerCase(), h.value);
  const setNames = [...setMap.keys()];
  const setValues = [...setMap.values()];
  const addNames = (m.add ?? []).map((h) => h.name.toLowerCase());
  const addValues = (m.add ?? []).map((h) => h.value);
  if (remove.length === 0 && setNames.length === 0 && addNames.length === 0) return null;

  return (headers: MutableHeaders): void => {
    for (let i = 0; i < remove.length; i++) delete headers[remove[i]!];
    for (let i = 0; i < setNames.length; i++) headers[setNames[i]!] = setValues[i]!;
    for (let i = 0; i < addNames.length; i++) {
      const name = addNames[i]!;
      const value = addValues[i]!;
      const cur = headers[name];
      if (cur === undefined) headers[name] = value;
      // A new array: the current one may belong to the incoming message.
      else if (Array.isArray(cur)) headers[name] = [...cur, value];
      else headers[name] = [String(cur), value];
    }
  };
}
