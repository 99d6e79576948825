import { test } from 'node:test';
import assert from 'node:assert/strict';
import protobuf from 'protobufjs';
import descriptor from 'protobufjs/ext/descriptor/index.js';
import { buildRoot, commonFile, type FileDesc } from './descriptor-root.js';
import { decodeToJson, encodeJson } from './proto-json.js';

// A FileDescriptorProto as protoc writes it: the map field is a repeated nested entry message.
const file = {
  name: 'm.proto',
  package: 'p',
  syntax: 'proto3',
  dependency: ['google/protobuf/duration.proto'],
  messageType: [
    {
      name: 'Holder',
      field: [
        { name: 'labels', number: 1, label: 3, type: 11, typeName: '.p.Holder.LabelsEntry', jsonName: 'labels' },
        { name: 'by_id', number: 2, label: 3, type: 11, typeName: '.p.Holder.ByIdEntry', jsonName: 'byId' },
        { name: 'wait', number: 3, label: 1, type: 11, typeName: '.google.protobuf.Duration', jsonName: 'wait' },
      ],
      nestedType: [
        {
          name: 'LabelsEntry',
          field: [
            { name: 'key', number: 1, label: 1, type: 9 },
            { name: 'value', number: 2, label: 1, type: 9 },
          ],
          options: { mapEntry: true },
        },
        {
          name: 'ByIdEntry',
          field: [
            { name: 'key', number: 1, label: 1, type: 3 },
            { name: 'value', number: 2, label: 1, type: 11, typeName: '.p.Holder' },
          ],
          options: { mapEntry: true },
        },
      ],
    },
  ],
};

test('map fields from descriptors are maps again (wire format and JSON), well-known files come from protobufjs', () => {
  const decoded = descriptor.FileDescriptorProto.decode(descriptor.FileDescriptorProto.encode(file).finish()) as unknown as FileDesc;
  const root = buildRoot([decoded, commonFile('google/protobuf/duration.proto')!]);
  const Holder = root.lookupType('p.Holder');
  assert.ok(Holder.fields['labels'] instanceof protobuf.MapField);
  assert.ok(Holder.fields['by_id'] instanceof protobuf.MapField);
  assert.equal(Holder.get('LabelsEntry'), null);
  // protobufjs's copy of struct.proto has a map too (Struct.fields).
  const struct = buildRoot([commonFile('google/protobuf/struct.proto')!]).lookupType('google.protobuf.Struct');
  assert.ok(struct.fields['fields'] instanceof protobuf.MapField);
  assert.deepEqual(decodeToJson(struct, encodeJson(struct, { a: [1, { b: null }] })), { a: [1, { b: null }] });
  const json = { labels: { a: '1', b: '2' }, byId: { '7': { labels: { c: '3' } } }, wait: '2s' };
  const bytes = encodeJson(Holder, json);
  assert.deepEqual(decodeToJson(Holder, bytes), json);
  // The same bytes read as protoc's repeated-entry form: key 1, value 2 per entry.
  const Entry = new protobuf.Type('E').add(new protobuf.Field('key', 1, 'string')).add(new protobuf.Field('value', 2, 'string'));
  const Raw = new protobuf.Type('Raw').add(new protobuf.Field('labels', 1, 'E', 'repeated')).add(Entry);
  new protobuf.Root().add(Raw);
  const raw = Raw.toObject(Raw.decode(bytes)) as { labels: { key: string; value: string }[] };
  assert.deepEqual(raw.labels, [
    { key: 'a', value: '1' },
    { key: 'b', value: '2' },
  ]);
});
