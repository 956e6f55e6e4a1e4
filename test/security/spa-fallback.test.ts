import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { nodeHandler } from '../../src/gateway/resolve-app.ts';
import { type StrataServer, serve } from '../../src/server.ts';

// spaFallback answers the single-page app's page only for browser navigations the app has no
// route for (it answered 404): an app's GET routes and its 404s for API calls are never hidden.

const INDEX = '<!doctype html><title>spa</title>';
const NAV = 'text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8';

function fetchApp(request: Request): Response {
  const path = new URL(request.url).pathname;
  if (request.method === 'GET' && path === '/api/users') return Response.json([{ id: 1 }]);
  if (request.method === 'GET' && path === '/server-page')
    return new Response('<p>server page</p>', { headers: { 'content-type': 'text/html' } });
  return Response.json({ error: 'not found' }, { status: 404 });
}

const nodeApp = nodeHandler((req: IncomingMessage, res: ServerResponse): void => {
  if (req.url === '/api/users') {
    res.setHeader('content-type', 'application/json');
    res.end('[{"id":1}]');
    return;
  }
  res.statusCode = 404;
  res.end('{"error":"not found"}');
});

let root: string;
before(() => {
  root = mkdtempSync(join(tmpdir(), 'strata-spa-'));
  writeFileSync(join(root, 'index.html'), INDEX);
  mkdirSync(join(root, 'assets'));
  writeFileSync(join(root, 'assets', 'app.js'), 'console.log(1)');
});
after(() => rmSync(root, { recursive: true, force: true }));

for (const fastLane of [true, false]) {
  describe(`spaFallback with a fetch app (fastLane: ${fastLane})`, () => {
    let server: StrataServer;
    before(async () => {
      server = await serve(fetchApp, {
        port: 0,
        logger: false,
        fastLane,
        static: { root, spaFallback: 'index.html' },
      });
    });
    after(() => server.close());

    const get = (path: string, accept: string, init: RequestInit = {}) =>
      fetch(`${server.url}${path}`, { ...init, headers: { accept, ...(init.headers as object) } });

    test("an app GET route is the app's, whatever the Accept", async () => {
      for (const accept of ['application/json', NAV, '*/*']) {
        const res = await get('/api/users', accept);
        assert.equal(res.status, 200);
        assert.deepEqual(await res.json(), [{ id: 1 }]);
      }
    });

    test("an API call for a missing path gets the app's 404, not index.html", async () => {
      const res = await get('/api/missing', 'application/json');
      assert.equal(res.status, 404);
      assert.deepEqual(await res.json(), { error: 'not found' });
      const any = await get('/some/page', '*/*');
      assert.equal(any.status, 404, 'fetch() with */* is no navigation');
      await any.text();
    });

    test('a browser navigation to a missing page gets index.html', async () => {
      const res = await get('/some/page', NAV);
      assert.equal(res.status, 200);
      assert.match(res.headers.get('content-type') ?? '', /text\/html/);
      assert.equal(await res.text(), INDEX);
      const etag = res.headers.get('etag');
      assert.ok(etag);
      const again = await get('/other', NAV, { headers: { 'if-none-match': etag } });
      assert.equal(again.status, 304);
      const head = await get('/some/page', NAV, { method: 'HEAD' });
      assert.equal(head.status, 200);
      assert.equal(head.headers.get('content-length'), String(INDEX.length));
    });

    test("a navigation to a page the app serves is the app's; files are still files", async () => {
      const page = await get('/server-page', NAV);
      assert.equal(await page.text(), '<p>server page</p>');
      const js = await get('/assets/app.js', '*/*');
      assert.equal(await js.text(), 'console.log(1)');
    });

    test('a POST is never answered with the page', async () => {
      const res = await fetch(`${server.url}/some/page`, {
        method: 'POST',
        headers: { accept: NAV },
        body: 'x',
      });
      assert.equal(res.status, 404);
      await res.text();
    });
  });
}

describe('spaFallback with a node-style app', () => {
  let server: StrataServer;
  before(async () => {
    server = await serve(nodeApp, { port: 0, logger: false, static: { root, spaFallback: 'index.html' } });
  });
  after(() => server.close());

  test('API calls reach the app (route and 404); navigations get index.html', async () => {
    const users = await fetch(`${server.url}/api/users`, { headers: { accept: 'application/json' } });
    assert.deepEqual(await users.json(), [{ id: 1 }]);
    const missing = await fetch(`${server.url}/api/missing`, { headers: { accept: 'application/json' } });
    assert.equal(missing.status, 404);
    assert.deepEqual(await missing.json(), { error: 'not found' });
    const nav = await fetch(`${server.url}/some/page`, { headers: { accept: NAV } });
    assert.equal(nav.status, 200);
    assert.equal(await nav.text(), INDEX);
  });
});

describe('spaFallback stays under the static prefix', () => {
  for (const kind of ['fetch', 'node'] as const) {
    test(`a navigation outside the prefix keeps the app's 404 (${kind} app)`, async () => {
      const server = await serve(kind === 'fetch' ? fetchApp : nodeApp, {
        port: 0,
        logger: false,
        static: { root, prefix: '/app/', spaFallback: 'index.html' },
      });
      try {
        const inside = await fetch(`${server.url}/app/notes/3`, { headers: { accept: NAV } });
        assert.equal(inside.status, 200);
        assert.equal(await inside.text(), INDEX);
        const bare = await fetch(`${server.url}/app`, { headers: { accept: NAV } });
        assert.notEqual(await bare.text(), '{"error":"not found"}', '/app is the SPA (or its redirect)');
        for (const path of ['/nowhere', '/application', '/apps/x']) {
          const outside = await fetch(`${server.url}${path}`, { headers: { accept: NAV } });
          assert.equal(outside.status, 404, path);
          assert.equal(await outside.text(), '{"error":"not found"}', path);
        }
      } finally {
        await server.close();
      }
    });
  }
});
