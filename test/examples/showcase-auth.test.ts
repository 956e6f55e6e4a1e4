/**
 * The showcase's identity and security over a real server: the login form and its session
 * cookie, the admin page behind requireRole, CSRF refusals, the rate-limited quote route, the
 * security headers, and the OpenAPI document with its Swagger UI page.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { Validator } from '@seriousme/openapi-schema-validator';
import { serve } from '../../src/server.ts';

// The showcase's SQLite file: one in memory for this process, not the repository's data/showcase.db
// (set before the app is imported: it opens the database as it loads).
process.env.SHOWCASE_DATA = ':memory:';
const { default: showcase } = await import('../../examples/showcase/app.ts');

type Server = Awaited<ReturnType<typeof serve>>;
let server: Server;

before(async () => {
  server = await serve(showcase, { port: 0, logger: false });
});
after(async () => {
  await server.close();
});

const FORM = 'application/x-www-form-urlencoded';

/** A browser's cookie jar, reduced to what the showcase needs: name=value, expiry by Max-Age=0. */
class Jar {
  readonly #cookies = new Map<string, string>();
  take(res: Response): void {
    for (const line of res.headers.getSetCookie()) {
      const [pair] = line.split(';');
      const at = pair!.indexOf('=');
      const name = pair!.slice(0, at);
      if (/;\s*Max-Age=0/i.test(line)) this.#cookies.delete(name);
      else this.#cookies.set(name, pair!.slice(at + 1));
    }
  }
  get(name: string): string | undefined {
    return this.#cookies.get(name);
  }
  get header(): string {
    return [...this.#cookies].map(([k, v]) => `${k}=${v}`).join('; ');
  }
}

/** A request with the jar's cookies, no redirect following; the answer's cookies go back in. */
async function go(jar: Jar, path: string, init: RequestInit = {}): Promise<Response> {
  const headers = new Headers(init.headers);
  if (jar.header !== '') headers.set('cookie', jar.header);
  const res = await fetch(`${server.url}${path}`, { ...init, headers, redirect: 'manual' });
  jar.take(res);
  return res;
}

/** The hidden `_csrf` field of a page's form. */
function tokenIn(html: string): string {
  const token = /name="_csrf" value="([^"]+)"/.exec(html)?.[1];
  assert.ok(token !== undefined, 'the page has a form with a CSRF token');
  return token;
}

/** Opens the login form, then posts it (as a browser would: same-origin Fetch Metadata). */
async function logIn(jar: Jar, username: string, password: string, next = '/'): Promise<Response> {
  const form = await go(jar, '/login');
  assert.equal(form.status, 200);
  const _csrf = tokenIn(await form.text());
  return go(jar, '/login', {
    method: 'POST',
    headers: { 'content-type': FORM, 'sec-fetch-site': 'same-origin', origin: server.url },
    body: new URLSearchParams({ _csrf, username, password, next }),
  });
}

async function me(jar: Jar): Promise<unknown> {
  return (await (await go(jar, '/api/me')).json()).user;
}

