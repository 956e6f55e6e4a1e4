/**
 * Multipart uploads to disk over a real server: hostile uploads (over a limit, chunked past the
 * limit, abandoned mid-way) are answered at once and leave no descriptor and no file behind, and
 * uploads of a request that ends before its handler owns them are deleted.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { rename } from 'node:fs/promises';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { z } from 'zod';
import {
  App,
  BODY_DEFAULTS,
  type BodyLimits,
  type FormBody,
  HttpError,
  keepUpload,
  parseBody,
  type UploadedFile,
  validate,
} from '../../src/app/index.ts';
import { type StrataServer, serve } from '../../src/server.ts';
import { rawRequest, waitFor } from '../fixtures/http.ts';

const KiB = 1024;
const BOUNDARY = 'strata-test-boundary';
const REQUEST_TIMEOUT = 3000;

interface Part {
  name: string;
  filename?: string;
  content: string | Buffer;
}

function multipart(parts: Part[], closing = true): Buffer {
  const chunks: Buffer[] = [];
  for (const part of parts) {
    const disposition =
      part.filename === undefined
        ? `form-data; name="${part.name}"`
        : `form-data; name="${part.name}"; filename="${part.filename}"\r\nContent-Type: application/octet-stream`;
    chunks.push(Buffer.from(`--${BOUNDARY}\r\nContent-Disposition: ${disposition}\r\n\r\n`));
    chunks.push(Buffer.isBuffer(part.content) ? part.content : Buffer.from(part.content));
    chunks.push(Buffer.from('\r\n'));
  }
  if (closing) chunks.push(Buffer.from(`--${BOUNDARY}--\r\n`));
  return Buffer.concat(chunks);
}

function head(path: string, length: number | 'chunked'): string {
  const framing = length === 'chunked' ? 'Transfer-Encoding: chunked' : `Content-Length: ${length}`;
  return `POST ${path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Type: multipart/form-data; boundary=${BOUNDARY}\r\n${framing}\r\n\r\n`;
}

function chunked(body: Buffer, size = 16 * KiB): Buffer {
  const out: Buffer[] = [];
  for (let i = 0; i < body.length; i += size) {
    const piece = body.subarray(i, i + size);
    out.push(Buffer.from(`${piece.length.toString(16)}\r\n`), piece, Buffer.from('\r\n'));
  }
  out.push(Buffer.from('0\r\n\r\n'));
  return Buffer.concat(out);
}

const openFds = (): number => readdirSync('/proc/self/fd').length;

/** Runs `count` requests `width` at a time. */
async function batches<T>(count: number, width: number, one: (i: number) => Promise<T>): Promise<T[]> {
  const out: T[] = [];
  for (let i = 0; i < count; i += width) {
    out.push(
      ...(await Promise.all(Array.from({ length: Math.min(width, count - i) }, (_, j) => one(i + j)))),
    );
  }
  return out;
}

/** Sends the head and part of the body, waits until the upload has started, then vanishes. */
function abandon(port: number, path: string, dir: string, body: Buffer): Promise<void> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    socket.on('error', () => {});
    const deadline = setTimeout(() => {
      socket.destroy();
      resolve();
    }, REQUEST_TIMEOUT);
    socket.on('connect', async () => {
      socket.write(head(path, body.length + 100 * KiB));
      socket.write(body);
      // Wait until the server has a file open for it (bounded), then cut the connection.
      const start = Date.now();
      while (readdirSync(dir).length === 0 && Date.now() - start < 500)
        await new Promise((r) => setTimeout(r, 5));
      clearTimeout(deadline);
      socket.destroy();
      resolve();
    });
  });
}

