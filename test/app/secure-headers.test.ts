/**
 * secureHeaders(): helmet's defaults, HSTS only over TLS, a CSP nonce fresh per request and
 * available to handlers, report-only, configurable directives, a handler's own header winning,
 * error answers covered, immutable responses (a fetch() result) and WebSocket upgrade markers.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { App, HttpError } from '../../src/app/index.ts';
import { NONCE, secureHeaders } from '../../src/app/middleware/secure-headers.ts';
import type { WebSocketHandlers } from '../../src/gateway/websocket.ts';

const HELMET: Record<string, string> = {
  'cross-origin-opener-policy': 'same-origin',
  'cross-origin-resource-policy': 'same-origin',
  'origin-agent-cluster': '?1',
  'referrer-policy': 'no-referrer',
  'strict-transport-security': 'max-age=31536000; includeSubDomains',
  'x-content-type-options': 'nosniff',
  'x-dns-prefetch-control': 'off',
  'x-download-options': 'noopen',
  'x-frame-options': 'SAMEORIGIN',
  'x-permitted-cross-domain-policies': 'none',
  'x-xss-protection': '0',
};

function app(options?: Parameters<typeof secureHeaders>[0]) {
  return new App({ log: false })
    .use(secureHeaders(options))
    .get('/', (c) => c.text(c.get('cspNonce') ?? 'none'))
    .get('/own', (c) => c.text('x', { headers: { 'x-frame-options': 'DENY' } }))
    .get('/raw', () => new Response('raw', { headers: { 'x-powered-by': 'PHP/5' } }))
    .get('/immutable', () => Response.redirect('https://site.example/', 302))
    .get('/fail', () => {
      throw new HttpError(418 as number, 'no');
    });
}

test("helmet's defaults over https", async () => {
  const res = await app().request('/', {}, { secure: true });
  for (const [name, value] of Object.entries(HELMET)) assert.equal(res.headers.get(name), value, name);
  assert.equal(res.headers.get('cross-origin-embedder-policy'), null, 'COEP is opt-in, as in helmet');
  const csp = res.headers.get('content-security-policy')!;
  const nonce = await res.text();
  assert.equal(
    csp,
    `default-src 'self'; base-uri 'self'; font-src 'self' https: data:; form-action 'self'; frame-ancestors 'self'; img-src 'self' data:; object-src 'none'; script-src 'self' 'nonce-${nonce}'; script-src-attr 'none'; style-src 'self' https: 'unsafe-inline'; upgrade-insecure-requests`,
  );
});

test('over plain http: no HSTS, no upgrade-insecure-requests (unless told)', async () => {
  const res = await app().request('/', {}, { secure: false });
  assert.equal(res.headers.get('strict-transport-security'), null);
  assert.doesNotMatch(res.headers.get('content-security-policy')!, /upgrade-insecure-requests/);
  const always = await app({ strictTransportSecurity: { always: true, maxAge: 600, preload: true } }).request(
    '/',
  );
  assert.equal(always.headers.get('strict-transport-security'), 'max-age=600; includeSubDomains; preload');
});

test('the CSP nonce is fresh for every request, 128 bits, and the one in the header', async () => {
  const a = app();
  const seen = new Set<string>();
  for (let i = 0; i < 50; i++) {
    const res = await a.request('/', {}, { secure: true });
    const nonce = await res.text();
    assert.match(nonce, /^[A-Za-z0-9_-]{22}$/);
    assert.ok(res.headers.get('content-security-policy')!.includes(`'nonce-${nonce}'`));
    seen.add(nonce);
  }
  assert.equal(seen.size, 50);
});

test('directives are configurable (camelCase or kebab), removable, and report-only on demand', async () => {
  const res = await app({
    contentSecurityPolicy: {
      directives: {
        imgSrc: ["'self'", 'https://cdn.example'],
        'script-src': ["'self'"],
        upgradeInsecureRequests: false,
      },
      reportOnly: true,
    },
  }).request('/', {}, { secure: true });
  assert.equal(res.headers.get('content-security-policy'), null);
  const csp = res.headers.get('content-security-policy-report-only')!;
  assert.match(csp, /img-src 'self' https:\/\/cdn.example/);
  assert.match(csp, /script-src 'self'; /);
  assert.doesNotMatch(csp, /upgrade-insecure-requests/);
  assert.equal(await res.text(), 'none', 'no nonce when no directive asks for one');
  const own = await app({
    contentSecurityPolicy: { useDefaults: false, directives: { defaultSrc: ["'none'", NONCE] } },
  }).request('/');
  assert.match(own.headers.get('content-security-policy')!, /^default-src 'none' 'nonce-[A-Za-z0-9_-]{22}'$/);
  assert.throws(
    () => secureHeaders({ contentSecurityPolicy: { directives: { scriptSrc: ["'self'; report-uri x"] } } }),
    TypeError,
  );
  assert.throws(
    () => secureHeaders({ contentSecurityPolicy: { directives: { 'bad name': [] } } }),
    TypeError,
  );
});

test('every header can be turned off', async () => {
  const res = await app({
    contentSecurityPolicy: false,
    strictTransportSecurity: false,
    crossOriginOpenerPolicy: false,
    crossOriginResourcePolicy: false,
    originAgentCluster: false,
    referrerPolicy: false,
    xContentTypeOptions: false,
    xDnsPrefetchControl: false,
    xDownloadOptions: false,
    xFrameOptions: false,
    xPermittedCrossDomainPolicies: false,
    xXssProtection: false,
  }).request('/', {}, { secure: true });
  for (const name of [...Object.keys(HELMET), 'content-security-policy'])
    assert.equal(res.headers.get(name), null, name);
});

test("a handler's own header wins; raw Responses and error answers get them; X-Powered-By goes", async () => {
  const a = app({ crossOriginEmbedderPolicy: 'require-corp' });
  assert.equal((await a.request('/own')).headers.get('x-frame-options'), 'DENY');
  const raw = await a.request('/raw');
  assert.equal(raw.headers.get('x-powered-by'), null);
  assert.equal(raw.headers.get('x-content-type-options'), 'nosniff');
  assert.equal(raw.headers.get('cross-origin-embedder-policy'), 'require-corp');
  const failed = await a.request('/fail');
  assert.equal(failed.status, 418);
  assert.equal(failed.headers.get('x-frame-options'), 'SAMEORIGIN');
  const redirect = await a.request('/immutable');
  assert.equal(redirect.status, 302);
  assert.equal(redirect.headers.get('x-content-type-options'), 'nosniff');
});

test('a fetch() result with immutable headers and X-Powered-By is answered by a copy without it', async () => {
  const upstream = new Response('proxied', { headers: { 'x-powered-by': 'Express' } });
  const a = new App({ log: false }).use(secureHeaders()).get('/p', () => {
    // A fetch() result's headers refuse changes (the guard is "immutable"): make one so.
    const frozen = new Response(upstream.body, upstream);
    frozen.headers.delete = () => {
      throw new TypeError('immutable');
    };
    return frozen;
  });
  const res = await a.request('/p');
  assert.equal(res.headers.get('x-powered-by'), null);
  assert.equal(await res.text(), 'proxied');
});

test('a WebSocket upgrade: the marker response is returned as is (the 101 goes through)', async () => {
  const marker = new Response(null, { status: 200 });
  const a = new App({ log: false })
    .use(secureHeaders())
    .get('/ws', (c) => c.upgrade({ message() {} } as WebSocketHandlers));
  const res = await a.request('/ws', {}, { upgrade: () => marker });
  assert.equal(res, marker, 'the same object: the server recognizes it and writes a 101');
});
