/**
 * csrf(): the order of its checks, its origin comparison behind a TLS-terminating proxy, the
 * token's life (made on demand, stable within a request, reused while its cookie lasts), and
 * its refusal's shape. The attacks themselves are in test/security/csrf.test.ts.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { App } from '../../src/app/index.ts';
import { csrf, csrfToken } from '../../src/app/middleware/csrf.ts';
import { cookieHeader, SECRET_A } from '../fixtures/session.ts';

function app(): App {
  const a = new App({ cookieSecrets: [SECRET_A], log: false });
  a.use(csrf());
  a.get('/form', (c) => c.json({ a: csrfToken(c) ?? null, b: csrfToken(c) ?? null }));
  a.post('/save', (c) => c.text('saved'));
  return a;
}

test('Fetch Metadata decides before Origin: same-origin passes even with an odd Origin', async () => {
  const res = await app().request('https://site.example/save', {
    method: 'POST',
    headers: { 'sec-fetch-site': 'same-origin', origin: 'https://other.example' },
  });
  assert.equal(res.status, 200);
});

test("behind a TLS-terminating proxy (http URL, info.secure) the page's https Origin is ours", async () => {
  const res = await app().request(
    'http://site.example/save',
    { method: 'POST', headers: { origin: 'https://site.example' } },
    { secure: true },
  );
  assert.equal(res.status, 200);
});

test('the token: the same within a request, the same while its cookie lasts, one Set-Cookie', async () => {
  const a = app();
  const first = await a.request('https://site.example/form', {}, { secure: true });
  const one = (await first.clone().json()) as { a: string; b: string };
  assert.equal(one.a, one.b);
  assert.equal(first.headers.getSetCookie().length, 1);
  assert.ok(one.a.length >= 43, 'at least 256 bits');
  const again = await a.request(
    'https://site.example/form',
    { headers: { cookie: cookieHeader(first) } },
    { secure: true },
  );
  assert.equal(((await again.json()) as { a: string }).a, one.a);
  assert.equal(again.headers.getSetCookie().length, 0);
});

test('csrfToken(c) is undefined where csrf() did not run', async () => {
  const a = new App({ log: false });
  a.get('/', (c) => c.json({ token: csrfToken(c) ?? null }));
  assert.deepEqual(await (await a.request('/')).json(), { token: null });
});

test('a refusal is a 403 problem document that says why', async () => {
  const res = await app().request('https://site.example/save', {
    method: 'POST',
    headers: { 'sec-fetch-site': 'cross-site' },
  });
  assert.equal(res.status, 403);
  const body = (await res.json()) as { detail?: string; title?: string };
  assert.match(JSON.stringify(body), /Sec-Fetch-Site is cross-site/);
});
