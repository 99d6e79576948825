import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Diagnostics, type LoadedObject } from '../model.js';
import { loadManifests } from './load-manifests.js';

// dist/src/config/load/ -> repository root
const FIXTURES = fileURLToPath(new URL('../../../../test/fixtures/load/', import.meta.url));
const fx = (...p: string[]): string => join(FIXTURES, ...p);

function load(text: string, name = 'm.yaml'): { objects: LoadedObject[]; diags: Diagnostics } {
  const diags = new Diagnostics();
  return { objects: loadManifests([{ name, text }], diags), diags };
}

const refs = (objects: LoadedObject[]): string[] =>
  objects.map((o) => `${o.apiVersion} ${o.kind}/${o.metadata.namespace}/${o.metadata.name}`);

test('multi-document YAML: every object with its start position; empty documents skipped', () => {
  const text = [
    '---', // 1
    'apiVersion: v1', // 2
    'kind: Service', // 3
    'metadata:', // 4
    '  name: a', // 5
    '---', // 6
    '# nothing but a comment', // 7
    '---', // 8
    '~', // 9
    '---', // 10
    '  apiVersion: apps/v1', // 11
    '  kind: Deployment', // 12
    '  metadata: {name: b, namespace: prod}', // 13
    '...', // 14
  ].join('\n');
  const { objects, diags } = load(text);
  assert.deepEqual(diags.items, []);
  assert.deepEqual(refs(objects), ['v1 Service/default/a', 'apps/v1 Deployment/prod/b']);
  assert.deepEqual(objects[0]!.pos, { file: 'm.yaml', line: 2, column: 1 });
  assert.deepEqual(objects[1]!.pos, { file: 'm.yaml', line: 11, column: 3 });
  assert.deepEqual(objects[1]!.posOf(['metadata', 'namespace']), { file: 'm.yaml', line: 13, column: 34 });
});

test('empty inputs load nothing and report nothing', () => {
  for (const text of ['', '\n\n', '# comment only\n', '---\n---\n', '---\n...\n', 'null\n']) {
    const { objects, diags } = load(text);
    assert.deepEqual(objects, [], JSON.stringify(text));
    assert.deepEqual(diags.items, [], JSON.stringify(text));
  }
});

test('body is the parsed object; metadata defaults and keeps timestamps', () => {
  const { objects, diags } = load(
    [
      'apiVersion: gateway.networking.k8s.io/v1',
      'kind: HTTPRoute',
      'metadata:',
      '  name: r',
      '  labels: {app: web}',
      '  creationTimestamp: "2025-01-02T03:04:05Z"',
      '  generation: 7',
      'spec:',
      '  hostnames: ["a.example"]',
    ].join('\n'),
  );
  assert.deepEqual(diags.items, []);
  const o = objects[0]!;
  assert.deepEqual(o.metadata, {
    name: 'r',
    namespace: 'default',
    labels: { app: 'web' },
    annotations: {},
    creationTimestamp: '2025-01-02T03:04:05Z',
    generation: 7,
  });
  assert.deepEqual(o.body.spec, { hostnames: ['a.example'] });
  assert.equal(o.body.kind, 'HTTPRoute');
  assert.deepEqual((o.body.metadata as Record<string, unknown>).name, 'r');
});

test('cluster-scoped kinds get namespace "", namespaced kinds "default"', () => {
  const { objects } = load(
    [
      'apiVersion: gateway.networking.k8s.io/v1',
      'kind: GatewayClass',
      'metadata: {name: eg, namespace: whatever}',
      '---',
      'apiVersion: v1',
      'kind: Namespace',
      'metadata: {name: shop}',
      '---',
      'apiVersion: rbac.authorization.k8s.io/v1',
      'kind: ClusterRole',
      'metadata: {name: reader}',
      '---',
      'apiVersion: gateway.networking.k8s.io/v1',
      'kind: Gateway',
      'metadata: {name: eg, namespace: ""}',
      '---',
      'apiVersion: example.com/v1',
      'kind: Namespace', // not the core Namespace
      'metadata: {name: x}',
    ].join('\n'),
  );
  assert.deepEqual(
    objects.map((o) => o.metadata.namespace),
    ['', '', '', 'default', 'default'],
  );
});

