import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { addressKey } from '../../src/gateway/rate-limit/address-key.ts';
import { parseRate, parseWindow } from '../../src/gateway/rate-limit/rate-spec.ts';
import {
  App,
  gcra,
  MemoryRateLimitStore,
  type RateLimitStore,
  rateLimit,
  ratePolicy,
} from '../../src/index.ts';
import { fuzz } from '../fixtures/fuzz.ts';

const T0 = 1_750_000_000_000;

/** Runs checks for one key through gcra(), storing the state as a store would. */
function run(policy: ReturnType<typeof ratePolicy>) {
  let tat = 0;
  return (now: number, cost = 1) => {
    const d = gcra(tat, now, policy, cost);
    if (d.allowed) tat = d.tat;
    return d;
  };
}

describe('gcra: exact allowances at the boundaries (injected clock)', () => {
  it('10 per second, burst 10: ten at once, the eleventh refused until one interval has passed', () => {
    const check = run(ratePolicy(10, 1000));
    for (let i = 0; i < 10; i++) {
      const d = check(T0);
      assert.equal(d.allowed, true, `request ${i + 1}`);
      assert.equal(d.remaining, 9 - i);
    }
    const refused = check(T0);
    assert.equal(refused.allowed, false);
    assert.equal(refused.remaining, 0);
    assert.equal(refused.retryAfter, 100);
    assert.equal(refused.resetAfter, 1000);
    // One millisecond early: still refused; on the boundary: allowed.
    assert.equal(check(T0 + 99).allowed, false);
    assert.equal(check(T0 + 100).allowed, true);
    assert.equal(check(T0 + 100).allowed, false);
  });

  it('burst 1 spaces requests one interval apart (nginx limit_req without burst)', () => {
    const check = run(ratePolicy(60, 60_000, 1));
    assert.equal(check(T0).allowed, true);
    assert.equal(check(T0 + 999).allowed, false);
    assert.equal(check(T0 + 1000).allowed, true);
    assert.equal(check(T0 + 1999).retryAfter, 1);
  });

  it('a window that does not divide evenly (7 per minute) still allows exactly 7 at once, then one per 60/7 s', () => {
    const check = run(ratePolicy(7, 60_000));
    for (let i = 0; i < 7; i++) assert.equal(check(T0).allowed, true);
    assert.equal(check(T0).allowed, false);
    const interval = 60_000 / 7;
    assert.equal(check(T0 + Math.floor(interval)).allowed, false);
    assert.equal(check(T0 + Math.ceil(interval)).allowed, true);
  });

  it('cost spends several units; a cost over the burst can never pass (retryAfter Infinity); cost 0 peeks', () => {
    const check = run(ratePolicy(10, 1000));
    assert.equal(check(T0, 4).remaining, 6);
    assert.equal(check(T0, 0).remaining, 6);
    assert.equal(check(T0, 0).allowed, true);
    assert.equal(check(T0, 7).allowed, false);
    assert.equal(check(T0, 7).retryAfter, 100);
    assert.equal(check(T0, 6).allowed, true);
    const never = check(T0 + 10_000, 11);
    assert.equal(never.allowed, false);
    assert.equal(never.retryAfter, Number.POSITIVE_INFINITY);
  });

  it('resets: after a quiet window the whole burst is back', () => {
    const check = run(ratePolicy(5, 1000));
    for (let i = 0; i < 5; i++) check(T0);
    assert.equal(check(T0).allowed, false);
    const d = check(T0 + 1000);
    assert.equal(d.allowed, true);
    assert.equal(d.remaining, 4);
  });

  it('rejects policies that make no sense', () => {
    assert.throws(() => ratePolicy(0, 1000), RangeError);
    assert.throws(() => ratePolicy(1.5, 1000), RangeError);
    assert.throws(() => ratePolicy(10, 0), RangeError);
    assert.throws(() => ratePolicy(10, 1000, 0), RangeError);
  });
});

