import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { ServerWebSocket } from '../../src/gateway/websocket.ts';
import { App, HttpError } from '../../src/index.ts';
import { type StrataServer, serve } from '../../src/server.ts';
import { memoryLogger, rawRequest, waitFor } from '../fixtures/http.ts';
import { clientFrame, closeCodeIn, handshake, openClient, rawWebSocket, wsUrl } from '../fixtures/ws.ts';

type Refused = Error & { status: number; body: string; headers: Record<string, string> };

async function refusal(promise: Promise<unknown>): Promise<Refused> {
  try {
    await promise;
  } catch (err) {
    return err as Refused;
  }
  throw new Error('the handshake was accepted');
}

describe('WebSocket upgrade through the app', () => {
  let server: StrataServer;
  const app = new App<{ user: string }>();
  const closes: { code: number; reason: string }[] = [];
  app.use(async (c, next) => {
    c.header('x-request-id', 'req-1');
    await next();
  });
  app.use('/private', async (c, next) => {
    const auth = c.req.headers.get('authorization');
    if (auth === null)
      throw new HttpError(401, 'Log in first', { headers: { 'www-authenticate': 'Bearer' } });
    if (auth !== 'Bearer good') throw new HttpError(403, 'Not yours');
    c.set('user', 'ada');
    await next();
  });
  app.get('/echo', (c) =>
    c.upgrade(
      {
        message(ws, data) {
          ws.send(data);
        },
        close(_ws, code, reason) {
          closes.push({ code, reason });
        },
      },
      { headers: { 'set-cookie': 'seen=1; HttpOnly' } },
    ),
  );
  app.get('/private', (c) =>
    c.upgrade(
      {
        open(ws) {
          ws.send(`hello ${ws.data.user} from ${c.req.headers.get('authorization')}`);
        },
        message() {},
      },
      { data: { user: c.get('user') } },
    ),
  );
  app.get('/proto', (c) =>
    c.upgrade(
      {
        open(ws) {
          ws.send(`protocol=${ws.protocol}`);
        },
        message() {},
      },
      { protocols: ['chat.v2', 'chat.v1'] },
    ),
  );
  app.get('/boom', (c) =>
    c.upgrade({
      message() {
        throw new Error('handler bug');
      },
    }),
  );
  app.get('/plain', (c) => c.text('no upgrade here'));
  const { logger, lines } = memoryLogger();

  before(async () => {
    server = await serve(app, { port: 0, logger, websocket: { maxPayload: 1024 } });
  });
  after(() => server.close());

  test('echoes text and binary, and the 101 carries middleware and route headers', async () => {
    const client = await openClient(wsUrl(server.url, '/echo'));
    assert.equal(client.headers['x-request-id'], 'req-1');
    assert.deepEqual(client.headers['set-cookie'], ['seen=1; HttpOnly']);
    client.ws.send('hi');
    assert.equal(await client.next(), 'hi');
    client.ws.send(Buffer.from([0, 1, 2, 255]));
    assert.deepEqual(await client.next(), Buffer.from([0, 1, 2, 255]));
    client.ws.close(4000, 'bye');
    assert.equal((await client.closed).code, 4000);
    await waitFor(() => closes.length > 0, 2000, 'the close handler');
    assert.deepEqual(closes.at(-1), { code: 4000, reason: 'bye' });
  });

  test('authentication runs before the upgrade and refuses with 401 or 403', async () => {
    const none = await refusal(openClient(wsUrl(server.url, '/private')));
    assert.equal(none.status, 401);
    assert.equal(none.headers['www-authenticate'], 'Bearer');
    const wrong = await refusal(
      openClient(wsUrl(server.url, '/private'), undefined, { headers: { authorization: 'Bearer bad' } }),
    );
    assert.equal(wrong.status, 403);
    const ok = await openClient(wsUrl(server.url, '/private'), undefined, {
      headers: { authorization: 'Bearer good' },
    });
    assert.equal(await ok.next(), 'hello ada from Bearer good');
    ok.ws.close();
  });

  test('a refusal closes the connection and the server keeps serving', async () => {
    const res = await rawRequest(server.port, handshake('/private', server.port));
    assert.equal(res.status, 401);
    assert.ok(res.closed, 'the connection is closed after the refusal');
    const client = await openClient(wsUrl(server.url, '/echo'));
    client.ws.send('still here');
    assert.equal(await client.next(), 'still here');
    client.ws.close();
  });

  test('a plain GET to a WebSocket route gets 426; an upgrade to a plain route gets 400', async () => {
    const res = await fetch(`${server.url}/echo`);
    assert.equal(res.status, 426);
    assert.equal(res.headers.get('upgrade'), 'websocket');
    await res.text();
    // The route has no WebSocket handler: its 200 would look like an answer to the handshake.
    const plain = await rawRequest(server.port, handshake('/plain', server.port));
    assert.equal(plain.status, 400);
    assert.match(plain.text, /does not accept WebSocket/);
    assert.ok(plain.closed);
  });

  test('subprotocols: the route picks its first that the client offers; none in common is 400', async () => {
    const both = await openClient(wsUrl(server.url, '/proto'), ['chat.v1', 'chat.v2']);
    assert.equal(both.ws.protocol, 'chat.v2');
    assert.equal(await both.next(), 'protocol=chat.v2');
    both.ws.close();
    const one = await openClient(wsUrl(server.url, '/proto'), ['chat.v1']);
    assert.equal(await one.next(), 'protocol=chat.v1');
    one.ws.close();
    const none = await openClient(wsUrl(server.url, '/proto'));
    assert.equal(await none.next(), 'protocol=');
    none.ws.close();
    const unknown = await refusal(openClient(wsUrl(server.url, '/proto'), ['mqtt']));
    assert.equal(unknown.status, 400);
  });

  // Hostile handshakes: each gets its status and a closed connection, before the app runs.
  const hostile: { name: string; head: (port: number) => string; status: number; header?: RegExp }[] = [
    {
      name: 'wrong version',
      head: (p) => handshake('/echo', p, { 'Sec-WebSocket-Version': '8' }),
      status: 426,
      header: /Sec-WebSocket-Version: 13/i,
    },
    {
      name: 'missing version',
      head: (p) => handshake('/echo', p, { 'Sec-WebSocket-Version': undefined }),
      status: 426,
    },
    {
      name: 'version with junk',
      head: (p) => handshake('/echo', p, { 'Sec-WebSocket-Version': '13, 8' }),
      status: 426,
    },
    {
      name: 'missing key',
      head: (p) => handshake('/echo', p, { 'Sec-WebSocket-Key': undefined }),
      status: 400,
    },
    {
      name: 'key too short',
      head: (p) => handshake('/echo', p, { 'Sec-WebSocket-Key': 'c2hvcnQ=' }),
      status: 400,
    },
    {
      name: 'key not base64',
      head: (p) => handshake('/echo', p, { 'Sec-WebSocket-Key': '!!!!!!!!!!!!!!!!!!!!!!==' }),
      status: 400,
    },
    {
      name: 'two keys',
      head: (p) =>
        handshake('/echo', p).replace('\r\n\r\n', '\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n'),
      status: 400,
    },
    { name: 'POST', head: (p) => handshake('/echo', p, {}, 'POST /echo HTTP/1.1'), status: 400 },
    { name: 'HTTP/1.0', head: (p) => handshake('/echo', p, {}, 'GET /echo HTTP/1.0'), status: 400 },
    {
      name: 'cross-site Origin',
      head: (p) => handshake('/echo', p, { Origin: 'https://evil.example' }),
      status: 403,
    },
    { name: 'Origin null', head: (p) => handshake('/echo', p, { Origin: 'null' }), status: 403 },
  ];
  for (const c of hostile) {
    test(`hostile handshake: ${c.name} → ${c.status}`, async () => {
      const res = await rawRequest(server.port, c.head(server.port));
      assert.equal(res.status, c.status, res.text);
      assert.ok(res.closed, 'connection closed');
      if (c.header !== undefined) assert.match(res.text, c.header);
    });
  }

  test('same-origin browsers are allowed by default', async () => {
    const client = await openClient(wsUrl(server.url, '/echo'), undefined, { origin: server.url });
    client.ws.send('same origin');
    assert.equal(await client.next(), 'same origin');
    client.ws.close();
  });

  test('a message over maxPayload closes the socket with 1009', async () => {
    const client = await openClient(wsUrl(server.url, '/echo'));
    client.ws.send('x'.repeat(2000));
    assert.equal((await client.closed).code, 1009);
  });

  test('invalid UTF-8 in a text frame closes the socket with 1007', async () => {
    const raw = await rawWebSocket(server.port, '/echo');
    raw.socket.write(clientFrame(1, Buffer.from([0x68, 0xff, 0xfe])));
    await raw.closed;
    assert.equal(closeCodeIn(raw.frames()), 1007);
  });

  // Hostile frames after the handshake: each closes that socket with its code (RFC 6455 §7.4.1).
  const frames: { name: string; bytes: () => Buffer[]; code: number }[] = [
    { name: 'unmasked frame', bytes: () => [Buffer.from([0x81, 0x02, 0x68, 0x69])], code: 1002 },
    { name: 'reserved opcode 3', bytes: () => [clientFrame(3, Buffer.from('x'))], code: 1002 },
    {
      name: 'RSV1 without an extension',
      bytes: () => [clientFrame(1, Buffer.from('x'), true, 4)],
      code: 1002,
    },
    { name: 'ping over 125 bytes', bytes: () => [clientFrame(9, Buffer.alloc(126))], code: 1002 },
    { name: 'fragmented control frame', bytes: () => [clientFrame(9, Buffer.from('x'), false)], code: 1002 },
    {
      name: 'continuation with nothing to continue',
      bytes: () => [clientFrame(0, Buffer.from('x'))],
      code: 1002,
    },
    {
      name: 'fragments that add up past maxPayload',
      bytes: () => [clientFrame(1, Buffer.alloc(600, 97), false), clientFrame(0, Buffer.alloc(600, 97))],
      code: 1009,
    },
    {
      name: 'invalid UTF-8 in a close reason',
      bytes: () => [clientFrame(8, Buffer.from([0x03, 0xe8, 0xff]))],
      code: 1007,
    },
    {
      name: 'close code 1005 on the wire',
      bytes: () => [clientFrame(8, Buffer.from([0x03, 0xed]))],
      code: 1002,
    },
  ];
  for (const f of frames) {
    test(`hostile frame: ${f.name} → ${f.code}`, async () => {
      const raw = await rawWebSocket(server.port, '/echo');
      for (const b of f.bytes()) raw.socket.write(b);
      await raw.closed;
      assert.equal(closeCodeIn(raw.frames()), f.code);
    });
  }

  test('clients that reset right after a refused handshake do not crash the server', async () => {
    const { connect } = await import('node:net');
    const heads = [
      handshake('/proto', server.port, { 'Sec-WebSocket-Protocol': 'mqtt' }), // refused after the app
      handshake('/private', server.port), // refused by the app (401)
      handshake('/echo', server.port, { 'Sec-WebSocket-Version': '7' }), // refused before the app
    ];
    for (let i = 0; i < 30; i++) {
      const socket = connect(server.port, '127.0.0.1');
      socket.on('error', () => {});
      await new Promise((r) => socket.once('connect', r));
      socket.write(heads[i % heads.length]!);
      if (i % 2 === 0) await new Promise((r) => setImmediate(r));
      socket.resetAndDestroy();
    }
    await new Promise((r) => setTimeout(r, 100));
    const client = await openClient(wsUrl(server.url, '/echo'));
    client.ws.send('alive');
    assert.equal(await client.next(), 'alive');
    client.ws.close();
  });

  test('an oversized handshake head gets 431 from the parser', async () => {
    const res = await rawRequest(
      server.port,
      handshake('/echo', server.port, { 'X-Big': 'a'.repeat(20_000) }),
    );
    assert.equal(res.status, 431);
    assert.ok(res.closed);
  });

  test('a client that leaves while the app decides does not disturb the server', async () => {
    const app = new App();
    let aborted = false;
    app.get('/slow', async (c) => {
      c.req.signal.addEventListener('abort', () => (aborted = true));
      await new Promise((r) => setTimeout(r, 150));
      return c.upgrade({ message() {} });
    });
    await using slow = await serve(app, { port: 0, logger: false });
    const { connect } = await import('node:net');
    const socket = connect(slow.port, '127.0.0.1');
    await new Promise((r) => socket.once('connect', r));
    socket.write(handshake('/slow', slow.port));
    await new Promise((r) => setTimeout(r, 30));
    socket.destroy();
    await waitFor(() => aborted, 2000, 'request.signal to abort');
    await new Promise((r) => setTimeout(r, 200));
    assert.equal(slow.realtime?.size, 0);
  });

  test('a handler that throws closes its socket with 1011, logged; others are unaffected', async () => {
    const bad = await openClient(wsUrl(server.url, '/boom'));
    const good = await openClient(wsUrl(server.url, '/echo'));
    bad.ws.send('trigger');
    assert.equal((await bad.closed).code, 1011);
    assert.ok(lines.some((l) => l.msg === 'WebSocket handler failed'));
    good.ws.send('fine');
    assert.equal(await good.next(), 'fine');
    good.ws.close();
  });
});