test('positions of nested fields, exactly', () => {
  const text = [
    'apiVersion: gateway.networking.k8s.io/v1', // 1
    'kind: HTTPRoute', // 2
    'metadata:', // 3
    '  name: r', // 4
    'spec:', // 5
    '  rules:', // 6
    '    - matches:', // 7
    '        - path:', // 8
    '            type: Exact', // 9
    '            value: "/foo"', // 10
    '          headers: [{name: x-a, value: "1"}]', // 11
    '      timeouts:', // 12
    '        request: 1.5s', // 13
    '        backendRequest:', // 14
    '    - backendRefs:', // 15
    '      - {name: web, port: 8080}', // 16
  ].join('\n');
  const { objects, diags } = load(text);
  assert.deepEqual(diags.items, []);
  const o = objects[0]!;
  const at = (path: (string | number)[]): [number, number] => {
    const p = o.posOf(path);
    assert.equal(p.file, 'm.yaml');
    return [p.line, p.column];
  };
  assert.deepEqual(at([]), [1, 1]);
  assert.deepEqual(at(['kind']), [2, 7]); // scalar value
  assert.deepEqual(at(['spec']), [5, 1]); // block mapping: its key
  assert.deepEqual(at(['spec', 'rules']), [6, 3]);
  assert.deepEqual(at(['spec', 'rules', 0]), [7, 7]); // sequence item: after the dash
  assert.deepEqual(at(['spec', 'rules', 0, 'matches']), [7, 7]);
  assert.deepEqual(at(['spec', 'rules', 0, 'matches', 0]), [8, 11]);
  assert.deepEqual(at(['spec', 'rules', 0, 'matches', 0, 'path']), [8, 11]);
  assert.deepEqual(at(['spec', 'rules', 0, 'matches', 0, 'path', 'type']), [9, 19]);
  assert.deepEqual(at(['spec', 'rules', 0, 'matches', 0, 'path', 'value']), [10, 20]);
  assert.deepEqual(at(['spec', 'rules', 0, 'matches', 0, 'headers']), [11, 11]); // flow sequence: its key
  assert.deepEqual(at(['spec', 'rules', 0, 'matches', 0, 'headers', 0]), [11, 21]);
  assert.deepEqual(at(['spec', 'rules', 0, 'matches', 0, 'headers', 0, 'value']), [11, 40]);
  assert.deepEqual(at(['spec', 'rules', 0, 'timeouts', 'request']), [13, 18]);
  assert.deepEqual(at(['spec', 'rules', 0, 'timeouts', 'backendRequest']), [14, 9]); // empty value: its key
  assert.deepEqual(at(['spec', 'rules', 1, 'backendRefs', 0, 'port']), [16, 27]);
  // Missing fields fall back to the nearest existing parent.
  assert.deepEqual(at(['spec', 'rules', 0, 'timeouts', 'idle']), [12, 7]);
  assert.deepEqual(at(['spec', 'rules', 5, 'matches']), [6, 3]);
  assert.deepEqual(at(['spec', 'rules', 'notAnIndex']), [6, 3]);
  assert.deepEqual(at(['spec', 'rules', 0, 'matches', 0, 'path', 'value', 'deeper']), [10, 20]);
  assert.deepEqual(at(['status', 'parents']), [1, 1]);
});

test('positions follow anchors and merge keys', () => {
  const text = [
    'apiVersion: v1', // 1
    'kind: ConfigMap', // 2
    'metadata: {name: c}', // 3
    'x-defaults: &d', // 4
    '  timeout: 5s', // 5
    '  retries: 3', // 6
    'data:', // 7
    '  <<: *d', // 8
    '  retries: 4', // 9
    '  copy: *d', // 10
  ].join('\n');
  const { objects, diags } = load(text);
  assert.deepEqual(diags.items, []);
  const o = objects[0]!;
  assert.deepEqual(o.body.data, { timeout: '5s', retries: 4, copy: { timeout: '5s', retries: 3 } });
  assert.deepEqual(o.posOf(['data', 'timeout']), { file: 'm.yaml', line: 5, column: 12 });
  assert.deepEqual(o.posOf(['data', 'retries']), { file: 'm.yaml', line: 9, column: 12 });
  assert.deepEqual(o.posOf(['data', 'copy']), { file: 'm.yaml', line: 10, column: 3 });
  assert.deepEqual(o.posOf(['data', 'copy', 'retries']), { file: 'm.yaml', line: 6, column: 12 });
});

