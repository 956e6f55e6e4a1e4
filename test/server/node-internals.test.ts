/**
 * The private fields of node's http objects the server uses (src/server/node-internals.ts), each
 * checked against the running node: if node renames or changes one, this file fails, not the
 * server in production.
 */
import assert from 'node:assert/strict';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { type AddressInfo, connect, type Socket } from 'node:net';
import { test } from 'node:test';
import {
  closesConnection,
  currentResponse,
  emitCloseOnce,
  setKeepAliveHeader,
  socketHandle,
  tlsParent,
} from '../../src/server/node-internals.ts';
import { certificateDir, handshake, makeCertificate } from '../fixtures/tls.ts';

async function withServer(
  options: Parameters<typeof createServer>[0],
  handler: (req: IncomingMessage, res: ServerResponse) => void,
  fn: (port: number) => Promise<void>,
): Promise<void> {
  const server: Server = createServer(options, handler);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  try {
    await fn((server.address() as AddressInfo).port);
  } finally {
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
}

/** Sends `text` on a fresh connection; resolves with what came back once `done(text)` says so. */
function exchange(port: number, text: string, done: (reply: string) => boolean): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1');
    let reply = '';
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`no complete reply: ${JSON.stringify(reply)}`));
    }, 2000);
    socket.on('data', (chunk) => {
      reply += chunk.toString('latin1');
      if (done(reply)) {
        clearTimeout(timer);
        socket.destroy();
        resolve(reply);
      }
    });
    socket.on('error', reject);
    socket.write(text);
  });
}

const GET = 'GET / HTTP/1.1\r\nHost: x\r\n\r\n';
const complete = (reply: string): boolean => reply.includes('\r\n\r\nok');

test(`node ${process.version}: socket._httpMessage is the response under way, null after it`, async () => {
  let during: ServerResponse | null = null;
  let after: ServerResponse | null | undefined;
  let self: ServerResponse | undefined;
  await withServer(
    {},
    (req, res) => {
      self = res;
      during = currentResponse(req.socket);
      res.on('finish', () =>
        setImmediate(() => {
          after = currentResponse(req.socket);
        }),
      );
      res.end('ok');
    },
    async (port) => {
      await exchange(port, GET, complete);
    },
  );
  assert.equal(during, self);
  assert.equal(after, null);
});

test(`node ${process.version}: _keepAliveTimeout and _maxRequestsPerSocket make the Keep-Alive header`, async () => {
  const seen: unknown[] = [];
  await withServer(
    { keepAliveTimeout: 7000 },
    (_req, res) => {
      const internal = res as unknown as Record<string, unknown>;
      seen.push(internal._keepAliveTimeout);
      setKeepAliveHeader(res, 3000, 9);
      res.end('ok');
    },
    async (port) => {
      const reply = await exchange(port, GET, complete);
      assert.match(reply, /\r\nKeep-Alive: timeout=3, max=9\r\n/);
    },
  );
  assert.deepEqual(seen, [7000], 'node sets _keepAliveTimeout on each response it makes');
});

test(`node ${process.version}: _last says whether the connection closes after the response`, async () => {
  const last: boolean[] = [];
  await withServer(
    {},
    (req, res) => {
      res.on('finish', () => last.push(closesConnection(res)));
      if (req.url === '/close') res.shouldKeepAlive = false;
      res.end('ok');
    },
    async (port) => {
      await exchange(port, GET, complete);
      await exchange(port, 'GET /close HTTP/1.1\r\nHost: x\r\n\r\n', complete);
    },
  );
  assert.deepEqual(last, [false, true]);
});

test(`node ${process.version}: _closed guards a response's one 'close'`, async () => {
  let closes = 0;
  let res: ServerResponse | undefined;
  await withServer(
    {},
    (_req, r) => {
      res = r;
      r.on('close', () => closes++);
      r.end('ok');
    },
    async (port) => {
      await exchange(port, GET, complete);
      await new Promise((resolve) => setTimeout(resolve, 20));
    },
  );
  assert.equal(closes, 1);
  assert.equal((res as unknown as { _closed?: boolean })._closed, true, 'node marks its emitted close');
  emitCloseOnce(res!);
  assert.equal(closes, 1, 'not emitted twice');
});

test(`node ${process.version}: socket._handle has the fd and write queue, null once destroyed`, async () => {
  let socket: Socket | undefined;
  await withServer(
    {},
    (req, res) => {
      socket = req.socket;
      const handle = socketHandle(req.socket);
      assert.ok(handle !== null);
      assert.equal(typeof handle.fd, 'number');
      assert.ok(handle.fd >= 0);
      assert.equal(typeof handle.writeQueueSize, 'number');
      res.end('ok');
    },
    async (port) => {
      await exchange(port, GET, complete);
    },
  );
  socket!.destroy();
  await new Promise((resolve) => setImmediate(resolve));
  assert.equal(socketHandle(socket!), null);
});

test(`node ${process.version}: a server TLS socket's _parent is the TCP socket tls.Server accepted`, async () => {
  const { createServer: createTlsServer } = await import('node:tls');
  const cert = makeCertificate(certificateDir(), 'internals', 'internals', ['internals.test']);
  const server = createTlsServer({ cert: cert.certPem, key: cert.keyPem });
  let tcp: Socket | undefined;
  let parent: Socket | null = null;
  server.on('connection', (socket: Socket) => (tcp = socket));
  server.on('secureConnection', (secure) => (parent = tlsParent(secure)));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  try {
    const h = await handshake((server.address() as AddressInfo).port);
    h.socket.destroy();
    assert.ok(tcp !== undefined);
    assert.equal(parent, tcp);
  } finally {
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
});
