import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { type StrataServer, serve } from '../../src/server.ts';
import { memoryLogger, rawRequest, waitFor } from '../fixtures/http.ts';

const SECRET = 'secret-detail-7f3a';

function routes(request: Request): Response | Promise<Response> {
  const path = new URL(request.url).pathname;
  if (path === '/throw') throw new Error(`sync failure ${SECRET}`);
  if (path === '/reject') return Promise.reject(new TypeError(`async failure ${SECRET}`));
  if (path === '/not-a-response') return { status: 200 } as unknown as Response;
  if (path === '/stream-then-fail') {
    let sent = false;
    return new Response(
      new ReadableStream({
        pull(controller) {
          if (!sent) {
            sent = true;
            controller.enqueue(new TextEncoder().encode('partial '));
          } else controller.error(new Error(`stream failure ${SECRET}`));
        },
      }),
    );
  }
  if (path === '/endless') {
    return new Response(
      new ReadableStream({
        async pull(controller) {
          await new Promise((r) => setTimeout(r, 5));
          controller.enqueue(new TextEncoder().encode('tick\n'));
        },
      }),
    );
  }
  return new Response('fine');
}

// On both transports: the fast lane and node:http alone.
for (const fastLane of [true, false]) {
  describe(`containment (fastLane: ${fastLane})`, () => {
    describe('error containment', () => {
      let server: StrataServer;
      const { logger, lines } = memoryLogger();

      before(async () => {
        server = await serve(routes, { port: 0, logger, fastLane });
      });
      after(() => server.close());

      const cases = [
        { path: '/throw', status: 500 },
        { path: '/reject', status: 500 },
        { path: '/not-a-response', status: 500 },
      ];
      for (const { path, status } of cases) {
        test(`${path} answers ${status} without internals, logs once, and the server keeps serving`, async () => {
          const before = lines.filter((l) => l.level === 50).length;
          const res = await fetch(server.url + path);
          assert.equal(res.status, status);
          const body = await res.text();
          assert.doesNotMatch(body, new RegExp(SECRET), 'no message detail leaks');
          assert.doesNotMatch(body, /at .*\.ts:\d+/, 'no stack trace leaks');
          const errors = lines.filter((l) => l.level === 50);
          assert.equal(errors.length, before + 1, 'exactly one error line');
          assert.equal(errors.at(-1)!.url, path);
          const next = await fetch(`${server.url}/ok`);
          assert.equal(await next.text(), 'fine');
        });
      }

      test('a stream failing after the headers cuts the connection instead of faking success', async () => {
        const res = await rawRequest(server.port, 'GET /stream-then-fail HTTP/1.1\r\nHost: x\r\n\r\n');
        assert.equal(res.status, 200);
        assert.match(res.text, /partial/);
        assert.doesNotMatch(
          res.text,
          /\r\n0\r\n\r\n$/,
          'no terminating chunk: the client can tell it was cut',
        );
        assert.equal(res.closed, true);
      });

      test('a client that disconnects mid-response is not logged as an error', async () => {
        const errorsBefore = lines.filter((l) => l.level >= 50).length;
        const debugBefore = lines.length;
        const res = await rawRequest(server.port, 'GET /endless HTTP/1.1\r\nHost: x\r\n\r\n', {
          timeoutMs: 100,
        });
        assert.match(res.text, /tick/);
        await waitFor(() => lines.length > debugBefore, 2000, 'the disconnect to be noticed');
        assert.equal(lines.filter((l) => l.level >= 50).length, errorsBefore);
      });
    });

    describe('dev mode', () => {
      test('500 responses carry the stack trace only with dev: true', async () => {
        const dev = await serve(routes, { port: 0, logger: false, fastLane, dev: true });
        try {
          const body = await (await fetch(`${dev.url}/throw`)).text();
          assert.match(body, new RegExp(`sync failure ${SECRET}`));
          assert.match(body, /containment\.test\.ts/);
        } finally {
          await dev.close();
        }
      });
    });
  });
}
