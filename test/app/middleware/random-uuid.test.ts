import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { randomUuid } from '../../../src/app/middleware/random-uuid.ts';

// RFC 9562 §5.4: version 4, variant 10xx.
const V4 = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

describe('randomUuid()', () => {
  test('version 4 UUIDs, all different, across many batches', () => {
    const seen = new Set<string>();
    for (let i = 0; i < 5000; i++) {
      const id = randomUuid();
      assert.match(id, V4);
      seen.add(id);
    }
    assert.equal(seen.size, 5000);
  });

  test('every random hex digit takes every value (the bytes are used, not a constant)', () => {
    const digits = Array.from({ length: 36 }, () => new Set<string>());
    for (let i = 0; i < 2000; i++) {
      const id = randomUuid();
      for (let j = 0; j < 36; j++) digits[j]!.add(id[j]!);
    }
    for (let j = 0; j < 36; j++) {
      const expected = [8, 13, 18, 23].includes(j) ? 1 : j === 14 ? 1 : j === 19 ? 4 : 16;
      assert.equal(digits[j]!.size, expected, `position ${j}`);
    }
  });
});
