/**
 * HTTP/2 through serve(): the same app, edge policy, static files, compression, access log,
 * metrics, trusted proxies and drain as on HTTP/1.1, over h2c (prior knowledge) and over TLS
 * (ALPN h2, a test TLS listener in front); the app can tell only from `info.protocol`.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { type ClientHttp2Session, connect, constants } from 'node:http2';
import { get as httpsGet } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { App } from '../../../src/app/index.ts';
import { parseServeFlags, serveOptionsOf } from '../../../src/cli/serve-command.ts';
import { nodeHandler } from '../../../src/gateway/index.ts';
import { type ServeOptions, type StrataServer, serve } from '../../../src/server.ts';
import { h2cClient, h2request, testCertificate, tlsFront } from '../../fixtures/h2.ts';
import { rawRequest, waitFor } from '../../fixtures/http.ts';

const dir = mkdtempSync(join(tmpdir(), 'strata-h2-serve-'));
after(() => rmSync(dir, { recursive: true, force: true }));

/** A promise and the function that resolves it (a handler says "I have the request"). */
function signal(): { promise: Promise<void>; resolve: () => void } {
  let resolve: () => void = () => {};
  const promise = new Promise<void>((r) => (resolve = r));
  return { promise, resolve };
}

function app(): App {
  const a = new App();
  a.get('/', (c) => c.text(`hello ${c.info.protocol} ${new URL(c.req.url).host}`));
  a.get('/info', (c) =>
    c.json({
      protocol: c.info.protocol,
      secure: c.info.secure,
      remote: c.info.remote.address,
      url: c.req.url,
    }),
  );
  a.get('/stream', () => new Response(new Blob(['a', 'b', 'c']).stream()));
  a.post('/echo', async (c) => c.text(`${(await c.req.text()).length}`));
  a.get('/big', (c) => c.text('x'.repeat(20_000)));
  a.get('/headers', (c) => c.json(Object.fromEntries(c.req.headers)));
  return a;
}

async function withServer(
  options: ServeOptions,
  run: (server: StrataServer, client: ClientHttp2Session) => Promise<void>,
  target: App | Parameters<typeof serve>[0] = app(),
): Promise<void> {
  const server = await serve(target, { port: 0, logger: false, http2: { h2c: true }, ...options });
  const client = h2cClient(server.url);
  try {
    await run(server, client);
  } finally {
    client.destroy();
    await server.close();
  }
}

describe('HTTP/2 requests', () => {
  test('h2c and HTTP/1.1 share the port; the app tells them apart by info.protocol only', async () => {
    await withServer({}, async (server, client) => {
      const h2 = await h2request(client, { ':path': '/' });
      assert.equal(h2.status, 200);
      assert.equal(h2.text, `hello h2 127.0.0.1:${server.port}`);
      const h1 = await fetch(`${server.url}/`);
      assert.equal(await h1.text(), `hello http/1.1 127.0.0.1:${server.port}`);
    });
  });

  test('streamed bodies, request bodies with and without Content-Length, HEAD', async () => {
    await withServer({}, async (_server, client) => {
      assert.equal((await h2request(client, { ':path': '/stream' })).text, 'abc');
      const body = 'y'.repeat(100_000);
      const sized = await h2request(
        client,
        { ':path': '/echo', ':method': 'POST', 'content-length': String(body.length) },
        body,
      );
      assert.equal(sized.text, '100000');
      // HTTP/2 frames the body itself: no Content-Length is needed (RFC 9113 §8.1).
      assert.equal((await h2request(client, { ':path': '/echo', ':method': 'POST' }, body)).text, '100000');
      const head = await h2request(client, { ':path': '/big', ':method': 'HEAD' });
      assert.equal(head.status, 200);
      assert.equal(head.headers['content-length'], '20000');
      assert.equal(head.body.length, 0);
    });
  });

  test('pseudo-headers stay out of the request headers; :authority is the Host', async () => {
    await withServer({}, async (_server, client) => {
      const reply = await h2request(client, {
        ':path': '/headers',
        ':authority': 'example.test',
        'x-a': '1',
      });
      const headers = JSON.parse(reply.text) as Record<string, string>;
      assert.equal(headers.host, 'example.test');
      assert.equal(headers['x-a'], '1');
      assert.ok(!Object.keys(headers).some((k) => k.startsWith(':')));
    });
  });

  test('HTTP/1 connection headers the app sets are left out of an HTTP/2 response', async () => {
    const a = new App();
    a.get(
      '/',
      () => new Response('x', { headers: { connection: 'close', 'keep-alive': 'timeout=5', 'x-ok': '1' } }),
    );
    await withServer(
      {},
      async (_server, client) => {
        const reply = await h2request(client, { ':path': '/' });
        assert.equal(reply.status, 200);
        assert.equal(reply.text, 'x');
        assert.equal(reply.headers['x-ok'], '1');
        assert.equal(reply.headers.connection, undefined);
        assert.equal(reply.headers['keep-alive'], undefined);
      },
      a,
    );
  });

  test('a node app gets node compatibility request and response', async () => {
    const handler = nodeHandler((req, res) => {
      let n = 0;
      req.on('data', (c: Buffer) => (n += c.length));
      req.on('end', () => {
        res.setHeader('content-type', 'text/plain');
        res.end(`${req.method} ${req.url} ${req.headers.host} ${n} ${req.httpVersion}`);
      });
    });
    await withServer(
      {},
      async (server, client) => {
        const reply = await h2request(client, { ':path': '/x?y', ':method': 'POST' }, 'abcd');
        assert.equal(reply.text, `POST /x?y 127.0.0.1:${server.port} 4 2.0`);
      },
      handler,
    );
  });

  test('with fastLane off, a fetch app is served on node compatibility objects too', async () => {
    await withServer({ fastLane: false }, async (_server, client) => {
      assert.equal((await h2request(client, { ':path': '/' })).text.startsWith('hello h2'), true);
      assert.equal((await h2request(client, { ':path': '/echo', ':method': 'POST' }, 'abc')).text, '3');
    });
  });
});

