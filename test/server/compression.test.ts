import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { createReadStream, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Transform } from 'node:stream';
import { after, before, describe, test } from 'node:test';
import {
  brotliDecompressSync,
  createBrotliDecompress,
  createGunzip,
  createInflate,
  createZstdDecompress,
  gunzipSync,
  inflateSync,
  zstdDecompressSync,
} from 'node:zlib';
import express from 'express';
import { NativeResponse, openFile } from '../../src/gateway/index.ts';
import { Codecs } from '../../src/server/compression/codecs.ts';
import {
  COMPRESSION_DEFAULTS,
  type ContentCoding,
  resolveCompressionOptions,
  type StrataServer,
  serve,
  varyWithAcceptEncoding,
} from '../../src/server.ts';
import { getRaw as get, waitFor } from '../fixtures/http.ts';

const CODINGS: ContentCoding[] = ['zstd', 'br', 'gzip', 'deflate'];
const JSON_BODY = JSON.stringify(
  Array.from({ length: 120 }, (_, i) => ({
    id: i,
    name: `user-${i}`,
    email: `u${i}@example.com`,
    ok: i % 2 === 0,
  })),
);
const SMALL = JSON.stringify({ hello: 'world' });

function decode(coding: string | undefined, body: Buffer): string {
  switch (coding) {
    case 'zstd':
      return zstdDecompressSync(body).toString();
    case 'br':
      return brotliDecompressSync(body).toString();
    case 'gzip':
      return gunzipSync(body).toString();
    case 'deflate':
      return inflateSync(body).toString();
    case undefined:
      return body.toString();
    default:
      throw new Error(`unexpected coding ${coding}`);
  }
}

function decoder(coding: string): Transform {
  if (coding === 'zstd') return createZstdDecompress();
  if (coding === 'br') return createBrotliDecompress();
  if (coding === 'gzip') return createGunzip();
  return createInflate();
}

function textStream(chunks: string[]): ReadableStream<Uint8Array> {
  const encoder = new TextEncoder();
  return new ReadableStream({
    start(controller) {
      for (const c of chunks) controller.enqueue(encoder.encode(c));
      controller.close();
    },
  });
}

