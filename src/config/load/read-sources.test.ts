import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Readable } from 'node:stream';
import { Diagnostics } from '../model.js';
import { loadManifests } from './load-manifests.js';
import { readSources, STDIN_NAME } from './read-sources.js';

test('readSources: "-" becomes stdin once, in place; paths pass through', async () => {
  const stdin = Readable.from([Buffer.from('apiVersion: v1\nkind: Ser'), 'vice\nmetadata:\n  name: from-stdin\n']);
  const sources = await readSources(['a.yaml', '-', 'dir', '-'], stdin);
  assert.deepEqual(sources, [
    'a.yaml',
    { name: STDIN_NAME, text: 'apiVersion: v1\nkind: Service\nmetadata:\n  name: from-stdin\n' },
    'dir',
  ]);
});

test('readSources without "-" never touches stdin', async () => {
  const stdin = {
    [Symbol.asyncIterator](): AsyncIterator<string> {
      throw new Error('stdin read');
    },
  };
  assert.deepEqual(await readSources(['x.yaml'], stdin), ['x.yaml']);
});

test('a stdin source loads with <stdin> positions', async () => {
  const [source] = await readSources(
    ['-'],
    Readable.from(['apiVersion: v1\nkind: Service\nmetadata:\n  name: s\nspec:\n  ports: [{port: 80}]\n']),
  );
  const diags = new Diagnostics();
  const [o] = loadManifests([source!], diags);
  assert.deepEqual(diags.items, []);
  assert.deepEqual(o!.pos, { file: '<stdin>', line: 1, column: 1 });
  assert.deepEqual(o!.posOf(['spec', 'ports', 0, 'port']), { file: '<stdin>', line: 6, column: 18 });
});