describe('node-style apps', () => {
  test('get WebSocket handshakes as ordinary requests (no strata WebSockets in their way)', async () => {
    const { nodeHandler } = await import('../../src/gateway/index.ts');
    const handler = nodeHandler((req, res) => {
      res.end(`node app saw upgrade=${req.headers.upgrade}`);
    });
    await using server = await serve(handler, { port: 0, logger: false });
    assert.equal(server.realtime, undefined);
    const res = await rawRequest(server.port, handshake('/x', server.port));
    assert.equal(res.status, 200);
    assert.match(res.text, /node app saw upgrade=websocket/);
  });
});

describe('allowedOrigins', () => {
  test('only the listed origins may connect; "*" allows any', async () => {
    const app = new App();
    app.get('/ws', (c) => c.upgrade({ message() {} }));
    await using listed = await serve(app, {
      port: 0,
      logger: false,
      websocket: { allowedOrigins: ['https://App.Example.com:443'] },
    });
    const ok = await openClient(wsUrl(listed.url, '/ws'), undefined, { origin: 'https://app.example.com' });
    ok.ws.close();
    const same = await refusal(openClient(wsUrl(listed.url, '/ws'), undefined, { origin: listed.url }));
    assert.equal(same.status, 403);
    await using any = await serve(app, { port: 0, logger: false, websocket: { allowedOrigins: '*' } });
    const anyone = await openClient(wsUrl(any.url, '/ws'), undefined, { origin: 'https://evil.example' });
    anyone.ws.close();
  });
});