// The table runs on both transports: the lane compresses in its one write, node:http through its response.
for (const fastLane of [true, false]) {
  describe(`compression of fetch apps (fastLane: ${fastLane})`, () => {
    let server: StrataServer;
    let dir: string;
    let textFile: string;

    before(async () => {
      dir = mkdtempSync(join(tmpdir(), 'strata-compress-'));
      textFile = join(dir, 'page.txt');
      writeFileSync(textFile, 'a line of text that compresses well\n'.repeat(200));
      const json = { 'content-type': 'application/json' };
      let cached: Response | undefined;
      const routes: Record<string, (r: Request) => Response | Promise<Response>> = {
        '/json': () => new Response(JSON_BODY, { headers: json }),
        '/response-json': () => Response.json(JSON.parse(JSON_BODY)),
        '/bytes': () => new Response(new TextEncoder().encode(JSON_BODY), { headers: json }),
        '/native': () => new NativeResponse(JSON_BODY, { headers: json }),
        '/stream': () =>
          new Response(textStream([JSON_BODY.slice(0, 100), JSON_BODY.slice(100)]), { headers: json }),
        '/file': async () => new Response(await openFile(textFile, { type: 'text/plain' })),
        '/small': () => new Response(SMALL, { headers: json }),
        '/threshold': () => new Response('x'.repeat(1024), { headers: { 'content-type': 'text/plain' } }),
        '/under-threshold': () =>
          new Response('x'.repeat(1023), { headers: { 'content-type': 'text/plain' } }),
        '/etag': () => new Response(JSON_BODY, { headers: { ...json, etag: '"v1"' } }),
        '/weak-etag': () => new Response(JSON_BODY, { headers: { ...json, etag: 'W/"v1"' } }),
        '/vary-origin': () => new Response(JSON_BODY, { headers: { ...json, vary: 'Origin' } }),
        '/vary-has': () => new Response(JSON_BODY, { headers: { ...json, vary: 'origin, accept-encoding' } }),
        '/vary-star': () => new Response(JSON_BODY, { headers: { ...json, vary: '*' } }),
        '/ranges': () => new Response(JSON_BODY, { headers: { ...json, 'accept-ranges': 'bytes' } }),
        '/status-201': () => new Response(JSON_BODY, { status: 201, headers: json }),
        '/no-content': () => new Response(null, { status: 204 }),
        '/not-modified': () => new Response(null, { status: 304, headers: { etag: '"v1"' } }),
        '/partial': () =>
          new Response(JSON_BODY, { status: 206, headers: { ...json, 'content-range': `bytes 0-9/100` } }),
        '/encoded': () => new Response(JSON_BODY, { headers: { ...json, 'content-encoding': 'gzip' } }),
        '/no-transform': () =>
          new Response(JSON_BODY, { headers: { ...json, 'cache-control': 'public, No-Transform' } }),
        '/png': () => new Response(JSON_BODY, { headers: { 'content-type': 'image/png' } }),
        '/untyped': () => new Response(new TextEncoder().encode(JSON_BODY)),
        '/problem': () =>
          new Response(JSON_BODY, { headers: { 'content-type': 'application/problem+json' } }),
        // Headers shared by every response of a route: compressing one must not touch the others.
        '/shared-headers': () => {
          cached ??= new Response('', { headers: { 'content-type': 'application/json', etag: '"s"' } });
          return new Response(JSON_BODY, { headers: cached.headers });
        },
        // 600 UTF-16 units, 1,200 bytes: over the threshold in bytes only.
        '/unicode': () => new Response('é'.repeat(600), { headers: { 'content-type': 'text/plain' } }),
        '/unicode-big': () => new Response('é✓'.repeat(2000), { headers: { 'content-type': 'text/plain' } }),
        '/html': () => new Response(JSON_BODY, { headers: { 'content-type': 'Text/HTML; charset=utf-8' } }),
      };
      server = await serve(
        (r: Request) => {
          const route = routes[new URL(r.url).pathname];
          return route === undefined ? new Response('none', { status: 404 }) : route(r);
        },
        { port: 0, logger: false, fastLane, compression: true },
      );
    });
    after(async () => {
      await server.close();
      rmSync(dir, { recursive: true, force: true });
    });

    for (const path of ['/json', '/response-json', '/bytes', '/native', '/stream', '/file']) {
      for (const coding of CODINGS) {
        test(`${path} with Accept-Encoding: ${coding} decodes back to the exact body`, async () => {
          const reply = await get(`${server.url}${path}`, { 'accept-encoding': coding });
          assert.equal(reply.status, 200);
          assert.equal(reply.headers['content-encoding'], coding);
          assert.equal(reply.headers.vary, 'Accept-Encoding');
          const expected = path === '/file' ? 'a line of text that compresses well\n'.repeat(200) : JSON_BODY;
          assert.equal(decode(coding, reply.body), expected);
          assert.ok(reply.body.length < expected.length / 2, 'it is actually smaller');
          if (path === '/stream' || path === '/native' || path === '/file') {
            assert.equal(reply.headers['content-length'], undefined, 'a stream has no length to recompute');
            assert.equal(reply.headers['transfer-encoding'], 'chunked');
          } else assert.equal(reply.headers['content-length'], String(reply.body.length));
        });
      }
    }

    for (const coding of CODINGS) {
      test(`multi-byte text with ${coding}: the threshold counts bytes, the body decodes exactly`, async () => {
        const small = await get(`${server.url}/unicode`, { 'accept-encoding': coding });
        assert.equal(small.headers['content-encoding'], coding);
        assert.equal(decode(coding, small.body), 'é'.repeat(600));
        const big = await get(`${server.url}/unicode-big`, { 'accept-encoding': coding });
        assert.equal(decode(coding, big.body), 'é✓'.repeat(2000));
      });
    }

    test('a browser Accept-Encoding gets zstd (first in the default order)', async () => {
      const reply = await get(`${server.url}/json`, { 'accept-encoding': 'gzip, deflate, br, zstd' });
      assert.equal(reply.headers['content-encoding'], 'zstd');
    });

    test('a client that accepts no coding gets identity, with Vary and the original length', async () => {
      for (const accept of [undefined, '', 'identity', 'compress', 'gzip;q=0', 'gzip;q=bogus']) {
        const reply = await get(
          `${server.url}/json`,
          accept === undefined ? {} : { 'accept-encoding': accept },
        );
        assert.equal(reply.headers['content-encoding'], undefined, String(accept));
        assert.equal(reply.headers.vary, 'Accept-Encoding', String(accept));
        assert.equal(reply.headers['content-length'], String(Buffer.byteLength(JSON_BODY)));
        assert.equal(reply.body.toString(), JSON_BODY);
      }
    });

    test('identity;q=0 with nothing offered acceptable still gets identity (as nginx and Caddy)', async () => {
      const reply = await get(`${server.url}/json`, { 'accept-encoding': 'identity;q=0, compress' });
      assert.equal(reply.status, 200);
      assert.equal(reply.headers['content-encoding'], undefined);
      assert.equal(reply.body.toString(), JSON_BODY);
    });

    test('a body of exactly the threshold is compressed, one byte less is not', async () => {
      const at = await get(`${server.url}/threshold`, { 'accept-encoding': 'gzip' });
      assert.equal(at.headers['content-encoding'], 'gzip');
      const under = await get(`${server.url}/under-threshold`, { 'accept-encoding': 'gzip' });
      assert.equal(under.headers['content-encoding'], undefined);
      assert.equal(under.headers.vary, undefined, 'no client would get it compressed');
      assert.equal(under.body.toString(), 'x'.repeat(1023));
    });

    test('a strong ETag becomes weak when the body is compressed; a weak one stays as it is', async () => {
      const strong = await get(`${server.url}/etag`, { 'accept-encoding': 'br' });
      assert.equal(strong.headers.etag, 'W/"v1"');
      const identity = await get(`${server.url}/etag`);
      assert.equal(identity.headers.etag, '"v1"');
      const weak = await get(`${server.url}/weak-etag`, { 'accept-encoding': 'br' });
      assert.equal(weak.headers.etag, 'W/"v1"');
    });

    const varies: [string, string][] = [
      ['/vary-origin', 'Origin, Accept-Encoding'],
      ['/vary-has', 'origin, accept-encoding'],
      ['/vary-star', '*'],
    ];
    for (const [path, expected] of varies) {
      test(`Vary is merged, never duplicated: ${path} → ${expected}`, async () => {
        for (const accept of ['gzip', 'identity']) {
          const reply = await get(`${server.url}${path}`, { 'accept-encoding': accept });
          assert.equal(reply.headers.vary, expected);
        }
      });
    }

    test('Accept-Ranges is dropped from a compressed response (ranges would address other bytes)', async () => {
      const reply = await get(`${server.url}/ranges`, { 'accept-encoding': 'gzip' });
      assert.equal(reply.headers['accept-ranges'], undefined);
      const identity = await get(`${server.url}/ranges`);
      assert.equal(identity.headers['accept-ranges'], 'bytes');
    });

    test('other statuses are compressed too (201)', async () => {
      const created = await get(`${server.url}/status-201`, { 'accept-encoding': 'gzip' });
      assert.equal(created.status, 201);
      assert.equal(decode(created.headers['content-encoding'], created.body), JSON_BODY);
      assert.equal(created.headers['content-encoding'], 'gzip');
    });

    test('a HEAD request gets the header fields of the GET, and no body (RFC 9110 §9.3.2)', async () => {
      const reply = await get(`${server.url}/json`, { 'accept-encoding': 'gzip, br, zstd' }, 'HEAD');
      assert.equal(reply.headers['content-encoding'], 'zstd');
      assert.equal(reply.headers.vary, 'Accept-Encoding');
      assert.equal(reply.headers['content-length'], undefined, 'the compressed length is not known');
      assert.equal(reply.body.length, 0);
    });

    const skipped: [string, string, string][] = [
      ['a 204', '/no-content', 'GET'],
      ['a 304', '/not-modified', 'GET'],
      ['a 206', '/partial', 'GET'],
      ['a body under the threshold', '/small', 'GET'],
      ['a Content-Encoding already set', '/encoded', 'GET'],
      ['Cache-Control: no-transform (any case)', '/no-transform', 'GET'],
      ['a type that is not compressible', '/png', 'GET'],
      ['a body without a type', '/untyped', 'GET'],
    ];
    for (const [name, path, method] of skipped) {
      test(`skipped: ${name}`, async () => {
        const reply = await get(`${server.url}${path}`, { 'accept-encoding': 'gzip, br, zstd' }, method);
        const encoding = path === '/encoded' ? 'gzip' : undefined;
        assert.equal(reply.headers['content-encoding'], encoding);
        assert.equal(reply.headers.vary, undefined);
        if (method === 'GET' && reply.status !== 204 && reply.status !== 304) {
          const expected = path === '/small' ? SMALL : JSON_BODY;
          assert.equal(reply.body.toString(), expected);
        }
      });
    }

    test('structured-syntax suffixes and type case: application/problem+json, Text/HTML', async () => {
      for (const path of ['/problem', '/html']) {
        const reply = await get(`${server.url}${path}`, { 'accept-encoding': 'gzip' });
        assert.equal(reply.headers['content-encoding'], 'gzip', path);
      }
    });

    test('headers shared between responses are not edited in place', async () => {
      const compressed = await get(`${server.url}/shared-headers`, { 'accept-encoding': 'gzip' });
      assert.equal(compressed.headers['content-encoding'], 'gzip');
      assert.equal(compressed.headers.etag, 'W/"s"');
      const plain = await get(`${server.url}/shared-headers`);
      assert.equal(plain.headers['content-encoding'], undefined);
      assert.equal(plain.headers.etag, '"s"');
      assert.equal(plain.body.toString(), JSON_BODY);
    });

    test('keep-alive survives a compressed response: two requests on one connection', async () => {
      const socket = connect(server.port, '127.0.0.1');
      const received: Buffer[] = [];
      socket.on('data', (c: Buffer) => received.push(c));
      const req = `GET /json HTTP/1.1\r\nHost: h\r\nAccept-Encoding: gzip\r\n\r\n`;
      socket.write(req + req);
      await waitFor(() => Buffer.concat(received).toString('latin1').split('HTTP/1.1 200').length === 3);
      socket.destroy();
    });
  });
}

