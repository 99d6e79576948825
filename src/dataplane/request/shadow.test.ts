import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { PassThrough, type Readable } from 'node:stream';
import { shadowHost } from './shadow.js';
import { ReplayBody } from './replay-body.js';

const read = (r: Readable) =>
  new Promise<string>((resolve, reject) => {
    const chunks: Buffer[] = [];
    r.on('data', (c: Buffer) => chunks.push(c));
    r.on('end', () => resolve(Buffer.concat(chunks).toString()));
    r.on('error', reject);
  });

describe('shadowHost', () => {
  const cases: [string, string][] = [
    ['foo', 'foo-shadow'],
    ['foo.example:8080', 'foo.example-shadow:8080'],
    ['[::1]:80', '[::1]-shadow:80'],
    ['[::1]', '[::1]-shadow'],
  ];
  for (const [authority, want] of cases) it(`${authority} -> ${want}`, () => assert.equal(shadowHost(authority), want));
});

describe('ReplayBody.tee', () => {
  it('copies what the attempt reads, end included, without pulling the body itself', async () => {
    const src = new PassThrough();
    const body = new ReplayBody(src, 0, () => {}, null);
    const copy = body.tee(1024)!;
    src.write('ab');
    src.end('cd');
    await new Promise((r) => setImmediate(r));
    assert.equal(copy.readableLength, 0, 'nothing flows before an attempt reads');
    const [main, mirrored] = await Promise.all([read(body.reader()), read(copy)]);
    assert.deepEqual([main, mirrored], ['abcd', 'abcd']);
  });

  it('drops a copy that falls more than its limit behind', async () => {
    const src = new PassThrough();
    const body = new ReplayBody(src, 0, () => {}, null);
    const copy = body.tee(3)!;
    const failed = new Promise<Error>((r) => copy.on('error', r));
    src.end('abcdef');
    assert.equal(await read(body.reader()), 'abcdef');
    assert.match((await failed).message, /fell behind/);
  });

  it('cannot copy once reading began without a kept copy; dropTees ends a copy never fed', async () => {
    const src = new PassThrough();
    const body = new ReplayBody(src, 0, () => {}, null);
    const copy = body.tee(10)!;
    const failed = new Promise<Error>((r) => copy.on('error', r));
    body.dropTees();
    assert.match((await failed).message, /before its body was read/);
    src.end('x');
    await read(body.reader());
    assert.equal(body.tee(10), null);
  });
});
