/**
 * Golden files for translate: every `cases/NAME.in.yaml` is loaded and translated exactly as
 * `legate translate` does, and a stable YAML rendering of {diagnostics, status, policyStatus,
 * config} is compared with `cases/NAME.out.yaml`. `UPDATE_GOLDEN=1` rewrites the outputs instead
 * (review the diff before committing: a golden file that records a bug is worse than none).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { renderGolden, translateGolden } from './render.js';

/** The package root: tests run from dist/, the cases live in the sources. */
function packageRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(dir, 'package.json'))) {
    const up = dirname(dir);
    if (up === dir) throw new Error('package.json not found above the golden test');
    dir = up;
  }
  return dir;
}

const root = packageRoot();
const casesDir = join(root, 'test', 'golden', 'cases');
const update = process.env.UPDATE_GOLDEN === '1';
const cases = readdirSync(casesDir)
  .filter((f) => f.endsWith('.in.yaml'))
  .map((f) => f.slice(0, -'.in.yaml'.length))
  .sort();

test('there are golden cases', () => {
  assert.ok(cases.length >= 40, `${cases.length} cases`);
});

for (const name of cases)
  test(`golden ${name}`, () => {
    const input = join(casesDir, `${name}.in.yaml`);
    const output = join(casesDir, `${name}.out.yaml`);
    // Origins and diagnostics name the file relative to the package root, so outputs are stable.
    const got = renderGolden(translateGolden(`test/golden/cases/${name}.in.yaml`, readFileSync(input, 'utf8')));
    if (update) {
      writeFileSync(output, got);
      return;
    }
    assert.ok(existsSync(output), `${output} is missing: run UPDATE_GOLDEN=1 npm test -- golden`);
    assert.equal(got, readFileSync(output, 'utf8'), `${name}: output differs (UPDATE_GOLDEN=1 npm test -- golden rewrites it)`);
  });