describe('publish and subscribe', () => {
  test('ws.publish reaches the other subscribers, not the sender; app.publish reaches all', async () => {
    const app = new App();
    app.get('/room/:name', (c) =>
      c.upgrade({
        open(ws) {
          ws.subscribe(c.params.name);
          ws.send('joined');
        },
        message(ws, data) {
          if (data === 'leave') {
            ws.unsubscribe(c.params.name);
            ws.send('left');
          } else ws.publish(c.params.name, data);
        },
      }),
    );
    await using server = await serve(app, { port: 0, logger: false });
    const [a, b, other] = await Promise.all([
      openClient(wsUrl(server.url, '/room/lobby')),
      openClient(wsUrl(server.url, '/room/lobby')),
      openClient(wsUrl(server.url, '/room/other')),
    ]);
    for (const c of [a, b, other]) assert.equal(await c.next(), 'joined');
    assert.equal(app.subscriberCount('lobby'), 2);
    a.ws.send('from a');
    assert.equal(await b.next(), 'from a');
    app.publish('lobby', 'from the app');
    assert.equal(await a.next(), 'from the app', 'the sender did not get its own message first');
    assert.equal(await b.next(), 'from the app');
    app.publish('other', new Uint8Array([7, 8]));
    assert.deepEqual(await other.next(), Buffer.from([7, 8]));
    b.ws.send('leave');
    assert.equal(await b.next(), 'left');
    assert.equal(app.subscriberCount('lobby'), 1);
    a.ws.close();
    await a.closed;
    await waitFor(() => app.subscriberCount('lobby') === 0, 2000, 'the closed socket to leave its topic');
    b.ws.close();
    other.ws.close();
  });

  test('app.publish before the app is served goes to the in-memory hub (test/app/publish.test.ts)', () => {
    const app = new App();
    assert.doesNotThrow(() => app.publish('t', 'x'));
    assert.equal(app.subscriberCount('t'), 0);
    assert.throws(() => app.publish('', 'x'), { code: 'STRATA_ERR_WS_TOPIC' });
  });

  test('bad topics and messages are refused with their codes', async () => {
    const app = new App();
    let sock: ServerWebSocket | undefined;
    app.get('/ws', (c) =>
      c.upgrade({
        open(ws) {
          sock = ws as ServerWebSocket;
        },
        message() {},
      }),
    );
    await using server = await serve(app, { port: 0, logger: false });
    const client = await openClient(wsUrl(server.url, '/ws'));
    await waitFor(() => sock !== undefined);
    for (const topic of ['', 'x'.repeat(257), 42 as unknown as string]) {
      assert.throws(() => sock!.subscribe(topic), { code: 'STRATA_ERR_WS_TOPIC' });
    }
    assert.throws(() => sock!.send({} as unknown as string), { code: 'STRATA_ERR_WS_MESSAGE' });
    client.ws.close();
  });
});

