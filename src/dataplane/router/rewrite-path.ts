/**
 * Path rewrites shared by URL rewrites (forwarded requests) and redirects.
 *
 * - `full`: the path is replaced (Gateway API ReplaceFullPath, Istio `rewrite.uri` on a
 *   non-prefix match, Envoy `regex_rewrite ^/.*$` as Envoy Gateway emits it).
 * - `prefix`: the matched prefix is replaced (Gateway API ReplacePrefixMatch, Istio
 *   `rewrite.uri`/`prefixRewrite` on a prefix match, Envoy `prefix_rewrite`).
 * - `regex`: every match of the pattern in the path is substituted (Envoy `regex_rewrite`,
 *   Istio `uriRegexRewrite`), `\1`-style captures as RE2's Rewrite.
 * The query string (and a fragment, if a client sent one) is always kept as it was.
 */
import type * as ir from '../../ir/index.js';
import { compileRegex, RegexSyntaxError } from '../../common/regex.js';
import { pathEnd } from './compile-route-match.js';

/** The prefix a route matched on, which a `prefix` rewrite replaces. */
export type MatchedPrefix = {
  readonly value: string;
  /** Gateway API segment semantics (trailing `/` ignored) vs Envoy's raw string prefix. */
  readonly segmentAware: boolean;
};

export type CompiledPathRewrite =
  | { readonly kind: 'full'; readonly value: string }
  | { readonly kind: 'prefix'; readonly value: string }
  | { readonly kind: 'regex'; readonly re: RegExp; readonly substitution: string };

export function compilePathRewrite(r: ir.PathRewrite): CompiledPathRewrite {
  switch (r.kind) {
    case 'full':
      return { kind: 'full', value: r.value };
    case 'prefix':
      return { kind: 'prefix', value: r.value };
    case 'regex': {
      const re = compileRegex(r.pattern, { global: true });
      return { kind: 'regex', re, substitution: translateSubstitution(r.pattern, r.substitution, countGroups(re)) };
    }
  }
}

/**
 * What a `prefix` rewrite replaces for a route match. A prefix path match replaces that prefix.
 * Exact, regex and gRPC matches matched the whole path, so Envoy replaces all of it (undefined).
 * No path condition at all is Envoy's (and Istio's) implicit raw prefix "/".
 */
export function matchedPrefixOf(match: ir.RouteMatch): MatchedPrefix | undefined {
  if (match.path) return match.path.kind === 'prefix' ? { value: match.path.value, segmentAware: match.path.segmentAware } : undefined;
  return match.grpc ? undefined : { value: '/', segmentAware: false };
}

/** Rewrites the path of a raw request target (`/p?q`), keeping the query. */
export function rewritePath(target: string, matchedPrefix: MatchedPrefix | undefined, rewrite: CompiledPathRewrite): string {
  const end = pathEnd(target);
  const rest = end === target.length ? '' : target.slice(end);
  switch (rewrite.kind) {
    case 'full':
      return rewrite.value + rest;
    case 'regex':
      return target.slice(0, end).replace(rewrite.re, rewrite.substitution) + rest;
    case 'prefix': {
      if (matchedPrefix === undefined) return rewrite.value + rest;
      if (!matchedPrefix.segmentAware) {
        // Envoy prefix_rewrite: plain replacement of as many characters as the prefix has
        // (`/foo` -> `/` turns `/foo/bar` into `//bar`, as Envoy and Istio do).
        return rewrite.value + target.slice(Math.min(matchedPrefix.value.length, end));
      }
      return replaceSegmentPrefix(target.slice(0, end), matchedPrefix.value, rewrite.value) + rest;
    }
  }
}

/**
 * Gateway API ReplacePrefixMatch (config-apis.md 1.9): trailing slashes of the prefix and of the
 * replacement are ignored, so `/foo` -> `/xyz` gives `/foo/bar` -> `/xyz/bar`, `/foo` -> `/xyz`,
 * `/foo/` -> `/xyz/`. An empty or `/` replacement strips the prefix and any slashes after it and
 * leaves one `/` (Envoy Gateway's `^<prefix>/*` -> `/`): `/foo/bar` -> `/bar`, `/foo` -> `/`.
 */
function replaceSegmentPrefix(path: string, prefix: string, replacement: string): string {
  const matchedLength = trimTrailingSlashes(prefix).length;
  let remainder = path.slice(Math.min(matchedLength, path.length));
  const r = trimTrailingSlashes(replacement);
  if (r === '') {
    let i = 0;
    while (i < remainder.length && remainder.charCodeAt(i) === 47) i++;
    return '/' + remainder.slice(i);
  }
  // A segment match leaves a remainder that is empty or starts with `/`.
  if (remainder !== '' && remainder.charCodeAt(0) !== 47) remainder = '/' + remainder;
  return r + remainder;
}

function trimTrailingSlashes(s: string): string {
  let end = s.length;
  while (end > 0 && s.charCodeAt(end - 1) === 47) end--;
  return s.slice(0, end);
}

function countGroups(re: RegExp): number {
  // An alternative that matches "" makes exec succeed, and its length reveals the group count.
  return new RegExp(`${re.source}|`, re.flags.replace('g', '')).exec('')!.length - 1;
}

/**
 * RE2 rewrite strings use `\0`-`\9` for captures and `\\` for a backslash; JS replacement strings
 * use `$&`, `$01`.. and `$$`. Two-digit group references keep `\1` followed by a digit unambiguous.
 */
function translateSubstitution(pattern: string, sub: string, groups: number): string {
  let out = '';
  for (let i = 0; i < sub.length; i++) {
    const c = sub[i]!;
    if (c === '$') {
      out += '$$';
    } else if (c === '\\') {
      const d = sub[i + 1];
      if (d === '\\') {
        out += '\\';
      } else if (d !== undefined && d >= '0' && d <= '9') {
        const n = Number(d);
        if (n > groups) throw new RegexSyntaxError(pattern, `substitution refers to group \\${n}, but the pattern has ${groups}`);
        out += n === 0 ? '$&' : `$0${n}`;
      } else {
        throw new RegexSyntaxError(pattern, `invalid escape in substitution ${JSON.stringify(sub)}`);
      }
      i++;
    } else {
      out += c;
    }
  }
  return out;
}
