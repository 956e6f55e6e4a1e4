/**
 * Request cookies: repeated Cookie header lines are one cookie-string joined with "; "
 * (RFC 9113 §8.2.3, RFC 6265 §5.4), wherever the headers are read; and the parser, given hostile
 * input, never throws, never pollutes, and shows no inherited names.
 */
import assert from 'node:assert/strict';
import { request as httpRequest } from 'node:http';
import { after, before, describe, test } from 'node:test';
import { parseCookieHeader } from '../../src/app/context.ts';
import { App } from '../../src/app/index.ts';
import { NodeHeaders } from '../../src/gateway/node-headers.ts';
import { type StrataServer, serve } from '../../src/server.ts';

function get(url: string, lines: [string, string][]): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(
      url,
      { headers: [['host', 'localhost'], ...lines].flat(), agent: false },
      (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => {
          body += c;
        });
        res.on('end', () => resolve({ status: res.statusCode!, body }));
      },
    );
    req.on('error', reject);
    req.end();
  });
}

describe('repeated Cookie headers are joined with "; "', () => {
  test('NodeHeaders.get, before and after materializing', () => {
    const raw = ['Host', 'x', 'Cookie', 'a=1', 'X-Other', 'p', 'cookie', 'b=2', 'X-Other', 'q'];
    const h = new NodeHeaders([...raw]);
    assert.equal(h.get('cookie'), 'a=1; b=2');
    assert.equal(h.get('x-other'), 'p, q', 'other headers keep ", "');
    const m = new NodeHeaders([...raw]);
    void [...m];
    assert.equal(m.get('cookie'), 'a=1; b=2');
  });

  test('app.request with two Cookie headers', async () => {
    const app = new App({ log: false });
    app.get('/', (c) => c.json(c.cookies));
    const res = await app.request('/', {
      headers: [
        ['cookie', 'a=1'],
        ['cookie', 'b=2'],
      ],
    });
    assert.deepEqual(await res.json(), { a: '1', b: '2' });
  });

  for (const fastLane of [true, false]) {
    describe(`over a real server (${fastLane ? 'fast lane' : 'node:http'})`, () => {
      let server: StrataServer;
      before(async () => {
        const app = new App({ log: false });
        app.get('/cookies', (c) => c.json({ header: c.req.headers.get('cookie'), cookies: c.cookies }));
        app.get('/materialized', (c) => {
          void [...c.req.headers];
          return c.json({ header: c.req.headers.get('cookie'), cookies: c.cookies });
        });
        app.get('/native', (c) => {
          // The undici Request the gateway builds on demand (clone, formData).
          const copy = c.req.clone();
          return c.json({ header: copy.headers.get('cookie'), cookies: {} });
        });
        server = await serve(app, { port: 0, logger: false, fastLane });
      });
      after(() => server.close());

      for (const path of ['/cookies', '/materialized', '/native']) {
        test(`${path}: a=1 and b=2 are two cookies`, async () => {
          const res = await get(server.url + path, [
            ['cookie', 'a=1'],
            ['Cookie', 'b=2; c=3'],
          ]);
          assert.equal(res.status, 200);
          const out = JSON.parse(res.body) as { header: string; cookies: Record<string, string> };
          assert.equal(out.header, 'a=1; b=2; c=3');
          if (path !== '/native') assert.deepEqual(out.cookies, { a: '1', b: '2', c: '3' });
        });
      }
    });
  }
});

describe('parseCookieHeader against hostile input', () => {
  // Expected pairs in order (an object literal cannot hold a __proto__ key).
  const cases: { name: string; header: string; expect: [string, string][] }[] = [
    {
      name: '__proto__ is a cookie name',
      header: '__proto__=x; a=1',
      expect: [
        ['__proto__', 'x'],
        ['a', '1'],
      ],
    },
    {
      name: 'constructor, toString, hasOwnProperty are cookie names',
      header: 'constructor=c; toString=t; hasOwnProperty=h',
      expect: [
        ['constructor', 'c'],
        ['toString', 't'],
        ['hasOwnProperty', 'h'],
      ],
    },
    {
      name: 'the first of repeated names wins',
      header: 'sid=first; sid=second; sid=third',
      expect: [['sid', 'first']],
    },
    {
      name: 'repeated __proto__: the first wins',
      header: '__proto__=a; __proto__=b',
      expect: [['__proto__', 'a']],
    },
    {
      name: 'bad percent-encoding keeps the raw value',
      header: 'a=%E0%A4%A; b=%zz; c=%',
      expect: [
        ['a', '%E0%A4%A'],
        ['b', '%zz'],
        ['c', '%'],
      ],
    },
    { name: 'good percent-encoding is decoded', header: 'a=%20x%3B', expect: [['a', ' x;']] },
    {
      name: 'pairs without "=" or without a name are skipped',
      header: 'novalue; =x; ; a=1',
      expect: [['a', '1']],
    },
    {
      name: 'quoted values lose their quotes',
      header: 'a="q"; b="',
      expect: [
        ['a', 'q'],
        ['b', '"'],
      ],
    },
    { name: 'an empty header', header: '', expect: [] },
    { name: 'only separators', header: ';;;; ; ;', expect: [] },
    { name: 'a value with "="', header: 'a=b=c', expect: [['a', 'b=c']] },
  ];
  for (const { name, header, expect } of cases) {
    test(name, () => {
      const out = parseCookieHeader(header);
      assert.equal(Object.getPrototypeOf(out), null);
      assert.deepEqual(Object.entries(out), expect);
      assert.equal(({} as Record<string, unknown>).x, undefined, 'Object.prototype untouched');
      const sent = new Set(expect.map(([k]) => k));
      for (const inherited of ['toString', 'constructor', 'valueOf', 'hasOwnProperty', '__proto__']) {
        if (!sent.has(inherited)) assert.equal(out[inherited], undefined, inherited);
      }
    });
  }

  test('__proto__ cookies never change the prototype of anything', () => {
    const out = parseCookieHeader('__proto__=polluted; constructor=x');
    assert.equal(Object.getPrototypeOf(out), null);
    assert.equal(({} as Record<string, unknown>).polluted, undefined);
    assert.equal(Object.hasOwn(Object.prototype, 'polluted'), false);
  });

  test('a huge number of pairs and names: no throw, first of each wins', () => {
    const parts: string[] = [];
    for (let i = 0; i < 20_000; i++) parts.push(`n${i % 5000}=${i}`);
    const out = parseCookieHeader(parts.join('; '));
    assert.equal(Object.keys(out).length, 5000);
    assert.equal(out.n0, '0');
    assert.equal(out.n4999, '4999');
  });

  test('c.cookie() and c.signedCookie() of inherited names are undefined unless sent', async () => {
    const app = new App({ log: false, cookieSecrets: ['x'.repeat(32)] });
    app.get('/', (c) =>
      c.json({
        constructor: c.cookie('constructor') ?? null,
        toString: c.cookie('toString') ?? null,
        proto: c.cookie('__proto__') ?? null,
        signed: c.signedCookie('constructor') ?? null,
        sent: c.cookie('sent') ?? null,
      }),
    );
    const res = await app.request('/', { headers: { cookie: 'sent=1' } });
    assert.deepEqual(await res.json(), {
      constructor: null,
      toString: null,
      proto: null,
      signed: null,
      sent: '1',
    });
  });
});
