import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { SERVER_DEFAULTS, type StrataServer, serve } from '../../src/server.ts';
import { rawRequest } from '../fixtures/http.ts';

// RFC 9112's MUSTs that llhttp leaves to the server, on both transports: one Host (§3.2),
// HTTP/1.x only (505), a cap on header lines (maxHeaderCount, 431), and no 100 Continue before
// a refusal (RFC 9110 §10.1.1).

async function app(request: Request): Promise<Response> {
  const body = request.method === 'POST' ? await request.text() : '';
  return new Response(`ok ${request.method} ${body.length}`);
}

const headers = (n: number): string => Array.from({ length: n }, (_, i) => `X-H${i}: v\r\n`).join('');

for (const fastLane of [true, false]) {
  describe(`HTTP/1.1 MUSTs (fastLane: ${fastLane})`, () => {
    let server: StrataServer;
    let small: StrataServer;
    before(async () => {
      server = await serve(app, { port: 0, logger: false, fastLane, maxBodySize: 1000 });
      small = await serve(app, { port: 0, logger: false, fastLane, maxHeaderCount: 5, deny: ['10.1.1.1'] });
    });
    after(async () => {
      await server.close();
      await small.close();
    });

    const table: [name: string, data: string, status: number][] = [
      ['two Host headers', 'GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n', 400],
      ['two Host headers on HTTP/1.0', 'GET / HTTP/1.0\r\nHost: a\r\nHost: a\r\n\r\n', 400],
      ['HTTP/2.0 request line', 'GET / HTTP/2.0\r\nHost: a\r\n\r\n', 505],
      ['HTTP/0.9 request line', 'GET / HTTP/0.9\r\nHost: a\r\n\r\n', 505],
      ['HTTP/3.0 POST', 'POST / HTTP/3.0\r\nHost: a\r\nContent-Length: 2\r\n\r\nab', 505],
      [
        `${SERVER_DEFAULTS.maxHeaderCount} header lines`,
        `GET / HTTP/1.1\r\nHost: a\r\n${headers(99)}Connection: close\r\n\r\n`,
        431,
      ],
      [
        `${SERVER_DEFAULTS.maxHeaderCount} header lines in all`,
        `GET / HTTP/1.1\r\nHost: a\r\n${headers(99)}\r\n`,
        200,
      ],
      ['500 header lines', `GET / HTTP/1.1\r\nHost: a\r\n${headers(499)}\r\n`, 431],
      // RFC 9112 §6.3: a Transfer-Encoding that does not end in chunked has no knowable length.
      [
        'Transfer-Encoding: xchunked',
        'POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: xchunked\r\n\r\n',
        400,
      ],
      [
        'Transfer-Encoding: chunked, gzip',
        'POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked, gzip\r\n\r\n',
        400,
      ],
      [
        'Transfer-Encoding: identity',
        'POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: identity\r\n\r\n',
        400,
      ],
      [
        'Transfer-Encoding: gzip, chunked (501)',
        'POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n',
        501,
      ],
      [
        'Transfer-Encoding: chunked (a body, 200)',
        'POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: Chunked\r\nConnection: close\r\n\r\n2\r\nab\r\n0\r\n\r\n',
        200,
      ],
      [
        '500 header lines on a POST',
        `POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 1\r\n${headers(498)}\r\nx`,
        431,
      ],
    ];
    for (const [name, data, status] of table) {
      test(`${name}: ${status}`, async () => {
        const res = await rawRequest(server.port, data, { timeoutMs: 1500 });
        assert.equal(res.status, status, res.text.slice(0, 200));
        if (status >= 400) assert.ok(res.closed, 'closed after the refusal');
      });
    }

    // RFC 9110 §5.6.1: Connection options are trimmed of OWS (SP, HTAB) only. NBSP or NEL next to
    // `close` makes another option, which llhttp does not read as close (the connection stays);
    // VT and FF are refused. [value, status, responses]: the second pipelined request is answered
    // only when the first did not close.
    const connection: [value: string, status: number, responses: number][] = [
      ['\tclose\t', 200, 1],
      ['keep-alive ,  close', 200, 1],
      ['close\u00a0', 200, 2],
      ['\u00a0close', 200, 2],
      ['close\u0085', 200, 2],
      ['keep-alive\u00a0, close', 200, 1],
      ['close\u000b', 400, 1],
      ['close\u000c', 400, 1],
    ];
    for (const [value, status, responses] of connection) {
      test(`Connection: ${JSON.stringify(value)} → ${status}, ${responses} response(s)`, async () => {
        const first = `GET /1 HTTP/1.1\r\nHost: a\r\nConnection: ${value}\r\n\r\n`;
        const second = 'GET /2 HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n';
        const res = await rawRequest(server.port, Buffer.from(first + second, 'latin1'), { timeoutMs: 1500 });
        assert.equal(res.status, status, res.text.slice(0, 200));
        assert.equal(res.text.match(/HTTP\/1\.1 \d{3} /g)?.length, responses, res.text);
        assert.ok(res.closed);
      });
    }

    // RFC 9112 §9.6: bytes after a request that said close are not processed, and the request
    // before them is still answered (the app is async: its answer comes after llhttp's error).
    test('a POST with `Connection: close` and bytes after it: the POST is answered, then the close', async () => {
      const post = 'POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\nConnection: close\r\n\r\nabc';
      const res = await rawRequest(server.port, `${post}GET /2 HTTP/1.1\r\nHost: a\r\n\r\n`, {
        timeoutMs: 1500,
      });
      assert.equal(res.status, 200, res.text.slice(0, 200));
      assert.match(res.text, /ok POST 3$/);
      assert.equal(res.text.match(/HTTP\/1\.1 \d{3} /g)?.length, 1, res.text);
      assert.ok(res.closed);
    });

    test('maxHeaderCount: 5 lines pass, 6 get 431', async () => {
      const five = await rawRequest(small.port, `GET / HTTP/1.1\r\nHost: a\r\n${headers(4)}\r\n`, {
        timeoutMs: 500,
      });
      assert.equal(five.status, 200);
      const six = await rawRequest(small.port, `GET / HTTP/1.1\r\nHost: a\r\n${headers(5)}\r\n`, {
        timeoutMs: 500,
      });
      assert.equal(six.status, 431);
      assert.ok(six.closed);
    });

    test('Expect: 100-continue over maxBodySize: 413 at once, never 100', async () => {
      const res = await rawRequest(
        server.port,
        'POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5000\r\nExpect: 100-continue\r\n\r\n',
        { timeoutMs: 1500 },
      );
      assert.equal(res.status, 413, res.text);
      assert.doesNotMatch(res.text, /100 Continue/);
      assert.ok(res.closed);
    });

    test('Expect: 100-continue refused by the edge policy: the refusal, never 100', async () => {
      const res = await rawRequest(
        small.port,
        `POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nExpect: 100-continue\r\n${headers(5)}\r\n`,
        { timeoutMs: 1500 },
      );
      assert.equal(res.status, 431, res.text);
      assert.doesNotMatch(res.text, /100 Continue/);
    });

    test('Expect: 100-continue within the limits: 100, then the body is read and answered', async () => {
      const text = await new Promise<string>((resolve, reject) => {
        const socket = connect(server.port, '127.0.0.1');
        let got = '';
        socket.on('data', (chunk) => {
          got += chunk.toString('latin1');
          if (got.includes('100 Continue\r\n\r\n') && !got.includes('ok')) socket.write('hello');
          if (got.includes('ok POST 5')) {
            socket.destroy();
            resolve(got);
          }
        });
        socket.on('error', reject);
        setTimeout(() => {
          socket.destroy();
          resolve(got);
        }, 1500);
        socket.write('POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nExpect: 100-continue\r\n\r\n');
      });
      assert.match(text, /^HTTP\/1\.1 100 Continue\r\n\r\nHTTP\/1\.1 200 OK/);
      assert.match(text, /ok POST 5/);
    });
  });
}
