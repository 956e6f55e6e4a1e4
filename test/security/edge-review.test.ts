import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import type { ServeInfo } from '../../src/gateway/types.ts';
import type { AccessLogOptions } from '../../src/server/access-log.ts';
import { type ServeOptions, type StrataServer, serve } from '../../src/server.ts';
import { rawRequest } from '../fixtures/http.ts';
import { handshake } from '../fixtures/ws.ts';

// A hostile client's review of the edge (serve.ts `refusal()`, edge-policy.ts, the upgrade
// path): what it could hold, bypass or make the two transports disagree on. Raw sockets, both
// transports.

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Connects and writes `data`; the socket is the caller's to destroy. */
function open(port: number, data: string): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1');
    socket.on('error', () => {});
    socket.once('connect', () => {
      socket.write(data);
      resolve(socket);
    });
    setTimeout(() => reject(new Error('connect timed out')), 2000).unref();
  });
}

/** Resolves with what arrived once `predicate` holds on it, or on close / after 2 s. */
function received(socket: Socket, predicate: (text: string) => boolean): Promise<string> {
  return new Promise((resolve) => {
    let text = '';
    const done = (): void => {
      clearTimeout(timer);
      resolve(text);
    };
    const timer = setTimeout(done, 2000);
    socket.on('data', (c: Buffer) => {
      text += c.toString('latin1');
      if (predicate(text)) done();
    });
    socket.on('close', done);
  });
}

// Settles within `ms`, or rejects: a liveness check (a close that never returns), not a timing.
function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    promise.finally(() => clearTimeout(timer)),
    new Promise<T>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`${what} did not settle within ${ms} ms`)), ms);
    }),
  ]);
}

const encoder = new TextEncoder();

function hostileApp(calls: string[]) {
  return {
    async fetch(request: Request, info: ServeInfo): Promise<Response> {
      const path = new URL(request.url).pathname;
      calls.push(path);
      // A response that never ends (server-sent events the client stops reading).
      if (path === '/stream')
        return new Response(
          new ReadableStream({
            start(c) {
              c.enqueue(encoder.encode('part'));
            },
          }),
        );
      // An app that never decides.
      if (path === '/never') await new Promise(() => {});
      if (path === '/ws' && info.upgrade !== undefined) return info.upgrade({ message() {} });
      return new Response(`ok ${path}`);
    },
  };
}

async function withServer(
  options: ServeOptions,
  fn: (server: StrataServer, calls: string[]) => Promise<void>,
): Promise<void> {
  const calls: string[] = [];
  const server = await serve(hostileApp(calls), { port: 0, logger: false, ...options });
  try {
    await fn(server, calls);
  } finally {
    await within(server.close(), 5000, 'server.close()');
  }
}

for (const fastLane of [true, false]) {
  describe(`edge review: upgrades cannot hold the server (fastLane: ${fastLane})`, () => {
    test('a handshake pipelined behind a never-ending response, then the client leaves: nothing is held', async () => {
      await withServer({ fastLane, maxInFlight: 2, shutdownTimeout: 1000 }, async (server, calls) => {
        for (let i = 0; i < 2; i++) {
          const socket = await open(
            server.port,
            `POST /stream HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n${handshake('/ws', server.port)}`,
          );
          // The stream has started: the handshake behind it waits for that response to end.
          assert.match(await received(socket, (t) => t.includes('part')), /part/);
          socket.destroy();
        }
        // Both handshakes let go of their slot in flight once their client left: a request is
        // served (it was 503 for ever, the sockets never closed).
        let status = 0;
        for (let i = 0; i < 20 && status !== 200; i++) {
          status = (
            await rawRequest(server.port, 'GET /after HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n')
          ).status;
          if (status !== 200) await sleep(50);
        }
        assert.equal(status, 200);
        assert.ok(!calls.includes('/ws'), 'the handshake never reached the app');
      });
    });

    test('shutdownTimeout closes a handshake the app never answers, and one queued behind a stream', async () => {
      await withServer({ fastLane, shutdownTimeout: 300 }, async (server) => {
        const waiting = await open(server.port, handshake('/never', server.port));
        const queued = await open(
          server.port,
          `POST /stream HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n${handshake('/ws', server.port)}`,
        );
        await received(queued, (t) => t.includes('part'));
        // Both sockets left node's HTTP bookkeeping at the upgrade: the drain's deadline must
        // still close them (close() never returned).
        await within(server.close(), 3000, 'server.close() with handshakes pending');
        waiting.destroy();
        queued.destroy();
      });
    });
  });
}