describe('the edge policy on HTTP/2', () => {
  // One table: options, the request, the status the edge answers.
  // 'reset': node's HTTP/2 layer (nghttp2) refuses the stream itself as malformed (RFC 9113 §8.1.1).
  const cases: {
    name: string;
    options: ServeOptions;
    headers: Record<string, string>;
    status: number | 'reset';
  }[] = [
    {
      name: 'allowedHosts reads :authority',
      options: { allowedHosts: ['good.test'] },
      headers: { ':authority': 'evil.test' },
      status: 421,
    },
    {
      name: 'allowedHosts passes its host',
      options: { allowedHosts: ['good.test'] },
      headers: { ':authority': 'good.test' },
      status: 200,
    },
    { name: 'deny', options: { deny: ['127.0.0.1'] }, headers: {}, status: 403 },
    { name: 'allow', options: { allow: ['10.0.0.0/8'] }, headers: {}, status: 403 },
    {
      name: 'a declared body over maxBodySize',
      options: { maxBodySize: 10 },
      headers: { ':method': 'POST', ':path': '/echo', 'content-length': '11' },
      status: 413,
    },
    {
      name: 'maxUrlLength',
      options: { maxUrlLength: 20 },
      headers: { ':path': `/${'a'.repeat(30)}` },
      status: 414,
    },
    {
      name: 'maxHeaderCount',
      options: { maxHeaderCount: 3 },
      headers: { a: '1', b: '2', c: '3', d: '4' },
      status: 431,
    },
    {
      name: 'a Host that names another authority than :authority',
      options: {},
      headers: { ':authority': 'a.test', host: 'b.test' },
      status: 400,
    },
    { name: 'a malformed :authority', options: {}, headers: { ':authority': 'a b' }, status: 'reset' },
    {
      name: 'an :authority with userinfo',
      options: {},
      headers: { ':authority': 'user@a.test' },
      status: 'reset',
    },
    {
      name: 'an :authority with a bad port',
      options: {},
      headers: { ':authority': 'a.test:99999' },
      status: 400,
    },
    {
      name: 'a target that is not origin-form',
      options: {},
      headers: { ':path': 'http://evil.test/' },
      status: 'reset',
    },
    {
      name: 'CONNECT (no :path)',
      options: {},
      headers: { ':method': 'CONNECT', ':authority': 'a.test:443' },
      status: 400,
    },
  ];
  for (const c of cases) {
    test(c.name, async () => {
      await withServer(c.options, async (_server, client) => {
        const headers = c.headers[':method'] === 'CONNECT' ? c.headers : { ':path': '/', ...c.headers };
        const answer = h2request(
          client,
          headers,
          c.headers[':method'] === 'POST' ? 'x'.repeat(11) : undefined,
        );
        if (c.status === 'reset') {
          await assert.rejects(answer, /NGHTTP2_PROTOCOL_ERROR/);
          // The connection goes on.
          assert.equal((await h2request(client, { ':path': '/' })).status, 200);
          return;
        }
        const reply = await answer;
        assert.equal(reply.status, c.status, reply.text);
      });
    });
  }

  test('a body over maxBodySize without Content-Length is refused while it is read', async () => {
    await withServer({ maxBodySize: 1000 }, async (_server, client) => {
      const reply = await h2request(client, { ':path': '/echo', ':method': 'POST' }, 'x'.repeat(5000));
      assert.equal(reply.status, 413);
    });
  });

  test('the rate limit counts HTTP/2 requests as HTTP/1.1 ones', async () => {
    await withServer({ rateLimit: '2/1m' }, async (_server, client) => {
      const statuses: number[] = [];
      for (let i = 0; i < 3; i++) statuses.push((await h2request(client, { ':path': '/' })).status);
      assert.deepEqual(statuses, [200, 200, 429]);
    });
  });

  test('maxInFlight holds for streams of one connection', async () => {
    let release: () => void = () => {};
    const gate = new Promise<void>((resolve) => (release = resolve));
    const entered = signal();
    const a = new App();
    a.get('/slow', async (c) => {
      entered.resolve();
      await gate;
      return c.text('slow');
    });
    await withServer(
      { maxInFlight: 1 },
      async (_server, client) => {
        const slow = h2request(client, { ':path': '/slow' });
        await entered.promise;
        const second = await h2request(client, { ':path': '/slow' });
        assert.equal(second.status, 503);
        release();
        assert.equal((await slow).status, 200);
      },
      a,
    );
  });

  test('maxRequestsPerSocket: the last stream is answered, then GOAWAY', async () => {
    await withServer({ maxRequestsPerSocket: 3 }, async (_server, client) => {
      const goaway = new Promise<number>((resolve) => client.once('goaway', (code: number) => resolve(code)));
      for (let i = 0; i < 3; i++) assert.equal((await h2request(client, { ':path': '/' })).status, 200);
      const none = new Promise<number>((resolve) => setTimeout(() => resolve(-1), 3000).unref());
      assert.equal(await Promise.race([goaway, none]), constants.NGHTTP2_NO_ERROR);
      await waitFor(() => client.closed || client.destroyed, 2000, 'the client session ends');
    });
  });

  test('an HTTP/1 request line claiming HTTP/2.0 is still refused 505', async () => {
    await withServer({}, async (server) => {
      const reply = await rawRequest(server.port, 'GET / HTTP/2.0\r\nHost: a\r\n\r\n');
      assert.equal(reply.status, 505);
    });
  });
});

