import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { App, AppError, HttpError } from '../../src/app/index.ts';

describe('routing through the app', () => {
  const app = new App();
  app.get('/users/:id', (c) => c.json({ id: c.params.id }));
  app.post('/users', (c) => c.text('created', 201));
  app.get('/items/:id?', (c) => c.json({ id: c.params.id ?? null }));
  app.get('/docs/*', (c) => c.text(c.params['*']));

  test('params are decoded and typed', async () => {
    const res = await app.request('/users/a%20b');
    assert.equal(res.status, 200);
    assert.deepEqual(await res.json(), { id: 'a b' });
  });

  test('405 with Allow when the path exists for other methods', async () => {
    const res = await app.request('/users', { method: 'DELETE' });
    assert.equal(res.status, 405);
    assert.equal(res.headers.get('allow'), 'OPTIONS, POST');
    assert.equal(res.headers.get('content-type'), 'application/problem+json');
  });

  test('automatic HEAD for GET routes, without a body', async () => {
    const res = await app.request('/users/1', { method: 'HEAD' });
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('content-type'), 'application/json');
  });

  test('automatic OPTIONS answers 204 with Allow', async () => {
    const res = await app.request('/users/1', { method: 'OPTIONS' });
    assert.equal(res.status, 204);
    assert.equal(res.headers.get('allow'), 'GET, HEAD, OPTIONS');
  });

  test('404 is problem+json, HTML for browsers', async () => {
    const json = await app.request('/nowhere');
    assert.equal(json.status, 404);
    const problem = await json.json();
    assert.equal(problem.status, 404);
    assert.equal(problem.title, 'Not Found');
    assert.equal(problem.instance, '/nowhere');
    const html = await app.request('/nowhere', {
      headers: { accept: 'text/html,application/xhtml+xml,*/*;q=0.8' },
    });
    assert.match(html.headers.get('content-type')!, /text\/html/);
    assert.match(await html.text(), /<h1>404 Not Found<\/h1>/);
  });

  test('malformed percent-encoding in a param gives 400', async () => {
    const res = await app.request('/users/%E0%A4%A');
    assert.equal(res.status, 400);
  });

  test('optional params and wildcards', async () => {
    assert.deepEqual(await (await app.request('/items')).json(), { id: null });
    assert.deepEqual(await (await app.request('/items/9')).json(), { id: '9' });
    assert.equal(await (await app.request('/docs/a/b.md')).text(), 'a/b.md');
  });

  test('trailing slashes are strict by default', async () => {
    assert.equal((await app.request('/users/1/')).status, 404);
  });

  test('trailingSlash: redirect answers 308 to the registered form, keeping the query', async () => {
    const r = new App({ trailingSlash: 'redirect' });
    r.get('/a', (c) => c.text('a'));
    r.get('/b/', (c) => c.text('b'));
    const one = await r.request('/a/?x=1');
    assert.equal(one.status, 308);
    assert.equal(one.headers.get('location'), '/a?x=1');
    assert.equal((await r.request('/b')).headers.get('location'), '/b/');
    assert.equal((await r.request('/c/')).status, 404);
  });
});

