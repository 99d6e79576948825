import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseMethodName } from './grpc-method.js';

test('method names: slash or dot before the method, optional leading slash or dot, services without a package', () => {
  const svc = { service: 'pkg.sub.Service', method: 'Method' };
  assert.deepEqual(parseMethodName('pkg.sub.Service/Method'), svc);
  assert.deepEqual(parseMethodName('pkg.sub.Service.Method'), svc);
  assert.deepEqual(parseMethodName('/pkg.sub.Service/Method'), svc);
  assert.deepEqual(parseMethodName('.pkg.sub.Service.Method'), svc);
  assert.deepEqual(parseMethodName('FakeService.Handle'), { service: 'FakeService', method: 'Handle' });
  assert.deepEqual(parseMethodName('FakeService/Handle'), { service: 'FakeService', method: 'Handle' });
  for (const bad of ['Handle', 'Svc/', '/Handle', 'a b.C', 'Svc.Method/'])
    assert.throws(() => parseMethodName(bad), /not a gRPC method/, bad);
});
