// `legate analyze` as users run it: a child process, text and JSON, exit codes.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { RULES } from '../../src/analyze/registry.js';

const root = fileURLToPath(new URL('../../../', import.meta.url));
const legate = (...args: string[]) => spawnSync(process.execPath, ['bin/legate.js', 'analyze', ...args], { cwd: root, encoding: 'utf8' });

test('text: findings grouped by object with file:line, a summary, exit 1 for an error finding', () => {
  const r = legate('-f', 'examples/analyze/pitfalls.yaml');
  assert.equal(r.status, 1, r.stderr);
  assert.match(r.stdout, /^Deployment\/default\/orders \(examples\/analyze\/pitfalls\.yaml:35:1\)$/m);
  assert.match(
    r.stdout,
    /^ {2}examples\/analyze\/pitfalls\.yaml:72:11: error A_BACKEND_NOT_FOUND \[spec\.rules\[0\]\.backendRefs\[1\]\]$/m,
  );
  assert.match(r.stdout, /^ {4}fix: /m);
  assert.match(r.stdout, /^1 error, 16 warnings, 2 info$/m);
  // The example shows every rule (docs/analyze.md says so).
  for (const { code } of RULES) assert.match(r.stdout, new RegExp(` ${code} `), code);
});

test('json: findings with involved settings and counts; exit 0 without error findings', () => {
  const r = legate('-f', 'examples/grpc-retry/grpc-routing.yaml', '-o', 'json');
  assert.equal(r.status, 0, r.stderr);
  const out = JSON.parse(r.stdout) as {
    findings: { code: string; file: string; line: number; involves: { setting: string; default?: string }[] }[];
    counts: Record<string, number>;
  };
  assert.deepEqual(out.counts, { error: 0, warning: 3, info: 0 });
  const cut = out.findings.find((f) => f.code === 'A_ROUTE_TIMEOUT_CUTS_STREAMS')!;
  assert.equal(cut.file, 'examples/grpc-retry/grpc-routing.yaml');
  assert.equal(cut.involves[0]!.default, 'ENVOY_GATEWAY.ROUTE_TIMEOUT_MS (envoy-gateway)');
});

test('exit 2 for an unreadable path or a wrong --output', () => {
  const missing = legate('-f', 'examples/analyze/nope.yaml');
  assert.equal(missing.status, 2);
  assert.match(missing.stderr, /E_SOURCE_READ/);
  const wrong = legate('-f', 'examples/analyze/pitfalls.yaml', '-o', 'xml');
  assert.equal(wrong.status, 2);
  assert.match(wrong.stderr, /--output must be "text" or "json"/);
});
