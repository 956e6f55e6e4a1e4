import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { describe, test } from 'node:test';
import { App, formatEvent, type SSEMessage } from '../../src/index.ts';
import { serve } from '../../src/server.ts';
import { waitFor } from '../fixtures/http.ts';

/** A raw socket that collects what the server sends, to watch events arrive one at a time. */
function rawStream(port: number, path: string, headers = '') {
  const socket = connect(port, '127.0.0.1');
  let text = '';
  let closed = false;
  socket.setEncoding('latin1');
  socket.on('data', (c: string) => (text += c));
  socket.on('close', () => (closed = true));
  socket.on('error', () => {});
  socket.write(`GET ${path} HTTP/1.1\r\nHost: x\r\n${headers}\r\n`);
  return {
    socket,
    text: () => text,
    closed: () => closed,
  };
}

describe('formatEvent', () => {
  const cases: [string, SSEMessage, string][] = [
    ['plain data', { data: 'hi' }, 'data: hi\n\n'],
    [
      'every field',
      { event: 'tick', id: '7', retry: 1500, data: 'x' },
      'event: tick\nid: 7\nretry: 1500\ndata: x\n\n',
    ],
    ['multi-line data, any line ending', { data: 'a\nb\r\nc\rd' }, 'data: a\ndata: b\ndata: c\ndata: d\n\n'],
    ['an object is JSON', { data: { a: 1 } }, 'data: {"a":1}\n\n'],
    ['empty data', { data: '' }, 'data: \n\n'],
    ['data cannot forge an event', { data: 'x\n\nevent: admin' }, 'data: x\ndata: \ndata: event: admin\n\n'],
  ];
  for (const [name, message, wire] of cases) {
    test(name, () => assert.equal(formatEvent(message), wire));
  }
  const refused: [string, SSEMessage][] = [
    ['newline in id', { id: '1\ndata: forged', data: 'x' }],
    ['CR in event', { event: 'a\rb', data: 'x' }],
    ['NUL in id', { id: 'a\0', data: 'x' }],
    ['negative retry', { retry: -1, data: 'x' }],
    ['fractional retry', { retry: 1.5, data: 'x' }],
  ];
  for (const [name, message] of refused) {
    test(`refused: ${name}`, () => assert.throws(() => formatEvent(message), TypeError));
  }
});

describe('c.sse() over a real socket', () => {
  test('each event arrives on its own, before the next is written', async () => {
    const app = new App();
    let release: () => void = () => {};
    const gate = new Promise<void>((r) => (release = r));
    app.get('/events', (c) =>
      c.sse(async (stream) => {
        await stream.send({ event: 'first', id: '1', data: 'one' });
        await gate;
        await stream.send({ data: 'two' });
      }),
    );
    await using server = await serve(app, { port: 0, logger: false });
    const raw = rawStream(server.port, '/events');
    await waitFor(() => raw.text().includes('data: one'), 3000, 'the first event');
    assert.match(raw.text(), /content-type: text\/event-stream/i);
    assert.match(raw.text(), /cache-control: no-cache/i);
    assert.doesNotMatch(raw.text(), /data: two/);
    release();
    await waitFor(() => raw.text().includes('data: two'), 3000, 'the second event');
    // The handler returned: the response ends (chunked terminator).
    await waitFor(() => raw.text().endsWith('0\r\n\r\n'), 3000, 'the end of the stream');
    raw.socket.destroy();
  });

  test('Last-Event-ID reaches the handler for resuming', async () => {
    const app = new App();
    app.get('/events', (c) =>
      c.sse(async (stream) => {
        const from = Number(stream.lastEventId ?? 0);
        for (let i = from + 1; i <= from + 2; i++) await stream.send({ id: String(i), data: `n${i}` });
      }),
    );
    await using server = await serve(app, { port: 0, logger: false });
    const res = await fetch(`${server.url}/events`, { headers: { 'last-event-id': '41' } });
    assert.equal(await res.text(), 'id: 42\ndata: n42\n\nid: 43\ndata: n43\n\n');
    const fresh = await fetch(`${server.url}/events`);
    assert.equal(await fresh.text(), 'id: 1\ndata: n1\n\nid: 2\ndata: n2\n\n');
  });

  test('heartbeat comments are sent while the handler is idle', async () => {
    const app = new App();
    app.get('/events', (c) => c.sse((stream) => stream.sleep(10_000), { heartbeat: 20 }));
    await using server = await serve(app, { port: 0, logger: false });
    const raw = rawStream(server.port, '/events');
    await waitFor(() => raw.text().split(': heartbeat\n\n').length > 2, 3000, 'two heartbeats');
    raw.socket.destroy();
  });

  test('when the client leaves, the stream closes and its signal fires', async () => {
    const app = new App();
    let aborted = false;
    let sentAfter = 0;
    app.get('/events', (c) =>
      c.sse(async (stream) => {
        stream.signal.addEventListener('abort', () => (aborted = true));
        await stream.send({ data: 'hello' });
        await stream.sleep(60_000);
        // Sends after the client left resolve without writing.
        await stream.send({ data: 'too late' });
        sentAfter += 1;
      }),
    );
    await using server = await serve(app, { port: 0, logger: false });
    const raw = rawStream(server.port, '/events');
    await waitFor(() => raw.text().includes('data: hello'), 3000, 'the first event');
    raw.socket.destroy();
    await waitFor(() => aborted, 3000, 'the stream signal');
    await waitFor(() => sentAfter === 1, 3000, 'the handler to finish');
    const again = await fetch(`${server.url}/events`, { signal: AbortSignal.timeout(5000) }).catch(
      () => null,
    );
    assert.ok(again === null || again.status === 200, 'the server keeps serving');
    await again?.body?.cancel();
  });

  test('a handler that throws ends the response truncated; the server keeps serving', async () => {
    const app = new App();
    app.get('/events', (c) =>
      c.sse(async (stream) => {
        await stream.send({ data: 'partial' });
        throw new Error('handler bug');
      }),
    );
    app.get('/ok', (c) => c.text('ok'));
    await using server = await serve(app, { port: 0, logger: false });
    const raw = rawStream(server.port, '/events');
    await waitFor(() => raw.closed(), 3000, 'the connection to close');
    assert.match(raw.text(), /data: partial/);
    assert.ok(!raw.text().endsWith('0\r\n\r\n'), 'no clean end of a failed stream');
    assert.equal(await (await fetch(`${server.url}/ok`)).text(), 'ok');
  });

  test('works in-process through app.request', async () => {
    const app = new App();
    app.get('/events', (c) => c.sse((stream) => stream.send({ event: 'e', data: [1, 2] })));
    const res = await app.request('/events');
    assert.equal(res.headers.get('content-type'), 'text/event-stream; charset=utf-8');
    assert.equal(await res.text(), 'event: e\ndata: [1,2]\n\n');
  });
});