describe('gcra: seeded fuzz of the invariants', () => {
  it('never allows more than limit + burst − 1 units in any window; remaining never negative', async () => {
    const cases = await fuzz({ seed: 0x5eed_1a7e, iterations: 400, budgetMs: 1500 }, (rng) => {
      const limit = rng.int(1, 50);
      const window = rng.pick([1000, 60_000, 7_000, 999, 3_600_000]);
      const burst = rng.int(1, 60);
      const policy = ratePolicy(limit, window, burst);
      const check = run(policy);
      const allowed: { at: number; cost: number }[] = [];
      let now = T0 + rng.int(0, 1_000_000);
      for (let i = 0; i < 300; i++) {
        now += rng.chance(0.3) ? 0 : rng.int(0, Math.ceil((window / limit) * 2));
        const cost = rng.chance(0.8) ? 1 : rng.int(0, 5);
        const d = check(now, cost);
        assert.ok(d.remaining >= 0);
        assert.ok(d.resetAfter >= 0 && d.resetAfter <= policy.tolerance + policy.interval * 1e-6 + 0.002);
        if (d.allowed) allowed.push({ at: now, cost });
        else assert.ok(d.retryAfter > 0);
      }
      // Every half-open window [at, at + window) that starts at an allowed request.
      let j = 0;
      let sum = 0;
      for (let i = 0; i < allowed.length; i++) {
        while (j < allowed.length && allowed[j]!.at < allowed[i]!.at + window) sum += allowed[j++]!.cost;
        assert.ok(
          sum <= limit + burst - 1,
          `${sum} units in a window of ${window} ms with limit ${limit}, burst ${burst}`,
        );
        sum -= allowed[i]!.cost;
      }
    });
    assert.ok(cases > 10);
  });

  it("the edge's take() decides as consume() does, key for key, and the store stays bounded", async () => {
    const cases = await fuzz({ seed: 0x7a4e, iterations: 200, budgetMs: 1500 }, (rng) => {
      const policy = ratePolicy(rng.int(1, 20), rng.pick([1000, 60_000, 999]), rng.int(1, 25));
      const maxKeys = rng.int(1, 6);
      const a = new MemoryRateLimitStore({ maxKeys });
      const b = new MemoryRateLimitStore({ maxKeys });
      const keys = ['k0', 'k1', 'k2', 'k3', 'k4', 'k5', 'k6', 'k7'].slice(0, rng.int(1, 8));
      let now = T0;
      for (let i = 0; i < 200; i++) {
        now += rng.chance(0.5) ? 0 : rng.int(0, Math.ceil(policy.interval * 2));
        const key = rng.chance(0.6) ? keys[0]! : rng.pick(keys);
        assert.equal(
          a.take(key, policy, now),
          b.consume(key, policy, 1, now).allowed,
          `check ${i} of ${key}`,
        );
        assert.equal(a.size, b.size);
        assert.ok(a.size <= maxKeys);
      }
    });
    assert.ok(cases > 10);
  });
});

describe('rate specs and keys', () => {
  it('parses N/WINDOW and windows', () => {
    assert.deepEqual(parseRate('100/1m'), { limit: 100, window: 60_000 });
    assert.deepEqual(parseRate('10/s'), { limit: 10, window: 1000 });
    assert.deepEqual(parseRate('5000/1h'), { limit: 5000, window: 3_600_000 });
    assert.equal(parseWindow('500ms'), 500);
    assert.equal(parseWindow(2500), 2500);
    for (const bad of ['100', '/1m', '0/1m', '10/1y', '10/', 'x/s', '-1/s', '10/-1s'])
      assert.throws(() => parseRate(bad), RangeError, bad);
  });

  it('keys an IPv6 client by its /64, an IPv4-mapped address by its IPv4 form', () => {
    const table: [string, string][] = [
      ['203.0.113.9', '203.0.113.9'],
      ['::ffff:203.0.113.9', '203.0.113.9'],
      ['2001:db8:1:2:aaaa:bbbb:cccc:dddd', '2001:db8:1:2::/64'],
      ['2001:db8:1:2::1', '2001:db8:1:2::/64'],
      ['2001:0db8:0001:0002:ffff::', '2001:db8:1:2::/64'],
      ['2001:db8::1', '2001:db8:0:0::/64'],
      ['::1', '0:0:0:0::/64'],
      ['fe80::1%eth0', 'fe80:0:0:0::/64'],
    ];
    for (const [address, key] of table) assert.equal(addressKey(address), key, address);
  });
});