describe('login, sessions and the admin page', () => {
  test('an anonymous visitor of /admin is sent to the login form, and the home page offers it', async () => {
    const jar = new Jar();
    const res = await go(jar, '/admin');
    assert.equal(res.status, 303);
    assert.equal(res.headers.get('location'), '/login?next=%2Fadmin');
    assert.equal(jar.header, '', 'no session for a visitor who did nothing');
    const home = await (await go(jar, '/')).text();
    assert.match(home, /Not signed in\. <a href="\/login">Log in<\/a>/);
    assert.equal(await me(jar), null);
  });

  test('a wrong password or an unknown user is 401 with the form again, and no session user', async () => {
    const jar = new Jar();
    for (const [user, password] of [
      ['alice', 'not-her-password'],
      ['mallory', 'wonderland'],
    ] as const) {
      const res = await logIn(jar, user, password);
      assert.equal(res.status, 401);
      const html = await res.text();
      assert.match(html, /<p class="error" id="error">Wrong username or password\.<\/p>/);
      assert.match(html, /name="_csrf"/, 'the form comes back, with its token');
      assert.equal(await me(jar), null);
    }
  });

  test('alice logs in: a new session cookie, the admin page, /api/me; logout ends it', async () => {
    const jar = new Jar();
    await go(jar, '/login');
    const before = jar.get('sid');
    assert.ok(before !== undefined, 'the login form starts a session for its CSRF token');
    const res = await logIn(jar, 'alice', 'wonderland', '/admin');
    assert.equal(res.status, 303);
    assert.equal(res.headers.get('location'), '/admin');
    const cookie = res.headers.getSetCookie().find((line) => line.startsWith('sid='));
    assert.ok(cookie !== undefined, 'login sets the session cookie');
    // Plain http: not Secure (secure: 'auto'), so no __Host- prefix either; always HttpOnly, Lax.
    assert.match(cookie, /; Path=\/; HttpOnly; SameSite=Lax$/);
    assert.doesNotMatch(cookie, /Secure/);
    assert.notEqual(jar.get('sid'), before, 'the session is regenerated at login');

    const admin = await go(jar, '/admin');
    assert.equal(admin.status, 200);
    const html = await admin.text();
    assert.match(html, /<h1>Admin<\/h1>/);
    assert.match(html, /Signed in as <b>alice<\/b> \(admin\)/);
    assert.match(html, /<code>\$argon2id\$v=19\$/, 'the stored hashes are argon2id PHC strings');
    assert.doesNotMatch(html, /wonderland|builder/, 'no password on the admin page');
    assert.deepEqual(await me(jar), { name: 'alice', role: 'admin' });
    assert.match(await (await go(jar, '/')).text(), /Signed in as <b>alice<\/b> \(admin\)\. <form/);

    const logout = await go(jar, '/logout', {
      method: 'POST',
      headers: { 'content-type': FORM, 'sec-fetch-site': 'same-origin' },
      body: new URLSearchParams({ _csrf: tokenIn(html) }),
    });
    assert.equal(logout.status, 303);
    assert.equal(logout.headers.get('location'), '/');
    assert.equal(jar.get('sid'), undefined, 'logout expires the cookie');
    assert.equal(await me(jar), null);
    assert.equal((await go(jar, '/admin')).status, 303);
  });

  test('bob logs in and gets 403 from the admin page; a tampered cookie is no session', async () => {
    const jar = new Jar();
    const res = await logIn(jar, 'bob', 'builder', '/admin');
    assert.equal(res.status, 303);
    assert.deepEqual(await me(jar), { name: 'bob', role: 'user' });
    const admin = await go(jar, '/admin', { headers: { accept: 'application/json' } });
    assert.equal(admin.status, 403);
    assert.equal(admin.headers.get('content-type'), 'application/problem+json');
    // The cookie is sealed (AES-GCM): a changed character makes it no session at all.
    const sid = jar.get('sid')!;
    const tampered = `sid=${sid.slice(0, 40)}${sid[40] === 'A' ? 'B' : 'A'}${sid.slice(41)}`;
    const probe = await fetch(`${server.url}/api/me`, { headers: { cookie: tampered } });
    assert.deepEqual(await probe.json(), { user: null });
    const page = await fetch(`${server.url}/admin`, { headers: { cookie: tampered }, redirect: 'manual' });
    assert.equal(page.status, 303);
  });

  test('only a local path is a place to go after login (no open redirect)', async () => {
    const form = await (await fetch(`${server.url}/login?next=//evil.example/x`)).text();
    assert.match(form, /name="next" value="\/"/);
    const jar = new Jar();
    const res = await logIn(jar, 'bob', 'builder', '/\\evil.example');
    assert.equal(res.headers.get('location'), '/');
  });
});

