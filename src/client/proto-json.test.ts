import { test } from 'node:test';
import assert from 'node:assert/strict';
import protobuf from 'protobufjs';
import { decodeToJson, encodeJson, jsonName } from './proto-json.js';

const root = new protobuf.Root();
for (const f of ['timestamp', 'duration', 'struct', 'wrappers', 'field_mask'])
  root.addJSON((protobuf.common.get(`google/protobuf/${f}.proto`) as { nested: Record<string, protobuf.AnyNestedObject> }).nested);
protobuf.parse(
  `syntax = "proto3";
   package t;
   import "google/protobuf/timestamp.proto";
   import "google/protobuf/duration.proto";
   import "google/protobuf/struct.proto";
   import "google/protobuf/wrappers.proto";
   import "google/protobuf/field_mask.proto";
   enum Color { COLOR_UNSPECIFIED = 0; RED = 1; }
   message M {
     string user_name = 1;
     int64 big = 2;
     uint64 ubig = 3;
     int32 small = 4;
     uint32 count = 5;
     double ratio = 6;
     bool on = 7;
     bytes raw = 8;
     Color color = 9;
     repeated int32 list = 10;
     map<string, M> children = 11;
     google.protobuf.Timestamp at = 12;
     google.protobuf.Duration wait = 13;
     google.protobuf.Value any_value = 14;
     google.protobuf.Int64Value wrapped = 15;
     google.protobuf.FieldMask mask = 16;
     oneof choice { string a = 17; int32 b = 18; }
   }`,
  root,
  { keepCase: true },
);
root.resolveAll();
const M = root.lookupType('t.M');
const roundTrip = (json: unknown) => decodeToJson(M, encodeJson(M, json));

test('JSON names: underscores dropped, next letter upper-cased, first letter kept', () => {
  assert.equal(jsonName('user_name'), 'userName');
  assert.equal(jsonName('Message'), 'Message');
  assert.equal(jsonName('a_b_c1'), 'aBC1');
});

test('every scalar, enum, repeated, map, oneof and well-known type round-trips in its proto3 JSON form', () => {
  const json = {
    userName: 'ann',
    big: '-9007199254740993',
    ubig: '18446744073709551615',
    small: -5,
    count: 4294967295,
    ratio: 'NaN',
    on: true,
    raw: 'AP8=',
    color: 'RED',
    list: [1, 2, 3],
    children: { kid: { small: 1, children: { grandkid: { on: true } } } },
    at: '2024-02-29T23:59:59.123456789Z',
    wait: '-1.500s',
    anyValue: { n: 1.5, s: 'x', l: [true, null], o: {} },
    wrapped: '42',
    mask: 'userName,children.small',
    b: 7,
  };
  assert.deepEqual(roundTrip(json), json);
});

test('input accepts original names, numbers for 64-bit and enums, numeric strings; null means default', () => {
  assert.deepEqual(roundTrip({ user_name: 'x', big: 12, color: 1, small: '7', ratio: '2.5', on: null }), {
    userName: 'x',
    big: '12',
    color: 'RED',
    small: 7,
    ratio: 2.5,
  });
  assert.deepEqual(roundTrip({ at: '2024-01-01T00:00:00+01:00', wait: '3s' }), { at: '2023-12-31T23:00:00Z', wait: '3s' });
});

test('mistakes name the field path and what was expected', () => {
  assert.throws(() => encodeJson(M, { nope: 1 }), /nope: t\.M has no field "nope"/);
  assert.throws(() => encodeJson(M, { children: { k: { small: 'x' } } }), /children\["k"\]\.small: expected an integer, got "x"/);
  assert.throws(() => encodeJson(M, { small: 2 ** 31 }), /expected a int32/);
  assert.throws(() => encodeJson(M, { count: -1 }), /expected a uint32/);
  assert.throws(() => encodeJson(M, { color: 'BLUE' }), /not a value of t\.Color \(COLOR_UNSPECIFIED, RED\)/);
  assert.throws(() => encodeJson(M, { list: 1 }), /list: expected a JSON array/);
  assert.throws(() => encodeJson(M, { at: 'yesterday' }), /RFC 3339/);
  assert.throws(() => encodeJson(M, { raw: '***' }), /base64/);
  assert.throws(() => encodeJson(M, [1]), /expected a JSON object for t\.M/);
});
