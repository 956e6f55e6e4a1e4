/**
 * HSTS on every HTTPS response, errors included: the parser's refusals (400, 431, 501), the
 * edge policy's (414 here), an app's failure (500), the 408 for a body that did not come in
 * time (the fast lane's own and node's), as nginx's
 * `add_header ... always` puts it on error pages. Never on the plain HTTP listener.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { type StrataServer, serve } from '../../../src/server.ts';
import { certificateDir, httpsRaw, makeCertificate } from '../../fixtures/tls.ts';

const HSTS = /\r\nstrict-transport-security: max-age=600\r\n/i;

describe('HSTS on error answers over TLS', () => {
  let server: StrataServer;

  before(async () => {
    const cert = makeCertificate(certificateDir(), 'site', 'localhost', ['localhost']);
    server = await serve(
      async (request: Request) => {
        if (new URL(request.url).pathname === '/throw') throw new Error('the app failed');
        return new Response(await request.text());
      },
      {
        port: 0,
        logger: false,
        requestTimeout: 300,
        headersTimeout: 300,
        maxHeaderSize: 4096,
        maxUrlLength: 100,
        tls: { cert: cert.cert, key: cert.key, hsts: { maxAge: 600 } },
      },
    );
  });
  after(() => server.close());

  const refusals: [string, number, string][] = [
    ['a malformed request line', 400, 'GET / HTTP/1.1 x\r\nHost: a\r\n\r\n'],
    ['a head over maxHeaderSize', 431, `GET / HTTP/1.1\r\nHost: a\r\nX-A: ${'a'.repeat(8000)}\r\n\r\n`],
    ['an unknown method', 501, 'BREW / HTTP/1.1\r\nHost: a\r\n\r\n'],
    // The edge policy's refusals and the app's failure (written from a clean slate of headers).
    ['a target over maxUrlLength (lane)', 414, `GET /${'x'.repeat(200)} HTTP/1.1\r\nHost: a\r\n\r\n`],
    [
      'a target over maxUrlLength (node path)',
      414,
      `POST /${'x'.repeat(200)} HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n`,
    ],
    ['CONNECT (this server is not a proxy)', 501, 'CONNECT a.test:443 HTTP/1.1\r\nHost: a.test:443\r\n\r\n'],
    ['an app that throws', 500, 'GET /throw HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n'],
    // A Content-Length body that never comes: the fast lane gathers small ones (its 408), node's
    // path reads larger ones (node's 408).
    [
      'a small body that never comes (lane)',
      408,
      'POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 10\r\n\r\nab',
    ],
    [
      'a large body that never comes (node path)',
      408,
      'POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 1000000\r\n\r\nab',
    ],
  ];
  for (const [what, status, request] of refusals) {
    test(`${what}: ${status} with HSTS`, async () => {
      const reply = await httpsRaw(server.port, request);
      assert.match(reply, new RegExp(`^HTTP/1\\.1 ${status} `), reply);
      assert.match(reply, HSTS, reply);
    });
  }
});