for (const fastLane of [true, false]) {
  describe(`edge review: maxHeaderCount counts the client's lines (fastLane: ${fastLane})`, () => {
    const lines = (n: number): string =>
      ['Host: x', ...Array.from({ length: n - 1 }, (_, i) => `X-${i}: v`)].map((l) => `${l}\r\n`).join('');
    for (const accessLog of [false, true]) {
      test(`exactly maxHeaderCount lines pass, one more is 431 (accessLog: ${accessLog})`, async () => {
        // The access log adds the request id to the request's headers: that line is the
        // server's, not the client's (a request at the cap was 431 on node's path only).
        const log = accessLog ? { destination: '/dev/null', requestId: { trust: 'never' as const } } : false;
        await withServer({ fastLane, maxHeaderCount: 5, accessLog: log }, async (server) => {
          const get = (n: number) =>
            rawRequest(server.port, `GET /h HTTP/1.1\r\n${lines(n)}Connection: close\r\n\r\n`);
          const post = (n: number) =>
            rawRequest(
              server.port,
              `POST /h HTTP/1.1\r\n${lines(n - 2)}Content-Length: 0\r\nConnection: close\r\n\r\n`,
            );
          assert.equal((await get(4)).status, 200);
          assert.equal((await post(5)).status, 200, 'a POST (node path on both transports) at the cap');
          assert.equal((await post(6)).status, 431);
          // The last line is Connection: the GET has n + 1 lines.
          assert.equal((await get(5)).status, 431);
        });
      });
    }
  });
}

