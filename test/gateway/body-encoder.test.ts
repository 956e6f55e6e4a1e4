import assert from 'node:assert/strict';
import { createServer, type OutgoingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Transform } from 'node:stream';
import { after, before, describe, test } from 'node:test';
import { installFastResponse } from '../../src/gateway/fast-response.ts';
import { type BodyEncoder, createNodeHandler, NativeResponse } from '../../src/gateway/index.ts';
import { bodyOf, headOf, raw } from '../fixtures/gateway/helpers.ts';

/** A toy encoder: upper-cases bodies, and records what it was called for. */
class UpperEncoder implements BodyEncoder {
  calls: string[] = [];
  encodeKnown(_req: unknown, status: number, headers: OutgoingHttpHeaders, body: string | Uint8Array) {
    this.calls.push(`known ${status}`);
    headers['x-encoded'] = 'known';
    return Buffer.from(Buffer.from(body).toString().toUpperCase());
  }
  encodeStream(_req: unknown, status: number, headers: OutgoingHttpHeaders, length: number, live: boolean) {
    this.calls.push(`stream ${status} ${length} ${live}`);
    headers['x-encoded'] = 'stream';
    delete headers['content-length'];
    return new Transform({
      transform(chunk: Buffer, _enc, done) {
        done(null, Buffer.from(chunk.toString().toUpperCase()));
      },
    });
  }
}

describe('the BodyEncoder hook of the Node adapter', () => {
  const encoder = new UpperEncoder();
  let restore: () => void;
  let port: number;
  const server = createServer();

  before(async () => {
    restore = installFastResponse();
    const routes: Record<string, () => Response> = {
      '/string': () => new Response('hello there'),
      '/bytes': () => new Response(new TextEncoder().encode('some bytes')),
      '/stream': () =>
        new Response(
          new ReadableStream({
            start(c) {
              c.enqueue(new TextEncoder().encode('chunk one, '));
              c.enqueue(new TextEncoder().encode('chunk two'));
              c.close();
            },
          }),
        ),
      '/native': () => new NativeResponse('native body'),
      '/empty-204': () => new Response(null, { status: 204 }),
      '/null': () => new Response(null),
    };
    server.on(
      'request',
      createNodeHandler(
        { fetch: (r) => routes[new URL(r.url).pathname]!() },
        {
          maxBodySize: 1024,
          secure: false,
          defaultHost: 'h',
          onError: (err) => {
            throw err;
          },
          waitUntil: () => {},
          encoder,
        },
      ),
    );
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    port = (server.address() as AddressInfo).port;
  });
  after(() => {
    restore();
    server.close();
  });

  test('a known body: the encoded bytes go out with their own Content-Length', async () => {
    for (const [path, body] of [
      ['/string', 'HELLO THERE'],
      ['/bytes', 'SOME BYTES'],
    ] as const) {
      const res = await raw(port, path);
      assert.match(headOf(res.text), /x-encoded: known/);
      assert.match(headOf(res.text), new RegExp(`content-length: ${body.length}`, 'i'));
      assert.equal(bodyOf(res.text), body);
    }
  });

  test('a stream: written through the transform, chunked, marked live', async () => {
    encoder.calls.length = 0;
    const res = await raw(port, '/stream');
    assert.match(headOf(res.text), /x-encoded: stream/);
    assert.match(headOf(res.text), /transfer-encoding: chunked/i);
    assert.match(bodyOf(res.text), /CHUNK ONE, /);
    assert.match(bodyOf(res.text), /CHUNK TWO/);
    assert.deepEqual(encoder.calls, ['stream 200 -1 true']);
  });

  test('a native response goes through the stream path', async () => {
    const res = await raw(port, '/native');
    assert.match(bodyOf(res.text), /NATIVE BODY/);
  });

  test('not called for HEAD, 204 or a null body', async () => {
    encoder.calls.length = 0;
    await raw(port, '/string', { method: 'HEAD' });
    await raw(port, '/empty-204');
    await raw(port, '/null');
    assert.deepEqual(encoder.calls, []);
  });
});
