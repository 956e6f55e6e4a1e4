/**
 * Seeded, time-bounded fuzz of what an HTTP/2 client may send strata: random header fields
 * (pseudo-headers repeated, missing, unknown, uppercase names, control characters, long values)
 * through the request strata builds from them (h2/request.ts) and the edge policy, random frames
 * of every type around them, and random first bytes on the h2c port (the preface sniffer). The
 * server must answer, reset or close — never throw — and keep answering a normal client.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { App } from '../../src/app/index.ts';
import { CLIENT_PREFACE } from '../../src/server/h2/prior-knowledge.ts';
import { type StrataServer, serve } from '../../src/server.ts';
import { fuzz, PRINTABLE, type Rng } from '../fixtures/fuzz.ts';
import { h2cClient, h2request } from '../fixtures/h2.ts';
import { FLAG, FRAME, frame, headerBlock, RawH2 } from '../fixtures/h2-raw.ts';
import { rawRequest } from '../fixtures/http.ts';

let server: StrataServer;
const errors: unknown[] = [];

before(async () => {
  const app = new App();
  app.get('/', (c) => c.text(`ok ${c.req.headers.get('host')}`));
  app.post('/echo', async (c) => c.text(String((await c.req.text()).length)));
  app.get('/info', (c) => c.json({ url: c.req.url, headers: [...c.req.headers] }));
  server = await serve(app, {
    port: 0,
    logger: false,
    http2: { h2c: true },
    maxBodySize: 4096,
    headersTimeout: 300,
    idleTimeout: 500,
  });
  process.on('uncaughtException', (err) => errors.push(err));
});

after(async () => {
  await server.close();
});

const NAMES = [
  ':method',
  ':path',
  ':scheme',
  ':authority',
  ':status',
  ':protocol',
  ':x',
  'host',
  'content-length',
  'transfer-encoding',
  'connection',
  'te',
  'cookie',
  'x-a',
  'X-Upper',
  '',
  'upgrade',
  'expect',
];
const VALUES = [
  'GET',
  'POST',
  'HEAD',
  'CONNECT',
  '/',
  '/info',
  '/echo',
  '*',
  'http',
  'https',
  'localhost',
  'a.test:80',
  '[::1]:1',
  '0',
  '10',
  '-1',
  'chunked',
  'trailers',
  'close',
  '100-continue',
  '',
];

function value(rng: Rng): string {
  switch (rng.int(0, 4)) {
    case 0:
      return rng.string(PRINTABLE, rng.int(0, 40));
    case 1:
      return rng.string('\x00\x01\r\n\t\x7f\xff /:@', rng.int(1, 8));
    case 2:
      return 'v'.repeat(rng.int(1000, 20_000));
    default:
      return rng.pick(VALUES);
  }
}

function fields(rng: Rng): [string, string][] {
  const out: [string, string][] = [];
  // Mostly a plausible request, with something off.
  if (rng.chance(0.8)) out.push([':method', rng.pick(['GET', 'POST', 'HEAD', 'CONNECT'])]);
  if (rng.chance(0.8)) out.push([':scheme', 'http']);
  if (rng.chance(0.8)) out.push([':path', rng.chance(0.7) ? rng.pick(['/', '/info', '/echo']) : value(rng)]);
  if (rng.chance(0.8)) out.push([':authority', rng.chance(0.7) ? 'localhost' : value(rng)]);
  for (let i = rng.int(0, 6); i > 0; i--) {
    const name = rng.chance(0.8) ? rng.pick(NAMES) : rng.string(PRINTABLE, rng.int(0, 12));
    out.splice(rng.int(0, out.length), 0, [name, value(rng)]);
  }
  return out;
}

function randomFrame(rng: Rng, stream: number): Buffer {
  const type = rng.int(0, 10);
  const payload = Buffer.from(rng.bytes(rng.int(0, 40)));
  return frame(type, rng.int(0, 255), rng.chance(0.7) ? stream : rng.int(0, 9), payload);
}

test('random header fields and frames: answered, reset or closed, never a throw', async () => {
  const runs = await fuzz({ seed: 0x4832, iterations: 400, budgetMs: 6000 }, async (rng) => {
    const c = await RawH2.open(server.port);
    try {
      const streams = rng.int(1, 4);
      for (let i = 0; i < streams && !c.closed; i++) {
        const id = 1 + 2 * i;
        const block = headerBlock(fields(rng));
        const endStream = rng.chance(0.6);
        if (block.length <= 16_000) {
          c.write(frame(FRAME.HEADERS, FLAG.END_HEADERS | (endStream ? FLAG.END_STREAM : 0), id, block));
        } else {
          c.write(frame(FRAME.HEADERS, endStream ? FLAG.END_STREAM : 0, id, block.subarray(0, 16_000)));
          c.write(frame(FRAME.CONTINUATION, FLAG.END_HEADERS, id, block.subarray(16_000, 32_000)));
        }
        if (!endStream)
          c.write(frame(FRAME.DATA, FLAG.END_STREAM, id, Buffer.from(rng.bytes(rng.int(0, 5000)))));
        if (rng.chance(0.3)) c.write(randomFrame(rng, id));
      }
      await c.until((frames) => frames.some((f) => f.type !== FRAME.SETTINGS), 200);
    } finally {
      c.destroy();
    }
  });
  assert.ok(runs > 20, `only ${runs} cases ran`);
  assert.deepEqual(errors, []);
  const client = h2cClient(server.url);
  try {
    assert.equal((await h2request(client, { ':path': '/' })).status, 200);
  } finally {
    client.destroy();
  }
});

test('random first bytes on the h2c port: HTTP/1.1, HTTP/2, or closed; never a throw', async () => {
  const runs = await fuzz({ seed: 0x5052, iterations: 200, budgetMs: 4000 }, async (rng) => {
    let bytes: Buffer;
    switch (rng.int(0, 3)) {
      case 0:
        // A prefix of the preface, then anything.
        bytes = Buffer.concat([
          CLIENT_PREFACE.subarray(0, rng.int(0, 24)),
          Buffer.from(rng.bytes(rng.int(0, 30))),
        ]);
        break;
      case 1:
        bytes = Buffer.from(
          `${rng.pick(['GET', 'PRI', 'POST', 'P'])} ${rng.string(PRINTABLE, rng.int(0, 10))} HTTP/${rng.pick(['1.1', '2.0', '1.0'])}\r\nHost: a\r\n\r\n`,
        );
        break;
      default:
        bytes = Buffer.from(rng.bytes(rng.int(1, 60)));
    }
    // Split anywhere: the sniffer must give the same answer however the bytes arrive.
    const cut = rng.int(0, bytes.length);
    const reply = await rawRequest(server.port, [bytes.subarray(0, cut), bytes.subarray(cut)], {
      timeoutMs: 1500,
      gapMs: 5,
    });
    assert.ok(reply.closed || reply.text.length > 0 || bytes.length < 24, 'the connection went nowhere');
  });
  assert.ok(runs > 20, `only ${runs} cases ran`);
  assert.deepEqual(errors, []);
  assert.equal((await fetch(`${server.url}/`)).status, 200);
});
