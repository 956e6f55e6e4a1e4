/**
 * NodeRequest: the lazy web `Request` over node's IncomingMessage, through a real server.
 */
import assert from 'node:assert/strict';
import { connect, type Socket } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { toNativeRequest } from '../../src/gateway/index.ts';
import { NodeRequest } from '../../src/gateway/node-request.ts';
import type { StrataServer } from '../../src/server.ts';
import { bodyOf, deferred, headerValues, raw, start } from '../fixtures/gateway/helpers.ts';
import { rawRequest, waitFor } from '../fixtures/http.ts';

type Reader = (request: Request) => Promise<unknown>;

/** Ways of reading a body, each reporting what it got in a JSON-friendly shape. */
const READERS: Record<string, Reader> = {
  text: (r) => r.text(),
  json: (r) => r.json(),
  bytes: async (r) => [...(await r.bytes())],
  arrayBuffer: async (r) => [...new Uint8Array(await r.arrayBuffer())],
  blob: async (r) => {
    const blob = await r.blob();
    return { size: blob.size, type: blob.type, bytes: [...new Uint8Array(await blob.arrayBuffer())] };
  },
  formData: async (r) => {
    const out: Record<string, unknown> = {};
    for (const [key, value] of await r.formData()) {
      out[key] =
        typeof value === 'string' ? value : { name: value.name, type: value.type, text: await value.text() };
    }
    return out;
  },
  stream: async (r) => {
    const bytes: number[] = [];
    for await (const chunk of r.body!) bytes.push(...chunk);
    return bytes;
  },
  streamLength: async (r) => {
    let n = 0;
    for await (const chunk of r.body!) n += chunk.byteLength;
    return n;
  },
};

/**
 * Reports what it saw: `?read=a,b` reads the body with each reader in turn (recording a value or
 * an error); `&strict` lets a read error escape to the server instead; `&peek` looks at
 * `request.body` first (as a middleware checking `if (request.body)` would).
 */
async function inspect(request: Request): Promise<Response> {
  const url = new URL(request.url);
  const reads = (url.searchParams.get('read') ?? '').split(',').filter((r) => r !== '');
  const strict = url.searchParams.has('strict');
  const seen: Record<string, unknown> = {
    isRequest: request instanceof Request,
    tag: Object.prototype.toString.call(request),
    method: request.method,
    url: request.url,
    usedBefore: request.bodyUsed,
  };
  if (url.searchParams.has('peek')) seen.bodyNull = request.body === null;
  const results: unknown[] = [];
  for (const name of reads) {
    const reader = READERS[name]!;
    if (strict) results.push({ value: await reader(request) });
    else {
      try {
        results.push({ value: await reader(request) });
      } catch (err) {
        results.push({ error: (err as Error).name, code: (err as { code?: string }).code });
      }
    }
  }
  seen.results = results;
  seen.usedAfter = request.bodyUsed;
  return Response.json(seen, { headers: { 'x-method': request.method, 'x-url': request.url } });
}

function resultsOf(seen: Record<string, unknown>): { value?: unknown; error?: string; code?: string }[] {
  return seen.results as { value?: unknown; error?: string; code?: string }[];
}

