import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type * as ir from '../ir/index.js';
import { ManifestReloader, type ConfigTarget } from './reload.js';

const GATEWAY = `apiVersion: gateway.networking.k8s.io/v1
kind: GatewayClass
metadata: { name: legate }
spec: { controllerName: gateway.envoyproxy.io/gatewayclass-controller }
---
apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: { name: web }
spec:
  gatewayClassName: legate
  listeners: [{ name: http, protocol: HTTP, port: 8080 }]
---
apiVersion: v1
kind: Service
metadata: { name: one }
spec: { ports: [{ name: http, port: 80 }] }
---
apiVersion: v1
kind: Service
metadata: { name: two }
spec: { ports: [{ name: http, port: 80 }] }
`;

const route = (name: string, path: string, backend = 'one') => `apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: { name: ${name} }
spec:
  parentRefs: [{ name: web }]
  rules:
    - matches: [{ path: { type: PathPrefix, value: ${path} } }]
      backendRefs: [{ name: ${backend}, port: 80 }]
`;

/** Applies what it is given, or refuses while `refuse` is set, as Proxy does. */
class RecordingTarget implements ConfigTarget {
  applied: ir.Config[] = [];
  refuse: string | undefined;
  async apply(config: ir.Config): Promise<void> {
    if (this.refuse) throw new Error(this.refuse);
    this.applied.push(structuredClone(config));
  }
  get last(): ir.Config {
    return this.applied[this.applied.length - 1]!;
  }
}

/** Route name -> path prefix -> backend cluster, from the last applied IR. */
function routes(c: ir.Config): string[] {
  const out: string[] = [];
  for (const l of c.listeners)
    for (const vh of l.virtualHosts)
      for (const r of vh.routes) {
        const m = r.match.path;
        const to = r.action.kind === 'forward' ? r.action.clusters.map((x) => x.cluster).join(',') : r.action.kind;
        out.push(`${m?.kind}:${m?.value} -> ${to}`);
      }
  return out.sort();
}

function setup() {
  const dir = mkdtempSync(join(tmpdir(), 'legate-reload-unit-'));
  const write = (name: string, text: string) => writeFileSync(join(dir, name), text);
  write('gateway.yaml', GATEWAY);
  write('routes.yaml', route('a', '/a') + '---\n' + route('b', '/b'));
  const target = new RecordingTarget();
  const reloader = new ManifestReloader({ sources: [dir], target, watch: false });
  return { dir, write, target, reloader, done: () => rmSync(dir, { recursive: true, force: true }) };
}

test('initial load applies every valid object and numbers the result', async () => {
  const s = setup();
  try {
    const r = await s.reloader.start();
    assert.equal(r.version, 1);
    assert.equal(r.configVersion, '1');
    assert.equal(r.trigger, 'initial');
    assert.ok(r.applied);
    assert.equal(r.objects.total, 6);
    assert.equal(r.objects.added.length, 6);
    assert.deepEqual(routes(s.target.last), ['prefix:/a -> default/one:80', 'prefix:/b -> default/one:80']);
    assert.equal(s.target.last.version, '1');
    assert.equal(s.reloader.lastResult, r);
    assert.equal(s.reloader.current!.objects.length, 6);
  } finally {
    s.done();
  }
});

test('a file that no longer parses keeps its last good content and says where it broke', async () => {
  const s = setup();
  try {
    await s.reloader.start();
    s.write('routes.yaml', route('a', '/a') + '---\n' + route('b', '/b') + 'bad: [unclosed\n');
    const r = await s.reloader.reloadNow();
    assert.ok(r.applied);
    assert.deepEqual(r.changedFiles, [join(s.dir, 'routes.yaml')]);
    assert.equal(r.keptFiles.length, 1);
    assert.equal(r.keptFiles[0]!.file, join(s.dir, 'routes.yaml'));
    const syntax = r.diagnostics.find((d) => d.code === 'E_YAML_SYNTAX')!;
    assert.equal(syntax.file, join(s.dir, 'routes.yaml'));
    assert.ok(syntax.line! >= 17, `line ${syntax.line}`);
    assert.ok(r.diagnostics.some((d) => d.code === 'W_KEPT_LAST_GOOD_FILE'));
    assert.deepEqual(r.objects, { added: [], updated: [], removed: [], total: 6 });
    assert.deepEqual(routes(s.target.last), ['prefix:/a -> default/one:80', 'prefix:/b -> default/one:80']);

    // Fixed: the new content applies.
    s.write('routes.yaml', route('a', '/a') + '---\n' + route('b', '/bee'));
    const fixed = await s.reloader.reloadNow();
    assert.deepEqual(fixed.keptFiles, []);
    assert.deepEqual(fixed.objects.updated, ['HTTPRoute/default/b']);
    assert.deepEqual(routes(s.target.last), ['prefix:/a -> default/one:80', 'prefix:/bee -> default/one:80']);
  } finally {
    s.done();
  }
});

