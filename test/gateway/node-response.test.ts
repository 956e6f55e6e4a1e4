import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { get } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { NativeResponse, openFile } from '../../src/gateway/index.ts';
import { type StrataServer, serve } from '../../src/server/index.ts';
import { rawRequest } from '../fixtures/http.ts';

const BINARY = new Uint8Array(256).map((_, i) => 255 - i);
const FILE = join(tmpdir(), `strata-file-body-${process.pid}.bin`);
const FILE_BYTES = randomBytes(3 * 1024 * 1024 + 17);
let pulls = 0;

const routes: Record<string, () => Response | Promise<Response>> = {
  '/cookies-headers': () => {
    const h = new Headers();
    for (const c of ['a=1', 'b=2; Path=/', 'c=3; HttpOnly']) h.append('set-cookie', c);
    return new Response('ok', { headers: h });
  },
  '/cookies-pairs': () =>
    new Response('ok', {
      headers: [
        ['set-cookie', 'a=1'],
        ['Set-Cookie', 'b=2'],
        ['set-cookie', 'c=3'],
        ['x-other', 'v'],
      ],
    }),
  '/cookies-mutated': () => {
    const r = new Response('ok');
    r.headers.append('set-cookie', 'a=1');
    r.headers.append('set-cookie', 'b=2');
    r.headers.append('set-cookie', 'c=3');
    return r;
  },
  '/bytes': () => new Response(BINARY),
  '/arraybuffer': () => new Response(BINARY.slice().buffer),
  '/stream': () => {
    let i = 0;
    return new Response(
      new ReadableStream({
        pull(controller) {
          if (i === 3) controller.close();
          else controller.enqueue(new TextEncoder().encode(`part${i++};`));
        },
      }),
    );
  },
  '/big-stream': () => {
    pulls = 0;
    const chunk = new Uint8Array(64 * 1024).fill(97);
    return new Response(
      new ReadableStream(
        {
          pull(controller) {
            pulls += 1;
            if (pulls > 320) controller.close();
            else controller.enqueue(chunk);
          },
        },
        { highWaterMark: 1 },
      ),
    );
  },
  '/native': () => new NativeResponse(new Blob(['native body']), { status: 203, headers: { 'x-n': '1' } }),
  '/native-stream': () =>
    new NativeResponse(
      new ReadableStream({
        start(c) {
          c.enqueue(new TextEncoder().encode('native stream'));
          c.close();
        },
      }),
    ),
  '/file': async () => new Response(await openFile(FILE, { type: 'application/octet-stream' })),
  '/no-content': () => new Response(null, { status: 204, headers: { 'x-a': '1' } }),
  '/not-modified': () => new Response(null, { status: 304, headers: { etag: '"x"' } }),
  '/text': () => new Response('twelve bytes'),
  '/bad-header': () => new Response('x', { headers: { 'x-evil': 'a\r\nx-injected: yes' } }),
  '/mutated-after': () => {
    const r = Response.json({ ok: true });
    r.headers.set('x-late', 'set after construction');
    return r;
  },
};

function bodyOf(raw: string): string {
  return raw.slice(raw.indexOf('\r\n\r\n') + 4);
}

