/**
 * A streamed request body refused on the way (413 past maxBodySize) or left unread because the
 * upstream answered first: the connection closes after the answer, as the app's path does
 * ("an unread or refused body must not be read to its end"), so the limit bounds what a client
 * can make the server read, and nothing after the body is read as the next request.
 */
import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { test } from 'node:test';
import { startProxy, startUpstream } from '../proxy/fixtures.ts';

/** Sends a chunked body of up to `chunks` KiB after the head; resolves with what came back. */
async function upload(
  port: number,
  path: string,
  chunks: number,
): Promise<{ text: string; sent: number; closed: boolean }> {
  const socket = connect(port, '127.0.0.1');
  socket.on('error', () => {});
  let text = '';
  socket.on('data', (c: Buffer) => (text += c.toString('latin1')));
  let closed = false;
  const gone = new Promise<void>((resolve) =>
    socket.on('close', () => {
      closed = true;
      resolve();
    }),
  );
  socket.write(`POST ${path} HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n`);
  let sent = 0;
  for (let i = 0; i < chunks && !closed; i++) {
    // One KiB at a time, each once the previous one left (the server reads them or closes).
    await new Promise<void>((resolve) => socket.write(`400\r\n${'x'.repeat(1024)}\r\n`, () => resolve()));
    await new Promise((resolve) => setImmediate(resolve));
    sent += 1024;
    if (text.includes('\r\n\r\n') && closed) break;
  }
  if (!closed) socket.write('0\r\n\r\nGET /api/after HTTP/1.1\r\nHost: a\r\n\r\n');
  const timer = setTimeout(() => socket.destroy(), 3000);
  await gone;
  clearTimeout(timer);
  return { text, sent, closed };
}

test('a streamed body past maxBodySize: 413, Connection: close, the rest is not read', async (t) => {
  const up = await startUpstream();
  t.after(() => up.close());
  await using server = await startProxy([up.url], { serve: { maxBodySize: 1000 } });
  const { text } = await upload(server.port, '/api/x', 200);
  assert.match(text, /^HTTP\/1\.1 413 /);
  assert.match(text, /\r\nConnection: close\r\n/i, text);
  assert.doesNotMatch(text, /\/api\/after/, 'nothing after the refused body is answered');
  assert.equal(up.seen.length, 0);
});

test('an upstream that answers before reading the body: the connection closes after the answer', async (t) => {
  const up = await startUpstream();
  // Answers at once, without reading (startUpstream's handler runs after the body: not here).
  up.server.removeAllListeners('request');
  up.server.on('request', (_req, res) => res.writeHead(401, { 'content-length': 0 }).end());
  t.after(() => up.close());
  await using server = await startProxy([up.url]);
  const { text } = await upload(server.port, '/api/x', 200);
  assert.match(text, /^HTTP\/1\.1 401 /);
  assert.match(text, /\r\nConnection: close\r\n/i, text);
  assert.doesNotMatch(text, /\/api\/after/);
});
