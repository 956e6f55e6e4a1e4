/**
 * A fetch app's known body (a string or bytes, what `c.json(big)` returns) is compressed at any
 * size up to `maxSize`, on both transports (the HTTP/1.1 fast lane and node's path):
 * - up to `syncLimit`, in one synchronous call, the head and body written at once (the lane
 *   writes it itself, no node ServerResponse);
 * - above it, off the event loop (another request is answered meanwhile), then sent with its
 *   Content-Length — the same bytes a synchronous call makes;
 * - HEAD gets the header fields GET gets (RFC 9110 §9.3.2), Content-Length aside where a coding is
 *   named.
 */
import assert from 'node:assert/strict';
import { type IncomingHttpHeaders, ServerResponse } from 'node:http';
import { connect } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { Worker } from 'node:worker_threads';
import {
  brotliCompressSync,
  brotliDecompressSync,
  constants,
  gunzipSync,
  gzipSync,
  zstdCompressSync,
  zstdDecompressSync,
} from 'node:zlib';
import { serve } from '../../src/server.ts';
import { Rng } from '../fixtures/fuzz.ts';
import { getRaw } from '../fixtures/http.ts';

/** JSON of about `bytes` bytes (compresses ~6:1, as API data does), the same for a given seed. */
function json(bytes: number, seed: number): string {
  const rng = new Rng(seed);
  const words = ['alpha', 'beta', 'gamma', 'delta', 'epsilon', 'zeta', 'eta', 'theta', 'iota', 'kappa'];
  const items: string[] = [];
  for (let n = 0; n < bytes; ) {
    const item = `{"id":${rng.int(0, 99_999)},"name":"${rng.pick(words)}","tag":"${rng.pick(words)}${rng.int(0, 96)}"}`;
    items.push(item);
    n += item.length + 1;
  }
  return `[${items.join(',')}]`;
}

const BIG = json(1_000_000, 1); // 1 MB: over syncLimit (128 KiB), under maxSize (8 MiB)
const MID = json(100_000, 2); // under syncLimit
const decode: Record<string, (b: Buffer) => Buffer> = {
  gzip: gunzipSync,
  br: brotliDecompressSync,
  zstd: zstdDecompressSync,
};
// What one synchronous call makes at the default levels (Codecs.compress).
const syncCompressors: Record<string, (s: string) => Buffer> = {
  gzip: (s) => gzipSync(s, { level: 6 }),
  br: (s) => brotliCompressSync(s, { params: { [constants.BROTLI_PARAM_QUALITY]: 4 } }),
  zstd: (s) =>
    zstdCompressSync(s, {
      pledgedSrcSize: Buffer.byteLength(s),
      params: { [constants.ZSTD_c_compressionLevel]: 3 },
    }),
};
const made = new Map<string, Buffer>();
function syncCompress(coding: string, body: string): Buffer {
  const key = `${coding}:${body.length}`;
  let out = made.get(key);
  if (out === undefined) {
    out = syncCompressors[coding]!(body);
    made.set(key, out);
  }
  return out;
}

/** Counts node ServerResponses written (the lane writes its own responses without one). */
function countNodeResponses(): { count: () => number; restore: () => void } {
  const original = ServerResponse.prototype.writeHead;
  let n = 0;
  ServerResponse.prototype.writeHead = function (this: ServerResponse, ...args: unknown[]) {
    n += 1;
    return (original as (...a: unknown[]) => ServerResponse).apply(this, args);
  } as typeof original;
  const restore = (): void => {
    ServerResponse.prototype.writeHead = original;
  };
  return { count: () => n, restore };
}

