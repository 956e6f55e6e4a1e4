/**
 * The fast lane's Content-Length bodies: what the parser takes (one Content-Length of plain
 * digits on POST/PUT/PATCH/DELETE, up to the lane's maxBody) and every other framing it leaves to
 * llhttp — a differential fuzz against llhttp, the smuggling shapes as a table, and the bodies
 * end to end on a server, on both transports.
 */
import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { describe, test } from 'node:test';
import { DECLINE, parseRequestHead, type RequestHead } from '../../../src/server/h1/request-head.ts';
import { serve } from '../../../src/server.ts';
import { Rng } from '../../fixtures/fuzz.ts';
import { llhttp } from '../../fixtures/llhttp.ts';

const MAX = 16_384;
const MAX_BODY = 1024;

function fresh(): RequestHead {
  return { method: '', url: '', rawHeaders: [], minor: 1, close: false, bodyLength: 0 };
}

function parse(text: string | Buffer, maxBody = MAX_BODY): { next: number; head: RequestHead } {
  const head = fresh();
  const buf = typeof text === 'string' ? Buffer.from(text, 'latin1') : text;
  return { next: parseRequestHead(buf, 0, MAX, head, undefined, maxBody), head };
}

describe('parseRequestHead: Content-Length bodies', () => {
  test('a POST with a JSON body: the head ends before it, and the length is read', () => {
    const text =
      'POST /users HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 7\r\n\r\n{"a":1}';
    const { next, head } = parse(text);
    assert.equal(next, text.length - 7);
    assert.equal(head.bodyLength, 7);
    assert.equal(head.method, 'POST');
  });

  test('PUT, PATCH and DELETE too; Content-Length: 0; surrounding whitespace is trimmed', () => {
    for (const [method, value, length] of [
      ['PUT', '3', 3],
      ['PATCH', ' 3 ', 3],
      ['DELETE', '0', 0],
      ['POST', '0', 0],
      ['POST', '\t12', 12],
    ] as const) {
      const { next, head } = parse(`${method} / HTTP/1.1\r\nHost: x\r\nContent-Length:${value}\r\n\r\n`);
      assert.ok(next > 0, `${method} ${JSON.stringify(value)}`);
      assert.equal(head.bodyLength, length);
    }
  });

  test('a head without Content-Length has bodyLength 0 (after one that had a body)', () => {
    const head = fresh();
    parseRequestHead(
      Buffer.from('POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\n'),
      0,
      MAX,
      head,
      undefined,
      MAX_BODY,
    );
    assert.equal(head.bodyLength, 5);
    parseRequestHead(Buffer.from('GET / HTTP/1.1\r\nHost: x\r\n\r\n'), 0, MAX, head, undefined, MAX_BODY);
    assert.equal(head.bodyLength, 0);
  });

  // Every framing the lane does not take is llhttp's to judge (and node's to refuse or read).
  const declined: [name: string, text: string][] = [
    [
      'two Content-Length lines (same value)',
      'POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nContent-Length: 3\r\n\r\nabc',
    ],
    [
      'two Content-Length lines (different)',
      'POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\nabcd',
    ],
    ['a list', 'POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 3, 3\r\n\r\nabc'],
    ['a sign', 'POST / HTTP/1.1\r\nHost: x\r\nContent-Length: +3\r\n\r\nabc'],
    ['a negative length', 'POST / HTTP/1.1\r\nHost: x\r\nContent-Length: -1\r\n\r\n'],
    ['a leading zero', 'POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 03\r\n\r\nabc'],
    ['hex', 'POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 0x3\r\n\r\nabc'],
    ['a trailing letter', 'POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 3a\r\n\r\nabc'],
    ['inner space', 'POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 1 2\r\n\r\n'],
    ['empty', 'POST / HTTP/1.1\r\nHost: x\r\nContent-Length: \r\n\r\n'],
    ['over maxBody', `POST / HTTP/1.1\r\nHost: x\r\nContent-Length: ${MAX_BODY + 1}\r\n\r\n`],
    ['a huge length', 'POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 99999999999999999999\r\n\r\n'],
    [
      'Content-Length and Transfer-Encoding (CL.TE)',
      'POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n',
    ],
    [
      'Transfer-Encoding and Content-Length (TE.CL)',
      'POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nContent-Length: 4\r\n\r\n0\r\n\r\n',
    ],
    ['chunked alone', 'POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n'],
    ['a space before the colon', 'POST / HTTP/1.1\r\nHost: x\r\nContent-Length : 3\r\n\r\nabc'],
    ['obs-fold in the value', 'POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n 4\r\n\r\nabc'],
    ['a GET with a body', 'GET / HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\nabc'],
    ['a HEAD with a body', 'HEAD / HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\nabc'],
    ['an OPTIONS with a body', 'OPTIONS / HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\nabc'],
    [
      'Expect: 100-continue',
      'POST / HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: 3\r\n\r\n',
    ],
    ['a NUL in the value', 'POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 3\x00\r\n\r\nabc'],
  ];
  for (const [name, text] of declined) {
    test(`declined: ${name}`, () => {
      assert.equal(parse(text).next, DECLINE);
    });
  }

  test('without maxBody (0) every Content-Length is declined, as before', () => {
    assert.equal(parse('POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\nabc', 0).next, DECLINE);
    assert.equal(parse('POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n', 0).next, DECLINE);
  });
});

