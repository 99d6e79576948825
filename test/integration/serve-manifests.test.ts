import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { serveManifests } from '../../src/cli/serve-manifests.js';
import { closedPort, h1Backend, h1Request } from '../helpers/backends.js';

// `legate serve -f DIR`, in process: what it prints at start and on each reload, and when it gives up.

const named = (name: string) =>
  h1Backend((_req, res) => {
    res.writeHead(200);
    res.end(name);
  });
const [a, b] = await Promise.all([named('A'), named('B')]);
after(() => Promise.all([a.close(), b.close()]));

const manifest = (port: number, backendPort: number, path = '/') => `apiVersion: gateway.networking.k8s.io/v1
kind: GatewayClass
metadata: { name: legate }
spec: { controllerName: gateway.envoyproxy.io/gatewayclass-controller }
---
apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: { name: web }
spec:
  gatewayClassName: legate
  listeners: [{ name: http, protocol: HTTP, port: ${port} }]
---
apiVersion: v1
kind: Service
metadata: { name: echo }
spec: { ports: [{ name: http, port: 80 }] }
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata: { name: echo-1, labels: { kubernetes.io/service-name: echo } }
addressType: IPv4
ports: [{ name: http, port: ${backendPort} }]
endpoints: [{ addresses: ["127.0.0.1"] }]
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: { name: web }
spec:
  parentRefs: [{ name: web }]
  rules:
    - matches: [{ path: { type: PathPrefix, value: ${path} } }]
      backendRefs: [{ name: echo, port: 80 }]
`;

function capture() {
  const out = { stdout: '', stderr: '' };
  return {
    out,
    sink: { stdout: (s: string) => void (out.stdout += s), stderr: (s: string) => void (out.stderr += s) },
    /** Waits (bounded) until stdout matches. */
    async until(re: RegExp, timeoutMs = 5000): Promise<void> {
      const deadline = Date.now() + timeoutMs;
      while (!re.test(out.stdout)) {
        if (Date.now() > deadline) throw new Error(`stdout never matched ${re}:\n${out.stdout}\n${out.stderr}`);
        await new Promise((r) => setTimeout(r, 10));
      }
    },
  };
}

test('serve -f prints its listeners, reloads on change and prints a summary line with the new diagnostics', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'legate-serve-'));
  const port = await closedPort();
  writeFileSync(join(dir, 'all.yaml'), manifest(port, a.port));
  const c = capture();
  let stop: () => void = () => {};
  const running = serveManifests({ filename: [dir], watch: true, accessLogFormat: 'text' }, new Promise((r) => (stop = r)), c.sink);
  try {
    await c.until(/watching /);
    assert.match(c.out.stdout, /^initial load: config 1 applied: 5 objects/m);
    assert.match(c.out.stdout, new RegExp(`^listening http-${port} 0\\.0\\.0\\.0:${port}$`, 'm'));
    assert.equal((await h1Request(port, { path: '/' })).body.toString(), 'A');

    writeFileSync(join(dir, 'all.yaml'), manifest(port, b.port));
    await c.until(/^reload 2: config 2 applied/m);
    assert.match(c.out.stdout, /1 updated \(EndpointSlice\/default\/echo-1\)/);
    assert.equal((await h1Request(port, { path: '/' })).body.toString(), 'B');

    writeFileSync(join(dir, 'all.yaml'), manifest(port, a.port, 'relative'));
    await c.until(/^reload 3: /m);
    assert.match(c.out.stdout, /1 kept \(HTTPRoute\/default\/web\)/);
    assert.match(c.out.stderr, /all\.yaml:\d+:\d+: error E_GWAPI_INVALID: .*absolute path/);
    assert.match(c.out.stderr, /warning W_KEPT_PREVIOUS_VERSION: kept previous version of HTTPRoute\/default\/web because: /);
    assert.equal((await h1Request(port, { path: '/' })).body.toString(), 'A', 'the EndpointSlice change applied');
  } finally {
    stop();
    assert.equal(await running, 0);
    rmSync(dir, { recursive: true, force: true });
  }
});

test('serve -f exits 1 when nothing can run, after printing why', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'legate-serve-'));
  writeFileSync(join(dir, 'route.yaml'), 'kind: HTTPRoute\nmetadata: { name: x }\n');
  const c = capture();
  try {
    const code = await serveManifests({ filename: [dir], watch: true, accessLogFormat: 'text' }, undefined, c.sink);
    assert.equal(code, 1);
    assert.match(
      c.out.stderr,
      /route\.yaml:1:1: error E_OBJECT_INVALID: HTTPRoute "x" in the document is not a valid object: apiVersion is missing/,
    );
    assert.match(c.out.stderr, /nothing to serve/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