describe('CSRF', () => {
  test('a cross-site POST is refused even with a valid session, token and password', async () => {
    const jar = new Jar();
    const _csrf = tokenIn(await (await go(jar, '/login')).text());
    const body = () => new URLSearchParams({ _csrf, username: 'alice', password: 'wonderland' });
    const crossSite = await go(jar, '/login', {
      method: 'POST',
      headers: { 'content-type': FORM, 'sec-fetch-site': 'cross-site', origin: 'https://evil.example' },
      body: body(),
    });
    assert.equal(crossSite.status, 403);
    assert.equal((await crossSite.json()).reason, 'csrf');
    // An older browser: no Fetch Metadata, a foreign Origin.
    const foreign = await go(jar, '/login', {
      method: 'POST',
      headers: { 'content-type': FORM, origin: 'https://evil.example' },
      body: body(),
    });
    assert.equal(foreign.status, 403);
    assert.equal(await me(jar), null, 'no refused request signed anyone in');
    // Neither header: the token decides (a script or an old browser).
    const noToken = await go(jar, '/login', {
      method: 'POST',
      headers: { 'content-type': FORM },
      body: new URLSearchParams({ username: 'alice', password: 'wonderland' }),
    });
    assert.equal(noToken.status, 403);
    const withToken = await go(jar, '/login', {
      method: 'POST',
      headers: { 'content-type': FORM },
      body: body(),
    });
    assert.equal(withToken.status, 303);
    assert.deepEqual(await me(jar), { name: 'alice', role: 'admin' });
  });

  test('a cross-site logout does not sign alice out', async () => {
    const jar = new Jar();
    assert.equal((await logIn(jar, 'alice', 'wonderland')).status, 303);
    const res = await go(jar, '/logout', {
      method: 'POST',
      headers: { 'content-type': FORM, 'sec-fetch-site': 'cross-site' },
      body: '',
    });
    assert.equal(res.status, 403);
    assert.deepEqual(await me(jar), { name: 'alice', role: 'admin' });
  });
});

describe('rate limiting', () => {
  test('GET /api/quote answers 429 with Retry-After once its burst of 5 is spent', async () => {
    const first = await fetch(`${server.url}/api/quote`);
    assert.equal(first.status, 200);
    assert.equal(first.headers.get('ratelimit-policy'), '"quote";q=5;w=10');
    assert.match(first.headers.get('ratelimit')!, /^"quote";r=4;t=\d+$/);
    const quote = await first.json();
    assert.equal(typeof quote.text, 'string');
    let ok = 1;
    let refused: Response | undefined;
    // Bounded: 5 in a burst, then one per 2 s; however slow the machine, 20 requests cross it.
    for (let i = 0; i < 20 && refused === undefined; i++) {
      const res = await fetch(`${server.url}/api/quote`);
      if (res.status === 429) refused = res;
      else {
        assert.equal(res.status, 200);
        ok++;
        await res.body?.cancel();
      }
    }
    assert.ok(refused !== undefined, 'a 429 came');
    assert.ok(ok >= 5 && ok <= 9, `${ok} quotes before the 429 (5 at once, at most 9 in any 10 s)`);
    assert.equal(refused.headers.get('content-type'), 'application/problem+json');
    assert.match(refused.headers.get('retry-after')!, /^[1-9]\d*$/);
    assert.match(refused.headers.get('ratelimit')!, /^"quote";r=0;t=\d+$/);
    assert.equal((await refused.json()).status, 429);
    // Only this route is limited.
    assert.equal((await fetch(`${server.url}/api/status`)).status, 200);
    // A script on another origin may read the budget too.
    const cross = await fetch(`${server.url}/api/quote`, {
      headers: { origin: 'https://elsewhere.example' },
    });
    assert.equal(cross.headers.get('access-control-allow-origin'), '*');
    assert.match(
      cross.headers.get('access-control-expose-headers')!,
      /RateLimit, RateLimit-Policy, Retry-After/,
    );
  });
});