const seeds = [
  'POST /users HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 13\r\n\r\n{"name":"ab"}',
  'PUT /a HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\nabcGET / HTTP/1.1\r\nHost: x\r\n\r\n',
  'PATCH /p HTTP/1.0\r\nConnection: keep-alive\r\nContent-Length: 5\r\n\r\nhello',
  'DELETE /d HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n',
  'POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n',
  'POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nContent-Length: 3\r\n\r\nabc',
];
const interesting = [0, 9, 10, 13, 32, 43, 44, 45, 48, 49, 51, 57, 58, 0x41, 0x61];

function mutate(rng: Rng, input: Buffer): Buffer {
  let buf = Buffer.from(input);
  const edits = 1 + rng.int(0, 3 - 1);
  for (let e = 0; e < edits; e++) {
    const at = rng.int(0, buf.length + 1 - 1);
    const byte = rng.next() < 0.6 ? interesting[rng.int(0, interesting.length - 1)]! : rng.int(0, 256 - 1);
    switch (rng.int(0, 5 - 1)) {
      case 0:
        if (at < buf.length) buf[at] = byte;
        break;
      case 1:
        buf = Buffer.concat([buf.subarray(0, at), Buffer.from([byte]), buf.subarray(at)]);
        break;
      case 2:
        buf = Buffer.concat([buf.subarray(0, at), buf.subarray(at + 1)]);
        break;
      case 3: {
        const len = rng.int(0, 20 - 1);
        buf = Buffer.concat([buf.subarray(0, at + len), buf.subarray(at, at + len), buf.subarray(at + len)]);
        break;
      }
      default:
        buf = buf.subarray(0, at);
    }
  }
  return buf;
}

