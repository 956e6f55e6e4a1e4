/**
 * The attack catalogue of the auth middleware: forged algorithms, key confusion, stale and
 * foreign tokens, rotated and unreachable key sets, malformed headers and credentials.
 */
import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import { exportSPKI } from 'jose';
import {
  App,
  apiKey,
  basicAuth,
  bearer,
  createPasswordHasher,
  decodeBasic,
  jwt,
  type Kdf,
  nodeKdf,
  timingSafeEqual,
} from '../../src/index.ts';
import { b64url, makeKey, sign, startJwksServer } from '../fixtures/auth.ts';

const SECRET = 'a-secret-of-at-least-thirty-two-bytes!';
const hs = { privateKey: new TextEncoder().encode(SECRET), alg: 'HS256' };
const now = () => Math.floor(Date.now() / 1000);

function appWith(mw: ReturnType<typeof jwt>): App {
  const app = new App({ log: false });
  app.get('/', mw, (c) => c.text('in'));
  return app;
}

async function status(app: App, authorization: string | undefined): Promise<number> {
  const headers: Record<string, string> = {};
  if (authorization !== undefined) headers.authorization = authorization;
  const res = await app.request('/', { headers });
  await res.arrayBuffer();
  return res.status;
}

/** An unsigned token (RFC 7519 §6). */
function unsecured(claims: Record<string, unknown>, alg = 'none'): string {
  return `${b64url(JSON.stringify({ alg, typ: 'JWT' }))}.${b64url(JSON.stringify({ exp: now() + 3600, ...claims }))}.`;
}

/** An HS256 token whose HMAC key is `secret` (bytes of the attacker's choice), signed by hand. */
async function hmacToken(secret: Uint8Array, claims: Record<string, unknown>, kid?: string): Promise<string> {
  const header = b64url(JSON.stringify(kid === undefined ? { alg: 'HS256' } : { alg: 'HS256', kid }));
  const payload = b64url(JSON.stringify({ exp: now() + 3600, ...claims }));
  const key = await crypto.subtle.importKey(
    'raw',
    secret as Uint8Array<ArrayBuffer>,
    { name: 'HMAC', hash: 'SHA-256' },
    false,
    ['sign'],
  );
  const sig = await crypto.subtle.sign('HMAC', key, new TextEncoder().encode(`${header}.${payload}`));
  return `${header}.${payload}.${b64url(new Uint8Array(sig))}`;
}