test('JSON text keeps positions too', () => {
  const text = '{\n  "apiVersion": "v1",\n  "kind": "Service",\n  "metadata": {"name": "s"},\n  "spec": {"ports": [{"port": 80}]}\n}\n';
  const { objects, diags } = load(text, 's.json');
  assert.deepEqual(diags.items, []);
  assert.deepEqual(refs(objects), ['v1 Service/default/s']);
  assert.deepEqual(objects[0]!.pos, { file: 's.json', line: 1, column: 1 });
  assert.deepEqual(objects[0]!.posOf(['spec', 'ports', 0, 'port']), { file: 's.json', line: 5, column: 31 });
});

test('a byte order mark and CRLF line ends do not shift positions', () => {
  const { objects } = load('\ufeffapiVersion: v1\r\nkind: Service\r\nmetadata:\r\n  name: s\r\n');
  assert.deepEqual(objects[0]!.pos, { file: 'm.yaml', line: 1, column: 1 });
  assert.deepEqual(objects[0]!.posOf(['metadata', 'name']), { file: 'm.yaml', line: 4, column: 9 });
});

test('kind: List and typed lists expand their items', () => {
  const text = [
    'apiVersion: v1', // 1
    'kind: List', // 2
    'items:', // 3
    '- apiVersion: v1', // 4
    '  kind: Service', // 5
    '  metadata: {name: s}', // 6
    '- apiVersion: v1', // 7
    '  kind: ServiceList', // 8
    '  items:', // 9
    '  - metadata: {name: inner}', // 10
  ].join('\n');
  const { objects, diags } = load(text);
  assert.deepEqual(diags.items, []);
  assert.deepEqual(refs(objects), ['v1 Service/default/s', 'v1 Service/default/inner']);
  assert.deepEqual(objects[0]!.pos, { file: 'm.yaml', line: 4, column: 3 });
  assert.deepEqual(objects[0]!.posOf(['metadata', 'name']), { file: 'm.yaml', line: 6, column: 20 });
  assert.deepEqual(objects[1]!.pos, { file: 'm.yaml', line: 10, column: 5 });
  // A typed list's items get the list's apiVersion and the item kind, in body too.
  assert.equal(objects[1]!.body.kind, 'Service');
  assert.equal(objects[1]!.body.apiVersion, 'v1');

  const empty = load('apiVersion: v1\nkind: List\nitems: []\n');
  assert.deepEqual(empty.objects, []);
  assert.deepEqual(empty.diags.items, []);
});

test('invalid List items are reported one by one; the valid ones load', () => {
  const text = [
    'apiVersion: v1',
    'kind: List',
    'items:',
    '- apiVersion: v1',
    '  kind: Service',
    '  metadata: {name: ok}',
    '- just a string',
    '- kind: Service',
    '  metadata: {name: s}',
  ].join('\n');
  const { objects, diags } = load(text);
  assert.deepEqual(refs(objects), ['v1 Service/default/ok']);
  assert.deepEqual(
    diags.items.map((d) => [d.code, d.line, d.column]),
    [
      ['E_OBJECT_INVALID', 7, 3],
      ['E_OBJECT_INVALID', 8, 3],
    ],
  );
  assert.match(diags.items[0]!.message, /items\[1\] of the List/);
  assert.match(diags.items[1]!.message, /Service "s" in items\[2\] of the List .*apiVersion is missing/);

  const bad = load('apiVersion: v1\nkind: List\nitems: {a: 1}\n');
  assert.deepEqual(bad.objects, []);
  assert.deepEqual(
    bad.diags.items.map((d) => [d.code, d.line, d.column]),
    [['E_OBJECT_INVALID', 3, 1]],
  );
});

