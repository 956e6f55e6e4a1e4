import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { type StrataServer, serve } from '../../src/server.ts';
import { fuzz } from '../fixtures/fuzz.ts';
import { rawRequest } from '../fixtures/http.ts';

// allowedHosts checks the authority the request is actually for: the Host header, or the
// target's authority in absolute-form (RFC 9112 §3.2.2, which then replaces Host), and a
// Host that is missing, repeated, empty or not a host[:port] is a 400 (RFC 9112 §3.2) — on
// both transports.

const ALLOWED = ['good.example', '*.example.com'];

function echo(request: Request): Response {
  return Response.json({ url: request.url, host: request.headers.get('host') });
}

const req = (target: string, ...headers: string[]): string =>
  `GET ${target} HTTP/1.1\r\n${headers.map((h) => `${h}\r\n`).join('')}Connection: close\r\n\r\n`;

// [request, status with allowedHosts, status without]
const CASES: [name: string, data: string, allowed: number, open: number][] = [
  ['absolute-form for another host', req('http://evil.example/x', 'Host: good.example'), 421, 200],
  ['absolute-form https for another host', req('https://evil.example/x', 'Host: good.example'), 421, 200],
  ['absolute-form for a listed host', req('http://good.example/x', 'Host: evil.example'), 200, 200],
  ['absolute-form with userinfo', req('http://good.example@evil.example/', 'Host: good.example'), 400, 400],
  ['absolute-form, another scheme', req('ftp://good.example/x', 'Host: good.example'), 400, 400],
  ['absolute-form, empty authority', req('http:///x', 'Host: good.example'), 400, 400],
  ['two Host headers', req('/', 'Host: good.example', 'Host: evil.example'), 400, 400],
  ['two Host headers, same value', req('/', 'Host: good.example', 'Host: good.example'), 400, 400],
  ['empty Host', req('/', 'Host: '), 400, 400],
  ['no Host', req('/'), 400, 400],
  ['Host with userinfo', req('/', 'Host: evil@good.example'), 400, 400],
  ['Host with a fragment (suffix trick)', req('/', 'Host: evil.com#.example.com'), 400, 400],
  ['Host with a path (suffix trick)', req('/', 'Host: evil.com/.example.com'), 400, 400],
  ['Host with a query (suffix trick)', req('/', 'Host: evil.com?.example.com'), 400, 400],
  ['Host with a percent', req('/', 'Host: bad_host%'), 400, 400],
  ['Host port out of range', req('/', 'Host: good.example:99999'), 400, 400],
  ['Host port not a number', req('/', 'Host: good.example:http'), 400, 400],
  ['Host port of six digits', req('/', 'Host: good.example:000080'), 400, 400],
  ['Host with two ports', req('/', 'Host: good.example:80:80'), 400, 400],
  ['asterisk-form with GET', req('*', 'Host: good.example'), 400, 400],
  ['listed Host with a port', req('/', 'Host: good.example:8080'), 200, 200],
  ['listed wildcard', req('/', 'Host: a.b.example.com'), 200, 200],
  ['wildcard apex is not listed', req('/', 'Host: example.com'), 421, 200],
  ['an IPv6 literal', req('/', 'Host: [::1]:80'), 421, 200],
  ['an unlisted Host', req('/', 'Host: evil.example'), 421, 200],
];

for (const fastLane of [true, false]) {
  describe(`the authority a request is for (fastLane: ${fastLane})`, () => {
    let guarded: StrataServer;
    let open: StrataServer;
    before(async () => {
      guarded = await serve(echo, { port: 0, logger: false, fastLane, allowedHosts: ALLOWED });
      open = await serve(echo, { port: 0, logger: false, fastLane });
    });
    after(async () => {
      await guarded.close();
      await open.close();
    });

    for (const [name, data, allowed, unguarded] of CASES) {
      test(`${name}: ${allowed} with allowedHosts, ${unguarded} without`, async () => {
        const a = await rawRequest(guarded.port, data);
        assert.equal(a.status, allowed, a.text);
        const b = await rawRequest(open.port, data);
        assert.equal(b.status, unguarded, b.text);
      });
    }

    test('absolute-form: the app sees the target authority in request.url and in Host', async () => {
      const res = await rawRequest(
        guarded.port,
        req('http://good.example:8080/x?y', 'Host: other.example.com'),
      );
      assert.equal(res.status, 200, res.text);
      const body = JSON.parse(res.text.slice(res.text.indexOf('\r\n\r\n') + 4)) as Record<string, string>;
      assert.equal(new URL(body.url!).host, 'good.example:8080');
      assert.equal(body.host, 'good.example:8080');
    });

    test('OPTIONS * is served with the Host header', async () => {
      const res = await rawRequest(
        guarded.port,
        'OPTIONS * HTTP/1.1\r\nHost: good.example\r\nConnection: close\r\n\r\n',
      );
      assert.equal(res.status, 200, res.text);
    });

    test('fuzz: a served request is always for a listed host', async () => {
      const pieces = [
        'good.example',
        '.example.com',
        'evil.com',
        '@',
        '#',
        '/',
        '?',
        ':',
        '80',
        '%',
        '[',
        ']',
        '\\',
        'a',
        '.',
        ' ',
      ];
      const n = await fuzz({ seed: 0x4057, iterations: 400, budgetMs: 1500 }, async (rng) => {
        let host = '';
        for (let i = rng.int(1, 5); i > 0; i--) host += rng.pick(pieces);
        const absolute = rng.chance(0.3);
        const data = absolute ? req(`http://${host}/p`, 'Host: good.example') : req('/p', `Host: ${host}`);
        const res = await rawRequest(guarded.port, data);
        if (res.status !== 200) {
          assert.ok([400, 421].includes(res.status), `${JSON.stringify(data)} → ${res.status}`);
          return;
        }
        const body = JSON.parse(res.text.slice(res.text.indexOf('\r\n\r\n') + 4)) as Record<string, string>;
        const served = new URL(body.url!).hostname.replace(/\.$/, '');
        assert.ok(
          served === 'good.example' || (served.endsWith('.example.com') && served.length > 12),
          `${JSON.stringify(data)} served for ${served}`,
        );
        assert.equal(
          new URL(`http://${body.host}/`).hostname.replace(/\.$/, ''),
          served,
          'Host and request.url agree',
        );
      });
      assert.ok(n > 20, `ran ${n} cases`);
    });
  });
}
