import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, renameSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ManifestWatcher } from './watch.js';

/** A watcher whose bursts land in a queue; `next` waits (bounded) for the next one. */
async function watching(paths: string[], debounceMs = 50) {
  const bursts: string[][] = [];
  const waiters: (() => void)[] = [];
  const w = new ManifestWatcher(paths, {
    debounceMs,
    onChange: (p) => {
      bursts.push(p);
      waiters.splice(0).forEach((f) => f());
    },
  });
  await w.ready;
  const next = async (timeoutMs = 3000): Promise<string[]> => {
    const deadline = Date.now() + timeoutMs;
    while (bursts.length === 0) {
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`no change reported within ${timeoutMs} ms`);
      await new Promise<void>((r) => {
        const t = setTimeout(r, left);
        waiters.push(() => {
          clearTimeout(t);
          r();
        });
      });
    }
    return bursts.shift()!;
  };
  return { w, bursts, next };
}

function tempDir(): string {
  return mkdtempSync(join(tmpdir(), 'legate-watch-'));
}

test('a directory: new files in new subdirectories, edits, atomic renames and deletions are reported', async () => {
  const dir = tempDir();
  const { w, next } = await watching([dir]);
  try {
    mkdirSync(join(dir, 'sub', 'deeper'), { recursive: true });
    writeFileSync(join(dir, 'sub', 'deeper', 'r.yaml'), 'a: 1\n');
    // A busy machine may report the new directories in a burst of their own first.
    let first = await next();
    while (!first.includes(join(dir, 'sub', 'deeper', 'r.yaml'))) first = await next();

    // An editor's save: write a temp file (dot-named, ignored), rename it over the original.
    writeFileSync(join(dir, 'sub', 'deeper', '.r.yaml.swp'), 'a: 2\n');
    renameSync(join(dir, 'sub', 'deeper', '.r.yaml.swp'), join(dir, 'sub', 'deeper', 'r.yaml'));
    assert.deepEqual(await next(), [join(dir, 'sub', 'deeper', 'r.yaml')]);

    unlinkSync(join(dir, 'sub', 'deeper', 'r.yaml'));
    assert.deepEqual(await next(), [join(dir, 'sub', 'deeper', 'r.yaml')]);
  } finally {
    await w.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a burst of writes is one change; files that are not manifests are not reported', async () => {
  const dir = tempDir();
  const { w, bursts, next } = await watching([dir], 100);
  try {
    writeFileSync(join(dir, 'notes.txt'), 'not a manifest');
    // Written back to back: no timer can fire in between, so the burst is one by construction.
    for (let i = 0; i < 20; i++) writeFileSync(join(dir, 'r.yaml'), `n: ${i}\n`);
    assert.deepEqual(await next(), [join(dir, 'r.yaml')]);
    // Whatever arrives late would be a second burst: another write closes the window to look at.
    writeFileSync(join(dir, 'z.json'), '{}');
    assert.deepEqual(await next(), [join(dir, 'z.json')]);
    assert.equal(bursts.length, 0);
  } finally {
    await w.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a file named explicitly is still watched after it is deleted and written again', async () => {
  const dir = tempDir();
  const file = join(dir, 'gateway.yaml');
  writeFileSync(file, 'a: 1\n');
  writeFileSync(join(dir, 'other.yaml'), 'b: 1\n');
  const { w, next } = await watching([file]);
  try {
    unlinkSync(file);
    assert.deepEqual(await next(), [file]);
    writeFileSync(join(dir, 'other.yaml'), 'b: 2\n'); // a sibling that was not named: not reported
    writeFileSync(file, 'a: 2\n');
    assert.deepEqual(await next(), [file]);
    writeFileSync(join(dir, '.tmp'), 'a: 3\n');
    renameSync(join(dir, '.tmp'), file);
    assert.deepEqual(await next(), [file]);
  } finally {
    await w.close();
    rmSync(dir, { recursive: true, force: true });
  }
});