describe('middleware onion', () => {
  test('runs in order around the handler; code after next() sees and changes the response', async () => {
    const app = new App();
    const order: string[] = [];
    app.use(async (c, next) => {
      order.push('a in');
      await next();
      order.push('a out');
      c.header('x-a', 'after');
    });
    app.use(async (_c, next) => {
      order.push('b in');
      const res = await next();
      order.push(`b out ${res.status}`);
    });
    app.get('/', (c) => {
      order.push('handler');
      return c.text('ok');
    });
    const res = await app.request('/');
    assert.deepEqual(order, ['a in', 'b in', 'handler', 'b out 200', 'a out']);
    assert.equal(res.headers.get('x-a'), 'after');
  });

  test('a middleware short-circuits by returning a response', async () => {
    const app = new App();
    let reached = false;
    app.use((c, _next) => c.text('denied', 401));
    app.get('/', () => {
      reached = true;
      return 'no';
    });
    const res = await app.request('/');
    assert.equal(res.status, 401);
    assert.equal(reached, false);
  });

  test('c.res can be replaced after next()', async () => {
    const app = new App();
    app.use(async (c, next) => {
      await next();
      c.res = new Response('replaced', { status: 202 });
    });
    app.get('/', () => 'original');
    const res = await app.request('/');
    assert.equal(res.status, 202);
    assert.equal(await res.text(), 'replaced');
  });

  test('errors propagate outward and a middleware can catch them', async () => {
    const app = new App();
    app.use(async (c, next) => {
      try {
        await next();
      } catch (err) {
        return c.json({ caught: (err as Error).message }, 503);
      }
    });
    app.get('/', () => {
      throw new Error('deep');
    });
    const res = await app.request('/');
    assert.equal(res.status, 503);
    assert.deepEqual(await res.json(), { caught: 'deep' });
  });

  test('next() twice rejects with STRATA_ERR_NEXT_TWICE', async () => {
    const app = new App();
    let caught: unknown;
    app.use(async (_c, next) => {
      await next();
      try {
        await next();
      } catch (err) {
        caught = err;
        throw err;
      }
    });
    app.get('/', () => 'x');
    const res = await app.request('/');
    assert.equal(res.status, 500);
    assert.ok(caught instanceof AppError);
    assert.equal((caught as AppError).code, 'STRATA_ERR_NEXT_TWICE');
  });

  test('prefix middleware applies only under its prefix, also to 404s there', async () => {
    const app = new App();
    app.use('/admin', async (c, next) => {
      if (c.req.headers.get('x-token') !== 'ok') return c.text('no', 403);
      await next();
    });
    app.get('/admin/stats', () => 'stats');
    app.get('/administrator', () => 'not under /admin');
    app.get('/public', () => 'public');
    assert.equal((await app.request('/admin/stats')).status, 403);
    assert.equal((await app.request('/admin/stats', { headers: { 'x-token': 'ok' } })).status, 200);
    assert.equal((await app.request('/admin/missing')).status, 403);
    assert.equal((await app.request('/administrator')).status, 200);
    assert.equal((await app.request('/public')).status, 200);
  });

  test('middleware registered after a route still applies to it', async () => {
    const app = new App();
    app.get('/', () => 'x');
    app.use(async (c, next) => {
      await next();
      c.header('x-late', '1');
    });
    assert.equal((await app.request('/')).headers.get('x-late'), '1');
  });

  test('headers set before next() reach raw Responses and error answers', async () => {
    const app = new App();
    app.use(async (c, next) => {
      c.header('x-request-id', 'abc');
      c.setCookie('seen', '1');
      await next();
    });
    app.get('/raw', () => new Response('raw'));
    app.get('/fail', () => {
      throw new HttpError(409, 'taken');
    });
    for (const path of ['/raw', '/fail', '/missing']) {
      const res = await app.request(path);
      assert.equal(res.headers.get('x-request-id'), 'abc', path);
      assert.deepEqual(res.headers.getSetCookie(), ['seen=1; Path=/; HttpOnly; SameSite=Lax'], path);
    }
  });
});

describe('sub-apps', () => {
  test('mounted at a prefix, with their own middleware that does not leak', async () => {
    const api = new App();
    api.use(async (c, next) => {
      await next();
      c.header('x-api', 'yes');
    });
    api.get('/users/:id', (c) => c.json({ id: c.params.id }));
    const app = new App();
    app.use(async (c, next) => {
      await next();
      c.header('x-root', 'yes');
    });
    app.route('/api/v1', api);
    app.get('/health', () => 'ok');
    const inside = await app.request('/api/v1/users/3');
    assert.deepEqual(await inside.json(), { id: '3' });
    assert.equal(inside.headers.get('x-api'), 'yes');
    assert.equal(inside.headers.get('x-root'), 'yes');
    const outside = await app.request('/health');
    assert.equal(outside.headers.get('x-api'), null);
    assert.equal(outside.headers.get('x-root'), 'yes');
  });
});