describe('the compression option', () => {
  const bad: [string, unknown, RegExp][] = [
    ['a negative threshold', { threshold: -1 }, /compression\.threshold must be a non-negative integer/],
    ['a fractional threshold', { threshold: 1.5 }, /compression\.threshold/],
    ['an unknown coding', { encodings: ['lzma'] }, /unknown coding "lzma"/],
    ['no coding', { encodings: [] }, /encodings must be a non-empty list/],
    ['a coding twice', { encodings: ['gzip', 'gzip'] }, /lists a coding twice/],
    ['a brotli level of 12', { levels: { br: 12 } }, /levels\.br must be an integer from 0 to 11/],
    ['a gzip level of 0', { levels: { gzip: 0 } }, /levels\.gzip must be an integer from 1 to 9/],
    ['a level for an unknown coding', { levels: { lzma: 1 } }, /levels: unknown coding "lzma"/],
    ['types that are not a list', { types: 'text/*' }, /types must be a list/],
    ['not an object', 'yes', /must be true or an options object/],
  ];
  for (const [name, options, message] of bad) {
    test(`${name} is refused naming the option`, () => {
      assert.throws(() => resolveCompressionOptions(options as never), message);
    });
  }

  test('a malformed type pattern is refused by serve() naming it', async () => {
    await assert.rejects(
      serve(() => new Response('x'), { port: 0, logger: false, compression: { types: ['text'] } }),
      /compression\.types: "text" is not a media type pattern/,
    );
  });

  test('true gives the defaults', () => {
    assert.deepEqual(resolveCompressionOptions(true), {
      threshold: COMPRESSION_DEFAULTS.threshold,
      encodings: [...COMPRESSION_DEFAULTS.encodings],
      levels: { ...COMPRESSION_DEFAULTS.levels },
      types: [...COMPRESSION_DEFAULTS.types],
      syncLimit: COMPRESSION_DEFAULTS.syncLimit,
      maxSize: COMPRESSION_DEFAULTS.maxSize,
    });
  });

  test('options: the order of encodings decides ties, levels and types apply, threshold 0', async () => {
    const server = await serve(
      (r: Request) =>
        new Response(new URL(r.url).pathname === '/csv' ? 'a,b\n1,2\n' : 'x'.repeat(5000), {
          headers: {
            'content-type': new URL(r.url).pathname === '/csv' ? 'text/csv' : 'application/x-custom',
          },
        }),
      {
        port: 0,
        logger: false,
        compression: {
          encodings: ['gzip', 'br'],
          levels: { gzip: 1 },
          types: ['application/x-custom'],
          threshold: 0,
        },
      },
    );
    try {
      const custom = await get(`${server.url}/`, { 'accept-encoding': 'zstd, br, gzip' });
      assert.equal(custom.headers['content-encoding'], 'gzip');
      assert.equal(decode('gzip', custom.body), 'x'.repeat(5000));
      const onlyZstd = await get(`${server.url}/`, { 'accept-encoding': 'zstd' });
      assert.equal(onlyZstd.headers['content-encoding'], undefined, 'zstd is not offered');
      const csv = await get(`${server.url}/csv`, { 'accept-encoding': 'gzip' });
      assert.equal(csv.headers['content-encoding'], undefined, 'text/* is not in this list');
    } finally {
      await server.close();
    }
  });

  test('off by default: nothing is compressed and no Vary is added', async () => {
    const server = await serve(
      () => new Response(JSON_BODY, { headers: { 'content-type': 'application/json' } }),
      {
        port: 0,
        logger: false,
      },
    );
    try {
      const reply = await get(`${server.url}/`, { 'accept-encoding': 'gzip, br, zstd' });
      assert.equal(reply.headers['content-encoding'], undefined);
      assert.equal(reply.headers.vary, undefined);
    } finally {
      await server.close();
    }
  });

  const varyCases: [string | undefined, string | undefined][] = [
    [undefined, 'Accept-Encoding'],
    ['', 'Accept-Encoding'],
    ['Origin', 'Origin, Accept-Encoding'],
    ['Origin,Accept-Encoding', undefined],
    ['ACCEPT-ENCODING', undefined],
    ['*', undefined],
    ['Origin, *', undefined],
    ['Accept-Encoding-X', 'Accept-Encoding-X, Accept-Encoding'],
  ];
  for (const [vary, expected] of varyCases) {
    test(`varyWithAcceptEncoding(${JSON.stringify(vary)}) → ${JSON.stringify(expected)}`, () => {
      assert.equal(varyWithAcceptEncoding(vary), expected);
    });
  }
});

