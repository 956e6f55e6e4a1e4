/**
 * Cross-site request forgery: each way a forged POST can arrive (with and without Fetch
 * Metadata, a `null` Origin, another site's Origin, no header and no token, a wrong or forged
 * token) is a 403 problem+json and never reaches the handler; what a browser sends for the
 * site's own pages passes; safe methods are never refused.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { App } from '../../src/app/index.ts';
import { csrf, csrfToken } from '../../src/app/middleware/csrf.ts';
import { session } from '../../src/app/middleware/session.ts';
import { cookieHeader, SECRET_A, SECRET_C } from '../fixtures/session.ts';

const SITE = 'https://shop.example';

function csrfApp(options: Parameters<typeof csrf>[0] = {}, secrets = [SECRET_A]) {
  let reached = 0;
  const app = new App({ cookieSecrets: secrets, log: false });
  app.use(csrf(options));
  app.get('/form', (c) => c.text(csrfToken(c) ?? ''));
  app.post('/transfer', (c) => {
    reached++;
    return c.text('done');
  });
  app.get('/transfer', (c) => c.text('read'));
  return { app, reached: () => reached };
}

function post(app: App, headers: Record<string, string>, body?: string): Promise<Response> {
  return app.request(`${SITE}/transfer`, { method: 'POST', headers, body: body ?? null }, { secure: true });
}

async function assertRefused(res: Response, why: string): Promise<void> {
  assert.equal(res.status, 403, why);
  assert.match(res.headers.get('content-type') ?? '', /application\/problem\+json/, why);
  const problem = (await res.json()) as { status: number; detail?: string; title?: string };
  assert.equal(problem.status, 403);
}

describe('forged requests are refused', () => {
  const FORGED: [string, Record<string, string>][] = [
    ['cross-site with Fetch Metadata', { 'sec-fetch-site': 'cross-site', origin: 'https://evil.example' }],
    ['cross-site with Fetch Metadata, no Origin', { 'sec-fetch-site': 'cross-site' }],
    ['cross-site with Fetch Metadata claiming our Origin', { 'sec-fetch-site': 'cross-site', origin: SITE }],
    [
      'same-site (a sibling subdomain) by default',
      { 'sec-fetch-site': 'same-site', origin: 'https://blog.shop.example' },
    ],
    ['another Origin, no Fetch Metadata (older browser)', { origin: 'https://evil.example' }],
    ['the null Origin (sandboxed iframe, file: page)', { origin: 'null' }],
    ['null Origin with same-site Fetch Metadata', { 'sec-fetch-site': 'same-site', origin: 'null' }],
    ['our host over plain http (a MITM-able page)', { origin: 'http://shop.example' }],
    ['our host on another port', { origin: 'https://shop.example:8443' }],
    ['a suffix look-alike', { origin: 'https://shop.example.evil.example' }],
    ['neither header and no token', {}],
    ['neither header, a token but no cookie', { 'x-csrf-token': 'guess' }],
  ];
  for (const [why, headers] of FORGED) {
    test(why, async () => {
      const { app, reached } = csrfApp();
      await assertRefused(await post(app, headers), why);
      assert.equal(reached(), 0, 'the handler never ran');
    });
  }

  test('neither header, with a wrong token, a token from another cookie, or a cookie signed by another app', async () => {
    const { app, reached } = csrfApp();
    const form = await app.request(`${SITE}/form`, {}, { secure: true });
    const token = await form.text();
    const cookie = cookieHeader(form);
    // One character changed (never to itself: a token ending in 'A' made this a right token).
    const wrong = `${token.slice(0, -1)}${token.endsWith('A') ? 'B' : 'A'}`;
    await assertRefused(await post(app, { cookie, 'x-csrf-token': wrong }), 'wrong token');
    await assertRefused(await post(app, { cookie, 'x-csrf-token': '' }), 'empty token');
    // A forged cookie (an attacker who can plant cookies, without the secret) with its own token.
    const other = csrfApp({}, [SECRET_C]).app;
    const foreign = await other.request(`${SITE}/form`, {}, { secure: true });
    await assertRefused(
      await post(app, { cookie: cookieHeader(foreign), 'x-csrf-token': await foreign.text() }),
      'cookie signed by another secret',
    );
    await assertRefused(
      await post(app, { cookie: `__Host-csrf=${token}`, 'x-csrf-token': token }),
      'an unsigned cookie holding the token',
    );
    assert.equal(reached(), 0);
  });

  test('session-bound token: another session’s token is refused', async () => {
    const app = new App({ cookieSecrets: [SECRET_A], log: false });
    app.use(session());
    app.use(csrf({ token: 'session' }));
    app.get('/form', (c) => c.text(csrfToken(c) ?? ''));
    app.post('/transfer', (c) => c.text('done'));
    const mine = await app.request(`${SITE}/form`, {}, { secure: true });
    const theirs = await app.request(`${SITE}/form`, {}, { secure: true });
    const myCookie = cookieHeader(mine);
    await assertRefused(
      await post(app, { cookie: myCookie, 'x-csrf-token': await theirs.text() }),
      "another session's token",
    );
    const ok = await post(app, { cookie: myCookie, 'x-csrf-token': await mine.text() });
    assert.equal(ok.status, 200);
  });
});

describe('what the site itself sends passes', () => {
  const ALLOWED: [string, Record<string, string>][] = [
    ['Sec-Fetch-Site: same-origin', { 'sec-fetch-site': 'same-origin', origin: SITE }],
    ['Sec-Fetch-Site: none (typed or bookmarked)', { 'sec-fetch-site': 'none' }],
    ['our Origin without Fetch Metadata', { origin: SITE }],
  ];
  for (const [why, headers] of ALLOWED) {
    test(why, async () => {
      const { app, reached } = csrfApp();
      assert.equal((await post(app, headers)).status, 200, why);
      assert.equal(reached(), 1);
    });
  }

  test('a trusted origin from the allowlist, and same-site when allowed', async () => {
    const { app } = csrfApp({ origins: ['https://admin.example'], allowSameSite: true });
    assert.equal(
      (await post(app, { 'sec-fetch-site': 'cross-site', origin: 'https://admin.example' })).status,
      200,
    );
    assert.equal((await post(app, { origin: 'https://admin.example' })).status, 200);
    assert.equal(
      (await post(app, { 'sec-fetch-site': 'same-site', origin: 'https://blog.shop.example' })).status,
      200,
    );
    assert.throws(() => csrf({ origins: ['null'] }), TypeError);
  });

  test('neither header: the token in the header or in the urlencoded form', async () => {
    const { app, reached } = csrfApp();
    const form = await app.request(`${SITE}/form`, {}, { secure: true });
    const token = await form.text();
    const cookie = cookieHeader(form);
    assert.match(
      form.headers.getSetCookie()[0]!,
      /^__Host-csrf=.*; Path=\/; Secure; HttpOnly; SameSite=Lax$/,
    );
    assert.equal((await post(app, { cookie, 'x-csrf-token': token })).status, 200);
    const body = `amount=10&_csrf=${encodeURIComponent(token)}`;
    const res = await post(app, { cookie, 'content-type': 'application/x-www-form-urlencoded' }, body);
    assert.equal(res.status, 200);
    assert.equal(reached(), 2);
  });

  test('token: false lets header-less clients through (APIs whose clients are programs)', async () => {
    const { app } = csrfApp({ token: false });
    assert.equal((await post(app, {})).status, 200);
    await assertRefused(await post(app, { 'sec-fetch-site': 'cross-site' }), 'still cross-site');
  });

  test('safe methods are never refused, whatever they carry', async () => {
    const { app } = csrfApp();
    for (const method of ['GET', 'HEAD', 'OPTIONS']) {
      const res = await app.request(
        `${SITE}/transfer`,
        { method, headers: { 'sec-fetch-site': 'cross-site', origin: 'null' } },
        { secure: true },
      );
      assert.notEqual(res.status, 403, method);
    }
  });

  test('no token cookie is set on responses that render no form', async () => {
    const { app } = csrfApp();
    const res = await app.request(`${SITE}/transfer`, {}, { secure: true });
    assert.equal(res.headers.getSetCookie().length, 0);
  });
});