describe('JWT attacks', () => {
  const servers: { close(): Promise<void> }[] = [];
  after(async () => {
    for (const s of servers) await s.close();
  });

  test('alg "none" (any case) is refused with a secret, a public key and a JWKS', async () => {
    const rsa = await makeKey('r1');
    const server = await startJwksServer([rsa.jwk]);
    servers.push(server);
    const apps = [
      appWith(jwt({ secret: SECRET })),
      appWith(jwt({ key: rsa.publicKey })),
      appWith(jwt({ key: rsa.jwk })),
      appWith(jwt({ jwks: { url: server.url } })),
    ];
    for (const app of apps) {
      for (const alg of ['none', 'None', 'NONE', 'nOnE']) {
        assert.equal(await status(app, `Bearer ${unsecured({ sub: 'admin' }, alg)}`), 401, alg);
      }
    }
  });

  test('HS256 signed with the RSA public key (PEM, DER, JWK) as the secret is refused', async () => {
    const rsa = await makeKey('r1');
    const server = await startJwksServer([rsa.jwk]);
    servers.push(server);
    const pem = await exportSPKI(rsa.publicKey);
    const der = new Uint8Array(await crypto.subtle.exportKey('spki', rsa.publicKey));
    const secrets = [
      new TextEncoder().encode(pem),
      new TextEncoder().encode(`${pem}\n`),
      der,
      new TextEncoder().encode(JSON.stringify(rsa.jwk)),
    ];
    const apps = [
      appWith(jwt({ key: rsa.publicKey })),
      appWith(jwt({ key: rsa.jwk })),
      appWith(jwt({ jwks: { url: server.url } })),
    ];
    for (const app of apps) {
      for (const secret of secrets) {
        assert.equal(await status(app, `Bearer ${await hmacToken(secret, { sub: 'admin' }, 'r1')}`), 401);
      }
      // The real key still works: the refusal is the algorithm's.
      assert.equal(await status(app, `Bearer ${await sign(rsa)}`), 200);
    }
  });

  test('a secret never verifies an RS token, even one signed by a key whose public half is the secret', async () => {
    const rsa = await makeKey('r1');
    const pem = await exportSPKI(rsa.publicKey);
    const app = appWith(jwt({ secret: pem.replace(/-----[A-Z ]+-----/g, '') }));
    assert.equal(await status(app, `Bearer ${await sign(rsa)}`), 401);
  });

  test('expired and not-yet-valid tokens, with and without clock skew', async () => {
    const strict = appWith(jwt({ secret: SECRET }));
    const lenient = appWith(jwt({ secret: SECRET, clockSkew: 30 }));
    const expired = await sign(hs, { exp: now() - 10 });
    const early = await sign(hs, { nbf: now() + 10 });
    const farExpired = await sign(hs, { exp: now() - 120 });
    const farEarly = await sign(hs, { nbf: now() + 120 });
    assert.equal(await status(strict, `Bearer ${expired}`), 401);
    assert.equal(await status(strict, `Bearer ${early}`), 401);
    assert.equal(await status(lenient, `Bearer ${expired}`), 200);
    assert.equal(await status(lenient, `Bearer ${early}`), 200);
    assert.equal(await status(lenient, `Bearer ${farExpired}`), 401);
    assert.equal(await status(lenient, `Bearer ${farEarly}`), 401);
    const res = await strict.request('/', { headers: { authorization: `Bearer ${early}` } });
    assert.match(
      res.headers.get('www-authenticate')!,
      /error="invalid_token", error_description="The token is not valid yet"/,
    );
  });

  test('a token without exp is refused unless requireExp: false', async () => {
    const noExp = await sign(hs, { exp: undefined });
    assert.equal(await status(appWith(jwt({ secret: SECRET })), `Bearer ${noExp}`), 401);
    assert.equal(await status(appWith(jwt({ secret: SECRET, requireExp: false })), `Bearer ${noExp}`), 200);
  });

  test('wrong or missing audience and issuer are refused', async () => {
    const app = appWith(jwt({ secret: SECRET, issuer: 'https://id.example', audience: ['api', 'admin'] }));
    const cases: [Record<string, unknown>, number][] = [
      [{ iss: 'https://id.example', aud: 'api' }, 200],
      [{ iss: 'https://id.example', aud: ['other', 'admin'] }, 200],
      [{ iss: 'https://id.example', aud: 'other' }, 401],
      [{ iss: 'https://id.example' }, 401],
      [{ iss: 'https://evil.example', aud: 'api' }, 401],
      [{ aud: 'api' }, 401],
      [{ iss: 'https://id.example/', aud: 'api' }, 401],
    ];
    for (const [claims, expected] of cases) {
      assert.equal(await status(app, `Bearer ${await sign(hs, claims)}`), expected, JSON.stringify(claims));
    }
  });

  test('a tampered payload or signature is refused', async () => {
    const app = appWith(jwt({ secret: SECRET }));
    const token = await sign(hs, { sub: 'user' });
    const [h, , s] = token.split('.');
    const forged = `${h}.${b64url(JSON.stringify({ sub: 'admin', exp: now() + 3600 }))}.${s}`;
    assert.equal(await status(app, `Bearer ${forged}`), 401);
    const flipped = token.slice(0, -2) + (token.at(-2) === 'A' ? 'B' : 'A') + token.at(-1);
    assert.equal(await status(app, `Bearer ${flipped}`), 401);
  });

  test('a token from a key rotated out of the JWKS is refused after the next fetch', async () => {
    const a = await makeKey('a');
    const b = await makeKey('b');
    const server = await startJwksServer([a.jwk]);
    servers.push(server);
    const app = appWith(jwt({ jwks: { url: server.url, cooldown: 0 } }));
    const oldToken = await sign(a);
    assert.equal(await status(app, `Bearer ${oldToken}`), 200);
    server.keys = [b.jwk];
    assert.equal(await status(app, `Bearer ${await sign(b)}`), 200, 'the rotation is fetched');
    assert.equal(await status(app, `Bearer ${oldToken}`), 401, 'the old key is gone');
  });

  test('a JWKS server that is down: cached keys keep working, an unknown kid is 401, no fetch per request', async () => {
    const a = await makeKey('a');
    const unknown = await makeKey('zz');
    const server = await startJwksServer([a.jwk]);
    servers.push(server);
    // The cache is stale after 1 ms: every request would refetch if the outage were not handled.
    const app = appWith(jwt({ jwks: { url: server.url, cacheMaxAge: 1, cooldown: 60_000 } }));
    const token = await sign(a);
    assert.equal(await status(app, `Bearer ${token}`), 200);
    server.mode = 'error';
    await new Promise((r) => setTimeout(r, 5));
    const before = server.requests;
    for (let i = 0; i < 5; i++) assert.equal(await status(app, `Bearer ${token}`), 200, 'stale-if-error');
    assert.equal(await status(app, `Bearer ${await sign(unknown)}`), 401, 'unknown kid');
    assert.equal(server.requests - before, 1, 'one attempt, then the cooldown');
  });

  test('a JWKS server down before any fetch: 503 with Retry-After, never 500; a hanging one times out', async () => {
    const a = await makeKey('a');
    const server = await startJwksServer([a.jwk]);
    servers.push(server);
    server.mode = 'error';
    const app = appWith(jwt({ jwks: { url: server.url } }));
    const res = await app.request('/', { headers: { authorization: `Bearer ${await sign(a)}` } });
    assert.equal(res.status, 503);
    assert.equal(res.headers.get('retry-after'), '30');
    server.mode = 'hang';
    const hanging = appWith(jwt({ jwks: { url: server.url, timeout: 100 } }));
    assert.equal(await status(hanging, `Bearer ${await sign(a)}`), 503);
  });

  test('a JWKS that answers garbage is a source failure (503), not a crash', async () => {
    const a = await makeKey('a');
    const server = await startJwksServer([{ kty: 'nonsense' } as never]);
    servers.push(server);
    const app = appWith(jwt({ jwks: { url: server.url } }));
    assert.notEqual(await status(app, `Bearer ${await sign(a)}`), 500);
  });

  test('malformed tokens and headers are 400 or 401, never 500', async () => {
    const app = appWith(jwt({ secret: SECRET }));
    const good = await sign(hs);
    const cases: [string, number][] = [
      ['Bearer', 400],
      ['Bearer ', 400],
      ['Bearer a b', 400],
      ['Bearer a,b', 400],
      [`Bearer ${good}, Bearer ${good}`, 400],
      ['Bearer ...', 401],
      ['Bearer a.b.c', 401],
      ['Bearer a.b', 401],
      [`Bearer ${good}.x`, 401],
      [`Bearer ${'a'.repeat(9000)}`, 400],
      [`Bearer ${b64url('{')}.${b64url('{}')}.x`, 401],
      [`Bearer ${b64url('[]')}.${b64url('{}')}.x`, 401],
      [`Bearer ${b64url('{"alg":"HS256","crit":["x"]}')}.${b64url('{}')}.x`, 401],
      [`Bearer ${b64url('{"alg":"HS256"}')}.${b64url('null')}.x`, 401],
      [`Bearer ${b64url('{"alg":"HS256","b64":false,"crit":["b64"]}')}.e30.x`, 401],
      [`Bearer ${b64url('{"alg":"HS256"}')}.${b64url('{"exp":"soon"}')}.x`, 401],
      ['Token abc', 401],
      [':', 401],
      ['', 401],
    ];
    for (const [header, expected] of cases) {
      assert.equal(await status(app, header), expected, header.slice(0, 60));
    }
  });
});

