import assert from 'node:assert/strict';
import type { IncomingMessage } from 'node:http';
import { connect, type Socket } from 'node:net';
import { describe, test } from 'node:test';
import { serve } from '../../src/server.ts';

/** A raw keep-alive connection: send a request, read one response head. */
function openConnection(port: number): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1');
    socket.once('connect', () => resolve(socket));
    socket.once('error', reject);
  });
}

function exchange(socket: Socket, path: string): Promise<{ status: number; head: string }> {
  return new Promise((resolve, reject) => {
    let text = '';
    const onData = (chunk: Buffer): void => {
      text += chunk.toString('latin1');
      const end = text.indexOf('\r\n\r\n');
      if (end < 0) return;
      const length = Number(/content-length: (\d+)/i.exec(text)?.[1] ?? 0);
      if (text.length < end + 4 + length) return;
      cleanup();
      resolve({ status: Number(text.slice(9, 12)), head: text.slice(0, end).toLowerCase() });
    };
    const onGone = (err?: Error): void => {
      cleanup();
      reject(err ?? new Error('connection closed before a response'));
    };
    const cleanup = (): void => {
      socket.off('data', onData);
      socket.off('error', onGone);
      socket.off('close', onGone);
    };
    socket.on('data', onData);
    socket.once('error', onGone);
    socket.once('close', onGone);
    socket.write(`GET ${path} HTTP/1.1\r\nHost: x\r\n\r\n`);
  });
}

// On both transports: the fast lane and node:http alone.
for (const fastLane of [true, false]) {
  describe(`drain (fastLane: ${fastLane})`, () => {
    test('drain: a request sent on an idle keep-alive connection within drainGrace is answered, not reset', async () => {
      const server = await serve(() => new Response('ok'), {
        port: 0,
        logger: false,
        fastLane,
        drainGrace: 400,
      });
      const socket = await openConnection(server.port);
      const first = await exchange(socket, '/one');
      assert.equal(first.status, 200);
      assert.match(first.head, /connection: keep-alive/);
      const closing = server.close();
      await new Promise((r) => setTimeout(r, 50));
      const second = await exchange(socket, '/two');
      assert.equal(second.status, 200, 'the request crossing the drain was served');
      assert.match(second.head, /connection: close/, 'and told to reconnect');
      await closing;
      socket.destroy();
    });

    test('drain: a connection that has not sent anything yet still gets its first request answered', async () => {
      const server = await serve(() => new Response('ok'), {
        port: 0,
        logger: false,
        fastLane,
        drainGrace: 400,
      });
      const socket = await openConnection(server.port);
      await new Promise((r) => setTimeout(r, 20));
      const closing = server.close();
      await new Promise((r) => setTimeout(r, 50));
      const res = await exchange(socket, '/late');
      assert.equal(res.status, 200);
      assert.match(res.head, /connection: close/);
      await closing;
      socket.destroy();
    });

    test('drain: connections that stay quiet are closed after drainGrace, well before shutdownTimeout', async () => {
      const server = await serve(() => new Response('ok'), {
        port: 0,
        logger: false,
        fastLane,
        drainGrace: 100,
        shutdownTimeout: 10_000,
      });
      let closeEvents = 0;
      server.node.on('close', () => (closeEvents += 1));
      const idle = await openConnection(server.port);
      await exchange(idle, '/');
      const unused = await openConnection(server.port);
      const gone = Promise.all([idle, unused].map((s) => new Promise((r) => s.once('close', r))));
      idle.resume();
      unused.resume();
      const t0 = Date.now();
      await server.close();
      await gone;
      assert.ok(Date.now() - t0 < 3000, 'quiet connections did not hold the drain to shutdownTimeout');
      await new Promise((r) => setImmediate(r));
      assert.equal(closeEvents, 1, "the node server emits 'close' once");
    });

    test('reusePort: two servers bind the same port and both answer', async (t) => {
      if (process.platform !== 'linux') return t.skip('SO_REUSEPORT load balancing is Linux-only');
      const a = await serve(() => new Response('a'), { port: 0, logger: false, fastLane, reusePort: true });
      const b = await serve(() => new Response('b'), {
        port: a.port,
        logger: false,
        fastLane,
        reusePort: true,
      });
      try {
        assert.equal(b.port, a.port);
        const seen = new Set<string>();
        for (let i = 0; i < 200 && seen.size < 2; i++) {
          // A fresh connection each time: the kernel picks the listener per connection.
          seen.add(await (await fetch(a.url, { headers: { connection: 'close' } })).text());
        }
        assert.deepEqual([...seen].sort(), ['a', 'b']);
      } finally {
        await Promise.all([a.close(), b.close()]);
      }
    });

    test('onRequestStart sees every request, refused ones included', async () => {
      const seen: string[] = [];
      const server = await serve(() => new Response('ok'), {
        port: 0,
        logger: false,
        fastLane,
        maxUrlLength: 20,
        onRequestStart: (req: IncomingMessage) => seen.push(`${req.method} ${req.url}`),
      });
      try {
        assert.equal((await fetch(`${server.url}/a`)).status, 200);
        assert.equal((await fetch(`${server.url}/${'x'.repeat(40)}`)).status, 414);
        assert.deepEqual(seen, ['GET /a', `GET /${'x'.repeat(40)}`]);
      } finally {
        await server.close();
      }
    });
  });
}

test('drain: a body still arriving on the fast lane past drainGrace is read and answered, then closed', async () => {
  const server = await serve(
    { fetch: async (request: Request) => new Response(`got ${await request.text()}`) },
    { port: 0, logger: false, drainGrace: 100, shutdownTimeout: 10_000 },
  );
  const socket = await openConnection(server.port);
  let text = '';
  socket.on('data', (chunk) => {
    text += chunk.toString('latin1');
  });
  const closed = new Promise((r) => socket.once('close', r));
  socket.write('POST /upload HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\nhello');
  await new Promise((r) => setTimeout(r, 30));
  const closing = server.close();
  // Longer than drainGrace: a connection with a body under way is not a quiet one.
  await new Promise((r) => setTimeout(r, 300));
  socket.write('world');
  await closing;
  await closed;
  assert.match(text, /^HTTP\/1\.1 200 OK\r\n/);
  assert.match(text, /connection: close/i);
  assert.ok(text.endsWith('got helloworld'), text);
});
