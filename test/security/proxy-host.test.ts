/**
 * `host: 'upstream'`: the upstream always gets its own host in Host, whatever the client's
 * header values are (a value that reads `host` once made the rewrite land on the wrong field).
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import WebSocket, { WebSocketServer } from 'ws';
import { rawRequest } from '../fixtures/http.ts';
import { startProxy, startUpstream } from '../proxy/fixtures.ts';

test("host: 'upstream' rewrites Host even when a client header's value is the word host", async (t) => {
  const up = await startUpstream();
  t.after(() => up.close());
  await using server = await startProxy([up.url], { host: 'upstream' });
  for (const headers of [{ 'x-a': 'host' }, { 'x-a': 'host', 'x-b': 'y' }, { 'x-a': 'HOST' }]) {
    const res = await fetch(`${server.url}/api/x`, { headers });
    assert.equal(res.status, 200, JSON.stringify(headers));
    const seen = up.seen.at(-1)!;
    assert.equal(seen.headers.host, new URL(up.url).host, JSON.stringify(headers));
    assert.equal(seen.headers['x-a'], headers['x-a'], 'the client value is forwarded as sent');
    const names = seen.rawHeaders.filter((_, i) => i % 2 === 0);
    assert.equal(names.filter((name) => name.toLowerCase() === 'host').length, 1);
  }
});

test("host: 'upstream' rewrites Host of a proxied WebSocket handshake whatever the header values", async (t) => {
  const wss = new WebSocketServer({ port: 0, host: '127.0.0.1' });
  await new Promise<void>((r) => wss.once('listening', () => r()));
  t.after(() => new Promise((r) => wss.close(r)));
  const hosts: (string | undefined)[] = [];
  wss.on('connection', (ws, req) => {
    hosts.push(req.headers.host);
    ws.close();
  });
  const port = (wss.address() as { port: number }).port;
  await using server = await startProxy([`http://127.0.0.1:${port}`], { host: 'upstream' });
  const ws = new WebSocket(`${server.url.replace('http', 'ws')}/api/socket`, { headers: { 'x-a': 'host' } });
  const status = await new Promise<number>((resolve) => {
    ws.once('open', () => resolve(101));
    ws.once('unexpected-response', (_req, res) => resolve(res.statusCode ?? 0));
    ws.once('error', () => resolve(0));
  });
  ws.terminate();
  assert.equal(status, 101);
  assert.deepEqual(hosts, [`127.0.0.1:${port}`]);
});

test('a Connection header naming Host does not strip it: the upstream gets the Host the route matched', async (t) => {
  const up = await startUpstream();
  t.after(() => up.close());
  await using server = await startProxy([up.url], {
    routes: [{ path: '/api', host: 'app.example.com', to: 'api' }],
  });
  for (const connection of ['close, host', 'close, Host']) {
    const reply = await rawRequest(
      server.port,
      `GET /api/x HTTP/1.1\r\nHost: app.example.com\r\nConnection: ${connection}\r\n\r\n`,
    );
    assert.equal(reply.status, 200, reply.text);
    const seen = up.seen.at(-1)!;
    assert.equal(seen.headers.host, 'app.example.com', `Connection: ${connection}`);
    assert.equal(seen.headers['x-forwarded-host'], 'app.example.com');
  }
});
