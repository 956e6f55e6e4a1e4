import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { App } from '../../src/app/index.ts';
import { type StrataServer, serve } from '../../src/server.ts';
import { rawRequest } from '../fixtures/http.ts';
import { seriesValue } from '../fixtures/prometheus.ts';

describe('metrics through serve() and the admin listener', () => {
  let server: StrataServer;
  before(async () => {
    const app = new App();
    app.get('/users/:id', (c) => c.json({ id: c.params.id }));
    app.get('/boom', () => {
      throw new Error('boom');
    });
    app.get('/slow', async (c) => {
      await new Promise((resolve) => setTimeout(resolve, 300));
      return c.text('late');
    });
    server = await serve(app, { port: 0, logger: false, admin: { port: 0 } });
  });
  after(() => server.close());

  test('the admin listener serves /metrics and /healthz, on its own port', async () => {
    assert.ok(server.adminUrl !== undefined);
    assert.notEqual(new URL(server.adminUrl).port, String(server.port));
    const health = await fetch(`${server.adminUrl}/healthz`);
    assert.equal(health.status, 200);
    const res = await fetch(`${server.adminUrl}/metrics`);
    assert.equal(res.status, 200);
    assert.match(res.headers.get('content-type') ?? '', /^text\/plain; version=0\.0\.4/);
    assert.equal((await fetch(`${server.adminUrl}/nope`)).status, 404);
    assert.equal((await fetch(`${server.adminUrl}/metrics`, { method: 'POST' })).status, 405);
  });

  test('the public port does not expose /metrics', async () => {
    assert.equal((await fetch(`${server.url}/metrics`)).status, 404);
  });

  test('requests are labelled with the route pattern, not the raw path', async () => {
    for (const id of ['1', '2', 'abc']) assert.equal((await fetch(`${server.url}/users/${id}`)).status, 200);
    assert.equal((await fetch(`${server.url}/boom`)).status, 500);
    assert.equal((await fetch(`${server.url}/no/such/route`)).status, 404);
    const text = await (await fetch(`${server.adminUrl}/metrics`)).text();
    assert.ok(
      (seriesValue(text, 'strata_http_requests_total{method="GET",route="/users/:id",status="200"}') ?? 0) >=
        3,
    );
    assert.equal(seriesValue(text, 'strata_http_requests_total{method="GET",route="/boom",status="500"}'), 1);
    // This one and the /metrics probe of the test before: unmatched requests share the label ''.
    assert.equal(seriesValue(text, 'strata_http_requests_total{method="GET",route="",status="404"}'), 2);
    assert.ok(!text.includes('/users/abc'), 'raw paths never become labels');
  });

  test('a client that leaves before the answer is counted as 499', async () => {
    await rawRequest(server.port, 'GET /slow HTTP/1.1\r\nHost: x\r\n\r\n', { timeoutMs: 50 });
    await new Promise((resolve) => setTimeout(resolve, 400));
    const text = await (await fetch(`${server.adminUrl}/metrics`)).text();
    assert.equal(seriesValue(text, 'strata_http_requests_total{method="GET",route="/slow",status="499"}'), 1);
    assert.equal(seriesValue(text, 'strata_http_requests_in_flight'), 0);
  });

  test('an admin port in use fails serve() with STRATA_ERR_PORT_IN_USE and frees the public port', async () => {
    const taken = Number(new URL(server.adminUrl!).port);
    await assert.rejects(
      serve(() => new Response('x'), { port: 0, logger: false, admin: { port: taken } }),
      { code: 'STRATA_ERR_PORT_IN_USE' },
    );
  });
});

describe('load shedding', () => {
  test('under pressure new requests get 503 with Retry-After, and the server recovers', async () => {
    // A heap limit of 1 byte is always passed: the shedding path without waiting for a real overload.
    const server = await serve(() => new Response('ok'), {
      port: 0,
      logger: false,
      retryAfter: 3,
      loadShedding: { maxHeapUsedBytes: 1, sampleInterval: 60_000 },
    });
    try {
      const res = await fetch(server.url);
      assert.equal(res.status, 503);
      assert.equal(res.headers.get('retry-after'), '3');
    } finally {
      await server.close();
    }
  });

  test('a loop blocked past maxEventLoopDelay sheds, then serves again once it is quiet', async () => {
    let blockFor = 0;
    const server = await serve(
      () => {
        const end = Date.now() + blockFor;
        while (Date.now() < end) {
          // a handler that hogs the loop
        }
        return new Response('ok');
      },
      { port: 0, logger: false, loadShedding: { maxEventLoopDelay: 50, sampleInterval: 200, resolution: 5 } },
    );
    try {
      blockFor = 600;
      assert.equal((await fetch(server.url)).status, 200, 'the blocking request itself is answered');
      blockFor = 0;
      // Within a sample interval or two the monitor reads the delay; requests are then shed.
      let shed = false;
      for (let i = 0; i < 20 && !shed; i++) {
        shed = (await fetch(server.url)).status === 503;
        if (!shed) await new Promise((resolve) => setTimeout(resolve, 20));
      }
      assert.ok(shed, 'requests were shed after the loop was blocked');
      let served = false;
      for (let i = 0; i < 50 && !served; i++) {
        await new Promise((resolve) => setTimeout(resolve, 50));
        served = (await fetch(server.url)).status === 200;
      }
      assert.ok(served, 'the server serves again once the loop is quiet');
    } finally {
      await server.close();
    }
  });
});
