import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { type StrataServer, serve } from '../../src/server.ts';
import { rawRequest, waitFor } from '../fixtures/http.ts';

// On both transports: the fast lane and node:http alone.
for (const fastLane of [true, false]) {
  describe(`hygiene (fastLane: ${fastLane})`, () => {
    describe('HTTP hygiene over raw sockets', () => {
      let server: StrataServer;
      let appCalls = 0;
      before(async () => {
        server = await serve(
          async (request: Request) => {
            appCalls += 1;
            return new Response(request.method === 'POST' ? await request.text() : 'ok');
          },
          { port: 0, logger: false, fastLane, maxUrlLength: 200, maxHeaderSize: 4096 },
        );
      });
      after(() => server.close());

      // Each case: what is sent and the status expected. The app never sees a request whose head is
      // refused; a malformed body (the chunk size case) is caught while the app reads it.
      const cases: [string, string, number][] = [
        [
          'Content-Length with Transfer-Encoding',
          'POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n',
          400,
        ],
        [
          'two different Content-Lengths',
          'POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\nabcd',
          400,
        ],
        [
          'a Content-Length that is not a number',
          'POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 3x\r\n\r\nabc',
          400,
        ],
        ['a negative Content-Length', 'POST / HTTP/1.1\r\nHost: x\r\nContent-Length: -1\r\n\r\n', 400],
        [
          'a bad chunk size',
          'POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nabc\r\n0\r\n\r\n',
          400,
        ],
        [
          'chunked not last in Transfer-Encoding',
          'POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked, gzip\r\n\r\n0\r\n\r\n',
          400,
        ],
        [
          'obs-fold (a header continued on the next line)',
          'GET / HTTP/1.1\r\nHost: x\r\nX-A: a\r\n b\r\n\r\n',
          400,
        ],
        ['bare LF line ends', 'GET / HTTP/1.1\nHost: x\n\n', 400],
        ['a space before the header colon', 'GET / HTTP/1.1\r\nHost: x\r\nContent-Length : 0\r\n\r\n', 400],
        ['HTTP/1.1 without Host', 'GET / HTTP/1.1\r\n\r\n', 400],
        ['an unknown method', 'BREW / HTTP/1.1\r\nHost: x\r\n\r\n', 501],
        ['an unknown expectation', 'GET / HTTP/1.1\r\nHost: x\r\nExpect: teapot\r\n\r\n', 417],
        ['an over-long request target', `GET /${'a'.repeat(300)} HTTP/1.1\r\nHost: x\r\n\r\n`, 414],
        [
          'a header block over maxHeaderSize',
          `GET / HTTP/1.1\r\nHost: x\r\nX-Big: ${'b'.repeat(5000)}\r\n\r\n`,
          431,
        ],
        ['too many headers', `GET / HTTP/1.1\r\nHost: x\r\n${'X-H: v\r\n'.repeat(3000)}\r\n`, 431],
        ['a NUL in a header value', 'GET / HTTP/1.1\r\nHost: x\r\nX-A: a\u0000b\r\n\r\n', 400],
        // RFC 9110 §15.6.6: a major version other than 1 is 505; a malformed one stays 400.
        ['an unsupported HTTP version', 'GET / HTTP/3.0\r\nHost: x\r\n\r\n', 505],
        ['a malformed HTTP version', 'GET / HTTP/1.x\r\nHost: x\r\n\r\n', 400],
      ];
      for (const [name, raw, status] of cases) {
        test(`${name} → ${status}, the connection closes, the server keeps serving`, async () => {
          const calls = appCalls;
          const res = await rawRequest(server.port, raw, { timeoutMs: 2000 });
          assert.equal(res.status, status, res.text.split('\r\n')[0]);
          assert.equal(res.closed, true, 'connection closed');
          if (!name.startsWith('a bad chunk') && status !== 417)
            assert.equal(appCalls, calls, 'the app never saw it');
          assert.equal(await (await fetch(server.url)).text(), 'ok');
        });
      }

      test('Expect: 100-continue gets 100 and then the answer', async () => {
        const res = await rawRequest(
          server.port,
          [
            'POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nExpect: 100-continue\r\nConnection: close\r\n\r\n',
            'hello',
          ],
          { gapMs: 100 },
        );
        assert.match(res.text, /^HTTP\/1\.1 100 Continue\r\n\r\nHTTP\/1\.1 200 OK/);
        assert.match(res.text, /hello$/);
      });
    });

    describe('maxInFlight', () => {
      test('requests over the cap get 503 with Retry-After; the cap frees as answers finish', async () => {
        let release: () => void = () => {};
        const gate = new Promise<void>((r) => (release = r));
        let started = 0;
        const server = await serve(
          async () => {
            started += 1;
            await gate;
            return new Response('done');
          },
          { port: 0, logger: false, fastLane, maxInFlight: 2, retryAfter: 7 },
        );
        try {
          const first = fetch(server.url);
          const second = fetch(server.url);
          await waitFor(() => started === 2, 2000, 'two requests in flight');
          const third = await fetch(server.url);
          assert.equal(third.status, 503);
          assert.equal(third.headers.get('retry-after'), '7');
          release();
          assert.equal((await first).status, 200);
          assert.equal((await second).status, 200);
          await waitFor(() => true);
          const later = await fetch(server.url);
          assert.equal(later.status, 200);
        } finally {
          await server.close();
        }
      });
    });
  });
}
