/**
 * Sessions: the cookie session and the server-side stores behind one API, the cookie's
 * attributes, saving only on change, idle and absolute timeouts (injected clock), touch, key
 * rotation, regenerate/destroy, the bounded memory store, and the Redis store on a real
 * redis-server.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { createClient } from 'redis';
import { App } from '../../src/app/index.ts';
import { type Session, session } from '../../src/app/middleware/session.ts';
import { RedisSessionStore } from '../../src/app/session/redis-store.ts';
import { MemorySessionStore } from '../../src/app/session/store.ts';
import { type RedisProcess, redisAvailable, startRedis } from '../fixtures/redis.ts';
import {
  call,
  clock,
  cookieHeader,
  SECRET_A,
  SECRET_B,
  SECRET_C,
  sessionApp,
  setCookies,
} from '../fixtures/session.ts';

async function json(res: Response): Promise<Record<string, unknown>> {
  assert.equal(res.status, 200, await res.clone().text());
  return (await res.json()) as Record<string, unknown>;
}

for (const kind of ['cookie', 'memory'] as const) {
  const storeOf = () => (kind === 'memory' ? { store: new MemorySessionStore() } : {});

  describe(`${kind} session`, () => {
    test('a value set in one request is there in the next', async () => {
      const app = sessionApp(storeOf());
      const first = await call(app, 'POST', '/set?user=bob');
      const body = await json(await call(app, 'GET', '/read', cookieHeader(first)));
      assert.equal(body.user, 'bob');
      assert.equal(body.n, 1);
      assert.equal(body.isNew, false);
    });

    test('cookie defaults: __Host- prefix, HttpOnly, Secure, SameSite=Lax, Path=/, Max-Age of the absolute timeout', async () => {
      const res = await call(sessionApp({ ...storeOf(), now: clock().now }), 'POST', '/set');
      const header = setCookies(res).get('__Host-sid')?.header;
      assert.ok(header, res.headers.getSetCookie().join('\n'));
      assert.match(header, /; Path=\/; Secure; HttpOnly; SameSite=Lax/);
      assert.match(header, /Max-Age=43200/);
      assert.doesNotMatch(header, /Domain=/);
    });

    test('no Set-Cookie for a visitor whose session was only read, nor for one that is unchanged', async () => {
      const app = sessionApp(storeOf());
      assert.equal((await call(app, 'GET', '/read')).headers.getSetCookie().length, 0);
      const cookie = cookieHeader(await call(app, 'POST', '/set'));
      assert.equal((await call(app, 'GET', '/read', cookie)).headers.getSetCookie().length, 0);
    });

    test("secure: 'auto' follows c.info.secure; secure: false drops the prefix", async () => {
      const auto = sessionApp({ ...storeOf(), cookie: { secure: 'auto' } });
      const http = setCookies(await call(auto, 'POST', '/set', undefined, {}, false));
      assert.ok(http.has('sid'));
      assert.doesNotMatch(http.get('sid')!.header, /Secure/);
      const https = setCookies(await call(auto, 'POST', '/set', undefined, {}, true));
      assert.match(https.get('__Host-sid')!.header, /Secure/);
      const off = setCookies(
        await call(sessionApp({ ...storeOf(), cookie: { secure: false } }), 'POST', '/set'),
      );
      assert.doesNotMatch(off.get('sid')!.header, /Secure/);
      // A Domain gives up the __Host- prefix, keeps Secure.
      const domain = setCookies(
        await call(sessionApp({ ...storeOf(), cookie: { domain: 'example.com' } }), 'POST', '/set'),
      );
      assert.match(domain.get('sid')!.header, /Domain=example.com; Path=\/; Secure/);
    });

    test('idle timeout: a session unused for longer is over (injected clock)', async () => {
      const t = clock();
      const app = sessionApp({ ...storeOf(), now: t.now, idleTimeout: 600, touchAfter: 60 });
      const cookie = cookieHeader(await call(app, 'POST', '/set'));
      t.advance(599);
      assert.equal((await json(await call(app, 'GET', '/read', cookie))).user, 'ann');
      t.advance(601);
      const later = await json(await call(app, 'GET', '/read', cookie));
      assert.equal(later.user, null);
      assert.equal(later.isNew, true);
    });

    test('activity extends the idle timeout (touch), without a save on every request', async () => {
      const t = clock();
      const app = sessionApp({ ...storeOf(), now: t.now, idleTimeout: 600, touchAfter: 60 });
      let cookie = cookieHeader(await call(app, 'POST', '/set'));
      t.advance(30);
      const quiet = await call(app, 'GET', '/read', cookie);
      assert.equal(quiet.headers.getSetCookie().length, 0, 'no touch before touchAfter');
      for (let i = 0; i < 5; i++) {
        t.advance(500);
        const res = await call(app, 'GET', '/read', cookie);
        assert.equal((await json(res.clone())).user, 'ann', `step ${i}`);
        if (kind === 'cookie') {
          assert.equal(res.headers.getSetCookie().length, 1, 'a touched cookie session is sent again');
          cookie = cookieHeader(res);
        } else
          assert.equal(res.headers.getSetCookie().length, 0, 'a store session is touched in the store only');
      }
    });

    test('absolute timeout: over after it however active', async () => {
      const t = clock();
      const app = sessionApp({ ...storeOf(), now: t.now, idleTimeout: 600, absoluteTimeout: 3600 });
      let cookie = cookieHeader(await call(app, 'POST', '/set'));
      for (let i = 0; i < 7; i++) {
        t.advance(500);
        const res = await call(app, 'POST', '/set', cookie);
        cookie = cookieHeader(res) || cookie;
      }
      // 3500 s in, 7 writes since: still there.
      assert.equal((await json(await call(app, 'GET', '/read', cookie))).n, 8);
      t.advance(200);
      assert.equal((await json(await call(app, 'GET', '/read', cookie))).user, null);
    });

    test('regenerate(): a new id, same values; the old cookie no longer opens the session', async () => {
      const store = kind === 'memory' ? new MemorySessionStore() : undefined;
      const app = sessionApp(store === undefined ? {} : { store });
      const pre = await call(app, 'POST', '/set?user=anon');
      const preCookie = cookieHeader(pre);
      const login = await call(app, 'POST', '/login?user=ann', preCookie);
      const { before, after } = await json(login.clone());
      assert.notEqual(before, after);
      const postCookie = cookieHeader(login);
      assert.notEqual(postCookie, preCookie);
      const now = await json(await call(app, 'GET', '/read', postCookie));
      assert.equal(now.id, after);
      assert.equal(now.user, 'ann');
      assert.equal(now.n, 1, 'values survive regenerate');
      if (store !== undefined) {
        assert.equal(store.get(before as string), undefined, 'the old id is destroyed in the store');
        assert.equal((await json(await call(app, 'GET', '/read', preCookie))).isNew, true);
      }
    });

    test('destroy(): the cookie is expired and the session gone', async () => {
      const store = kind === 'memory' ? new MemorySessionStore() : undefined;
      const app = sessionApp(store === undefined ? {} : { store });
      const cookie = cookieHeader(await call(app, 'POST', '/set'));
      const out = await call(app, 'POST', '/logout', cookie);
      assert.match(setCookies(out).get('__Host-sid')!.header, /Max-Age=0/);
      if (store !== undefined) {
        assert.equal(store.size, 0);
        assert.equal((await json(await call(app, 'GET', '/read', cookie))).isNew, true);
      }
    });

    test('key rotation: a new first secret seals, the old one still opens, then drops out', async () => {
      const store = kind === 'memory' ? new MemorySessionStore() : undefined;
      const opts = store === undefined ? {} : { store };
      const old = cookieHeader(await call(sessionApp(opts, [SECRET_A]), 'POST', '/set?user=old'));
      const rotated = sessionApp(opts, [SECRET_B, SECRET_A]);
      assert.equal((await json(await call(rotated, 'GET', '/read', old))).user, 'old');
      const fresh = cookieHeader(await call(rotated, 'POST', '/set?user=new'));
      assert.equal((await json(await call(sessionApp(opts, [SECRET_B]), 'GET', '/read', fresh))).user, 'new');
      assert.equal((await json(await call(sessionApp(opts, [SECRET_B]), 'GET', '/read', old))).user, null);
      assert.equal((await json(await call(sessionApp(opts, [SECRET_C]), 'GET', '/read', fresh))).user, null);
    });
  });
}

test('session({ secrets }) takes its own secrets; short ones are refused at construction', async () => {
  const app = sessionApp({ secrets: [SECRET_B] }, []);
  const cookie = cookieHeader(await call(app, 'POST', '/set'));
  assert.equal((await json(await call(app, 'GET', '/read', cookie))).user, 'ann');
  assert.throws(() => session({ secrets: ['short'] }), { code: 'STRATA_ERR_COOKIE_SECRET' });
  assert.throws(() => session({ idleTimeout: 0 }), RangeError);
});

test('c.session is the session (the same object as c.get), and undefined without session()', async () => {
  const app = new App<{ session: Session }>();
  app.use(session({ secrets: [SECRET_A] }));
  app.post('/visit', async (c) => {
    assert.equal(c.session, c.get('session'));
    c.session!.set('visits', ((c.session!.get('visits') as number | undefined) ?? 0) + 1);
    return c.json({ visits: c.session!.get('visits'), isNew: c.session!.isNew });
  });
  const first = await call(app, 'POST', '/visit');
  assert.deepEqual(await json(first), { visits: 1, isNew: true });
  assert.deepEqual(await json(await call(app, 'POST', '/visit', cookieHeader(first))), {
    visits: 2,
    isNew: false,
  });

  const bare = new App();
  bare.get('/', (c) => c.json({ session: c.session === undefined }));
  assert.deepEqual(await (await bare.request('/')).json(), { session: true });
});

test('a cookie session too large for a browser is a clear programming error', async () => {
  const errors: unknown[] = [];
  const app = new App({ cookieSecrets: [SECRET_A], log: (_level, err) => errors.push(err) }).use(
    session<{ blob: string }>(),
  );
  app.post('/big', (c) => {
    c.get('session').set('blob', 'x'.repeat(5000));
    return c.text('ok');
  });
  const res = await app.request('/big', { method: 'POST' });
  assert.equal(res.status, 500);
  assert.equal((errors[0] as { code?: string }).code, 'STRATA_ERR_SESSION_TOO_LARGE');
});

test('typed values: the generic types get/set', () => {
  const app = new App({ cookieSecrets: [SECRET_A] }).use(session<{ userId: string }>());
  app.get('/', (c) => {
    const s: Session<{ userId: string }> = c.get('session');
    const id: string | undefined = s.get('userId');
    // @ts-expect-error: a number is not a userId
    s.set('userId', 1);
    // @ts-expect-error: an undeclared key
    s.get('other');
    return c.text(id ?? '');
  });
});

test('the memory store is bounded and drops expired entries as writes pass them', () => {
  let now = 0;
  const store = new MemorySessionStore({ maxEntries: 3, now: () => now });
  const record = { data: {}, createdAt: 0, touchedAt: 0 };
  for (let i = 0; i < 10; i++) store.set(`s${i}`, record, 1000);
  assert.equal(store.size, 3);
  assert.equal(store.get('s0'), undefined);
  assert.ok(store.get('s9'));
  now = 2000;
  store.set('fresh', record, 1000);
  assert.equal(store.size, 1, 'expired entries were swept');
  assert.equal(store.get('s9'), undefined);
  // A stored record is a copy: changing what get() returned changes nothing stored.
  const got = store.get('fresh')!;
  got.data.x = 1;
  assert.deepEqual(store.get('fresh')!.data, {});
  assert.throws(() => new MemorySessionStore({ maxEntries: 0 }), RangeError);
});

describe('Redis store (real redis-server)', () => {
  const available = redisAvailable();
  let redis: RedisProcess;
  let client: ReturnType<typeof createClient>;
  before(async () => {
    if (available !== true) return;
    redis = await startRedis();
    client = createClient({ url: redis.url });
    await client.connect();
  });
  after(async () => {
    if (available !== true) return;
    await client.close();
    await redis.stop();
  });

  test('set, read, regenerate and destroy through Redis, with the idle timeout as expiry', {
    skip: available !== true && available,
  }, async () => {
    const store = new RedisSessionStore(client, { prefix: 'test:sess:' });
    const app = sessionApp({ store, idleTimeout: 600 });
    const first = await call(app, 'POST', '/set?user=rita');
    const cookie = cookieHeader(first);
    const read = await json(await call(app, 'GET', '/read', cookie));
    assert.equal(read.user, 'rita');
    const ttl = await client.pTTL(`test:sess:${read.id}`);
    assert.ok(ttl > 590_000 && ttl <= 600_000, `PTTL ${ttl}`);

    const login = await call(app, 'POST', '/login?user=rita', cookie);
    const { before: oldId, after: newId } = await json(login.clone());
    assert.equal(await client.exists(`test:sess:${oldId}`), 0, 'the old id is gone from Redis');
    assert.equal(await client.exists(`test:sess:${newId}`), 1);

    await call(app, 'POST', '/logout', cookieHeader(login));
    assert.equal(await client.exists(`test:sess:${newId}`), 0);

    // Something else under the prefix (not JSON) is no session.
    await client.set('test:sess:junk', 'not json');
    assert.equal(await store.get('junk'), undefined);
  });
});
