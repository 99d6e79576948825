/**
 * What the CLI prints, as users run it (child processes): a reader that goes away
 * (`legate validate -f DIR | head -1`) ends the command quietly as it ends a Unix tool, and
 * cluster-scoped objects are named `Kind/name` in diagnostics.
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Proxy } from '../../src/dataplane/proxy.js';
import { AdminServer } from '../../src/admin/admin-server.js';
import { freePort } from '../../src/runtime/supervisor.js';
import { config, cluster, route } from '../helpers/ir.js';

const root = fileURLToPath(new URL('../../../', import.meta.url));
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'legate-cli-output-'));
after(() => fs.rmSync(dir, { recursive: true, force: true }));

type Exit = { code: number | null; signal: NodeJS.Signals | null; stderr: string };

/**
 * Runs `legate ARGS` with its standard output closed before it writes anything (the reader is
 * gone, as `head` is once it has its lines): every write fails with EPIPE.
 */
function withClosedStdout(args: string[], timeoutMs = 20_000): Promise<Exit> {
  const child = spawn(process.execPath, ['bin/legate.js', ...args], { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] });
  child.stdout.destroy();
  let stderr = '';
  child.stderr.setEncoding('utf8').on('data', (s: string) => (stderr += s));
  const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
  return new Promise((resolve) =>
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stderr });
    }),
  );
}

for (const args of [
  ['validate', '-f', 'examples/istio-resilience'],
  ['translate', '-f', 'examples/istio-resilience'],
  ['translate', '-f', 'examples/grpc-retry', '-o', 'json'],
  ['analyze', '-f', 'examples/istio-resilience'],
]) {
  test(`legate ${args.join(' ')} into a closed pipe ends by SIGPIPE, without a stack trace`, async () => {
    const r = await withClosedStdout(args);
    assert.deepEqual(r, { code: null, signal: 'SIGPIPE', stderr: '' });
  });
}

test('legate proxy-config all into a closed pipe ends by SIGPIPE, without a stack trace', async (t) => {
  const proxy = await Proxy.start(config([route('all')], [cluster('backend', [1])]));
  const admin = new AdminServer({ sources: { proxy }, port: 0 });
  await admin.start();
  t.after(async () => {
    await admin.close();
    await proxy.close(100);
  });
  const r = await withClosedStdout(['proxy-config', 'all', '--admin', admin.url]);
  assert.deepEqual(r, { code: null, signal: 'SIGPIPE', stderr: '' });
});

test('legate run into a closed pipe stops as on SIGTERM: exit 0 and its backends stopped', async () => {
  const marker = `epipe-${process.pid}-${Date.now()}`;
  const file = path.join(dir, 'run.yaml');
  fs.writeFileSync(
    file,
    `
apiVersion: gateway.networking.k8s.io/v1
kind: GatewayClass
metadata: { name: eg }
spec: { controllerName: gateway.envoyproxy.io/gatewayclass-controller }
---
apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: { name: gw }
spec:
  gatewayClassName: eg
  listeners: [{ name: http, protocol: HTTP, port: 80 }]
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: { name: web }
spec:
  parentRefs: [{ name: gw }]
  rules: [{ backendRefs: [{ name: web, port: 80 }] }]
---
apiVersion: v1
kind: Service
metadata: { name: web }
spec:
  selector: { app: web }
  ports: [{ port: 80, targetPort: 9090 }]
---
apiVersion: apps/v1
kind: Deployment
metadata: { name: web }
spec:
  selector: { matchLabels: { app: web } }
  template:
    metadata: { labels: { app: web } }
    spec:
      containers:
        - name: web
          image: nicholasjackson/fake-service:v0.26.2
          ports: [{ containerPort: 9090 }]
          env: [{ name: NAME, value: ${marker} }]
`,
  );
  const offset = (await freePort()) - 80;
  const r = await withClosedStdout(['run', '-f', file, '--port-offset', String(offset), '--admin-address', '127.0.0.1:0'], 30_000);
  assert.deepEqual(r, { code: 0, signal: null, stderr: '' });
  assert.deepEqual(processesWithEnv(`NAME=${marker}`), [], 'the fake-service process is gone');
});

/** Pids of this user's processes whose environment has the entry (Linux /proc). */
function processesWithEnv(entry: string): number[] {
  const out: number[] = [];
  for (const name of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      if (fs.readFileSync(`/proc/${name}/environ`, 'utf8').split('\0').includes(entry)) out.push(Number(name));
    } catch {
      // gone, or not ours
    }
  }
  return out;
}

test('a cluster-scoped object is named Kind/name in diagnostics, text and JSON', () => {
  const file = path.join(dir, 'classes.yaml');
  fs.writeFileSync(
    file,
    `apiVersion: gateway.networking.k8s.io/v1
kind: GatewayClass
metadata: { name: broken }
spec: { controllerName: 42 }
---
apiVersion: gateway.networking.k8s.io/v1
kind: GatewayClass
metadata: { name: twice }
spec: { controllerName: gateway.envoyproxy.io/gatewayclass-controller }
---
apiVersion: gateway.networking.k8s.io/v1
kind: GatewayClass
metadata: { name: twice }
spec: { controllerName: gateway.envoyproxy.io/gatewayclass-controller }
`,
  );
  const text = spawnSync(process.execPath, ['bin/legate.js', 'validate', '-f', file], { cwd: root, encoding: 'utf8' });
  assert.equal(text.status, 1, text.stderr);
  assert.match(text.stdout, /E_GWAPI_INVALID: spec\.controllerName must be a string.*\[GatewayClass\/broken spec\.controllerName\]/);
  assert.match(text.stdout, /E_DUPLICATE_OBJECT: GatewayClass\/twice \(gateway\.networking\.k8s\.io\/v1\) is defined twice/);
  assert.doesNotMatch(text.stdout, /GatewayClass\/\//);
  const json = spawnSync(process.execPath, ['bin/legate.js', 'validate', '-f', file, '-o', 'json'], { cwd: root, encoding: 'utf8' });
  const out = JSON.parse(json.stdout) as { diagnostics: { code: string; object?: string }[]; status: { object: string }[] };
  assert.deepEqual(
    out.diagnostics.filter((d) => d.object?.startsWith('GatewayClass')).map((d) => [d.code, d.object]),
    [
      ['E_DUPLICATE_OBJECT', 'GatewayClass/twice'],
      ['E_GWAPI_INVALID', 'GatewayClass/broken'],
    ],
  );
  // Status already named them so: diagnostics and status now agree.
  assert.ok(out.status.some((s) => s.object === 'GatewayClass/twice'));
});

test('an --output a command does not know is a usage error (exit 2), before anything is read', () => {
  for (const [args, message] of [
    [['validate', '-f', 'examples/grpc-retry', '-o', 'xml'], /^legate validate: --output must be "text" or "json", not "xml"\n$/],
    [['translate', '-f', 'examples/grpc-retry', '-o', 'yml'], /^legate translate: --output must be "yaml" or "json", not "yml"\n$/],
    [['check', '--ir', 'examples/hello/ir.json', '--output', 'yaml'], /^legate check: --output must be "text" or "json", not "yaml"\n$/],
  ] as const) {
    const r = spawnSync(process.execPath, ['bin/legate.js', ...args], { cwd: root, encoding: 'utf8' });
    assert.equal(r.status, 2, args.join(' '));
    assert.equal(r.stdout, '');
    assert.match(r.stderr, message);
  }
});