describe('edge features on HTTP/2', () => {
  test('static files with ranges, and compression', async () => {
    const root = join(dir, 'static');
    rmSync(root, { recursive: true, force: true });
    mkdtempSync(join(dir, 'x'));
    writeFileSync(join(dir, 'file.txt'), '0123456789'.repeat(100));
    await withServer({ static: dir, compression: true }, async (_server, client) => {
      const range = await h2request(client, { ':path': '/file.txt', range: 'bytes=10-19' });
      assert.equal(range.status, 206);
      assert.equal(range.text, '0123456789');
      assert.equal(range.headers['content-range'], 'bytes 10-19/1000');
      const whole = await h2request(client, { ':path': '/file.txt' });
      assert.equal(whole.text.length, 1000);
      const big = await h2request(client, { ':path': '/big', 'accept-encoding': 'gzip' });
      assert.equal(big.headers['content-encoding'], 'gzip');
      assert.ok(big.body.length < 20_000);
    });
  });

  test('large static files go out from the descriptor (respondWithFD): whole, ranges, logged, fd closed', async () => {
    const root = mkdtempSync(join(dir, 'large-'));
    const bytes = Buffer.alloc(300_000);
    for (let i = 0; i < bytes.length; i++) bytes[i] = i % 251;
    writeFileSync(join(root, 'large.bin'), bytes);
    const logFile = join(root, '..', `large-${Date.now()}.log`);
    const openFds = (): number => readdirSync('/proc/self/fd').length;
    const before = openFds();
    await withServer(
      { static: { root, memoryCacheMaxFile: 1024 }, accessLog: { destination: logFile, bufferSize: 0 } },
      async (_server, client) => {
        const whole = await h2request(client, { ':path': '/large.bin' });
        assert.equal(whole.status, 200);
        assert.ok(whole.body.equals(bytes));
        assert.equal(whole.headers['content-length'], '300000');
        assert.match(String(whole.headers['x-request-id']), /./);
        const range = await h2request(client, { ':path': '/large.bin', range: 'bytes=1000-200999' });
        assert.equal(range.status, 206);
        assert.ok(range.body.equals(bytes.subarray(1000, 201_000)));
        // A client that resets mid-file: the descriptor is closed all the same.
        const stream = client.request({ ':path': '/large.bin' });
        stream.on('error', () => {});
        await new Promise((r) => stream.once('response', r));
        stream.close(constants.NGHTTP2_CANCEL);
        await new Promise((r) => stream.once('close', r));
      },
    );
    await waitFor(() => openFds() <= before, 2000, 'descriptors closed');
    const lines = readFileSync(logFile, 'utf8').trim().split('\n');
    assert.match(lines[0]!, /"GET \/large\.bin HTTP\/2\.0" 200 300000 /);
    assert.match(lines[1]!, /"GET \/large\.bin HTTP\/2\.0" 206 200000 /);
  });

  test('the access log writes HTTP/2.0, the status and the bytes; metrics count the requests', async () => {
    const logFile = join(dir, 'access.log');
    await withServer(
      { accessLog: { destination: logFile, bufferSize: 0 }, metrics: true },
      async (server, client) => {
        await h2request(client, { ':path': '/' });
        await h2request(client, { ':path': '/stream' });
        await h2request(client, { ':path': '/nothing-here' });
        const text = await server.metrics!.text();
        assert.match(text, /status="404"/);
        assert.match(text, /status="200"/);
      },
    );
    const lines = readFileSync(logFile, 'utf8').trim().split('\n');
    assert.equal(lines.length, 3);
    assert.match(lines[0]!, /"GET \/ HTTP\/2\.0" 200 \d+ /);
    assert.match(lines[1]!, /"GET \/stream HTTP\/2\.0" 200 3 /);
    assert.match(lines[2]!, /"GET \/nothing-here HTTP\/2\.0" 404 /);
  });

  test('trusted proxies: X-Forwarded-For from a trusted peer is the client', async () => {
    await withServer({ trustProxy: ['loopback'] }, async (_server, client) => {
      const reply = await h2request(client, { ':path': '/info', 'x-forwarded-for': '203.0.113.9' });
      assert.equal((JSON.parse(reply.text) as { remote: string }).remote, '203.0.113.9');
    });
  });

  test('request.signal aborts when the client resets the stream (RST_STREAM)', async () => {
    let aborted: (reason: unknown) => void = () => {};
    const abortedWith = new Promise<unknown>((resolve) => (aborted = resolve));
    const a = new App();
    const entered = signal();
    a.get('/wait', (c) => {
      c.req.signal.addEventListener('abort', () => aborted(c.req.signal.reason));
      entered.resolve();
      return new Promise<Response>(() => {});
    });
    await withServer(
      {},
      async (_server, client) => {
        const stream = client.request({ ':path': '/wait' });
        stream.on('error', () => {});
        await entered.promise;
        stream.close(constants.NGHTTP2_CANCEL);
        const reason = await abortedWith;
        assert.ok(reason instanceof Error);
      },
      a,
    );
  });

  test('an answer to a stream the client reset is logged 499, and the connection goes on', async () => {
    let answered: () => void = () => {};
    const done = new Promise<void>((resolve) => (answered = resolve));
    const a = new App();
    const entered = signal();
    a.get('/late', async (c) => {
      entered.resolve();
      await new Promise((r) => setTimeout(r, 100));
      queueMicrotask(answered);
      return c.text('too late');
    });
    a.get('/', (c) => c.text('ok'));
    const logFile = join(dir, `late-${Date.now()}.log`);
    await withServer(
      { accessLog: { destination: logFile, bufferSize: 0 } },
      async (_server, client) => {
        const stream = client.request({ ':path': '/late' });
        stream.on('error', () => {});
        await entered.promise;
        stream.close(constants.NGHTTP2_CANCEL);
        await done;
        assert.equal((await h2request(client, { ':path': '/' })).text, 'ok');
      },
      a,
    );
    const lines = readFileSync(logFile, 'utf8').trim().split('\n');
    assert.match(lines[0]!, /"GET \/late HTTP\/2\.0" 499 0 /);
    assert.match(lines[1]!, /"GET \/ HTTP\/2\.0" 200 2 /);
  });

  test('graceful drain: GOAWAY, the stream under way is answered, the connection closes', async () => {
    let release: () => void = () => {};
    const gate = new Promise<void>((resolve) => (release = resolve));
    const entered = signal();
    const a = new App();
    a.get('/slow', async (c) => {
      entered.resolve();
      await gate;
      return c.text('done');
    });
    const server = await serve(a, { port: 0, logger: false, http2: { h2c: true } });
    const client = h2cClient(server.url);
    const goaway = new Promise<number>((resolve) => client.once('goaway', (code: number) => resolve(code)));
    const slow = h2request(client, { ':path': '/slow' });
    await entered.promise;
    const closed = server.close();
    assert.equal(await goaway, constants.NGHTTP2_NO_ERROR);
    release();
    assert.equal((await slow).text, 'done');
    await closed;
    await waitFor(() => client.destroyed || client.closed, 2000, 'client closed');
  });

  test('over TLS with ALPN: h2 and http/1.1 on one port, secure, https URLs', async () => {
    const certificate = testCertificate();
    const server = await serve(app(), { port: 0, logger: false, http2: true });
    const front = await tlsFront(server, certificate);
    const client = connect(front.url, { ca: certificate.cert });
    try {
      const reply = await h2request(client, { ':path': '/info' });
      const info = JSON.parse(reply.text) as { protocol: string; secure: boolean; url: string };
      assert.equal(info.protocol, 'h2');
      assert.equal(info.secure, true);
      assert.match(info.url, /^https:\/\/localhost:\d+\/info$/);
      // The same port, a client without ALPN (node's https): served by the HTTP/1.1 server.
      const h1 = await new Promise<string>((resolve, reject) => {
        const req = httpsGet(`${front.url}/`, { ca: certificate.cert }, (res) => {
          let text = '';
          res.setEncoding('utf8');
          res.on('data', (c: string) => (text += c));
          res.on('end', () => resolve(text));
        });
        req.on('error', reject);
      });
      assert.match(h1, /^hello http\/1\.1 localhost:\d+$/);
    } finally {
      client.destroy();
      await server.close();
      await front.close();
      certificate.remove();
    }
  });
});