describe('Basic, bearer and API key attacks', () => {
  const basic = () => {
    const app = new App({ log: false });
    app.get('/', basicAuth({ users: { alice: 'wonderland' }, realm: 'Admin "area"' }), (c) => c.text('in'));
    return app;
  };

  test('bad base64, no colon, invalid UTF-8, control characters and huge values: 401 with the challenge', async () => {
    const app = basic();
    const cases = [
      'Basic',
      'Basic !!!!',
      'Basic YWxpY2U', // unpadded
      `Basic ${btoa('alicewonderland')}`, // no colon
      `Basic ${btoa('alice:wonder\nland')}`,
      `Basic ${Buffer.from([0x61, 0x3a, 0xff, 0xfe]).toString('base64')}`, // not UTF-8
      `Basic ${btoa('alice:wonderland')} extra`,
      `Basic ${btoa(`alice:${'x'.repeat(10_000)}`)}`,
      `Basic ${'A'.repeat(100_000)}`,
      `Basic ${btoa('alice:wonderland').replace('=', '')}=====`,
      `Basic  ${btoa('alice:wrong')}`,
      `Basic ${btoa('bob:wonderland')}`,
      `Basic ${btoa(':wonderland')}`,
    ];
    for (const header of cases) {
      const res = await app.request('/', { headers: { authorization: header } });
      assert.equal(res.status, 401, header.slice(0, 40));
      assert.equal(res.headers.get('www-authenticate'), 'Basic realm="Admin \\"area\\"", charset="UTF-8"');
      assert.equal(res.headers.get('content-type'), 'application/problem+json');
    }
    const ok = await app.request('/', { headers: { authorization: `basic ${btoa('alice:wonderland')}` } });
    assert.equal(ok.status, 200);
  });

  test('decodeBasic keeps colons in the password and UTF-8 names', () => {
    const utf8 = Buffer.from('zoë:pa:ss').toString('base64');
    assert.deepEqual(decodeBasic(utf8), { username: 'zoë', password: 'pa:ss' });
  });

  test('a realm cannot inject header syntax', async () => {
    const app = new App({ log: false });
    app.get('/', basicAuth({ users: { a: 'b' }, realm: 'x", evil="1\r\nSet-Cookie: a=b' }), (c) =>
      c.text('in'),
    );
    const res = await app.request('/');
    assert.equal(
      res.headers.get('www-authenticate'),
      'Basic realm="x\\", evil=\\"1Set-Cookie: a=b", charset="UTF-8"',
    );
    assert.equal(res.headers.get('set-cookie'), null);
  });

  test('bearer(): the token reaches verify only when well-formed; a rejected one is invalid_token', async () => {
    const seen: string[] = [];
    const app = new App({ log: false });
    app.get(
      '/',
      bearer({
        verify: (t) => {
          seen.push(t);
          return t === 'good-token' ? { id: 1 } : undefined;
        },
      }),
      (c) => c.json(c.get('user')),
    );
    assert.equal((await app.request('/', { headers: { authorization: 'Bearer good-token' } })).status, 200);
    const bad = await app.request('/', { headers: { authorization: 'Bearer nope' } });
    assert.equal(bad.status, 401);
    assert.equal(
      bad.headers.get('www-authenticate'),
      'Bearer error="invalid_token", error_description="The token is invalid"',
    );
    const malformed = await app.request('/', { headers: { authorization: 'Bearer a"b' } });
    assert.equal(malformed.status, 400);
    assert.match(malformed.headers.get('www-authenticate')!, /error="invalid_request"/);
    assert.deepEqual(seen, ['good-token', 'nope']);
  });

  test('apiKey(): every key is compared; missing, wrong and huge keys are 401', async () => {
    const app = new App({ log: false });
    const keys = ['k'.repeat(32), 'm'.repeat(32)];
    app.get('/', apiKey({ keys }), (c) => c.json(c.get('user')));
    assert.deepEqual(await (await app.request('/', { headers: { 'x-api-key': keys[1]! } })).json(), {
      key: 1,
    });
    for (const value of [undefined, '', 'k'.repeat(31), 'k'.repeat(33), 'x'.repeat(10_000)]) {
      const headers: Record<string, string> = value === undefined ? {} : { 'x-api-key': value };
      const res = await app.request('/', { headers });
      assert.equal(res.status, 401);
      assert.equal(res.headers.get('www-authenticate'), 'ApiKey header="x-api-key"');
    }
    assert.throws(() => apiKey({ keys: ['short'] }), /at least 16/);
  });

  test('timingSafeEqual: equal, different, prefix and different-length secrets', async () => {
    assert.equal(await timingSafeEqual('secret-value', 'secret-value'), true);
    assert.equal(await timingSafeEqual('secret-value', 'secret-valuf'), false);
    assert.equal(await timingSafeEqual('secret', 'secret-value'), false);
    assert.equal(await timingSafeEqual('', ''), true);
    assert.equal(await timingSafeEqual(new Uint8Array([1, 2]), new Uint8Array([1, 2])), true);
  });
});

