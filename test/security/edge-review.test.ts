import assert from 'node:assert/strict';
import { connect, type Socket } from 'node:net';
import { describe, test } from 'node:test';
import type { ServeInfo } from '../../src/gateway/types.ts';
import { type ServeOptions, type StrataServer, serve } from '../../src/server/index.ts';
import { rawRequest } from '../fixtures/http.ts';
import { handshake } from '../fixtures/ws.ts';

// A hostile client's review of the edge (serve.ts `refusal()`, edge-policy.ts, the upgrade
// path): what it could hold, bypass or make the two transports disagree on. Raw sockets, both
// transports.

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Connects and writes `data`; the socket is the caller's to destroy. */
function open(port: number, data: string): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1');
    socket.on('error', () => {});
    socket.once('connect', () => {
      socket.write(data);
      resolve(socket);
    });
    setTimeout(() => reject(new Error('connect timed out')), 2000).unref();
  });
}

/** Resolves with what arrived once `predicate` holds on it, or on close / after 2 s. */
function received(socket: Socket, predicate: (text: string) => boolean): Promise<string> {
  return new Promise((resolve) => {
    let text = '';
    const done = (): void => {
      clearTimeout(timer);
      resolve(text);
    };
    const timer = setTimeout(done, 2000);
    socket.on('data', (c: Buffer) => {
      text += c.toString('latin1');
      if (predicate(text)) done();
    });
    socket.on('close', done);
  });
}

// Settles within `ms`, or rejects: a liveness check (a close that never returns), not a timing.
function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    promise.finally(() => clearTimeout(timer)),
    new Promise<T>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`${what} did not settle within ${ms} ms`)), ms);
    }),
  ]);
}

const encoder = new TextEncoder();

function hostileApp(calls: string[]) {
  return {
    async fetch(request: Request, info: ServeInfo): Promise<Response> {
      const path = new URL(request.url).pathname;
      calls.push(path);
      // A response that never ends (server-sent events the client stops reading).
      if (path === '/stream')
        return new Response(
          new ReadableStream({
            start(c) {
              c.enqueue(encoder.encode('part'));
            },
          }),
        );
      // An app that never decides.
      if (path === '/never') await new Promise(() => {});
      if (path === '/ws' && info.upgrade !== undefined) return info.upgrade({ message() {} });
      return new Response(`ok ${path}`);
    },
  };
}

async function withServer(
  options: ServeOptions,
  fn: (server: StrataServer, calls: string[]) => Promise<void>,
): Promise<void> {
  const calls: string[] = [];
  const server = await serve(hostileApp(calls), { port: 0, logger: false, ...options });
  try {
    await fn(server, calls);
  } finally {
    await within(server.close(), 5000, 'server.close()');
  }
}

for (const fastLane of [true, false]) {
  describe(`edge review: upgrades cannot hold the server (fastLane: ${fastLane})`, () => {
    test('a handshake pipelined behind a never-ending response, then the client leaves: nothing is held', async () => {
      await withServer({ fastLane, maxInFlight: 2, shutdownTimeout: 1000 }, async (server, calls) => {
        for (let i = 0; i < 2; i++) {
          const socket = await open(
            server.port,
            `POST /stream HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n${handshake('/ws', server.port)}`,
          );
          // The stream has started: the handshake behind it waits for that response to end.
          assert.match(await received(socket, (t) => t.includes('part')), /part/);
          socket.destroy();
        }
        // Both handshakes let go of their slot in flight once their client left: a request is
        // served (it was 503 for ever, the sockets never closed).
        let status = 0;
        for (let i = 0; i < 20 && status !== 200; i++) {
          status = (
            await rawRequest(server.port, 'GET /after HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n')
          ).status;
          if (status !== 200) await sleep(50);
        }
        assert.equal(status, 200);
        assert.ok(!calls.includes('/ws'), 'the handshake never reached the app');
      });
    });

    test('shutdownTimeout closes a handshake the app never answers, and one queued behind a stream', async () => {
      await withServer({ fastLane, shutdownTimeout: 300 }, async (server) => {
        const waiting = await open(server.port, handshake('/never', server.port));
        const queued = await open(
          server.port,
          `POST /stream HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n${handshake('/ws', server.port)}`,
        );
        await received(queued, (t) => t.includes('part'));
        // Both sockets left node's HTTP bookkeeping at the upgrade: the drain's deadline must
        // still close them (close() never returned).
        await within(server.close(), 3000, 'server.close() with handshakes pending');
        waiting.destroy();
        queued.destroy();
      });
    });
  });
}

for (const fastLane of [true, false]) {
  describe(`edge review: maxHeaderCount counts the client's lines (fastLane: ${fastLane})`, () => {
    const lines = (n: number): string =>
      ['Host: x', ...Array.from({ length: n - 1 }, (_, i) => `X-${i}: v`)].map((l) => `${l}\r\n`).join('');
    for (const accessLog of [false, true]) {
      test(`exactly maxHeaderCount lines pass, one more is 431 (accessLog: ${accessLog})`, async () => {
        // The access log adds the request id to the request's headers: that line is the
        // server's, not the client's (a request at the cap was 431 on node's path only).
        const log = accessLog ? { destination: '/dev/null', requestId: { trust: 'never' as const } } : false;
        await withServer({ fastLane, maxHeaderCount: 5, accessLog: log }, async (server) => {
          const get = (n: number) =>
            rawRequest(server.port, `GET /h HTTP/1.1\r\n${lines(n)}Connection: close\r\n\r\n`);
          const post = (n: number) =>
            rawRequest(
              server.port,
              `POST /h HTTP/1.1\r\n${lines(n - 2)}Content-Length: 0\r\nConnection: close\r\n\r\n`,
            );
          assert.equal((await get(4)).status, 200);
          assert.equal((await post(5)).status, 200, 'a POST (node path on both transports) at the cap');
          assert.equal((await post(6)).status, 431);
          // The last line is Connection: the GET has n + 1 lines.
          assert.equal((await get(5)).status, 431);
        });
      });
    }
  });
}