describe('backpressure, heartbeats and shutdown', () => {
  test('a client that stops reading makes bufferedAmount grow; drain fires once it reads again', async () => {
    const app = new App();
    let peak = 0;
    let sent = 0;
    let drained = false;
    app.get('/flood', (c) =>
      c.upgrade({
        message(ws) {
          const chunk = 'x'.repeat(64 * 1024);
          for (let i = 0; i < 2000; i++) {
            sent += 1;
            if (ws.send(chunk) === -1) break;
          }
          peak = ws.bufferedAmount;
        },
        drain(ws) {
          drained = true;
          ws.send('drained');
        },
      }),
    );
    await using server = await serve(app, {
      port: 0,
      logger: false,
      websocket: { backpressureLimit: 256 * 1024 },
    });
    const client = await openClient(wsUrl(server.url, '/flood'));
    const socket = (client.ws as unknown as { _socket: import('node:net').Socket })._socket;
    socket.pause();
    client.ws.send('go');
    await waitFor(() => peak > 0, 5000, 'the server to hit backpressure');
    assert.ok(peak > 256 * 1024, `bufferedAmount ${peak} is over the limit`);
    assert.ok(sent < 2000, 'send returned -1 before the loop ran out');
    assert.equal(drained, false, 'no drain while the client is not reading');
    socket.resume();
    let last: string | Buffer = '';
    for (let i = 0; i <= sent && last !== 'drained'; i++) last = await client.next(5000);
    assert.equal(last, 'drained');
    assert.ok(drained);
    client.ws.close();
  });

  test('the heartbeat terminates a peer that stops answering pings, and keeps one that answers', async () => {
    const app = new App();
    const closed: number[] = [];
    app.get('/ws', (c) =>
      c.upgrade({
        message() {},
        close(_ws, code) {
          closed.push(code);
        },
      }),
    );
    await using server = await serve(app, { port: 0, logger: false, websocket: { heartbeatInterval: 40 } });
    const alive = await openClient(wsUrl(server.url, '/ws'));
    const dead = await openClient(wsUrl(server.url, '/ws'), undefined, { autoPong: false });
    const gone = await dead.closed;
    assert.equal(gone.code, 1006, 'terminated without a close frame');
    await waitFor(() => closed.length === 1, 2000, 'the server-side close handler');
    assert.deepEqual(closed, [1006]);
    // Several more heartbeats: the answering peer is still there.
    await new Promise((r) => setTimeout(r, 200));
    assert.equal(alive.ws.readyState, 1);
    assert.equal(server.realtime?.size, 1);
    alive.ws.close();
  });

  test('graceful shutdown sends 1001 to every socket, then finishes', async () => {
    const app = new App();
    const serverSide: number[] = [];
    app.get('/ws', (c) =>
      c.upgrade({
        message() {},
        close(_ws, code) {
          serverSide.push(code);
        },
      }),
    );
    const server = await serve(app, { port: 0, logger: false });
    const clients = await Promise.all([1, 2, 3].map(() => openClient(wsUrl(server.url, '/ws'))));
    await server.close();
    for (const c of clients) {
      const { code, reason } = await c.closed;
      assert.equal(code, 1001);
      assert.equal(reason, 'Server shutting down');
    }
    // The closing handshakes completed (the clients echoed 1001), before close() resolved.
    assert.deepEqual(serverSide, [1001, 1001, 1001]);
  });

  test('shutdown terminates sockets that ignore the close frame after closeTimeout', async () => {
    const app = new App();
    app.get('/ws', (c) => c.upgrade({ message() {} }));
    const server = await serve(app, { port: 0, logger: false, websocket: { closeTimeout: 100 } });
    const raw = await rawWebSocket(server.port, '/ws');
    // A raw client never answers the close frame.
    await server.close();
    await raw.closed;
    assert.equal(closeCodeIn(raw.frames()), 1001);
  });
});

