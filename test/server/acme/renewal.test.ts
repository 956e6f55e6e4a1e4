/** When a certificate is renewed, and the waits after failed orders. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { RetryBackoff, renewalTime } from '../../../src/server/acme/renewal.ts';

const DAY = 86_400_000;

test('renewal time: 30 days before expiry for a 90-day certificate, a third of the lifetime for short ones', () => {
  const cases: [lifetimeDays: number, renewBeforeExpiryDays: number][] = [
    [90, 30],
    [365, 30],
    [60, 20],
    [6, 2], // Let's Encrypt's short-lived profile: renewed after 4 days
    [0, 0],
  ];
  for (const [lifetime, before] of cases) {
    const notBefore = 1_000 * DAY;
    const notAfter = notBefore + lifetime * DAY;
    assert.equal(renewalTime(notBefore, notAfter, 30 * DAY), notAfter - before * DAY, `${lifetime} days`);
  }
});

test('backoff: doubles from min, capped at max, jittered within [d/2, d], reset by a success', () => {
  const low = new RetryBackoff(1000, 10_000, () => 0);
  const high = new RetryBackoff(1000, 10_000, () => 0.999_999);
  const lows = Array.from({ length: 7 }, () => low.next());
  const highs = Array.from({ length: 7 }, () => high.next());
  assert.deepEqual(lows, [500, 1000, 2000, 4000, 5000, 5000, 5000]);
  assert.deepEqual(highs, [1000, 2000, 4000, 8000, 10_000, 10_000, 10_000]);
  assert.equal(low.failures, 7);
  low.reset();
  assert.equal(low.failures, 0);
  assert.equal(low.next(), 500);
  // Bounded however long the streak.
  const long = new RetryBackoff(60_000, 6 * 3_600_000);
  for (let i = 0; i < 1000; i++) {
    const wait = long.next();
    assert.ok(wait >= 30_000 && wait <= 6 * 3_600_000, String(wait));
  }
});
