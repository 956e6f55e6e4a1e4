/**
 * Containment: whatever an app throws or returns, the answer is a 500 (or the error's own 4xx),
 * nothing leaks, nothing reaches the process as an uncaught exception or an unhandled
 * rejection, and the next request is served. Each hostile shape runs over a real server (a bare
 * fetch function and a strata App, on the fast lane and on node:http) and through app.request().
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { after, afterEach, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { App, type AppOptions, type Context, HttpError } from '../../src/app/index.ts';
import { type StrataServer, serve } from '../../src/server.ts';
import { memoryLogger } from '../fixtures/http.ts';

const trap = (): never => {
  throw new Error('trap');
};

/** A Proxy whose every trap throws (the handler is a Proxy that answers every trap name). */
function hostileProxy(): object {
  return new Proxy({}, new Proxy({}, { get: () => trap }));
}

/** A Proxy whose every trap throws another such Proxy. */
function proxyThrowingProxies(): object {
  return new Proxy(
    {},
    new Proxy(
      {},
      {
        get: () => () => {
          throw hostileProxy();
        },
      },
    ),
  );
}

function errorWithGetter(key: string): Error {
  const e = new Error('getter');
  Object.defineProperty(e, key, { get: trap, enumerable: true });
  return e;
}

/** Thrown values: each must answer 500 and leave the process serving. */
const THROWN: [string, () => unknown][] = [
  ['null', () => null],
  ['undefined', () => undefined],
  ['a string', () => 'thrown string'],
  ['a Symbol', () => Symbol('thrown')],
  ['a BigInt', () => 10n],
  ['a frozen object', () => Object.freeze({ status: 500, message: 'frozen' })],
  ['a frozen Error', () => Object.freeze(new Error('frozen error'))],
  [
    'an object whose status getter throws',
    () => ({
      get status(): number {
        throw new Error('status getter');
      },
    }),
  ],
  ['a Proxy whose every trap throws', hostileProxy],
  ['a Proxy whose traps throw Proxies', proxyThrowingProxies],
  [
    'an object whose toString, valueOf and toPrimitive throw',
    () => ({ toString: trap, valueOf: trap, [Symbol.toPrimitive]: trap }),
  ],
  ['an Error whose message getter throws', () => errorWithGetter('message')],
  ['an Error whose stack getter throws', () => errorWithGetter('stack')],
  ['an Error whose name getter throws', () => errorWithGetter('name')],
  ['an Error whose constructor getter throws', () => errorWithGetter('constructor')],
  ['an Error whose cause getter throws', () => errorWithGetter('cause')],
  [
    'an Error whose cause is itself',
    () => {
      const e = new Error('self cause');
      e.cause = e;
      return e;
    },
  ],
  [
    'two Errors that cause each other',
    () => {
      const a = new Error('a');
      a.cause = new Error('b', { cause: a });
      return a;
    },
  ],
  ['an object with a null prototype', () => Object.create(null)],
  ['an object with a non-integer status', () => ({ status: 404.5 })],
  ['a function with a throwing status', () => Object.defineProperty(() => {}, 'status', { get: trap })],
];

const badPromise = (): Promise<unknown> => {
  const p = Promise.resolve(new Response('never'));
  Object.defineProperty(p, 'constructor', { get: trap });
  return p;
};

