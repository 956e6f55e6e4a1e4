import assert from 'node:assert/strict';
import { request as httpRequest } from 'node:http';
import { connect } from 'node:net';
import { test } from 'node:test';
import WebSocket, { WebSocketServer } from 'ws';
import { App } from '../../src/app/index.ts';
import { Metrics } from '../../src/observe/metrics.ts';
import { proxy, UpstreamGroup } from '../../src/proxy/index.ts';
import { serve } from '../../src/server.ts';
import { rawRequest, waitFor } from '../fixtures/http.ts';
import { deadPort, startProxy, startRawUpstream, startUpstream } from './fixtures.ts';

test('a route forwards on the fast lane: forwarding headers replaced for an untrusted peer, Via both ways', async () => {
  const up = await startUpstream();
  await using server = await startProxy([up.url]);
  const res = await fetch(`${server.url}/api/users?x=1`, {
    headers: {
      'x-forwarded-for': '6.6.6.6',
      forwarded: 'for=6.6.6.6',
      'x-forwarded-host': 'evil',
      via: '1.0 other',
    },
  });
  assert.equal(res.status, 200);
  assert.equal(res.headers.get('via'), '1.1 strata');
  const seen = up.seen[0]!;
  assert.equal(seen.url, '/api/users?x=1');
  assert.equal(seen.headers['x-forwarded-for'], '127.0.0.1', 'the client cannot state its own address');
  assert.equal(seen.headers['x-forwarded-proto'], 'http');
  assert.equal(seen.headers['x-forwarded-host'], new URL(server.url).host);
  assert.equal(seen.headers.forwarded, `for=127.0.0.1;proto=http;host="${new URL(server.url).host}"`);
  assert.equal(seen.headers.via, '1.0 other, 1.1 strata');
  assert.equal(seen.headers.host, new URL(server.url).host, 'Host passed by default');
  // Not a proxy route: the app.
  assert.equal(await (await fetch(`${server.url}/apix`)).text(), 'from the app');
  assert.equal(await (await fetch(`${server.url}/static/../api/x`)).status, 200);
  assert.equal(up.seen.length, 2);
  await up.close();
});

test('behind a trusted proxy the incoming forwarding headers are kept and appended to', async () => {
  const up = await startUpstream();
  await using server = await startProxy([up.url], { serve: { trustProxy: ['loopback'] } });
  await fetch(`${server.url}/api`, {
    headers: {
      'x-forwarded-for': '203.0.113.9',
      'x-forwarded-proto': 'https',
      forwarded: 'for=203.0.113.9;proto=https',
    },
  });
  const seen = up.seen[0]!;
  assert.equal(seen.headers['x-forwarded-for'], '203.0.113.9, 127.0.0.1');
  assert.equal(seen.headers['x-forwarded-proto'], 'https');
  assert.match(
    String(seen.headers.forwarded),
    /^for=203\.0\.113\.9;proto=https, for=127\.0\.0\.1;proto=http;host=/,
  );
  await up.close();
});

test('trustProxyHeader names the forwarding headers written; host: upstream rewrites Host; stripPath', async () => {
  const up = await startUpstream();
  await using server = await startProxy([up.url], {
    host: 'upstream',
    routes: [{ path: '/api', to: 'api', stripPath: true }],
    serve: { trustProxyHeader: 'forwarded' },
  });
  await fetch(`${server.url}/api/v1/items`);
  await fetch(`${server.url}/api`);
  const seen = up.seen[0]!;
  assert.equal(seen.url, '/v1/items');
  assert.equal(up.seen[1]!.url, '/');
  assert.equal(seen.headers.host, `127.0.0.1:${up.port}`);
  assert.equal(seen.headers['x-forwarded-for'], undefined);
  assert.match(String(seen.headers.forwarded), /^for=127\.0\.0\.1;proto=http/);
  await up.close();
});

test('hop-by-hop fields are stripped both ways, with those Connection names', async () => {
  const up = await startUpstream((_req, res) => {
    res.writeHead(200, {
      connection: 'x-drop, keep-alive',
      'x-drop': 'secret',
      'keep-alive': 'timeout=77',
      'proxy-authenticate': 'Basic',
      'x-kept': 'yes',
      'content-length': '2',
    });
    res.end('ok');
  });
  await using server = await startProxy([up.url]);
  const port = Number(new URL(server.url).port);
  // Connection naming a field: node's path (the lane declines it).
  const reply = await rawRequest(
    port,
    'GET /api HTTP/1.1\r\nHost: a\r\nConnection: x-secret\r\nX-Secret: 1\r\nTE: trailers\r\nProxy-Authorization: Basic eA==\r\nKeep-Alive: 5\r\nUpgrade: h2c\r\nX-Kept: 1\r\n\r\n',
    { timeoutMs: 1000 },
  );
  assert.equal(reply.status, 200);
  const head = reply.text.split('\r\n\r\n')[0]!.toLowerCase();
  assert.doesNotMatch(head, /x-drop|proxy-authenticate|timeout=77/);
  assert.match(head, /x-kept: yes/);
  const seen = up.seen[0]!.headers;
  for (const name of ['x-secret', 'te', 'proxy-authorization', 'keep-alive', 'upgrade'])
    assert.equal(seen[name], undefined, `${name} reached the upstream`);
  assert.equal(seen['x-kept'], '1');
  await up.close();
});

