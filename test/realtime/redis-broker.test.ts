import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { App } from '../../src/index.ts';
import { RedisBroker } from '../../src/realtime/index.ts';
import { type StrataServer, serve } from '../../src/server.ts';
import { createChatApp } from '../fixtures/apps/chat-app.ts';
import { ROOT, runCli, startCli, stopCli } from '../fixtures/cli.ts';
import { memoryLogger, waitFor } from '../fixtures/http.ts';
import { type RedisProcess, redisAvailable, startRedis } from '../fixtures/redis.ts';
import { openClient, type TestClient, wsUrl } from '../fixtures/ws.ts';

const available = redisAvailable();
const CHAT = join(ROOT, 'test', 'fixtures', 'apps', 'chat-app.ts');

/** Publishes from `from` until `to` receives it: after a reconnect, the resubscribe may lag. */
async function deliverEventually(app: App, to: TestClient, text: string, local: TestClient): Promise<void> {
  for (let i = 0; i < 100; i++) {
    app.publish('lobby', `${text} ${i}`);
    try {
      const got = await to.next(100);
      assert.match(String(got), new RegExp(`^${text} \\d+$`));
      // The publisher's own subscribers got every attempt, locally: take them off the queue.
      for (let j = 0; j <= i; j++) assert.equal(await local.next(), `${text} ${j}`);
      return;
    } catch {
      // Not through yet.
    }
  }
  throw new Error(`"${text}" never arrived`);
}

describe('Redis broker across two server instances', { skip: available === true ? false : available }, () => {
  let redis: RedisProcess;
  let one: StrataServer;
  let two: StrataServer;
  const appOne = createChatApp();
  const appTwo = createChatApp();
  const log = memoryLogger();

  before(async () => {
    redis = await startRedis();
    one = await serve(appOne, {
      port: 0,
      logger: false,
      broker: await RedisBroker.connect({ url: redis.url, logger: log.logger }),
    });
    two = await serve(appTwo, {
      port: 0,
      logger: false,
      broker: await RedisBroker.connect({ url: redis.url, prefix: 'strata:' }),
    });
  });
  after(async () => {
    await Promise.allSettled([one?.close(), two?.close()]);
    await redis?.stop();
  });

  test('a message published on instance 1 reaches a client on instance 2, and back', async () => {
    const a = await openClient(wsUrl(one.url, '/room/lobby'));
    const b = await openClient(wsUrl(two.url, '/room/lobby'));
    assert.equal(await a.next(), 'joined');
    assert.equal(await b.next(), 'joined');
    // The subscribe reaches Redis asynchronously: publish until it lands.
    await deliverEventually(appOne, b, 'from one', a);
    a.ws.send('a says hi');
    assert.equal(await b.next(), 'a says hi');
    b.ws.send(Buffer.from([1, 2, 3]));
    assert.deepEqual(await a.next(), Buffer.from([1, 2, 3]));
    // The publisher's own instance got it once (locally), not a second time through Redis.
    await assert.rejects(a.next(300));
    a.ws.close();
    b.ws.close();
  });

  test('survives a Redis restart: reconnects, re-subscribes and logs the gap', async () => {
    const b = await openClient(wsUrl(two.url, '/room/lobby'));
    const a = await openClient(wsUrl(one.url, '/room/lobby'));
    assert.equal(await b.next(), 'joined');
    assert.equal(await a.next(), 'joined');
    await deliverEventually(appOne, b, 'before', a);
    await redis.kill();
    await waitFor(() => log.lines.some((l) => String(l.msg).includes('connection lost')), 5000, 'the loss');
    appOne.publish('lobby', 'during the outage');
    await redis.restart();
    await waitFor(
      () => log.lines.some((l) => String(l.msg).includes('reconnected')),
      10_000,
      'the reconnect',
    );
    const line = log.lines.find((l) => String(l.msg).includes('reconnected'))!;
    assert.equal(typeof line.gapMs, 'number');
    assert.ok((line.gapMs as number) >= 0);
    assert.ok((line.dropped as number) >= 1, 'the outage publish is counted as lost');
    assert.equal(await a.next(), 'during the outage');
    await deliverEventually(appOne, b, 'after', a);
    a.ws.close();
    b.ws.close();
  });

  test('strata serve --redis: two CLI instances share a room', async () => {
    const [x, y] = await Promise.all([
      startCli([CHAT, '--redis', redis.url]),
      startCli([CHAT, '--redis', redis.url]),
    ]);
    try {
      const a = await openClient(wsUrl(x.url, '/room/cli'));
      const b = await openClient(wsUrl(y.url, '/room/cli'));
      assert.equal(await a.next(), 'joined');
      assert.equal(await b.next(), 'joined');
      // b's subscription reaches Redis asynchronously: retry until it lands.
      let got: string | Buffer | undefined;
      for (let i = 0; i < 50 && got === undefined; i++) {
        a.ws.send(`over redis ${i}`);
        got = await b.next(100).catch(() => undefined);
      }
      assert.match(String(got), /^over redis \d+$/);
      a.ws.close();
      b.ws.close();
    } finally {
      await Promise.all([stopCli(x.child), stopCli(y.child)]);
    }
  });

  test('an unreachable Redis at startup is a clear error', async () => {
    const failed = await runCli(['serve', CHAT, '--port', '0', '--redis', 'redis://127.0.0.1:1']);
    assert.equal(failed.code, 1);
    assert.match(failed.stderr, /STRATA_ERR_REDIS_CONNECT/);
    await assert.rejects(RedisBroker.connect({ url: 'redis://127.0.0.1:1' }), {
      code: 'STRATA_ERR_REDIS_CONNECT',
    });
  });
});
