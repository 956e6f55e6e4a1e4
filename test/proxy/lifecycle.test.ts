/**
 * The upstream groups' lifetime in a server: health checks start when the server starts (not on
 * the first proxied request), stop when it closes, never run for a server that failed to start;
 * `start()` twice is one set of checks; and the state gauge (`strata_upstream_state`).
 */
import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import { describe, test } from 'node:test';
import { Metrics } from '../../src/observe/metrics.ts';
import { UpstreamGroup } from '../../src/proxy/balance/index.ts';
import type { ProbeResult } from '../../src/proxy/balance/types.ts';
import { serve } from '../../src/server.ts';

/** A group whose probe records each check and keeps it pending until it is aborted (or answered). */
function probedGroup(name = 'api', ok = true) {
  const checks: { upstream: string; signal: AbortSignal }[] = [];
  const group = new UpstreamGroup({
    name,
    upstreams: ['http://127.0.0.1:9', 'http://127.0.0.1:10'],
    health: { uri: '/healthz', intervalMs: 60_000 },
    probe: (upstream, signal) => {
      checks.push({ upstream: upstream.id, signal });
      if (!ok) return Promise.resolve({ ok: false, reason: 'down' });
      return new Promise<ProbeResult>((resolve) =>
        signal.addEventListener('abort', () => resolve({ ok: false, reason: 'aborted' }), { once: true }),
      );
    },
  });
  return { group, checks };
}

const app = { fetch: () => new Response('app') };

describe('upstream groups in a server', () => {
  test('start() twice runs one check per upstream; after close(), start() checks again', async () => {
    const { group, checks } = probedGroup();
    group.start();
    group.start();
    // The probe is called synchronously by start(): one per upstream, not two.
    assert.equal(checks.length, 2);
    await group.close();
    assert.ok(
      checks.every((c) => c.signal.aborted),
      'close() aborts the checks in flight',
    );
    group.start();
    assert.equal(checks.length, 4);
    await group.close();
  });

  test('health checks start when the server starts, before any request, and stop at close', async () => {
    const { group, checks } = probedGroup();
    const server = await serve(app, {
      port: 0,
      logger: false,
      proxy: { groups: [group], routes: [{ path: '/api', to: 'api' }] },
    });
    try {
      assert.deepEqual(
        checks.map((c) => c.upstream),
        group.upstreams.map((u) => u.id),
        'each upstream checked once, no request sent',
      );
      assert.ok(checks.every((c) => !c.signal.aborted));
    } finally {
      await server.close();
    }
    assert.ok(
      checks.every((c) => c.signal.aborted),
      'the checks in flight are aborted at close',
    );
  });

  test('a server that cannot listen starts no health check', async () => {
    const taken = createServer();
    await new Promise<void>((resolve) => taken.listen(0, '127.0.0.1', resolve));
    const port = (taken.address() as { port: number }).port;
    const { group, checks } = probedGroup();
    try {
      await assert.rejects(
        serve(app, {
          port,
          host: '127.0.0.1',
          logger: false,
          proxy: { groups: [group], routes: [{ path: '/api', to: 'api' }] },
        }),
      );
      assert.equal(checks.length, 0);
    } finally {
      await group.close();
      taken.close();
    }
  });

  test('strata_upstream_state: 1 for the current state of each upstream, 0 for the others', async () => {
    const { group } = probedGroup('down', false);
    const metrics = new Metrics({ defaultMetrics: false });
    const server = await serve(app, {
      port: 0,
      logger: false,
      metrics,
      proxy: { groups: [group], routes: [{ path: '/api', to: 'down' }] },
    });
    try {
      // The failed checks have been reported once their promises settled.
      await group.checkNow();
      const text = await metrics.text();
      for (const u of group.upstreams) {
        const series = (state: string) =>
          new RegExp(
            `strata_upstream_state\\{group="down",upstream="${u.id}",state="${state}"\\} (\\d)`,
          ).exec(text)?.[1];
        assert.equal(series('unhealthy'), '1', text);
        for (const state of ['healthy', 'half-open', 'open', 'ejected']) assert.equal(series(state), '0');
      }
      assert.match(text, /strata_upstream_up\{group="down",upstream="http:\/\/127\.0\.0\.1:9"\} 0/);
    } finally {
      await server.close();
    }
    assert.doesNotMatch(await metrics.text(), /strata_upstream_state\{group="down"/, 'gone after close');
  });
});