// On both transports: the fast lane and node:http alone.
for (const fastLane of [true, false]) {
  describe(`multipart over a real server (fastLane: ${fastLane})`, () => {
    describe('multipart to disk over a real server: hostile uploads', () => {
      const dir = mkdtempSync(join(tmpdir(), 'strata-mp-sec-'));
      const limits: BodyLimits = {
        ...BODY_DEFAULTS,
        storage: 'disk',
        uploadDir: dir,
        fileSize: 64 * KiB,
        multipart: 256 * KiB,
      };
      const wide: BodyLimits = { ...limits, fileSize: 4096 * KiB };
      let server: StrataServer;
      let handled = 0;

      before(async () => {
        const app = new App({ log: false });
        app.post('/small', async (c) => {
          await parseBody(c.req, limits);
          handled += 1;
          return c.json({ ok: true });
        });
        app.post('/wide', async (c) => {
          await parseBody(c.req, wide);
          handled += 1;
          return c.json({ ok: true });
        });
        server = await serve(app, { port: 0, logger: false, fastLane, shutdownTimeout: 500 });
        // Warm up: the first request opens what the process keeps open (sockets' epoll, threads).
        const warm = multipart([{ name: 'f', filename: 'f.bin', content: Buffer.alloc(KiB) }]);
        assert.equal(
          (await rawRequest(server.port, Buffer.concat([Buffer.from(head('/small', warm.length)), warm])))
            .status,
          200,
        );
        await new Promise((r) => setTimeout(r, 50));
        for (const f of readdirSync(dir)) rmSync(join(dir, f));
      });
      after(async () => {
        await server.close();
        rmSync(dir, { recursive: true, force: true });
      });

      async function assertNoLeak(fdsBefore: number, what: string): Promise<void> {
        await waitFor(() => readdirSync(dir).length === 0, 3000, `no file left after ${what}`).catch(() => {
          assert.deepEqual(readdirSync(dir), [], `files left in the upload dir after ${what}`);
        });
        await waitFor(() => openFds() <= fdsBefore + 2, 3000, 'descriptors closed').catch(() => {
          assert.ok(openFds() <= fdsBefore + 2, `${openFds() - fdsBefore} descriptors more after ${what}`);
        });
      }

      const kinds: [string, () => Promise<number>][] = [
        [
          'a file over fileSize (Content-Length)',
          async () => {
            const body = multipart([{ name: 'f', filename: 'big.bin', content: Buffer.alloc(128 * KiB, 1) }]);
            const res = await rawRequest(
              server.port,
              Buffer.concat([Buffer.from(head('/small', body.length)), body]),
              {
                timeoutMs: REQUEST_TIMEOUT,
              },
            );
            return res.status;
          },
        ],
        [
          'a chunked body over the multipart limit',
          async () => {
            const body = multipart([{ name: 'f', filename: 'big.bin', content: Buffer.alloc(512 * KiB, 2) }]);
            const res = await rawRequest(
              server.port,
              Buffer.concat([Buffer.from(head('/wide', 'chunked')), chunked(body)]),
              {
                timeoutMs: REQUEST_TIMEOUT,
              },
            );
            return res.status;
          },
        ],
      ];
      for (const [name, send] of kinds) {
        test(`${name}: 413 at once, then 50 more leave no descriptor and no file`, async () => {
          const fds = openFds();
          const before = handled;
          // One first, alone: on a server that hangs, this fails after one timeout.
          const first = await send();
          assert.equal(first, 413, 'answered 413 (0 means no answer within the timeout)');
          const statuses = await batches(50, 10, () => send());
          assert.deepEqual(
            statuses.filter((s) => s !== 413),
            [],
            'every request answered 413',
          );
          assert.equal(handled, before, 'no handler ran');
          await assertNoLeak(fds, name);
        });
      }

      test('clients that vanish mid-upload: 50 leave no descriptor and no file', async () => {
        const fds = openFds();
        const partial = multipart(
          [{ name: 'f', filename: 'part.bin', content: Buffer.alloc(40 * KiB, 3) }],
          false,
        );
        // One first, alone.
        await abandon(server.port, '/wide', dir, partial);
        await assertNoLeak(fds, 'one abandoned upload');
        await batches(50, 10, () => abandon(server.port, '/wide', dir, partial));
        await assertNoLeak(fds, '50 abandoned uploads');
        // And the server still answers.
        const ok = multipart([{ name: 'f', filename: 'f.bin', content: 'fine' }]);
        assert.equal(
          (await rawRequest(server.port, Buffer.concat([Buffer.from(head('/small', ok.length)), ok]))).status,
          200,
        );
      });
    });

    describe('multipart in memory (the default) over a real server: a body cut mid-file', () => {
      let server: StrataServer;
      before(async () => {
        const app = new App({ log: false });
        app.post('/small', async (c) =>
          c.json({ fields: Object.keys((await parseBody(c.req)) as FormBody) }),
        );
        server = await serve(app, { port: 0, logger: false, fastLane, shutdownTimeout: 500 });
      });
      after(() => server.close());

      // A complete HTTP body holding an incomplete multipart body: busboy reports the cut part with
      // an 'error' event on the file stream, which without a listener is an uncaught exception.
      const cuts: [string, (body: Buffer) => Buffer][] = [
        ['Content-Length', (body) => Buffer.concat([Buffer.from(head('/small', body.length)), body])],
        ['chunked', (body) => Buffer.concat([Buffer.from(head('/small', 'chunked')), chunked(body)])],
      ];
      for (const [framing, frame] of cuts) {
        test(`${framing}: 400, and the process and server live on`, async () => {
          const uncaught: unknown[] = [];
          const onUncaught = (err: unknown): void => {
            uncaught.push(err);
          };
          process.on('uncaughtException', onUncaught);
          const whole = multipart([{ name: 'f', filename: 'a.bin', content: Buffer.alloc(20 * KiB, 5) }]);
          for (const cut of [200, 10 * KiB, whole.length - 10]) {
            const res = await rawRequest(server.port, frame(whole.subarray(0, cut)), {
              timeoutMs: REQUEST_TIMEOUT,
            });
            assert.equal(res.status, 400, `cut at ${cut}`);
          }
          const res = await rawRequest(server.port, frame(whole), { timeoutMs: REQUEST_TIMEOUT });
          assert.equal(res.status, 200);
          await new Promise((r) => setTimeout(r, 20));
          process.off('uncaughtException', onUncaught);
          assert.deepEqual(
            uncaught.map(String),
            [],
            'an uncaught exception (a crash outside the test runner)',
          );
        });
      }
    });

    describe('uploads belong to the request until its handler keeps them', () => {
      const dir = mkdtempSync(join(tmpdir(), 'strata-mp-own-'));
      const keepDir = mkdtempSync(join(tmpdir(), 'strata-mp-kept-'));
      const limits: Partial<BodyLimits> = { storage: 'disk', uploadDir: dir };
      const Upload = z.object({ name: z.string().min(3), doc: z.any() });
      let server: StrataServer;
      let seen: { path: string; content: string } | undefined;
      let keptPath: string | undefined;

      before(async () => {
        const app = new App({ log: false });
        app.post('/validated', validate({ body: Upload }, { limits }), (c) => c.json({ ok: true }));
        app.post(
          '/early',
          validate({ body: Upload }, { limits }),
          () => new Response('refused by a middleware after the parse', { status: 403 }),
          (c) => c.json({ never: true }),
        );
        app.post(
          '/throws-in-middleware',
          validate({ body: Upload }, { limits }),
          () => {
            throw new HttpError(409, 'conflict');
          },
          (c) => c.json({ never: true }),
        );
        app.post('/handler-throws', validate({ body: Upload }, { limits }), () => {
          throw new Error('boom');
        });
        app.post('/reads', validate({ body: Upload }, { limits }), (c) => {
          const doc = (c.body as { doc: UploadedFile }).doc;
          seen = { path: doc.path!, content: readFileSync(doc.path!, 'utf8') };
          return c.json({ ok: true });
        });
        app.post('/keeps', validate({ body: Upload }, { limits }), (c) => {
          keptPath = keepUpload((c.body as { doc: UploadedFile }).doc).path;
          return c.json({ ok: true });
        });
        app.post('/moves', validate({ body: Upload }, { limits }), async (c) => {
          const doc = (c.body as { doc: UploadedFile }).doc;
          await rename(doc.path!, join(keepDir, 'moved.bin'));
          return c.json({ ok: true });
        });
        server = await serve(app, { port: 0, logger: false, fastLane, shutdownTimeout: 500 });
      });
      after(async () => {
        await server.close();
        rmSync(dir, { recursive: true, force: true });
        rmSync(keepDir, { recursive: true, force: true });
      });

      const form = (name: string): Buffer =>
        multipart([
          { name: 'name', content: name },
          { name: 'doc', filename: 'doc.bin', content: Buffer.alloc(850 * KiB, 7) },
        ]);
      const send = async (path: string, body: Buffer): Promise<number> =>
        (
          await rawRequest(server.port, Buffer.concat([Buffer.from(head(path, body.length)), body]), {
            timeoutMs: REQUEST_TIMEOUT,
          })
        ).status;

      const endings: [string, string, string, number][] = [
        ['a validation failure', '/validated', 'x', 400],
        ['a middleware answering early after the parse', '/early', 'ada', 403],
        ['a middleware throwing after the parse', '/throws-in-middleware', 'ada', 409],
        ['the handler throwing', '/handler-throws', 'ada', 500],
        ['the handler returning normally', '/validated', 'ada', 200],
      ];
      for (const [name, path, value, status] of endings) {
        test(`${name}: 20 requests leave the upload dir empty`, async () => {
          const statuses = await batches(20, 5, () => send(path, form(value)));
          assert.deepEqual([...new Set(statuses)], [status]);
          await waitFor(() => readdirSync(dir).length === 0, 3000, 'uploads deleted').catch(() => {
            const left = readdirSync(dir);
            const bytes = left.reduce((n, f) => n + statSync(join(dir, f)).size, 0);
            assert.fail(`${left.length} files (${bytes} bytes) left in the upload dir after ${name}`);
          });
        });
      }

      test('the handler reads its upload while it runs', async () => {
        assert.equal(await send('/reads', form('ada')), 200);
        assert.equal(seen!.content.length, 850 * KiB);
        await waitFor(() => readdirSync(dir).length === 0, 3000, 'the upload deleted after the response');
      });

      test('keepUpload() hands the file to the app: it outlives the request', async () => {
        assert.equal(await send('/keeps', form('ada')), 200);
        await new Promise((r) => setTimeout(r, 100));
        assert.equal(statSync(keptPath!).size, 850 * KiB);
        rmSync(keptPath!);
      });

      test('a file moved by the handler is not touched', async () => {
        assert.equal(await send('/moves', form('ada')), 200);
        await new Promise((r) => setTimeout(r, 100));
        assert.equal(statSync(join(keepDir, 'moved.bin')).size, 850 * KiB);
        assert.deepEqual(readdirSync(dir), []);
      });

      test('a parse the handler did not wait for stops when the response is ready, and its file goes', async () => {
        const unhandled: unknown[] = [];
        const onUnhandled = (reason: unknown): void => {
          unhandled.push(reason);
        };
        process.on('unhandledRejection', onUnhandled);
        let cancelled = false;
        let pulled = 0;
        const start = multipart(
          [{ name: 'doc', filename: 'd.bin', content: Buffer.alloc(8 * KiB, 1) }],
          false,
        );
        const stream = new ReadableStream<Uint8Array>({
          async pull(controller) {
            pulled += 1;
            if (pulled === 1) controller.enqueue(new Uint8Array(start.subarray(0, start.length - 2)));
            else if (pulled < 100) {
              await new Promise((r) => setTimeout(r, 10));
              controller.enqueue(new Uint8Array(KiB));
            } else controller.close();
          },
          cancel() {
            cancelled = true;
          },
        });
        const app = new App({ log: false });
        app.post('/', (c) => {
          void parseBody(c.req, { ...BODY_DEFAULTS, ...limits });
          return c.json({ queued: true }, 202);
        });
        const res = await app.request('/', {
          method: 'POST',
          body: stream,
          duplex: 'half',
          headers: { 'content-type': `multipart/form-data; boundary=${BOUNDARY}` },
        } as RequestInit);
        assert.equal(res.status, 202);
        await waitFor(() => cancelled, 2000, 'the body to be cancelled');
        await waitFor(() => readdirSync(dir).length === 0, 2000, 'the file to be deleted');
        await new Promise((r) => setTimeout(r, 20));
        process.off('unhandledRejection', onUnhandled);
        assert.deepEqual(unhandled, []);
        assert.ok(pulled < 100);
      });

      test('parsing stops at the first failing part: no file after a field over its limit', async () => {
        let pulled = 0;
        const first = multipart([{ name: 'long', content: 'x'.repeat(100) }], false);
        const file = multipart(
          [{ name: 'doc', filename: 'd.bin', content: Buffer.alloc(16 * KiB, 1) }],
          false,
        );
        const app = new App({ log: false });
        let body: FormBody | undefined;
        app.post('/', async (c) => {
          body = (await parseBody(c.req, { ...BODY_DEFAULTS, ...limits, fieldSize: 10 })) as FormBody;
          return c.json({ never: true });
        });
        const stream = new ReadableStream<Uint8Array>({
          pull(controller) {
            pulled += 1;
            if (pulled === 1) controller.enqueue(new Uint8Array(first));
            else if (pulled < 200) controller.enqueue(new Uint8Array(file));
            else controller.close();
          },
        });
        const res = await app.request('/', {
          method: 'POST',
          body: stream,
          duplex: 'half',
          headers: { 'content-type': `multipart/form-data; boundary=${BOUNDARY}` },
        } as RequestInit);
        assert.equal(res.status, 413, await res.clone().text());
        assert.equal(body, undefined);
        assert.ok(pulled < 10, `read ${pulled} chunks after the failing part`);
        await new Promise((r) => setTimeout(r, 50));
        assert.deepEqual(readdirSync(dir), []);
      });
    });
  });
}
