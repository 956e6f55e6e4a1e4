import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { NodeRequest } from '../../src/gateway/index.ts';
import { type StrataServer, serve } from '../../src/server/index.ts';
import { rawRequest, waitFor } from '../fixtures/http.ts';

/** An app that reports what it saw of the request, as JSON. */
async function inspect(request: Request): Promise<Response> {
  const url = new URL(request.url);
  const mode = url.searchParams.get('read');
  const seen: Record<string, unknown> = {
    isRequest: request instanceof Request,
    headersInstance: request.headers instanceof Headers,
    method: request.method,
    url: request.url,
    a: request.headers.get('x-a'),
    hasA: request.headers.has('X-A'),
  };
  if (mode === 'text') seen.body = await request.text();
  else if (mode === 'json') seen.body = await request.json();
  else if (mode === 'bytes') seen.body = [...(await request.bytes())];
  else if (mode === 'arrayBuffer') seen.body = (await request.arrayBuffer()).byteLength;
  else if (mode === 'blob') {
    const blob = await request.blob();
    seen.body = { size: blob.size, type: blob.type };
  } else if (mode === 'form') seen.body = Object.fromEntries((await request.formData()).entries());
  else if (mode === 'stream') {
    const chunks: number[] = [];
    for await (const chunk of request.body!) chunks.push(chunk.byteLength);
    seen.body = chunks.reduce((a, b) => a + b, 0);
  } else if (mode === 'twice') {
    await request.text();
    seen.usedAfter = request.bodyUsed;
    seen.second = await request.text().then(
      () => 'read again',
      (e: Error) => e.name,
    );
  } else if (mode === 'iterate') {
    seen.entries = [...request.headers].filter(([k]) => k.startsWith('x-'));
    request.headers.set('x-added', 'yes');
    seen.added = request.headers.get('x-added');
  }
  return Response.json(seen);
}

