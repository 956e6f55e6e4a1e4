/**
 * docs/app.md, "Headers after `next()`": the block it shows is run as written against responses
 * whose headers are immutable (a `fetch()` result, `Response.redirect()`), an ordinary one, and a
 * WebSocket route, on a real server. And the reason for the block: setting `res.headers` on an
 * immutable response after `next()` answers 500, while `c.header()` before or after `next()` is
 * applied to any response.
 */
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { pathToFileURL } from 'node:url';
import { App, type Middleware } from '../../src/index.ts';
import { type TestServer, testServer } from '../../src/testing.ts';

const ROOT = join(import.meta.dirname, '..', '..');

/** The first ```ts block under the heading, as an `install(app)` module the test imports. */
async function documentedBlock(heading: string): Promise<(app: App) => void> {
  const doc = await readFile(join(ROOT, 'docs', 'app.md'), 'utf8');
  const at = doc.indexOf(`\n${heading}\n`);
  assert.ok(at >= 0, `docs/app.md has the section ${heading}`);
  const block = /\n```ts\n([\s\S]*?)\n```\n/.exec(doc.slice(at));
  assert.ok(block !== null, `the section ${heading} has a ts block`);
  const base = join(ROOT, '.doc-blocks');
  await mkdir(base, { recursive: true });
  const dir = await mkdtemp(join(base, 'run-'));
  try {
    const file = join(dir, 'install.ts');
    await writeFile(file, `export default function install(app) {\n${block[1]}\n}\n`);
    return ((await import(pathToFileURL(file).href)) as { default: (app: App) => void }).default;
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** An app behind `middleware` with a proxy route, a redirect, a plain route and a WebSocket route. */
function routes(upstream: string, middleware: (app: App) => void): App {
  const app = new App({ log: false });
  middleware(app);
  app.get('/proxied', () => fetch(`${upstream}/hello`)); // a fetch() result: immutable headers
  app.get('/redirect', () => Response.redirect('http://127.0.0.1/elsewhere', 302)); // immutable too
  app.get('/plain', (c) => c.text('plain'));
  app.get('/chat', (c) =>
    c.upgrade({
      open(ws) {
        ws.send('welcome');
      },
      message(ws, data) {
        ws.send(data);
      },
    }),
  );
  return app;
}

describe('docs/app.md: headers after next()', () => {
  let upstream: TestServer;
  before(async () => {
    const origin = new App({ log: false });
    origin.get('/hello', (c) => c.json({ hello: 'upstream' }));
    upstream = await testServer(origin);
  });
  after(() => upstream.close());

  test('the documented middleware sets its header on every kind of response and keeps WebSockets', async () => {
    const install = await documentedBlock('### Headers after `next()`');
    await using t = await testServer(routes(upstream.url, install));

    const proxied = await t.fetch('/proxied');
    assert.equal(proxied.status, 200);
    assert.deepEqual(await proxied.json(), { hello: 'upstream' });
    assert.match(proxied.headers.get('x-took') ?? '', /^\d+\.\d$/);

    const redirect = await t.fetch('/redirect', { redirect: 'manual' });
    assert.equal(redirect.status, 302);
    assert.equal(redirect.headers.get('location'), 'http://127.0.0.1/elsewhere');
    assert.match(redirect.headers.get('x-took') ?? '', /^\d+\.\d$/);

    const plain = await t.fetch('/plain');
    assert.equal(await plain.text(), 'plain');
    assert.match(plain.headers.get('x-took') ?? '', /^\d+\.\d$/);

    // The upgrade's answer was not copied: the handshake succeeds, with the header on the 101.
    const ws = await t.ws('/chat');
    assert.equal(await ws.next(), 'welcome');
    assert.match(String(ws.headers['x-took']), /^\d+\.\d$/);
  });

  test('why: setting a header on an immutable response after next() answers 500', async () => {
    const naive: Middleware = async (_c, next) => {
      const res = await next();
      res.headers.set('x-took', '1');
    };
    await using t = await testServer(routes(upstream.url, (app) => app.use(naive)));
    assert.equal((await t.fetch('/proxied')).status, 500);
    assert.equal((await t.fetch('/redirect', { redirect: 'manual' })).status, 500);
    assert.equal((await t.fetch('/plain')).status, 200);
  });

  test('c.header() before next() reaches an immutable response (the framework copies it)', async () => {
    const early: Middleware = (c, next) => {
      c.header('x-frame-options', 'DENY');
      return next();
    };
    await using t = await testServer(routes(upstream.url, (app) => app.use(early)));
    const proxied = await t.fetch('/proxied');
    assert.equal(proxied.status, 200);
    assert.equal(proxied.headers.get('x-frame-options'), 'DENY');
    assert.deepEqual(await proxied.json(), { hello: 'upstream' });
    const redirect = await t.fetch('/redirect', { redirect: 'manual' });
    assert.equal(redirect.headers.get('x-frame-options'), 'DENY');
  });
});
