/**
 * `trailingSlash: 'redirect'` builds its Location from the client's path: it must always be a
 * path on this origin. Paths a browser would resolve elsewhere (`/\evil.com/`, `//evil.com/`,
 * a tab or newline that URL parsers drop) are refused with 400; percent-encoded look-alikes stay
 * same-origin paths and are redirected.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { App } from '../../src/app/index.ts';
import { type StrataServer, serve } from '../../src/server.ts';
import { rawRequest } from '../fixtures/http.ts';

const ORIGIN = 'http://origin.example';

function makeApp(): App {
  const app = new App({ trailingSlash: 'redirect', log: false });
  app.get('/:page/', (c) => c.text('page'));
  app.get('/opt/:a?', (c) => c.text('optional'));
  app.get('/files/*', (c) => c.text('files'));
  app.get('/two/:a/', (c) => c.text('two'));
  app.get('/:a/evil.com/', (c) => c.text('second segment'));
  app.get('/x/about', (c) => c.text('about'));
  return app;
}

/** Whether a browser at ORIGIN, following `location`, stays on ORIGIN. */
function sameOrigin(location: string): boolean {
  return new URL(location, `${ORIGIN}/here/page`).origin === ORIGIN;
}

// path → what the app must answer: a status, and for 308 the exact Location.
const CASES: [string, number, string?][] = [
  ['/\\evil.com', 400],
  ['/\\evil.com/', 200], // the route itself: no redirect
  ['/\\/evil.com', 400],
  ['/x\\', 400],
  ['/two/\\evil', 400],
  ['/opt/\\evil.com/', 400],
  ['/\t/evil.com', 400],
  ['/\n/evil.com', 400],
  ['/\r/evil.com', 400],
  ['/ /evil.com', 400],
  ['/\u0000/evil.com', 400],
  ['/\u007f/evil.com', 400],
  ['//evil.com', 404],
  ['//evil.com/', 404],
  ['/%2f%2fevil.com', 308, '/%2f%2fevil.com/'],
  ['/%2F%2Fevil.com', 308, '/%2F%2Fevil.com/'],
  ['/%5cevil.com', 308, '/%5cevil.com/'],
  ['/%5Cevil.com', 308, '/%5Cevil.com/'],
  ['/%09/evil.com', 308, '/%09/evil.com/'],
  ['/x/about/', 308, '/x/about'],
  ['/docs', 308, '/docs/'],
  ['/files', 308, '/files/'],
];

describe('trailingSlash redirect through app.fetch (raw paths, as any runtime may hand them over)', () => {
  const app = makeApp();
  for (const [path, status, location] of CASES) {
    test(`${JSON.stringify(path)}: ${status}${location ? ` to ${location}` : ''}`, async () => {
      // A request-like object: undici's Request would normalise the path before the app saw it.
      const request = { url: `http://localhost${path}`, method: 'GET', headers: new Headers() } as Request;
      const res = await app.fetch(request);
      assert.equal(res.status, status);
      const got = res.headers.get('location');
      if (location === undefined) assert.equal(got, null);
      else {
        assert.equal(got, location);
        assert.ok(sameOrigin(got!), `${got} stays on the origin`);
      }
    });
  }

  test('the query string is kept on a redirect', async () => {
    const res = await app.request('/x/about/?x=1&y=%2F%2Fevil.com');
    assert.equal(res.status, 308);
    assert.equal(res.headers.get('location'), '/x/about?x=1&y=%2F%2Fevil.com');
  });

  test('app.request with a // path (undici keeps it as a path)', async () => {
    const res = await app.request(new Request('http://localhost//evil.com/'));
    assert.ok(res.status !== 308 || sameOrigin(res.headers.get('location')!));
  });
});

describe('trailingSlash redirect over a real server', () => {
  for (const fastLane of [true, false]) {
    describe(fastLane ? 'fast lane' : 'node:http', () => {
      let server: StrataServer;
      before(async () => {
        server = await serve(makeApp(), { port: 0, logger: false, fastLane });
      });
      after(() => server.close());

      // What a client can put on the request line (node's parser refuses controls and spaces).
      const onTheWire = CASES.filter(([path]) => ![...path].some((ch) => ch <= ' ' || ch === '\u007f'));
      for (const [path, status, location] of onTheWire) {
        test(`GET ${path}: ${status}, and any Location stays on the origin`, async () => {
          const res = await rawRequest(
            server.port,
            `GET ${path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`,
          );
          assert.equal(res.status, status, res.text);
          const match = /\r\nlocation: ([^\r]*)\r\n/i.exec(res.text);
          if (location === undefined) assert.equal(match, null);
          else {
            assert.equal(match?.[1], location);
            assert.ok(sameOrigin(match![1]!));
          }
        });
      }

      test('a tab in the request line never yields a redirect', async () => {
        const res = await rawRequest(
          server.port,
          'GET /\t/evil.com HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n',
        );
        assert.notEqual(res.status, 308);
        assert.doesNotMatch(res.text, /\r\nlocation:/i);
      });
    });
  }
});
