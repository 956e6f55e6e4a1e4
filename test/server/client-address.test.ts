import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { ServeInfo } from '../../src/gateway/index.ts';
import { AddressList, type StrataServer, serve } from '../../src/server.ts';
import { rawRequest } from '../fixtures/http.ts';

describe('AddressList', () => {
  const cases: [string[], string, boolean][] = [
    [['10.0.0.0/8'], '10.1.2.3', true],
    [['10.0.0.0/8'], '11.0.0.1', false],
    [['172.16.0.0/12'], '172.31.255.255', true],
    [['172.16.0.0/12'], '172.32.0.0', false],
    [['192.168.1.7'], '192.168.1.7', true],
    [['192.168.1.7'], '192.168.1.8', false],
    [['0.0.0.0/0'], '8.8.8.8', true],
    [['loopback'], '127.0.0.1', true],
    [['loopback'], '::1', true],
    [['loopback'], '::ffff:127.0.0.1', true],
    [['private'], 'fd12:3456::1', true],
    [['private'], '2001:db8::1', false],
    [['2001:db8::/32'], '2001:db8:ffff::1', true],
    [['2001:db8::/32'], '2001:db9::1', false],
    [['fe80::/10'], 'fe80::1%eth0', true],
    [['10.0.0.0/8'], 'not-an-ip', false],
    [['10.0.0.0/8'], '', false],
  ];
  for (const [list, address, expected] of cases) {
    test(`${JSON.stringify(list)} ${expected ? 'has' : 'has not'} ${address || '(empty)'}`, () => {
      assert.equal(new AddressList(list).has(address), expected);
    });
  }
  for (const bad of ['10.0.0.0/33', 'example.com', '1.2.3.4/x', '::1/129']) {
    test(`refuses ${bad}`, () => {
      assert.throws(() => new AddressList([bad]), TypeError);
    });
  }
});

async function withServer(
  options: { fastLane?: boolean; trustProxy?: string[]; allow?: string[]; deny?: string[] },
  run: (server: StrataServer) => Promise<void>,
): Promise<void> {
  const server = await serve((_request: Request, info: ServeInfo) => new Response(info.remote.address), {
    port: 0,
    logger: false,
    ...options,
  });
  try {
    await run(server);
  } finally {
    await server.close();
  }
}

const ask = (port: number, headers: string) =>
  rawRequest(port, `GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n${headers}\r\n`).then((r) => ({
    status: r.status,
    body: r.text.slice(r.text.indexOf('\r\n\r\n') + 4),
  }));

