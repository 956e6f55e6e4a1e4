import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { gcra, RedisRateLimitStore, ratePolicy } from '../../src/index.ts';
import { Rng } from '../fixtures/fuzz.ts';
import { type RedisProcess, redisAvailable, startRedis } from '../fixtures/redis.ts';

const available = redisAvailable();

describe('RedisRateLimitStore against a real redis-server', {
  skip: available === true ? false : available,
}, () => {
  let redis: RedisProcess;
  let a: RedisRateLimitStore;
  let b: RedisRateLimitStore;
  before(async () => {
    redis = await startRedis();
    a = await RedisRateLimitStore.connect({ url: redis.url });
    b = await RedisRateLimitStore.connect({ url: redis.url });
  });
  after(async () => {
    await a?.close();
    await b?.close();
    await redis?.stop();
  });

  test('two limiter instances (two connections) share one budget', async () => {
    const policy = ratePolicy(4, 60_000);
    const results: boolean[] = [];
    for (let i = 0; i < 8; i++)
      results.push((await (i % 2 === 0 ? a : b).consume('shared', policy, 1, Date.now())).allowed);
    assert.deepEqual(results, [true, true, true, true, false, false, false, false]);
  });

  test('atomic under concurrent checks: 200 at once through both, exactly the burst passes', async () => {
    const policy = ratePolicy(25, 3_600_000);
    const decisions = await Promise.all(
      Array.from({ length: 200 }, (_, i) => (i % 2 === 0 ? a : b).consume('race', policy, 1, Date.now())),
    );
    assert.equal(decisions.filter((d) => d.allowed).length, 25);
    const remaining = decisions
      .filter((d) => d.allowed)
      .map((d) => d.remaining)
      .sort((x, y) => x - y);
    assert.deepEqual(
      remaining,
      Array.from({ length: 25 }, (_, i) => i),
      'each unit spent exactly once',
    );
  });

  test('the Lua script decides as gcra() does (injected clock, seeded sequence)', async () => {
    const store = await RedisRateLimitStore.connect({ url: redis.url, serverTime: false, prefix: 'conf:' });
    try {
      const rng = new Rng(0xc0ffee);
      const policy = ratePolicy(7, 60_000, 5);
      let tat = 0;
      let now = 1_750_000_000_000;
      for (let i = 0; i < 150; i++) {
        now += rng.int(0, 12_000);
        const cost = rng.int(0, 3);
        const expected = gcra(tat, now, policy, cost);
        if (expected.allowed) tat = expected.tat;
        const got = await store.consume('conformance', policy, cost, now);
        assert.deepEqual(got, expected, `check ${i} at +${now - 1_750_000_000_000} ms, cost ${cost}`);
      }
    } finally {
      await store.close();
    }
  });

  test('a key lives only until its bucket is full again', async () => {
    const policy = ratePolicy(10, 1000);
    // Connected first: the key lives ~100 ms, and a connect under load can take longer.
    const { createClient } = await import('redis');
    const client = createClient({ url: redis.url });
    await client.connect();
    try {
      await a.consume('short', policy, 1, Date.now());
      const ttl = await client.pTTL('strata:rl:short');
      assert.ok(ttl > 0 && ttl <= 102, `ttl ${ttl}`);
    } finally {
      await client.close();
    }
  });
});