describe('handlers and errors', () => {
  test('return values become responses: strings as text, objects as JSON', async () => {
    const app = new App();
    app.get('/s', () => 'plain');
    app.get('/o', () => ({ a: 1 }));
    app.get('/n', () => 42);
    // @ts-expect-error -- a handler that returns nothing does not compile; at run time it is a 500
    app.get('/u', () => undefined);
    const s = await app.request('/s');
    assert.equal(s.headers.get('content-type'), 'text/plain;charset=UTF-8');
    assert.deepEqual(await (await app.request('/o')).json(), { a: 1 });
    assert.equal(await (await app.request('/n')).text(), '42');
    const u = await app.request('/u');
    assert.equal(u.status, 500);
  });

  test('HttpError answers its status with problem+json, extensions and headers', async () => {
    const app = new App();
    app.get('/', () => {
      throw new HttpError(429, 'Slow down', { headers: { 'retry-after': '5' }, extensions: { limit: 10 } });
    });
    const res = await app.request('/');
    assert.equal(res.status, 429);
    assert.equal(res.headers.get('retry-after'), '5');
    const body = await res.json();
    assert.equal(body.detail, 'Slow down');
    assert.equal(body.limit, 10);
  });

  test('a 500 shows no message or stack unless dev', async () => {
    const prod = new App();
    prod.get('/', () => {
      throw new Error('secret internals');
    });
    const body = await (await prod.request('/')).text();
    assert.doesNotMatch(body, /secret internals/);
    const dev = new App({ dev: true });
    dev.get('/', () => {
      throw new Error('secret internals');
    });
    const devBody = await (await dev.request('/')).json();
    assert.equal(devBody.detail, 'secret internals');
    assert.ok(Array.isArray(devBody.stack));
  });

  test('onError and notFound replace the defaults; errors are logged once', async () => {
    const logged: [string, unknown][] = [];
    const app = new App({ log: (level, error) => logged.push([level, error]) });
    app.onError((err, c) => c.json({ oops: (err as Error).message }, 500));
    app.notFound((c) => c.text('custom 404', 404));
    app.get('/boom', () => {
      throw new Error('kaboom');
    });
    const res = await app.request('/boom');
    assert.deepEqual(await res.json(), { oops: 'kaboom' });
    assert.equal((await app.request('/x')).status, 404);
    assert.equal(await (await app.request('/x')).text(), 'custom 404');
    assert.equal(logged.length, 1);
    assert.equal(logged[0]![0], 'error');
  });

  test('registration mistakes fail loudly', () => {
    const app = new App();
    assert.throws(() => app.get('no-slash' as '/x', () => 'x'), /must start with "\/"/);
    assert.throws(
      () => app.get('/x', 42 as never),
      (e: unknown) => (e as AppError).code === 'STRATA_ERR_BAD_HANDLER',
    );
    assert.throws(
      () => new App({ cookieSecrets: ['short'] }),
      (e: unknown) => (e as AppError).code === 'STRATA_ERR_COOKIE_SECRET',
    );
  });

  test('conflicting routes are refused at registration, naming both', async () => {
    const app = new App();
    app.get('/u/:id', () => 'a');
    assert.throws(() => app.get('/u/:name', () => 'b'), /GET \/u\/:name conflicts with GET \/u\/:id/);
    assert.equal(await (await app.fetch(new Request('http://x/u/1'))).text(), 'a');
  });

  test('fetch is bound: export default app works with any server', async () => {
    const app = new App();
    app.get('/', () => 'bound');
    const { fetch } = app;
    assert.equal(await (await fetch(new Request('http://x/'))).text(), 'bound');
  });
});