describe('parseRequestHead: bodies, differential fuzz against llhttp', () => {
  test('whatever the lane accepts with a body, llhttp accepts with the same framing and body', () => {
    const rng = new Rng(0xb0d1e5);
    let withBody = 0;
    let accepted = 0;
    const deadline = Date.now() + 1500;
    for (let i = 0; i < 30_000 && Date.now() < deadline; i++) {
      const input = mutate(rng, Buffer.from(seeds[i % seeds.length]!, 'latin1'));
      const head = fresh();
      const next = parseRequestHead(input, 0, MAX, head, undefined, MAX_BODY);
      if (next < 0) continue;
      const end = next + head.bodyLength;
      // The lane reads a body only once it is all there (else it hands the connection over).
      if (end > input.length) continue;
      accepted += 1;
      if (head.bodyLength > 0) withBody += 1;
      const shown = JSON.stringify(input.toString('latin1'));
      const ll = llhttp(input.subarray(0, end));
      assert.equal(ll.error, undefined, `llhttp refuses what the lane accepted: ${shown}`);
      assert.equal(ll.messages.length, 1, `one message: ${shown}`);
      assert.equal(ll.completed, 1, `llhttp's message ends where the lane's does: ${shown}`);
      const m = ll.messages[0]!;
      assert.equal(m.method, head.method, shown);
      assert.deepEqual(m.rawHeaders, head.rawHeaders, shown);
      assert.ok(m.body.equals(input.subarray(next, end)), `the same body bytes: ${shown}`);
      // And what follows is the next request to both (llhttp reads on from the same offset).
      if (end < input.length) {
        const rest = llhttp(input);
        if (rest.error === undefined && rest.messages.length > 1) {
          const second = parseRequestHead(input, end, MAX, fresh(), undefined, MAX_BODY);
          if (second > 0)
            assert.equal(rest.messages[1]!.method, input.toString('latin1', end, input.indexOf(' ', end)));
        }
      }
    }
    assert.ok(accepted > 300, `the fuzz reached accepted inputs (${accepted})`);
    assert.ok(withBody > 200, `the fuzz reached bodies (${withBody})`);
  });
});

/** Sends `data` on one connection and reads until `count` responses came back (or the server closed). */
function exchange(port: number, data: string | string[], count: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1');
    let text = '';
    const timer = setTimeout(() => {
      socket.destroy();
      resolve(text);
    }, 3000);
    const responses = (): number => text.split(/^HTTP\/1\.1 /m).length - 1;
    socket.on('data', (chunk) => {
      text += chunk.toString('latin1');
      if (responses() >= count && /\r\n\r\n[\s\S]*$/.test(text)) {
        // Wait for the last body to arrive in full: the echo app's bodies are short.
        setTimeout(() => {
          clearTimeout(timer);
          socket.destroy();
          resolve(text);
        }, 30);
      }
    });
    socket.on('close', () => {
      clearTimeout(timer);
      resolve(text);
    });
    socket.on('error', reject);
    socket.on('connect', async () => {
      for (const part of Array.isArray(data) ? data : [data]) {
        socket.write(part);
        await new Promise((r) => setTimeout(r, 20));
      }
    });
  });
}

const echo = {
  async fetch(request: Request): Promise<Response> {
    const url = new URL(request.url);
    if (url.pathname === '/stream') {
      // Read through the web stream, not text().
      const reader = request.body!.getReader();
      const parts: Uint8Array[] = [];
      for (;;) {
        const { done, value } = await reader.read();
        if (done) break;
        parts.push(value);
      }
      return new Response(`stream:${Buffer.concat(parts).toString()}`);
    }
    if (url.pathname === '/ignore') return new Response('ignored');
    const body = await request.text();
    return new Response(`${request.method}:${body}`);
  },
};