describe('the lazy Request over node', () => {
  let server: StrataServer;
  before(async () => {
    server = await serve(inspect, { port: 0, logger: false, maxBodySize: 64 * 1024 });
  });
  after(() => server.close());

  test('method, url with query, headers; instanceof Request and Headers', async () => {
    const res = await fetch(`${server.url}/path/x?y=1&z=%20`, { headers: { 'X-A': 'one' } });
    const seen = await res.json();
    assert.equal(seen.isRequest, true);
    assert.equal(seen.headersInstance, true);
    assert.equal(seen.method, 'GET');
    assert.equal(seen.url, `${server.url}/path/x?y=1&z=%20`);
    assert.equal(seen.a, 'one');
    assert.equal(seen.hasA, true);
  });

  test('repeated headers are combined with ", " as Fetch does', async () => {
    const res = await rawRequest(
      server.port,
      'GET / HTTP/1.1\r\nHost: h\r\nX-A: 1\r\nx-a: 2\r\nConnection: close\r\n\r\n',
    );
    assert.match(res.text, /"a":"1, 2"/);
  });

  test('iteration, then set() on the materialized headers', async () => {
    const res = await fetch(`${server.url}/?read=iterate`, { headers: { 'x-b': '2', 'x-a': '1' } });
    const seen = await res.json();
    assert.deepEqual(seen.entries, [
      ['x-a', '1'],
      ['x-b', '2'],
    ]);
    assert.equal(seen.added, 'yes');
  });

  const hostileHosts = ['bad host', 'a/b', 'x@y', '', 'evil.com:99999999'];
  for (const host of hostileHosts) {
    test(`a Host of ${JSON.stringify(host)} never breaks new URL(request.url)`, async () => {
      const res = await rawRequest(
        server.port,
        `GET /p HTTP/1.1\r\nHost: ${host}\r\nConnection: close\r\n\r\n`,
      );
      if (res.status === 400) return; // node's parser refused it first: also fine
      assert.equal(res.status, 200, res.text);
      const url = JSON.parse(res.text.slice(res.text.indexOf('\r\n\r\n') + 4)).url as string;
      assert.doesNotThrow(() => new URL(url));
      assert.equal(new URL(url).pathname, '/p');
    });
  }

  test('absolute-form targets (RFC 9112 §3.2.2) take their authority from the target', async () => {
    const res = await rawRequest(
      server.port,
      'GET http://example.com/abs?q=1 HTTP/1.1\r\nHost: other\r\nConnection: close\r\n\r\n',
    );
    assert.match(res.text, /"url":"http:\/\/example.com\/abs\?q=1"/);
  });

  const bodies: [string, RequestInit, unknown][] = [
    ['text', { method: 'POST', body: 'héllo' }, 'héllo'],
    ['json', { method: 'POST', body: '{"a":[1,{"b":null}]}' }, { a: [1, { b: null }] }],
    ['arrayBuffer', { method: 'POST', body: new Uint8Array(1000) }, 1000],
    [
      'blob',
      { method: 'POST', body: 'xyz', headers: { 'content-type': 'text/x' } },
      { size: 3, type: 'text/x' },
    ],
    ['form', { method: 'POST', body: new URLSearchParams('a=1&b=two') }, { a: '1', b: 'two' }],
    ['stream', { method: 'POST', body: 'z'.repeat(50_000) }, 50_000],
  ];
  for (const [mode, init, expected] of bodies) {
    test(`body as ${mode}`, async () => {
      const res = await fetch(`${server.url}/?read=${mode}`, init);
      assert.deepEqual((await res.json()).body, expected);
    });
  }

  test('multipart form data', async () => {
    const form = new FormData();
    form.set('name', 'ada');
    form.set('file', new Blob(['content']), 'a.txt');
    const res = await fetch(`${server.url}/?read=form`, { method: 'POST', body: form });
    const body = (await res.json()).body;
    assert.equal(body.name, 'ada');
  });

  test('binary bodies arrive byte for byte (all 256 values)', async () => {
    const bytes = new Uint8Array(256).map((_, i) => i);
    const res = await fetch(`${server.url}/?read=bytes`, { method: 'POST', body: bytes });
    assert.deepEqual((await res.json()).body, [...bytes]);
  });

  test('text() strips a UTF-8 BOM', async () => {
    const body = new Uint8Array([0xef, 0xbb, 0xbf, 0x68, 0x69]);
    const res = await fetch(`${server.url}/?read=text`, { method: 'POST', body });
    assert.equal((await res.json()).body, 'hi');
  });

  test('a body read twice rejects the second time', async () => {
    const res = await fetch(`${server.url}/?read=twice`, { method: 'POST', body: 'x' });
    const seen = await res.json();
    assert.equal(seen.usedAfter, true);
    assert.equal(seen.second, 'TypeError');
  });

  test('a chunked body over maxBodySize rejects with 413 and the server keeps serving', async () => {
    const chunk = `${(40_000).toString(16)}\r\n${'q'.repeat(40_000)}\r\n`;
    const res = await rawRequest(
      server.port,
      ['POST /?read=text HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n', chunk, chunk],
      { gapMs: 10 },
    );
    assert.equal(res.status, 413);
    const again = await fetch(`${server.url}/?read=text`, { method: 'POST', body: 'small' });
    assert.equal((await again.json()).body, 'small');
  });

  test('malformed JSON rejects inside the app (the app decides the status)', async () => {
    const res = await fetch(`${server.url}/?read=json`, { method: 'POST', body: '{"a":' });
    assert.equal(res.status, 500);
  });

  test('NodeRequest.toNative gives a real undici Request for brand-checking APIs', async () => {
    let native: Request | undefined;
    const s = await serve(
      async (request: Request) => {
        native = NodeRequest.toNative(request);
        // A brand-checking API: undici's own constructor accepts it (and takes over its body).
        const copy = new Request(native, { headers: { 'x-copied': '1' } });
        return new Response(`${await copy.text()} ${copy.headers.get('x-copied')}`);
      },
      { port: 0, logger: false },
    );
    try {
      const res = await fetch(s.url, { method: 'POST', body: 'via native' });
      assert.equal(await res.text(), 'via native 1');
      assert.ok(native instanceof Request);
    } finally {
      await s.close();
    }
  });
});

describe('request.signal', () => {
  test('aborts when the client disconnects mid-request, and not after a normal response', async () => {
    const aborted: string[] = [];
    let started = false;
    const server = await serve(
      async (request: Request) => {
        const path = new URL(request.url).pathname;
        request.signal.addEventListener('abort', () => aborted.push(path));
        if (path === '/slow') {
          started = true;
          await new Promise((r) => setTimeout(r, 2000));
        }
        return new Response('done');
      },
      { port: 0, logger: false },
    );
    try {
      assert.equal(await (await fetch(`${server.url}/fast`)).text(), 'done');
      const socket = connect(server.port, '127.0.0.1');
      socket.write('GET /slow HTTP/1.1\r\nHost: h\r\n\r\n');
      await waitFor(() => started, 2000, 'the slow request');
      socket.destroy();
      await waitFor(() => aborted.includes('/slow'), 2000, 'the abort');
      assert.deepEqual(aborted, ['/slow']);
    } finally {
      await server.close();
    }
  });
});