describe('request: method and url', () => {
  let server: StrataServer;
  before(async () => {
    server = await start(inspect);
  });
  after(() => server.close());

  test('instanceof Request, with method, url and query as sent', async () => {
    const res = await fetch(`${server.url}/path/x?y=1&z=%20&y=2`, { headers: { 'X-A': 'one' } });
    const seen = await res.json();
    assert.equal(seen.isRequest, true);
    assert.equal(seen.tag, '[object Request]');
    assert.equal(seen.method, 'GET');
    assert.equal(seen.url, `${server.url}/path/x?y=1&z=%20&y=2`);
    assert.deepEqual(new URL(seen.url).searchParams.getAll('y'), ['1', '2']);
  });

  for (const method of ['GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS', 'HEAD', 'PURGE']) {
    test(`method ${method} is passed through`, async () => {
      const res = await raw(server.port, '/m', { method });
      assert.equal(res.status, 200);
      assert.deepEqual(headerValues(res.text, 'x-method'), [method]);
    });
  }

  // Request targets and what request.url must be; DEFAULT stands for the server's own authority.
  const targets: { name: string; line: string; host?: string | null; url: string }[] = [
    { name: 'origin-form with query', line: 'GET /a/b?c=d&e HTTP/1.1', url: 'http://h/a/b?c=d&e' },
    { name: 'origin-form root', line: 'GET / HTTP/1.1', url: 'http://h/' },
    {
      name: 'percent-encoded path',
      line: 'GET /%E2%9C%93/%20?q=%26 HTTP/1.1',
      url: 'http://h/%E2%9C%93/%20?q=%26',
    },
    {
      name: 'absolute-form',
      line: 'GET http://example.com/p?q HTTP/1.1',
      url: 'http://example.com/p?q',
    },
    {
      name: 'absolute-form with a port',
      line: 'GET http://example.com:8080/x HTTP/1.1',
      url: 'http://example.com:8080/x',
    },
    {
      // RFC 9110 §4.2.4: userinfo in an http(s) URI is an error; the server's edge answers 400.
      name: 'absolute-form with userinfo (refused)',
      line: 'GET http://user:pw@example.com/z HTTP/1.1',
      url: 'REFUSED',
    },
    {
      name: 'absolute-form https on a plain listener (the scheme is the listener’s)',
      line: 'GET https://example.com/y HTTP/1.1',
      url: 'http://example.com/y',
    },
    { name: 'asterisk-form', line: 'OPTIONS * HTTP/1.1', url: 'http://h/*' },
    { name: 'HTTP/1.0 without Host', line: 'GET /old HTTP/1.0', host: null, url: 'DEFAULT/old' },
  ];
  for (const { name, line, host, url } of targets) {
    test(`request.url for ${name}`, async () => {
      const lines = [line];
      if (host !== null) lines.push(`Host: ${host ?? 'h'}`);
      const res = await rawRequest(server.port, [...lines, 'Connection: close', '', ''].join('\r\n'));
      if (url === 'REFUSED') {
        assert.equal(res.status, 400, res.text);
        return;
      }
      assert.equal(res.status, 200, res.text);
      const expected = url.replace('DEFAULT', server.url);
      assert.deepEqual(headerValues(res.text, 'x-url'), [expected]);
      assert.doesNotThrow(() => new URL(expected));
    });
  }

  // Host values: a usable one is kept; one that is not `host[:port]` is refused 400 by the
  // server's edge (the gateway's own rule too: src/gateway/node-request.ts `isValidHost`); one of
  // that shape that WHATWG URL still refuses (a bad IPv4 or IPv6 literal) gives the server's own
  // authority, so `new URL(request.url)` never throws.
  const hosts: { host: string; outcome: 'kept' | 'default' | 'refused' }[] = [
    { host: 'example.com', outcome: 'kept' },
    { host: 'example.com:8080', outcome: 'kept' },
    { host: 'sub.domain-x.io', outcome: 'kept' },
    { host: '[::1]:3000', outcome: 'kept' },
    { host: '127.0.0.1:80', outcome: 'kept' },
    { host: 'a:', outcome: 'kept' },
    { host: 'bad host', outcome: 'refused' },
    { host: 'a/b', outcome: 'refused' },
    { host: 'x@y', outcome: 'refused' },
    { host: 'a?b', outcome: 'refused' },
    { host: 'a#b', outcome: 'refused' },
    { host: '<script>', outcome: 'refused' },
    { host: '', outcome: 'refused' },
    { host: 'evil.com:99999999', outcome: 'refused' },
    { host: ':80', outcome: 'refused' },
    { host: 'a\\b', outcome: 'refused' },
    { host: 'a:99999', outcome: 'refused' },
    { host: 'a%zz', outcome: 'refused' },
    { host: 'a%00b', outcome: 'refused' },
    { host: '1.2.3.999', outcome: 'default' },
    { host: '999999999999', outcome: 'default' },
    { host: '1.2.3.4.5', outcome: 'default' },
    { host: '0x100000000', outcome: 'default' },
    { host: '[::::]', outcome: 'default' },
    { host: '[1.2.3.4]', outcome: 'default' },
  ];
  for (const { host, outcome } of hosts) {
    test(`Host ${JSON.stringify(host)}: ${outcome}; new URL(request.url) never throws`, async () => {
      const res = await rawRequest(
        server.port,
        `GET /p?q HTTP/1.1\r\nHost: ${host}\r\nConnection: close\r\n\r\n`,
      );
      if (outcome === 'refused') {
        assert.equal(res.status, 400, res.text);
        return;
      }
      assert.equal(res.status, 200, res.text);
      const [url] = headerValues(res.text, 'x-url');
      assert.doesNotThrow(() => new URL(url!), `request.url ${url} parses`);
      assert.equal(url, `${outcome === 'kept' ? `http://${host}` : server.url}/p?q`);
    });
  }
});

describe('request: body', () => {
  let server: StrataServer;
  before(async () => {
    server = await start(inspect, { maxBodySize: 64 * 1024 });
  });
  after(() => server.close());

  async function read(path: string, init: RequestInit): Promise<Record<string, unknown>> {
    const res = await fetch(server.url + path, init);
    assert.equal(res.status, 200);
    return res.json();
  }

  const all256 = new Uint8Array(256).map((_, i) => i);
  const multipart = (): FormData => {
    const form = new FormData();
    form.set('name', 'ada');
    form.set('file', new Blob(['file content'], { type: 'text/x-note' }), 'note.txt');
    return form;
  };
  const bodies: [string, () => RequestInit, unknown][] = [
    ['text', () => ({ method: 'POST', body: 'héllo ✓' }), 'héllo ✓'],
    ['json', () => ({ method: 'POST', body: '{"a":[1,{"b":null}]}' }), { a: [1, { b: null }] }],
    ['bytes', () => ({ method: 'POST', body: all256 }), [...all256]],
    ['arrayBuffer', () => ({ method: 'POST', body: all256 }), [...all256]],
    ['stream', () => ({ method: 'POST', body: all256 }), [...all256]],
    [
      'blob',
      () => ({ method: 'POST', body: all256, headers: { 'content-type': 'application/x-bin' } }),
      { size: 256, type: 'application/x-bin', bytes: [...all256] },
    ],
    [
      'blob',
      () => ({ method: 'POST', body: 'x' }),
      { size: 1, type: 'text/plain;charset=utf-8', bytes: [120] },
    ],
    [
      'formData',
      () => ({ method: 'POST', body: new URLSearchParams('a=1&b=two+words&a=3') }),
      { a: '3', b: 'two words' },
    ],
    [
      'formData',
      () => ({ method: 'POST', body: multipart() }),
      { name: 'ada', file: { name: 'note.txt', type: 'text/x-note', text: 'file content' } },
    ],
    ['streamLength', () => ({ method: 'POST', body: 'z'.repeat(60_000) }), 60_000],
    ['text', () => ({ method: 'PUT', body: '' }), ''],
  ];
  for (const [reader, init, expected] of bodies) {
    const shown = JSON.stringify(expected).slice(0, 40);
    test(`${init().method} body read with ${reader}() gives ${shown}`, async () => {
      const seen = await read(`/?read=${reader}`, init());
      assert.equal(seen.usedBefore, false);
      assert.deepEqual(resultsOf(seen), [{ value: expected }]);
      // An empty body arrives as Content-Length: 0, a null body, which stays unused (as undici's).
      if (!reader.startsWith('stream')) assert.equal(seen.usedAfter, expected !== '');
    });
  }

  test('bodyUsed is true once the body stream has been read to the end', async () => {
    const seen = await read('/?read=streamLength', { method: 'POST', body: 'abc' });
    assert.deepEqual(resultsOf(seen), [{ value: 3 }]);
    assert.equal(seen.usedAfter, true);
  });

  const bom: [string, unknown][] = [
    ['text', 'hi'],
    ['json', { a: 1 }],
    ['bytes', [0xef, 0xbb, 0xbf, ...new TextEncoder().encode('{"a":1}')].slice(0, 3)],
  ];
  for (const [reader, expected] of bom) {
    test(`a UTF-8 BOM is ${reader === 'bytes' ? 'kept by bytes()' : `stripped by ${reader}()`}`, async () => {
      const text = reader === 'text' ? 'hi' : '{"a":1}';
      const body = new Uint8Array([0xef, 0xbb, 0xbf, ...new TextEncoder().encode(text)]);
      const seen = await read(`/?read=${reader}`, { method: 'POST', body });
      const value = resultsOf(seen)[0]!.value;
      if (reader === 'bytes') assert.deepEqual((value as number[]).slice(0, 3), expected);
      else assert.deepEqual(value, expected);
    });
  }

  // Reading a body twice: the second read rejects with a TypeError, whatever the pair.
  const pairs: { reads: string; peek?: boolean; todo?: string }[] = [
    { reads: 'text,text' },
    { reads: 'text,json' },
    { reads: 'json,arrayBuffer' },
    { reads: 'bytes,blob' },
    { reads: 'blob,bytes' },
    { reads: 'arrayBuffer,stream' },
    { reads: 'formData,text' },
    {
      reads: 'text,formData',
    },
    {
      reads: 'stream,text',
    },
    {
      reads: 'text,stream',
      peek: true,
    },
  ];
  for (const { reads, peek, todo } of pairs) {
    test(
      `reading twice (${reads}${peek ? ', after a peek at request.body' : ''}) rejects the second read with a TypeError`,
      todo === undefined ? {} : { todo },
      async () => {
        const body = reads.startsWith('json') ? '{"x":1}' : 'x=1';
        const seen = await read(`/?read=${reads}${peek ? '&peek' : ''}`, {
          method: 'POST',
          body,
          headers: { 'content-type': 'application/x-www-form-urlencoded' },
          signal: AbortSignal.timeout(600),
        });
        const [first, second] = resultsOf(seen);
        assert.ok(first && 'value' in first, `first read: ${JSON.stringify(first)}`);
        assert.equal(second?.error, 'TypeError', `second read: ${JSON.stringify(second)}`);
        assert.equal(seen.usedAfter, true);
      },
    );
  }

  test('a GET has a null body, bodyUsed false, and text() gives ""', async () => {
    const res = await fetch(`${server.url}/?read=text&peek`);
    const seen = await res.json();
    assert.equal(seen.bodyNull, true);
    assert.equal(seen.usedBefore, false);
    assert.deepEqual(seen.results, [{ value: '' }]);
  });

  test('Content-Length: 0 is a null body', async () => {
    const res = await raw(server.port, '/?read=text&peek', { method: 'POST', body: '' });
    const seen = JSON.parse(bodyOf(res.text));
    assert.equal(seen.bodyNull, true);
    assert.deepEqual(seen.results, [{ value: '' }]);
  });

  test('a null body can be read twice and stays unused, as in undici', async () => {
    const seen = await read('/?read=text,text', {});
    assert.deepEqual(resultsOf(seen), [{ value: '' }, { value: '' }]);
    assert.equal(seen.usedAfter, false);
  });

  test('malformed JSON rejects inside the app with a SyntaxError', async () => {
    const seen = await read('/?read=json', { method: 'POST', body: '{"a":' });
    assert.equal(resultsOf(seen)[0]!.error, 'SyntaxError');
  });

  test('the body stream delivers chunks as they arrive, not at the end', async () => {
    const first = deferred<string>();
    const s = await start(async (request: Request) => {
      const reader = request.body!.getReader();
      const decoder = new TextDecoder();
      const one = await reader.read();
      first.resolve(decoder.decode(one.value));
      let rest = '';
      for (;;) {
        const { done, value } = await reader.read();
        if (done) break;
        rest += decoder.decode(value);
      }
      return Response.json({ rest, used: request.bodyUsed });
    });
    const socket = connect(s.port, '127.0.0.1');
    try {
      const response = collect(socket);
      socket.write('POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n');
      socket.write('5\r\nfirst\r\n');
      assert.equal(await first.promise, 'first', 'the app read chunk 1 before chunk 2 was sent');
      socket.write('6\r\nsecond\r\n7\r\n, third\r\n0\r\n\r\n');
      const text = await response;
      assert.deepEqual(JSON.parse(bodyOf(text)), { rest: 'second, third', used: true });
    } finally {
      socket.destroy();
      await s.close();
    }
  });

  test('toNativeRequest (strata-stack/gateway) gives a real undici Request for brand-checking APIs', async () => {
    let native: Request | undefined;
    let lazy = false;
    const s = await start(async (request: Request) => {
      lazy = request instanceof NodeRequest;
      native = toNativeRequest(request);
      const copy = new Request(native, { headers: { 'x-copied': '1' } });
      return new Response(`${await copy.text()} ${copy.headers.get('x-copied')} ${copy.method}`);
    });
    try {
      const res = await fetch(s.url, { method: 'POST', body: 'via native' });
      assert.equal(await res.text(), 'via native 1 POST');
      assert.ok(lazy, 'the app got the lazy request');
      assert.ok(native instanceof Request && !(native instanceof NodeRequest));
      const plain = new Request('http://x/');
      assert.equal(toNativeRequest(plain), plain, 'a native request is returned as is');
    } finally {
      await s.close();
    }
  });

  // Sequences where this Request once parted ways with undici's; each must now behave the same.
  const divergent: {
    name: string;
    app: (request: Request) => Promise<unknown>;
    expect: unknown;
    todo?: string;
  }[] = [
    {
      name: 'clone() leaves the original readable',
      app: async (request) => {
        const copy = request.clone();
        return [await copy.text(), await request.text()];
      },
      expect: ['abc', 'abc'],
    },
    {
      name: 'text() works after merely touching request.body',
      app: async (request) => {
        void request.body; // e.g. a middleware checking `if (request.body)`
        await new Promise((r) => setTimeout(r, 50));
        return request.text();
      },
      expect: 'abc',
    },
    {
      name: 'request.body is the same stream on every access, and a peek leaves it unused',
      app: async (request) => {
        const first = request.body;
        return [
          first === request.body,
          first !== null,
          request.bodyUsed,
          await request.text(),
          request.bodyUsed,
        ];
      },
      expect: [true, true, false, 'abc', true],
    },
    {
      name: 'formData() works after a peek at request.body',
      app: async (request) => {
        void request.body;
        return Object.fromEntries(await request.formData());
      },
      expect: { abc: '' },
    },
    {
      name: 'a clone can be read with formData() while the original is read with text()',
      app: async (request) => {
        const copy = request.clone();
        return [
          Object.fromEntries(await copy.formData()),
          await request.text(),
          request.bodyUsed,
          copy.bodyUsed,
        ];
      },
      expect: [{ abc: '' }, 'abc', true, true],
    },
    {
      name: 'clone() after a read throws a TypeError, as in undici',
      app: async (request) => {
        await request.text();
        try {
          request.clone();
          return 'cloned';
        } catch (err) {
          return (err as Error).name;
        }
      },
      expect: 'TypeError',
    },
  ];
  for (const { name, app, expect, todo } of divergent) {
    test(name, todo === undefined ? {} : { todo }, async () => {
      const s = await start(async (request: Request) => Response.json(await app(request)));
      try {
        const res = await fetch(s.url, {
          method: 'POST',
          body: 'abc',
          headers: { 'content-type': 'application/x-www-form-urlencoded' },
          signal: AbortSignal.timeout(600),
        });
        assert.deepEqual(await res.json(), expect);
      } finally {
        s.node.closeAllConnections();
        await s.close();
      }
    });
  }
});

/** Collects a socket's bytes until it closes. */
function collect(socket: Socket): Promise<string> {
  const chunks: Buffer[] = [];
  return new Promise((resolve) => {
    socket.on('data', (c: Buffer) => chunks.push(c));
    socket.on('close', () => resolve(Buffer.concat(chunks).toString('latin1')));
    socket.on('error', () => {});
  });
}

describe('request: maxBodySize', () => {
  const LIMIT = 1000;
  let server: StrataServer;
  let appRuns = 0;
  before(async () => {
    server = await start(
      (request: Request) => {
        appRuns += 1;
        return inspect(request);
      },
      { maxBodySize: LIMIT },
    );
  });
  after(() => server.close());

  const chunked = (size: number): string[] => {
    const parts = [];
    for (let left = size; left > 0; left -= 400) {
      const n = Math.min(400, left);
      parts.push(`${n.toString(16)}\r\n${'q'.repeat(n)}\r\n`);
    }
    parts.push('0\r\n\r\n');
    return parts;
  };

  const cases: { name: string; head: string; body: string[]; status: number; appRuns: boolean }[] = [
    {
      name: 'Content-Length at the limit',
      head: `POST /?read=streamLength&strict HTTP/1.1\r\nHost: h\r\nConnection: close\r\nContent-Length: ${LIMIT}\r\n\r\n`,
      body: ['q'.repeat(LIMIT)],
      status: 200,
      appRuns: true,
    },
    {
      name: 'Content-Length one over the limit',
      head: `POST /?read=text&strict HTTP/1.1\r\nHost: h\r\nContent-Length: ${LIMIT + 1}\r\n\r\n`,
      body: ['q'.repeat(LIMIT + 1)],
      status: 413,
      appRuns: false,
    },
    {
      name: 'a huge Content-Length, no body sent',
      head: 'POST /?read=text&strict HTTP/1.1\r\nHost: h\r\nContent-Length: 999999999999\r\n\r\n',
      body: [],
      status: 413,
      appRuns: false,
    },
    ...['text', 'json', 'arrayBuffer', 'bytes', 'blob', 'stream', 'formData'].flatMap((reader) => [
      {
        name: `chunked at the limit, read with ${reader}()`,
        head: `POST /?read=${reader === 'json' || reader === 'formData' ? 'streamLength' : reader}&strict HTTP/1.1\r\nHost: h\r\nConnection: close\r\nTransfer-Encoding: chunked\r\n\r\n`,
        body: chunked(LIMIT),
        status: 200,
        appRuns: true,
      },
      {
        name: `chunked over the limit, read with ${reader}()`,
        head: `POST /?read=${reader}&strict HTTP/1.1\r\nHost: h\r\nContent-Type: application/x-www-form-urlencoded\r\nTransfer-Encoding: chunked\r\n\r\n`,
        body: chunked(LIMIT * 3),
        status: 413,
        appRuns: true,
      },
    ]),
    ...['text', 'bytes', 'formData'].map((reader) => ({
      name: `chunked over the limit, read with ${reader}() after a peek at request.body`,
      head: `POST /?read=${reader}&strict&peek HTTP/1.1\r\nHost: h\r\nContent-Type: application/x-www-form-urlencoded\r\nTransfer-Encoding: chunked\r\n\r\n`,
      body: chunked(LIMIT * 3),
      status: 413,
      appRuns: true,
    })),
  ];
  for (const c of cases) {
    test(`${c.name} → ${c.status}${c.appRuns ? '' : ' without running the app'}; the server serves on`, async () => {
      const before = appRuns;
      const res = await rawRequest(server.port, [c.head, ...c.body], { gapMs: 5 });
      assert.equal(res.status, c.status, res.text.slice(0, 300));
      assert.equal(appRuns > before, c.appRuns, 'whether the app ran');
      if (c.status === 413) {
        assert.match(bodyOf(res.text), /larger than the limit of 1000 bytes/);
        assert.equal(res.closed, true, 'the connection is closed, not drained');
      }
      const again = await fetch(`${server.url}/?read=text`, { method: 'POST', body: 'small' });
      assert.deepEqual((await again.json()).results, [{ value: 'small' }]);
    });
  }
});

describe('request: a body the app leaves unread, on a keep-alive connection', () => {
  // The next request on the connection must be answered, or the connection closed so the client
  // retries elsewhere; never left open and unread.
  const modes: { mode: string; todo?: string }[] = [
    { mode: 'ignore' },
    { mode: 'cancel' },
    { mode: 'read-all' },
    { mode: 'peek' },
    { mode: 'first-chunk' },
  ];
  let server: StrataServer;
  before(async () => {
    server = await start(
      async (request: Request) => {
        const mode = new URL(request.url).pathname.slice(1);
        if (mode === 'peek') void request.body;
        else if (mode === 'first-chunk') await request.body!.getReader().read();
        else if (mode === 'cancel') await request.body!.cancel();
        else if (mode === 'read-all') await request.arrayBuffer();
        return new Response(`done ${mode}`);
        // A stalled server socket is paused, so it never reads the client's FIN: cut shutdown short.
      },
      { shutdownTimeout: 300 },
    );
  });
  after(() => server.close());

  for (const { mode, todo } of modes) {
    test(
      `a 300 kB body the app handles by "${mode}" does not stall the connection`,
      todo === undefined ? {} : { todo },
      async () => {
        const socket = connect(server.port, '127.0.0.1');
        socket.on('error', () => {});
        const text = collect(socket);
        const body = 'b'.repeat(300_000);
        socket.write(`POST /${mode} HTTP/1.1\r\nHost: h\r\nContent-Length: ${body.length}\r\n\r\n`);
        socket.write(body);
        socket.write('GET /next HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n');
        const outcome = await Promise.race([text, new Promise<null>((r) => setTimeout(() => r(null), 1000))]);
        socket.destroy();
        assert.notEqual(outcome, null, 'the connection was left open with the next request unanswered');
        assert.match(outcome!, new RegExp(`done ${mode}`));
      },
    );
  }
});

// Bodies larger than the fast lane gathers itself (64 KiB): these reach the app while they are
// still arriving (a smaller one is read whole by the lane before the app runs).
const STREAMED_LENGTH = 500_000;

describe('request: a client that goes away', () => {
  test('text() rejects with STRATA_ERR_BODY_ABORTED when the body is cut short', async () => {
    const started = deferred();
    let outcome = 'pending';
    const server = await start(async (request: Request) => {
      const reading = request.text();
      started.resolve();
      try {
        await reading;
        outcome = 'resolved';
      } catch (err) {
        outcome = (err as { code?: string }).code ?? String(err);
      }
      return new Response('unreachable');
    });
    try {
      const socket = connect(server.port, '127.0.0.1');
      socket.on('error', () => {});
      socket.write(`POST / HTTP/1.1\r\nHost: h\r\nContent-Length: ${STREAMED_LENGTH}\r\n\r\nonly part of it`);
      await started.promise;
      socket.destroy();
      await waitFor(() => outcome !== 'pending', 2000, 'the read to settle');
      // node reports the abort itself ('aborted', ECONNRESET) before the gateway's close check.
      assert.ok(['STRATA_ERR_BODY_ABORTED', 'ECONNRESET'].includes(outcome), outcome);
      assert.equal((await fetch(server.url)).status, 200, 'the server serves on');
    } finally {
      await server.close();
    }
  });

  for (const reader of ['text', 'stream']) {
    test(`${reader} started after the client left settles (rejects) instead of hanging`, async () => {
      let outcome = 'pending';
      const started = deferred();
      const server = await start(
        async (request: Request) => {
          // Wait until the client is gone and node has finished closing the request.
          const aborted = new Promise((r) => request.signal.addEventListener('abort', r));
          started.resolve();
          await aborted;
          await new Promise((r) => setTimeout(r, 50));
          try {
            await READERS[reader]!(request);
            outcome = 'resolved';
          } catch (err) {
            outcome = (err as { code?: string }).code ?? String(err);
          }
          return new Response('unreachable');
        },
        { shutdownTimeout: 200 },
      );
      try {
        const socket = connect(server.port, '127.0.0.1');
        socket.on('error', () => {});
        socket.write(`POST / HTTP/1.1\r\nHost: h\r\nContent-Length: ${STREAMED_LENGTH}\r\n\r\npart`);
        await started.promise;
        socket.destroy();
        await waitFor(() => outcome !== 'pending', 500, 'the read to settle');
        assert.equal(outcome, 'STRATA_ERR_BODY_ABORTED');
      } finally {
        await server.close();
      }
    });
  }

  test('request.signal aborts (AbortError) when the client disconnects mid-request', async () => {
    const started = deferred();
    let reason = '';
    const server = await start(async (request: Request) => {
      if (new URL(request.url).pathname !== '/slow') return new Response('fast');
      const aborted = new Promise<void>((resolve) => {
        request.signal.addEventListener('abort', () => {
          reason = (request.signal.reason as Error).name;
          resolve();
        });
      });
      started.resolve();
      await aborted;
      return new Response('too late');
    });
    try {
      const socket = connect(server.port, '127.0.0.1');
      socket.on('error', () => {});
      socket.write('GET /slow HTTP/1.1\r\nHost: h\r\n\r\n');
      await started.promise;
      assert.equal(reason, '');
      socket.destroy();
      await waitFor(() => reason !== '', 2000, 'the abort');
      assert.equal(reason, 'AbortError');
      assert.equal((await fetch(server.url)).status, 200, 'the server serves on');
    } finally {
      await server.close();
    }
  });

  test('request.signal does not abort for requests that complete normally', async () => {
    let aborts = 0;
    let seen = 0;
    const server = await start(async (request: Request) => {
      seen += 1;
      request.signal.addEventListener('abort', () => (aborts += 1));
      if (request.method === 'POST') await request.text();
      if (new URL(request.url).pathname === '/stream') {
        return new Response(
          new ReadableStream({
            start(c) {
              c.enqueue(new TextEncoder().encode('streamed'));
              c.close();
            },
          }),
        );
      }
      return new Response('ok');
    });
    try {
      assert.equal(await (await fetch(server.url)).text(), 'ok');
      assert.equal(await (await fetch(`${server.url}/stream`)).text(), 'streamed');
      assert.equal(await (await fetch(server.url, { method: 'POST', body: 'b' })).text(), 'ok');
      const res = await raw(server.port, '/');
      assert.equal(res.closed, true);
    } finally {
      await server.close();
    }
    assert.equal(seen, 4);
    assert.equal(aborts, 0, 'no signal aborted, even after every connection closed');
  });

  test('request.signal is already aborted when first read after the client left', async () => {
    const started = deferred();
    const gate = deferred();
    let aborted: boolean | undefined;
    const server = await start(async (request: Request) => {
      started.resolve();
      await gate.promise;
      aborted = request.signal.aborted;
      return new Response('late');
    });
    try {
      const socket = connect(server.port, '127.0.0.1');
      socket.on('error', () => {});
      socket.write('GET / HTTP/1.1\r\nHost: h\r\n\r\n');
      await started.promise;
      socket.destroy();
      await waitForConnections(server, 0);
      gate.resolve();
      await waitFor(() => aborted !== undefined, 2000, 'the app to look');
      assert.equal(aborted, true);
    } finally {
      await server.close();
    }
  });
});

/** Waits until the server has exactly `n` open connections. */
async function waitForConnections(server: StrataServer, n: number): Promise<void> {
  for (let i = 0; i < 200; i++) {
    const count = await new Promise<number>((r) => server.node.getConnections((_err, c) => r(c)));
    if (count === n) return;
    await new Promise((r) => setTimeout(r, 10));
  }
  throw new Error(`timed out waiting for ${n} connections`);
}