/** Returned values: `both` also for an App handler (elsewhere a valid JSON answer). */
const RETURNED: { name: string; make: () => unknown; status: number; both: boolean }[] = [
  { name: 'a Proxy whose every trap throws', make: hostileProxy, status: 500, both: true },
  { name: 'a Proxy whose traps throw Proxies', make: proxyThrowingProxies, status: 500, both: true },
  {
    name: 'an object whose constructor getter throws',
    make: () => ({
      get constructor(): unknown {
        throw new Error('constructor getter');
      },
    }),
    status: 500,
    both: true,
  },
  { name: 'a Promise whose constructor getter throws', make: badPromise, status: 500, both: true },
  {
    name: 'an object posing as a Response (its prototype, none of its state)',
    make: () => Object.create(Response.prototype),
    status: 500,
    both: false,
  },
  {
    name: 'a Response whose status and headers getters throw',
    // The gateway writes a fast response from its own state, so the getters are never called.
    make: () => {
      const res = new Response('x');
      Object.defineProperty(res, 'status', { get: trap });
      Object.defineProperty(res, 'headers', { get: trap });
      return res;
    },
    status: 200,
    both: false,
  },
  {
    name: 'a Proxy posing as a Response (its prototype is Response.prototype, every other trap throws)',
    make: () =>
      new Proxy(
        {},
        new Proxy({ getPrototypeOf: () => Response.prototype } as ProxyHandler<object>, {
          get: (handler, trap) => (trap in handler ? Reflect.get(handler, trap) : trap),
        }),
      ),
    status: 500,
    both: false,
  },
  { name: 'an object with a null prototype', make: () => Object.create(null), status: 500, both: false },
  // biome-ignore lint/suspicious/noThenProperty: a hostile thenable is the case under test.
  { name: 'a thenable whose then throws', make: () => ({ then: trap }), status: 500, both: false },
  {
    name: 'a thenable that resolves, rejects and throws',
    make: () => ({
      // biome-ignore lint/suspicious/noThenProperty: a hostile thenable is the case under test.
      then(resolve: (v: unknown) => void, reject: (e: unknown) => void) {
        resolve(new Response('first'));
        reject(hostileProxy());
        resolve(hostileProxy());
        throw hostileProxy();
      },
    }),
    status: 200,
    both: false,
  },
  { name: 'a Symbol', make: () => Symbol('returned'), status: 500, both: false },
  { name: 'a BigInt', make: () => 1n, status: 500, both: true },
];

/** The shape the path names: /throw/3, /reject/3, /return/3, /resolve/3. */
function pick(path: string): { how: string; value: () => unknown; status: number } | undefined {
  const [, how, index] = path.split('/');
  const i = Number(index);
  if (how === 'throw' || how === 'reject') return { how, value: THROWN[i]![1], status: 500 };
  if (how === 'return' || how === 'resolve')
    return { how, value: RETURNED[i]!.make, status: RETURNED[i]!.status };
  return undefined;
}

function answer(path: string): unknown {
  const shape = pick(path);
  if (shape === undefined) return new Response('fine');
  if (shape.how === 'throw') throw shape.value();
  if (shape.how === 'reject') return Promise.reject(shape.value());
  if (shape.how === 'return') return shape.value();
  return new Promise((resolve) => setImmediate(() => resolve(shape.value())));
}

function fetchTarget(request: Request): Response {
  return answer(new URL(request.url).pathname) as Response;
}

function appTarget(log: NonNullable<AppOptions['log']>): App {
  const app = new App({ log });
  app.get('/ok', (c) => c.text('fine'));
  app.get('/:how/:i', (c) => answer(c.req.url.slice(c.req.url.indexOf('/', 8))) as Response);
  return app;
}

// Anything that escapes the error path would end the process: record it instead and fail.
const escaped: unknown[] = [];
const onEscape = (error: unknown): void => {
  escaped.push(error);
};

before(() => {
  process.on('uncaughtException', onEscape);
  process.on('unhandledRejection', onEscape);
});
after(() => {
  process.off('uncaughtException', onEscape);
  process.off('unhandledRejection', onEscape);
});
afterEach(() => {
  assert.deepEqual(escaped, [], 'nothing escaped as an uncaught exception or unhandled rejection');
});

function paths(forApp: boolean): { path: string; name: string; status: number }[] {
  const out: { path: string; name: string; status: number }[] = [];
  THROWN.forEach(([name], i) => {
    out.push({ path: `/throw/${i}`, name: `throws ${name}`, status: 500 });
    out.push({ path: `/reject/${i}`, name: `rejects with ${name}`, status: 500 });
  });
  RETURNED.forEach((r, i) => {
    if (forApp && !r.both) return;
    out.push({ path: `/return/${i}`, name: `returns ${r.name}`, status: r.status });
    out.push({ path: `/resolve/${i}`, name: `resolves to ${r.name}`, status: r.status });
  });
  return out;
}