describe('security headers', () => {
  test('every page carries the CSP with a fresh nonce, and its inline scripts carry that nonce', async () => {
    const nonces = new Set<string>();
    for (const path of ['/', '/chat', '/login']) {
      const res = await fetch(`${server.url}${path}`);
      assert.equal(res.status, 200);
      const csp = res.headers.get('content-security-policy')!;
      const nonce = /'nonce-([^']+)'/.exec(csp)?.[1];
      assert.ok(nonce !== undefined, `${path}: the CSP has a nonce`);
      assert.doesNotMatch(csp, /unsafe-inline[^;]*;.*script-src|script-src[^;]*unsafe-inline/);
      assert.doesNotMatch(csp, /upgrade-insecure-requests/, 'not on plain http');
      nonces.add(nonce);
      const html = await res.text();
      for (const tag of html.match(/<script[^>]*>/g) ?? []) {
        assert.ok(
          tag.includes(`nonce="${nonce}"`) || / src=/.test(tag),
          `${path}: ${tag} runs under the CSP`,
        );
      }
      assert.equal(res.headers.get('x-content-type-options'), 'nosniff');
      assert.equal(res.headers.get('x-frame-options'), 'SAMEORIGIN');
      assert.equal(res.headers.get('referrer-policy'), 'no-referrer');
      assert.equal(res.headers.get('strict-transport-security'), null, 'HSTS only over https');
    }
    assert.equal(nonces.size, 3, 'a new nonce per response');
  });
});

describe('the API docs', () => {
  test('/openapi.json is a valid OpenAPI 3.1 document of the API routes, without the pages', async () => {
    const res = await fetch(`${server.url}/openapi.json`);
    assert.equal(res.status, 200);
    assert.match(res.headers.get('content-type')!, /^application\/json/);
    const doc = await res.json();
    const result = await new Validator().validate(doc);
    assert.equal(result.valid, true, JSON.stringify(result.errors, null, 2));
    assert.equal(doc.info.title, 'strata showcase API');
    assert.deepEqual(Object.keys(doc.paths).sort(), [
      '/api/clock',
      '/api/fail',
      '/api/greetings',
      '/api/hello/{name}',
      '/api/me',
      '/api/notes',
      '/api/notes/{id}',
      '/api/primes',
      '/api/primes-inline',
      '/api/quote',
      '/api/status',
    ]);
    const greetings = doc.paths['/api/greetings'].post;
    assert.deepEqual(greetings.requestBody.content['application/json'].schema.required, ['name']);
    assert.ok(
      greetings.responses['201'] && greetings.responses['400'],
      'the validated body documents its 400',
    );
    const primes = doc.paths['/api/primes'].get;
    assert.deepEqual(
      primes.parameters.map((p: { name: string; in: string }) => `${p.in}:${p.name}`),
      ['query:limit'],
    );
    assert.ok(doc.paths['/api/quote'].get.responses['429']);
    const notes = doc.paths['/api/notes'].post;
    assert.deepEqual(notes.requestBody.content['application/json'].schema.required, ['author', 'text']);
    assert.ok(notes.responses['201'] && notes.responses['400'] && notes.responses['429']);
    assert.ok(doc.paths['/api/clock'].get.responses['200'].content['text/event-stream']);
    // Revalidation: the same document until the next deploy.
    const again = await fetch(`${server.url}/openapi.json`, {
      headers: { 'if-none-match': res.headers.get('etag')! },
    });
    assert.equal(again.status, 304);
  });

  test('/docs is Swagger UI under its own strict CSP, and every file it loads is served', async () => {
    const res = await fetch(`${server.url}/docs`);
    assert.equal(res.status, 200);
    const csp = res.headers.get('content-security-policy')!;
    assert.match(csp, /script-src 'self'/);
    assert.doesNotMatch(csp, /script-src[^;]*unsafe-inline/);
    const html = await res.text();
    assert.match(html, /<div id="swagger-ui"><\/div>/);
    assert.doesNotMatch(html, /<script>/, 'no inline script');
    const assets = [...html.matchAll(/(?:src|href)="([^"]+)"/g)]
      .map((m) => m[1]!)
      .filter((u) => !u.startsWith('data:'));
    assert.ok(assets.length >= 3, `the page loads its files (${assets.join(', ')})`);
    for (const asset of assets) {
      const url = new URL(asset, `${server.url}/docs`);
      assert.equal(url.origin, server.url, `${asset} comes from this server`);
      const file = await fetch(url);
      assert.equal(file.status, 200, `${url.pathname} is served`);
      const type = file.headers.get('content-type')!;
      if (url.pathname.endsWith('.css')) assert.match(type, /^text\/css/);
      else assert.match(type, /javascript/);
      assert.ok((await file.arrayBuffer()).byteLength > 0);
    }
  });
});
