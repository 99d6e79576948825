import { test } from 'node:test';
import assert from 'node:assert/strict';
import { compactGoJson, encodeGoString, indentGoJson, marshalGo, parseGoJson } from './go-json.js';

test('parseGoJson keeps raw text and reports encoding/json syntax errors', () => {
  const ok = parseGoJson(' {"a": 1.50, "b": [true, null]} ');
  assert.ok(ok.ok);
  assert.equal(ok.node.kind, 'object');
  if (ok.node.kind === 'object') assert.equal(ok.node.entries[0]![1].raw, '1.50');
  const errors: [string, string][] = [
    ['', 'unexpected end of JSON input'],
    ['"Hello "World""', "invalid character 'W' after top-level value"],
    ['{"a" 1}', "invalid character '1' after object key"],
    ['{"a": 1 "b"}', "invalid character '\"' after object key:value pair"],
    ['[1 2]', "invalid character '2' after array element"],
    ['{1}', "invalid character '1' looking for beginning of object key string"],
    ['tru', 'unexpected end of JSON input'],
    ['trux', "invalid character 'x' in literal true (expecting 'e')"],
    ['-x', "invalid character 'x' in numeric literal"],
    ['1.x', "invalid character 'x' after decimal point in numeric literal"],
    ['"a\\qb"', "invalid character 'q' in string escape code"],
    ['"a\nb"', "invalid character '\\n' in string literal"],
    ["'", "invalid character '\\'' looking for beginning of value"],
  ];
  for (const [text, message] of errors) assert.deepEqual(parseGoJson(text), { ok: false, error: message }, text);
});

test('strings are escaped as Go does, HTML-safe', () => {
  assert.equal(encodeGoString('<a href="x">&</a>\n\t\u2028'), '"\\u003ca href=\\"x\\"\\u003e\\u0026\\u003c/a\\u003e\\n\\t\\u2028"');
  assert.equal(encodeGoString('\x01\b\f'), '"\\u0001\\b\\f"');
  assert.equal(encodeGoString('µ'), '"µ"');
});

test('compact and indent as json.Compact and json.Indent', () => {
  assert.equal(compactGoJson('{ "a" : [ 1 , 2 ], "s": "x y <" }'), '{"a":[1,2],"s":"x y \\u003c"}');
  assert.equal(indentGoJson('{"a":[1,{}],"b":[],"c":"{,}"}', '  '), '{\n  "a": [\n    1,\n    {}\n  ],\n  "b": [],\n  "c": "{,}"\n}');
  assert.equal(marshalGo(new Map<string, never>()), '{}');
  assert.equal(marshalGo(new Map([['k', { raw: ' [1, 2] ' }]])), '{"k":[1,2]}');
});