test('a response without a length is chunked to an HTTP/1.1 client and close-delimited to HTTP/1.0', async () => {
  const up = await startUpstream((_req, res) => {
    res.write('hello ');
    setImmediate(() => res.end('world'));
  });
  await using server = await startProxy([up.url]);
  const port = Number(new URL(server.url).port);
  const v11 = await rawRequest(port, 'GET /api HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n');
  assert.match(v11.text, /transfer-encoding: chunked/i);
  assert.match(v11.text, /\r\n\r\n6\r\nhello \r\n5\r\nworld\r\n0\r\n\r\n$/);
  const v10 = await rawRequest(port, 'GET /api HTTP/1.0\r\nHost: a\r\n\r\n');
  assert.ok(v10.closed);
  assert.doesNotMatch(v10.text, /transfer-encoding/i);
  assert.match(v10.text, /\r\n\r\nhello world$/);
  await up.close();
});

test('keep-alive: many requests on one client connection reuse the upstream connection', async () => {
  const up = await startUpstream();
  let connections = 0;
  up.server.on('connection', () => connections++);
  await using server = await startProxy([up.url]);
  for (let i = 0; i < 20; i++) assert.equal((await fetch(`${server.url}/api/${i}`)).status, 200);
  assert.equal(connections, 1);
  await up.close();
});

test("request bodies stream through node's path (chunked and large) and the limit answers 413", async () => {
  const up = await startUpstream();
  await using server = await startProxy([up.url], { serve: { maxBodySize: 300_000 } });
  const big = 'x'.repeat(200_000);
  const res = await fetch(`${server.url}/api/upload`, { method: 'POST', body: big });
  assert.equal(((await res.json()) as { length: number }).length, 200_000);
  // Chunked, no length: counted while streaming.
  const over = await new Promise<number>((resolve, reject) => {
    const req = httpRequest(`${server.url}/api/chunked`, { method: 'POST' }, (r) => {
      r.resume();
      resolve(r.statusCode!);
    });
    req.on('error', reject);
    for (let i = 0; i < 40; i++) req.write('y'.repeat(10_000));
    req.end();
  });
  assert.equal(over, 413);
  // A declared length over the limit: refused at the edge, never forwarded.
  const declared = await fetch(`${server.url}/api/declared`, { method: 'POST', body: 'z'.repeat(400_000) });
  assert.equal(declared.status, 413);
  assert.equal(up.seen.filter((s) => s.url === '/api/declared').length, 0);
  await up.close();
});

test('an idempotent request is retried on another upstream after a connect failure; a POST is not', async () => {
  const up = await startUpstream();
  const dead = `http://127.0.0.1:${await deadPort()}`;
  await using server = await startProxy([dead, up.url]);
  for (let i = 0; i < 6; i++) assert.equal((await fetch(`${server.url}/api/get`)).status, 200);
  // Round robin places every other POST on the dead one: 502, never retried (not idempotent).
  const statuses: number[] = [];
  for (let i = 0; i < 4; i++)
    statuses.push((await fetch(`${server.url}/api/post`, { method: 'POST', body: 'b' })).status);
  assert.ok(statuses.includes(502), `statuses ${statuses}`);
  const failed = await fetch(`${server.url}/api/post`, { method: 'POST', body: 'b' });
  const second = await fetch(`${server.url}/api/post`, { method: 'POST', body: 'b' });
  const problem = [failed, second].find((r) => r.status === 502)!;
  assert.equal(problem.headers.get('content-type'), 'application/problem+json');
  assert.equal(((await problem.json()) as { status: number }).status, 502);
  await up.close();
});