/** Reads an HTTP/1.1 chunked response on a raw socket, and decodes its body as it arrives. */
class RawStreamClient {
  head = '';
  decoded = '';
  closed = false;
  socket;
  #raw = Buffer.alloc(0);
  #headDone = false;
  #decoder: Transform | undefined;

  /** Bytes received on the socket. */
  received = 0;

  /** `pauseAfter`: stop reading once that many bytes have arrived (until `socket.resume()`). */
  constructor(port: number, path: string, accept: string, pauseAfter = Number.POSITIVE_INFINITY) {
    this.socket = connect(port, '127.0.0.1');
    this.socket.on('data', (chunk: Buffer) => {
      this.received += chunk.length;
      if (this.received >= pauseAfter && pauseAfter !== -1) {
        this.socket.pause();
        pauseAfter = -1;
      }
      this.#onData(chunk);
    });
    this.socket.on('close', () => {
      this.closed = true;
    });
    this.socket.on('error', () => {});
    this.socket.write(
      `GET ${path} HTTP/1.1\r\nHost: h\r\nAccept-Encoding: ${accept}\r\nConnection: close\r\n\r\n`,
    );
  }

  header(name: string): string | undefined {
    const m = new RegExp(`^${name}: (.*)$`, 'im').exec(this.head);
    return m?.[1]?.trim();
  }

