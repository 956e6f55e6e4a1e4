/**
 * Attempts to get around the rate limit: forwarded headers from a peer that is not a trusted
 * proxy, a flood of distinct keys against the memory bound, and an IPv6 client rotating through
 * the addresses of its /64. Real sockets where the network decides the key.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { App, MemoryRateLimitStore, rateLimit, ratePolicy } from '../../src/index.ts';
import { serve } from '../../src/server.ts';
import { rawRequest } from '../fixtures/http.ts';

const SPOOFS = [
  'X-Forwarded-For: 203.0.113.1',
  'X-Forwarded-For: 203.0.113.2, 198.51.100.7',
  'Forwarded: for=203.0.113.3',
  'Forwarded: for="[2001:db8::1]"',
  'X-Real-IP: 203.0.113.4',
];

for (const fastLane of [true, false]) {
  describe(`forwarded headers from an untrusted peer never change the key (fastLane: ${fastLane})`, () => {
    test('edge: every spoofed source shares the peer budget', async () => {
      const server = await serve(
        { fetch: () => new Response('ok') },
        { port: 0, logger: false, fastLane, rateLimit: { limit: 2, window: '1m' } },
      );
      try {
        const statuses: number[] = [];
        for (const header of SPOOFS) {
          const res = await rawRequest(
            server.port,
            `GET / HTTP/1.1\r\nHost: x\r\n${header}\r\nConnection: close\r\n\r\n`,
          );
          statuses.push(res.status);
        }
        assert.deepEqual(statuses, [200, 200, 429, 429, 429]);
      } finally {
        await server.close();
      }
    });

    test('middleware on the server: c.info.remote is the socket peer, so spoofing does not help either', async () => {
      const app = new App();
      app.use(rateLimit({ limit: 2, window: '1m' }));
      app.get('/', (c) => c.text('ok'));
      // A trusted proxy that is not this peer: the headers still count for nothing.
      const server = await serve(app, { port: 0, logger: false, fastLane, trustProxy: ['10.0.0.0/8'] });
      try {
        const statuses: number[] = [];
        for (const header of SPOOFS) {
          const res = await rawRequest(
            server.port,
            `GET / HTTP/1.1\r\nHost: x\r\n${header}\r\nConnection: close\r\n\r\n`,
          );
          statuses.push(res.status);
        }
        assert.deepEqual(statuses, [200, 200, 429, 429, 429]);
      } finally {
        await server.close();
      }
    });
  });
}

test('behind a trusted proxy, the forwarded client is the key (each client its own budget)', async () => {
  const server = await serve(
    { fetch: () => new Response('ok') },
    { port: 0, logger: false, trustProxy: ['loopback'], rateLimit: { limit: 1, window: '1m' } },
  );
  try {
    const as = async (client: string) =>
      (
        await rawRequest(
          server.port,
          `GET / HTTP/1.1\r\nHost: x\r\nX-Forwarded-For: ${client}\r\nConnection: close\r\n\r\n`,
        )
      ).status;
    assert.equal(await as('203.0.113.1'), 200);
    assert.equal(await as('203.0.113.1'), 429);
    assert.equal(await as('203.0.113.2'), 200);
    // An IPv6 client rotating inside its /64 behind the proxy: one budget.
    assert.equal(await as('2001:db8:1:2::1'), 200);
    assert.equal(await as('2001:db8:1:2:ffff:ffff:ffff:fffe'), 429);
  } finally {
    await server.close();
  }
});

test('a flood of distinct keys cannot grow the memory store past maxKeys, and active keys stay limited', () => {
  const store = new MemoryRateLimitStore({ maxKeys: 1000 });
  const policy = ratePolicy(5, 60_000);
  const now = 1_750_000_000_000;
  for (let i = 0; i < 5; i++) store.consume('victim-of-limit', policy, 1, now);
  assert.equal(store.consume('victim-of-limit', policy, 1, now).allowed, false);
  for (let i = 0; i < 50_000; i++) {
    store.consume(`flood-${i}`, policy, 1, now + i);
    assert.ok(store.size <= 1000);
  }
  // Keys at rest go first: after a window nothing the flood left is needed.
  for (let i = 0; i < 2000; i++) store.consume(`late-${i}`, policy, 1, now + 10 * 60_000);
  assert.ok(store.size <= 1000);
});

test('IPv6 rotation: 500 addresses of one /64 get one budget; another /64 its own (middleware)', async () => {
  const app = new App();
  app.use(rateLimit({ limit: 3, window: '1m' }));
  app.get('/', (c) => c.text('ok'));
  let allowed = 0;
  for (let i = 0; i < 500; i++) {
    const address = `2001:db8:aa:bb:${((i * 7919) & 0xffff).toString(16)}:${i.toString(16)}::${(i % 97).toString(16)}`;
    const res = await app.request('/', {}, { remote: { address, port: 1, family: 'IPv6' } });
    if (res.status === 200) allowed += 1;
  }
  assert.equal(allowed, 3);
  const other = await app.request(
    '/',
    {},
    { remote: { address: '2001:db8:aa:bc::1', port: 1, family: 'IPv6' } },
  );
  assert.equal(other.status, 200);
});
