/**
 * Compression that a client picks must not cost the server more than it bargained for:
 * - an idle compressed stream holds a small compressor (memory measured in a child process);
 * - a big known body is not compressed on the event loop (another request is answered first);
 * - HEAD gets the headers GET gets (RFC 9110 §9.3.2).
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { connect } from 'node:net';
import { describe, test } from 'node:test';
import { Worker } from 'node:worker_threads';
import { nodeHandler } from '../../src/gateway/index.ts';
import { ResponseCompressor } from '../../src/server/compression/compressor.ts';
import { resolveCompressionOptions } from '../../src/server/compression/options.ts';
import { serve } from '../../src/server.ts';
import { rawRequest } from '../fixtures/http.ts';

const CHILD = process.env.STRATA_COMPRESSION_MEMORY_CHILD;

/**
 * Child mode: a server whose responses are SSE streams that send one event and idle; N identity
 * streams, then N with each coding; prints the extra rss per stream of each, in KB.
 */
async function child(codings: string[]): Promise<void> {
  const N = 120;
  const server = await serve(
    () =>
      new Response(
        new ReadableStream({
          start(c) {
            c.enqueue(new TextEncoder().encode(`data: ${'x'.repeat(200)}\n\n`));
          },
        }),
        { headers: { 'content-type': 'text/event-stream' } },
      ),
    // 720 connections from 127.0.0.1 stay open: past the default per-address cap.
    { port: 0, logger: false, compression: true, maxConnectionsPerIp: 0 },
  );
  const open = async (accept: string) => {
    const sockets = [];
    for (let i = 0; i < N; i++) {
      const socket = connect(server.port, '127.0.0.1');
      sockets.push(
        new Promise<void>((ok) => {
          socket.once('data', () => ok());
          socket.write(`GET / HTTP/1.1\r\nHost: x\r\nAccept-Encoding: ${accept}\r\n\r\n`);
        }),
      );
    }
    await Promise.all(sockets);
  };
  const rss = async () => {
    await new Promise((r) => setTimeout(r, 100));
    globalThis.gc?.();
    return process.memoryUsage().rss;
  };
  await open('identity'); // every code path once
  await open(codings.join(', '));
  let before = await rss();
  await open('identity');
  let after = await rss();
  const out: Record<string, number> = { identity: (after - before) / N / 1024 };
  for (const coding of codings) {
    before = after;
    await open(coding);
    after = await rss();
    out[coding] = (after - before) / N / 1024;
  }
  process.stdout.write(`${JSON.stringify(out)}\n`);
  process.exit(0);
}

