import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  canonicalHeaderKey,
  cleanMuxPath,
  encodeGoForm,
  escapeGoPath,
  formatGoDuration,
  formatGoFloat,
  formatGoTime,
  goQuote,
  goStatusText,
  parseGoBool,
  parseGoDuration,
  parseGoFloat,
  parseGoInt,
  parseGoQuery,
} from './go-format.js';

test('formatGoDuration prints time.Duration.String()', () => {
  const cases: [number, string][] = [
    [0, '0s'],
    [1, '1ns'],
    [999, '999ns'],
    [1_500, '1.5µs'],
    [40_876, '40.876µs'],
    [202_008, '202.008µs'],
    [1_000_000, '1ms'],
    [1_500_000, '1.5ms'],
    [50_445_000, '50.445ms'],
    [1e9, '1s'],
    [60e9, '1m0s'],
    [60.5e9, '1m0.5s'],
    [3723e9, '1h2m3s'],
    [-1_500_000, '-1.5ms'],
  ];
  for (const [ns, text] of cases) assert.equal(formatGoDuration(ns), text, `${ns} ns`);
});

test('parseGoDuration follows time.ParseDuration, errors included', () => {
  assert.deepEqual(parseGoDuration('1.5s'), { ok: true, value: 1.5e9 });
  assert.deepEqual(parseGoDuration('1h2m'), { ok: true, value: 3720e9 });
  assert.deepEqual(parseGoDuration('300ms'), { ok: true, value: 300e6 });
  assert.deepEqual(parseGoDuration('2us'), { ok: true, value: 2000 });
  assert.deepEqual(parseGoDuration('2µs'), { ok: true, value: 2000 });
  assert.deepEqual(parseGoDuration('-0.57s'), { ok: true, value: -570e6 });
  assert.deepEqual(parseGoDuration('0'), { ok: true, value: 0 });
  assert.deepEqual(parseGoDuration('10'), { ok: false, error: 'time: missing unit in duration "10"' });
  assert.deepEqual(parseGoDuration('10x'), { ok: false, error: 'time: unknown unit "x" in duration "10x"' });
  assert.deepEqual(parseGoDuration('soon'), { ok: false, error: 'time: invalid duration "soon"' });
  assert.deepEqual(parseGoDuration(''), { ok: false, error: 'time: invalid duration ""' });
});

test('strconv parsers: ParseInt base 0, ParseFloat, ParseBool', () => {
  assert.deepEqual(parseGoInt('0x1F'), { ok: true, value: 31 });
  assert.deepEqual(parseGoInt('017'), { ok: true, value: 15 });
  assert.deepEqual(parseGoInt('0b101'), { ok: true, value: 5 });
  assert.deepEqual(parseGoInt('1_000'), { ok: false, error: 'strconv.ParseInt: parsing "1_000": invalid syntax' });
  assert.deepEqual(parseGoInt('0x_1_0'), { ok: true, value: 16 });
  assert.deepEqual(parseGoInt('-42'), { ok: true, value: -42 });
  assert.equal(parseGoInt('99999999999999999999').ok, false);
  assert.deepEqual(parseGoFloat('0.5'), { ok: true, value: 0.5 });
  assert.deepEqual(parseGoFloat('.5e1'), { ok: true, value: 5 });
  assert.deepEqual(parseGoFloat('Inf'), { ok: true, value: Infinity });
  assert.deepEqual(parseGoFloat('0x1p-2'), { ok: true, value: 0.25 });
  assert.equal(parseGoFloat('1,5').ok, false);
  assert.deepEqual(parseGoBool('T'), { ok: true, value: true });
  assert.deepEqual(parseGoBool('yes'), { ok: false, error: 'strconv.ParseBool: parsing "yes": invalid syntax' });
});

test('formatGoFloat is %v of a float64', () => {
  assert.equal(formatGoFloat(0.5), '0.5');
  assert.equal(formatGoFloat(1), '1');
  assert.equal(formatGoFloat(0.0001), '0.0001');
  assert.equal(formatGoFloat(0.00001), '1e-05');
  assert.equal(formatGoFloat(1e21), '1e+21');
  assert.equal(formatGoFloat(NaN), 'NaN');
});

test('goQuote is strconv.Quote', () => {
  assert.equal(goQuote('a"b\\c\n'), '"a\\"b\\\\c\\n"');
  assert.equal(goQuote('µ'), '"µ"');
  assert.equal(goQuote('\x01'), '"\\x01"');
});

test('header keys, query and form encoding, path escaping and ServeMux path cleaning', () => {
  assert.equal(canonicalHeaderKey('x-request-id'), 'X-Request-Id');
  assert.equal(canonicalHeaderKey('CONTENT-TYPE'), 'Content-Type');
  assert.equal(canonicalHeaderKey('bad key'), 'bad key');
  const form = parseGoQuery('b=2&a=1&a=x+y&bad=%zz');
  assert.deepEqual(
    [...form],
    [
      ['b', ['2']],
      ['a', ['1', 'x y']],
    ],
  );
  assert.equal(encodeGoForm(form), 'a=1&a=x+y&b=2');
  assert.equal(escapeGoPath('/a b/é'), '/a%20b/%C3%A9');
  assert.equal(cleanMuxPath('/a/../b/./c/'), '/b/c/');
  assert.equal(cleanMuxPath('//x'), '/x');
  assert.equal(cleanMuxPath(''), '/');
});

test('time layouts: document microseconds, hclog milliseconds with zone, JSON with colon zone', () => {
  const micros = Date.UTC(2024, 0, 4, 13, 57, 54, 123) * 1000 + 456;
  assert.equal(formatGoTime(micros, 'micro', 0), '2024-01-04T13:57:54.123456');
  assert.equal(formatGoTime(micros, 'hclog', 0), '2024-01-04T13:57:54.123Z');
  assert.equal(formatGoTime(micros, 'hclog', 540), '2024-01-04T22:57:54.123+0900');
  assert.equal(formatGoTime(micros, 'hclog-json', -330), '2024-01-04T08:27:54.123456-05:30');
  assert.equal(formatGoTime(micros, 'stdlog', 0), '2024/01/04 13:57:54');
});

test("status texts are net/http's", () => {
  assert.equal(goStatusText(413), 'Request Entity Too Large');
  assert.equal(goStatusText(599), 'status code 599');
});