for (const fastLane of [true, false]) {
  describe(`a fetch app's known body (fastLane: ${fastLane})`, () => {
    let server: Awaited<ReturnType<typeof serve>>;
    let base: string;
    before(async () => {
      server = await serve(
        (request: Request) => {
          const path = new URL(request.url).pathname;
          const etag = { etag: '"v1"', 'accept-ranges': 'bytes' };
          if (path === '/big') return Response.json(JSON.parse(BIG), { headers: etag });
          if (path === '/big-bytes')
            return new Response(new TextEncoder().encode(BIG), {
              headers: { 'content-type': 'application/json', ...etag },
            });
          // No init: a response the lane writes itself (it hands plain-object headers to node).
          if (path === '/mid') return Response.json(JSON.parse(MID));
          if (path === '/small') return Response.json({ a: 1 }, { headers: etag });
          if (path === '/stream')
            return new Response(
              new ReadableStream({
                start(c) {
                  c.enqueue(new TextEncoder().encode(MID));
                  c.close();
                },
              }),
              { headers: { 'content-type': 'application/json', ...etag } },
            );
          if (path === '/image')
            return new Response(new Uint8Array(200_000), { headers: { 'content-type': 'image/png' } });
          return new Response('not found', { status: 404 });
        },
        { port: 0, logger: false, compression: true, fastLane },
      );
      base = `http://127.0.0.1:${server.port}`;
    });
    after(() => server.close());

    for (const coding of ['gzip', 'br', 'zstd']) {
      for (const path of ['/big', '/big-bytes']) {
        test(`${path} (1 MB), Accept-Encoding: ${coding}: compressed, with its Content-Length`, async () => {
          const { status, headers, body } = await getRaw(`${base}${path}`, { 'accept-encoding': coding });
          assert.equal(status, 200);
          assert.equal(headers['content-encoding'], coding);
          assert.equal(headers.vary, 'Accept-Encoding');
          assert.equal(headers.etag, 'W/"v1"');
          assert.equal(headers['accept-ranges'], undefined);
          assert.equal(headers['transfer-encoding'], undefined);
          assert.equal(Number(headers['content-length']), body.length);
          assert.ok(body.length < BIG.length / 4, `${body.length} bytes`);
          assert.equal(decode[coding]!(body).toString(), BIG);
          // Off the loop, the same bytes as one synchronous call.
          assert.ok(body.equals(syncCompress(coding, BIG)));
        });
      }
      test(`/mid (100 KB, under syncLimit), Accept-Encoding: ${coding}: one synchronous call, as before`, async () => {
        const spy = countNodeResponses();
        try {
          const { headers, body } = await getRaw(`${base}/mid`, { 'accept-encoding': coding });
          assert.equal(headers['content-encoding'], coding);
          assert.equal(Number(headers['content-length']), body.length);
          assert.ok(body.equals(syncCompress(coding, MID)));
          // The lane writes it itself (one write of head and body); node's path uses a ServerResponse.
          assert.equal(spy.count(), fastLane ? 0 : 1);
        } finally {
          spy.restore();
        }
      });
    }

    test('a big body that is not compressible is sent as it is', async () => {
      const { headers, body } = await getRaw(`${base}/image`, { 'accept-encoding': 'gzip' });
      assert.equal(headers['content-encoding'], undefined);
      assert.equal(body.length, 200_000);
    });

    test('a client that leaves while its body is compressed does not stop the server', async () => {
      const sockets = Array.from({ length: 8 }, () => {
        const socket = connect(server.port, '127.0.0.1');
        socket.write('GET /big HTTP/1.1\r\nHost: x\r\nAccept-Encoding: br\r\n\r\n');
        socket.on('error', () => {});
        return socket;
      });
      await new Promise((r) => setTimeout(r, 5));
      for (const socket of sockets) socket.destroy();
      const { headers, body } = await getRaw(`${base}/big`, { 'accept-encoding': 'gzip' });
      assert.equal(headers['content-encoding'], 'gzip');
      assert.equal(gunzipSync(body).toString(), BIG);
    });

    describe('HEAD gets the header fields GET gets', () => {
      // Framing fields aside: a HEAD response has no body to frame (node sends no
      // Transfer-Encoding for it), and RFC 9110 §9.3.2 lets Content-Length differ.
      const fields = (headers: IncomingHttpHeaders) => {
        const out: Record<string, unknown> = { ...headers };
        for (const name of ['date', 'content-length', 'transfer-encoding']) delete out[name];
        return out;
      };
      for (const path of ['/big', '/big-bytes', '/mid', '/small', '/stream', '/image']) {
        for (const accept of ['gzip', 'br', 'zstd', 'identity']) {
          test(`${path}, Accept-Encoding: ${accept}`, async () => {
            const get = await getRaw(`${base}${path}`, { 'accept-encoding': accept });
            const head = await getRaw(`${base}${path}`, { 'accept-encoding': accept }, 'HEAD');
            assert.equal(head.status, get.status);
            assert.deepEqual(fields(head.headers), fields(get.headers));
            assert.equal(head.body.length, 0);
            if (get.headers['content-encoding'] === undefined)
              assert.equal(head.headers['content-length'], get.headers['content-length']);
            else assert.equal(head.headers['content-length'], undefined);
          });
        }
      }
    });
  });
}

