import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { createNodeHandler } from '../../../src/gateway/index.ts';
import { App, serveStatic } from '../../../src/index.ts';
import { getRaw } from '../../fixtures/http.ts';

let root: string;
const big = randomBytes(300_000);
const ALPHABET = 'abcdefghijklmnopqrstuvwxyz';

function build(): App {
  const app = new App();
  app.use(serveStatic({ root, maxAge: 60 }));
  app.use('/assets', serveStatic({ root: join(root, 'docs'), prefix: '/assets' }));
  app.get('/api', (c) => c.json({ from: 'app' }));
  return app;
}

describe('serveStatic() through app.request()', () => {
  let app: App;
  before(() => {
    root = mkdtempSync(join(tmpdir(), 'strata-serve-static-'));
    mkdirSync(join(root, 'docs'));
    writeFileSync(join(root, 'index.html'), '<h1>home</h1>');
    writeFileSync(join(root, 'docs', 'index.html'), '<h1>docs</h1>');
    writeFileSync(join(root, 'alphabet.txt'), ALPHABET);
    writeFileSync(join(root, 'big.bin'), big);
    writeFileSync(join(root, 'app.3f2a1b9c.js'), 'console.log(1)');
    app = build();
  });
  after(() => rmSync(root, { recursive: true, force: true }));

  test('a file, with type, length, validators and caching headers', async () => {
    const res = await app.request('/alphabet.txt');
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('content-type'), 'text/plain; charset=utf-8');
    assert.equal(res.headers.get('content-length'), '26');
    assert.equal(res.headers.get('accept-ranges'), 'bytes');
    assert.equal(res.headers.get('cache-control'), 'public, max-age=60');
    assert.equal(res.headers.get('x-content-type-options'), 'nosniff');
    assert.match(res.headers.get('etag')!, /^"1a-[0-9a-f]+"$/);
    assert.ok(res.headers.get('last-modified'));
    assert.equal(await res.text(), ALPHABET);
  });

  test('hashed names are immutable; index files; /dir redirects to /dir/ with its query', async () => {
    const hashed = await app.request('/app.3f2a1b9c.js');
    assert.equal(hashed.headers.get('cache-control'), 'public, max-age=31536000, immutable');
    assert.equal(hashed.headers.get('content-type'), 'text/javascript; charset=utf-8');
    assert.equal(await (await app.request('/')).text(), '<h1>home</h1>');
    assert.equal(await (await app.request('/docs/')).text(), '<h1>docs</h1>');
    const redirect = await app.request('/docs?x=1');
    assert.equal(redirect.status, 301);
    assert.equal(redirect.headers.get('location'), '/docs/?x=1');
    const named = await app.request('/alphabet.txt/');
    assert.equal(named.status, 404, 'a file named as a directory is not found');
  });

  test('what names no file goes on to the app; other methods are not served', async () => {
    assert.deepEqual(await (await app.request('/api')).json(), { from: 'app' });
    assert.equal((await app.request('/missing.txt')).status, 404);
    const post = await app.request('/alphabet.txt', { method: 'POST' });
    assert.equal(post.status, 404);
  });

  test('a prefix maps under its own root', async () => {
    const res = await app.request('/assets/index.html');
    assert.equal(await res.text(), '<h1>docs</h1>');
  });

  test('conditional requests: 304 on If-None-Match and If-Modified-Since, 412 on If-Match', async () => {
    const first = await app.request('/alphabet.txt');
    const etag = first.headers.get('etag')!;
    const notModified = await app.request('/alphabet.txt', { headers: { 'if-none-match': `W/${etag}` } });
    assert.equal(notModified.status, 304);
    assert.equal(notModified.headers.get('etag'), etag);
    const since = await app.request('/alphabet.txt', {
      headers: { 'if-modified-since': first.headers.get('last-modified')! },
    });
    assert.equal(since.status, 304);
    const failed = await app.request('/alphabet.txt', { headers: { 'if-match': '"other"' } });
    assert.equal(failed.status, 412);
    const ok = await app.request('/alphabet.txt', { headers: { 'if-match': etag } });
    assert.equal(ok.status, 200);
  });

  test('ranges: one range 206, several multipart, unsatisfiable 416, a stale If-Range the whole', async () => {
    const one = await app.request('/alphabet.txt', { headers: { range: 'bytes=2-4' } });
    assert.equal(one.status, 206);
    assert.equal(one.headers.get('content-range'), 'bytes 2-4/26');
    assert.equal(await one.text(), 'cde');
    const suffix = await app.request('/alphabet.txt', { headers: { range: 'bytes=-3' } });
    assert.equal(await suffix.text(), 'xyz');
    const many = await app.request('/alphabet.txt', { headers: { range: 'bytes=0-1,24-' } });
    assert.equal(many.status, 206);
    const type = many.headers.get('content-type')!;
    const boundary = /boundary=(.+)$/.exec(type)![1];
    const body = await many.text();
    assert.equal(Number(many.headers.get('content-length')), Buffer.byteLength(body));
    assert.match(
      body,
      new RegExp(
        `--${boundary}\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Range: bytes 0-1/26\r\n\r\nab\r\n`,
      ),
    );
    assert.match(body, /Content-Range: bytes 24-25\/26\r\n\r\nyz\r\n/);
    assert.ok(body.endsWith(`--${boundary}--\r\n`));
    const none = await app.request('/alphabet.txt', { headers: { range: 'bytes=100-' } });
    assert.equal(none.status, 416);
    assert.equal(none.headers.get('content-range'), 'bytes */26');
    const stale = await app.request('/alphabet.txt', {
      headers: { range: 'bytes=0-0', 'if-range': '"stale"' },
    });
    assert.equal(stale.status, 200);
    assert.equal(await stale.text(), ALPHABET);
    const overlapping = await app.request('/alphabet.txt', { headers: { range: 'bytes=0-5,3-8' } });
    assert.equal(overlapping.status, 200, 'overlapping ranges are served whole (amplification)');
  });

  test('HEAD has the length and no body', async () => {
    const res = await app.request('/big.bin', { method: 'HEAD' });
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('content-length'), String(big.length));
    assert.equal(res.headers.get('content-type'), 'application/octet-stream');
    assert.equal((await res.arrayBuffer()).byteLength, 0);
  });

  test('bad options are refused at construction', () => {
    assert.throws(() => serveStatic({ root, maxAge: -1 }), TypeError);
  });
});

