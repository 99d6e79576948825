import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { compileRegex, RegexSyntaxError, translateRe2 } from './regex.js';

const full = (p: string) => compileRegex(p, { fullMatch: true });

describe('compileRegex full match (Envoy safe_regex)', () => {
  const cases: [pattern: string, input: string, expected: boolean][] = [
    ['/v[0-9]+/.*', '/v12/users', true],
    ['/v[0-9]+/.*', 'x/v12/users', false],
    ['/v[0-9]+', '/v12/users', false],
    // Alternation is anchored as a whole, not just its first and last branch.
    ['a|b', 'ab', false],
    ['a|b', 'b', true],
    ['(?i)/Foo', '/fOO', true],
    ['/Foo', '/fOO', false],
    ['(?P<id>[0-9]+)', '42', true],
    ['(?<id>[0-9]+)', '42', true],
    ['[[:digit:]]+-[[:alpha:]]+', '12-ab', true],
    ['[[:digit:]]+', '12a', false],
    ['\\Qa.b*c\\E', 'a.b*c', true],
    ['\\Qa.b*c\\E', 'axbbc', false],
    ['a\\.b', 'a.b', true],
    ['a\\.b', 'axb', false],
    ['a\\-b\\/c', 'a-b/c', true],
    ['[a\\-z]+', 'a-z', true],
    ['[a\\-z]+', 'b', false],
    ['a{2}', 'aa', true],
    ['a{2,}', 'aaaa', true],
    ['a{,2}', 'a{,2}', true], // not a repetition in RE2: literal
    ['x}', 'x}', true],
    ['[]a]+', ']a]', true],
    ['a\\x41', 'aA', true],
    ['\\x{41}', 'A', true],
    ['\\101', 'A', true], // octal
    ['\\pL+', 'abc', true],
    ['\\p{Greek}+', 'αβ', true],
    ['\\p{Greek}+', 'ab', false],
    ['a\\z', 'a', true],
    ['\\Aa', 'a', true],
    // RE2's `.` matches \r; JS's would not.
    ['a.b', 'a\rb', true],
    ['a.b', 'a\nb', false],
    ['(?s)a.b', 'a\nb', true],
    // RE2's \s is ASCII whitespace only.
    ['a\\sb', 'a b', true],
    ['a\\sb', 'a\u00a0b', false],
    ['a\\Sb', 'axb', true],
    ['[\\s]', ' ', true],
    ['\\d+', '123', true],
    ['\\w+', 'ab_1', true],
    ['.*', '', true],
  ];
  for (const [pattern, input, expected] of cases) {
    it(`${pattern} ${expected ? 'matches' : 'does not match'} ${JSON.stringify(input)}`, () => {
      assert.equal(full(pattern).test(input), expected);
    });
  }

  it('(?m) keeps full-match anchoring at the ends of the input', () => {
    const re = full('(?m)^a$');
    assert.equal(re.test('a'), true);
    assert.equal(re.test('a\nb'), false);
  });

  it('ignoreCase option', () => {
    assert.equal(compileRegex('abc', { fullMatch: true, ignoreCase: true }).test('ABC'), true);
  });

  it('unanchored when fullMatch is not set', () => {
    assert.equal(compileRegex('b').test('abc'), true);
  });
});

describe('compileRegex rejects what RE2 rejects', () => {
  const bad: [pattern: string, reason: RegExp][] = [
    ['a(?=b)', /lookaround/],
    ['a(?!b)', /lookaround/],
    ['(?<=a)b', /lookaround/],
    ['(?<!a)b', /lookaround/],
    ['(a)\\1', /backreference/],
    ['\\8', /backreference/],
    ['a\\e', /invalid escape/],
    ['a\\', /trailing backslash/],
    ['[a', /missing closing/],
    ['a{1001}', /bad repetition/],
    ['(?U)a*', /ungreedy/],
    ['(', /invalid/i],
    ['*a', /invalid/i],
    ['[[:nope:]]', /POSIX/],
  ];
  for (const [pattern, reason] of bad) {
    it(`rejects ${pattern}`, () => {
      assert.throws(
        () => compileRegex(pattern),
        (err: unknown) => err instanceof RegexSyntaxError && err.code === 'E_REGEX_SYNTAX' && reason.test(err.message),
      );
    });
  }

  it('rejects inline flags after the start when the engine cannot express them', () => {
    let supported = true;
    try {
      new RegExp('(?i:a)', 'u');
    } catch {
      supported = false;
    }
    if (supported) assert.equal(compileRegex('a(?i:b)', { fullMatch: true }).test('aB'), true);
    else assert.throws(() => compileRegex('a(?i:b)'), RegexSyntaxError);
    assert.throws(() => compileRegex('a(?i)b'), RegexSyntaxError);
  });
});

describe('translateRe2', () => {
  it('maps leading flags to RegExp flags and always uses u', () => {
    assert.deepEqual(translateRe2('(?i)abc'), { source: 'abc', flags: 'ui' });
    assert.deepEqual(translateRe2('(?im)abc'), { source: 'abc', flags: 'uim' });
    assert.deepEqual(translateRe2('(?i)(?-i)abc'), { source: 'abc', flags: 'u' });
  });
});
