import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { App, cors, requestId, serverTiming } from '../../../src/app/index.ts';

describe('requestId()', () => {
  test('makes an id, exposes it to handlers, the response and error answers', async () => {
    const app = new App();
    app.use(requestId());
    app.get('/', (c) => c.text(c.get('requestId') as string));
    app.get('/fail', () => {
      throw new Error('x');
    });
    const res = await app.request('/');
    const id = res.headers.get('x-request-id')!;
    assert.match(id, /^[0-9a-f-]{36}$/);
    assert.equal(await res.text(), id);
    const fail = await app.request('/fail');
    assert.equal((await fail.json()).requestId, fail.headers.get('x-request-id'));
  });

  const incoming: [string, boolean][] = [
    ['abc-123', true],
    ['a'.repeat(129), false],
    ['has space', false],
    ['semi;colon', true],
    ['quo"te', false],
    ['back\\slash', false],
    ['', false],
  ];
  for (const [value, kept] of incoming) {
    test(`a trusted incoming id ${JSON.stringify(value.slice(0, 20))} is ${kept ? 'kept' : 'replaced'}`, async () => {
      const app = new App();
      app.use(requestId({ trustIncoming: true }));
      app.get('/', (c) => c.text('ok'));
      const res = await app.request('/', { headers: { 'x-request-id': value } });
      if (kept) assert.equal(res.headers.get('x-request-id'), value);
      else assert.notEqual(res.headers.get('x-request-id'), value);
    });
  }

  test('untrusted incoming ids are never echoed', async () => {
    const app = new App();
    app.use(requestId());
    app.get('/', (c) => c.text('ok'));
    const res = await app.request('/', { headers: { 'x-request-id': 'attacker-chosen' } });
    assert.notEqual(res.headers.get('x-request-id'), 'attacker-chosen');
  });
});

describe('cors()', () => {
  test('simple requests get Access-Control-Allow-Origin, also on errors', async () => {
    const app = new App();
    app.use(cors());
    app.get('/', (c) => c.text('ok'));
    const res = await app.request('/', { headers: { origin: 'https://a.example' } });
    assert.equal(res.headers.get('access-control-allow-origin'), '*');
    const missing = await app.request('/missing', { headers: { origin: 'https://a.example' } });
    assert.equal(missing.status, 404);
    assert.equal(missing.headers.get('access-control-allow-origin'), '*');
  });

  test('preflight is answered before routing, with the allowed methods and headers', async () => {
    const app = new App();
    app.use(cors({ maxAge: 600 }));
    app.post('/items', (c) => c.text('ok'));
    const res = await app.request('/items', {
      method: 'OPTIONS',
      headers: {
        origin: 'https://a.example',
        'access-control-request-method': 'POST',
        'access-control-request-headers': 'x-token',
      },
    });
    assert.equal(res.status, 204);
    assert.equal(res.headers.get('access-control-allow-origin'), '*');
    assert.match(res.headers.get('access-control-allow-methods')!, /POST/);
    assert.equal(res.headers.get('access-control-allow-headers'), 'x-token');
    assert.equal(res.headers.get('access-control-max-age'), '600');
  });

  test('an allow list echoes allowed origins, refuses others, and varies by Origin', async () => {
    const app = new App();
    app.use(cors({ origin: ['https://good.example'], credentials: true, exposeHeaders: ['x-total'] }));
    app.get('/', (c) => c.text('ok'));
    const good = await app.request('/', { headers: { origin: 'https://good.example' } });
    assert.equal(good.headers.get('access-control-allow-origin'), 'https://good.example');
    assert.equal(good.headers.get('access-control-allow-credentials'), 'true');
    assert.equal(good.headers.get('access-control-expose-headers'), 'x-total');
    assert.match(good.headers.get('vary')!, /Origin/);
    const bad = await app.request('/', { headers: { origin: 'https://evil.example' } });
    assert.equal(bad.headers.get('access-control-allow-origin'), null);
    assert.equal(bad.headers.get('access-control-allow-credentials'), null);
    assert.match(bad.headers.get('vary')!, /Origin/);
  });
});

describe('serverTiming()', () => {
  test('adds Server-Timing with the duration of the rest of the chain', async () => {
    const app = new App();
    app.use(serverTiming());
    app.get('/', async (c) => {
      await new Promise((r) => setTimeout(r, 20));
      return c.text('ok');
    });
    const res = await app.request('/');
    const match = /^total;dur=([0-9.]+)$/.exec(res.headers.get('server-timing')!);
    assert.ok(match, res.headers.get('server-timing')!);
    assert.ok(Number(match[1]) >= 15, `took ${match[1]} ms`);
  });

  test('on a response with immutable headers (a redirect, as a fetch() result): a copy with the header', async () => {
    const app = new App({ log: false });
    app.use(serverTiming());
    app.get('/sync', () => Response.redirect('http://127.0.0.1/next', 302));
    app.get('/async', async () => Response.redirect('http://127.0.0.1/next', 307));
    for (const [path, status] of [
      ['/sync', 302],
      ['/async', 307],
    ] as const) {
      const res = await app.request(path);
      assert.equal(res.status, status, path);
      assert.equal(res.headers.get('location'), 'http://127.0.0.1/next');
      assert.match(res.headers.get('server-timing') ?? '', /^total;dur=[0-9.]+$/, path);
    }
  });
});

describe('c.header() after next()', () => {
  test('answers with a copy when the headers are immutable, in place otherwise', async () => {
    const app = new App({ log: false });
    let sameObject: boolean | undefined;
    app.use(async (c, next) => {
      const res = await next();
      c.header('x-after', '1');
      c.header('x-after', '2', { append: true });
      sameObject = c.res === res;
    });
    app.get('/redirect', () => Response.redirect('http://127.0.0.1/x', 302));
    app.get('/plain', (c) => c.text('plain'));
    const redirect = await app.request('/redirect');
    assert.equal(redirect.status, 302);
    assert.equal(redirect.headers.get('x-after'), '1, 2');
    assert.equal(sameObject, false);
    const plain = await app.request('/plain');
    assert.equal(await plain.text(), 'plain');
    assert.equal(plain.headers.get('x-after'), '1, 2');
    assert.equal(sameObject, true);
  });
});
