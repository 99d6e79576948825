/**
 * RE2 patterns as JavaScript RegExps.
 *
 * Envoy, and so Istio and Envoy Gateway, match with RE2. JavaScript's dialect differs in syntax
 * (inline flags, `(?P<name>`, `\z`, `\Q..\E`, POSIX classes, `.` and `\s`) and accepts what RE2
 * rejects (lookaround, backreferences). Patterns are translated once, at compile time, into a
 * `u`-mode RegExp, and RE2-only or JS-only constructs are rejected with a message, so a pattern
 * behaves here as it does in Envoy.
 */

export type RegexOptions = {
  /** Anchor at both ends, like Envoy's `safe_regex` full match. */
  fullMatch?: boolean;
  /** For global substitution (`regex_rewrite`). */
  global?: boolean;
  ignoreCase?: boolean;
};

/** The pattern is not RE2, or uses RE2 syntax this engine cannot express. */
export class RegexSyntaxError extends Error {
  readonly code = 'E_REGEX_SYNTAX';
  readonly pattern: string;
  constructor(pattern: string, reason: string) {
    super(`regex ${JSON.stringify(pattern)} is invalid: ${reason}`);
    this.name = 'RegexSyntaxError';
    this.pattern = pattern;
  }
}

/** Node 23+ (V8 12.5) supports `(?i:...)` modifier groups; Node 20 does not. */
const MODIFIERS_SUPPORTED = ((): boolean => {
  try {
    new RegExp('(?i:a)', 'u');
    return true;
  } catch {
    return false;
  }
})();

// RE2's POSIX classes, valid only inside brackets.
const POSIX: Record<string, string> = {
  alnum: '0-9A-Za-z',
  alpha: 'A-Za-z',
  ascii: '\\x00-\\x7f',
  blank: '\\t ',
  cntrl: '\\x00-\\x1f\\x7f',
  digit: '0-9',
  graph: '!-~',
  lower: 'a-z',
  print: ' -~',
  punct: '!-\\/:-@\\[-`\\{-~',
  space: '\\t\\n\\v\\f\\r ',
  upper: 'A-Z',
  word: '0-9A-Za-z_',
  xdigit: '0-9A-Fa-f',
};

// RE2's \s is ASCII whitespace only (no \v); JS's \s includes Unicode spaces.
const RE2_SPACE = '\\t\\n\\f\\r ';

// Unicode general categories that JS accepts bare in \p{..}; anything else RE2 accepts is a script.
const GENERAL_CATEGORY = /^(?:[CLMNPSZ]|C[cfos]|L[lmotu]|M[cen]|N[dlo]|P[cdefios]|S[ckmo]|Z[lps])$/;

/**
 * Translates an RE2 pattern. Returns the JS source and the flags it needs (always `u`, plus `i`,
 * `s`, `m` from leading inline flags). Throws RegexSyntaxError.
 */
