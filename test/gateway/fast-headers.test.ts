/**
 * FastHeaders name checks are remembered (src/gateway/fast-headers.ts): a remembered name must
 * still come out lowercase, a bad name must still be refused, and the memory is capped.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { FastHeaders } from '../../src/gateway/fast-headers.ts';

describe('FastHeaders name checks', () => {
  test('a name checked before is lowercased the same way the second time', () => {
    for (let round = 0; round < 2; round++) {
      const h = new FastHeaders({ 'X-Request-Id': 'a' });
      h.append('Server-Timing', 'total;dur=1');
      assert.deepEqual({ ...FastHeaders.record(h) }, { 'x-request-id': 'a', 'server-timing': 'total;dur=1' });
    }
  });

  test('bad names are refused whether or not the cache is full', () => {
    const bad = ['bad name', 'x:y', '', 'a\r\nb', 'é'];
    const h = new FastHeaders();
    for (const name of bad) assert.throws(() => h.set(name, 'v'), TypeError, name);
    // More distinct valid names than the cache holds.
    for (let i = 0; i < 2000; i++) h.set(`X-Name-${i}`, String(i));
    assert.equal(h.get('x-name-1999'), '1999');
    assert.equal(h.get('X-NAME-0'), '0');
    for (const name of bad) assert.throws(() => h.set(name, 'v'), TypeError, name);
  });
});
