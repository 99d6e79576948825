import { test } from 'node:test';
import assert from 'node:assert/strict';
import { emptyResponse, GoPanic, messageBody, responseFromJSON, responseToJSON } from './response.js';

test('every key but code is omitted when empty', () => {
  assert.equal(responseToJSON(emptyResponse()), '{\n  "code": 0\n}\n');
});

test('struct order, sorted maps and nested upstream documents', () => {
  const inner = emptyResponse();
  inner.name = 'b';
  inner.code = 200;
  inner.headers = new Map([
    ['Date', 'x'],
    ['Content-Type', 'text/plain'],
  ]);
  const r = emptyResponse();
  r.error = 'e';
  r.code = 500;
  r.upstreamCalls = new Map([
    ['http://z', inner],
    ['grpc://a', emptyResponse()],
  ]);
  r.body = messageBody('Hello');
  r.name = 'a';
  assert.equal(
    responseToJSON(r),
    `{
  "name": "a",
  "body": "Hello",
  "upstream_calls": {
    "grpc://a": {
      "code": 0
    },
    "http://z": {
      "name": "b",
      "headers": {
        "Content-Type": "text/plain",
        "Date": "x"
      },
      "code": 200
    }
  },
  "code": 500,
  "error": "e"
}
`,
  );
});

test('a MESSAGE that breaks the JSON makes the encoder panic, as the original', () => {
  const r = emptyResponse();
  r.body = messageBody('say "hi"');
  assert.throws(
    () => responseToJSON(r),
    (e: unknown) =>
      e instanceof GoPanic && /^json: error calling MarshalJSON for type json.RawMessage: invalid character 'h'/.test(e.message),
  );
});

test('fromJSON keeps the body raw, matches keys case-insensitively, and rejects wrong types like json.Unmarshal', () => {
  const parsed = responseFromJSON('{"Name": "x", "body": {"n": 1.0}, "upstream_calls": {"u": {"code": 3}}, "code": 7, "extra": true}');
  assert.ok(parsed.ok);
  assert.equal(parsed.response.name, 'x');
  assert.equal(parsed.response.body, '{"n": 1.0}');
  assert.equal(parsed.response.upstreamCalls.get('u')!.code, 3);
  assert.match(responseToJSON(parsed.response), /"body": \{\n {4}"n": 1\.0\n {2}\}/);
  assert.deepEqual(responseFromJSON('{"code": "x"}'), {
    ok: false,
    error: 'json: cannot unmarshal string into Go struct field Response.code of type int',
  });
  assert.deepEqual(responseFromJSON('{"code": 1.5}'), {
    ok: false,
    error: 'json: cannot unmarshal number 1.5 into Go struct field Response.code of type int',
  });
  assert.deepEqual(responseFromJSON('[]'), { ok: false, error: 'json: cannot unmarshal array into Go value of type response.Response' });
  assert.deepEqual(responseFromJSON('<html>'), { ok: false, error: "invalid character '<' looking for beginning of value" });
  assert.deepEqual(responseFromJSON('null'), { ok: true, response: emptyResponse() });
});