export function translateRe2(pattern: string): { source: string; flags: string } {
  let i = 0;
  let flagI = false;
  let flagS = false;
  let flagM = false;
  // Leading `(?flags)` groups apply to the whole pattern, which JS expresses as RegExp flags.
  for (;;) {
    const m = /^\(\?([imsU]*)(?:-([imsU]*))?\)/.exec(pattern.slice(i));
    if (m === null || (m[1] === '' && m[2] === undefined)) break;
    const on = m[1] ?? '';
    const off = m[2] ?? '';
    if (on.includes('U') || off.includes('U')) throw new RegexSyntaxError(pattern, 'the U (ungreedy) flag is not supported');
    if (on.includes('i')) flagI = true;
    if (on.includes('s')) flagS = true;
    if (on.includes('m')) flagM = true;
    if (off.includes('i')) flagI = false;
    if (off.includes('s')) flagS = false;
    if (off.includes('m')) flagM = false;
    i += m[0].length;
  }

  let out = '';
  let inClass = false;
  let classStart = -1;
  const n = pattern.length;
  while (i < n) {
    const c = pattern[i]!;
    if (inClass) {
      if (c === ']' && i !== classStart) {
        inClass = false;
        out += ']';
        i++;
      } else if (c === ']') {
        // `[]a]`: a leading `]` is a literal in RE2, an empty class in JS.
        out += '\\]';
        i++;
      } else if (c === '[' && pattern[i + 1] === ':') {
        const end = pattern.indexOf(':]', i + 2);
        if (end < 0) throw new RegexSyntaxError(pattern, 'unterminated POSIX class');
        const name = pattern.slice(i + 2, end);
        const set = POSIX[name];
        if (set === undefined) throw new RegexSyntaxError(pattern, `unsupported POSIX class [:${name}:]`);
        out += set;
        i = end + 2;
      } else if (c === '[') {
        out += '\\[';
        i++;
      } else if (c === '\\') {
        const r = translateEscape(pattern, i, true);
        out += r.text;
        i = r.next;
      } else {
        out += c;
        i++;
      }
      continue;
    }
    switch (c) {
      case '\\': {
        const r = translateEscape(pattern, i, false);
        out += r.text;
        i = r.next;
        break;
      }
      case '[': {
        inClass = true;
        out += '[';
        i++;
        if (pattern[i] === '^') {
          out += '^';
          i++;
        }
        classStart = i;
        break;
      }
      case '(': {
        if (pattern[i + 1] !== '?') {
          out += '(';
          i++;
          break;
        }
        const rest = pattern.slice(i + 2, i + 4);
        if (rest.startsWith(':')) {
          out += '(?:';
          i += 3;
        } else if (rest.startsWith('P<')) {
          out += '(?<';
          i += 4;
        } else if (rest.startsWith('<') && rest !== '<=' && rest !== '<!') {
          out += '(?<';
          i += 3;
        } else if (rest.startsWith('=') || rest.startsWith('!') || rest === '<=' || rest === '<!') {
          throw new RegexSyntaxError(pattern, 'lookaround assertions are not supported by RE2');
        } else {
          const m = /^\(\?([imsU]*)(?:-([imsU]*))?([:)])/.exec(pattern.slice(i));
          if (m === null) throw new RegexSyntaxError(pattern, `invalid group at offset ${i}`);
          if (m[3] === ')' || !MODIFIERS_SUPPORTED || `${m[1]}${m[2] ?? ''}`.includes('U'))
            throw new RegexSyntaxError(pattern, 'inline flags are supported only at the start of the pattern (for example "(?i)abc")');
          out += m[0];
          i += m[0].length;
        }
        break;
      }
      case '{': {
        const m = /^\{(\d+)(?:,(\d*))?\}/.exec(pattern.slice(i));
        if (m === null) {
          // RE2 reads a `{` that does not start a repetition as a literal; `u` mode would not.
          out += '\\{';
          i++;
        } else {
          const lo = Number(m[1]);
          const hi = m[2] === undefined || m[2] === '' ? lo : Number(m[2]);
          if (lo > 1000 || hi > 1000 || hi < lo) throw new RegexSyntaxError(pattern, `bad repetition operator ${m[0]}`);
          out += m[0];
          i += m[0].length;
        }
        break;
      }
      case '}':
        out += '\\}';
        i++;
        break;
      case ']':
        out += '\\]';
        i++;
        break;
      case '.':
        // RE2's `.` excludes only \n; JS's also excludes \r, U+2028 and U+2029.
        out += flagS ? '[\\s\\S]' : '[^\\n]';
        i++;
        break;
      default:
        out += c;
        i++;
    }
  }
  if (inClass) throw new RegexSyntaxError(pattern, 'missing closing ]');
  return { source: out, flags: `u${flagI ? 'i' : ''}${flagM ? 'm' : ''}` };
}

function hexEscape(code: number): string {
  return code <= 0xff ? `\\x${code.toString(16).padStart(2, '0')}` : `\\u{${code.toString(16)}}`;
}

