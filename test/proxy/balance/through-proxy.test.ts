/**
 * The group's health through the proxy itself (in-process upstreams): what the forwarder reports
 * to `end` is what passive checks judge.
 */
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Writable } from 'node:stream';
import { test } from 'node:test';
import { pino } from 'pino';
import { UpstreamGroup, type UpstreamState } from '../../../src/proxy/balance/index.ts';
import { serve } from '../../../src/server.ts';

async function upstream(status: number): Promise<{ server: Server; url: string; hits: () => number }> {
  let hits = 0;
  const server = createServer((_req, res) => {
    hits++;
    res.writeHead(status, { 'content-type': 'text/plain' }).end(String(status));
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return { server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, hits: () => hits };
}

for (const [failOn, expected] of [
  [['connect-error', 'reset', 'timeout'], 'healthy'],
  [['connect-error', 'reset', 'timeout', 'server-error'], 'ejected'],
] as const) {
  test(`a 5xx answer is relayed, and ejects only when failOn lists server-error (${expected})`, async () => {
    const broken = await upstream(500);
    const fine = await upstream(200);
    const group = new UpstreamGroup({
      name: 'api',
      upstreams: [broken.url, fine.url],
      passive: { maxFails: 1 },
      failOn,
    });
    const lines: Record<string, unknown>[] = [];
    const logger = pino(
      new Writable({
        write(chunk, _encoding, done) {
          for (const line of String(chunk).split('\n')) if (line !== '') lines.push(JSON.parse(line));
          done();
        },
      }),
    );
    const server = await serve(
      { fetch: () => new Response('app', { status: 404 }) },
      {
        port: 0,
        host: '127.0.0.1',
        logger,
        proxy: { groups: [group], routes: [{ path: '/', to: 'api' }] },
      },
    );
    try {
      const statuses: number[] = [];
      for (let i = 0; i < 6; i++) statuses.push((await fetch(`${server.url}/x`)).status);
      const state: UpstreamState = group.upstreams[0]!.state;
      assert.equal(state, expected);
      if (expected === 'ejected') {
        assert.deepEqual(statuses, [500, 200, 200, 200, 200, 200], 'relayed once, then avoided');
        assert.equal(broken.hits(), 1);
        const logged = lines.find((l) => l.msg === 'proxy: upstream ejected');
        assert.ok(logged, 'the ejection is logged');
        assert.equal(logged.level, 40);
        assert.equal(logged.group, 'api');
        assert.equal(logged.upstream, broken.url);
        assert.match(
          String(logged.reason),
          /^ejected for 10000 ms after failed attempts in a row \(last: server-error\)$/,
        );
      } else {
        assert.deepEqual(statuses, [500, 200, 500, 200, 500, 200], 'a 5xx is an answer: round robin goes on');
        assert.ok(!lines.some((l) => String(l.msg).startsWith('proxy: upstream ')));
      }
    } finally {
      await server.close();
      await group.close();
      broken.server.close();
      fine.server.close();
    }
  });
}