  #onData(chunk: Buffer): void {
    this.#raw = Buffer.concat([this.#raw, chunk]);
    if (!this.#headDone) {
      const end = this.#raw.indexOf('\r\n\r\n');
      if (end === -1) return;
      this.head = this.#raw.subarray(0, end).toString('latin1');
      this.#raw = this.#raw.subarray(end + 4);
      this.#headDone = true;
      const coding = this.header('content-encoding');
      if (coding !== undefined) {
        this.#decoder = decoder(coding);
        this.#decoder.on('data', (d: Buffer) => {
          this.decoded += d.toString();
        });
        this.#decoder.on('error', () => {});
      }
    }
    // De-chunk whatever whole chunks have arrived.
    for (;;) {
      const line = this.#raw.indexOf('\r\n');
      if (line === -1) return;
      const size = Number.parseInt(this.#raw.subarray(0, line).toString('latin1'), 16);
      if (this.#raw.length < line + 2 + size + 2) return;
      const data = this.#raw.subarray(line + 2, line + 2 + size);
      this.#raw = this.#raw.subarray(line + 2 + size + 2);
      if (size === 0) {
        this.#decoder?.end();
        return;
      }
      if (this.#decoder !== undefined) this.#decoder.write(data);
      else this.decoded += data.toString();
    }
  }
}

const EVENTS = 5;
const event = (i: number): string => `id: ${i}\ndata: ${JSON.stringify({ n: i, text: 'tick' })}\n\n`;

describe('streamed responses are compressed incrementally and flushed', () => {
  let server: StrataServer;
  // The client of the running test: each event is produced only once it has seen the one before.
  let client: RawStreamClient | undefined;
  let cancelled = 0;
  const created: Transform[] = [];
  const originalStream = Codecs.prototype.stream;

  before(async () => {
    Codecs.prototype.stream = function (this: Codecs, coding, flush) {
      const transform = originalStream.call(this, coding, flush);
      created.push(transform);
      return transform;
    };
    const app = express();
    app.get('/sse', (_req, res) => {
      res.setHeader('content-type', 'text/event-stream');
      res.setHeader('cache-control', 'no-cache');
      res.flushHeaders();
      let i = 0;
      const next = async (): Promise<void> => {
        if (i > 0) await waitFor(() => client!.decoded.includes(event(i - 1)), 4000, `event ${i - 1}`);
        if (i === EVENTS) {
          res.end();
          return;
        }
        res.write(event(i));
        i += 1;
        void next();
      };
      void next();
    });
    app.get('/endless', (_req, res) => {
      res.setHeader('content-type', 'text/plain');
      let n = 0;
      const tick = (): void => {
        if (res.destroyed || n >= 100_000) return;
        n += 1;
        res.write(`line ${n}\n`);
        setImmediate(tick);
      };
      tick();
    });
    const express_ = app as unknown as (req: IncomingMessage, res: ServerResponse) => void;
    server = await serve(
      (r: Request) => {
        const path = new URL(r.url).pathname;
        if (path === '/endless') {
          let n = 0;
          return new Response(
            new ReadableStream({
              pull(controller) {
                n += 1;
                if (n > 100_000) controller.close();
                else controller.enqueue(new TextEncoder().encode(`line ${n}\n`));
              },
              cancel() {
                cancelled += 1;
              },
            }),
            { headers: { 'content-type': 'text/plain' } },
          );
        }
        let i = 0;
        return new Response(
          new ReadableStream({
            async pull(controller) {
              if (i > 0) await waitFor(() => client!.decoded.includes(event(i - 1)), 4000, `event ${i - 1}`);
              if (i === EVENTS) {
                controller.close();
                return;
              }
              controller.enqueue(new TextEncoder().encode(event(i)));
              i += 1;
            },
          }),
          { headers: { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' } },
        );
      },
      { port: 0, logger: false, compression: true },
    );
    // The same server cannot host both kinds; Express gets its own.
    expressServer = await serve(express_, { port: 0, logger: false, compression: true });
  });
  let expressServer: StrataServer;
  after(async () => {
    Codecs.prototype.stream = originalStream;
    await server.close();
    await expressServer.close();
  });

  for (const kind of ['fetch', 'express'] as const) {
    for (const coding of CODINGS) {
      test(`SSE from a ${kind} app over ${coding}: event N decodes before event N+1 is produced`, {
        timeout: 10_000,
      }, async () => {
        const port = kind === 'fetch' ? server.port : expressServer.port;
        client = new RawStreamClient(port, '/sse', coding);
        const all = Array.from({ length: EVENTS }, (_, i) => event(i)).join('');
        await waitFor(() => client!.decoded === all, 8000, 'every event');
        assert.equal(client.header('content-encoding'), coding);
        assert.match(client.header('vary') ?? '', /Accept-Encoding/);
        assert.equal(client.header('content-length'), undefined);
        await waitFor(() => client!.closed, 2000, 'the end of the response');
      });
    }
  }

  for (const kind of ['fetch', 'express'] as const) {
    test(`a ${kind} client that leaves mid-stream frees the compressor; the server keeps serving`, {
      timeout: 10_000,
    }, async () => {
      const port = kind === 'fetch' ? server.port : expressServer.port;
      const before = created.length;
      const cancelledBefore = cancelled;
      const leaving = new RawStreamClient(port, '/endless', 'gzip');
      await waitFor(() => leaving.decoded.includes('line 3\n'), 4000, 'the first lines');
      assert.equal(leaving.header('content-encoding'), 'gzip');
      leaving.socket.destroy();
      await waitFor(
        () => created.length > before && created.slice(before).every((t) => t.destroyed),
        4000,
        'destroyed',
      );
      if (kind === 'fetch')
        await waitFor(() => cancelled > cancelledBefore, 4000, 'the app stream cancelled');
      // And the next client is served.
      client = new RawStreamClient(port, '/sse', 'br');
      const all = Array.from({ length: EVENTS }, (_, i) => event(i)).join('');
      await waitFor(() => client!.decoded === all, 8000, 'every event');
    });
  }
});

describe('hostile clients', () => {
  let server: StrataServer;
  let pulls = 0;
  const CHUNK = 64 * 1024;
  const TOTAL_CHUNKS = 320; // 20 MiB
  before(async () => {
    const noise = randomBytes(CHUNK);
    server = await serve(
      () =>
        new Response(
          new ReadableStream({
            pull(controller) {
              pulls += 1;
              if (pulls > TOTAL_CHUNKS) controller.close();
              else controller.enqueue(new Uint8Array(noise));
            },
          }),
          { headers: { 'content-type': 'text/plain' } },
        ),
      { port: 0, logger: false, compression: true },
    );
  });
  after(() => server.close());

  test('a client that stops reading stops the producer: compressed output is not buffered without bound', {
    timeout: 15_000,
  }, async () => {
    const socket = connect(server.port, '127.0.0.1');
    let received = 0;
    socket.on('data', (c: Buffer) => {
      received += c.length;
      if (received > CHUNK) socket.pause();
    });
    socket.write('GET / HTTP/1.1\r\nHost: h\r\nAccept-Encoding: gzip\r\n\r\n');
    // Wait until the producer settles (no pull for a while), then check how far it got.
    let last = -1;
    while (last !== pulls) {
      last = pulls;
      await new Promise((r) => setTimeout(r, 200));
    }
    socket.destroy();
    assert.ok(pulls < TOTAL_CHUNKS / 2, `the producer ran ahead to ${pulls} of ${TOTAL_CHUNKS} chunks`);
  });

  test('several Accept-Encoding fields are one list', async () => {
    const socket = connect(server.port, '127.0.0.1');
    let text = '';
    socket.on('data', (c: Buffer) => {
      text += c.toString('latin1');
    });
    pulls = TOTAL_CHUNKS - 1; // a short body this time
    socket.write(
      'GET / HTTP/1.1\r\nHost: h\r\nAccept-Encoding: identity;q=0.5\r\nAccept-Encoding: br\r\n\r\n',
    );
    await waitFor(() => text.includes('\r\n\r\n'));
    socket.destroy();
    assert.match(text, /content-encoding: br/i);
  });
});

describe('compression of node-style apps (Express)', () => {
  let server: StrataServer;
  let dir: string;
  let bigTextFile: string;
  // 1 MB of lines that differ (so that the compressed stream is large enough for backpressure).
  const bigText = Array.from({ length: 60_000 }, (_, i) => `line ${i} ${(i * 7919) % 104729}\n`).join('');
  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'strata-compress-node-'));
    bigTextFile = join(dir, 'big.txt');
    writeFileSync(bigTextFile, bigText);
    const app = express();
    app.get('/json', (_req, res) => {
      res.json(JSON.parse(JSON_BODY));
    });
    app.get('/small', (_req, res) => {
      res.json({ hello: 'world' });
    });
    app.get('/etag', (_req, res) => {
      res.set('etag', '"e1"').type('json').send(JSON_BODY);
    });
    app.get('/write-head', (_req, res) => {
      res.writeHead(200, { 'Content-Type': 'text/plain', Vary: 'Origin' });
      res.end(JSON_BODY);
    });
    app.get('/write-head-array', (_req, res) => {
      res.writeHead(200, 'Fine', ['Content-Type', 'text/plain', 'X-One', '1']);
      res.end(Buffer.from(JSON_BODY));
    });
    app.get('/pieces', (_req, res) => {
      res.type('text');
      res.write(JSON_BODY.slice(0, 1000));
      res.write(Buffer.from(JSON_BODY.slice(1000, 2000)), () => {});
      res.end(JSON_BODY.slice(2000), () => {});
    });
    app.get('/piped', (_req, res) => {
      res.type('text');
      createReadStream(bigTextFile).pipe(res);
    });
    app.get('/send-file', (_req, res) => {
      res.sendFile(bigTextFile, { headers: { 'content-type': 'text/plain' } });
    });
    app.get('/latin1', (_req, res) => {
      res.type('text');
      res.end('é'.repeat(2000), 'latin1');
    });
    app.get('/png', (_req, res) => {
      res.type('png').send(Buffer.from(JSON_BODY));
    });
    app.get('/no-transform', (_req, res) => {
      res.set('cache-control', 'no-transform').json(JSON.parse(JSON_BODY));
    });
    app.get('/not-modified', (_req, res) => {
      res.status(304).end();
    });
    app.get('/partial', (_req, res) => {
      res.status(206).set('content-range', 'bytes 0-9/100').type('text').send(JSON_BODY);
    });
    app.get('/encoded', (_req, res) => {
      res.set('content-encoding', 'br').type('json').send(JSON_BODY);
    });
    server = await serve(app as unknown as (req: IncomingMessage, res: ServerResponse) => void, {
      port: 0,
      logger: false,
      compression: true,
    });
  });
  after(async () => {
    await server.close();
    rmSync(dir, { recursive: true, force: true });
  });

  for (const path of ['/piped', '/send-file']) {
    for (const coding of ['gzip', 'br'] as const) {
      test(`${path}: a 1 MB file piped into res with ${coding} arrives whole`, {
        timeout: 10_000,
      }, async () => {
        const reply = await get(`${server.url}${path}`, { 'accept-encoding': coding });
        assert.equal(reply.headers['content-encoding'], coding);
        assert.equal(decode(coding, reply.body), bigText);
      });
    }
  }

  test('a client that stops reading a piped file and comes back gets all of it (no stall at drain)', {
    timeout: 15_000,
  }, async () => {
    const client = new RawStreamClient(server.port, '/piped', 'gzip', 16 * 1024);
    // Wait for the server to stall against the paused client, then read on.
    let last = -1;
    while (last !== client.received) {
      last = client.received;
      await new Promise((r) => setTimeout(r, 200));
    }
    assert.ok(client.decoded.length < bigText.length, 'the client had paused before the end');
    client.socket.resume();
    await waitFor(() => client.decoded === bigText, 10_000, 'the whole file');
    client.socket.destroy();
  });

  for (const coding of CODINGS) {
    test(`res.json() with ${coding}: one-shot, with the compressed Content-Length`, async () => {
      const reply = await get(`${server.url}/json`, { 'accept-encoding': coding });
      assert.equal(reply.headers['content-encoding'], coding);
      assert.equal(reply.headers['content-length'], String(reply.body.length));
      assert.equal(reply.headers.vary, 'Accept-Encoding');
      assert.equal(decode(coding, reply.body), JSON_BODY);
    });
  }

  test('identity clients get the body as is, with Vary', async () => {
    const reply = await get(`${server.url}/json`);
    assert.equal(reply.headers['content-encoding'], undefined);
    assert.equal(reply.headers.vary, 'Accept-Encoding');
    assert.equal(reply.headers['content-length'], String(Buffer.byteLength(JSON_BODY)));
    assert.equal(reply.body.toString(), JSON_BODY);
  });

  test('a small res.json() is sent as is, with its Content-Length', async () => {
    const reply = await get(`${server.url}/small`, { 'accept-encoding': 'gzip' });
    assert.equal(reply.headers['content-encoding'], undefined);
    assert.equal(reply.headers['content-length'], String(SMALL.length));
    assert.equal(reply.body.toString(), SMALL);
  });

  test("Express's strong ETag is made weak", async () => {
    const reply = await get(`${server.url}/etag`, { 'accept-encoding': 'gzip' });
    assert.equal(reply.headers.etag, 'W/"e1"');
  });

  test('writeHead(status, headers) then end(body): headers seen, Vary merged', async () => {
    const reply = await get(`${server.url}/write-head`, { 'accept-encoding': 'br' });
    assert.equal(reply.headers['content-encoding'], 'br');
    assert.equal(reply.headers.vary, 'Origin, Accept-Encoding');
    assert.equal(decode('br', reply.body), JSON_BODY);
  });

  test('writeHead(status, reason, flat header array) then end(buffer)', async () => {
    const reply = await get(`${server.url}/write-head-array`, { 'accept-encoding': 'zstd' });
    assert.equal(reply.headers['content-encoding'], 'zstd');
    assert.equal(reply.headers['x-one'], '1');
    assert.equal(decode('zstd', reply.body), JSON_BODY);
  });

  for (const coding of CODINGS) {
    test(`write(), write(), end(chunk) with ${coding} go through one stream`, async () => {
      const reply = await get(`${server.url}/pieces`, { 'accept-encoding': coding });
      assert.equal(reply.headers['content-encoding'], coding);
      assert.equal(reply.headers['content-length'], undefined);
      assert.equal(decode(coding, reply.body), JSON_BODY);
    });
  }

  test('end(string, "latin1") keeps the encoding', async () => {
    const reply = await get(`${server.url}/latin1`, { 'accept-encoding': 'gzip' });
    assert.equal(reply.headers['content-encoding'], 'gzip');
    assert.deepEqual(gunzipSync(reply.body), Buffer.from('é'.repeat(2000), 'latin1'));
  });

  test("HEAD (Express's send() ends it without a body) gets the GET's header fields", async () => {
    const getReply = await get(`${server.url}/json`, { 'accept-encoding': 'gzip' });
    const head = await get(`${server.url}/json`, { 'accept-encoding': 'gzip' }, 'HEAD');
    assert.equal(getReply.headers['content-encoding'], 'gzip');
    assert.equal(head.headers['content-encoding'], 'gzip');
    assert.equal(head.headers.vary, getReply.headers.vary);
    assert.equal(head.headers.etag, getReply.headers.etag);
    assert.equal(head.headers['content-length'], undefined, 'the compressed length is not known');
    assert.equal(head.body.length, 0);
  });

  const skipped: [string, string, string][] = [
    ['a type that is not compressible', '/png', 'GET'],
    ['Cache-Control: no-transform', '/no-transform', 'GET'],
    ['a 304', '/not-modified', 'GET'],
    ['a 206', '/partial', 'GET'],
    ['a Content-Encoding already set', '/encoded', 'GET'],
  ];
  for (const [name, path, method] of skipped) {
    test(`skipped: ${name}`, async () => {
      const reply = await get(`${server.url}${path}`, { 'accept-encoding': 'gzip' }, method);
      assert.equal(reply.headers['content-encoding'], path === '/encoded' ? 'br' : undefined);
      assert.equal(reply.headers.vary, undefined);
      if (method === 'GET' && reply.status === 200) assert.equal(reply.body.toString(), JSON_BODY);
    });
  }
});
