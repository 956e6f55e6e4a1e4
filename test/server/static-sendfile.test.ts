/**
 * Large static files over real sockets, with sendfile(2) (when the addon is built) and with the
 * stream path that replaces it: the same cases run against both, byte for byte.
 */
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import {
  mkdtempSync,
  openSync,
  readdirSync,
  renameSync,
  rmSync,
  statSync,
  truncateSync,
  writeFileSync,
} from 'node:fs';
import { createServer, type Server } from 'node:http';
import { connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { canSendfile, SendfileTransfer, sendfileAvailable } from '../../src/server/static/sendfile.ts';
import { StaticFiles } from '../../src/server/static/static-files.ts';
import { type StrataServer, serve } from '../../src/server.ts';
import { memoryLogger, waitFor } from '../fixtures/http.ts';

const MB = 1024 * 1024;
const one = randomBytes(MB);
const twenty = randomBytes(20 * MB + 7);
const small = Buffer.from('small file\n'.repeat(10));
let base: string;

const sha = (b: Buffer): string => createHash('sha256').update(b).digest('hex');
const openFds = (): number => readdirSync('/proc/self/fd').length;

/** The fd count once connections of earlier tests have finished closing (stable for 100 ms). */
async function settledFds(): Promise<number> {
  let last = openFds();
  for (let i = 0; i < 50; i++) {
    await new Promise((r) => setTimeout(r, 100));
    const now = openFds();
    if (now === last) return now;
    last = now;
  }
  return last;
}

interface Parsed {
  status: number;
  headers: Record<string, string>;
  body: Buffer;
}

/** Reads HTTP/1.1 responses with Content-Length off a raw socket, in order, without quadratic copies. */
class ResponseReader {
  #chunks: Buffer[] = [];
  #length = 0;
  #closed = false;
  #wake: (() => void) | undefined;
  #stallAt = -1;
  #stalled: (() => void) | undefined;
  readonly socket: Socket;

  constructor(socket: Socket) {
    this.socket = socket;
    socket.on('data', (chunk: Buffer) => {
      this.#chunks.push(chunk);
      this.#length += chunk.length;
      if (this.#stallAt >= 0 && this.#length >= this.#stallAt) {
        socket.pause();
        this.#stallAt = -1;
        this.#stalled?.();
      }
      this.#wake?.();
    });
    const closed = (): void => {
      this.#closed = true;
      this.#wake?.();
    };
    socket.on('close', closed);
    socket.on('error', closed);
  }

  /** Stops reading as soon as `minBytes` have arrived: the server's socket buffer then fills up. */
  stall(minBytes: number): Promise<void> {
    this.#stallAt = minBytes;
    return new Promise((resolve) => {
      this.#stalled = resolve;
    });
  }

  get closed(): boolean {
    return this.#closed;
  }

  /** Bytes received and not yet consumed. */
  get buffered(): number {
    return this.#length;
  }

  async #more(): Promise<boolean> {
    if (this.#closed) return false;
    await new Promise<void>((resolve) => {
      this.#wake = resolve;
    });
    this.#wake = undefined;
    return true;
  }

  #take(n: number): Buffer {
    const out = Buffer.allocUnsafe(n);
    let at = 0;
    while (at < n) {
      const first = this.#chunks[0]!;
      const used = Math.min(first.length, n - at);
      first.copy(out, at, 0, used);
      at += used;
      if (used === first.length) this.#chunks.shift();
      else this.#chunks[0] = first.subarray(used);
    }
    this.#length -= n;
    return out;
  }

  /** The next response; a body cut short by a close comes back short. */
  async next(method = 'GET'): Promise<Parsed> {
    let end = -1;
    for (;;) {
      if (this.#chunks.length > 1 && this.#chunks[0]!.length < 65_536) {
        this.#chunks.splice(0, 2, Buffer.concat([this.#chunks[0]!, this.#chunks[1]!]));
      }
      end = this.#chunks.length > 0 ? this.#chunks[0]!.indexOf('\r\n\r\n') : -1;
      if (end !== -1) break;
      if (this.#chunks.length > 1) continue;
      if (!(await this.#more())) throw new Error('connection closed before a response head');
    }
    const head = this.#take(end + 4).toString('latin1');
    const [statusLine, ...lines] = head.slice(0, -4).split('\r\n');
    const headers: Record<string, string> = {};
    for (const line of lines) {
      const colon = line.indexOf(':');
      headers[line.slice(0, colon).toLowerCase()] = line.slice(colon + 1).trim();
    }
    const status = Number(/^HTTP\/1\.[01] (\d{3})/.exec(statusLine!)![1]);
    const length = method === 'HEAD' || status === 304 ? 0 : Number(headers['content-length'] ?? 0);
    while (this.#length < length && (await this.#more()));
    return { status, headers, body: this.#take(Math.min(length, this.#length)) };
  }

  /** Resolves once the server has closed the connection. */
  async untilClosed(): Promise<void> {
    while (await this.#more());
  }
}

function open(port: number): Promise<ResponseReader> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1');
    socket.once('connect', () => resolve(new ResponseReader(socket)));
    socket.once('error', reject);
  });
}

const request = (path: string, headers = '', method = 'GET'): string =>
  `${method} ${path} HTTP/1.1\r\nHost: t\r\n${headers}\r\n`;

async function fetchOne(port: number, path: string, headers = '', method = 'GET'): Promise<Parsed> {
  const reader = await open(port);
  reader.socket.write(request(path, `${headers}Connection: close\r\n`, method));
  const res = await reader.next(method);
  reader.socket.destroy();
  return res;
}

/** Sends `path` and stops reading after the first bytes of the answer. */
function requestAndStall(reader: ResponseReader, path: string, more = ''): Promise<void> {
  const stalled = reader.stall(1);
  reader.socket.write(request(path) + more);
  return stalled;
}

/** The server side of the connections accepted while `body` runs, once all of them have closed. */
async function serverSocketsClosed(
  server: StrataServer,
  count: number,
  body: () => Promise<void>,
): Promise<void> {
  const accepted: Socket[] = [];
  const onConnection = (socket: Socket): void => {
    accepted.push(socket);
  };
  server.node.on('connection', onConnection);
  try {
    await body();
    await waitFor(
      () => accepted.length === count && accepted.every((socket) => socket.destroyed),
      10_000,
      'the server to close its side',
    );
  } finally {
    server.node.off('connection', onConnection);
  }
}

before(() => {
  base = mkdtempSync(join(tmpdir(), 'strata-sendfile-'));
  writeFileSync(join(base, 'one.bin'), one);
  writeFileSync(join(base, 'twenty.bin'), twenty);
  writeFileSync(join(base, 'small.txt'), small);
});
after(() => rmSync(base, { recursive: true, force: true }));

test('the sendfile addon is built on CI', { skip: process.env.CI !== 'true' }, () => {
  assert.equal(sendfileAvailable, true, 'native/sendfile did not build or load: see the npm ci output');
  assert.equal(new StaticFiles({ root: base }).diskTransport, 'sendfile');
});

test('sendfile: false chooses the stream path, and serve() logs the path once at debug', async () => {
  assert.equal(new StaticFiles({ root: base, sendfile: false }).diskTransport, 'stream');
  const expected = sendfileAvailable ? 'sendfile' : 'stream';
  assert.equal(new StaticFiles({ root: base }).diskTransport, expected);
  for (const [sendfile, transport] of [
    [true, expected],
    [false, 'stream'],
  ] as const) {
    const { logger, lines } = memoryLogger('debug');
    const server = await serve(() => new Response('app'), {
      port: 0,
      logger,
      static: { root: base, sendfile },
    });
    await fetchOne(server.port, '/one.bin');
    await server.close();
    const said = lines.filter((line) => line.transport !== undefined);
    assert.equal(said.length, 1);
    assert.equal(said[0]!.transport, transport);
    assert.equal(said[0]!.level, 20);
  }
});

for (const transport of ['sendfile', 'stream'] as const) {
  describe(`large files (${transport})`, {
    skip: transport === 'sendfile' && !sendfileAvailable,
    timeout: 60_000,
  }, () => {
    let server: StrataServer;
    let root: string;
    before(async () => {
      root = mkdtempSync(join(base, `${transport}-`));
      writeFileSync(join(root, 'one.bin'), one);
      writeFileSync(join(root, 'twenty.bin'), twenty);
      writeFileSync(join(root, 'small.txt'), small);
      server = await serve(() => new Response('app', { status: 404 }), {
        port: 0,
        logger: false,
        static: { root, sendfile: transport === 'sendfile', revalidateMs: 60_000 },
      });
    });
    after(() => server.close());

    test('1 MB and 20 MB files arrive byte for byte', async () => {
      const a = await fetchOne(server.port, '/one.bin');
      assert.equal(a.status, 200);
      assert.equal(a.headers['content-length'], String(one.length));
      assert.equal(sha(a.body), sha(one));
      const b = await fetchOne(server.port, '/twenty.bin');
      assert.equal(b.headers['content-length'], String(twenty.length));
      assert.equal(b.body.length, twenty.length);
      assert.equal(sha(b.body), sha(twenty));
    });

    const ranges: [range: string, start: number, end: number][] = [
      ['bytes=0-0', 0, 0],
      ['bytes=1048570-1048580', 1_048_570, 1_048_580],
      ['bytes=5000000-15000000', 5_000_000, 15_000_000],
      ['bytes=20971000-', 20_971_000, twenty.length - 1],
      ['bytes=-10', twenty.length - 10, twenty.length - 1],
      [`bytes=${twenty.length - 1}-${twenty.length + 100}`, twenty.length - 1, twenty.length - 1],
    ];
    for (const [range, start, end] of ranges) {
      test(`Range ${range}`, async () => {
        const res = await fetchOne(server.port, '/twenty.bin', `Range: ${range}\r\n`);
        assert.equal(res.status, 206);
        assert.equal(res.headers['content-range'], `bytes ${start}-${end}/${twenty.length}`);
        assert.equal(res.headers['content-length'], String(end - start + 1));
        assert.ok(res.body.equals(twenty.subarray(start, end + 1)));
      });
    }

    test('several ranges (multipart) and an unsatisfiable one', async () => {
      const multi = await fetchOne(server.port, '/twenty.bin', 'Range: bytes=0-9,10000000-10000009\r\n');
      assert.equal(multi.status, 206);
      assert.equal(multi.body.length, Number(multi.headers['content-length']));
      assert.ok(multi.body.includes(twenty.subarray(10_000_000, 10_000_010)));
      const none = await fetchOne(server.port, '/twenty.bin', `Range: bytes=${twenty.length}-\r\n`);
      assert.equal(none.status, 416);
    });

    test('keep-alive: HEAD, two large responses, then a small one on one connection', async () => {
      const reader = await open(server.port);
      reader.socket.write(request('/twenty.bin', '', 'HEAD'));
      const head = await reader.next('HEAD');
      assert.equal(head.status, 200);
      assert.equal(head.headers['content-length'], String(twenty.length));
      for (const [path, body] of [
        ['/twenty.bin', twenty],
        ['/one.bin', one],
        ['/small.txt', small],
      ] as const) {
        reader.socket.write(request(path));
        const res = await reader.next();
        assert.equal(res.status, 200, path);
        assert.equal(res.headers.connection, 'keep-alive');
        assert.equal(sha(res.body), sha(body), path);
      }
      assert.equal(reader.closed, false);
      assert.equal(reader.buffered, 0, 'not a byte more than the three bodies');
      reader.socket.destroy();
    });

    test('pipelined requests are answered in order', async () => {
      const reader = await open(server.port);
      reader.socket.write(
        request('/one.bin') +
          request('/twenty.bin', 'Range: bytes=100-2000099\r\n') +
          request('/small.txt') +
          request('/one.bin', '', 'HEAD') +
          request('/twenty.bin'),
      );
      assert.equal(sha((await reader.next()).body), sha(one));
      const ranged = await reader.next();
      assert.equal(ranged.status, 206);
      assert.ok(ranged.body.equals(twenty.subarray(100, 2_000_100)));
      assert.ok((await reader.next()).body.equals(small));
      assert.equal((await reader.next('HEAD')).body.length, 0);
      assert.equal(sha((await reader.next()).body), sha(twenty));
      reader.socket.destroy();
    });

    test('pipelined large responses to a slow reader stay in order (heads queued behind full buffers)', async () => {
      const reader = await open(server.port);
      reader.socket.write(
        request('/twenty.bin') + request('/one.bin') + request('/small.txt') + request('/twenty.bin'),
      );
      const timer = setInterval(() => {
        reader.socket.resume();
        setTimeout(() => reader.socket.pause(), 1);
      }, 3);
      try {
        for (const body of [twenty, one, small, twenty]) {
          const res = await reader.next();
          assert.equal(res.status, 200);
          assert.equal(sha(res.body), sha(body));
        }
      } finally {
        clearInterval(timer);
        reader.socket.destroy();
      }
    });

    test('a stalled reader gets every byte, and others are served meanwhile', async () => {
      const slow = await Promise.all([open(server.port), open(server.port), open(server.port)]);
      await Promise.all(slow.map((reader) => requestAndStall(reader, '/twenty.bin')));
      // The server's buffers are full for those three; it must still answer at once.
      for (let i = 0; i < 5; i++) {
        assert.ok((await fetchOne(server.port, '/small.txt')).body.equals(small));
        assert.equal(sha((await fetchOne(server.port, '/one.bin')).body), sha(one));
      }
      // Then read slowly, in bursts, to the end.
      const results = slow.map(async (reader) => {
        const done = reader.next();
        const timer = setInterval(() => {
          reader.socket.resume();
          setTimeout(() => reader.socket.pause(), 2);
        }, 5);
        const res = await done;
        clearInterval(timer);
        reader.socket.resume();
        return res;
      });
      for (const res of await Promise.all(results)) assert.equal(sha(res.body), sha(twenty));
      for (const reader of slow) reader.socket.destroy();
    });

    test('clients that leave mid-transfer leak no file descriptor', async () => {
      const baseline = await settledFds();
      await serverSocketsClosed(server, 6, async () => {
        const readers = await Promise.all(Array.from({ length: 6 }, () => open(server.port)));
        // Half of them have pipelined responses queued behind the one in flight: those have no
        // socket yet, and their files are open too.
        await Promise.all(
          readers.map((reader, i) =>
            requestAndStall(reader, '/twenty.bin', i < 3 ? request('/twenty.bin') + request('/one.bin') : ''),
          ),
        );
        for (const [i, reader] of readers.entries()) {
          if (i % 2 === 0) reader.socket.destroy();
          else reader.socket.resetAndDestroy();
        }
      });
      // At most the baseline: connections of earlier tests may still be closing when it was taken.
      await waitFor(() => openFds() <= baseline, 5000, `fds back to ${baseline}`);
      assert.ok((await fetchOne(server.port, '/small.txt')).body.equals(small), 'still serving');
    });

    test('a file truncated mid-transfer ends the connection short, and serving goes on', async () => {
      const path = join(root, 'shrinking.bin');
      writeFileSync(path, twenty);
      const reader = await open(server.port);
      // The second request must never be answered on this connection: if it were, its response
      // would land where the client still expects body bytes.
      await requestAndStall(reader, '/shrinking.bin', request('/small.txt'));
      truncateSync(path, MB);
      reader.socket.resume();
      const res = await reader.next();
      assert.equal(res.headers['content-length'], String(twenty.length));
      assert.ok(res.body.length < twenty.length, 'the body is short');
      // Bytes before the new end are the file's. Past it, sendfile's bytes may be whatever the
      // page cache held when they left (zero-copy: truncation can zero pages still queued); the
      // stream path copied them, so they are the old file's.
      const checked = transport === 'sendfile' ? Math.min(res.body.length, MB) : res.body.length;
      assert.ok(res.body.subarray(0, checked).equals(twenty.subarray(0, checked)), 'and what came is right');
      for (let i = checked; i < res.body.length; i++) {
        // Zeroed by the truncation, or the old byte: never another response's bytes.
        if (res.body[i] !== 0 && res.body[i] !== twenty[i])
          assert.fail(`byte ${i} is neither 0 nor the file's`);
      }
      assert.equal(reader.closed, true, 'the connection is closed, not left waiting');
      assert.equal(reader.buffered, 0, 'and nothing followed the short body');
      assert.ok((await fetchOne(server.port, '/small.txt')).body.equals(small), 'still serving');
    });

    test('a file replaced since it was looked up is looked up again, not sent under old headers', async () => {
      const path = join(root, 'replaced.bin');
      writeFileSync(path, one);
      const first = await fetchOne(server.port, '/replaced.bin');
      assert.equal(sha(first.body), sha(one));
      // Within revalidateMs (60 s here) the cached entry would still describe the old file.
      writeFileSync(`${path}.new`, twenty.subarray(0, 3 * MB));
      renameSync(`${path}.new`, path);
      const second = await fetchOne(server.port, '/replaced.bin');
      assert.equal(second.status, 200);
      assert.equal(second.headers['content-length'], String(3 * MB));
      assert.notEqual(second.headers.etag, first.headers.etag);
      assert.ok(second.body.equals(twenty.subarray(0, 3 * MB)));
    });
  });
}

describe('timeouts and shutdown mid-transfer', {
  skip: !sendfileAvailable && 'no sendfile addon',
  timeout: 60_000,
}, () => {
  test('idleTimeout cuts a reader that stopped reading, and frees its file', async () => {
    const server = await serve(() => new Response('app'), {
      port: 0,
      logger: false,
      idleTimeout: 300,
      static: { root: base },
    });
    try {
      const baseline = await settledFds();
      let reader: ResponseReader | undefined;
      await serverSocketsClosed(server, 1, async () => {
        reader = await open(server.port);
        await requestAndStall(reader, '/twenty.bin');
      });
      reader!.socket.resume();
      await reader!.untilClosed();
      await waitFor(() => openFds() <= baseline, 5000, 'every fd closed');
    } finally {
      await server.close();
    }
  });

  test('graceful shutdown cuts a stalled transfer after shutdownTimeout', async () => {
    const server = await serve(() => new Response('app'), {
      port: 0,
      logger: false,
      shutdownTimeout: 200,
      static: { root: base },
    });
    const baseline = await settledFds(); // with the listening socket
    let reader: ResponseReader | undefined;
    await serverSocketsClosed(server, 1, async () => {
      reader = await open(server.port);
      await requestAndStall(reader, '/twenty.bin');
      await server.close();
    });
    reader!.socket.resume();
    await reader!.untilClosed();
    await waitFor(() => openFds() <= baseline - 1, 5000, 'file, connection and listener closed');
  });

  test('graceful shutdown lets a transfer that keeps moving finish', async () => {
    const server = await serve(() => new Response('app'), {
      port: 0,
      logger: false,
      shutdownTimeout: 10_000,
      static: { root: base },
    });
    const reader = await open(server.port);
    await requestAndStall(reader, '/twenty.bin');
    const closed = server.close();
    reader.socket.resume();
    const res = await reader.next();
    assert.equal(sha(res.body), sha(twenty));
    await closed;
    await reader.untilClosed();
  });
});

describe('SendfileTransfer on its own', {
  skip: !sendfileAvailable && 'no sendfile addon',
  timeout: 60_000,
}, () => {
  let server: Server;
  let port: number;
  let oneByteWrites = 0;
  before(async () => {
    server = createServer((req, res) => {
      const path = join(base, req.url === '/short' ? 'one.bin' : 'twenty.bin');
      // /short declares more than the file holds: the transfer must end the connection.
      const length = statSync(path).size + (req.url === '/short' ? 100 : 0);
      const socket = req.socket;
      const write = socket.write;
      socket.write = function (this: Socket, ...args: unknown[]) {
        if (Buffer.isBuffer(args[0]) && args[0].length === 1) oneByteWrites += 1;
        return (write as (...a: unknown[]) => boolean).apply(this, args);
      } as typeof socket.write;
      res.writeHead(200, { 'content-length': length });
      new SendfileTransfer(res, openSync(path, 'r'), 0, length).start();
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    port = (server.address() as { port: number }).port;
  });
  after(() => new Promise<void>((resolve) => server.close(() => resolve())));

  test('a plain TCP socket qualifies', async () => {
    const connection = new Promise<Socket>((resolve) => server.once('connection', resolve));
    const reader = await open(port);
    const accepted = await connection;
    assert.equal(canSendfile(accepted), true);
    assert.equal(canSendfile(null), false);
    assert.equal(canSendfile({ encrypted: true, _handle: { fd: 3 } } as unknown as Socket), false);
    reader.socket.destroy();
  });

  test('a full socket buffer waits through a one-byte write (EAGAIN path), and every byte arrives', async () => {
    oneByteWrites = 0;
    const reader = await open(port);
    await requestAndStall(reader, '/');
    await new Promise((r) => setTimeout(r, 50));
    reader.socket.resume();
    const res = await reader.next();
    assert.equal(sha(res.body), sha(twenty));
    assert.ok(oneByteWrites > 0, 'the EAGAIN path ran');
    reader.socket.destroy();
  });

  test('a file shorter than the declared length ends the connection after its last byte', async () => {
    const reader = await open(port);
    reader.socket.write(request('/short') + request('/'));
    const res = await reader.next();
    assert.equal(res.headers['content-length'], String(one.length + 100));
    assert.ok(res.body.equals(one), 'the file, and not the start of the next response');
    assert.equal(reader.closed, true);
    assert.equal(reader.buffered, 0);
  });
});

test('a response whose write was wrapped (compression, a counting log) streams, so the wrapper sees every byte', async () => {
  const files = new StaticFiles({ root: base });
  let seen = 0;
  const server = createServer((req, res) => {
    const write = res.write;
    res.write = function (this: typeof res, ...args: unknown[]) {
      if (Buffer.isBuffer(args[0])) seen += args[0].length;
      return (write as (...a: unknown[]) => boolean).apply(this, args);
    } as typeof res.write;
    files.handle(req, res, () => res.writeHead(404).end());
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  try {
    const res = await fetchOne((server.address() as { port: number }).port, '/twenty.bin');
    assert.equal(sha(res.body), sha(twenty));
    assert.equal(seen, twenty.length);
  } finally {
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
});
