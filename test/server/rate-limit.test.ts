import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { type StrataServer, serve } from '../../src/server.ts';
import { getRaw, rawRequest } from '../fixtures/http.ts';

async function withServer(
  options: Parameters<typeof serve>[1],
  body: (server: StrataServer, woke: () => number) => Promise<void>,
): Promise<void> {
  let woke = 0;
  const server = await serve(
    {
      fetch: () => {
        woke += 1;
        return Response.json({ hello: 'world' });
      },
    },
    { port: 0, logger: false, ...options },
  );
  try {
    await body(server, () => woke);
  } finally {
    await server.close();
  }
}

for (const fastLane of [true, false]) {
  describe(`edge rate limit (fastLane: ${fastLane})`, () => {
    test('the 4th request in a burst of 3 is a 429 problem+json, and the app never wakes for it', async () => {
      await withServer({ fastLane, rateLimit: { limit: 3, window: '1m' } }, async (server, woke) => {
        for (let i = 0; i < 3; i++) assert.equal((await getRaw(server.url)).status, 200);
        const refused = await getRaw(server.url);
        assert.equal(refused.status, 429);
        assert.equal(refused.headers['content-type'], 'application/problem+json');
        assert.equal(refused.headers['retry-after'], '20');
        assert.equal(refused.headers['ratelimit-policy'], '"edge";q=3;w=60');
        assert.match(String(refused.headers.ratelimit), /^"edge";r=0;t=(59|60)$/);
        const problem = JSON.parse(refused.body.toString()) as { status: number; title: string };
        assert.equal(problem.status, 429);
        assert.equal(problem.title, 'Too Many Requests');
        assert.equal(woke(), 3);
      });
    });

    test('keep-alive requests on one connection share the budget; a POST with a body too', async () => {
      await withServer({ fastLane, rateLimit: '2/1m' }, async (server) => {
        const two = 'GET / HTTP/1.1\r\nHost: x\r\n\r\n'.repeat(2);
        const post = 'POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\nConnection: close\r\n\r\nhi';
        const res = await rawRequest(server.port, two + post);
        const statuses = [...res.text.matchAll(/HTTP\/1\.1 (\d{3}) /g)].map((m) => m[1]);
        assert.deepEqual(statuses, ['200', '200', '429']);
      });
    });

    test('a WebSocket upgrade is counted and refused like any request', async () => {
      await withServer({ fastLane, rateLimit: '1/1m' }, async (server) => {
        assert.equal((await getRaw(server.url)).status, 200);
        const res = await rawRequest(
          server.port,
          'GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n',
        );
        assert.equal(res.status, 429);
      });
    });

    test('off by default: no RateLimit fields, no refusals', async () => {
      await withServer({ fastLane }, async (server) => {
        for (let i = 0; i < 5; i++) {
          const res = await getRaw(server.url);
          assert.equal(res.status, 200);
          assert.equal(res.headers.ratelimit, undefined);
        }
      });
    });
  });
}

test('serve() refuses a rateLimit it cannot read', async () => {
  await assert.rejects(
    serve({ fetch: () => new Response('x') }, { port: 0, logger: false, rateLimit: '10/year' }),
    RangeError,
  );
});
