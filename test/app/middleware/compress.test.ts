import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import { after, before, describe, test } from 'node:test';
import { brotliDecompressSync, gunzipSync, inflateSync } from 'node:zlib';
import { createNodeHandler } from '../../../src/gateway/index.ts';
import { App, COMPRESS_DEFAULTS, compress, supportedEncodings } from '../../../src/index.ts';
import { getRaw } from '../../fixtures/http.ts';

const rows = Array.from({ length: 200 }, (_, i) => ({
  id: i,
  name: `user ${i}`,
  email: `u${i}@example.com`,
}));
const JSON_TEXT = JSON.stringify(rows);

function build(options?: Parameters<typeof compress>[0]): App {
  const app = new App();
  app.use(compress(options));
  app.get('/big', (c) => c.json(rows));
  app.get('/small', (c) => c.json({ ok: true }));
  app.get('/png', () => new Response(new Uint8Array(4096), { headers: { 'content-type': 'image/png' } }));
  app.get(
    '/encoded',
    () =>
      new Response('x'.repeat(4096), {
        headers: { 'content-type': 'text/plain', 'content-encoding': 'identity-ish' },
      }),
  );
  app.get(
    '/no-transform',
    () =>
      new Response('x'.repeat(4096), {
        headers: { 'content-type': 'text/plain', 'cache-control': 'public, no-transform' },
      }),
  );
  app.get(
    '/etag',
    () =>
      new Response('x'.repeat(4096), {
        headers: { 'content-type': 'text/plain', etag: '"v1"', vary: 'Origin' },
      }),
  );
  app.get('/stream', () => {
    const body = new ReadableStream<Uint8Array>({
      start(controller) {
        for (let i = 0; i < 300; i++) controller.enqueue(new TextEncoder().encode(`line ${i}\n`));
        controller.close();
      },
    });
    return new Response(body, { headers: { 'content-type': 'text/plain' } });
  });
  app.get('/nothing', () => new Response(null, { status: 204 }));
  return app;
}

async function bytes(res: Response): Promise<Buffer> {
  return Buffer.from(await res.arrayBuffer());
}

describe('compress() through app.request()', () => {
  const app = build();

  test('gzip on a large JSON: smaller, Vary, no stale Content-Length, decodes to the original', async () => {
    const res = await app.request('/big', { headers: { 'accept-encoding': 'gzip' } });
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('content-encoding'), 'gzip');
    assert.equal(res.headers.get('vary'), 'Accept-Encoding');
    assert.equal(res.headers.get('content-length'), null);
    const body = await bytes(res);
    assert.ok(body.length < JSON_TEXT.length / 3, `${body.length} bytes`);
    assert.equal(gunzipSync(body).toString(), JSON_TEXT);
  });

  test('deflate, and br where the runtime has it, by the client’s preference', async () => {
    const deflate = await app.request('/big', { headers: { 'accept-encoding': 'deflate' } });
    assert.equal(deflate.headers.get('content-encoding'), 'deflate');
    assert.equal(inflateSync(await bytes(deflate)).toString(), JSON_TEXT);
    const best = await app.request('/big', { headers: { 'accept-encoding': 'gzip;q=0.5, br' } });
    if (supportedEncodings().includes('br')) {
      assert.equal(best.headers.get('content-encoding'), 'br');
      assert.equal(brotliDecompressSync(await bytes(best)).toString(), JSON_TEXT);
    } else assert.equal(best.headers.get('content-encoding'), 'gzip');
  });

  test('no Accept-Encoding, identity;q=0 with nothing else, or a refused coding: identity, still Vary', async () => {
    for (const accept of [undefined, 'identity', 'unknown-coding']) {
      const res = await app.request('/big', {
        headers: accept === undefined ? {} : { 'accept-encoding': accept },
      });
      assert.equal(res.headers.get('content-encoding'), null, String(accept));
      assert.equal(res.headers.get('vary'), 'Accept-Encoding');
      assert.equal(await res.text(), JSON_TEXT);
    }
  });

  test('left alone: under the threshold, incompressible types, already encoded, no-transform, 204, HEAD', async () => {
    const gzip = { headers: { 'accept-encoding': 'gzip' } };
    const small = await app.request('/small', gzip);
    assert.equal(small.headers.get('content-encoding'), null);
    assert.deepEqual(await small.json(), { ok: true });
    assert.equal((await app.request('/png', gzip)).headers.get('content-encoding'), null);
    assert.equal((await app.request('/encoded', gzip)).headers.get('content-encoding'), 'identity-ish');
    assert.equal((await app.request('/no-transform', gzip)).headers.get('content-encoding'), null);
    assert.equal((await app.request('/nothing', gzip)).status, 204);
    const head = await app.request('/big', { method: 'HEAD', headers: { 'accept-encoding': 'gzip' } });
    assert.equal(head.headers.get('content-encoding'), null);
  });

  test('a strong ETag becomes weak; an existing Vary is kept', async () => {
    const res = await app.request('/etag', { headers: { 'accept-encoding': 'gzip' } });
    assert.equal(res.headers.get('etag'), 'W/"v1"');
    assert.equal(res.headers.get('vary'), 'Origin, Accept-Encoding');
    assert.equal(gunzipSync(await bytes(res)).toString(), 'x'.repeat(4096));
  });

  test('a stream of unknown length is compressed as it goes', async () => {
    const res = await app.request('/stream', { headers: { 'accept-encoding': 'gzip' } });
    assert.equal(res.headers.get('content-encoding'), 'gzip');
    assert.match(gunzipSync(await bytes(res)).toString(), /^line 0\n[\s\S]*line 299\n$/);
  });

  test('options: threshold, encodings, types; bad ones are refused', async () => {
    const eager = build({ threshold: 0, encodings: ['gzip'] });
    const small = await eager.request('/small', { headers: { 'accept-encoding': 'gzip, deflate' } });
    assert.equal(small.headers.get('content-encoding'), 'gzip');
    const images = build({ types: ['image/*'] });
    assert.equal(
      (await images.request('/png', { headers: { 'accept-encoding': 'gzip' } })).headers.get(
        'content-encoding',
      ),
      'gzip',
    );
    assert.equal(
      (await images.request('/big', { headers: { 'accept-encoding': 'gzip' } })).headers.get(
        'content-encoding',
      ),
      null,
    );
    assert.throws(() => compress({ threshold: -1 }), TypeError);
    assert.throws(() => compress({ types: ['not a type'] }), TypeError);
    assert.throws(() => compress({ encodings: ['lzma' as 'gzip'] }), TypeError);
    assert.equal(COMPRESS_DEFAULTS.threshold, 1024);
  });
});

describe('compress() on a plain node:http server (the gateway adapter)', () => {
  let server: Server;
  let base: string;
  before(async () => {
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
  after(() => new Promise((r) => server.close(r)));

  test('gzip over the wire, chunked, decoding to the original', async () => {
    const res = await getRaw(`${base}/big`, { 'accept-encoding': 'gzip' });
    assert.equal(res.status, 200);
    assert.equal(res.headers['content-encoding'], 'gzip');
    assert.equal(res.headers.vary, 'Accept-Encoding');
    assert.equal(res.headers['content-length'], undefined);
    assert.equal(gunzipSync(res.body).toString(), JSON_TEXT);
  });

  test('identity over the wire keeps its length', async () => {
    const res = await getRaw(`${base}/big`);
    assert.equal(res.headers['content-encoding'], undefined);
    assert.equal(res.body.toString(), JSON_TEXT);
  });
});