describe('writing responses to node', () => {
  let server: StrataServer;
  before(async () => {
    writeFileSync(FILE, FILE_BYTES);
    server = await serve(
      (request: Request) => {
        const route = routes[new URL(request.url).pathname];
        return route === undefined ? new Response('no route', { status: 404 }) : route();
      },
      { port: 0, logger: false },
    );
  });
  after(() => server.close());

  for (const path of ['/cookies-headers', '/cookies-pairs', '/cookies-mutated']) {
    test(`Set-Cookie values stay separate (${path})`, async () => {
      const res = await rawRequest(
        server.port,
        `GET ${path} HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n`,
      );
      const lines = res.text.split('\r\n').filter((l) => /^set-cookie:/i.test(l));
      assert.equal(lines.length, 3, res.text);
      assert.match(lines.join('\n'), /a=1[\s\S]*b=2[\s\S]*c=3/);
    });
  }

  for (const path of ['/bytes', '/arraybuffer']) {
    test(`binary body ${path} is written byte for byte with its length`, async () => {
      const res = await fetch(server.url + path);
      assert.equal(res.headers.get('content-length'), '256');
      assert.deepEqual(new Uint8Array(await res.arrayBuffer()), BINARY);
    });
  }

  test('a ReadableStream body is streamed in order, chunked', async () => {
    const res = await fetch(`${server.url}/stream`);
    assert.equal(res.headers.get('transfer-encoding'), 'chunked');
    assert.equal(await res.text(), 'part0;part1;part2;');
  });

  test('streaming respects backpressure: a paused client stops the producer', async () => {
    const done = new Promise<number>((resolve, reject) => {
      get(`${server.url}/big-stream`, (res) => {
        res.pause();
        setTimeout(() => {
          const pullsWhilePaused = pulls;
          let bytes = 0;
          res.on('data', (c: Buffer) => (bytes += c.length));
          res.on('end', () => {
            assert.ok(pullsWhilePaused < 100, `producer paused after ${pullsWhilePaused} of 320 chunks`);
            resolve(bytes);
          });
          res.resume();
        }, 300);
      }).on('error', reject);
    });
    assert.equal(await done, 320 * 64 * 1024);
  });

  test('a native Response (not the lazy one) is written with status, headers and body', async () => {
    const res = await fetch(`${server.url}/native`);
    assert.equal(res.status, 203);
    assert.equal(res.headers.get('x-n'), '1');
    assert.equal(await res.text(), 'native body');
    assert.equal(await (await fetch(`${server.url}/native-stream`)).text(), 'native stream');
  });

  test('openFile bodies stream the file exactly, with its length', async () => {
    const res = await fetch(`${server.url}/file`);
    assert.equal(res.headers.get('content-length'), String(FILE_BYTES.length));
    const got = Buffer.from(await res.arrayBuffer());
    assert.equal(
      createHash('sha256').update(got).digest('hex'),
      createHash('sha256').update(FILE_BYTES).digest('hex'),
    );
  });

  test('HEAD gets the headers and length but no body', async () => {
    const res = await rawRequest(server.port, 'HEAD /text HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n');
    assert.equal(res.status, 200);
    assert.match(res.text, /content-length: 12/i);
    assert.equal(bodyOf(res.text), '');
  });

  for (const [path, status] of [
    ['/no-content', 204],
    ['/not-modified', 304],
  ] as const) {
    test(`${status} has no body and no content-length`, async () => {
      const res = await rawRequest(
        server.port,
        `GET ${path} HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n`,
      );
      assert.equal(res.status, status);
      assert.doesNotMatch(res.text, /content-length/i);
      assert.doesNotMatch(res.text, /transfer-encoding/i);
      assert.equal(bodyOf(res.text), '');
    });
  }

  test('a header value with CR/LF gives 500, never an injected header', async () => {
    const res = await rawRequest(
      server.port,
      'GET /bad-header HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n',
    );
    assert.equal(res.status, 500);
    assert.doesNotMatch(res.text, /x-injected/i);
    assert.equal((await fetch(`${server.url}/text`)).status, 200);
  });

  test('headers changed after construction are the ones written', async () => {
    const res = await fetch(`${server.url}/mutated-after`);
    assert.equal(res.headers.get('x-late'), 'set after construction');
    assert.equal(res.headers.get('content-type'), 'application/json');
    assert.deepEqual(await res.json(), { ok: true });
  });
});

describe('fastResponse: false', () => {
  test('every response goes through the standard API and is still right', async () => {
    const s = await serve(() => new NativeResponse('standard', { headers: { 'x-s': '1' } }), {
      port: 0,
      logger: false,
      fastResponse: false,
    });
    try {
      const res = await fetch(s.url);
      assert.equal(res.headers.get('x-s'), '1');
      assert.equal(await res.text(), 'standard');
    } finally {
      await s.close();
    }
  });
});
