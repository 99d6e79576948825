import protobuf from 'protobufjs';
import 'protobufjs/ext/descriptor/index.js';

// The parts of google.protobuf.FileDescriptorProto (decoded by protobufjs) that are read here.
type FieldDesc = { name: string; number: number; label?: number; type?: number; typeName?: string };
type MessageDesc = { name: string; field?: FieldDesc[]; nestedType?: MessageDesc[]; options?: { mapEntry?: boolean } };
export type FileDesc = { name?: string; package?: string; dependency?: string[]; messageType?: MessageDesc[] };

const SCALARS: Record<number, string> = {
  1: 'double',
  2: 'float',
  3: 'int64',
  4: 'uint64',
  5: 'int32',
  6: 'fixed64',
  7: 'fixed32',
  8: 'bool',
  9: 'string',
  12: 'bytes',
  13: 'uint32',
  15: 'sfixed32',
  16: 'sfixed64',
  17: 'sint32',
  18: 'sint64',
};
const REPEATED = 3;

/** Builds a resolved protobufjs root from FileDescriptorProtos, in any order. */
export function buildRoot(files: FileDesc[]): protobuf.Root {
  const root = (protobuf.Root as unknown as { fromDescriptor(set: unknown): protobuf.Root }).fromDescriptor({ file: files });
  const maps: protobuf.MapField[] = [];
  for (const file of files) for (const m of file.messageType ?? []) restoreMaps(root, file.package ? `.${file.package}` : '', m, maps);
  root.resolveAll();
  // resolveAll skips fields added after the root was first resolved.
  for (const f of maps) f.resolve();
  return root;
}

/** protobufjs's own copy of a well-known file (google/protobuf/*.proto) as a descriptor, for servers that leave them out. */
export function commonFile(name: string): FileDesc | undefined {
  const json = protobuf.common.get(name);
  if (!json) return undefined;
  const set = protobuf.Root.fromJSON(json).toDescriptor('proto3') as unknown as { file: FileDesc[] };
  const file = set.file.find((f) => f.messageType?.length);
  return file && { ...file, name, dependency: [] };
}

// protobufjs reads a map field from a descriptor as a repeated XxxEntry message; turn it back into
// a map so that encoding and JSON follow the map wire format and JSON form.
function restoreMaps(root: protobuf.Root, scope: string, m: MessageDesc, added: protobuf.MapField[]): void {
  const name = `${scope}.${m.name}`;
  const entries = new Map((m.nestedType ?? []).filter((n) => n.options?.mapEntry).map((n) => [n.name, n]));
  for (const nested of m.nestedType ?? []) if (!nested.options?.mapEntry) restoreMaps(root, name, nested, added);
  if (entries.size === 0) return;
  const type = root.lookupType(name);
  for (const f of m.field ?? []) {
    if (f.label !== REPEATED || !f.typeName) continue;
    const entry = entries.get(f.typeName.slice(f.typeName.lastIndexOf('.') + 1));
    if (!entry) continue;
    const key = entry.field?.find((x) => x.number === 1);
    const value = entry.field?.find((x) => x.number === 2);
    if (!key || !value) continue;
    const valueType = value.typeName ? value.typeName : SCALARS[value.type ?? 0];
    if (!valueType) continue;
    type.remove(type.fields[f.name]!);
    const map = new protobuf.MapField(f.name, f.number, SCALARS[key.type ?? 0] ?? 'string', valueType);
    type.add(map);
    added.push(map);
  }
  for (const entry of entries.values()) {
    const t = type.get(entry.name);
    if (t) type.remove(t);
  }
  if (type.options) delete type.options.map_entry;
}
