import { test } from 'node:test';
import assert from 'node:assert/strict';
import { emptyResponse, GoPanic } from './response.js';
import { grpcCodeName, parseSetCookie, runWorkers, type UpstreamResult } from './upstream.js';

const result = (uri: string): UpstreamResult => ({ uri, response: emptyResponse(), error: undefined });

test('the worker pool: at most N calls at a time; 0 workers make no call; negative panics', async () => {
  let active = 0;
  let peak = 0;
  const call = async (uri: string) => {
    active++;
    peak = Math.max(peak, active);
    await new Promise((r) => setTimeout(r, 5));
    active--;
    return result(uri);
  };
  const done = await runWorkers(['a', 'b', 'c', 'd'], 2, call);
  assert.deepEqual(done.map((d) => d.uri).sort(), ['a', 'b', 'c', 'd']);
  assert.equal(peak, 2);
  peak = 0;
  await runWorkers(['a', 'b'], 1, call);
  assert.equal(peak, 1);
  assert.deepEqual(await runWorkers(['a'], 0, call), []);
  await assert.rejects(runWorkers(['a'], -1, call), GoPanic);
});

test('Set-Cookie parsing keeps name=value, strips quotes, drops invalid cookies', () => {
  assert.deepEqual(parseSetCookie('session=abc; Path=/; HttpOnly'), ['session', 'abc']);
  assert.deepEqual(parseSetCookie('q="quoted"'), ['q', 'quoted']);
  assert.equal(parseSetCookie('=x'), undefined);
  assert.equal(parseSetCookie('bad name=x'), undefined);
});

test('gRPC code names as grpc-go prints them', () => {
  assert.equal(grpcCodeName(14), 'Unavailable');
  assert.equal(grpcCodeName(500), 'Code(500)');
});