const servers = [
  { target: 'a fetch function', fastLane: true },
  { target: 'a fetch function', fastLane: false },
  { target: 'an App', fastLane: true },
  { target: 'an App', fastLane: false },
];

for (const { target, fastLane } of servers) {
  describe(`over serve(): ${target}, ${fastLane ? 'fast lane' : 'node:http'}`, () => {
    let server: StrataServer;
    const { logger, lines } = memoryLogger();
    const appLog: unknown[] = [];
    const forApp = target === 'an App';

    before(async () => {
      const app = forApp ? appTarget((_level, error) => appLog.push(error)) : fetchTarget;
      server = await serve(app, { port: 0, logger, fastLane });
    });
    after(() => server.close());

    const logged = (): number => (forApp ? appLog.length : lines.filter((l) => l.level === 50).length);

    for (const { path, name, status } of paths(forApp)) {
      test(`${name}: ${status}, logged once, and the next request is served`, async () => {
        const before = logged();
        const res = await fetch(server.url + path, { signal: AbortSignal.timeout(3000) });
        assert.equal(res.status, status);
        const body = await res.text();
        assert.doesNotMatch(body, /trap|getter|frozen|self cause|thrown/, 'no detail of the thrown value');
        const next = await fetch(`${server.url}/ok`, { signal: AbortSignal.timeout(3000) });
        assert.equal(next.status, 200);
        assert.equal(await next.text(), 'fine');
        assert.equal(logged() - before, status === 500 ? 1 : 0);
        for (const line of lines.filter((l) => l.level === 50)) {
          const err = line.err as { message?: unknown; type?: unknown };
          assert.equal(typeof err.message, 'string');
          assert.equal(typeof err.type, 'string');
        }
      });
    }
  });
}

describe('through app.request()', () => {
  const app = appTarget(false);
  for (const { path, name, status } of paths(true)) {
    test(`${name}: ${status}`, async () => {
      const res = await app.request(path);
      assert.equal(res.status, status);
      assert.equal(res.headers.get('content-type'), 'application/problem+json');
      const problem = (await res.json()) as Record<string, unknown>;
      assert.equal(problem.status, status);
      assert.equal(problem.detail, undefined);
      assert.equal((await app.request('/ok')).status, 200);
    });
  }

  test('in dev mode the hostile values still answer 500 (dev reads message and stack too)', async () => {
    const dev = new App({ dev: true, log: false });
    dev.get('/:how/:i', (c) => answer(c.req.url.slice(c.req.url.indexOf('/', 8))) as Response);
    for (const { path } of paths(true)) {
      const res = await dev.request(path, { headers: { accept: 'text/html' } });
      assert.equal(res.status, 500, path);
      await res.text();
    }
  });

  const hostileHooks: [string, (app: App) => void][] = [
    [
      'an onError that throws a hostile Proxy',
      (a) =>
        a.onError(() => {
          throw hostileProxy();
        }),
    ],
    ['an onError that returns a hostile Proxy', (a) => a.onError(() => hostileProxy() as Response)],
    ['an onError that resolves to a hostile Proxy', (a) => a.onError(async () => hostileProxy() as Response)],
    [
      'an onError that returns a Promise with a throwing constructor',
      (a) => a.onError(() => badPromise() as Promise<Response>),
    ],
    [
      'an onError whose Response cannot take the pending headers',
      (a) =>
        a.onError(() => {
          const res = new Response('x');
          Object.defineProperty(res, 'headers', { get: trap });
          return res;
        }),
    ],
  ];
  for (const [name, install] of hostileHooks) {
    test(`${name}: the default 500`, async () => {
      const a = new App({ log: false });
      a.use(async (c: Context, next) => {
        c.header('x-pending', '1');
        await next();
      });
      a.get('/fail', () => {
        throw new Error('fail');
      });
      install(a);
      const res = await a.request('/fail');
      assert.equal(res.status, 500);
      await res.text();
    });
  }

  // The same shapes from middleware (compose reads what a middleware returns or resolves to).
  RETURNED.forEach((r, i) => {
    if (!r.both) return;
    for (const when of ['instead of next()', 'after await next()', 'from an around middleware']) {
      test(`a middleware returning ${r.name} ${when}: ${r.status}`, async () => {
        const a = new App({ log: false });
        if (when === 'instead of next()') a.use((_c, _next) => RETURNED[i]!.make() as Response);
        else if (when === 'after await next()')
          a.use(async (_c, next) => {
            await next();
            return RETURNED[i]!.make() as Response;
          });
        else a.use((_c, next) => next().then(() => RETURNED[i]!.make() as Response));
        a.get('/m', (c) => c.text('handler'));
        const res = await a.request('/m');
        assert.equal(res.status, r.status);
        await res.text();
      });
    }
  });

  test('a log function that throws (a hostile value) does not change the answer', async () => {
    const a = new App({
      log: () => {
        throw hostileProxy();
      },
    });
    a.get('/fail', () => {
      throw new HttpError(404, 'gone');
    });
    const res = await a.request('/fail');
    assert.equal(res.status, 404);
  });

  test('a Response whose headers getter throws, with headers pending: 500', async () => {
    const a = new App({ log: false });
    a.get('/r', (c) => {
      c.header('x-pending', '1');
      const res = new Response('x');
      Object.defineProperty(res, 'headers', { get: trap });
      return res;
    });
    const res = await a.request('/r');
    assert.equal(res.status, 500);
  });
});

