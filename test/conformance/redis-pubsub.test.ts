/**
 * Pub/sub across processes through Redis, on each runtime: two processes of the same launcher
 * (test/fixtures/conformance/, the conformance app served with `broker: RedisBroker.connect(…)`)
 * share one real redis-server. A WebSocket published on one reaches the room on the other,
 * `app.publish` too, each message exactly once, and a publisher never hears itself — neither
 * through Bun's or Deno's local topics nor back through the broker. strata's own server is the
 * control. Each process subscribes a topic in Redis once (first socket) and unsubscribes it when
 * its last socket leaves. A missing runtime or redis-server fails under CI=true, skips otherwise.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { createClient } from 'redis';
import { type RedisProcess, redisAvailable, startRedis } from '../fixtures/redis.ts';
import { Client, LAUNCHERS, sleep, start, type Target } from './cases.ts';
import { RUNTIMES, type RuntimeId } from './matrix.ts';

const available = redisAvailable();
const CROSS: RuntimeId[] = ['strata', 'bun', 'deno'];

let redis: RedisProcess | undefined;
let admin: ReturnType<typeof createClient> | undefined;

/** How many Redis connections are subscribed to the topic's channel (RedisBroker's prefix `strata:`). */
async function subscribers(topic: string): Promise<number> {
  const reply = (await admin!.sendCommand(['PUBSUB', 'NUMSUB', `strata:${topic}`])) as [string, number];
  return Number(reply[1]);
}

/** Waits (bounded: 5 s) until `count` processes are subscribed to `topic` in Redis. */
async function untilSubscribers(topic: string, count: number): Promise<void> {
  const deadline = Date.now() + 5000;
  let now = await subscribers(topic);
  while (now !== count) {
    if (Date.now() > deadline) assert.fail(`${now} Redis subscribers of ${topic}, expected ${count}`);
    await sleep(20);
    now = await subscribers(topic);
  }
}

async function receives(client: Client, expected: string): Promise<void> {
  assert.equal(await client.next(), expected);
}

/** SIGTERM, then SIGKILL after 5 s (the launchers stop gracefully on SIGTERM). */
async function stop(t: Target): Promise<void> {
  if (t.child.exitCode !== null || t.child.signalCode !== null) return;
  t.child.kill('SIGTERM');
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([
    t.exited,
    new Promise<void>((resolve) => {
      timer = setTimeout(() => {
        t.child.kill('SIGKILL');
        resolve();
      }, 5000);
    }),
  ]);
  clearTimeout(timer);
  await t.exited;
}

describe('pub/sub across processes through Redis', { skip: available === true ? false : available }, () => {
  before(async () => {
    redis = await startRedis();
    admin = createClient({ url: redis.url });
    await admin.connect();
  });
  after(async () => {
    await admin?.close();
    await redis?.stop();
  });

  for (const runtime of CROSS) {
    const launcher = LAUNCHERS[runtime];
    const missing = launcher.missing();
    const label = RUNTIMES[runtime];
    if (missing !== undefined) {
      if (process.env.CI === 'true')
        it(`${label} is available`, () => assert.fail(`${label} is missing under CI=true: ${missing}`));
      else it(`${label}: ${missing} (skipped; fails under CI=true)`, { skip: missing }, () => {});
      continue;
    }

    it(`${label}: two processes, one room, each message once`, { timeout: 30_000 }, async () => {
      const targets: Target[] = [];
      const clients: Client[] = [];
      try {
        const env = { CONFORMANCE_REDIS_URL: redis!.url };
        targets.push(...(await Promise.all([start(launcher, env), start(launcher, env)])));
        const [one, two] = targets as [Target, Target];
        const room = `room-${runtime}`;
        const open = async (t: Target, name: string): Promise<Client> => {
          const c = new Client(`${t.base.replace('http', 'ws')}/ws/${room}?name=${name}`);
          clients.push(c);
          await c.opened;
          assert.deepEqual(JSON.parse(await c.next()), { joined: room, subs: [room] });
          return c;
        };
        // Two sockets on the first process (local delivery beside the broker's), one on the second.
        const a = await open(one, 'a');
        const a2 = await open(one, 'a2');
        const b = await open(two, 'b');
        // One Redis subscription per process, however many sockets it has in the room.
        await untilSubscribers(room, 2);

        // ws.publish on process 1: the other local socket and the socket of process 2, once each.
        a.ws.send('hi');
        await receives(a2, 'a:hi');
        await receives(b, 'a:hi');
        // ws.publish on process 2: both sockets of process 1.
        b.ws.send(new Uint8Array(5));
        await receives(a, 'b:bytes:5');
        await receives(a2, 'b:bytes:5');
        // app.publish on process 2 (subscriberCount is this process's own sockets).
        const res = await fetch(`${two.base}/announce/${room}`, { method: 'POST', body: 'tea' });
        assert.equal(res.status, 202);
        assert.deepEqual(await res.json(), { subscribers: 1 });
        for (const c of [a, a2, b]) await receives(c, 'server:tea');
        // app.publish on process 1.
        await fetch(`${one.base}/announce/${room}`, { method: 'POST', body: 'cake' });
        for (const c of [a, a2, b]) await receives(c, 'server:cake');

        // No duplicate, no echo of a publisher's own message, whatever arrives late.
        await sleep(200);
        assert.deepEqual(
          clients.map((c) => c.messages),
          [[], [], []],
          'each message was delivered once',
        );

        // The last socket of a process leaving unsubscribes that process in Redis.
        b.close();
        await b.closed;
        await untilSubscribers(room, 1);
        a.ws.send('alone');
        await receives(a2, 'a:alone');
        // A server that stops unsubscribes its topics and closes its broker.
        await stop(one);
        await untilSubscribers(room, 0);
      } finally {
        for (const c of clients) c.close();
        await Promise.all(clients.map((c) => c.closed));
        await Promise.all(targets.map(stop));
      }
    });
  }
});