describe('rateLimit() middleware', () => {
  const clockAt = (start: number) => {
    const clock = { now: start, fn: () => clock.now };
    return clock;
  };

  it('answers 429 problem+json with Retry-After and the draft headers; successes carry them too', async () => {
    const clock = clockAt(T0);
    const app = new App();
    app.use(rateLimit({ limit: 2, window: '1m', clock: clock.fn }));
    app.get('/', (c) => c.text('ok'));
    const first = await app.request('/');
    assert.equal(first.status, 200);
    assert.equal(first.headers.get('ratelimit-policy'), '"default";q=2;w=60');
    assert.equal(first.headers.get('ratelimit'), '"default";r=1;t=30');
    const second = await app.request('/');
    assert.equal(second.headers.get('ratelimit'), '"default";r=0;t=60');
    const third = await app.request('/');
    assert.equal(third.status, 429);
    assert.equal(third.headers.get('content-type'), 'application/problem+json');
    assert.equal(third.headers.get('retry-after'), '30');
    assert.equal(third.headers.get('ratelimit'), '"default";r=0;t=60');
    assert.equal(third.headers.get('ratelimit-policy'), '"default";q=2;w=60');
    const problem = (await third.json()) as { status: number; title: string };
    assert.equal(problem.status, 429);
    assert.equal(problem.title, 'Too Many Requests');
    clock.now += 30_000;
    assert.equal((await app.request('/')).status, 200);
  });

  it('headers: false keeps successes bare (429 still says when to retry)', async () => {
    const app = new App();
    app.use(rateLimit({ limit: 1, window: '1s', headers: false, clock: () => T0 }));
    app.get('/', (c) => c.text('ok'));
    const ok = await app.request('/');
    assert.equal(ok.headers.get('ratelimit'), null);
    const refused = await app.request('/');
    assert.equal(refused.status, 429);
    assert.equal(refused.headers.get('retry-after'), '1');
  });

  it('keys by address (the /64 for IPv6), or by a function (API key), each with its own budget', async () => {
    const app = new App();
    app.use(
      rateLimit({
        limit: 1,
        window: '1m',
        clock: () => T0,
        key: (c) => c.req.headers.get('x-api-key') ?? undefined,
      }),
    );
    app.get('/', (c) => c.text('ok'));
    const as = (address: string, apiKey?: string) =>
      app.request('/', apiKey === undefined ? {} : { headers: { 'x-api-key': apiKey } }, {
        remote: { address, port: 1, family: address.includes(':') ? 'IPv6' : 'IPv4' },
      });
    assert.equal((await as('198.51.100.1', 'a')).status, 200);
    assert.equal((await as('198.51.100.2', 'a')).status, 429);
    assert.equal((await as('198.51.100.2', 'b')).status, 200);
    assert.equal((await as('2001:db8:1:2::1')).status, 200);
    assert.equal((await as('2001:db8:1:2::ffff')).status, 429);
    assert.equal((await as('2001:db8:1:3::1')).status, 200);
  });

  it('cost from a function; a limiter per name', async () => {
    const store = new MemoryRateLimitStore();
    const app = new App();
    app.get('/cheap', rateLimit({ limit: 10, window: '1m', clock: () => T0, store }), (c) => c.text('ok'));
    app.post(
      '/dear',
      rateLimit({ limit: 10, window: '1m', clock: () => T0, store, name: 'dear', cost: () => 6 }),
      (c) => c.text('ok'),
    );
    assert.equal(
      (await app.request('/dear', { method: 'POST' })).headers.get('ratelimit'),
      '"dear";r=4;t=36',
    );
    assert.equal((await app.request('/dear', { method: 'POST' })).status, 429);
    assert.equal((await app.request('/cheap')).headers.get('ratelimit'), '"default";r=9;t=6');
  });

  it('a failing store is a 500 by default, and lets requests through with failOpen', async () => {
    const broken: RateLimitStore = { kind: 'broken', consume: () => Promise.reject(new Error('down')) };
    for (const failOpen of [false, true]) {
      const app = new App();
      app.use(rateLimit({ limit: 1, window: '1m', store: broken, failOpen }));
      app.get('/', (c) => c.text('ok'));
      assert.equal((await app.request('/')).status, failOpen ? 200 : 500);
    }
  });

  it('refuses bad options at construction', () => {
    assert.throws(() => rateLimit({ limit: 0, window: '1m' }), RangeError);
    assert.throws(() => rateLimit({ limit: 1, window: '1y' }), RangeError);
    assert.throws(() => rateLimit({ limit: 1, window: '1m', cost: -1 }), RangeError);
    assert.throws(() => rateLimit({ limit: 1, window: '1m', name: 'é' }), RangeError);
  });
});
