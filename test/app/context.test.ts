import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { App, serializeCookie } from '../../src/app/index.ts';

const SECRET_OLD = 'old-secret-old-secret-old-secret-0000';
const SECRET_NEW = 'new-secret-new-secret-new-secret-1111';

describe('context: request side', () => {
  test('query: first values, repeated ones via queries(), nothing parsed until asked', async () => {
    const app = new App();
    app.get('/', (c) => c.json({ q: c.query, all: c.queries('a'), none: c.query.missing ?? null }));
    const res = await app.request('/?a=1&a=2&b=x%20y&c=');
    assert.deepEqual(await res.json(), { q: { a: '1', b: 'x y', c: '' }, all: ['1', '2'], none: null });
  });

  test('query keys cannot pollute prototypes', async () => {
    const app = new App();
    app.get('/', (c) =>
      c.json({ proto: Object.getPrototypeOf(c.query), polluted: ({} as Record<string, unknown>).x ?? null }),
    );
    const res = await app.request('/?__proto__[x]=1&__proto__=2&constructor=3');
    assert.deepEqual(await res.json(), { proto: null, polluted: null });
  });

  test('typed per-request values with set/get', async () => {
    const app = new App<{ user: { name: string } }>();
    app.use(async (c, next) => {
      c.set('user', { name: 'ada' });
      await next();
    });
    app.get('/', (c) => c.text(c.get('user').name));
    assert.equal(await (await app.request('/')).text(), 'ada');
  });

  test('cookies are parsed once, quoted and encoded values handled, bad pairs skipped', async () => {
    const app = new App();
    app.get('/', (c) => c.json(c.cookies));
    const res = await app.request('/', {
      headers: { cookie: 'a=1; b="quoted"; c=caf%C3%A9; broken; d=%E0%A4%A; a=2' },
    });
    assert.deepEqual(await res.json(), { a: '1', b: 'quoted', c: 'café', d: '%E0%A4%A' });
  });
});

describe('context: response side', () => {
  test('status, headers, html, redirect, empty', async () => {
    const app = new App();
    app.get('/html', (c) => c.status(201).header('x-a', '1').html('<p>hi</p>'));
    app.get('/go', (c) => c.redirect('/there', 301));
    app.get('/empty', (c) => c.empty());
    const html = await app.request('/html');
    assert.equal(html.status, 201);
    assert.equal(html.headers.get('x-a'), '1');
    assert.equal(html.headers.get('content-type'), 'text/html; charset=utf-8');
    const go = await app.request('/go');
    assert.equal(go.status, 301);
    assert.equal(go.headers.get('location'), '/there');
    assert.equal((await app.request('/empty')).status, 204);
  });

  test('Set-Cookie with every attribute, and several cookies kept apart', async () => {
    const app = new App();
    app.get('/', (c) => {
      c.setCookie('a', 'v 1', {
        maxAge: 60,
        domain: 'example.com',
        path: '/p',
        secure: true,
        sameSite: 'Strict',
        partitioned: true,
        priority: 'High',
      });
      c.setCookie('__Host-b', 'x', { httpOnly: false });
      c.deleteCookie('old');
      return c.text('ok');
    });
    const cookies = (await app.request('/')).headers.getSetCookie();
    assert.deepEqual(cookies.slice(0, 2), [
      'a=v%201; Max-Age=60; Domain=example.com; Path=/p; Secure; HttpOnly; SameSite=Strict; Partitioned; Priority=High',
      '__Host-b=x; Path=/; Secure; SameSite=Lax',
    ]);
    assert.match(cookies[2]!, /^old=; Max-Age=0; Expires=Thu, 01 Jan 1970 00:00:00 GMT; Path=\//);
  });

  const badCookies: [string, string, object][] = [
    ['bad name', 'a b', {}],
    ['name with ;', 'a;b', {}],
    ['domain injection', 'a', { domain: 'x.com; Secure' }],
    ['path with newline', 'a', { path: '/\r\nSet-Cookie: evil=1' }],
    ['__Host- with a domain', '__Host-a', { domain: 'x.com' }],
    ['__Host- with a path', '__Host-a', { path: '/x' }],
  ];
  for (const [name, cookie, options] of badCookies) {
    test(`refuses a cookie with ${name}`, () => {
      assert.throws(() => serializeCookie(cookie, 'v', options), TypeError);
    });
  }
  test('values are encoded, so they cannot inject attributes', () => {
    assert.equal(serializeCookie('a', 'x; Domain=evil').split(';')[0], 'a=x%3B%20Domain%3Devil');
  });
});

describe('signed cookies', () => {
  const signer = new App({ cookieSecrets: [SECRET_OLD] });
  signer.get('/', (c) => {
    c.setCookie('session', 'user-7', { signed: true });
    return c.text('ok');
  });

  async function issued(): Promise<string> {
    const cookie = (await signer.request('/')).headers.getSetCookie()[0]!;
    return cookie.slice(0, cookie.indexOf(';'));
  }

  function reader(secrets: string[]): App {
    const app = new App({ cookieSecrets: secrets });
    app.get('/', (c) => c.json({ session: c.signedCookie('session') ?? null }));
    return app;
  }

  test('verify with the same secret, and with the old secret after rotation', async () => {
    const cookie = await issued();
    assert.deepEqual(await (await reader([SECRET_OLD]).request('/', { headers: { cookie } })).json(), {
      session: 'user-7',
    });
    const rotated = reader([SECRET_NEW, SECRET_OLD]);
    assert.deepEqual(await (await rotated.request('/', { headers: { cookie } })).json(), {
      session: 'user-7',
    });
    const dropped = reader([SECRET_NEW]);
    assert.deepEqual(await (await dropped.request('/', { headers: { cookie } })).json(), { session: null });
  });

  test('tampered values and signatures moved to another cookie are refused', async () => {
    const cookie = await issued();
    const value = decodeURIComponent(cookie.slice('session='.length));
    const tampered = [
      `session=${encodeURIComponent(value.replace('user-7', 'user-1'))}`,
      `session=${encodeURIComponent(`${value}x`)}`,
      'session=user-7',
      'session=.',
      `other=${encodeURIComponent(value)}; session=${encodeURIComponent(`user-7.${value.split('.')[1]}`)}extra`,
    ];
    for (const cookieHeader of tampered) {
      const res = await reader([SECRET_OLD]).request('/', { headers: { cookie: cookieHeader } });
      assert.deepEqual(await res.json(), { session: null }, cookieHeader);
    }
  });
});
