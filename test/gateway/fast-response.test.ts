import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import { describe, test } from 'node:test';
import { FastResponse, installFastResponse, NativeResponse } from '../../src/gateway/index.ts';

installFastResponse();

describe('FastResponse as globalThis.Response', () => {
  test('the global is replaced, and instanceof holds both ways', async () => {
    assert.equal(globalThis.Response, FastResponse as unknown as typeof Response);
    assert.ok(new Response('x') instanceof Response);
    assert.ok(new Response('x') instanceof NativeResponse, 'fast responses are native ones for instanceof');
    assert.ok(new NativeResponse('x') instanceof Response, 'native responses still pass instanceof Response');
    const server = createServer((_req, res) => res.end('from fetch'));
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    try {
      const fetched = await fetch(`http://127.0.0.1:${(server.address() as { port: number }).port}/`);
      assert.ok(fetched instanceof Response, 'a fetch() result is instanceof the replaced Response');
      assert.equal(await fetched.text(), 'from fetch');
    } finally {
      server.close();
    }
    assert.equal(Object.prototype.toString.call(new Response('x')), '[object Response]');
    assert.equal({} instanceof Response, false);
    assert.equal((null as unknown as object) instanceof Response, false);
  });

  test('installing twice is harmless', () => {
    const restore = installFastResponse();
    restore();
    assert.equal(globalThis.Response, FastResponse as unknown as typeof Response);
  });

  const contentTypes: [string, () => Response, string | null][] = [
    ['string', () => new Response('hi'), 'text/plain;charset=UTF-8'],
    ['Response.json', () => Response.json({ a: 1 }), 'application/json'],
    [
      'Response.json with its own type',
      () => Response.json(1, { headers: { 'Content-Type': 'application/x' } }),
      'application/x',
    ],
    [
      'URLSearchParams',
      () => new Response(new URLSearchParams('a=1')),
      'application/x-www-form-urlencoded;charset=UTF-8',
    ],
    ['Blob with type', () => new Response(new Blob(['x'], { type: 'image/png' })), 'image/png'],
    ['bytes', () => new Response(new Uint8Array([1])), null],
    ['null', () => new Response(null), null],
  ];
  for (const [name, make, expected] of contentTypes) {
    test(`default content-type for ${name} matches the Fetch standard`, () => {
      assert.equal(make().headers.get('content-type'), expected);
    });
  }

  test('status and init are validated like the native class', () => {
    for (const status of [199, 600, 1.5, 0]) {
      assert.throws(() => new Response('x', { status }), RangeError, `status ${status}`);
      assert.throws(() => new NativeResponse('x', { status }), RangeError, `native agrees on ${status}`);
    }
    for (const status of [204, 205, 304]) {
      assert.throws(() => new Response('body', { status }), TypeError, `body with ${status}`);
      assert.equal(new Response(null, { status }).status, status);
    }
    assert.throws(() => Response.json(undefined), TypeError);
    const r = new Response('x', { status: 201, statusText: 'Made' });
    assert.equal(r.status, 201);
    assert.equal(r.statusText, 'Made');
    assert.equal(r.ok, true);
    assert.equal(new Response('x', { status: 404 }).ok, false);
    assert.equal(r.type, 'default');
    assert.equal(r.url, '');
    assert.equal(r.redirected, false);
  });

  test('bodies read once, as the standard says', async () => {
    const r = new Response('hello');
    assert.equal(r.bodyUsed, false);
    assert.equal(await r.text(), 'hello');
    assert.equal(r.bodyUsed, true);
    await assert.rejects(r.text(), TypeError);
    await assert.rejects(r.json(), TypeError);
    const j = Response.json({ a: [1, 2] });
    assert.deepEqual(await j.json(), { a: [1, 2] });
    await assert.rejects(j.arrayBuffer(), TypeError);
  });

  test('body, clone, bytes, blob and formData go through a real response', async () => {
    const r = new Response('stream me');
    const reader = r.body!.getReader();
    const chunk = await reader.read();
    assert.equal(new TextDecoder().decode(chunk.value), 'stream me');
    const original = Response.json({ n: 1 }, { status: 202, headers: { 'x-a': '1' } });
    const copy = original.clone();
    assert.ok(copy instanceof Response);
    assert.equal(copy.status, 202);
    assert.equal(copy.headers.get('x-a'), '1');
    assert.deepEqual(await copy.json(), { n: 1 });
    assert.deepEqual(await original.json(), { n: 1 });
    assert.deepEqual([...(await new Response(new Uint8Array([1, 2, 3])).bytes())], [1, 2, 3]);
    assert.equal((await new Response('abc').blob()).size, 3);
    const form = new FormData();
    form.set('field', 'value');
    const fd = await new Response(form).formData();
    assert.equal(fd.get('field'), 'value');
  });

  test('static error and redirect answer native responses', () => {
    assert.equal(Response.error().type, 'error');
    const r = Response.redirect('http://example.com/next', 301);
    assert.equal(r.status, 301);
    assert.equal(r.headers.get('location'), 'http://example.com/next');
  });

  test('FastResponse.parts exposes unread bodies only', () => {
    const lazy = Response.json({ a: 1 }, { status: 201 });
    const parts = FastResponse.parts(lazy);
    assert.equal(parts?.status, 201);
    assert.equal(parts?.body, '{"a":1}');
    assert.equal(parts?.contentType, 'application/json');
    void lazy.body; // materialized: the gateway must now use the standard API
    assert.equal(FastResponse.parts(lazy), undefined);
    assert.equal(FastResponse.parts(new NativeResponse('x')), undefined);
  });

  test('response headers behave like Headers: validation, case, iteration order, Set-Cookie', () => {
    const r = new Response('x', { headers: { 'X-B': '2', 'x-a': ' 1 ' } });
    const h = r.headers;
    assert.ok(h instanceof Headers);
    assert.equal(h.get('X-A'), '1', 'names are case-insensitive, values trimmed');
    h.append('set-cookie', 'a=1');
    h.append('Set-Cookie', 'b=2');
    h.append('x-b', '3');
    assert.deepEqual(h.getSetCookie(), ['a=1', 'b=2']);
    assert.deepEqual(
      [...h],
      [
        ['content-type', 'text/plain;charset=UTF-8'],
        ['set-cookie', 'a=1'],
        ['set-cookie', 'b=2'],
        ['x-a', '1'],
        ['x-b', '2, 3'],
      ],
    );
    const native = new NativeResponse('x', { headers: { 'X-B': '2', 'x-a': ' 1 ' } }).headers;
    native.append('set-cookie', 'a=1');
    native.append('Set-Cookie', 'b=2');
    native.append('x-b', '3');
    assert.deepEqual([...h], [...native], 'same entries as undici');
    for (const bad of [
      ['bad name', 'v'],
      ['x', 'a\r\nb'],
      ['x', 'a\u0000'],
      ['', 'v'],
    ] as const) {
      assert.throws(() => h.set(bad[0], bad[1]), TypeError, JSON.stringify(bad));
      assert.throws(() => native.set(bad[0], bad[1]), TypeError, `undici agrees on ${JSON.stringify(bad)}`);
    }
    h.delete('X-B');
    assert.equal(h.has('x-b'), false);
  });
});
