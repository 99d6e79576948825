// Runs every compiled test file (dist/**/*.test.js) with node:test.
// Node 20's runner takes no globs, so the files are listed here.
import { spawn } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';

function find(dir, out) {
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) find(p, out);
    // Skip stale output of a test whose source was moved or deleted (tsc never removes files).
    else if (name.endsWith('.test.js') && existsSync(p.slice('dist/'.length).replace(/\.js$/, '.ts'))) out.push(p);
  }
  return out;
}

const filter = process.argv.slice(2);
let files = [...find('dist/src', []), ...find('dist/test', [])].sort();
if (filter.length > 0) files = files.filter((f) => filter.some((x) => f.includes(x)));
if (files.length === 0) {
  console.error('run-tests: no test files found under dist/ (did the build run?)');
  process.exit(1);
}
const child = spawn(
  process.execPath,
  ['--test', '--test-concurrency=2', '--test-timeout=120000', ...files],
  { stdio: 'inherit' },
);
child.on('exit', (code, signal) => process.exit(signal ? 1 : (code ?? 1)));
