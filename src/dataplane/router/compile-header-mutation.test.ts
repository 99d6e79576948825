import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { compileHeaderMutation, type MutableHeaders } from './compile-header-mutation.js';

describe('compileHeaderMutation', () => {
  it('returns null when there is nothing to do', () => {
    assert.equal(compileHeaderMutation(undefined), null);
    assert.equal(compileHeaderMutation({}), null);
    assert.equal(compileHeaderMutation({ set: [], add: [], remove: [] }), null);
  });

  it('Gateway API RequestHeaderModifier example: set, add, remove', () => {
    // conformance HTTPRouteRequestHeaderModifier: set X-Header-Set, add X-Header-Add, remove X-Header-Remove.
    const edit = compileHeaderMutation({
      set: [{ name: 'X-Header-Set', value: 'set-overwrites-values' }],
      add: [{ name: 'X-Header-Add', value: 'add-appends-values' }],
      remove: ['X-Header-Remove'],
    })!;
    const headers: MutableHeaders = {
      'x-header-set': 'some-other-value',
      'x-header-add': 'some-other-value',
      'x-header-remove': 'val',
      'x-keep': 'k',
    };
    edit(headers);
    assert.deepEqual(headers, {
      'x-header-set': 'set-overwrites-values',
      'x-header-add': ['some-other-value', 'add-appends-values'],
      'x-keep': 'k',
    });
    // What a receiver combining the lines sees, as the conformance suite compares it.
    assert.equal((headers['x-header-add'] as string[]).join(','), 'some-other-value,add-appends-values');
  });

  it('add on a missing header sets it; add to an array appends without touching the original', () => {
    const edit = compileHeaderMutation({
      add: [
        { name: 'a', value: '1' },
        { name: 'b', value: '3' },
      ],
    })!;
    const original = ['1', '2'];
    const headers: MutableHeaders = { b: original };
    edit(headers);
    assert.deepEqual(headers, { a: '1', b: ['1', '2', '3'] });
    assert.deepEqual(original, ['1', '2']);
  });

  it('several adds of one name all append', () => {
    const edit = compileHeaderMutation({
      add: [
        { name: 'x', value: '1' },
        { name: 'x', value: '2' },
      ],
    })!;
    const headers: MutableHeaders = {};
    edit(headers);
    assert.deepEqual(headers, { x: ['1', '2'] });
  });

  it('a numeric value (node OutgoingHttpHeaders) is kept as text when appended to', () => {
    const edit = compileHeaderMutation({ add: [{ name: 'x', value: '2' }] })!;
    const headers: MutableHeaders = { x: 1 };
    edit(headers);
    assert.deepEqual(headers, { x: ['1', '2'] });
  });

  it('order is remove, then set, then add', () => {
    const edit = compileHeaderMutation({
      add: [{ name: 'x', value: 'added' }],
      set: [{ name: 'x', value: 'set' }],
      remove: ['x'],
    })!;
    const headers: MutableHeaders = { x: 'old' };
    edit(headers);
    assert.deepEqual(headers, { x: ['set', 'added'] });
  });

  it('the last set of a name wins; names are lower-cased', () => {
    const edit = compileHeaderMutation({
      set: [
        { name: 'X-A', value: '1' },
        { name: 'x-a', value: '2' },
      ],
    })!;
    const headers: MutableHeaders = {};
    edit(headers);
    assert.deepEqual(headers, { 'x-a': '2' });
  });

  it('removing a missing header is harmless', () => {
    const edit = compileHeaderMutation({ remove: ['Nope'] })!;
    const headers: MutableHeaders = { a: '1' };
    edit(headers);
    assert.deepEqual(headers, { a: '1' });
  });
});