test('a changed object with errors keeps its previous version; the other change in the same save applies', async () => {
  const s = setup();
  try {
    await s.reloader.start();
    // a: path without a leading "/" (the API server rejects it); b: a valid move to service two.
    s.write('routes.yaml', route('a', 'nope') + '---\n' + route('b', '/b', 'two'));
    const r = await s.reloader.reloadNow();
    assert.ok(r.applied);
    assert.deepEqual(
      r.kept.map((k) => k.object),
      ['HTTPRoute/default/a'],
    );
    assert.match(r.kept[0]!.reason, /absolute path/);
    assert.match(r.kept[0]!.reason, /routes\.yaml:\d+ spec\.rules\[0\]\.matches\[0\]\.path\.value/);
    assert.deepEqual(r.objects.updated, ['HTTPRoute/default/b']);
    const note = r.diagnostics.find((d) => d.code === 'W_KEPT_PREVIOUS_VERSION')!;
    assert.match(note.message, /^kept previous version of HTTPRoute\/default\/a because: /);
    assert.ok(r.diagnostics.some((d) => d.severity === 'error' && d.object === 'HTTPRoute/default/a'));
    assert.deepEqual(routes(s.target.last), ['prefix:/a -> default/one:80', 'prefix:/b -> default/two:80']);

    // A later reload still keeps it, and fixing it applies the new version.
    assert.equal((await s.reloader.reloadNow()).kept.length, 1);
    s.write('routes.yaml', route('a', '/a2') + '---\n' + route('b', '/b', 'two'));
    const fixed = await s.reloader.reloadNow();
    assert.deepEqual(fixed.kept, []);
    assert.deepEqual(routes(s.target.last), ['prefix:/a2 -> default/one:80', 'prefix:/b -> default/two:80']);
  } finally {
    s.done();
  }
});

test('a new object with errors is left out; a new file is picked up; a deleted file removes its objects', async () => {
  const s = setup();
  try {
    await s.reloader.start();
    s.write('more.yaml', route('c', '/c') + '---\n' + route('d', 'bad'));
    const r = await s.reloader.reloadNow();
    assert.deepEqual(r.objects.added, ['HTTPRoute/default/c']);
    assert.deepEqual(
      r.rejected.map((k) => k.object),
      ['HTTPRoute/default/d'],
    );
    assert.ok(r.diagnostics.some((d) => d.code === 'W_OBJECT_REJECTED' && d.object === 'HTTPRoute/default/d'));
    assert.equal(routes(s.target.last).length, 3);

    unlinkSync(join(s.dir, 'more.yaml'));
    const gone = await s.reloader.reloadNow();
    assert.deepEqual(gone.objects.removed, ['HTTPRoute/default/c']);
    assert.deepEqual(gone.changedFiles, [join(s.dir, 'more.yaml')]);
    assert.equal(routes(s.target.last).length, 2);
  } finally {
    s.done();
  }
});

test('an object that breaks because another one was left out is not served; it returns when that one is fixed', async () => {
  const s = setup();
  try {
    await s.reloader.start();
    // A second Gateway whose class does not exist yet (an error on the Gateway), and a route on it.
    const gw2 = `apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: { name: other }
spec:
  gatewayClassName: later
  listeners: [{ name: http, protocol: HTTP, port: 9090 }]
`;
    s.write('other.yaml', gw2);
    const r = await s.reloader.reloadNow();
    assert.deepEqual(
      r.rejected.map((k) => k.object),
      ['Gateway/default/other'],
    );
    assert.equal(s.target.last.listeners.length, 1);
    s.write(
      'other.yaml',
      gw2 + '---\napiVersion: gateway.networking.k8s.io/v1\nkind: GatewayClass\nmetadata: { name: later }\nspec: { controllerName: x/y }\n',
    );
    const ok = await s.reloader.reloadNow();
    assert.deepEqual(ok.rejected, []);
    assert.equal(s.target.last.listeners.length, 2);
  } finally {
    s.done();
  }
});

test('a config the target refuses keeps the running one and is tried again on the next reload', async () => {
  const s = setup();
  try {
    await s.reloader.start();
    s.write('routes.yaml', route('a', '/x'));
    s.target.refuse = 'cannot bind 0.0.0.0:8080: address in use';
    const r = await s.reloader.reloadNow();
    assert.equal(r.applied, false);
    assert.equal(r.error, 'cannot bind 0.0.0.0:8080: address in use');
    assert.equal(r.configVersion, '1');
    assert.equal(s.target.applied.length, 1);
    assert.equal(s.reloader.current!.configVersion, '1');

    s.target.refuse = undefined;
    const again = await s.reloader.reloadNow();
    assert.ok(again.applied);
    assert.equal(again.configVersion, '2');
    assert.deepEqual(again.changedFiles, [join(s.dir, 'routes.yaml')], 'still a change against what runs');
    assert.deepEqual(again.objects.removed, ['HTTPRoute/default/b']);
    assert.deepEqual(routes(s.target.last), ['prefix:/x -> default/one:80']);
  } finally {
    s.done();
  }
});

test('fixed texts (stdin) are parsed once and served with the files; prepare adjusts the IR', async () => {
  const s = setup();
  try {
    const target = new RecordingTarget();
    const reloader = new ManifestReloader({
      sources: [join(s.dir, 'gateway.yaml'), { name: '<stdin>', text: route('s', '/s') }],
      target,
      watch: false,
      prepare: (c) => ({ ...c, listeners: c.listeners.map((l) => ({ ...l, port: 0 })) }),
    });
    const r = await reloader.start();
    assert.equal(r.objects.total, 5);
    assert.deepEqual(routes(target.last), ['prefix:/s -> default/one:80']);
    assert.equal(target.last.listeners[0]!.port, 0);
    await reloader.close();
  } finally {
    s.done();
  }
});
