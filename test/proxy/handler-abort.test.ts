/**
 * `proxy()` (the framework handler) when the request is aborted before the upstream answers:
 * its promise settles (a 499, "client closed request", which nobody reads) instead of staying
 * pending forever (and the middleware after it with it), and nothing is logged as an error.
 */
import assert from 'node:assert/strict';
import type { ServerResponse } from 'node:http';
import { connect } from 'node:net';
import { test } from 'node:test';
import { App } from '../../src/app/index.ts';
import { createLogger } from '../../src/observe/logger.ts';
import { proxy, UpstreamGroup } from '../../src/proxy/index.ts';
import { serve } from '../../src/server.ts';
import { memoryLogger, waitFor } from '../fixtures/http.ts';
import { startUpstream } from './fixtures.ts';

test('an aborted request settles the handler promise (before the upstream head)', async (t) => {
  const held: ServerResponse[] = [];
  const up = await startUpstream((_req, res) => held.push(res));
  t.after(async () => {
    for (const res of held) res.destroy();
    await up.close();
  });
  const handler = proxy(new UpstreamGroup({ upstreams: [up.url] }), {
    logger: createLogger({ level: 'silent' }),
  });
  t.after(() => handler.close());
  const controller = new AbortController();
  const answer = handler(new Request('http://edge.test/x', { signal: controller.signal }));
  await waitFor(() => held.length === 1, 5000, 'the upstream holds the request');
  controller.abort();
  let timer: NodeJS.Timeout | undefined;
  const outcome = await Promise.race([
    answer.then(
      (res) => `resolved ${res.status}`,
      () => 'rejected',
    ),
    new Promise<string>((resolve) => {
      // Bounds a failing run only: the abort settles it at once.
      timer = setTimeout(() => resolve('pending'), 3000);
    }),
  ]);
  clearTimeout(timer);
  assert.equal(outcome, 'resolved 499');
});

test('a client that leaves a proxied app route: no error logged for it', async (t) => {
  const held: ServerResponse[] = [];
  const up = await startUpstream((_req, res) => held.push(res));
  const handler = proxy(new UpstreamGroup({ upstreams: [up.url] }), {
    logger: createLogger({ level: 'silent' }),
  });
  const app = new App();
  app.all('/api/*', handler);
  const { logger, lines } = memoryLogger();
  const server = await serve(app, { port: 0, logger });
  t.after(async () => {
    for (const res of held) res.destroy();
    await server.close();
    await handler.close();
    await up.close();
  });
  const socket = connect(server.port, '127.0.0.1');
  socket.on('error', () => {});
  socket.write('GET /api/x HTTP/1.1\r\nHost: a\r\n\r\n');
  await waitFor(() => held.length === 1, 5000, 'the upstream holds the request');
  const closedUpstream = new Promise<void>((resolve) => held[0]!.once('close', () => resolve()));
  socket.destroy();
  // The upstream request is cancelled once the client is gone: by then the app has settled.
  await closedUpstream;
  await new Promise((resolve) => setImmediate(resolve));
  assert.deepEqual(
    lines.filter((line) => line.level >= 50),
    [],
  );
});