describe('permessage-deflate (opt-in)', () => {
  test('off by default: the offer is declined', async () => {
    const app = new App();
    app.get('/ws', (c) => c.upgrade({ message: (ws, m) => void ws.send(m) }));
    await using server = await serve(app, { port: 0, logger: false });
    const client = await openClient(wsUrl(server.url, '/ws'), undefined, { perMessageDeflate: true });
    assert.equal(client.headers['sec-websocket-extensions'], undefined);
    client.ws.close();
  });

  test('on: negotiated with the window limit; echo works; a small compressed bomb is still 1009', async () => {
    const app = new App();
    app.get('/ws', (c) => c.upgrade({ message: (ws, m) => void ws.send(m) }));
    await using server = await serve(app, {
      port: 0,
      logger: false,
      websocket: { perMessageDeflate: true, maxPayload: 64 * 1024 },
    });
    const client = await openClient(wsUrl(server.url, '/ws'), undefined, { perMessageDeflate: true });
    assert.match(String(client.headers['sec-websocket-extensions']), /permessage-deflate/);
    assert.match(String(client.headers['sec-websocket-extensions']), /server_max_window_bits=12/);
    const big = 'abc'.repeat(10_000);
    client.ws.send(big);
    assert.equal(await client.next(), big);
    // 1 MB of one letter compresses to about a kilobyte: the limit applies to the inflated size.
    client.ws.send('z'.repeat(1_000_000));
    assert.equal((await client.closed).code, 1009);
  });
});

describe('WebSocket gauges', () => {
  test("a server's sockets and topics reach its metrics, and leave them when it closes", async () => {
    const app = new App();
    app.get('/room', (c) =>
      c.upgrade({
        open(ws) {
          ws.subscribe('gauge-room');
          ws.send('in');
        },
        message() {},
      }),
    );
    const server = await serve(app, { port: 0, logger: false, metrics: true });
    try {
      const client = await openClient(wsUrl(server.url, '/room'));
      assert.equal(await client.next(), 'in');
      const text = await server.metrics!.text();
      assert.match(text, /strata_websocket_connections\{server="websocket[^"]*"\} 1/);
      assert.match(text, /strata_websocket_topics\{server="websocket[^"]*"\} 1/);
      client.ws.close();
    } finally {
      await server.close();
    }
    assert.doesNotMatch(await server.metrics!.text(), /strata_websocket_connections\{/);
  });
});
