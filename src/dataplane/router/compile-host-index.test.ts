import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { compileHostIndex, hostOfAuthority, portOfAuthority } from './compile-host-index.js';

describe('compileHostIndex', () => {
  const index = compileHostIndex([
    { domains: ['foo.example.com', 'Mixed.Example.com'], value: 'exact' },
    { domains: ['*.example.com'], value: 'wild' },
    { domains: ['*.b.example.com'], value: 'wild-longer' },
    { domains: ['*.net'], value: 'wild-net' },
    { domains: ['[::1]', '10.0.0.1:8080'], value: 'ip' },
    { domains: ['*'], value: 'any' },
  ]);
  const cases: [authority: string | undefined, expected: string][] = [
    ['foo.example.com', 'exact'],
    ['FOO.Example.COM', 'exact'],
    ['foo.example.com:8080', 'exact'],
    ['mixed.example.com', 'exact'],
    ['bar.example.com', 'wild'],
    ['a.bar.example.com', 'wild'],
    ['x.b.example.com', 'wild-longer'],
    ['y.x.b.example.com:443', 'wild-longer'],
    // `*.b.example.com` does not cover b.example.com itself; `*.example.com` does.
    ['b.example.com', 'wild'],
    // A wildcard never matches its bare suffix.
    ['example.com', 'any'],
    ['.example.com', 'any'],
    ['example.net', 'wild-net'],
    ['other.org', 'any'],
    ['[::1]:80', 'ip'],
    ['[::1]', 'ip'],
    ['10.0.0.1', 'ip'],
    [undefined, 'any'],
    ['', 'any'],
  ];
  for (const [authority, expected] of cases) {
    it(`${String(authority)} -> ${expected}`, () => assert.equal(index.select(authority), expected));
  }

  it('returns undefined without a catch-all', () => {
    const only = compileHostIndex([{ domains: ['a.com'], value: 1 }]);
    assert.equal(only.select('b.com'), undefined);
    assert.equal(only.select(undefined), undefined);
  });

  it('the first virtual host to claim a domain keeps it', () => {
    const dup = compileHostIndex([
      { domains: ['a.com', '*.a.com', '*'], value: 1 },
      { domains: ['a.com', '*.a.com', '*'], value: 2 },
    ]);
    assert.equal(dup.select('a.com'), 1);
    assert.equal(dup.select('x.a.com'), 1);
    assert.equal(dup.select('z.org'), 1);
  });
});

describe('authority parsing', () => {
  const cases: [authority: string, host: string, port: number | undefined][] = [
    ['example.com', 'example.com', undefined],
    ['example.com:8080', 'example.com', 8080],
    ['[::1]:80', '[::1]', 80],
    ['[::1]', '[::1]', undefined],
    ['::1', '::1', undefined],
    ['example.com:', 'example.com', undefined],
    ['example.com:99999', 'example.com', undefined],
  ];
  for (const [authority, host, port] of cases) {
    it(authority, () => {
      assert.equal(hostOfAuthority(authority), host);
      assert.equal(portOfAuthority(authority), port);
    });
  }
  it('lower-cases on request only', () => {
    assert.equal(hostOfAuthority('A.COM:1'), 'A.COM');
    assert.equal(hostOfAuthority('A.COM:1', true), 'a.com');
  });
});
