/**
 * ServeInfo, the second argument of fetch: the connection it describes, and waitUntil work that
 * outlives the response and is awaited by a graceful close.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { ServeInfo } from '../../src/gateway/index.ts';
import { serve } from '../../src/server.ts';
import { deferred, start } from '../fixtures/gateway/helpers.ts';
import { memoryLogger, rawRequest, waitFor } from '../fixtures/http.ts';

// On both transports: the fast lane and node:http alone.
for (const fastLane of [true, false]) {
  describe(`serve info (fastLane: ${fastLane})`, () => {
    describe('info describes the connection', () => {
      test('remote, protocol and secure for HTTP/1.1 and HTTP/1.0', async () => {
        const server = await start(
          (_request: Request, info: ServeInfo) => {
            const first = info.remote;
            return Response.json({
              address: info.remote.address,
              port: info.remote.port,
              family: info.remote.family,
              protocol: info.protocol,
              secure: info.secure,
              same: info.remote === first,
            });
          },
          { fastLane },
        );
        try {
          const seen = await (await fetch(server.url)).json();
          assert.equal(seen.address, '127.0.0.1');
          assert.ok(Number.isInteger(seen.port) && seen.port > 0);
          assert.equal(seen.family, 'IPv4');
          assert.equal(seen.protocol, 'http/1.1');
          assert.equal(seen.secure, false);
          assert.equal(seen.same, true);
          const http10 = await rawRequest(server.port, 'GET / HTTP/1.0\r\n\r\n');
          assert.match(http10.text, /"protocol":"http\/1\.0"/);
        } finally {
          await server.close();
        }
      });
    });

    describe('info.waitUntil', () => {
      test('work outlives the response, and close() resolves only after it is done', async () => {
        let finished = false;
        const server = await start(
          (_request: Request, info: ServeInfo) => {
            info.waitUntil(
              new Promise((r) => setTimeout(r, 150)).then(() => {
                finished = true;
              }),
            );
            return new Response('sent first');
          },
          { fastLane },
        );
        assert.equal(await (await fetch(server.url)).text(), 'sent first');
        assert.equal(finished, false, 'the response did not wait for the work');
        await server.close();
        assert.equal(finished, true, 'close() waited for it');
      });

      test('work from many requests is all awaited, including work still pending from a slow start', async () => {
        const done: number[] = [];
        const release = deferred();
        const server = await start(
          (request: Request, info: ServeInfo) => {
            const n = Number(new URL(request.url).searchParams.get('n'));
            info.waitUntil(release.promise.then(() => done.push(n)));
            return new Response(String(n));
          },
          { fastLane },
        );
        for (let n = 0; n < 5; n++)
          assert.equal(await (await fetch(`${server.url}/?n=${n}`)).text(), String(n));
        const closing = server.close();
        let closed = false;
        void closing.then(() => {
          closed = true;
        });
        await new Promise((r) => setTimeout(r, 50));
        assert.equal(closed, false, 'close() is still waiting on the work');
        release.resolve();
        await closing;
        assert.deepEqual(done.sort(), [0, 1, 2, 3, 4]);
      });

      test('a rejected waitUntil promise is logged, does not crash, and does not block close()', async () => {
        const { logger, lines } = memoryLogger('info');
        const server = await serve(
          (_request: Request, info: ServeInfo) => {
            info.waitUntil(Promise.reject(new Error('background failure')));
            info.waitUntil(
              new Promise((_, reject) => setTimeout(() => reject(new Error('later failure')), 20)),
            );
            return new Response('fine');
          },
          { port: 0, logger, fastLane },
        );
        try {
          assert.equal(await (await fetch(server.url)).text(), 'fine');
          await waitFor(
            () => lines.filter((l) => l.msg === 'waitUntil work failed').length === 2,
            2000,
            'the logs',
          );
          const messages = lines
            .filter((l) => l.msg === 'waitUntil work failed')
            .map((l) => (l.err as { message?: string }).message);
          assert.deepEqual(messages.sort(), ['background failure', 'later failure']);
          assert.ok(lines.filter((l) => l.msg === 'waitUntil work failed').every((l) => l.level === 50));
          assert.equal(await (await fetch(server.url)).text(), 'fine', 'the server serves on');
        } finally {
          await server.close();
        }
      });

      test('waitUntil work runs before the app shutdown hook, after startup', async () => {
        const order: string[] = [];
        const server = await start(
          {
            startup() {
              order.push('startup');
            },
            fetch(_request: Request, info: ServeInfo) {
              order.push('fetch');
              info.waitUntil(new Promise((r) => setTimeout(r, 30)).then(() => order.push('work')));
              return new Response('ok');
            },
            shutdown() {
              order.push('shutdown');
            },
          },
          { fastLane },
        );
        await (await fetch(server.url)).text();
        await server.close();
        assert.deepEqual(order, ['startup', 'fetch', 'work', 'shutdown']);
      });
    });
  });
}
