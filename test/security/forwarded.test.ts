/**
 * The client address behind trusted proxies, against a client that writes its own forwarding
 * headers: the answer is never a hop the client could have written (left of an untrusted or
 * unreadable hop), on both transports.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { ServeInfo } from '../../src/gateway/index.ts';
import {
  AddressList,
  forwardedHop,
  MAX_FORWARDED_HOPS,
  parseForwardedNode,
} from '../../src/server/client-address.ts';
import { serve } from '../../src/server.ts';
import { rawRequest } from '../fixtures/http.ts';

const TRUST = new AddressList(['loopback', '10.0.0.0/8']);
const PEER = '(peer)';

/** The resolved client for the headers, `PEER` for the socket's peer. */
function resolve(xff: string | undefined, forwarded: string | undefined, trusted = TRUST): string {
  const node = forwardedHop(xff, forwarded, trusted).node;
  return node === undefined ? PEER : node.port === 0 ? node.address : `${node.address} :${node.port}`;
}

describe('hop nodes', () => {
  const cases: [string, string | undefined][] = [
    ['203.0.113.9', '203.0.113.9'],
    ['203.0.113.9:5555', '203.0.113.9 :5555'],
    ['[2001:db8::1]', '2001:db8::1'],
    ['[2001:db8::1]:4711', '2001:db8::1 :4711'],
    ['2001:db8::1', '2001:db8::1'],
    ['::ffff:10.0.0.1', '::ffff:10.0.0.1'],
    ['203.0.113.9:_port', '203.0.113.9'],
    ['unknown', undefined],
    ['_hidden', undefined],
    ['', undefined],
    ['203.0.113.9:', undefined],
    ['203.0.113.9:99999', undefined],
    ['203.0.113.9:80:80', undefined],
    ['[203.0.113.9]', undefined],
    ['[2001:db8::1', undefined],
    ['[2001:db8::1]x', undefined],
    ['[2001:db8::1]:', undefined],
    ['2001:db8::1:80x', undefined],
    ['203.0.113.9%eth0', undefined],
    ['example.com', undefined],
    ['1.2.3', undefined],
    ['01.2.3.4', undefined],
  ];
  for (const [value, expected] of cases) {
    test(`${JSON.stringify(value)} → ${expected ?? 'unreadable'}`, () => {
      const node = parseForwardedNode(value);
      assert.equal(
        node === undefined ? undefined : node.port === 0 ? node.address : `${node.address} :${node.port}`,
        expected,
      );
    });
  }
});

