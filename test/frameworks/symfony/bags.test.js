// SymfonySessionView over stored data that is not what Symfony writes: a bag key holding
// something other than an array. NativeSessionStorage::loadSession() replaces such a value by an
// empty bag (checked with HttpFoundation 5.4: get() null, has() false, peek() []), so the view
// reads it as empty, never with a TypeError.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { decodeSession } from 'sessctl';
import { SymfonySessionView } from 'sessctl/symfony';

test('a bag stored as a scalar reads as an empty bag, as Symfony loads it', () => {
  for (const stored of ['_sf2_attributes|i:5;_symfony_flashes|s:1:"x";', '_sf2_attributes|s:3:"abc";_symfony_flashes|b:1;', '_sf2_attributes|N;_symfony_flashes|d:1.5;']) {
    const view = new SymfonySessionView(decodeSession(Buffer.from(stored, 'latin1'), 'php'));
    assert.equal(view.get('a'), undefined, stored);
    assert.equal(view.has('a'), false, stored);
    assert.deepEqual(view.peekFlashes('notice'), [], stored);
    assert.deepEqual(view.getFlashes('notice'), [], stored);
    assert.equal(view.securityToken('main'), null, stored);
  }
});

test('writing to a scalar bag replaces it by an array, as Symfony saves the empty bag it loaded', () => {
  const view = new SymfonySessionView(decodeSession(Buffer.from('_sf2_attributes|i:5;', 'latin1'), 'php'));
  view.set('user', 'ann');
  view.addFlash('notice', 'hi');
  assert.equal(view.get('user'), 'ann');
  assert.deepEqual(view.getFlashes('notice'), ['hi']);
});