describe('configuration', () => {
  test('http2 option values are checked, naming the bad one', async () => {
    await assert.rejects(
      serve(app(), { port: 0, logger: false, http2: { maxConcurrentStreams: 0 } }),
      /http2\.maxConcurrentStreams must be a positive integer/,
    );
    await assert.rejects(
      serve(app(), { port: 0, logger: false, http2: 'yes' as unknown as boolean }),
      /option http2 must be true, false or an object/,
    );
  });

  test('without h2c the plain port does not speak HTTP/2', async () => {
    const server = await serve(app(), { port: 0, logger: false, http2: true });
    try {
      const reply = await rawRequest(server.port, 'PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n');
      assert.notEqual(reply.text.slice(0, 9), '\x00\x00\x12\x04\x00\x00\x00\x00\x00');
      assert.match(reply.text, /^HTTP\/1\.1 (400|505)/);
    } finally {
      await server.close();
    }
  });

  test("--http2 and --h2c become the http2 option, over the config file's limits", () => {
    const flags = (args: string[], values?: Record<string, unknown>) => {
      const parsed = parseServeFlags(
        ['app.ts', ...args],
        {},
        values === undefined ? undefined : { path: 'strata.config.ts', values },
      );
      assert.notEqual(parsed, 'help');
      return serveOptionsOf(parsed as Exclude<typeof parsed, 'help'>).http2;
    };
    assert.deepEqual(flags(['--http2']), {});
    assert.deepEqual(flags(['--h2c']), { h2c: true });
    assert.deepEqual(flags(['--h2c'], { http2: { maxConcurrentStreams: 10 } }), {
      maxConcurrentStreams: 10,
      h2c: true,
    });
    assert.equal(flags([]), undefined);
  });
});
