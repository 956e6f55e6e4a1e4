import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { type StrataServer, serve } from '../../src/server.ts';
import { rawRequest } from '../fixtures/http.ts';

// Every table runs on both transports: the fast lane and node:http alone.
for (const fastLane of [true, false]) {
  describe(`server limits, over raw sockets (fastLane: ${fastLane})`, () => {
    let server: StrataServer;
    let appCalls = 0;
    let bodyBytes = 0;

    before(async () => {
      server = await serve(
        async (request: Request) => {
          appCalls += 1;
          if (request.method === 'POST') {
            const body = await request.arrayBuffer();
            bodyBytes = body.byteLength;
            return new Response(`read ${body.byteLength}`);
          }
          return new Response('ok');
        },
        {
          port: 0,
          logger: false,
          fastLane,
          maxBodySize: 1000,
          maxHeaderSize: 2048,
          headersTimeout: 300,
          requestTimeout: 2000,
          keepAliveTimeout: 1000,
        },
      );
    });
    after(() => server.close());

    test('413 is answered from Content-Length before any of the body is sent', async () => {
      const calls = appCalls;
      const res = await rawRequest(
        server.port,
        'POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 5000\r\n\r\n',
        {
          timeoutMs: 1500,
        },
      );
      assert.equal(res.status, 413);
      assert.match(res.text, /connection: close/i);
      assert.equal(res.closed, true, 'the connection is closed rather than drained');
      assert.equal(appCalls, calls, 'the app never ran');
    });

    test('a body at the limit is accepted', async () => {
      const body = 'x'.repeat(1000);
      const res = await rawRequest(
        server.port,
        `POST / HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Length: ${body.length}\r\n\r\n${body}`,
      );
      assert.equal(res.status, 200);
      assert.match(res.text, /read 1000$/);
    });

    test('a chunked body over the limit is cut off with 413 while it streams', async () => {
      const chunk = `${(600).toString(16)}\r\n${'y'.repeat(600)}\r\n`;
      bodyBytes = -1;
      const res = await rawRequest(
        server.port,
        [`POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n`, chunk, chunk, chunk, chunk],
        { gapMs: 20, timeoutMs: 2000 },
      );
      assert.equal(res.status, 413);
      assert.equal(bodyBytes, -1, 'the app never received the oversized body');
      assert.equal(res.closed, true);
    });

    test('431 for a header block over maxHeaderSize', async () => {
      const res = await rawRequest(
        server.port,
        `GET / HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(4000)}\r\n\r\n`,
      );
      assert.equal(res.status, 431);
    });

    test('a slowloris client trickling headers is cut off near headersTimeout', async () => {
      const parts = ['GET / HTTP/1.1\r\n', 'Host: x\r\n'];
      for (let i = 0; i < 30; i++) parts.push(`X-Slow-${i}: 1\r\n`);
      const started = Date.now();
      const res = await rawRequest(server.port, parts, { gapMs: 100, timeoutMs: 5000 });
      assert.equal(res.closed, true, 'the server closed the connection');
      assert.ok(Date.now() - started < 4000, 'well before the client finished trickling (3 s)');
      assert.ok(res.status === 408 || res.status === 0, `408 or a bare close, got ${res.status}`);
    });

    test('the server still serves after every hostile case above', async () => {
      const res = await fetch(server.url);
      assert.equal(res.status, 200);
      assert.equal(await res.text(), 'ok');
    });
  });

  describe(`timeouts (fastLane: ${fastLane})`, () => {
    test('a body that stops arriving is cut after idleTimeout', async () => {
      const server = await serve(async (r: Request) => new Response(await r.text()), {
        port: 0,
        logger: false,
        fastLane,
        idleTimeout: 300,
        requestTimeout: 0,
      });
      try {
        const started = Date.now();
        const res = await rawRequest(
          server.port,
          'POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\nabcde',
          {
            timeoutMs: 3000,
          },
        );
        assert.equal(res.closed, true);
        assert.equal(res.status, 0, 'no response to a request that never completed');
        assert.ok(Date.now() - started < 2500, 'cut by the idle timeout, not the test timeout');
        assert.equal((await fetch(server.url, { method: 'POST', body: 'fine' })).status, 200);
      } finally {
        await server.close();
      }
    });

    // serve()'s timeouts reach the transport (the lane's own are tested on a fake clock in
    // test/server/h1/lane-clock.test.ts).
    test('headersTimeout closes a connection that never sends anything, without an answer', async () => {
      const server = await serve(() => new Response('ok'), {
        port: 0,
        logger: false,
        fastLane,
        headersTimeout: 300,
      });
      try {
        const res = await rawRequest(server.port, [], { timeoutMs: 5000 });
        assert.equal(res.closed, true, 'closed by the server, not by the test timeout');
        assert.equal(res.text, '');
      } finally {
        await server.close();
      }
    });

    test('a body trickled slower than requestTimeout allows gets 408', async () => {
      const server = await serve(async (r: Request) => new Response(await r.text()), {
        port: 0,
        logger: false,
        fastLane,
        headersTimeout: 400,
        requestTimeout: 400,
        idleTimeout: 0,
      });
      try {
        const parts = ['POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 20\r\n\r\n'];
        for (let i = 0; i < 20; i++) parts.push('z');
        const res = await rawRequest(server.port, parts, { gapMs: 100, timeoutMs: 4000 });
        assert.equal(res.closed, true);
        assert.ok(res.status === 408 || res.status === 0, `408 or a bare close, got ${res.status}`);
      } finally {
        await server.close();
      }
    });
  });

  describe(`maxConnections (fastLane: ${fastLane})`, () => {
    test('connections beyond the cap are closed, the others served', async () => {
      const server = await serve(() => new Response('ok'), {
        port: 0,
        logger: false,
        fastLane,
        maxConnections: 2,
      });
      try {
        const { connect } = await import('node:net');
        const open = [connect(server.port, '127.0.0.1'), connect(server.port, '127.0.0.1')];
        await Promise.all(open.map((s) => new Promise((r) => s.once('connect', r))));
        await new Promise((r) => setTimeout(r, 50));
        const third = await rawRequest(server.port, 'GET / HTTP/1.1\r\nHost: x\r\n\r\n', { timeoutMs: 1000 });
        assert.equal(third.status, 0, 'no response on the connection over the cap');
        assert.equal(third.closed, true);
        for (const s of open) s.destroy();
        await new Promise((r) => setTimeout(r, 50));
        const res = await fetch(server.url);
        assert.equal(res.status, 200);
      } finally {
        await server.close();
      }
    });
  });
}
