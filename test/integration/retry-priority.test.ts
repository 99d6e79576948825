import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { Proxy } from '../../src/dataplane/proxy.js';
import { retryPolicyDefaults } from '../../src/ir/index.js';
import { clusterDefaults } from '../../src/ir/builders.js';
import { config, route } from '../helpers/ir.js';
import { h1Backend, h1Request } from '../helpers/backends.js';

// P0 always fails; P1 answers.
const p0 = await h1Backend((_req, res) => {
  res.writeHead(503);
  res.end('p0');
});
const p1 = await h1Backend((_req, res) => res.end('p1'));
after(async () => {
  await Promise.all([p0.close(), p1.close()]);
});

const backend = clusterDefaults('backend', [
  { address: '127.0.0.1', port: p0.port, weight: 1, priority: 0 },
  { address: '127.0.0.1', port: p1.port, weight: 1, priority: 1 },
]);

async function run(retryPriority: boolean): Promise<string> {
  const retry = {
    ...retryPolicyDefaults(['5xx']),
    ...(retryPriority ? { retryPriority: { kind: 'previous-priorities' as const, updateFrequency: 1 } } : {}),
  };
  const proxy = await Proxy.start(config([route('all', { retry })], [backend]));
  try {
    return (await h1Request(proxy.port('main'), { path: '/' })).body.toString();
  } finally {
    await proxy.close();
  }
}

test('previous_priorities (retryRemoteLocalities): the retry goes to the next priority', async () => {
  assert.equal(await run(true), 'p1');
});

test('without it the retry stays on the healthy-looking P0', async () => {
  assert.equal(await run(false), 'p0');
});