// Both requests come from another thread, /small as soon as /big's handler runs, so that it
// arrives while the loop compresses /big if it does so synchronously. A timer set by /big's
// handler orders the two: a loop held by compression (~500 ms for 2 MB at gzip 9) runs the
// expired timer before it reads /small; a free loop answers /small long before the timer.
// (The technique of compression.test.ts, here on a string body: level 9 makes the compression
// long beside what the loop must still do with a string — make its bytes, ~1–5 ms per MB.)
const HUGE = json(2_000_000, 3);
const TIMER_MS = 100;
const CLIENT = `
  const { workerData, parentPort } = require('node:worker_threads');
  const net = require('node:net');
  const flag = new Int32Array(workerData.buffer);
  const big = net.connect(workerData.port, '127.0.0.1', () => {
    big.write('GET /big HTTP/1.1\\r\\nHost: x\\r\\nAccept-Encoding: gzip\\r\\nConnection: close\\r\\n\\r\\n');
    Atomics.wait(flag, 0, 0, 10000);
    const small = net.connect(workerData.port, '127.0.0.1', () =>
      small.write('GET /small HTTP/1.1\\r\\nHost: x\\r\\nConnection: close\\r\\n\\r\\n'));
    small.resume();
    small.on('close', () => smallClosed());
  });
  let smallClosed;
  const smallDone = new Promise((ok) => { smallClosed = ok; });
  const chunks = [];
  big.on('data', (chunk) => chunks.push(chunk));
  const bigDone = new Promise((ok) => big.on('close', ok));
  Promise.all([bigDone, smallDone]).then(() => {
    const all = Buffer.concat(chunks);
    const end = all.indexOf('\\r\\n\\r\\n');
    parentPort.postMessage({ head: all.toString('latin1', 0, end), body: all.subarray(end + 4) });
  });`;

async function ordering(fastLane: boolean, syncLimit = 131_072) {
  const flag = new Int32Array(new SharedArrayBuffer(4));
  const order: string[] = [];
  const server = await serve(
    (request: Request) => {
      if (new URL(request.url).pathname === '/small') {
        order.push('small');
        return new Response('ok');
      }
      setTimeout(() => order.push('timer'), TIMER_MS);
      Atomics.store(flag, 0, 1);
      Atomics.notify(flag, 0);
      return new Response(HUGE, { headers: { 'content-type': 'application/json' } });
    },
    { port: 0, logger: false, compression: { levels: { gzip: 9 }, syncLimit }, fastLane },
  );
  try {
    const worker = new Worker(CLIENT, { eval: true, workerData: { buffer: flag.buffer, port: server.port } });
    const result = await new Promise<{ head: string; body: Uint8Array }>((ok, fail) => {
      worker.once('message', ok);
      worker.once('error', fail);
    });
    await worker.terminate();
    for (let i = 0; order.length < 2 && i < 100; i++) await new Promise((r) => setTimeout(r, 20));
    return { order, ...result };
  } finally {
    await server.close();
  }
}

describe('a big known body of a fetch app is compressed off the event loop', () => {
  for (const fastLane of [true, false]) {
    test(`fastLane: ${fastLane}: another request is answered before a timer the big one set`, async () => {
      const { order, head, body } = await ordering(fastLane);
      assert.deepEqual(order, ['small', 'timer']);
      assert.match(head, /\r\ncontent-encoding: gzip\r\n/i);
      assert.match(head, new RegExp(`\\r\\ncontent-length: ${body.length}\\r\\n`, 'i'));
      assert.equal(gunzipSync(body).toString(), HUGE);
    });
  }
  test('the technique sees a held loop: with syncLimit above the body, the timer comes first', async () => {
    const { order, head } = await ordering(false, 64 * 1024 * 1024);
    assert.match(head, /\r\ncontent-encoding: gzip\r\n/i);
    assert.deepEqual(order, ['timer', 'small']);
  });
});