for (const fastLane of [true, false]) {
  describe(`request bodies end to end (fastLane: ${fastLane})`, () => {
    test('JSON, form, pipelined, streamed, ignored bodies, and a body in a later packet', async () => {
      const kinds: string[] = [];
      const server = await serve(echo, {
        port: 0,
        logger: false,
        fastLane,
        onRequestStart: (req) => kinds.push(req.constructor.name),
      });
      try {
        const json = await fetch(`${server.url}/json`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: '{"a":1}',
        });
        assert.equal(await json.text(), 'POST:{"a":1}');
        // On the lane, without node's IncomingMessage.
        assert.deepEqual(kinds, [fastLane ? 'LaneRequest' : 'IncomingMessage']);
        const form = await fetch(`${server.url}/form`, {
          method: 'PUT',
          body: new URLSearchParams({ a: 'b c' }),
        });
        assert.equal(await form.text(), 'PUT:a=b+c');
        // Pipelined: two bodies and a GET in one write; each body is its own.
        const three = await exchange(
          server.port,
          'POST /1 HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\nabcPATCH /2 HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\nxyGET /3 HTTP/1.1\r\nHost: x\r\n\r\n',
          3,
        );
        assert.match(three, /POST:abc[\s\S]*PATCH:xy[\s\S]*GET:/);
        const streamed = await exchange(
          server.port,
          'POST /stream HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nConnection: close\r\n\r\nhello',
          1,
        );
        assert.match(streamed, /stream:hello/);
        // An app that does not read the body: the next request on the connection is still read right.
        const ignored = await exchange(
          server.port,
          'POST /ignore HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\n\r\nGET POST /after HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\n\r\nz',
          2,
        );
        assert.match(ignored, /ignored[\s\S]*POST:z/);
        assert.doesNotMatch(ignored, /400/);
        // The body in later packets than the head: the lane gathers it (node's path reads it
        // when the lane is off), and the request pipelined behind it is read on.
        kinds.length = 0;
        const split = await exchange(
          server.port,
          [
            'POST /late HTTP/1.1\r\nHost: x\r\nContent-Length: 6\r\n\r\n',
            'la',
            'te',
            '!!GET /next HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n',
          ],
          2,
        );
        assert.match(split, /POST:late!![\s\S]*GET:/);
        assert.deepEqual(
          kinds,
          fastLane ? ['LaneRequest', 'LaneRequest'] : ['IncomingMessage', 'IncomingMessage'],
        );
        // A request inside a body that arrives in pieces is body, never a request of its own.
        const inner = 'GET /smuggled HTTP/1.1\r\nHost: x\r\n\r\n';
        kinds.length = 0;
        const smuggled = await exchange(
          server.port,
          [
            `POST /outer HTTP/1.1\r\nHost: x\r\nContent-Length: ${inner.length}\r\nConnection: close\r\n\r\nGET /smu`,
            inner.slice(8, 20),
            inner.slice(20),
          ],
          1,
        );
        assert.equal(smuggled.split(/^HTTP\/1\.1 /m).length - 1, 1, smuggled);
        assert.ok(smuggled.endsWith(`POST:${inner}`), smuggled);
        assert.equal(kinds.length, 1);
      } finally {
        await server.close();
      }
    });

    test('a body over maxBodySize is 413 from its Content-Length, before the app', async () => {
      let called = 0;
      const server = await serve(
        {
          fetch: () => {
            called += 1;
            return new Response('app');
          },
        },
        { port: 0, logger: false, fastLane, maxBodySize: 4 },
      );
      try {
        const reply = await exchange(
          server.port,
          'POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello',
          1,
        );
        assert.match(reply, /^HTTP\/1\.1 413 /);
        assert.equal(called, 0);
      } finally {
        await server.close();
      }
    });
  });
}

describe('the framework reads lane bodies like node bodies', () => {
  for (const fastLane of [true, false]) {
    test(`JSON, urlencoded and multipart through parseBody (fastLane: ${fastLane})`, async () => {
      const { App, parseBody } = await import('../../../src/app/index.ts');
      const app = new App();
      app.post('/parse', async (c) => {
        const body = (await parseBody(c.req)) as Record<string, unknown>;
        const out: Record<string, unknown> = {};
        for (const [k, v] of Object.entries(body)) {
          const file = v as { filename?: string; bytes?: Uint8Array };
          out[k] =
            typeof v === 'object' && v !== null && file.filename !== undefined
              ? `file:${file.filename}:${Buffer.from(file.bytes ?? []).toString()}`
              : v;
        }
        return c.json(out);
      });
      const kinds: string[] = [];
      const server = await serve(app, {
        port: 0,
        logger: false,
        fastLane,
        onRequestStart: (req) => kinds.push(req.constructor.name),
      });
      try {
        const json = await fetch(`${server.url}/parse`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ a: 1, b: 'two' }),
        });
        assert.deepEqual(await json.json(), { a: 1, b: 'two' });
        const form = await fetch(`${server.url}/parse`, {
          method: 'POST',
          body: new URLSearchParams({ x: 'y z' }),
        });
        assert.deepEqual(await form.json(), { x: 'y z' });
        const data = new FormData();
        data.set('field', 'value');
        data.set('upload', new Blob(['hello']), 'hello.txt');
        const multipart = await fetch(`${server.url}/parse`, { method: 'POST', body: data });
        assert.deepEqual(await multipart.json(), { field: 'value', upload: 'file:hello.txt:hello' });
        const expected = fastLane ? 'LaneRequest' : 'IncomingMessage';
        assert.ok(kinds.length === 3 && kinds.every((k) => k === expected), kinds.join());
      } finally {
        await server.close();
      }
    });
  }
});

