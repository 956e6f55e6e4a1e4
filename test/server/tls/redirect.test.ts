import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { type StrataServer, serve } from '../../../src/server.ts';
import { rawRequest } from '../../fixtures/http.ts';
import { freePort } from '../../fixtures/ports.ts';
import { certificateDir, makeCertificate } from '../../fixtures/tls.ts';

const app = { fetch: () => new Response('ok') };

/** Sends a head (with `Connection: close` added) and parses the status and headers that came back. */
async function ask(port: number, text: string): Promise<{ status: number; headers: Record<string, string> }> {
  const at = text.indexOf('\r\n\r\n');
  const res = await rawRequest(port, `${text.slice(0, at)}\r\nConnection: close${text.slice(at)}`);
  const headers: Record<string, string> = {};
  for (const line of res.text.split('\r\n\r\n')[0]!.split('\r\n').slice(1)) {
    const colon = line.indexOf(':');
    headers[line.slice(0, colon).toLowerCase()] = line.slice(colon + 1).trim();
  }
  return { status: res.status, headers };
}

describe('the HTTP → HTTPS redirect listener', () => {
  let server: StrataServer;
  let guarded: StrataServer;
  let port: number;
  let guardedPort: number;

  before(async () => {
    const cert = makeCertificate(certificateDir(), 'site', 'site', ['example.com']);
    const tls = { cert: cert.cert, key: cert.key, hsts: true, redirectHttp: 0 };
    server = await serve(app, { port: 0, logger: false, tls });
    guarded = await serve(app, {
      port: 0,
      logger: false,
      tls,
      allowedHosts: ['example.com', '*.example.org'],
    });
    port = Number(new URL(server.redirectUrl!).port);
    guardedPort = Number(new URL(guarded.redirectUrl!).port);
  });
  after(async () => {
    await Promise.all([server.close(), guarded.close()]);
  });

  test('308 to the same path and query on HTTPS, host from Host (its port dropped), no HSTS', async () => {
    const res = await ask(port, 'GET /a/b?c=1&d HTTP/1.1\r\nHost: Example.COM:8080\r\n\r\n');
    assert.equal(res.status, 308);
    assert.equal(res.headers.location, `https://example.com:${server.port}/a/b?c=1&d`);
    assert.equal(res.headers['strict-transport-security'], undefined, 'HSTS is never sent over plain HTTP');
  });

  test('the method is kept (308, not 301): a POST is redirected as a POST', async () => {
    const res = await ask(port, 'POST /form HTTP/1.1\r\nHost: example.com\r\nContent-Length: 3\r\n\r\nabc');
    assert.equal(res.status, 308);
    assert.equal(res.headers.location, `https://example.com:${server.port}/form`);
  });

  test('an IPv6 Host keeps its brackets', async () => {
    const res = await ask(port, 'GET / HTTP/1.1\r\nHost: [::1]:80\r\n\r\n');
    assert.equal(res.headers.location, `https://[::1]:${server.port}/`);
  });

  const refused: [string, string, number][] = [
    ['no Host (HTTP/1.0)', 'GET / HTTP/1.0\r\n\r\n', 400],
    ['a Host with userinfo', 'GET / HTTP/1.1\r\nHost: a@evil.test\r\n\r\n', 400],
    ['a Host with a path', 'GET / HTTP/1.1\r\nHost: evil.test/x\r\n\r\n', 400],
    ['an absolute-form target', 'GET http://evil.test/ HTTP/1.1\r\nHost: example.com\r\n\r\n', 400],
    ['a scheme-relative target', 'GET //evil.test/ HTTP/1.1\r\nHost: example.com\r\n\r\n', 400],
  ];
  for (const [what, text, status] of refused) {
    test(`${what}: ${status}, no Location`, async () => {
      const res = await ask(port, text);
      assert.equal(res.status, status);
      assert.equal(res.headers.location, undefined);
    });
  }

  test('with allowedHosts, only those hosts are redirected (421 for others: no open redirect)', async () => {
    const ok = await ask(guardedPort, 'GET /x HTTP/1.1\r\nHost: a.example.org\r\n\r\n');
    assert.equal(ok.status, 308);
    assert.equal(ok.headers.location, `https://a.example.org:${guarded.port}/x`);
    const other = await ask(guardedPort, 'GET /x HTTP/1.1\r\nHost: evil.test\r\n\r\n');
    assert.equal(other.status, 421);
    assert.equal(other.headers.location, undefined);
  });

  test('the redirect listener closes with the server', async () => {
    const cert = makeCertificate(certificateDir(), 'tmp', 'tmp', ['tmp.test']);
    const s = await serve(app, {
      port: 0,
      logger: false,
      tls: { cert: cert.cert, key: cert.key, redirectHttp: 0 },
    });
    const redirectPort = Number(new URL(s.redirectUrl!).port);
    await s.close();
    const res = await rawRequest(redirectPort, 'GET / HTTP/1.1\r\nHost: x\r\n\r\n');
    assert.equal(res.status, 0);
    assert.equal(res.closed, true);
  });

  test('a redirect port that is taken: serve() rejects and closes the admin listener it had started', async () => {
    const taken = createServer();
    await new Promise<void>((resolve) => taken.listen(0, '127.0.0.1', resolve));
    const redirectPort = (taken.address() as { port: number }).port;
    const adminPort = await freePort();
    const cert = makeCertificate(certificateDir(), 'tmp2', 'tmp2', ['tmp.test']);
    try {
      await assert.rejects(
        serve(app, {
          port: 0,
          host: '127.0.0.1',
          logger: false,
          admin: { port: adminPort },
          tls: { cert: cert.cert, key: cert.key, redirectHttp: { port: redirectPort, host: '127.0.0.1' } },
        }),
        /EADDRINUSE|in use/,
      );
      // The admin port is free again: binding it succeeds.
      const probe = createServer();
      await new Promise<void>((resolve, reject) => {
        probe.once('error', reject);
        probe.listen(adminPort, '127.0.0.1', resolve);
      });
      await new Promise<void>((resolve) => probe.close(() => resolve()));
    } finally {
      taken.close();
    }
  });
});