test('nothing answers: 502 problem after the retries, logged with the upstream; a silent upstream: 504', async () => {
  const lines: { upstream?: string; msg?: string }[] = [];
  const { pino } = await import('pino');
  const { Writable } = await import('node:stream');
  const logger = pino(
    new Writable({
      write(chunk, _e, cb) {
        for (const l of String(chunk).split('\n')) if (l !== '') lines.push(JSON.parse(l));
        cb();
      },
    }),
  );
  const a = `http://127.0.0.1:${await deadPort()}`;
  const b = `http://127.0.0.1:${await deadPort()}`;
  await using server = await startProxy([a, b], { serve: { logger } });
  const res = await fetch(`${server.url}/api`);
  assert.equal(res.status, 502);
  await waitFor(() => lines.some((l) => l.msg === 'proxy: no upstream answered'));
  assert.ok(lines.some((l) => l.upstream === a || l.upstream === b));
  const silent = await startRawUpstream();
  try {
    await using slow = await startProxy([silent.url], { headersTimeout: 200 });
    const timedOut = await fetch(`${slow.url}/api`);
    assert.equal(timedOut.status, 504);
    assert.equal(timedOut.headers.get('content-type'), 'application/problem+json');
  } finally {
    await silent.close();
  }
});

test('backpressure: a client that does not read stops the upstream', async () => {
  const total = 64 * 1024 * 1024;
  let written = 0;
  let finished = false;
  const up = await startUpstream((_req, res) => {
    res.writeHead(200, { 'content-length': String(total) });
    const chunk = Buffer.alloc(64 * 1024, 97);
    const pump = (): void => {
      while (written < total) {
        written += chunk.length;
        if (!res.write(chunk)) {
          res.once('drain', pump);
          return;
        }
      }
      res.end();
      finished = true;
    };
    pump();
  });
  await using server = await startProxy([up.url]);
  const socket = connect(Number(new URL(server.url).port), '127.0.0.1');
  socket.write('GET /api HTTP/1.1\r\nHost: a\r\n\r\n');
  socket.pause();
  // Wait until the upstream stalls: its writes stop growing while the client reads nothing.
  let last = -1;
  for (let i = 0; i < 200 && written !== last; i++) {
    last = written;
    await new Promise((r) => setTimeout(r, 50));
  }
  assert.ok(!finished, 'the upstream wrote the whole body to a client that reads nothing');
  assert.ok(written < total / 2, `${written} bytes written upstream`);
  socket.destroy();
  await up.close();
});

test('WebSocket upgrades are proxied: 101, then messages both ways', async () => {
  const wss = new WebSocketServer({ port: 0, host: '127.0.0.1' });
  await new Promise<void>((r) => wss.once('listening', () => r()));
  wss.on('connection', (ws, req) => {
    ws.send(`hello ${req.headers['x-forwarded-for']}`);
    ws.on('message', (m) => ws.send(`echo ${m}`));
  });
  const port = (wss.address() as { port: number }).port;
  await using server = await startProxy([`http://127.0.0.1:${port}`]);
  const ws = new WebSocket(`${server.url.replace('http', 'ws')}/api/socket`);
  const messages: string[] = [];
  ws.on('message', (m) => messages.push(String(m)));
  await new Promise<void>((resolve, reject) => {
    ws.once('open', () => resolve());
    ws.once('error', reject);
  });
  ws.send('ping');
  await waitFor(() => messages.length === 2, 5000, 'two messages');
  assert.deepEqual(messages, ['hello 127.0.0.1', 'echo ping']);
  ws.close();
  await new Promise((r) => wss.close(r));
});

test('a refused WebSocket handshake is relayed as it came', async () => {
  const up = await startUpstream((_req, res) => {
    res.writeHead(403, { 'content-type': 'text/plain' });
    res.end('no');
  });
  await using server = await startProxy([up.url]);
  const ws = new WebSocket(`${server.url.replace('http', 'ws')}/api/socket`);
  const status = await new Promise<number>((resolve) => {
    ws.once('unexpected-response', (_req, res) => resolve(res.statusCode!));
    ws.once('error', () => resolve(-1));
  });
  assert.equal(status, 403);
  await up.close();
});

test('per-upstream metrics and the upstream in the JSON access log', async () => {
  const up = await startUpstream();
  const metrics = new Metrics({ defaultMetrics: false });
  const { mkdtempSync, readFileSync, rmSync } = await import('node:fs');
  const { tmpdir } = await import('node:os');
  const { join } = await import('node:path');
  const dir = mkdtempSync(join(tmpdir(), 'strata-proxy-log-'));
  const file = join(dir, 'access.log');
  const server = await startProxy([up.url], {
    serve: { metrics, accessLog: { format: 'json', destination: file, bufferSize: 0 } },
  });
  await fetch(`${server.url}/api/a`);
  await fetch(`${server.url}/api/b`, { method: 'POST', body: 'x'.repeat(100_000) });
  const text = await metrics.text();
  assert.match(
    text,
    new RegExp(`strata_upstream_requests_total\\{group="api",upstream="${up.url}",class="2xx"\\} 2`),
  );
  assert.match(text, new RegExp(`strata_upstream_up\\{group="api",upstream="${up.url}"\\} 1`));
  assert.match(text, /strata_upstream_response_seconds_count\{group="api"/);
  await server.close();
  const lines = readFileSync(file, 'utf8')
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as { url: string; upstream?: string });
  assert.deepEqual(
    lines.map((l) => [l.url, l.upstream]),
    [
      ['/api/a', up.url],
      ['/api/b', up.url],
    ],
  );
  rmSync(dir, { recursive: true, force: true });
  await up.close();
});

