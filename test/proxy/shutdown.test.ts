/**
 * Graceful shutdown with proxied requests in flight: they are answered, their responses say
 * `Connection: close` (as the app's do), and the proxy's pools and timers are gone afterwards.
 */
import assert from 'node:assert/strict';
import { createServer, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { test } from 'node:test';
import { serve } from '../../src/server.ts';
import { rawRequest, waitFor } from '../fixtures/http.ts';
import { startProxy, startUpstream } from './fixtures.ts';

const requests: [string, string][] = [
  ['lane', 'GET /api/held HTTP/1.1\r\nHost: a\r\n\r\n'],
  [
    'node path (chunked body)',
    'POST /api/held HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n1\r\nx\r\n0\r\n\r\n',
  ],
];

for (const [path, request] of requests) {
  test(`a proxied response (${path}) whose head comes after the drain began says Connection: close`, async (t) => {
    const held: ServerResponse[] = [];
    const up = await startUpstream((_req, res) => held.push(res));
    t.after(() => up.close());
    const server = await startProxy([up.url]);
    t.after(() => server.close());
    const reply = rawRequest(server.port, request, { timeoutMs: 5000 });
    await waitFor(() => held.length === 1, 5000, 'the upstream holds the request');
    const closed = server.close();
    // The drain has begun (close() sets it at once); now the upstream answers.
    held[0]!.end('late');
    const { text, closed: connectionClosed } = await reply;
    assert.match(text, /^HTTP\/1\.1 200 /);
    assert.match(text, /\r\nconnection: close\r\n/i, text);
    assert.doesNotMatch(text, /\r\nconnection: keep-alive\r\n/i, text);
    assert.ok(connectionClosed, 'the server closed the connection');
    await closed;
  });
}

test("a serve() that cannot listen stops its proxy's health checks (they ran on after the error)", async (t) => {
  let checks = 0;
  const up = await startUpstream((req, res) => {
    if (req.url === '/health') checks++;
    res.end('ok');
  });
  t.after(() => up.close());
  const taken = createServer();
  await new Promise<void>((resolve) => taken.listen(0, '127.0.0.1', resolve));
  t.after(() => new Promise((resolve) => taken.close(resolve)));
  const port = (taken.address() as AddressInfo).port;
  await assert.rejects(
    serve(() => new Response('app'), {
      port,
      logger: false,
      proxy: {
        groups: [{ name: 'api', upstreams: [up.url], health: { uri: '/health', intervalMs: 10 } }],
        routes: [{ path: '/api', to: 'api' }],
      },
    }),
    /already in use/,
  );
  const before = checks;
  // 30 check intervals: a group left running would have checked many times by then.
  await new Promise((resolve) => setTimeout(resolve, 300));
  assert.equal(checks - before, 0, 'no health check after serve() rejected');
});