describe('serveStatic() on a plain node:http server (the gateway adapter)', () => {
  let server: Server;
  let base: string;
  before(async () => {
    root = mkdtempSync(join(tmpdir(), 'strata-serve-static-node-'));
    mkdirSync(join(root, 'docs'));
    writeFileSync(join(root, 'alphabet.txt'), ALPHABET);
    writeFileSync(join(root, 'big.bin'), big);
    writeFileSync(join(root, 'docs', 'index.html'), '<h1>docs</h1>');
    server = createServer(
      createNodeHandler(build(), {
        maxBodySize: 1024,
        secure: false,
        defaultHost: 'localhost',
        onError: () => {},
        waitUntil: () => {},
      }),
    );
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    base = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
  });
  after(async () => {
    await new Promise((r) => server.close(r));
    rmSync(root, { recursive: true, force: true });
  });

  test('a large file arrives whole, byte for byte, with its length', async () => {
    const res = await getRaw(`${base}/big.bin`);
    assert.equal(res.status, 200);
    assert.equal(res.headers['content-length'], String(big.length));
    assert.ok(res.body.equals(big));
  });

  test('a range of a large file', async () => {
    const res = await getRaw(`${base}/big.bin`, { range: 'bytes=100000-100009' });
    assert.equal(res.status, 206);
    assert.ok(res.body.equals(big.subarray(100000, 100010)));
  });

  test('304 and HEAD over the wire', async () => {
    const first = await getRaw(`${base}/alphabet.txt`);
    const again = await getRaw(`${base}/alphabet.txt`, { 'if-none-match': String(first.headers.etag) });
    assert.equal(again.status, 304);
    assert.equal(again.body.length, 0);
    const head = await getRaw(`${base}/big.bin`, {}, 'HEAD');
    assert.equal(head.status, 200);
    assert.equal(head.headers['content-length'], String(big.length));
    assert.equal(head.body.length, 0);
    const index = await getRaw(`${base}/docs/`);
    assert.equal(index.body.toString(), '<h1>docs</h1>');
  });
});
