/**
 * Proxied exchanges in the access log and the metrics: one record each, the same on the fast
 * lane and on node's path, also when the upstream fails in the middle of its body.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { Metrics } from '../../src/observe/metrics.ts';
import { rawRequest } from '../fixtures/http.ts';
import { startProxy, startUpstream } from './fixtures.ts';

test('an upstream that dies mid-body: logged as the status and bytes sent, on the lane as on node path', async (t) => {
  const up = await startUpstream((_req, res) => {
    res.writeHead(200, { 'content-length': 100 });
    // The head and 7 bytes of 100, then the upstream's connection goes.
    res.write('partial', () => setImmediate(() => res.socket?.destroy()));
  });
  t.after(() => up.close());
  const dir = mkdtempSync(join(tmpdir(), 'strata-proxy-log-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const metrics = new Metrics();
  const server = await startProxy([up.url], {
    serve: { accessLog: { format: 'json', destination: join(dir, 'access.log') }, metrics },
  });
  const requests = [
    // The fast lane (no body), node's path (a chunked body).
    'GET /api/cut HTTP/1.1\r\nHost: a\r\n\r\n',
    'POST /api/cut HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n1\r\nx\r\n0\r\n\r\n',
  ];
  for (const request of requests) {
    const reply = await rawRequest(server.port, request, { timeoutMs: 5000 });
    assert.equal(reply.status, 200);
    assert.ok(reply.closed, 'the client connection is cut (its body cannot be completed)');
    assert.match(reply.text, /\r\n\r\npartial$/);
  }
  await server.close();
  const lines = readFileSync(join(dir, 'access.log'), 'utf8')
    .trim()
    .split('\n')
    .map((line) => JSON.parse(line) as { method: string; status: number; bytes: number });
  assert.deepEqual(
    lines.map(({ method, status, bytes }) => ({ method, status, bytes })),
    [
      { method: 'GET', status: 200, bytes: 7 },
      { method: 'POST', status: 200, bytes: 7 },
    ],
  );
  const text = await metrics.text();
  assert.match(text, /strata_http_requests_total\{method="GET",route="",status="200"\} 1\n/);
  assert.doesNotMatch(text, /status="499"/, 'the client did not leave: the upstream failed');
});
