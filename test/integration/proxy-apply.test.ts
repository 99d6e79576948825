import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import type { AddressInfo } from 'node:net';
import { Proxy } from '../../src/dataplane/proxy.js';
import { listenerDefaults } from '../../src/ir/index.js';
import type * as ir from '../../src/ir/index.js';
import { config, cluster, route } from '../helpers/ir.js';
import { closedPort, h1Backend, h1Request } from '../helpers/backends.js';

// Proxy.apply as the reloader uses it: what it keeps, what it rebuilds, and that a refused config
// leaves the running one untouched.

const named = (name: string) =>
  h1Backend((_req, res) => {
    res.writeHead(200);
    res.end(name);
  });
const [a, b] = await Promise.all([named('A'), named('B')]);
after(() => Promise.all([a.close(), b.close()]));

const body = async (port: number, path = '/') => (await h1Request(port, { path })).body.toString();

test('endpoint changes keep the live cluster; a pool setting change builds a new one', async () => {
  const base = config([route('r')], [cluster('backend', [a.port])]);
  const proxy = await Proxy.start(base);
  try {
    const first = proxy.cluster('backend')!;
    const hostA = first.hosts[0]!;
    await proxy.apply(config([route('r')], [cluster('backend', [a.port, b.port])]));
    assert.equal(proxy.cluster('backend'), first);
    assert.equal(first.hosts[0], hostA);
    const seen = new Set<string>();
    for (let i = 0; i < 4; i++) seen.add(await body(proxy.port('main')));
    assert.deepEqual([...seen].sort(), ['A', 'B']);

    const c = cluster('backend', [b.port]);
    await proxy.apply(config([route('r')], [{ ...c, pool: { ...c.pool, connectTimeoutMs: 1234 } }]));
    assert.notEqual(proxy.cluster('backend'), first, 'rebuilt');
    assert.equal(await body(proxy.port('main')), 'B');
  } finally {
    await proxy.close();
  }
});

test('a config with a port that cannot be bound is refused and the running one keeps serving', async () => {
  const blocker = net.createServer();
  await new Promise<void>((r) => blocker.listen(0, '127.0.0.1', r));
  const taken = (blocker.address() as AddressInfo).port;
  const proxy = await Proxy.start(config([route('r')], [cluster('backend', [a.port])]));
  try {
    const port = proxy.port('main');
    const first = proxy.cluster('backend')!;
    const next = config([route('r')], [cluster('backend', [b.port])]);
    next.listeners.push({ ...listenerDefaults('second', '127.0.0.1', taken), virtualHosts: next.listeners[0]!.virtualHosts });
    await assert.rejects(proxy.apply(next), { code: 'EADDRINUSE' });
    assert.equal(proxy.port('main'), port);
    assert.equal(proxy.cluster('backend'), first, 'the cluster was not updated');
    assert.deepEqual(
      first.hosts.map((h) => h.port),
      [a.port],
    );
    assert.equal(await body(port), 'A');
    assert.equal(proxy.listener('second'), undefined);
    assert.equal(proxy.config!.clusters[0]!.endpoints[0]!.port, a.port);
  } finally {
    await proxy.close();
    await new Promise<void>((r) => blocker.close(() => r()));
  }
});

test('a listener whose limits change is bound again on the same port; a request in flight on the old socket finishes', async () => {
  let release: () => void = () => {};
  let arrived: () => void = () => {};
  const seen = new Promise<void>((r) => (arrived = r));
  const slow = await h1Backend((_req, res) => {
    arrived();
    release = () => {
      res.writeHead(200);
      res.end('slow');
    };
  });
  const port = await closedPort();
  const at = (c: ir.Config, limits: Partial<ir.Listener['limits']> = {}): ir.Config => {
    const l = c.listeners[0]!;
    return { ...c, listeners: [{ ...l, port, limits: { ...l.limits, ...limits } }] };
  };
  const proxy = await Proxy.start(at(config([route('r', { cluster: 'slow' })], [cluster('slow', [slow.port])])));
  try {
    const inFlight = h1Request(port, { path: '/' });
    await seen;
    const old = proxy.listener('main')!;
    await proxy.apply(at(config([route('r', { cluster: 'a' })], [cluster('a', [a.port])]), { maxHeadersCount: 50 }));
    assert.notEqual(proxy.listener('main'), old, 'a new socket');
    assert.equal(proxy.port('main'), port);
    assert.equal(await body(port), 'A');
    release();
    const r = await inFlight;
    assert.equal(r.status, 200);
    assert.equal(r.body.toString(), 'slow');
  } finally {
    await proxy.close(100);
    await slow.close();
  }
});

test('a closed proxy refuses a new config and binds nothing', async () => {
  const proxy = await Proxy.start(config([route('r')], [cluster('backend', [a.port])]));
  const port = proxy.port('main');
  await proxy.close();
  const again = config([route('r')], [cluster('backend', [a.port])]);
  again.listeners[0]!.port = port;
  await assert.rejects(proxy.apply(again), /the proxy is closed/);
  assert.equal(proxy.listeners.length, 0);
  // The port is free: nothing listens there any more.
  const probe = net.createServer();
  await new Promise<void>((resolve, reject) => {
    probe.once('error', reject);
    probe.listen(port, '127.0.0.1', resolve);
  });
  await new Promise<void>((r) => probe.close(() => r()));
});