if (CHILD !== undefined) await child(CHILD.split(','));
else {
  describe('memory of idle compressed streams', () => {
    // Before: zstd ~800 KB, br ~535 KB, gzip ~226 KB of rss per idle stream (identity ~15 KB).
    const bounds: Record<string, number> = { zstd: 160, br: 160, gzip: 170 };
    test(`an idle compressed stream costs little more than an identity one: ${JSON.stringify(bounds)} KB`, async () => {
      const out = await new Promise<string>((ok, fail) =>
        execFile(
          process.execPath,
          ['--expose-gc', import.meta.filename],
          {
            env: { ...process.env, STRATA_COMPRESSION_MEMORY_CHILD: Object.keys(bounds).join(',') },
            timeout: 20_000,
          },
          (err, stdout) => (err ? fail(err) : ok(stdout)),
        ),
      );
      const kb = JSON.parse(out.trim().split('\n').at(-1)!) as Record<string, number>;
      for (const [coding, bound] of Object.entries(bounds))
        assert.ok(kb[coding]! - kb.identity! < bound, `${coding}: ${JSON.stringify(kb)} KB per stream`);
    });
  });

  // Both requests come from another thread, /small as soon as /big's handler runs, so that it
  // arrives while the loop compresses /big if it does so synchronously. A timer set by /big's
  // handler orders the two: a loop held by compression (~400 ms and more for 16 MB) runs the
  // expired timer before it reads /small; a free loop answers /small long before the timer.
  const BIG = (() => {
    const words = ['alpha', 'beta', 'gamma', 'delta', 'epsilon', 'zeta', 'eta', 'theta', 'iota', 'kappa'];
    let seed = 7;
    const parts: string[] = [];
    for (let n = 0; n < 16_000_000; ) {
      seed = (seed * 1103515245 + 12345) >>> 0;
      const w = `${words[seed % 10]}${seed % 997} `;
      parts.push(w);
      n += w.length;
    }
    return Buffer.from(parts.join(''));
  })();
  const TIMER_MS = 100;

  const CLIENT = `
    const { workerData, parentPort } = require('node:worker_threads');
    const net = require('node:net');
    const flag = new Int32Array(workerData.buffer);
    const big = net.connect(workerData.port, '127.0.0.1', () => {
      big.write('GET /big HTTP/1.1\\r\\nHost: x\\r\\nAccept-Encoding: gzip\\r\\nConnection: close\\r\\n\\r\\n');
      // The thread sleeps until /big's handler runs, then sends /small at once.
      Atomics.wait(flag, 0, 0, 10000);
      const small = net.connect(workerData.port, '127.0.0.1', () =>
        small.write('GET /small HTTP/1.1\\r\\nHost: x\\r\\nConnection: close\\r\\n\\r\\n'));
      small.resume();
      small.on('close', () => smallClosed());
    });
    let smallClosed;
    const smallDone = new Promise((ok) => { smallClosed = ok; });
    let head = '';
    let bytes = 0;
    big.on('data', (chunk) => {
      if (head.length < 400) head += chunk.toString('latin1', 0, Math.min(chunk.length, 400));
      bytes += chunk.length;
    });
    const bigDone = new Promise((ok) => big.on('close', ok));
    Promise.all([bigDone, smallDone]).then(() => {
      const m = /\\r\\ncontent-encoding: (\\S+)/i.exec(head.slice(0, head.indexOf('\\r\\n\\r\\n')));
      parentPort.postMessage({ encoding: m ? m[1] : undefined, bytes });
    });`;

  async function ordering(
    kind: 'fetch' | 'node',
    fastLane: boolean,
  ): Promise<{ order: string[]; encoding: string | undefined; bytes: number }> {
    const flag = new Int32Array(new SharedArrayBuffer(4));
    const order: string[] = [];
    const onBig = () => {
      setTimeout(() => order.push('timer'), TIMER_MS);
      Atomics.store(flag, 0, 1);
      Atomics.notify(flag, 0);
    };
    const compression = { maxSize: 64 * 1024 * 1024 };
    const server =
      kind === 'fetch'
        ? await serve(
            (request: Request) => {
              if (new URL(request.url).pathname === '/small') {
                order.push('small');
                return new Response('ok');
              }
              onBig();
              return new Response(BIG, { headers: { 'content-type': 'text/plain' } });
            },
            { port: 0, logger: false, compression, fastLane },
          )
        : await serve(
            nodeHandler((req: IncomingMessage, res: ServerResponse) => {
              if (req.url === '/small') {
                order.push('small');
                res.end('ok');
                return;
              }
              onBig();
              res.setHeader('content-type', 'text/plain');
              res.end(BIG);
            }),
            { port: 0, logger: false, compression },
          );
    try {
      const worker = new Worker(CLIENT, {
        eval: true,
        workerData: { buffer: flag.buffer, port: server.port },
      });
      const result = await new Promise<{ encoding: string | undefined; bytes: number }>((ok, fail) => {
        worker.once('message', ok);
        worker.once('error', fail);
      });
      await worker.terminate();
      while (order.length < 2) await new Promise((r) => setTimeout(r, 20));
      return { order, ...result };
    } finally {
      await server.close();
    }
  }

  describe('a big known body does not hold the event loop', () => {
    for (const fastLane of [true, false]) {
      test(`fetch app (fastLane: ${fastLane}): another request is answered before a timer the big one set`, async () => {
        const { order, encoding, bytes } = await ordering('fetch', fastLane);
        assert.deepEqual(order, ['small', 'timer']);
        // Over syncLimit, a fetch app's known body is compressed off the loop too
        // (compression-known.test.ts has the rest).
        assert.equal(encoding, 'gzip');
        assert.ok(bytes < BIG.length);
      });
    }
    test('node-style app: res.end(big) is compressed off the loop, and arrives whole', async () => {
      const { order, encoding } = await ordering('node', false);
      assert.deepEqual(order, ['small', 'timer']);
      assert.equal(encoding, 'gzip');
    });
  });

  describe('HEAD gets the headers GET gets', () => {
    const headOf = (text: string) => {
      const head = text.slice(0, text.indexOf('\r\n\r\n')).toLowerCase();
      const pick = (name: string) => new RegExp(`\\r\\n${name}: ([^\\r]*)`).exec(head)?.[1];
      return {
        vary: pick('vary'),
        encoding: pick('content-encoding'),
        etag: pick('etag'),
        ranges: pick('accept-ranges'),
      };
    };
    const nodeApp = nodeHandler((req: IncomingMessage, res: ServerResponse) => {
      res.setHeader('content-type', 'application/json');
      res.setHeader('etag', '"v1"');
      res.setHeader('accept-ranges', 'bytes');
      if (req.url === '/small') res.end('{"a":1}');
      else if (req.url === '/ends-head-empty') {
        // As Express's send() does: the length set, and HEAD ended without the body.
        const body = JSON.stringify({ items: Array.from({ length: 200 }, (_, i) => ({ i })) });
        res.setHeader('content-length', Buffer.byteLength(body));
        res.end(req.method === 'HEAD' ? undefined : body);
      } else if (req.url === '/stream') {
        res.write('['.repeat(10));
        res.end(']'.repeat(10));
      } else res.end(JSON.stringify({ items: Array.from({ length: 200 }, (_, i) => ({ i })) }));
    });
    for (const path of ['/', '/small', '/stream', '/ends-head-empty']) {
      for (const accept of ['gzip', 'br', 'identity']) {
        test(`node-style app ${path}, Accept-Encoding: ${accept}`, async () => {
          const server = await serve(nodeApp, { port: 0, logger: false, compression: true });
          try {
            const ask = (method: string) =>
              rawRequest(
                server.port,
                `${method} ${path} HTTP/1.1\r\nHost: x\r\nAccept-Encoding: ${accept}\r\nConnection: close\r\n\r\n`,
              );
            const get = headOf((await ask('GET')).text);
            const head = await ask('HEAD');
            assert.deepEqual(headOf(head.text), get);
            assert.ok(!/\r\ncontent-length: /i.test(head.text) || get.encoding === undefined);
            assert.equal(head.text.slice(head.text.indexOf('\r\n\r\n') + 4), '');
          } finally {
            await server.close();
          }
        });
      }
    }

    test('encodeHead edits a HEAD head as encodeKnown edits the GET one (the hook for the gateway)', () => {
      const compressor = new ResponseCompressor(resolveCompressionOptions(true));
      const body = JSON.stringify({ items: Array.from({ length: 200 }, (_, i) => ({ i })) });
      for (const accept of ['gzip', 'zstd', 'identity', undefined]) {
        const req = (method: string) =>
          ({ method, rawHeaders: accept === undefined ? [] : ['Accept-Encoding', accept] }) as never;
        const get = { 'content-type': 'application/json', etag: '"v1"', 'accept-ranges': 'bytes' };
        const head = { ...get };
        compressor.encodeKnown(req('GET'), 200, get, body);
        compressor.encodeHead(req('HEAD'), 200, head, Buffer.byteLength(body), false);
        assert.deepEqual(head, get);
      }
    });
  });
}
