/**
 * HTTP/2 clients to HTTP/1.1 upstreams: the proxy takes node's http2 compatibility objects as it
 * takes node:http's (pseudo-headers dropped, :authority as the Host, a body without a length).
 */
import assert from 'node:assert/strict';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { connect, createServer } from 'node:http2';
import { test } from 'node:test';
import { createLogger } from '../../src/observe/logger.ts';
import { EdgeProxy } from '../../src/proxy/edge-proxy.ts';
import { startUpstream } from './fixtures.ts';

test('an HTTP/2 request is forwarded to an HTTP/1.1 upstream, body and all', async () => {
  const up = await startUpstream();
  const proxy = new EdgeProxy(
    { groups: [{ name: 'api', upstreams: [up.url] }], routes: [{ path: '/api', to: 'api' }] },
    {
      trusted: () => false,
      forwarding: 'both',
      maxBodySize: 1_000_000,
      closing: () => false,
      metrics: undefined,
      log: createLogger({ level: 'silent' }),
    },
  );
  const server = createServer((req, res) => {
    if (!proxy.node(req as unknown as IncomingMessage, res as unknown as ServerResponse)) {
      res.writeHead(404);
      res.end();
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as { port: number }).port;
  const client = connect(`http://127.0.0.1:${port}`);
  const ask = (path: string, method: string, body?: string) =>
    new Promise<{ status: number; text: string; via: string | undefined }>((resolve, reject) => {
      const stream = client.request({ ':path': path, ':method': method }, { endStream: body === undefined });
      let text = '';
      let status = 0;
      let via: string | undefined;
      stream.on('response', (headers) => {
        status = Number(headers[':status']);
        via = headers.via as string | undefined;
      });
      stream.setEncoding('utf8');
      stream.on('data', (c: string) => (text += c));
      stream.on('end', () => resolve({ status, text, via }));
      stream.on('error', reject);
      if (body !== undefined) stream.end(body);
    });
  const get = await ask('/api/x?y=1', 'GET');
  assert.equal(get.status, 200);
  assert.equal(get.via, '1.1 strata');
  assert.equal((JSON.parse(get.text) as { url: string }).url, '/api/x?y=1');
  const post = await ask('/api/upload', 'POST', 'z'.repeat(50_000));
  assert.equal(post.status, 200);
  assert.equal((JSON.parse(post.text) as { length: number }).length, 50_000);
  const seen = up.seen[0]!;
  assert.equal(seen.headers.host, `127.0.0.1:${port}`);
  assert.ok(!Object.keys(seen.headers).some((h) => h.startsWith(':')), 'no pseudo-header upstream');
  client.close();
  await new Promise((r) => server.close(r));
  await proxy.close();
  await up.close();
});
