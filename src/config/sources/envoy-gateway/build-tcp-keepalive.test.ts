import { test } from 'node:test';
import assert from 'node:assert/strict';
import { buildTcpKeepalive } from './build-tcp-keepalive.js';
import { buildConnection, formatQuantity, parseQuantity } from './build-connection.js';
import { btp, codes, run } from './test-fixtures.js';

const cases: [string, object, string[]][] = [
  ['tcpKeepalive: {}', { probes: 9, timeSec: 7200, intervalSec: 75 }, []],
  ['tcpKeepalive:\n  probes: 3\n  idleTime: 20m\n  interval: 60s', { probes: 3, timeSec: 1200, intervalSec: 60 }, []],
  ['tcpKeepalive:\n  idleTime: 1500ms', { probes: 9, timeSec: 1, intervalSec: 75 }, ['W_EG_NO_EFFECT spec.tcpKeepalive.idleTime']],
];
for (const [spec, want, diags] of cases) {
  test(`buildTcpKeepalive: ${spec.replace(/\n/g, ' ')}`, () => {
    const { value, diags: d } = run(buildTcpKeepalive, btp(spec));
    assert.deepEqual(value!.tcpKeepalive, want);
    assert.deepEqual(codes(d), diags);
  });
}

test('buildTcpKeepalive: origins and errors', () => {
  const { value } = run(buildTcpKeepalive, btp('tcpKeepalive:\n  probes: 3'));
  assert.equal(value!.origin['probes']!.kind, 'manifest');
  assert.deepEqual(value!.origin['timeSec'], {
    kind: 'default',
    dialect: 'envoy-gateway',
    name: 'ENVOY_GATEWAY.TCP_KEEPALIVE_IDLE_TIME_S',
  });
  const bad = run(buildTcpKeepalive, btp('tcpKeepalive:\n  interval: 1d'));
  assert.equal(bad.value, undefined);
  assert.deepEqual(codes(bad.diags), ['E_EG_TCP_KEEPALIVE_INVALID spec.tcpKeepalive.interval']);
  assert.equal(bad.diags.items[0]!.message, 'invalid Interval value 1d');
  assert.equal(run(buildTcpKeepalive, btp('retry: {}')).value, undefined);
});

test('buildConnection: buffer limits as Kubernetes quantities', () => {
  assert.equal(run(buildConnection, btp('connection:\n  bufferLimit: 100M')).value!.bufferLimitBytes, 100_000_000);
  assert.equal(run(buildConnection, btp('connection:\n  bufferLimit: 32Ki')).value!.bufferLimitBytes, 32_768);
  const milli = run(buildConnection, btp('connection:\n  bufferLimit: 100m'));
  assert.equal(milli.value, undefined);
  assert.equal(milli.diags.items[0]!.message, 'invalid BufferLimit value 100m');
  const big = run(buildConnection, btp('connection:\n  bufferLimit: 1000G'));
  assert.equal(big.diags.items[0]!.message, 'BufferLimit value 1T is out of range', 'canonical quantity text, as Envoy Gateway prints it');
});

test('quantities: parse and canonical text', () => {
  const canon = (s: string) => formatQuantity(parseQuantity(s)!);
  assert.deepEqual(['1000G', '100M', '1500M', '2048Ki', '1536Ki', '0.5Ki', '100m', '1e3', '1000', '0'].map(canon), [
    '1T',
    '100M',
    '1500M',
    '2Mi',
    '1536Ki',
    '512',
    '100m',
    '1e3',
    '1k',
    '0',
  ]);
  assert.equal(parseQuantity('12 apples'), undefined);
});
