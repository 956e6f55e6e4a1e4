/**
 * Header names that are also names on Object.prototype (`constructor`, `toString`,
 * `hasOwnProperty`, `__proto__`) are ordinary header names: absent until sent or set, stored and
 * written like any other, on responses (FastHeaders, the node writer, the context's pending
 * headers) and on requests (NodeHeaders, on the fast lane and on node:http).
 */
import assert from 'node:assert/strict';
import { request as httpRequest } from 'node:http';
import { after, before, describe, test } from 'node:test';
import { App } from '../../src/app/index.ts';
import { FastHeaders } from '../../src/gateway/fast-headers.ts';
import { installFastResponse, NativeResponse } from '../../src/gateway/fast-response.ts';
import { NodeHeaders } from '../../src/gateway/node-headers.ts';
import { type StrataServer, serve } from '../../src/server.ts';

const INHERITED = ['constructor', 'toString', 'hasOwnProperty', 'valueOf', '__proto__', 'isPrototypeOf'];

/** A GET with raw header lines (fetch merges or refuses some), answering status, headers, body. */
function get(
  url: string,
  headers: [string, string][],
): Promise<{ status: number; raw: string[]; body: string }> {
  return new Promise((resolve, reject) => {
    // An array of raw lines: node then adds no Host of its own.
    const flat = [['host', 'localhost'], ...headers].flat();
    const req = httpRequest(url, { headers: flat, agent: false }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => {
        body += c;
      });
      res.on('end', () => resolve({ status: res.statusCode!, raw: res.rawHeaders, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

function rawValues(raw: string[], name: string): string[] {
  const out: string[] = [];
  for (let i = 0; i < raw.length; i += 2) if (raw[i]!.toLowerCase() === name) out.push(raw[i + 1]!);
  return out;
}

describe('FastHeaders', () => {
  for (const name of INHERITED) {
    test(`"${name}" is absent until set, then a header like any other`, () => {
      const h = new FastHeaders({ 'content-type': 'text/plain' });
      assert.equal(h.has(name), false);
      assert.equal(h.get(name), null);
      h.append(name, 'a');
      h.append(name, 'b');
      assert.equal(h.get(name), 'a, b');
      assert.deepEqual(
        [...h].filter(([k]) => k === name.toLowerCase()),
        [[name.toLowerCase(), 'a, b']],
      );
      h.delete(name);
      assert.equal(h.has(name), false);
      assert.equal(Object.getPrototypeOf(FastHeaders.record(h)) === Object.prototype, false);
    });
  }

  test('new Response(...).headers sees no inherited names with the fast Response installed', () => {
    const restore = installFastResponse();
    try {
      const headers = new Response('x').headers;
      assert.ok(headers instanceof FastHeaders);
      for (const name of INHERITED) assert.equal(headers.has(name), false, name);
      for (const name of INHERITED) assert.equal(headers.get(name), null, name);
    } finally {
      restore();
    }
  });

  test('copying FastHeaders keeps such names and adds none', () => {
    const h = new FastHeaders([['constructor', 'c']]);
    const copy = new FastHeaders(h);
    assert.deepEqual([...copy], [['constructor', 'c']]);
  });
});

describe('NodeHeaders (requests)', () => {
  for (const name of INHERITED) {
    test(`"${name}" is read as a normal request header, before and after materializing`, () => {
      const absent = new NodeHeaders(['Host', 'x']);
      assert.equal(absent.get(name), null);
      assert.equal(absent.has(name), false);
      const h = new NodeHeaders(['Host', 'x', name, 'one', name.toUpperCase(), 'two']);
      assert.equal(h.get(name), 'one, two');
      assert.equal(h.has(name), true);
      assert.equal([...h].find(([k]) => k === name.toLowerCase())?.[1], 'one, two');
      assert.equal(h.get(name), 'one, two');
    });
  }
});

describe('over a real server', () => {
  for (const fastLane of [true, false]) {
    describe(fastLane ? 'fast lane' : 'node:http', () => {
      let server: StrataServer;
      before(async () => {
        const app = new App({ log: false });
        app.get('/echo', (c) => {
          return c.json(INHERITED.map((name) => [name, c.req.headers.get(name)]));
        });
        app.get('/set-by-context', (c) => {
          c.header('constructor', 'a');
          c.header('constructor', 'b', { append: true });
          c.header('__proto__', 'p');
          c.header('toString', 't');
          return c.text('ok');
        });
        app.get('/set-by-init', () => {
          return new Response('ok', {
            headers: [
              ['constructor', 'a'],
              ['constructor', 'b'],
              ['__proto__', 'p'],
              ['hasOwnProperty', 'h'],
            ],
          });
        });
        app.get('/native', () => {
          // A native undici Response: the node writer copies its headers.
          return new NativeResponse('ok', {
            headers: [
              ['constructor', 'a'],
              ['constructor', 'b'],
              ['__proto__', 'p'],
            ],
          });
        });
        server = await serve(app, { port: 0, logger: false, fastLane });
      });
      after(() => server.close());

      test('request headers named like Object.prototype members are read, absent ones are null', async () => {
        const none = await get(`${server.url}/echo`, []);
        assert.deepEqual(
          JSON.parse(none.body),
          INHERITED.map((n) => [n, null]),
        );
        const sent = await get(
          `${server.url}/echo`,
          INHERITED.map((n) => [n, `v-${n}`]),
        );
        assert.deepEqual(
          JSON.parse(sent.body),
          INHERITED.map((n) => [n, `v-${n}`]),
        );
      });

      for (const path of ['/set-by-context', '/set-by-init', '/native']) {
        test(`${path}: such response headers are written as set, never as a function`, async () => {
          const res = await get(server.url + path, []);
          assert.equal(res.status, 200);
          assert.deepEqual(rawValues(res.raw, 'constructor'), ['a, b']);
          assert.deepEqual(rawValues(res.raw, '__proto__'), ['p']);
          for (let i = 1; i < res.raw.length; i += 2)
            assert.doesNotMatch(res.raw[i]!, /native code|function/);
        });
      }

      test('a response with no such headers writes none', async () => {
        const res = await get(`${server.url}/echo`, []);
        for (const name of INHERITED) assert.deepEqual(rawValues(res.raw, name.toLowerCase()), [], name);
      });
    });
  }
});
