// Every IR file under examples/ loads and validates with `legate check` (hand-written IR may leave
// listener limits out; they take the defaults).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';

const root = path.resolve(import.meta.dirname, '../../..');
const files = fs
  .readdirSync(path.join(root, 'examples'))
  .map((d) => path.join(root, 'examples', d, 'ir.json'))
  .filter((f) => fs.existsSync(f));

test('examples/*/ir.json pass legate check', () => {
  assert.ok(files.length >= 4, `found ${files.length} IR examples`);
  for (const f of files) {
    const r = spawnSync(process.execPath, [path.join(root, 'bin/legate.js'), 'check', '--ir', f], { encoding: 'utf8' });
    assert.equal(r.status, 0, `${path.relative(root, f)}: ${r.stdout}${r.stderr}`);
  }
});

test('legate check --ir names a missing field of a listener that is not a limit', () => {
  const dir = fs.mkdtempSync(path.join(root, 'dist', 'ir-check-'));
  const f = path.join(dir, 'ir.json');
  fs.writeFileSync(
    f,
    JSON.stringify({ version: '1', listeners: [{ name: 'l', address: '127.0.0.1', port: 99999, virtualHosts: [] }], clusters: [] }),
  );
  const r = spawnSync(process.execPath, [path.join(root, 'bin/legate.js'), 'check', '--ir', f], { encoding: 'utf8' });
  fs.rmSync(dir, { recursive: true, force: true });
  assert.equal(r.status, 1);
  assert.match(r.stdout + r.stderr, /port 99999 is not in 0-65535/);
});
