import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import { App, createMiddleware, jwt, publicRoute, requireScope } from '../../../src/index.ts';
import { makeKey, sign, startJwksServer } from '../../fixtures/auth.ts';

const SECRET = 'a-secret-of-at-least-thirty-two-bytes!';
const hs = { privateKey: new TextEncoder().encode(SECRET), alg: 'HS256' };

describe('jwt()', () => {
  test('a valid HS256 token: claims in c.get("jwt"), the user in c.get("user")', async () => {
    const app = new App();
    app.get('/me', jwt<{ name: string }>({ secret: SECRET }), (c) =>
      c.json({ sub: c.get('jwt').sub, name: c.get('user').name }),
    );
    const token = await sign(hs, { sub: 'u1', name: 'Ada' });
    const res = await app.request('/me', { headers: { authorization: `Bearer ${token}` } });
    assert.equal(res.status, 200);
    assert.deepEqual(await res.json(), { sub: 'u1', name: 'Ada' });
  });

  test('the scheme is case-insensitive and extra spaces are allowed', async () => {
    const app = new App();
    app.get('/', jwt({ secret: SECRET }), (c) => c.text('ok'));
    const token = await sign(hs);
    const res = await app.request('/', { headers: { authorization: `bEaReR   ${token}` } });
    assert.equal(res.status, 200);
  });

  test('no token: 401, WWW-Authenticate: Bearer realm, problem+json', async () => {
    const app = new App();
    app.get('/', jwt({ secret: SECRET, realm: 'api' }), (c) => c.text('ok'));
    const res = await app.request('/');
    assert.equal(res.status, 401);
    assert.equal(res.headers.get('www-authenticate'), 'Bearer realm="api"');
    assert.equal(res.headers.get('content-type'), 'application/problem+json');
    assert.equal((await res.json()).status, 401);
  });

  test('a Basic header is not a bearer token: 401 without error code', async () => {
    const app = new App();
    app.get('/', jwt({ secret: SECRET }), (c) => c.text('ok'));
    const res = await app.request('/', { headers: { authorization: 'Basic dTpw' } });
    assert.equal(res.status, 401);
    assert.equal(res.headers.get('www-authenticate'), 'Bearer');
  });

  test('a user mapping function: its value is c.get("user"); undefined is 401', async () => {
    const users = new Map([['u1', { id: 'u1', role: 'admin' }]]);
    const app = new App();
    const auth = jwt<{}, { id: string; role: string }>({
      secret: SECRET,
      user: (claims) => users.get(claims.sub ?? ''),
    });
    app.get('/', auth, (c) => c.json(c.get('user')));
    const ok = await app.request('/', {
      headers: { authorization: `Bearer ${await sign(hs, { sub: 'u1' })}` },
    });
    assert.deepEqual(await ok.json(), { id: 'u1', role: 'admin' });
    const gone = await app.request('/', {
      headers: { authorization: `Bearer ${await sign(hs, { sub: 'u2' })}` },
    });
    assert.equal(gone.status, 401);
    assert.match(gone.headers.get('www-authenticate')!, /error="invalid_token"/);
  });

  test('the token from a cookie when there is no header', async () => {
    const app = new App();
    app.get('/', jwt({ secret: SECRET, cookie: 'at' }), (c) => c.text(String(c.get('jwt').sub)));
    const res = await app.request('/', { headers: { cookie: `at=${await sign(hs, { sub: 'c1' })}` } });
    assert.equal(await res.text(), 'c1');
  });

  test('optional: no token goes on without a user; a bad token is still 401', async () => {
    const app = new App();
    app.get('/', jwt({ secret: SECRET, optional: true }), publicRoute(), (c) =>
      c.text(c.get('user') === undefined ? 'anonymous' : 'user'),
    );
    assert.equal(await (await app.request('/')).text(), 'anonymous');
    const bad = await app.request('/', { headers: { authorization: 'Bearer a.b.c' } });
    assert.equal(bad.status, 401);
  });

  test('issuer, audience and clock skew are checked', async () => {
    const app = new App();
    app.get('/', jwt({ secret: SECRET, issuer: 'https://id.example', audience: 'api', clockSkew: 30 }), (c) =>
      c.text('ok'),
    );
    const now = Math.floor(Date.now() / 1000);
    const good = await sign(hs, { iss: 'https://id.example', aud: 'api', exp: now - 10 });
    assert.equal((await app.request('/', { headers: { authorization: `Bearer ${good}` } })).status, 200);
    const late = await sign(hs, { iss: 'https://id.example', aud: 'api', exp: now - 60 });
    const res = await app.request('/', { headers: { authorization: `Bearer ${late}` } });
    assert.equal(res.status, 401);
    assert.match(res.headers.get('www-authenticate')!, /error_description="The token has expired"/);
  });

  test('an asymmetric public key (ES256 CryptoKey) verifies its tokens', async () => {
    const key = await makeKey('e1', 'ES256');
    const app = new App();
    app.get('/', jwt({ key: key.publicKey }), (c) => c.text('ok'));
    const res = await app.request('/', { headers: { authorization: `Bearer ${await sign(key)}` } });
    assert.equal(res.status, 200);
  });

  test('a public JWK (EdDSA) verifies its tokens', async () => {
    const key = await makeKey('o1', 'EdDSA');
    const app = new App();
    app.get('/', jwt({ key: key.jwk }), (c) => c.text('ok'));
    const res = await app.request('/', { headers: { authorization: `Bearer ${await sign(key)}` } });
    assert.equal(res.status, 200);
  });

  test('requireScope(): 403 insufficient_scope without the scope', async () => {
    const app = new App();
    app.get('/', jwt({ secret: SECRET }), requireScope('orders:write'), (c) => c.text('ok'));
    const ok = await app.request('/', {
      headers: { authorization: `Bearer ${await sign(hs, { scope: 'orders:read orders:write' })}` },
    });
    assert.equal(ok.status, 200);
    const no = await app.request('/', {
      headers: { authorization: `Bearer ${await sign(hs, { scope: 'orders:read' })}` },
    });
    assert.equal(no.status, 403);
    assert.equal(
      no.headers.get('www-authenticate'),
      'Bearer error="insufficient_scope", scope="orders:write"',
    );
  });

  test('configuration mistakes throw STRATA_ERR_AUTH_CONFIG at creation', () => {
    const bad: unknown[] = [
      {},
      { secret: 'short' },
      { secret: SECRET, algorithms: ['none'] },
      { secret: SECRET, algorithms: ['RS256'] },
      { secret: `-----BEGIN PUBLIC KEY-----${'x'.repeat(40)}` },
      { secret: SECRET, jwks: { url: 'http://127.0.0.1/' } },
      { jwks: { url: 'file:///etc/passwd' } },
      { jwks: { url: 'http://127.0.0.1/' }, algorithms: ['HS256'] },
      { key: { kty: 'RSA', n: 'x', e: 'AQAB', d: 'private' } },
    ];
    for (const options of bad) {
      assert.throws(
        () => jwt(options as never),
        (e: Error & { code?: string }) => e.code === 'STRATA_ERR_AUTH_CONFIG',
        JSON.stringify(options),
      );
    }
  });

  test('a private CryptoKey and an RS algorithm for an EC key are refused', async () => {
    const ec = await makeKey('e', 'ES256');
    assert.throws(() => jwt({ key: ec.privateKey }), /public key/);
    assert.throws(() => jwt({ key: ec.publicKey, algorithms: ['RS256'] }), /cannot be verified/);
  });

  test('typed: the variables reach handlers through createMiddleware and app.use chains', async () => {
    const app = new App().use(jwt<{ tenant: string }>({ secret: SECRET }));
    app.get('/', (c) => c.text(c.get('jwt').tenant));
    const res = await app.request('/', {
      headers: { authorization: `Bearer ${await sign(hs, { tenant: 't9' })}` },
    });
    assert.equal(await res.text(), 't9');
    void createMiddleware;
  });
});

describe('jwt() with a JWKS URL', () => {
  const servers: { close(): Promise<void> }[] = [];
  after(async () => {
    for (const s of servers) await s.close();
  });

  test('fetches once, caches, and picks up a rotated-in key (unknown kid refetches)', async () => {
    const a = await makeKey('a');
    const b = await makeKey('b');
    const server = await startJwksServer([a.jwk]);
    servers.push(server);
    const app = new App();
    app.get('/', jwt({ jwks: { url: server.url, cooldown: 0 } }), (c) => c.text('ok'));
    const call = async (token: string) =>
      (await app.request('/', { headers: { authorization: `Bearer ${token}` } })).status;
    assert.equal(await call(await sign(a)), 200);
    assert.equal(await call(await sign(a)), 200);
    assert.equal(server.requests, 1, 'the set is cached');
    server.keys = [b.jwk];
    assert.equal(await call(await sign(b)), 200, 'rotated-in key');
    assert.equal(server.requests, 2);
  });
});