test('proxy(group) is a framework handler: app.all() forwards and streams the answer', async () => {
  const up = await startUpstream();
  const group = new UpstreamGroup({ upstreams: [up.url] });
  const app = new App();
  app.get('/local', () => 'local');
  const { createLogger } = await import('../../src/observe/logger.ts');
  const handler = proxy(group, { stripPrefix: '/api', logger: createLogger({ level: 'silent' }) });
  app.all('/api/*', handler);
  await using server = await serve(app, { port: 0, logger: false });
  const res = await fetch(`${server.url}/api/things?q=1`, { method: 'POST', body: 'hello' });
  assert.equal(res.status, 200);
  const body = (await res.json()) as { url: string; length: number };
  assert.equal(body.url, '/things?q=1');
  assert.equal(body.length, 5);
  assert.equal(up.seen[0]!.headers['x-forwarded-for'], '127.0.0.1');
  assert.equal(await (await fetch(`${server.url}/local`)).text(), 'local');
  await up.close();
  const down = await fetch(`${server.url}/api/things`);
  assert.equal(down.status, 502);
  await handler.close();
});

test('a reset (the upstream closes without answering) is retried for a GET; a stalled body is cut after idleTimeout', async () => {
  const resetting = await startUpstream((req) => req.socket.destroy());
  const good = await startUpstream();
  await using server = await startProxy([resetting.url, good.url]);
  for (let i = 0; i < 4; i++) assert.equal((await fetch(`${server.url}/api/r${i}`)).status, 200);
  assert.ok(resetting.seen.length >= 1, 'the resetting upstream was tried');
  await resetting.close();
  await good.close();

  const stalling = await startUpstream((_req, res) => {
    res.writeHead(200, { 'content-length': '10' });
    res.write('12345');
  });
  await using slow = await startProxy([stalling.url], { idleTimeout: 200 });
  const reply = await rawRequest(Number(new URL(slow.url).port), 'GET /api HTTP/1.1\r\nHost: a\r\n\r\n', {
    timeoutMs: 5000,
  });
  assert.equal(reply.status, 200);
  assert.ok(reply.closed, 'the client connection is closed once the upstream stalls');
  assert.match(reply.text, /\r\n\r\n12345$/);
  await stalling.close();
});

test('pipelined requests are answered in order; the access log request id is on proxied responses', async () => {
  const up = await startUpstream((req, res) => {
    // The later request answers first upstream: the client must still get them in order.
    setTimeout(() => res.end(req.url), req.url === '/api/1' ? 50 : 0);
  });
  const { mkdtempSync, rmSync } = await import('node:fs');
  const { tmpdir } = await import('node:os');
  const { join } = await import('node:path');
  const dir = mkdtempSync(join(tmpdir(), 'strata-proxy-id-'));
  await using server = await startProxy([up.url], {
    serve: { accessLog: { format: 'json', destination: join(dir, 'a.log') } },
  });
  const reply = await rawRequest(
    Number(new URL(server.url).port),
    'GET /api/1 HTTP/1.1\r\nHost: a\r\n\r\nGET /api/2 HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n',
  );
  const bodies = [...reply.text.matchAll(/\r\n\r\n(\/api\/\d)/g)].map((m) => m[1]);
  assert.deepEqual(bodies, ['/api/1', '/api/2']);
  assert.equal((reply.text.match(/x-request-id: /gi) ?? []).length, 2, reply.text);
  const id = (await fetch(`${server.url}/api/x`)).headers.get('x-request-id');
  assert.ok(id !== null && id.length > 0);
  assert.equal(up.seen.at(-1)!.headers['x-request-id'], id, 'the upstream gets the same id');
  rmSync(dir, { recursive: true, force: true });
  await up.close();
});

test('an upstream that hangs: an idempotent request goes to another after headersTimeout, a POST gets 504', async () => {
  const silent = await startRawUpstream();
  const good = await startUpstream();
  await using server = await startProxy([silent.url, good.url], { headersTimeout: 150 });
  for (let i = 0; i < 2; i++) assert.equal((await fetch(`${server.url}/api/h${i}`)).status, 200);
  assert.ok(silent.received.length >= 1, 'the hanging upstream was tried');
  const statuses: number[] = [];
  for (let i = 0; i < 2; i++)
    statuses.push((await fetch(`${server.url}/api/p`, { method: 'POST', body: 'x' })).status);
  assert.deepEqual(statuses.sort(), [200, 504]);
  await silent.close();
  await good.close();
});
