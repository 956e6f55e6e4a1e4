/**
 * An upstream response framed with a transfer coding other than chunked: the proxy strips
 * Transfer-Encoding (hop-by-hop), so relaying it would hand the client coded bytes with nothing
 * saying so. It is a 502 (nginx: "upstream sent unknown Transfer-Encoding"), never relayed.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { rawRequest } from '../fixtures/http.ts';
import { startProxy, startRawUpstream } from '../proxy/fixtures.ts';

const answers: [string, string][] = [
  ['gzip, chunked', 'HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n'],
  ['gzip (close-delimited)', 'HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\nhello'],
  [
    'two fields: gzip / chunked',
    'HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n',
  ],
];

for (const [what, answer] of answers) {
  test(`an upstream response with Transfer-Encoding ${what}: 502 on both transports`, async (t) => {
    const up = await startRawUpstream((socket) => socket.end(answer));
    t.after(() => up.close());
    await using server = await startProxy([up.url], {
      groups: [{ name: 'api', upstreams: [up.url], retry: { attempts: 1 }, passive: false, breaker: false }],
    });
    for (const request of [
      'GET /api/x HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n',
      'POST /api/x HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n0\r\n\r\n',
    ]) {
      const reply = await rawRequest(server.port, request);
      assert.equal(reply.status, 502, reply.text);
      assert.doesNotMatch(reply.text, /hello/);
    }
  });
}

test('plain chunked (any case) is still relayed', async (t) => {
  const up = await startRawUpstream((socket) =>
    socket.end('HTTP/1.1 200 OK\r\nTransfer-Encoding: Chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n'),
  );
  t.after(() => up.close());
  await using server = await startProxy([up.url]);
  const reply = await rawRequest(server.port, 'GET /api/x HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n');
  assert.equal(reply.status, 200);
  assert.match(reply.text, /\r\n\r\n5\r\nhello\r\n0\r\n\r\n$/);
});