test('YAML syntax errors: position and parser message; other documents still load', () => {
  // Written at test time: a broken file under test/ would break `prettier --check`.
  const dir = mkdtempSync(join(tmpdir(), 'legate-load-'));
  const broken = join(dir, 'broken.yaml');
  writeFileSync(
    broken,
    [
      'apiVersion: v1', // 1
      'kind: Service', // 2
      'metadata:', // 3
      '  name: before', // 4
      '---', // 5
      'apiVersion: v1', // 6
      'kind: Service', // 7
      'metadata:', // 8
      '\tname: tabbed', // 9
      '---', // 10
      'apiVersion: v1', // 11
      'kind: Service', // 12
      'metadata:', // 13
      '  name: after', // 14
    ].join('\n'),
  );
  const diags = new Diagnostics();
  let objects: LoadedObject[];
  try {
    objects = loadManifests([broken], diags);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  assert.deepEqual(refs(objects), ['v1 Service/default/before', 'v1 Service/default/after']);
  assert.equal(diags.items.length, 1);
  const d = diags.items[0]!;
  assert.equal(d.code, 'E_YAML_SYNTAX');
  assert.equal(d.severity, 'error');
  assert.equal(d.file, broken);
  assert.deepEqual([d.line, d.column], [9, 1]);
  assert.match(d.message, /document 2: Tabs are not allowed as indentation/);
  assert.match(d.fix ?? '', /spaces/);
});

test('more YAML errors: unclosed flow, duplicate keys, unknown alias', () => {
  const cases: [string, number, number, RegExp][] = [
    ['apiVersion: v1\nkind: Service\nmetadata: {name: s\n', 4, 1, /Missing closing|flow/i],
    ['apiVersion: v1\nkind: Service\nkind: Pod\nmetadata: {name: s}\n', 3, 1, /Map keys must be unique/],
    ['apiVersion: v1\nkind: Service\nmetadata: {name: *nope}\n', 3, 18, /nope/],
    ['apiVersion: v1\nkind: Service\nmetadata: {name: "s}\n', 4, 1, /Missing closing "quote/],
  ];
  for (const [text, line, column, message] of cases) {
    const { objects, diags } = load(text);
    assert.deepEqual(objects, [], text);
    assert.equal(diags.items[0]?.code, 'E_YAML_SYNTAX', text);
    assert.deepEqual([diags.items[0]!.line, diags.items[0]!.column], [line, column], text);
    assert.match(diags.items[0]!.message, message, text);
  }
});

test('missing apiVersion, kind, metadata.name: E_OBJECT_INVALID with what is missing and a fix', () => {
  const cases: [string, RegExp, number, number][] = [
    [
      'kind: Service\nmetadata: {name: s}\n',
      /^Service "s" in the document is not a valid object: apiVersion is missing; it is skipped$/,
      1,
      1,
    ],
    ['apiVersion: v1\nmetadata: {name: s}\n', /Object "s" .*: kind is missing/, 1, 1],
    ['apiVersion: v1\nkind: Service\n', /Service .*: metadata.name is missing/, 1, 1],
    ['apiVersion: v1\nkind: Service\nmetadata:\n  namespace: x\n', /metadata.name is missing/, 3, 1],
    ['apiVersion: v1\nkind: Service\nmetadata:\n  generateName: x-\n', /generateName is not supported/, 3, 1],
    ['apiVersion: v1\nkind: Service\nmetadata:\n  name: 123\n', /metadata.name must be a string, not a number \(123\)/, 4, 9],
    ['apiVersion: v1\nkind: Service\nmetadata: [a]\n', /metadata must be a mapping, not a sequence/, 3, 1],
    ['apiVersion: v1\nkind: [Service]\nmetadata: {name: s}\n', /kind must be a string/, 2, 1],
    ['apiVersion: a/b/v1\nkind: Service\nmetadata: {name: s}\n', /apiVersion "a\/b\/v1" has more than one "\/"/, 1, 13],
    ['apiVersion: v1\nkind: Service\nmetadata: {name: s, namespace: 5}\n', /metadata.namespace must be a string/, 3, 32],
    ['foo: bar\n', /Object in the document is not a valid object: apiVersion is missing; kind is missing; metadata.name is missing/, 1, 1],
    ['- a\n- b\n', /the document is a sequence, not a Kubernetes object/, 1, 1],
    ['\n\n  hello\n', /the document is a string \("hello"\), not a Kubernetes object/, 3, 3],
  ];
  for (const [text, message, line, column] of cases) {
    const { objects, diags } = load(text);
    assert.deepEqual(objects, [], text);
    assert.equal(diags.items.length, 1, text);
    const d = diags.items[0]!;
    assert.equal(d.code, 'E_OBJECT_INVALID', text);
    assert.equal(d.severity, 'error');
    assert.match(d.message, message, text);
    assert.deepEqual([d.file, d.line, d.column], ['m.yaml', line, column], text);
    assert.ok(d.fix && d.fix.length > 0, text);
  }
  const all = load('foo: bar\n').diags.items[0]!;
  assert.match(all.fix!, /apiVersion.*kind.*name/s);
});

test('duplicates: same group, kind, namespace and name; the later one is skipped', () => {
  const diags = new Diagnostics();
  const objects = loadManifests(
    [
      { name: 'a.yaml', text: 'apiVersion: gateway.networking.k8s.io/v1\nkind: HTTPRoute\nmetadata: {name: r}\n' },
      {
        name: 'b.yaml',
        text: [
          'apiVersion: v1', // 1
          'kind: Service', // 2
          'metadata: {name: r}', // 3  different kind: fine
          '---', // 4
          'apiVersion: gateway.networking.k8s.io/v1', // 5
          'kind: HTTPRoute', // 6
          'metadata: {name: r, namespace: other}', // 7  different namespace: fine
          '---', // 8
          'apiVersion: gateway.networking.k8s.io/v1beta1', // 9
          'kind: HTTPRoute', // 10
          'metadata: {name: r, namespace: default}', // 11  duplicate of a.yaml (version ignored)
          '---', // 12
          'apiVersion: example.com/v1', // 13
          'kind: HTTPRoute', // 14
          'metadata: {name: r}', // 15  other group: fine
        ].join('\n'),
      },
    ],
    diags,
  );
  assert.deepEqual(refs(objects), [
    'gateway.networking.k8s.io/v1 HTTPRoute/default/r',
    'v1 Service/default/r',
    'gateway.networking.k8s.io/v1 HTTPRoute/other/r',
    'example.com/v1 HTTPRoute/default/r',
  ]);
  assert.equal(diags.items.length, 1);
  const d = diags.items[0]!;
  assert.equal(d.code, 'E_DUPLICATE_OBJECT');
  assert.equal(d.severity, 'error');
  assert.equal(d.object, 'HTTPRoute/default/r');
  assert.deepEqual([d.file, d.line, d.column], ['b.yaml', 9, 1]);
  assert.match(d.message, /first at a\.yaml:1:1, again at b\.yaml:9:1/);
  assert.ok(d.fix);
});

test('metadata labels and annotations: strings kept, scalars coerced with a warning', () => {
  const { objects, diags } = load(
    [
      'apiVersion: v1',
      'kind: Service',
      'metadata:',
      '  name: s',
      '  labels:',
      '    version: 1',
      '    ok: "yes"',
      '    nested: {a: b}',
      '  annotations: [x]',
    ].join('\n'),
  );
  assert.deepEqual(objects[0]!.metadata.labels, { version: '1', ok: 'yes' });
  assert.deepEqual(objects[0]!.metadata.annotations, {});
  assert.deepEqual(
    diags.items.map((d) => [d.code, d.severity, d.field, d.line, d.column]),
    [
      ['W_METADATA_VALUE', 'warning', 'metadata.labels.version', 6, 14],
      ['W_METADATA_VALUE', 'warning', 'metadata.labels.nested', 8, 5],
      ['W_METADATA_VALUE', 'warning', 'metadata.annotations', 9, 3],
    ],
  );
  assert.equal(diags.hasErrors, false);
});

test('directories: recursive, sorted, manifest extensions only, hidden entries skipped', () => {
  const diags = new Diagnostics();
  const objects = loadManifests([fx('tree')], diags);
  assert.deepEqual(diags.items, []);
  assert.deepEqual(refs(objects), [
    'gateway.networking.k8s.io/v1 GatewayClass//eg',
    'gateway.networking.k8s.io/v1 Gateway/default/eg',
    'gateway.networking.k8s.io/v1 HTTPRoute/shop/web',
    'gateway.networking.k8s.io/v1beta1 HTTPRoute/default/api',
    'v1 Service/shop/web',
    'v1 Namespace//shop',
    'discovery.k8s.io/v1 EndpointSlice/shop/web-abc',
  ]);
  const byName = (kind: string): LoadedObject => objects.find((o) => o.kind === kind)!;
  assert.deepEqual(byName('Gateway').metadata, {
    name: 'eg',
    namespace: 'default',
    labels: { app: 'eg' },
    annotations: { note: 'hello' },
    creationTimestamp: '2025-01-02T03:04:05Z',
    generation: 3,
  });
  assert.deepEqual(byName('Gateway').pos, { file: fx('tree', 'a-gateway.yml'), line: 9, column: 1 });
  assert.deepEqual(byName('Gateway').posOf(['spec', 'listeners', 0, 'port']), { file: fx('tree', 'a-gateway.yml'), line: 24, column: 13 });
  const api = objects.find((o) => o.metadata.name === 'api')!;
  assert.deepEqual(api.pos, { file: fx('tree', 'b-routes.yaml'), line: 16, column: 1 });
  assert.deepEqual(api.posOf(['spec', 'rules', 0, 'matches', 0, 'path', 'value']), {
    file: fx('tree', 'b-routes.yaml'),
    line: 25,
    column: 20,
  });
  const svc = byName('Service');
  assert.deepEqual(svc.posOf(['spec', 'ports', 0, 'targetPort']), { file: fx('tree', 'sub', 'service.json'), line: 9, column: 61 });
  assert.deepEqual(byName('EndpointSlice').pos, { file: fx('tree', 'sub', 'z-list.YAML'), line: 8, column: 5 });
});

test('a typed list file; a file and a directory together; directory order is stable', () => {
  const diags = new Diagnostics();
  const objects = loadManifests([fx('configmap-list.yaml'), fx('tree', 'sub')], diags);
  assert.deepEqual(diags.items, []);
  assert.deepEqual(refs(objects), [
    'v1 ConfigMap/default/one',
    'v1 ConfigMap/other/two',
    'v1 Service/shop/web',
    'v1 Namespace//shop',
    'discovery.k8s.io/v1 EndpointSlice/shop/web-abc',
  ]);
  assert.deepEqual(objects[0]!.body.data, { k: 'v' });
  const again = loadManifests([fx('configmap-list.yaml'), fx('tree', 'sub')], new Diagnostics());
  assert.deepEqual(refs(again), refs(objects));
});

test('the same directory twice: every object is a duplicate the second time', () => {
  const diags = new Diagnostics();
  const objects = loadManifests([fx('tree', 'sub'), fx('tree', 'sub')], diags);
  assert.equal(objects.length, 3);
  assert.deepEqual(
    diags.items.map((d) => d.code),
    ['E_DUPLICATE_OBJECT', 'E_DUPLICATE_OBJECT', 'E_DUPLICATE_OBJECT'],
  );
});

test('missing paths and empty directories are diagnosed, not thrown', () => {
  const diags = new Diagnostics();
  const objects = loadManifests([fx('no-such-file.yaml'), fx('tree', 'empty')], diags);
  assert.deepEqual(objects, []);
  assert.deepEqual(
    diags.items.map((d) => [d.code, d.severity]),
    [
      ['E_SOURCE_READ', 'error'],
      ['W_NO_MANIFESTS', 'warning'],
    ],
  );
  assert.match(diags.items[0]!.message, /no-such-file\.yaml: no such file or directory/);
});

test('hostile input never throws', () => {
  const bomb = [
    'a: &a [x, x, x, x, x, x, x, x, x]',
    ...Array.from(
      { length: 8 },
      (_, i) =>
        `${String.fromCharCode(98 + i)}: &${String.fromCharCode(98 + i)} [*${String.fromCharCode(97 + i)}, *${String.fromCharCode(97 + i)}, *${String.fromCharCode(97 + i)}, *${String.fromCharCode(97 + i)}, *${String.fromCharCode(97 + i)}, *${String.fromCharCode(97 + i)}, *${String.fromCharCode(97 + i)}, *${String.fromCharCode(97 + i)}, *${String.fromCharCode(97 + i)}]`,
    ),
  ].join('\n');
  const inputs = [
    bomb,
    '{"a": 1}{"b": 2}',
    ']',
    ': :',
    '!!binary "x"',
    'apiVersion: v1\nkind: List\nitems: *x\n',
    'apiVersion: v1\nkind: Service\nmetadata: {name: s, labels: {__proto__: x}}\n',
    '%YAML 1.2\n',
    '\u0000\u0001',
  ];
  for (const text of inputs) {
    const diags = new Diagnostics();
    assert.doesNotThrow(() => loadManifests([{ name: 'h.yaml', text }], diags), text);
  }
  const { objects } = load('apiVersion: v1\nkind: Service\nmetadata: {name: s, labels: {__proto__: x}}\n');
  assert.equal(Object.getPrototypeOf(objects[0]!.metadata.labels), Object.prototype);
});

test('explicit YAML tags: a W_YAML warning, and bodies stay plain JSON', () => {
  const { objects, diags } = load(
    'apiVersion: v1\nkind: Service\nmetadata: {name: s}\nspec: {a: !!binary aGk=, b: !!timestamp 2001-12-14, c: !custom x}\n',
  );
  assert.deepEqual(objects[0]!.body.spec, { a: 'aGk=', b: '2001-12-14', c: 'x' });
  assert.deepEqual(
    diags.items.map((d) => [d.code, d.severity, d.line, d.column]),
    [
      ['W_YAML', 'warning', 4, 11],
      ['W_YAML', 'warning', 4, 29],
      ['W_YAML', 'warning', 4, 56],
    ],
  );
});