describe('walking the chain from the right', () => {
  // [X-Forwarded-For, Forwarded, expected client]
  const cases: [string | undefined, string | undefined, string][] = [
    // The reported defect: a hop with a port made the walk fall back to the client-written left.
    ['10.1.2.3, 203.0.113.9:5555', undefined, '203.0.113.9 :5555'],
    ['10.1.2.3, [2001:db8::9]:80', undefined, '2001:db8::9 :80'],
    ['10.1.2.3, unknown', undefined, PEER],
    ['10.1.2.3, _hidden', undefined, PEER],
    ['10.1.2.3, garbage, 10.0.0.2', undefined, '10.0.0.2'],
    ['10.1.2.3, , 10.0.0.2', undefined, '10.0.0.2'],
    ['198.51.100.7, 10.0.0.3, 10.0.0.2', undefined, '198.51.100.7'],
    ['10.0.0.4, 10.0.0.3', undefined, '10.0.0.4'], // trusted all the way: the left-most, which a proxy stated
    ['203.0.113.9', undefined, '203.0.113.9'],
    ['1.1.1.1, 203.0.113.9', undefined, '203.0.113.9'],
    ['::ffff:10.0.0.1', undefined, '::ffff:10.0.0.1'], // trusted by the IPv4 rule: the chain ends there
    ['203.0.113.9, ::ffff:10.0.0.1', undefined, '203.0.113.9'],
    ['2001:db8::5, ::1', undefined, '2001:db8::5'],
    ['', undefined, PEER],
    ['unknown', undefined, PEER],
    // RFC 7239, with its quoting and case.
    [undefined, 'for=10.1.2.3, for="203.0.113.9:5555"', '203.0.113.9 :5555'],
    [undefined, 'for="[2001:db8::1]:4711"', '2001:db8::1 :4711'],
    [undefined, 'For=203.0.113.9;Proto=HTTPS', '203.0.113.9'],
    [undefined, 'FOR="203.0.113.9"', '203.0.113.9'],
    [undefined, 'for=10.1.2.3, for=unknown', PEER],
    [undefined, 'for=10.1.2.3, for=_gazonk', PEER],
    [undefined, 'for=10.1.2.3, proto=https', PEER], // an element without for= says nothing of its sender
    [undefined, 'for=10.1.2.3, for=203.0.113.9;for=10.0.0.9', PEER], // a parameter twice: malformed
    [undefined, 'for=10.1.2.3, for="203.0.113.9', PEER], // a broken quoted-string
    [undefined, 'for="10.1.2.3, for=203.0.113.9', '203.0.113.9'], // a client's open quote swallows nothing
    [undefined, 'for=1.1.1.1;by=x, for=10.0.0.2;by=y, for=10.0.0.3', '1.1.1.1'],
    [undefined, 'for="10.1.2.3", for=[2001:db8::1]', '2001:db8::1'],
    [undefined, 'for=10.1.2.3;x="a,b", for=203.0.113.9', '203.0.113.9'],
    // Both headers: a proxy that writes one passes the other from the client untouched.
    ['203.0.113.9', 'for=10.1.2.3', PEER],
    ['10.1.2.3', 'for=203.0.113.9', PEER],
    ['203.0.113.9', 'for=203.0.113.9', '203.0.113.9'],
    ['203.0.113.9, 10.0.0.2', 'for=203.0.113.9, for=10.0.0.2', '203.0.113.9'],
    ['198.51.100.1, 10.0.0.2', 'for=203.0.113.9, for=10.0.0.2', '10.0.0.2'],
    ['10.0.0.2', 'for=203.0.113.9, for=10.0.0.2', '10.0.0.2'],
    ['::ffff:203.0.113.9', 'for=203.0.113.9', '::ffff:203.0.113.9'],
  ];
  for (const [xff, forwarded, expected] of cases) {
    const name = [
      xff === undefined ? '' : `X-Forwarded-For: ${xff}`,
      forwarded === undefined ? '' : `Forwarded: ${forwarded}`,
    ]
      .filter((s) => s !== '')
      .join(' + ');
    test(`${name} → ${expected}`, () => {
      assert.equal(resolve(xff, forwarded), expected);
    });
  }

  test(`an oversized chain is walked ${MAX_FORWARDED_HOPS} hops deep, no further`, () => {
    const trustedHops = Array.from({ length: 5000 }, (_, i) => `10.0.${(i >> 8) & 255}.${i & 255}`);
    const xff = ['203.0.113.9', ...trustedHops].join(', ');
    const hop = forwardedHop(xff, undefined, TRUST);
    // The walk stopped inside the trusted hops: the last one it read, never the left-most.
    assert.equal(hop.node?.address, trustedHops[trustedHops.length - MAX_FORWARDED_HOPS]);
    assert.equal(hop.depth, MAX_FORWARDED_HOPS - 1);
    const forwarded = ['for=203.0.113.9', ...trustedHops.map((h) => `for=${h}`)].join(', ');
    assert.equal(forwardedHop(undefined, forwarded, TRUST).node?.address, hop.node?.address);
  });

  test('a short chain under the cap still reaches its untrusted hop', () => {
    const trustedHops = Array.from({ length: MAX_FORWARDED_HOPS - 1 }, (_, i) => `10.0.0.${i + 1}`);
    assert.equal(resolve(['203.0.113.9', ...trustedHops].join(', '), undefined), '203.0.113.9');
  });
});

