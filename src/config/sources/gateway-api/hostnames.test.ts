import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { computeHosts, covers, hostnameError, intersectHostname, isolateHosts } from './hostnames.js';

describe('computeHosts: listener ∩ route (config-apis.md 1.5)', () => {
  const rows: { name: string; listener?: string; route: string[]; want: string[] }[] = [
    { name: 'none and none -> everything', route: [], want: ['*'] },
    { name: 'listener only -> the listener name', listener: 'a.example.com', route: [], want: ['a.example.com'] },
    { name: 'route only -> every route name', route: ['b.example.com', 'a.example.com'], want: ['a.example.com', 'b.example.com'] },
    {
      name: 'exact listener: equal and covering wildcard keep the listener name, others drop',
      listener: 'a.example.com',
      route: ['a.example.com', '*.example.com', 'b.example.com'],
      want: ['a.example.com'],
    },
    {
      name: 'wildcard listener keeps the names it covers, never the bare suffix',
      listener: '*.example.com',
      route: ['foo.example.com', 'a.b.example.com', 'example.com', 'x.example.net'],
      want: ['a.b.example.com', 'foo.example.com'],
    },
    {
      name: 'wildcard listener, wider route wildcard -> the listener wildcard',
      listener: '*.example.com',
      route: ['*.com'],
      want: ['*.example.com'],
    },
    {
      name: 'wider listener wildcard, narrower route wildcard -> the route wildcard',
      listener: '*.com',
      route: ['*.example.com'],
      want: ['*.example.com'],
    },
    { name: 'nothing intersects -> empty', listener: 'a.example.com', route: ['b.example.com', '*.example.net'], want: [] },
    { name: 'duplicates collapse', listener: 'a.example.com', route: ['a.example.com', '*.example.com'], want: ['a.example.com'] },
  ];
  for (const row of rows) it(row.name, () => assert.deepEqual(computeHosts(row.route, row.listener), row.want));
});

describe('covers and intersectHostname', () => {
  it('a wildcard covers one or more labels, and narrower wildcards', () => {
    assert.equal(covers('*.example.com', 'a.example.com'), true);
    assert.equal(covers('*.example.com', 'a.b.example.com'), true);
    assert.equal(covers('*.example.com', '*.a.example.com'), true);
    assert.equal(covers('*.example.com', 'example.com'), false);
    assert.equal(covers('*.example.com', 'aexample.com'), false);
    assert.equal(covers('a.example.com', 'a.example.com'), true);
    assert.equal(covers('a.example.com', 'b.example.com'), false);
  });
  it('an absent listener host name accepts anything', () => assert.equal(intersectHostname(undefined, '*.x.io'), '*.x.io'));
});

describe('isolateHosts: listener isolation', () => {
  const siblings = [undefined, '*.example.com', '*.foo.example.com', 'abc.foo.example.com'];
  it('the catch-all listener loses every name a more specific sibling serves', () =>
    assert.deepEqual(isolateHosts(['bar.com', '*.example.com', '*.foo.example.com', 'abc.foo.example.com'], undefined, siblings), [
      'bar.com',
    ]));
  it('a wildcard listener loses what narrower siblings serve', () =>
    assert.deepEqual(
      isolateHosts(['*.example.com', '*.foo.example.com', 'abc.foo.example.com', 'x.example.com'], '*.example.com', siblings),
      ['*.example.com', 'x.example.com'],
    ));
  it('the most specific listener keeps its own', () =>
    assert.deepEqual(isolateHosts(['abc.foo.example.com'], 'abc.foo.example.com', siblings), ['abc.foo.example.com']));
  it('`*` stays: more specific domains win in the host index anyway', () =>
    assert.deepEqual(isolateHosts(['*'], undefined, siblings), ['*']));
});

describe('hostnameError', () => {
  for (const ok of ['example.com', '*.example.com', 'a-b.c0.io', 'localhost'])
    it(`accepts ${ok}`, () => assert.equal(hostnameError(ok), undefined));
  for (const bad of ['Example.com', '*', 'a.*.com', '1.2.3.4', '-a.com', 'a..com', ''])
    it(`rejects "${bad}"`, () => assert.ok(hostnameError(bad)));
  it('precise host names refuse wildcards', () => assert.ok(hostnameError('*.example.com', true)));
});