describe('the default app logger (pino on stdout)', () => {
  test('writes one well-formed line per hostile 5xx and does not crash', async () => {
    const appUrl = new URL('../../src/app/index.ts', import.meta.url).href;
    // The default logger writes to fd 1, so it runs in a child whose stdout the test reads.
    const script = `
      import { App } from ${JSON.stringify(appUrl)};
      const trap = () => { throw new Error('trap'); };
      const proxy = () => new Proxy({}, new Proxy({}, { get: () => trap }));
      const self = new Error('self'); self.cause = self;
      const getter = new Error('g'); Object.defineProperty(getter, 'message', { get: trap });
      const shapes = [() => Object.freeze(new Error('frozen')), proxy, () => self, () => getter,
        () => Symbol('s'), () => 1n, () => null, () => ({ get status() { throw new Error('s'); } })];
      const app = new App();
      app.get('/:i', (c) => { throw shapes[Number(c.params.i)](); });
      const statuses = [];
      for (let i = 0; i < shapes.length; i++) statuses.push((await app.request('/' + i)).status);
      process.stderr.write(JSON.stringify(statuses));
    `;
    const { stdout, stderr } = await new Promise<{ stdout: string; stderr: string }>((resolve, reject) => {
      execFile(
        process.execPath,
        ['--input-type=module', '-e', script],
        { cwd: fileURLToPath(new URL('../..', import.meta.url)), timeout: 10_000 },
        (err, out, errOut) =>
          err ? reject(Object.assign(err, { stderr: errOut })) : resolve({ stdout: out, stderr: errOut }),
      );
    });
    assert.deepEqual(JSON.parse(stderr), [500, 500, 500, 500, 500, 500, 500, 500]);
    const lines = stdout
      .trim()
      .split('\n')
      .map(
        (l) => JSON.parse(l) as { level: number; err: { message: string; type: string; cause?: unknown } },
      );
    assert.equal(lines.length, 8);
    for (const line of lines) {
      assert.equal(line.level, 50);
      assert.equal(typeof line.err.message, 'string');
      assert.equal(typeof line.err.type, 'string');
    }
    assert.match(lines[0]!.err.message, /frozen/);
    assert.equal(lines[2]!.err.cause, '[circular]');
  });
});