/** Runs `fn` with a JSON access log in a temporary file, then returns its lines. */
async function withAccessLog(
  fn: (accessLog: AccessLogOptions) => Promise<void>,
): Promise<{ method: string; url: string; status: number }[]> {
  const dir = mkdtempSync(join(tmpdir(), 'strata-edge-review-'));
  const file = join(dir, 'access.log');
  try {
    await fn({ format: 'json', destination: file, bufferSize: 0 });
    const text = readFileSync(file, 'utf8').trim();
    return text === '' ? [] : text.split('\n').map((l) => JSON.parse(l));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

for (const fastLane of [true, false]) {
  describe(`edge review: Expect and CONNECT go through the edge policy and the log (fastLane: ${fastLane})`, () => {
    test('an unsupported Expect from a denied client is 403, not 417; from others 417; both logged', async () => {
      const lines = await withAccessLog(async (accessLog) => {
        await withServer({ fastLane, deny: ['127.0.0.2'], accessLog }, async (server, calls) => {
          const head = 'GET /e HTTP/1.1\r\nHost: x\r\nExpect: tea\r\n\r\n';
          const denied = await new Promise<string>((resolve) => {
            const socket = connect({ port: server.port, host: '127.0.0.1', localAddress: '127.0.0.2' });
            socket.on('error', () => resolve(''));
            socket.once('connect', () => socket.write(head));
            received(socket, () => false).then(resolve);
          });
          assert.match(denied, /^HTTP\/1\.1 403 /);
          const other = await rawRequest(server.port, head);
          assert.equal(other.status, 417);
          assert.ok(other.closed);
          assert.deepEqual(calls, []);
        });
      });
      assert.deepEqual(lines.map((l) => [l.method, l.url, l.status]).sort(), [
        ['GET', '/e', 403],
        ['GET', '/e', 417],
      ]);
    });

    test('CONNECT: the policy first (421), then 501, each logged; never a silent close', async () => {
      const lines = await withAccessLog(async (accessLog) => {
        await withServer({ fastLane, allowedHosts: ['good.example'], accessLog }, async (server, calls) => {
          const ok = await rawRequest(
            server.port,
            'CONNECT good.example:443 HTTP/1.1\r\nHost: good.example:443\r\n\r\n',
          );
          assert.equal(ok.status, 501, ok.text);
          assert.ok(ok.closed);
          const misdirected = await rawRequest(
            server.port,
            'CONNECT good.example:443 HTTP/1.1\r\nHost: evil.example:443\r\n\r\n',
          );
          assert.equal(misdirected.status, 421);
          // RFC 9112 §3.2.3: CONNECT takes an authority-form target only .
          const bad = await rawRequest(server.port, 'CONNECT /x HTTP/1.1\r\nHost: good.example\r\n\r\n');
          assert.equal(bad.status, 400);
          assert.deepEqual(calls, []);
        });
      });
      assert.deepEqual(lines.map((l) => [l.method, l.url, l.status]).sort(), [
        ['CONNECT', '/x', 400],
        ['CONNECT', 'good.example:443', 421],
        ['CONNECT', 'good.example:443', 501],
      ]);
    });

    test('CONNECT pipelined behind a response in progress is answered after it, without a crash', async () => {
      await withServer({ fastLane }, async (server, calls) => {
        const res = await rawRequest(
          server.port,
          'POST /first HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\nCONNECT a.example:443 HTTP/1.1\r\nHost: a.example:443\r\n\r\n',
        );
        assert.match(res.text, /^HTTP\/1\.1 200 [\s\S]*ok \/first/);
        assert.match(res.text, /HTTP\/1\.1 501 /);
        assert.ok(res.closed);
        assert.deepEqual(calls, ['/first']);
      });
    });
  });
}

describe('edge review: CONNECT for a node app', () => {
  test("its own 'connect' listener gets what the policy passes; a denied client gets 403", async () => {
    for (const deny of [[], ['127.0.0.1']]) {
      const server = await serve(
        (_req: unknown, res: { end(s: string): void }, _next?: unknown) => res.end('ok'),
        {
          port: 0,
          logger: false,
          deny,
        },
      );
      server.node.on('connect', (_req, socket) => {
        socket.on('error', () => {});
        socket.end('HTTP/1.1 200 Connection Established\r\n\r\n');
      });
      try {
        const res = await rawRequest(
          server.port,
          'CONNECT a.example:443 HTTP/1.1\r\nHost: a.example:443\r\n\r\n',
        );
        assert.equal(res.status, deny.length === 0 ? 200 : 403, res.text);
      } finally {
        await within(server.close(), 5000, 'server.close()');
      }
    }
  });
});

for (const fastLane of [true, false]) {
  test(`the last answers before close() are in the access log: a handshake the app refused, a CONNECT (fastLane: ${fastLane})`, async () => {
    const lines = await withAccessLog(async (accessLog) => {
      // close() right after: these lines are written on the socket's 'close', which node emits
      // a turn after it counts the socket gone (and closes the server).
      await withServer({ fastLane, accessLog }, async (server) => {
        assert.equal((await rawRequest(server.port, handshake('/plain', server.port))).status, 400);
      });
      await withServer({ fastLane, accessLog }, async (server) => {
        assert.equal(
          (await rawRequest(server.port, 'CONNECT a.example:443 HTTP/1.1\r\nHost: a.example:443\r\n\r\n'))
            .status,
          501,
        );
      });
    });
    assert.deepEqual(
      lines.map((l) => [l.method, l.url, l.status]),
      [
        ['GET', '/plain', 400],
        ['CONNECT', 'a.example:443', 501],
      ],
    );
  });
}

describe('edge review: one Host rule for the edge and the gateway', () => {
  const echo = {
    fetch: (request: Request) => new Response(`${new URL(request.url).host} ${request.headers.get('host')}`),
  };

  for (const fastLane of [true, false]) {
    test(`a Host the edge passes is the host of request.url (fastLane: ${fastLane})`, async () => {
      const server = await serve(echo, { port: 0, logger: false, fastLane, allowedHosts: ['good.example'] });
      try {
        // An empty port is a valid host[:port] (RFC 3986 §3.2.3): the edge and the allowlist
        // took it, and the gateway built request.url on the server's own address instead.
        const res = await rawRequest(
          server.port,
          'GET / HTTP/1.1\r\nHost: good.example:\r\nConnection: close\r\n\r\n',
        );
        assert.equal(res.status, 200);
        assert.match(res.text, /\r\n\r\ngood\.example good\.example:$/);
      } finally {
        await server.close();
      }
    });
  }

  test('the gateway on its own does not build request.url from a Host the edge refuses', async () => {
    const { createServer } = await import('node:http');
    const { createNodeHandler } = await import('../../src/gateway/index.ts');
    const handler = createNodeHandler(echo, {
      maxBodySize: 1024,
      secure: false,
      defaultHost: 'default.invalid',
      onError: () => {},
      waitUntil: () => {},
    });
    const server = createServer(handler);
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    const port = (server.address() as { port: number }).port;
    try {
      // WHATWG URL percent-decodes a host: `a%2eevil.example` became the URL host
      // `a.evil.example`, a name the header never spelled (and sub-delims passed too).
      for (const host of ['a%2eevil.example', "a!$&'()*+,;=b", 'good.example:65536']) {
        const res = await rawRequest(port, `GET / HTTP/1.1\r\nHost: ${host}\r\nConnection: close\r\n\r\n`);
        assert.equal(res.status, 200, host);
        assert.match(res.text, /\r\n\r\ndefault\.invalid /, host);
      }
      const ok = await rawRequest(port, 'GET / HTTP/1.1\r\nHost: [::1]:8080\r\nConnection: close\r\n\r\n');
      assert.match(ok.text, /\r\n\r\n\[::1\]:8080 /);
    } finally {
      server.closeAllConnections();
      await new Promise((r) => server.close(r));
    }
  });
});

for (const fastLane of [true, false]) {
  describe(`edge review: load shedding and counters after hostile handshakes (fastLane: ${fastLane})`, () => {
    test('under pressure a handshake is a 503 with Retry-After, logged, and the app never runs', async () => {
      const lines = await withAccessLog(async (accessLog) => {
        // Heap used is always over 1 byte: the monitor reports pressure from its first sample.
        await withServer(
          { fastLane, accessLog, loadShedding: { maxHeapUsedBytes: 1, sampleInterval: 60_000 } },
          async (server, calls) => {
            const res = await rawRequest(server.port, handshake('/ws', server.port));
            assert.equal(res.status, 503, res.text);
            assert.match(res.text, /retry-after: 1/i);
            assert.ok(res.closed);
            assert.deepEqual(calls, []);
          },
        );
      });
      assert.deepEqual(
        lines.map((l) => [l.url, l.status]),
        [['/ws', 503]],
      );
    });

    test('after hostile handshakes and aborts, maxInFlight: 1 and maxConnectionsPerIp: 2 still serve', async () => {
      await withServer({ fastLane, maxInFlight: 1, maxConnectionsPerIp: 2 }, async (server) => {
        const p = server.port;
        const hostile = [
          handshake('/ws', p),
          handshake('/plain', p),
          handshake('/never', p),
          handshake('/ws', p, { Host: 'bad host' }),
          handshake('/ws', p, { 'Sec-WebSocket-Version': '8' }),
          `GET /a HTTP/1.1\r\nHost: x\r\n\r\n${handshake('/ws', p)}`,
          `POST /stream HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n${handshake('/ws', p)}`,
          'GET /never HTTP/1.1\r\nHost: x\r\n\r\n',
          'CONNECT a.example:1 HTTP/1.1\r\nHost: a.example:1\r\n\r\n',
          'GET / HTTP/1.1\r\nHost: x\r\nExpect: tea\r\n\r\n',
          'GET / HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: 10\r\n\r\n',
          'not http\r\n\r\n',
        ];
        for (const data of hostile) {
          for (const wait of [0, 30]) {
            const a = await open(p, data);
            const b = await open(p, data);
            if (wait > 0) await sleep(wait);
            a.destroy();
            b.resetAndDestroy();
          }
        }
        // Both per-IP slots and the one slot in flight are free again.
        const one = await open(p, '');
        const two = await open(p, '');
        try {
          for (const socket of [one, two]) {
            let status = '';
            for (let i = 0; i < 40 && !status.startsWith('HTTP/1.1 200'); i++) {
              const got = received(socket, (t) => t.includes('\r\n\r\n'));
              socket.write('GET /again HTTP/1.1\r\nHost: x\r\n\r\n');
              status = await got;
              if (!status.startsWith('HTTP/1.1 200')) await sleep(25);
            }
            assert.match(status, /^HTTP\/1\.1 200 /);
          }
        } finally {
          one.destroy();
          two.destroy();
        }
      });
    });
  });
}