// On both transports: the fast lane and node:http alone.
for (const fastLane of [true, false]) {
  describe(`the client address (fastLane: ${fastLane})`, () => {
    describe('the client address behind proxies', () => {
      test('forwarding headers from an untrusted peer are ignored (no spoofing)', async () => {
        await withServer({ fastLane }, async (s) => {
          assert.equal((await ask(s.port, 'X-Forwarded-For: 203.0.113.9\r\n')).body, '127.0.0.1');
        });
      });

      const chains: [string, string][] = [
        ['X-Forwarded-For: 203.0.113.9\r\n', '203.0.113.9'],
        ['X-Forwarded-For: 198.51.100.1, 203.0.113.9\r\n', '203.0.113.9'],
        ['X-Forwarded-For: 203.0.113.9, 10.0.0.2\r\n', '203.0.113.9'],
        ['Forwarded: for=203.0.113.9;proto=https\r\n', '203.0.113.9'],
        ['Forwarded: for="[2001:db8::7]:4711", for=10.0.0.3\r\n', '2001:db8::7'],
        ['X-Forwarded-For: unknown\r\n', '127.0.0.1'],
        ['', '127.0.0.1'],
      ];
      for (const [headers, expected] of chains) {
        test(`behind a trusted proxy, ${JSON.stringify(headers.trim()) || 'no header'} → ${expected}`, async () => {
          await withServer({ fastLane, trustProxy: ['loopback', '10.0.0.0/8'] }, async (s) => {
            assert.equal((await ask(s.port, headers)).body, expected);
          });
        });
      }

      test('deny and allow lists answer 403 and act on the resolved client', async () => {
        await withServer({ fastLane, deny: ['127.0.0.0/8'] }, async (s) => {
          assert.equal((await ask(s.port, '')).status, 403);
        });
        await withServer({ fastLane, allow: ['10.0.0.0/8'] }, async (s) => {
          assert.equal((await ask(s.port, '')).status, 403);
        });
        await withServer({ fastLane, allow: ['127.0.0.1'] }, async (s) => {
          assert.equal((await ask(s.port, '')).status, 200);
        });
        await withServer({ fastLane, trustProxy: ['loopback'], deny: ['203.0.113.0/24'] }, async (s) => {
          assert.equal((await ask(s.port, 'X-Forwarded-For: 203.0.113.50\r\n')).status, 403);
          assert.equal((await ask(s.port, 'X-Forwarded-For: 198.51.100.50\r\n')).status, 200);
        });
      });
    });

    describe('allowedHosts (DNS-rebinding defence)', () => {
      const cases: [string, number][] = [
        ['example.com', 200],
        ['EXAMPLE.com:8080', 200],
        ['example.com.', 200],
        ['api.example.org', 200],
        ['deep.api.example.org', 200],
        ['example.org', 421],
        ['evil.com', 421],
        ['example.com.evil.com', 421],
        ['localhost:3000', 200],
        ['[::1]:3000', 421],
      ];
      for (const [host, status] of cases) {
        test(`Host ${host} → ${status}`, async () => {
          const server = await serve(() => new Response('ok'), {
            port: 0,
            logger: false,
            fastLane,
            allowedHosts: ['example.com', '*.example.org', 'localhost'],
          });
          try {
            const res = await rawRequest(
              server.port,
              `GET / HTTP/1.1\r\nHost: ${host}\r\nConnection: close\r\n\r\n`,
            );
            assert.equal(res.status, status);
          } finally {
            await server.close();
          }
        });
      }
    });

    describe('maxConnectionsPerIp', () => {
      test('connections from one address beyond the cap are closed; closing one frees a place', async () => {
        const { connect } = await import('node:net');
        const server = await serve(() => new Response('ok'), {
          port: 0,
          logger: false,
          fastLane,
          maxConnectionsPerIp: 2,
        });
        try {
          const open = [connect(server.port, '127.0.0.1'), connect(server.port, '127.0.0.1')];
          await Promise.all(open.map((s) => new Promise((r) => s.once('connect', r))));
          await new Promise((r) => setTimeout(r, 50));
          const third = await rawRequest(server.port, 'GET / HTTP/1.1\r\nHost: x\r\n\r\n', {
            timeoutMs: 1000,
          });
          assert.equal(third.status, 0);
          assert.equal(third.closed, true);
          open[0]!.destroy();
          await new Promise((r) => setTimeout(r, 50));
          const fourth = await rawRequest(
            server.port,
            'GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n',
          );
          assert.equal(fourth.status, 200);
          open[1]!.destroy();
        } finally {
          await server.close();
        }
      });
    });

    describe('info.secure and the URL scheme behind proxies (X-Forwarded-Proto, Forwarded proto=)', () => {
      async function secureOf(trustProxy: string[] | undefined, headers: string): Promise<string> {
        const server = await serve(
          (request: Request, info: ServeInfo) =>
            new Response(`${info.secure} ${new URL(request.url).protocol}`),
          { port: 0, logger: false, fastLane, ...(trustProxy !== undefined && { trustProxy }) },
        );
        try {
          return (await ask(server.port, headers)).body;
        } finally {
          await server.close();
        }
      }
      const cases: { name: string; trust?: string[]; headers: string; expect: string }[] = [
        {
          name: 'no proxy trusted: the header is ignored',
          headers: 'X-Forwarded-Proto: https\r\n',
          expect: 'false http:',
        },
        {
          name: 'a peer outside trustProxy: ignored',
          trust: ['10.0.0.0/8'],
          headers: 'X-Forwarded-Proto: https\r\n',
          expect: 'false http:',
        },
        {
          name: 'trusted proxy says https',
          trust: ['loopback'],
          headers: 'X-Forwarded-Proto: https\r\n',
          expect: 'true https:',
        },
        {
          name: 'case-insensitive',
          trust: ['loopback'],
          headers: 'X-Forwarded-Proto: HTTPS\r\n',
          expect: 'true https:',
        },
        {
          name: 'trusted proxy says http',
          trust: ['loopback'],
          headers: 'X-Forwarded-Proto: http\r\n',
          expect: 'false http:',
        },
        {
          name: 'trusted, no header: the socket decides',
          trust: ['loopback'],
          headers: '',
          expect: 'false http:',
        },
        {
          name: 'garbage proto is not https',
          trust: ['loopback'],
          headers: 'X-Forwarded-Proto: https2\r\n',
          expect: 'false http:',
        },
        {
          // One of the two may be the client's own (a proxy that sets one passes the other on).
          name: 'Forwarded proto= and X-Forwarded-Proto that disagree: neither is believed',
          trust: ['loopback'],
          headers: 'Forwarded: for=203.0.113.9;proto=https\r\nX-Forwarded-Proto: http\r\n',
          expect: 'false http:',
        },
        {
          name: 'Forwarded: the proto of the hop picked as the client',
          trust: ['loopback', '10.0.0.0/8'],
          headers: 'Forwarded: for=203.0.113.9;proto=https, for=10.0.0.2;proto=http\r\n',
          expect: 'true https:',
        },
        {
          name: 'Forwarded: a client claiming https behind an http hop is not believed',
          trust: ['loopback'],
          headers: 'Forwarded: for=198.51.100.1;proto=https, for=203.0.113.9;proto=http\r\n',
          expect: 'false http:',
        },
        {
          name: 'X-Forwarded-Proto list aligned with X-Forwarded-For',
          trust: ['loopback', '10.0.0.0/8'],
          headers: 'X-Forwarded-For: 203.0.113.9, 10.0.0.2\r\nX-Forwarded-Proto: https, http\r\n',
          expect: 'true https:',
        },
        {
          name: 'a single X-Forwarded-Proto from the proxy next to us',
          trust: ['loopback'],
          headers: 'X-Forwarded-For: 198.51.100.1, 203.0.113.9\r\nX-Forwarded-Proto: https\r\n',
          expect: 'true https:',
        },
      ];
      for (const c of cases) {
        test(c.name, async () => {
          assert.equal(await secureOf(c.trust, c.headers), c.expect);
        });
      }
    });
  });
}
