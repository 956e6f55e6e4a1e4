/**
 * The chain's synchronous paths (src/app/compose.ts): a chain of synchronous handlers and
 * pass-through middleware answers without a promise, `beforeMiddleware` runs without a `next`,
 * `aroundMiddleware` runs its after-work in
 * the same tick when the rest was synchronous and behind a promise when it was not, and none of
 * this changes what the onion means (order, errors, short-circuits, next() twice).
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { aroundMiddleware, beforeMiddleware } from '../../src/app/compose.ts';
import { App, AppError, cors, requestId, serverTiming } from '../../src/app/index.ts';

const asyncHandler = async (): Promise<string> => {
  await new Promise((r) => setTimeout(r, 1));
  return 'later';
};

function fetchOf(app: App, path: string, init?: RequestInit): Response | Promise<Response> {
  return app.fetch(new Request(`http://localhost${path}`, init));
}

describe('synchronous chains', () => {
  test('a synchronous handler behind pass-through middleware answers without a promise', () => {
    const app = new App();
    app.use(requestId());
    app.use(cors());
    app.use((c, next) => {
      c.header('x-a', '1');
      return next();
    });
    app.get('/', (c) => c.json({ ok: true }));
    const res = fetchOf(app, '/', { headers: { origin: 'https://a.example' } });
    assert.ok(res instanceof Response, 'no promise');
    assert.equal(res.headers.get('x-a'), '1');
    assert.equal(res.headers.get('access-control-allow-origin'), '*');
    assert.match(res.headers.get('x-request-id')!, /^[0-9a-f-]{36}$/);
  });

  test('serverTiming() stays synchronous over a synchronous rest, and adds its header', () => {
    const app = new App();
    app.use(requestId());
    app.use(serverTiming());
    app.get('/', (c) => c.text('ok'));
    const res = fetchOf(app, '/');
    assert.ok(res instanceof Response, 'no promise');
    assert.match(res.headers.get('server-timing')!, /^total;dur=\d+(\.\d)?$/);
    assert.ok(res.headers.get('x-request-id'));
  });

  const asyncCases: [string, (app: App) => void][] = [
    ['an async handler', (app) => app.get('/', asyncHandler)],
    [
      'an async middleware further in',
      (app) => {
        app.use(async (_c, next) => {
          await next();
        });
        app.get('/', () => 'now');
      },
    ],
  ];
  for (const [name, setup] of asyncCases) {
    test(`serverTiming() over ${name} answers through a promise, with its header`, async () => {
      const app = new App();
      app.use(serverTiming());
      setup(app);
      const out = fetchOf(app, '/');
      assert.ok(out instanceof Promise);
      const res = await out;
      assert.equal(res.status, 200);
      assert.match(res.headers.get('server-timing')!, /^total;dur=\d+(\.\d)?$/);
    });
  }

  test('a pass-through middleware over an async handler hands on the same response', async () => {
    const app = new App();
    const seen: Response[] = [];
    app.use(async (_c, next) => {
      seen.push(await next());
    });
    app.use((c, next) => {
      c.header('x-b', '2');
      return next();
    });
    app.get('/', asyncHandler);
    const res = await fetchOf(app, '/');
    assert.equal(await res.text(), 'later');
    assert.equal(seen[0], res);
    assert.equal(res.headers.get('x-b'), '2');
  });

  const throwers: [string, () => unknown][] = [
    [
      'synchronously',
      () => {
        throw new Error('sync boom');
      },
    ],
    ['asynchronously', () => Promise.reject(new Error('async boom'))],
  ];
  for (const [how, handler] of throwers) {
    test(`a handler that throws ${how} skips the after-work and reaches the error answer`, async () => {
      const after: string[] = [];
      const app = new App({ log: false });
      app.use(requestId());
      app.use(
        aroundMiddleware({
          before: () => 'state',
          after: (_c, _res, state) => after.push(state),
        }),
      );
      app.use((_c, next) => next());
      app.get('/', handler as () => string);
      const res = await fetchOf(app, '/');
      assert.equal(res.status, 500);
      assert.deepEqual(after, []);
      assert.ok(res.headers.get('x-request-id'), 'headers set before the error still arrive');
    });
  }

  test('a middleware that catches a synchronous throw from next() answers for it', async () => {
    const app = new App();
    app.use(async (c, next) => {
      try {
        return await next();
      } catch {
        return c.text('caught', 503);
      }
    });
    app.use((_c, next) => next());
    app.get('/', () => {
      throw new Error('x');
    });
    const res = await fetchOf(app, '/');
    assert.equal(res.status, 503);
    assert.equal(await res.text(), 'caught');
  });

  test('next() twice in a synchronous middleware still rejects with STRATA_ERR_NEXT_TWICE', async () => {
    const app = new App({ log: false });
    let second: Promise<Response> | undefined;
    app.use((_c, next) => {
      const first = next();
      second = next();
      second.catch(() => {});
      return first;
    });
    app.get('/', () => 'x');
    const res = await fetchOf(app, '/');
    assert.equal(res.status, 200);
    await assert.rejects(
      second!,
      (err: unknown) => err instanceof AppError && err.code === 'STRATA_ERR_NEXT_TWICE',
    );
  });

  test('a middleware that returns next() from an async wrapper is not mistaken for a pass-through', async () => {
    const app = new App();
    app.use(async (c, next) => {
      const res = await next();
      c.header('x-after', 'yes');
      return res;
    });
    app.get('/', () => 'x');
    const out = fetchOf(app, '/');
    assert.ok(out instanceof Promise);
    assert.equal((await out).headers.get('x-after'), 'yes');
  });
});

describe('aroundMiddleware() called as a plain middleware', () => {
  test('it is before; await next(); after', async () => {
    const order: string[] = [];
    const mw = aroundMiddleware({
      before: () => {
        order.push('before');
        return 7;
      },
      after: (_c, res, state) => order.push(`after ${res.status} ${state}`),
    });
    const fake = {} as Parameters<typeof mw>[0];
    await mw(fake, async () => {
      order.push('rest');
      return new Response(null, { status: 204 });
    });
    assert.deepEqual(order, ['before', 'rest', 'after 204 7']);
  });

  test('an error from the rest skips after and propagates', async () => {
    let ran = false;
    const mw = aroundMiddleware({
      before: () => undefined,
      after: () => {
        ran = true;
      },
    });
    await assert.rejects(
      mw({} as Parameters<typeof mw>[0], () => Promise.reject(new Error('down'))),
      /down/,
    );
    assert.equal(ran, false);
  });
});

describe('cors() under "*"', () => {
  const cases: [string, Record<string, string>, string | null][] = [
    ['with an Origin', { origin: 'https://a.example' }, '*'],
    ['without an Origin', {}, '*'],
    ['with a hostile Origin', { origin: 'null' }, '*'],
  ];
  for (const [name, headers, expected] of cases) {
    test(`a simple request ${name} gets ${expected}, no Vary`, async () => {
      const app = new App();
      app.use(cors({ exposeHeaders: ['x-request-id'] }));
      app.get('/', () => 'ok');
      const res = await app.request('/', { headers });
      assert.equal(res.headers.get('access-control-allow-origin'), expected);
      assert.equal(res.headers.get('access-control-expose-headers'), 'x-request-id');
      assert.equal(res.headers.get('vary'), null);
    });
  }

  test('OPTIONS without Access-Control-Request-Method is not a preflight', async () => {
    const app = new App();
    app.use(cors());
    app.get('/', () => 'ok');
    const res = await app.request('/', { method: 'OPTIONS' });
    assert.equal(res.status, 204);
    assert.equal(res.headers.get('access-control-allow-methods'), null);
    assert.equal(res.headers.get('access-control-allow-origin'), '*');
    assert.match(res.headers.get('allow')!, /GET/);
  });
});

describe('beforeMiddleware()', () => {
  const deny = beforeMiddleware((c) => (c.req.headers.get('x-key') === 'ok' ? undefined : c.text('no', 401)));

  const cases: [string, Record<string, string>, number, string][] = [
    ['passes on to the rest', { 'x-key': 'ok' }, 200, 'handler'],
    ['answers in place of the rest', {}, 401, 'no'],
    ['answers for a wrong key', { 'x-key': 'bad' }, 401, 'no'],
  ];
  for (const [name, headers, status, body] of cases) {
    test(`in a chain it ${name}, synchronously`, async () => {
      const app = new App();
      let after = 0;
      app.use(aroundMiddleware({ before: () => 0, after: () => after++ }));
      app.use(deny);
      app.get('/', () => 'handler');
      const res = fetchOf(app, '/', { headers });
      assert.ok(res instanceof Response, 'no promise');
      assert.equal(res.status, status);
      assert.equal(await res.text(), body);
      assert.equal(after, 1, 'outer middleware sees the answer either way');
    });
  }

  test('called as a plain middleware it is before(c) ?? next()', async () => {
    const pass = beforeMiddleware(() => undefined);
    const fake = {
      req: new Request('http://x/'),
      text: (body: string, status: number) => new Response(body, { status }),
    } as unknown as Parameters<typeof pass>[0];
    const rest = new Response('rest');
    assert.equal(await pass(fake, () => Promise.resolve(rest)), rest);
    const early = (await deny(fake, () => Promise.reject(new Error('not reached')))) as Response;
    assert.equal(early.status, 401);
  });

  test('a throw from it propagates outward like one from any middleware', async () => {
    const app = new App({ log: false });
    app.use(async (c, next) => {
      try {
        return await next();
      } catch (err) {
        return c.text(`caught ${(err as Error).message}`, 503);
      }
    });
    app.use(
      beforeMiddleware(() => {
        throw new Error('before');
      }),
    );
    app.get('/', () => 'x');
    const res = await fetchOf(app, '/');
    assert.equal(res.status, 503);
    assert.equal(await res.text(), 'caught before');
  });
});
