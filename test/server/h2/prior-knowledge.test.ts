/**
 * h2c with prior knowledge on the plain listener: the first bytes decide, however they are split;
 * everything that is not the HTTP/2 preface is HTTP/1.1 as before (on the fast lane or node's
 * path), and a connection that sends nothing is closed after headersTimeout.
 */
import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { describe, test } from 'node:test';
import { CLIENT_PREFACE } from '../../../src/server/h2/prior-knowledge.ts';
import { serve } from '../../../src/server.ts';
import { FLAG, FRAME, frame, getFields, headerBlock, RawH2 } from '../../fixtures/h2-raw.ts';
import { rawRequest } from '../../fixtures/http.ts';

const app = { fetch: (_r: Request, info: { protocol: string }) => new Response(`hi ${info.protocol}`) };

describe('h2c by prior knowledge', () => {
  for (const fastLane of [true, false]) {
    test(`HTTP/1.1 requests are served as before (fastLane ${fastLane}), also ones starting like the preface`, async () => {
      const server = await serve(app, { port: 0, logger: false, fastLane, http2: { h2c: true } });
      try {
        const plain = await rawRequest(server.port, 'GET / HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n');
        assert.equal(plain.status, 200);
        assert.match(plain.text, /hi http\/1\.1$/);
        // "P", "PR", "PRI" could still be the preface: the request is read once they are not.
        const post = await rawRequest(
          server.port,
          ['P', 'OST / HTTP/1.1\r\nHost: a\r\nContent-Length: 0\r\nConnection: close\r\n\r\n'],
          { gapMs: 20 },
        );
        assert.equal(post.status, 200);
        // A method PRI that is not the preface goes to HTTP/1.1, which refuses it.
        const pri = await rawRequest(server.port, 'PRI * HTTP/1.1\r\nHost: a\r\n\r\n');
        assert.ok(pri.status >= 400 && pri.status < 600, pri.text);
      } finally {
        await server.close();
      }
    });
  }

  test('the preface split into single bytes still starts HTTP/2', async () => {
    const server = await serve(app, { port: 0, logger: false, http2: { h2c: true } });
    const socket = connect(server.port, '127.0.0.1');
    const received: Buffer[] = [];
    socket.on('data', (c: Buffer) => received.push(c));
    socket.on('error', () => {});
    try {
      await new Promise((r) => socket.once('connect', r));
      for (const byte of CLIENT_PREFACE) {
        socket.write(Buffer.from([byte]));
        await new Promise((r) => setTimeout(r, 2));
      }
      socket.write(frame(FRAME.SETTINGS, 0, 0));
      socket.write(frame(FRAME.HEADERS, FLAG.END_HEADERS | FLAG.END_STREAM, 1, headerBlock(getFields('/'))));
      const deadline = Date.now() + 3000;
      const hasResponse = (): boolean => {
        const all = Buffer.concat(received);
        for (let at = 0; at + 9 <= all.length; at += 9 + all.readUIntBE(at, 3))
          if (all[at + 3] === FRAME.HEADERS && all.readUInt32BE(at + 5) === 1) return true;
        return false;
      };
      while (!hasResponse() && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
      assert.ok(hasResponse(), 'a HEADERS frame answers stream 1');
    } finally {
      socket.destroy();
      await server.close();
    }
  });

  test('a connection that sends nothing is closed after headersTimeout', async () => {
    const server = await serve(app, { port: 0, logger: false, headersTimeout: 200, http2: { h2c: true } });
    try {
      const reply = await rawRequest(server.port, [], { timeoutMs: 3000 });
      assert.equal(reply.closed, true);
      assert.equal(reply.text, '');
    } finally {
      await server.close();
    }
  });

  test('a partial preface then silence is closed after headersTimeout too', async () => {
    const server = await serve(app, { port: 0, logger: false, headersTimeout: 200, http2: { h2c: true } });
    try {
      const reply = await rawRequest(server.port, 'PRI * HTTP/2.0\r\n', { timeoutMs: 3000 });
      assert.equal(reply.closed, true);
    } finally {
      await server.close();
    }
  });

  test('the raw client and the server agree on a whole exchange', async () => {
    const server = await serve(app, { port: 0, logger: false, http2: { h2c: true } });
    const c = await RawH2.open(server.port);
    try {
      c.headers(1, getFields('/'));
      assert.ok(await c.until((f) => f.some((x) => x.type === FRAME.DATA && x.stream === 1), 3000));
    } finally {
      c.destroy();
      await server.close();
    }
  });
});