describe('password timing: behaviour, not clocks', () => {
  /** The real KDF, counted, with cheap parameters. */
  function counted(): { kdf: Kdf; calls: { algorithm: string; length: number; params: string }[] } {
    const calls: { algorithm: string; length: number; params: string }[] = [];
    return {
      calls,
      kdf: (algorithm, password, salt, params, length) => {
        calls.push({ algorithm, length, params: JSON.stringify(params) });
        return nodeKdf(algorithm, password, salt, params, length);
      },
    };
  }

  for (const algorithm of ['argon2id', 'scrypt'] as const) {
    test(`${algorithm}: a right password, a wrong one and an unknown user each run the KDF once, alike`, async () => {
      const { kdf, calls } = counted();
      const hasher = createPasswordHasher({
        algorithm,
        argon2: { m: 1024, t: 1, p: 1 },
        scrypt: { ln: 10, r: 8, p: 1 },
        kdf,
      });
      const stored = await hasher.hash('correct horse');
      calls.length = 0;
      assert.equal(await hasher.verify('correct horse', stored), true);
      assert.equal(await hasher.verify('wrong horse', stored), false);
      assert.equal(await hasher.verify('correct horse', undefined), false);
      assert.equal(await hasher.verify('correct horse', '$argon2id$garbage'), false);
      assert.equal(calls.length, 4, 'one derivation per verification');
      assert.equal(
        new Set(calls.map((c) => JSON.stringify(c))).size,
        1,
        'the same algorithm, parameters and length',
      );
    });
  }

  test('the stored hash and the computed one are compared over equal lengths (a truncated hash is false)', async () => {
    const hasher = createPasswordHasher({ algorithm: 'scrypt', scrypt: { ln: 10, r: 8, p: 1 } });
    const stored = await hasher.hash('pw');
    const truncated = stored.slice(0, -4);
    assert.equal(await hasher.verify('pw', truncated), false);
  });
});
