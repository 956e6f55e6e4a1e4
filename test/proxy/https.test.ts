import assert from 'node:assert/strict';
import { request as httpsRequest } from 'node:https';
import { test } from 'node:test';
import { certificateDir, makeCertificate } from '../fixtures/tls.ts';
import { deadPort, startProxy, startUpstream } from './fixtures.ts';

interface Reply {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

/** One HTTPS request on a fresh connection (the certificate is not verified). */
function get(url: string, method = 'GET', body?: string): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = httpsRequest(url, { method, rejectUnauthorized: false, agent: false }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (text += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: text }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

test('HSTS is on every proxied HTTPS response: lane, node path, problem answers; the upstream own value wins', async (t) => {
  const cert = makeCertificate(certificateDir(), 'proxy', 'localhost', ['localhost']);
  const up = await startUpstream((req, res) => {
    if (req.url === '/api/own') res.setHeader('strict-transport-security', 'max-age=5');
    res.end('up');
  });
  t.after(() => up.close());
  const dead = await deadPort();
  await using server = await startProxy([up.url], {
    serve: { tls: { cert: cert.cert, key: cert.key, hsts: { maxAge: 600 } } },
    groups: [
      { name: 'api', upstreams: [up.url], passive: false, breaker: false },
      { name: 'dead', upstreams: [`http://127.0.0.1:${dead}`], passive: false, breaker: false },
    ],
    routes: [
      { path: '/api', to: 'api' },
      { path: '/dead', to: 'dead' },
    ],
  });
  const expected = 'max-age=600';
  const cases: [string, string, string | undefined][] = [
    ['lane GET', 'GET', undefined],
    ['lane POST with its body', 'POST', 'x'],
    ['node path POST', 'POST', 'x'.repeat(100_000)],
  ];
  for (const [what, method, body] of cases) {
    const res = await get(`${server.url}/api/x`, method, body);
    assert.equal(res.status, 200, what);
    assert.equal(res.headers['strict-transport-security'], expected, what);
  }
  const failed = await get(`${server.url}/dead/x`);
  assert.equal(failed.status, 502);
  assert.equal(failed.headers['strict-transport-security'], expected, 'the proxy problem answer');
  const own = await get(`${server.url}/api/own`);
  assert.equal(own.headers['strict-transport-security'], 'max-age=5', "the upstream's own, once");
});