// Over real sockets, on both transports: the address the app sees and the allow list's answer.
for (const fastLane of [true, false]) {
  describe(`behind a trusted proxy (fastLane: ${fastLane})`, () => {
    const send = async (
      headers: string,
      options: { allow?: string[]; deny?: string[] } = {},
    ): Promise<{ status: number; body: string }> => {
      const server = await serve(
        (request: Request, info: ServeInfo) =>
          new Response(`${info.remote.address} ${info.secure} ${new URL(request.url).protocol}`),
        { port: 0, logger: false, fastLane, trustProxy: ['loopback', '10.0.0.0/8'], ...options },
      );
      try {
        const res = await rawRequest(
          server.port,
          `GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n${headers}\r\n`,
        );
        return { status: res.status, body: res.text.slice(res.text.indexOf('\r\n\r\n') + 4) };
      } finally {
        await server.close();
      }
    };

    test('a hop with a port is the client: a client-written left hop does not pass the allow list', async () => {
      const res = await send('X-Forwarded-For: 10.1.2.3, 203.0.113.9:5555\r\n', { allow: ['10.0.0.0/8'] });
      assert.equal(res.status, 403);
      assert.equal(
        (await send('X-Forwarded-For: 10.1.2.3, 203.0.113.9:5555\r\n')).body,
        '203.0.113.9 false http:',
      );
    });

    test('an unreadable right-most hop leaves the peer, not the client-written left hop', async () => {
      assert.equal(
        (await send('X-Forwarded-For: 10.1.2.3, unknown\r\n', { allow: ['10.0.0.0/8'] })).status,
        403,
      );
      assert.equal(
        (await send('Forwarded: for=10.1.2.3, for="_hidden"\r\n', { allow: ['10.0.0.0/8'] })).status,
        403,
      );
    });

    test('several header lines are one list, in order', async () => {
      const res = await send('X-Forwarded-For: 10.1.2.3\r\nx-forwarded-for: 203.0.113.9\r\n');
      assert.equal(res.body, '203.0.113.9 false http:');
      const lines = await send('Forwarded: for=10.1.2.3\r\nFORWARDED: for="[2001:db8::1]:4711"\r\n');
      assert.equal(lines.body, '2001:db8::1 false http:');
    });

    test('a client-sent Forwarded does not override the X-Forwarded-For the proxy wrote', async () => {
      // nginx with proxy_add_x_forwarded_for passes the client's own Forwarded header on.
      const res = await send('Forwarded: for=10.1.2.3;proto=https\r\nX-Forwarded-For: 203.0.113.9\r\n', {
        allow: ['10.0.0.0/8'],
      });
      assert.equal(res.status, 403);
      const deny = await send('Forwarded: for=10.1.2.3\r\nX-Forwarded-For: 203.0.113.9\r\n', {
        deny: ['10.0.0.0/8'],
      });
      assert.equal(deny.status, 200);
    });

    test('a client-sent Forwarded proto does not make the request secure', async () => {
      const res = await send(
        'Forwarded: for=203.0.113.9;proto=https\r\nX-Forwarded-For: 203.0.113.9\r\nX-Forwarded-Proto: http\r\n',
      );
      assert.equal(res.body, '203.0.113.9 false http:');
      const agreed = await send(
        'Forwarded: for=203.0.113.9;proto=https\r\nX-Forwarded-For: 203.0.113.9\r\nX-Forwarded-Proto: https\r\n',
      );
      assert.equal(agreed.body, '203.0.113.9 true https:');
    });

    test('an IPv4-mapped hop is matched by IPv4 rules (trust and deny)', async () => {
      assert.equal(
        (await send('X-Forwarded-For: 203.0.113.9, ::ffff:10.0.0.7\r\n')).body,
        '203.0.113.9 false http:',
      );
      assert.equal(
        (await send('X-Forwarded-For: ::ffff:203.0.113.9\r\n', { deny: ['203.0.113.0/24'] })).status,
        403,
      );
    });

    test('an oversized header is answered (the walk is capped) and the client is not the left-most hop', async () => {
      const hops = Array.from({ length: 1200 }, (_, i) => `10.0.${i >> 8}.${i & 255}`).join(',');
      const res = await send(`X-Forwarded-For: 203.0.113.9,${hops}\r\n`, { deny: ['203.0.113.0/24'] });
      assert.equal(res.status, 200);
      assert.match(res.body, /^10\.0\./);
    });
  });
}
