/**
 * Params objects: the pooled builders (one per list of names, see params.ts) and the generic
 * builder used beyond the pool give the same plain objects, fresh on every lookup.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { MALFORMED, Router } from '../../../src/app/router/index.ts';
import { buildGeneric, PARAMS_BUILDER_POOL_SIZE, paramsBuilder } from '../../../src/app/router/params.ts';

describe('params builders', () => {
  test('the same list of names always gets the same builder', () => {
    assert.equal(paramsBuilder(['owner', 'repo']), paramsBuilder(['owner', 'repo']));
  });

  test('routes beyond the pool get the generic builder and the same answers', () => {
    const router = new Router<string>();
    const count = PARAMS_BUILDER_POOL_SIZE + 20;
    for (let i = 0; i < count; i++) router.add('GET', `/r${i}/:a${i}/:b${i}/:c${i}/:d${i}/:e${i}`, `r${i}`);
    assert.equal(paramsBuilder(['a0', 'b0', 'c0', 'd0', 'e0']) === buildGeneric, false);
    const last = count - 1;
    assert.equal(paramsBuilder([`a${last}`, `b${last}`, `c${last}`, `d${last}`, `e${last}`]), buildGeneric);
    for (let i = 0; i < count; i++) {
      for (let round = 0; round < 3; round++) {
        const found = router.find('GET', `/r${i}/1/2/3/4/5`);
        assert.ok(found !== null && found !== MALFORMED);
        assert.equal(found.value, `r${i}`);
        assert.deepEqual(Object.entries(found.params), [
          [`a${i}`, '1'],
          [`b${i}`, '2'],
          [`c${i}`, '3'],
          [`d${i}`, '4'],
          [`e${i}`, '5'],
        ]);
      }
    }
  });

  test('params come in path order, wildcard last', () => {
    const router = new Router<string>();
    router.add('GET', '/:z/:a/*', 'x');
    const found = router.find('GET', '/1/2/3/4');
    assert.ok(found !== null && found !== MALFORMED);
    assert.deepEqual(Object.keys(found.params), ['z', 'a', '*']);
  });

  test('each lookup gets its own params object', () => {
    const router = new Router<string>();
    router.add('GET', '/u/:id', 'u');
    const a = router.find('GET', '/u/1');
    const b = router.find('GET', '/u/2');
    assert.ok(a !== null && a !== MALFORMED && b !== null && b !== MALFORMED);
    assert.notEqual(a.params, b.params);
    (a.params as Record<string, string>).id = 'changed';
    assert.equal(b.params.id, '2');
    const c = router.find('GET', '/u/1');
    assert.ok(c !== null && c !== MALFORMED);
    assert.equal(c.params.id, '1');
  });

  test('params objects of one route share one shape (same keys, same order)', () => {
    const router = new Router<string>();
    router.add('GET', '/repos/:owner/:repo/issues/:number', 'i');
    const keys = new Set<string>();
    for (const path of ['/repos/a/b/issues/1', '/repos/a%20b/c/issues/2', '/repos/x/y/issues/3?q']) {
      const found = router.find('GET', path);
      assert.ok(found !== null && found !== MALFORMED);
      keys.add(Object.keys(found.params).join(','));
    }
    assert.deepEqual([...keys], ['owner,repo,number']);
  });
});