function translateEscape(pattern: string, at: number, inClass: boolean): { text: string; next: number } {
  const c = pattern[at + 1];
  if (c === undefined) throw new RegexSyntaxError(pattern, 'trailing backslash');
  const next = at + 2;
  switch (c) {
    case 'd':
    case 'D':
    case 'w':
    case 'W':
    case 'f':
    case 'n':
    case 'r':
    case 't':
    case 'v':
      return { text: `\\${c}`, next };
    case 'b':
    case 'B':
      if (inClass) throw new RegexSyntaxError(pattern, `\\${c} is not allowed in a character class`);
      return { text: `\\${c}`, next };
    case 's':
      return { text: inClass ? RE2_SPACE : `[${RE2_SPACE}]`, next };
    case 'S':
      if (inClass) throw new RegexSyntaxError(pattern, '\\S inside a character class is not supported');
      return { text: `[^${RE2_SPACE}]`, next };
    case 'a':
      return { text: '\\x07', next };
    case 'A':
      if (inClass) throw new RegexSyntaxError(pattern, '\\A is not allowed in a character class');
      return { text: '(?<![\\s\\S])', next };
    case 'z':
      if (inClass) throw new RegexSyntaxError(pattern, '\\z is not allowed in a character class');
      return { text: '(?![\\s\\S])', next };
    case 'C':
      if (inClass) throw new RegexSyntaxError(pattern, '\\C is not allowed in a character class');
      return { text: '[\\s\\S]', next };
    case 'Q': {
      const end = pattern.indexOf('\\E', next);
      const lit = pattern.slice(next, end < 0 ? pattern.length : end);
      let text = '';
      for (const ch of lit) text += /[0-9A-Za-z_]/.test(ch) ? ch : hexEscape(ch.codePointAt(0)!);
      return { text, next: end < 0 ? pattern.length : end + 2 };
    }
    case 'E':
      // A stray \E is ignored by RE2.
      return { text: '', next };
    case 'x': {
      if (pattern[next] === '{') {
        const end = pattern.indexOf('}', next);
        const hex = end < 0 ? '' : pattern.slice(next + 1, end);
        if (!/^[0-9A-Fa-f]{1,6}$/.test(hex) || parseInt(hex, 16) > 0x10ffff) throw new RegexSyntaxError(pattern, 'invalid \\x{...} escape');
        return { text: hexEscape(parseInt(hex, 16)), next: end + 1 };
      }
      const hex = pattern.slice(next, next + 2);
      if (!/^[0-9A-Fa-f]{2}$/.test(hex)) throw new RegexSyntaxError(pattern, 'invalid \\x escape');
      return { text: `\\x${hex}`, next: next + 2 };
    }
    case 'p':
    case 'P': {
      let name: string;
      let end: number;
      if (pattern[next] === '{') {
        const close = pattern.indexOf('}', next);
        if (close < 0) throw new RegexSyntaxError(pattern, 'unterminated \\p{...}');
        name = pattern.slice(next + 1, close);
        end = close + 1;
      } else {
        name = pattern[next] ?? '';
        end = next + 1;
      }
      let negated = c === 'P';
      if (name.startsWith('^')) {
        negated = !negated;
        name = name.slice(1);
      }
      if (!/^[A-Za-z_]+$/.test(name)) throw new RegexSyntaxError(pattern, `invalid Unicode class \\${c}{${name}}`);
      if (name === 'Any') {
        if (inClass) throw new RegexSyntaxError(pattern, '\\p{Any} inside a character class is not supported');
        return { text: negated ? '[^\\s\\S]' : '[\\s\\S]', next: end };
      }
      const prop = GENERAL_CATEGORY.test(name) ? name : `Script=${name}`;
      return { text: `\\${negated ? 'P' : 'p'}{${prop}}`, next: end };
    }
    default:
      break;
  }
  if (c >= '0' && c <= '7') {
    // RE2: \0 plus up to two octal digits, or \1-\7 followed by another octal digit; a lone \1-\9
    // would be a backreference, which RE2 rejects.
    let j = next;
    while (j < pattern.length && j < next + 2 && pattern[j]! >= '0' && pattern[j]! <= '7') j++;
    if (c !== '0' && j === next) throw new RegexSyntaxError(pattern, 'backreferences are not supported by RE2');
    return { text: hexEscape(parseInt(pattern.slice(at + 1, j), 8)), next: j };
  }
  if (c === '8' || c === '9') throw new RegexSyntaxError(pattern, 'backreferences are not supported by RE2');
  if (/[A-Za-z]/.test(c)) throw new RegexSyntaxError(pattern, `invalid escape sequence \\${c}`);
  // Escaped punctuation is a literal in RE2; `u` mode accepts only some identity escapes.
  const cp = pattern.codePointAt(at + 1)!;
  return { text: hexEscape(cp), next: at + 1 + (cp > 0xffff ? 2 : 1) };
}

/**
 * Compiles an RE2 pattern once. With `fullMatch`, the whole input must match (Envoy's
 * `safe_regex` semantics for paths, headers and query values).
 */
export function compileRegex(pattern: string, options: RegexOptions = {}): RegExp {
  const { source, flags } = translateRe2(pattern);
  let body = source;
  if (options.fullMatch) {
    // `^`/`$` become line anchors under (?m), so anchor at the input's ends with lookarounds then.
    body = flags.includes('m') ? `(?<![\\s\\S])(?:${source})(?![\\s\\S])` : `^(?:${source})$`;
  }
  let f = flags;
  if (options.ignoreCase && !f.includes('i')) f += 'i';
  if (options.global) f += 'g';
  try {
    return new RegExp(body, f);
  } catch (err) {
    throw new RegexSyntaxError(pattern, (err as Error).message.replace(/^Invalid regular expression: /, ''));
  }
}
