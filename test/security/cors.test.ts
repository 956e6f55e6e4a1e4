/**
 * CORS with credentials: a configuration that would let any origin read credentialed responses
 * is refused when the middleware is made, and the opaque origin `null` is never allowed unless a
 * list names it.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { App, AppError, type CorsOptions, cors } from '../../src/app/index.ts';

function appWith(options: CorsOptions): App {
  const app = new App({ log: false });
  app.use(cors(options));
  app.get('/data', (c) => c.json({ secret: 'per-user' }));
  return app;
}

async function allowed(app: App, origin: string, preflight = false): Promise<string | null> {
  const res = preflight
    ? await app.request('/data', {
        method: 'OPTIONS',
        headers: { origin, 'access-control-request-method': 'GET' },
      })
    : await app.request('/data', { headers: { origin } });
  await res.arrayBuffer();
  return res.headers.get('access-control-allow-origin');
}

describe('cors({ credentials: true }) needs explicit origins', () => {
  const refused: [string, CorsOptions][] = [
    ['no origin (the default "*")', { credentials: true }],
    ['origin "*"', { origin: '*', credentials: true }],
  ];
  for (const [name, options] of refused) {
    test(`${name}: refused at construction with STRATA_ERR_CORS_CREDENTIALS`, () => {
      assert.throws(
        () => cors(options),
        (err: unknown) =>
          err instanceof AppError &&
          err.code === 'STRATA_ERR_CORS_CREDENTIALS' &&
          /list the origins|function/.test(err.message),
      );
    });
  }

  test('a list, a single origin or a function are accepted', () => {
    assert.doesNotThrow(() => cors({ origin: ['https://app.example'], credentials: true }));
    assert.doesNotThrow(() => cors({ origin: 'https://app.example', credentials: true }));
    assert.doesNotThrow(() => cors({ origin: (o) => o, credentials: true }));
    assert.doesNotThrow(() => cors({ origin: '*' }));
  });
});

describe('the opaque origin "null"', () => {
  const cases: { name: string; options: CorsOptions; expect: string | null }[] = [
    {
      name: 'a list without it',
      options: { origin: ['https://app.example'], credentials: true },
      expect: null,
    },
    { name: 'a list that names it', options: { origin: ['null'], credentials: true }, expect: 'null' },
    {
      name: 'a function that reflects everything',
      options: { origin: (o) => o, credentials: true },
      expect: null,
    },
    { name: 'a function without credentials', options: { origin: (o) => o }, expect: null },
    {
      name: 'a single other origin',
      options: { origin: 'https://app.example', credentials: true },
      expect: 'https://app.example',
    },
    { name: '"*" without credentials (no reflection at all)', options: { origin: '*' }, expect: '*' },
  ];
  for (const { name, options, expect } of cases) {
    for (const preflight of [false, true]) {
      test(`${name}${preflight ? ' (preflight)' : ''}: Access-Control-Allow-Origin is ${expect}`, async () => {
        const app = appWith(options);
        assert.equal(await allowed(app, 'null', preflight), expect);
      });
    }
  }

  test('credentials are not announced to a refused origin', async () => {
    const app = appWith({ origin: (o) => o, credentials: true });
    const res = await app.request('/data', { headers: { origin: 'null' } });
    assert.equal(res.headers.get('access-control-allow-credentials'), null);
    const good = await app.request('/data', { headers: { origin: 'https://app.example' } });
    assert.equal(good.headers.get('access-control-allow-origin'), 'https://app.example');
    assert.equal(good.headers.get('access-control-allow-credentials'), 'true');
  });

  test('a function that answers something other than a string refuses', async () => {
    const app = appWith({ origin: () => 42 as unknown as string, credentials: true });
    assert.equal(await allowed(app, 'https://app.example'), null);
  });
});

describe('preflight caching', () => {
  const preflight = (app: App) =>
    app.request('/x', {
      method: 'OPTIONS',
      headers: { origin: 'https://a.example', 'access-control-request-method': 'PUT' },
    });

  test('a preflight is cached 600 s by default (one per ten minutes, not one per request)', async () => {
    const app = new App().use(cors()).put('/x', (c) => c.text('ok'));
    assert.equal((await preflight(app)).headers.get('access-control-max-age'), '600');
  });

  test('maxAge is configurable, 0 included; a bad one is refused at construction', async () => {
    const app = new App().use(cors({ maxAge: 0 })).put('/x', (c) => c.text('ok'));
    assert.equal((await preflight(app)).headers.get('access-control-max-age'), '0');
    for (const bad of [-1, 1.5, Number.NaN, Number.POSITIVE_INFINITY])
      assert.throws(() => cors({ maxAge: bad }), TypeError, String(bad));
  });
});
