import assert from 'node:assert/strict';
import { Agent, request as httpRequest } from 'node:http';
import { connect } from 'node:net';
import { describe, test } from 'node:test';
import { serve } from '../../src/server.ts';
import { rawRequest, waitFor } from '../fixtures/http.ts';

function get(
  url: string,
  agent?: Agent,
): Promise<{ status: number; body: string; connection: string | undefined }> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(url, { agent }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode!, body, connection: res.headers.connection }));
    });
    req.on('error', reject);
    req.end();
  });
}

// On both transports: the fast lane and node:http alone.
for (const fastLane of [true, false]) {
  describe(`shutdown (fastLane: ${fastLane})`, () => {
    test('graceful shutdown answers every accepted request, then runs the shutdown hook', async () => {
      const events: string[] = [];
      let started = 0;
      const server = await serve(
        {
          async fetch(request) {
            started += 1;
            const ms = Number(new URL(request.url).searchParams.get('ms') ?? 0);
            await new Promise((r) => setTimeout(r, ms));
            events.push(`answered ${ms}`);
            return new Response(`slept ${ms}`);
          },
          shutdown() {
            events.push('shutdown hook');
          },
        },
        { port: 0, logger: false, fastLane, shutdownTimeout: 5000 },
      );
      const inFlight = [100, 200, 300].map((ms) => get(`${server.url}/?ms=${ms}`));
      await waitFor(() => started === 3, 2000, 'three requests in flight');
      const closed = server.close();
      const results = await Promise.all(inFlight);
      await closed;
      for (const [i, r] of results.entries()) {
        assert.equal(r.status, 200);
        assert.equal(r.body, `slept ${(i + 1) * 100}`);
        assert.equal(r.connection, 'close', 'responses during the drain close their connection');
      }
      assert.deepEqual(events, ['answered 100', 'answered 200', 'answered 300', 'shutdown hook']);
      await assert.rejects(get(server.url), /ECONNREFUSED/, 'no new connection is accepted');
    });

    test('idle keep-alive connections are closed at once, not after keepAliveTimeout', async () => {
      const server = await serve(() => new Response('ok'), {
        port: 0,
        logger: false,
        fastLane,
        keepAliveTimeout: 60_000,
      });
      const agent = new Agent({ keepAlive: true, maxSockets: 1 });
      const first = await get(server.url, agent);
      assert.equal(first.connection, 'keep-alive');
      const started = Date.now();
      await server.close();
      assert.ok(Date.now() - started < 2000, 'close() did not wait for the idle connection to time out');
      agent.destroy();
    });

    test('a request that never completes is cut after shutdownTimeout', async () => {
      let started = false;
      const server = await serve(
        async () => {
          started = true;
          await new Promise(() => {});
          return new Response('never');
        },
        { port: 0, logger: false, fastLane, shutdownTimeout: 200 },
      );
      const stuck = rawRequest(server.port, 'GET / HTTP/1.1\r\nHost: x\r\n\r\n', { timeoutMs: 3000 });
      await waitFor(() => started, 2000, 'the stuck request');
      const t0 = Date.now();
      await server.close();
      const elapsed = Date.now() - t0;
      assert.ok(elapsed >= 150 && elapsed < 2000, `forced close near the timeout (took ${elapsed} ms)`);
      assert.equal((await stuck).closed, true);
    });

    test('a connection that has not sent a request is closed by the drain at once', async () => {
      let release: () => void = () => {};
      const gate = new Promise<void>((r) => (release = r));
      let started = 0;
      const server = await serve(
        async () => {
          started += 1;
          await gate;
          return new Response('done');
        },
        { port: 0, logger: false, fastLane, shutdownTimeout: 5000 },
      );
      // Keep one request in flight so that close() is still draining.
      const first = get(server.url);
      await waitFor(() => started === 1, 2000, 'first request');
      // A connection that is open but has sent nothing (a browser's preconnect).
      const socket = connect(server.port, '127.0.0.1');
      await new Promise((r) => socket.once('connect', r));
      const drainStart = Date.now();
      const closing = server.close();
      release();
      assert.equal((await first).status, 200);
      await closing;
      assert.ok(
        Date.now() - drainStart < 2000,
        'a connection that never sent a byte does not hold the drain',
      );
      await new Promise<void>((resolve) => {
        if (socket.destroyed) resolve();
        socket.once('close', () => resolve());
        socket.resume();
      });
      assert.equal(socket.destroyed, true, 'the unused connection was closed by the drain');
    });
  });
}