describe('what an error answer may carry', () => {
  const app = new App({ log: false });
  const cases: [string, () => unknown][] = [
    [
      'a plain 5xx object',
      () => ({ status: 500, headers: { 'set-cookie': 'sid=evil', location: 'https://evil.example' } }),
    ],
    [
      'an Error with status 503 and expose: true',
      () =>
        Object.assign(new Error('db at 10.0.0.5 password=hunter2'), {
          status: 503,
          expose: true,
          headers: { 'set-cookie': 'sid=evil', location: 'https://evil.example' },
          extensions: { internal: 'x' },
          type: 'https://evil.example/t',
        }),
    ],
    [
      'a plain object with status 400 and expose: true',
      () => ({
        status: 400,
        expose: true,
        message: 'db at 10.0.0.5',
        headers: { location: 'https://evil.example' },
      }),
    ],
  ];
  cases.forEach(([name, make], i) => {
    app.get(`/c${i}`, () => {
      throw make();
    });
    test(`${name}: no headers, no detail, no extensions`, async () => {
      const res = await app.request(`/c${i}`);
      assert.equal(res.headers.get('set-cookie'), null);
      assert.equal(res.headers.get('location'), null);
      const problem = (await res.json()) as Record<string, unknown>;
      assert.equal(problem.detail, undefined);
      assert.equal(problem.internal, undefined);
      assert.equal(problem.type, 'about:blank');
    });
  });

  test('an HttpError still sets its headers, type and extensions; a 4xx shows its message', async () => {
    const a = new App({ log: false });
    a.get('/h', () => {
      throw new HttpError(429, 'slow down', {
        headers: { 'retry-after': '5' },
        type: 'https://example.com/rate',
        extensions: { limit: 10 },
      });
    });
    const res = await a.request('/h');
    assert.equal(res.status, 429);
    assert.equal(res.headers.get('retry-after'), '5');
    const problem = (await res.json()) as Record<string, unknown>;
    assert.equal(problem.detail, 'slow down');
    assert.equal(problem.limit, 10);
    assert.equal(problem.type, 'https://example.com/rate');
  });

  test('an Error (http-errors style) with expose: true and a 4xx sets headers and shows its message', async () => {
    const a = new App({ log: false });
    a.get('/e', () => {
      throw Object.assign(new Error('Too big'), { status: 413, expose: true, headers: { 'x-limit': '10' } });
    });
    const res = await a.request('/e');
    assert.equal(res.status, 413);
    assert.equal(res.headers.get('x-limit'), '10');
    assert.equal(((await res.json()) as { detail: string }).detail, 'Too big');
  });

  test('a 5xx HttpError shows its message only with expose: true, and dev mode shows it', async () => {
    const a = new App({ log: false });
    a.get('/hidden', () => {
      throw new HttpError(503, 'db at 10.0.0.5');
    });
    a.get('/shown', () => {
      throw new HttpError(503, 'down for maintenance', { expose: true });
    });
    assert.equal(((await (await a.request('/hidden')).json()) as { detail?: string }).detail, undefined);
    assert.equal(
      ((await (await a.request('/shown')).json()) as { detail?: string }).detail,
      'down for maintenance',
    );
    const dev = new App({ log: false, dev: true });
    dev.get('/x', () => {
      throw Object.assign(new Error('internal detail'), { status: 500 });
    });
    assert.equal(((await (await dev.request('/x')).json()) as { detail?: string }).detail, 'internal detail');
  });

  test('hostile extensions or headers on an HttpError: the answer drops them, keeps the status', async () => {
    const a = new App({ log: false });
    a.get('/x', () => {
      throw new HttpError(409, 'conflict', {
        extensions: { big: 1n } as Record<string, unknown>,
        headers: { 'bad name': 'x' },
      });
    });
    const res = await a.request('/x');
    assert.equal(res.status, 409);
    assert.equal(((await res.json()) as { detail: string }).detail, 'conflict');
  });
});

describe('the server: exposure of thrown errors', () => {
  test('a 5xx Error with expose: true shows nothing outside dev', async () => {
    const server = await serve(
      () => {
        throw Object.assign(new Error('db at 10.0.0.5'), { status: 502, expose: true });
      },
      { port: 0, logger: false },
    );
    try {
      const res = await fetch(server.url, { signal: AbortSignal.timeout(3000) });
      assert.equal(res.status, 502);
      assert.doesNotMatch(await res.text(), /10\.0\.0\.5/);
    } finally {
      await server.close();
    }
  });
});