describe('lane bodies split across reads, differential against llhttp', () => {
  // What the lane accepts with a body, sent in several reads (the head, parts of the body, and
  // what follows), is read by the lane with llhttp's framing: the app sees llhttp's body, and
  // the request is the lane's (never handed to node).
  test('seeded fuzz: random inputs, random splits, one server', async () => {
    const seen: { method: string; body: string }[] = [];
    const server = await serve(
      {
        async fetch(request: Request): Promise<Response> {
          const body = Buffer.from(await request.arrayBuffer()).toString('hex');
          seen.push({ method: request.method, body });
          return new Response(`${request.method}:${body}`);
        },
      },
      {
        port: 0,
        logger: false,
        maxBodySize: MAX_BODY,
        onRequestStart: (req) => kinds.push(req.constructor.name),
      },
    );
    const kinds: string[] = [];
    const rng = new Rng(0x5b117);
    let checked = 0;
    let split = 0;
    const deadline = Date.now() + 4000;
    try {
      for (let i = 0; i < 400 && Date.now() < deadline; i++) {
        const input = mutate(rng, Buffer.from(seeds[i % seeds.length]!, 'latin1'));
        const head = fresh();
        const next = parseRequestHead(input, 0, MAX, head, undefined, MAX_BODY);
        if (next < 0 || head.bodyLength === 0) continue;
        const end = next + head.bodyLength;
        if (end > input.length) continue;
        const ll = llhttp(input.subarray(0, end));
        assert.equal(ll.error, undefined);
        // The first request alone, closed after, in 2 to 4 reads cut anywhere (inside the head
        // too: the lane waits for a whole head only within one read, so cuts go after it).
        const message = Buffer.concat([
          input.subarray(0, end),
          Buffer.from('GET /last HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n'),
        ]);
        const cuts = new Set<number>();
        const pieces = 1 + rng.int(1, 3);
        for (let k = 0; k < pieces; k++) cuts.add(next + rng.int(0, end - next));
        const points = [0, ...[...cuts].sort((a, b) => a - b).filter((c) => c > 0), message.length];
        const parts = points.slice(1).map((p, k) => message.toString('latin1', points[k], p));
        if (parts.length > 2) split += 1;
        kinds.length = 0;
        seen.length = 0;
        // A connection llhttp would not keep (HTTP/1.0 without keep-alive) ends after the first.
        const count = ll.messages[0]!.keepAlive ? 2 : 1;
        const reply = await exchange(
          server.port,
          parts.filter((p) => p !== ''),
          count,
        );
        const shown = JSON.stringify(input.toString('latin1'));
        assert.equal(seen.length, count, `${count} requests answered: ${shown} → ${reply}`);
        assert.equal(seen[0]!.method, ll.messages[0]!.method, shown);
        assert.equal(seen[0]!.body, ll.messages[0]!.body.toString('hex'), `llhttp's body: ${shown}`);
        assert.deepEqual(kinds, Array(count).fill('LaneRequest'), `read by the lane: ${shown}`);
        checked += 1;
      }
    } finally {
      await server.close();
    }
    assert.ok(checked > 20, `the fuzz reached accepted bodies (${checked})`);
    assert.ok(split > 5, `and split them in several reads (${split})`);
  });
});
