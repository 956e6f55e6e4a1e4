/**
 * The proxy is never a smuggling relay: an ambiguous request is refused at the edge and never
 * forwarded, and an ambiguous response is never relayed. Raw sockets both sides: the upstream
 * is a net.Server that records every byte it receives.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { StrataServer } from '../../src/server.ts';
import { rawRequest } from '../fixtures/http.ts';
import { type RawUpstream, startProxy, startRawUpstream } from '../proxy/fixtures.ts';

const OK = 'HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok';

/**
 * Whether `bytes` are nothing, or exactly one request framed beyond doubt: one head, at most
 * one Content-Length or a chunked body (never both), the body complete, nothing after it.
 * Returns what is wrong, or undefined.
 */
function framingProblem(bytes: string): string | undefined {
  if (bytes === '') return undefined;
  const end = bytes.indexOf('\r\n\r\n');
  if (end === -1) return 'an incomplete head';
  const lines = bytes.slice(0, end).split('\r\n');
  if (!/^[A-Z]+ \S+ HTTP\/1\.1$/.test(lines[0]!)) return `request line ${JSON.stringify(lines[0])}`;
  const lengths: string[] = [];
  const codings: string[] = [];
  for (const line of lines.slice(1)) {
    const m = /^([!#$%&'*+.^_`|~0-9A-Za-z-]+):[ \t]*(.*?)[ \t]*$/.exec(line);
    if (m === null || /[\0\r\n]/.test(line)) return `header line ${JSON.stringify(line)}`;
    const name = m[1]!.toLowerCase();
    if (name === 'content-length') lengths.push(m[2]!);
    if (name === 'transfer-encoding') codings.push(m[2]!);
  }
  const body = bytes.slice(end + 4);
  if (lengths.length > 0 && codings.length > 0) return 'both Content-Length and Transfer-Encoding';
  if (lengths.length > 1) return 'two Content-Lengths';
  if (codings.length > 0) {
    if (codings.join(',').trim().toLowerCase() !== 'chunked') return `Transfer-Encoding ${codings.join(',')}`;
    let at = 0;
    for (;;) {
      const eol = body.indexOf('\r\n', at);
      if (eol === -1) return 'an incomplete chunked body';
      const size = Number.parseInt(body.slice(at, eol), 16);
      if (!/^[0-9a-fA-F]+$/.test(body.slice(at, eol)))
        return `chunk size ${JSON.stringify(body.slice(at, eol))}`;
      at = eol + 2;
      if (size === 0) return body.slice(at) === '\r\n' ? undefined : 'bytes after the last chunk';
      if (body.slice(at + size, at + size + 2) !== '\r\n') return 'a chunk without its CRLF';
      at += size + 2;
    }
  }
  const length = lengths.length === 0 ? 0 : Number(lengths[0]);
  if (!/^[0-9]+$/.test(lengths[0] ?? '0')) return `Content-Length ${lengths[0]}`;
  if (body.length !== length) return `a body of ${body.length} bytes for Content-Length ${length}`;
  return undefined;
}

// Each sends one hostile request (often with a second one hidden in it) to a proxy route.
const HOSTILE: [string, string][] = [
  [
    'Content-Length and Transfer-Encoding',
    'POST /api HTTP/1.1\r\nHost: a\r\nContent-Length: 6\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\nGET /api/smuggled HTTP/1.1\r\nHost: a\r\n\r\n',
  ],
  [
    'Transfer-Encoding and Content-Length',
    'POST /api HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\nContent-Length: 40\r\n\r\n0\r\n\r\nGET /api/smuggled HTTP/1.1\r\nHost: a\r\n\r\n',
  ],
  [
    'two different Content-Lengths',
    'POST /api HTTP/1.1\r\nHost: a\r\nContent-Length: 0\r\nContent-Length: 38\r\n\r\nGET /api/smuggled HTTP/1.1\r\nHost: a\r\n\r\n',
  ],
  [
    'two equal Content-Lengths',
    'POST /api HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nContent-Length: 5\r\n\r\nhello',
  ],
  ['a Content-Length list', 'POST /api HTTP/1.1\r\nHost: a\r\nContent-Length: 5, 5\r\n\r\nhello'],
  ['a signed Content-Length', 'POST /api HTTP/1.1\r\nHost: a\r\nContent-Length: +5\r\n\r\nhello'],
  ['a negative Content-Length', 'POST /api HTTP/1.1\r\nHost: a\r\nContent-Length: -1\r\n\r\nhello'],
  ['Transfer-Encoding gzip', 'POST /api HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip\r\n\r\nhello'],
  [
    'Transfer-Encoding chunked, gzip',
    'POST /api HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked, gzip\r\n\r\n0\r\n\r\n',
  ],
  [
    'Transfer-Encoding xchunked',
    'POST /api HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: xchunked\r\n\r\n0\r\n\r\n',
  ],
  [
    'Transfer-Encoding with a space before the colon',
    'POST /api HTTP/1.1\r\nHost: a\r\nTransfer-Encoding : chunked\r\nContent-Length: 5\r\n\r\n0\r\n\r\n',
  ],
  [
    'Transfer-Encoding by obs-fold',
    'POST /api HTTP/1.1\r\nHost: a\r\nTransfer-Encoding:\r\n chunked\r\n\r\n0\r\n\r\nGET /api/smuggled HTTP/1.1\r\nHost: a\r\n\r\n',
  ],
  ['obs-fold in a header', 'GET /api HTTP/1.1\r\nHost: a\r\nX-Folded: one\r\n two\r\n\r\n'],
  ['bare LF line endings', 'GET /api HTTP/1.1\nHost: a\nX-A: 1\n\n'],
  [
    'a bare LF inside the head',
    'GET /api HTTP/1.1\r\nHost: a\r\nX-A: 1\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n',
  ],
  ['a bare CR inside a value', 'GET /api HTTP/1.1\r\nHost: a\r\nX-A: 1\rX-B: 2\r\n\r\n'],
  ['a NUL in a value', 'GET /api HTTP/1.1\r\nHost: a\r\nX-A: a\0b\r\n\r\n'],
  ['a NUL in the target', 'GET /api\0/x HTTP/1.1\r\nHost: a\r\n\r\n'],
  [
    'an oversized chunk size',
    'POST /api HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\nffffffffffffffffffff\r\nhello\r\n0\r\n\r\n',
  ],
  [
    'a chunk size with garbage',
    'POST /api HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n5x\r\nhello\r\n0\r\n\r\n',
  ],
  [
    'a chunk without its CRLF',
    'POST /api HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhelloXX0\r\n\r\nGET /api/smuggled HTTP/1.1\r\nHost: a\r\n\r\n',
  ],
  [
    'a chunk size with a bare LF',
    'POST /api HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n5\nhello\r\n0\r\n\r\n',
  ],
  [
    'a negative chunk size',
    'POST /api HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n-5\r\nhello\r\n0\r\n\r\n',
  ],
  ['two Host headers', 'GET /api HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n'],
  ['no Host in HTTP/1.1', 'GET /api HTTP/1.1\r\nX-A: 1\r\n\r\n'],
  ['HTTP/0.9', 'GET /api\r\n\r\n'],
  ['HTTP/2.0 in an HTTP/1 request line', 'GET /api HTTP/2.0\r\nHost: a\r\n\r\n'],
];

describe('an ambiguous request is refused at the edge and never forwarded', () => {
  let upstream: RawUpstream;
  let server: StrataServer;
  let port: number;
  before(async () => {
    upstream = await startRawUpstream(OK);
    server = await startProxy([upstream.url]);
    port = Number(new URL(server.url).port);
  });
  after(async () => {
    await server.close();
    await upstream.close();
  });

  for (const [name, bytes] of HOSTILE) {
    test(name, async () => {
      const before = upstream.received.length;
      const reply = await rawRequest(port, bytes, { timeoutMs: 1500 });
      // Whatever reached the upstream on the connections this request opened.
      const got = upstream.received
        .slice(before)
        .map((c) => Buffer.concat(c).toString('latin1'))
        .join('');
      assert.doesNotMatch(got, /smuggled/, 'a hidden request reached the upstream');
      assert.equal(framingProblem(got), undefined, `the upstream received ${JSON.stringify(got)}`);
      assert.ok(
        got === '' || reply.status === 200,
        `forwarded, yet the client got ${reply.status}: ${JSON.stringify(reply.text.slice(0, 80))}`,
      );
      if (got === '') assert.ok(reply.status >= 400 || reply.closed, `status ${reply.status}`);
      // Never two answers (a response to a request the client did not make).
      assert.ok((reply.text.match(/HTTP\/1\.1 \d{3}/g) ?? []).length <= 1, reply.text);
    });
  }

  test('a well-formed chunked request is forwarded as one well-framed request', async () => {
    const before = upstream.received.length;
    const reply = await rawRequest(
      port,
      'POST /api HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n5\r\nhello\r\n0\r\n\r\n',
    );
    assert.equal(reply.status, 200);
    const got = upstream.received
      .slice(before)
      .map((c) => Buffer.concat(c).toString('latin1'))
      .join('');
    assert.match(got, /hello/);
    assert.equal(framingProblem(got), undefined, got);
  });
});

// Responses the proxy must not relay: each raw upstream answers one of these.
const BAD_RESPONSES: [string, string][] = [
  [
    'Content-Length and Transfer-Encoding',
    'HTTP/1.1 200 OK\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n',
  ],
  ['two different Content-Lengths', 'HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Length: 5\r\n\r\nhello'],
  ['a Content-Length list', 'HTTP/1.1 200 OK\r\nContent-Length: 2, 2\r\n\r\nok'],
  ['garbage', 'HELLO THERE\r\n\r\n'],
  ['a bad status line', 'HTTP/1.1 2000 OK\r\nContent-Length: 2\r\n\r\nok'],
  ['obs-fold', 'HTTP/1.1 200 OK\r\nX-A: 1\r\n 2\r\nContent-Length: 2\r\n\r\nok'],
  ['a NUL in a header', 'HTTP/1.1 200 OK\r\nX-A: 1\0\r\nContent-Length: 2\r\n\r\nok'],
  ['bad chunking', 'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nok\r\n0\r\n\r\n'],
];

describe('an ambiguous response is answered 502, never relayed', () => {
  for (const [name, answer] of BAD_RESPONSES) {
    test(name, async () => {
      const upstream = await startRawUpstream(answer);
      const server = await startProxy([upstream.url]);
      try {
        const port = Number(new URL(server.url).port);
        const reply = await rawRequest(port, 'GET /api HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n');
        // Bad chunking shows only once the head was relayed: the client's connection is cut
        // (no terminating chunk), which no client reads as a complete response.
        if (name === 'bad chunking') {
          assert.ok(reply.status === 502 || (reply.closed && !reply.text.endsWith('0\r\n\r\n')), reply.text);
          return;
        }
        assert.equal(reply.status, 502, reply.text);
        assert.match(reply.text, /application\/problem\+json/);
      } finally {
        await server.close();
        await upstream.close();
      }
    });
  }
});

describe('targets the proxy does not forward as they came', () => {
  test('an absolute-form target is not forwarded (its authority may differ from Host); obs-text in the target is refused', async () => {
    const upstream = await startRawUpstream(OK);
    const server = await startProxy([upstream.url], { routes: [{ path: '/', to: 'api' }] });
    try {
      const port = Number(new URL(server.url).port);
      const absolute = await rawRequest(
        port,
        'GET http://internal.example/admin HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n',
      );
      assert.equal(absolute.status, 200, 'the app answered it');
      const high = await rawRequest(port, 'GET /caf\xe9 HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n');
      assert.equal(high.status, 400, high.text);
      assert.doesNotMatch(
        upstream.all(),
        /internal\.example/,
        'an absolute-form target reached the upstream',
      );
      assert.equal(framingProblem(upstream.all()), undefined);
    } finally {
      await server.close();
      await upstream.close();
    }
  });
});
