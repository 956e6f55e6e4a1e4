import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { IncomingMessage } from 'node:http';
import { connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { App } from '../../../src/app/index.ts';
import type { App as GatewayApp, ServeInfo } from '../../../src/gateway/index.ts';
import type { ServeOptions, StrataServer } from '../../../src/server.ts';
import { deferred, start } from '../../fixtures/gateway/helpers.ts';
import { type RawResponse, rawRequest, waitFor } from '../../fixtures/http.ts';

// ---------------------------------------------------------------------------------------------
// A raw HTTP/1.1 client: one socket, responses read one at a time off what the server sent.

interface Reply {
  status: number;
  statusLine: string;
  /** The head as sent (status line and header lines). */
  head: string;
  /** Lowercase names, every value in order. */
  headers: Map<string, string[]>;
  /** Decoded from chunked when it was. */
  body: string;
  chunked: boolean;
}

function header(reply: Reply, name: string): string | undefined {
  const values = reply.headers.get(name.toLowerCase());
  return values === undefined ? undefined : values.join(', ');
}

/** One complete response at the start of `text`, and how many bytes it took; undefined if incomplete. */
function parseReply(text: string, head: boolean, ended: boolean): { reply: Reply; used: number } | undefined {
  const end = text.indexOf('\r\n\r\n');
  if (end === -1) return undefined;
  const headText = text.slice(0, end);
  const [statusLine = '', ...lines] = headText.split('\r\n');
  const status = Number(/^HTTP\/1\.[01] (\d{3})/.exec(statusLine)?.[1] ?? 0);
  const headers = new Map<string, string[]>();
  for (const line of lines) {
    const colon = line.indexOf(':');
    const name = line.slice(0, colon).toLowerCase();
    const value = line.slice(colon + 1).trim();
    headers.set(name, [...(headers.get(name) ?? []), value]);
  }
  let at = end + 4;
  let body = '';
  const te = headers.get('transfer-encoding')?.join(',').toLowerCase();
  const chunked = te?.includes('chunked') === true;
  if (head || status === 204 || status === 304 || status < 200) {
    // no body
  } else if (chunked) {
    for (;;) {
      const lineEnd = text.indexOf('\r\n', at);
      if (lineEnd === -1) return undefined;
      const size = Number.parseInt(text.slice(at, lineEnd), 16);
      if (Number.isNaN(size)) throw new Error(`bad chunk size in ${JSON.stringify(text)}`);
      if (size === 0) {
        const trailerEnd = text.indexOf('\r\n', lineEnd + 2);
        if (trailerEnd === -1) return undefined;
        at = text.startsWith('\r\n', lineEnd + 2) ? lineEnd + 4 : text.indexOf('\r\n\r\n', lineEnd) + 4;
        if (at === 3) return undefined;
        break;
      }
      if (text.length < lineEnd + 2 + size + 2) return undefined;
      body += text.slice(lineEnd + 2, lineEnd + 2 + size);
      at = lineEnd + 2 + size + 2;
    }
  } else if (headers.has('content-length')) {
    const length = Number(header({ headers } as Reply, 'content-length'));
    if (text.length < at + length) return undefined;
    body = text.slice(at, at + length);
    at += length;
  } else {
    if (!ended) return undefined;
    body = text.slice(at);
    at = text.length;
  }
  return { reply: { status, statusLine, head: headText, headers, body, chunked }, used: at };
}

/** The status of every response in `text` (all of what a connection received), in order. */
function statuses(text: string): number[] {
  const out: number[] = [];
  let rest = text;
  while (rest.length > 0) {
    const parsed = parseReply(rest, false, true);
    if (parsed === undefined || parsed.used === 0) break;
    out.push(parsed.reply.status);
    rest = rest.slice(parsed.used);
  }
  return out;
}

class Client {
  readonly socket: Socket;
  #buf = '';
  #ended = false;
  #wake: (() => void) | undefined;

  private constructor(socket: Socket) {
    this.socket = socket;
    socket.on('data', (chunk: Buffer) => {
      this.#buf += chunk.toString('latin1');
      this.#notify();
    });
    const ended = (): void => {
      this.#ended = true;
      this.#notify();
    };
    socket.on('end', ended);
    socket.on('close', ended);
    socket.on('error', ended);
  }

  static open(port: number): Promise<Client> {
    return new Promise((resolve, reject) => {
      const socket = connect(port, '127.0.0.1');
      socket.once('connect', () => resolve(new Client(socket)));
      socket.once('error', reject);
    });
  }

  #notify(): void {
    const wake = this.#wake;
    this.#wake = undefined;
    wake?.();
  }

  /** Resolves when something arrives or the server closes, or after `ms`. */
  #change(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(resolve, ms);
      this.#wake = () => {
        clearTimeout(timer);
        resolve();
      };
    });
  }

  /** Whether the server has closed (or reset) the connection. */
  get ended(): boolean {
    return this.#ended;
  }

  /** What arrived and was not read as a response yet. */
  get unread(): string {
    return this.#buf;
  }

  write(data: string | Buffer): void {
    this.socket.write(data);
  }

  /** Sends `data` and reads one response. */
  async request(data: string, options: { head?: boolean; timeoutMs?: number } = {}): Promise<Reply> {
    this.write(data);
    return this.read(options);
  }

  /** The next complete response; throws if the connection closes first or after `timeoutMs`. */
  async read(options: { head?: boolean; timeoutMs?: number } = {}): Promise<Reply> {
    const deadline = Date.now() + (options.timeoutMs ?? 3000);
    for (;;) {
      const parsed = parseReply(this.#buf, options.head === true, this.#ended);
      if (parsed !== undefined) {
        this.#buf = this.#buf.slice(parsed.used);
        return parsed.reply;
      }
      if (this.#ended)
        throw new Error(`connection closed before a complete response: ${JSON.stringify(this.#buf)}`);
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`no complete response in time; got ${JSON.stringify(this.#buf)}`);
      await this.#change(left);
    }
  }

  /** True once the server has closed the connection, false if it is still open after `timeoutMs`. */
  async closed(timeoutMs = 2000): Promise<boolean> {
    const deadline = Date.now() + timeoutMs;
    while (!this.#ended) {
      const left = deadline - Date.now();
      if (left <= 0) return false;
      await this.#change(left);
    }
    return true;
  }

  destroy(): void {
    this.socket.destroy();
  }
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** `promise`, or a failure naming `what` after `ms`. */
async function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms waiting for ${what}`)), ms);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

const UPGRADE =
  'GET /ws HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n' +
  'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n';

/** `GET path` with Host, and the extra header lines given. */
function get(path: string, ...lines: string[]): string {
  return `GET ${path} HTTP/1.1\r\nHost: x\r\n${lines.map((l) => `${l}\r\n`).join('')}\r\n`;
}

/** A raw response with the Date value blanked, for comparing the two paths byte for byte. */
function normalized(res: RawResponse): string {
  return res.text.replace(/^Date: .*$/gim, 'Date: -');
}

/** Runs `fn`, and closes what it opened whatever happens. */
async function withServer(
  app: GatewayApp | ((request: Request) => Response | Promise<Response>),
  options: ServeOptions,
  fn: (server: StrataServer, clients: Client[]) => Promise<void>,
): Promise<void> {
  const server = await start(app, options);
  const clients: Client[] = [];
  try {
    await fn(server, clients);
  } finally {
    for (const client of clients) client.destroy();
    await server.close();
  }
}

/** What a fresh server sends back to `data` written on one connection that is then half-closed. */
async function withAnswers(app: GatewayApp, options: ServeOptions, data: string): Promise<RawResponse> {
  const server = await start(app, options);
  try {
    return await rawRequest(server.port, data, { endAfterWrite: true, timeoutMs: 2000 });
  } finally {
    await server.close();
  }
}

// ---------------------------------------------------------------------------------------------
// The app both servers run: each request's path (and query) is recorded, so that the test can
// tell which requests reached the app.

function encoder(text: string): Uint8Array<ArrayBuffer> {
  return new TextEncoder().encode(text);
}

function makeApp(seen: string[]): GatewayApp {
  return {
    fetch(request: Request, info: ServeInfo): Response | Promise<Response> {
      const url = new URL(request.url);
      const path = url.pathname;
      seen.push(path + url.search);
      const q = url.searchParams;
      switch (path) {
        case '/':
          return new Response('hello');
        case '/json':
          return Response.json({ ok: true });
        case '/204':
          return new Response(null, { status: 204 });
        case '/304': {
          const res = new Response(null, { status: 304 });
          res.headers.set('etag', '"v1"');
          return res;
        }
        case '/empty':
          return new Response('');
        case '/bytes':
          return new Response(encoder('bytes!'));
        case '/status-text':
          return new Response('teapot', { status: 418, statusText: 'Short And Stout' });
        case '/cookies': {
          const res = new Response('c');
          res.headers.append('set-cookie', 'a=1');
          res.headers.append('set-cookie', 'b=2');
          res.headers.set('x-multi', 'one');
          return res;
        }
        case '/latin1': {
          const res = new Response(q.has('bytes') ? encoder('body') : 'body');
          res.headers.set('x-name', 'caf\u00e9');
          return res;
        }
        case '/init-headers':
          return new Response('init', { headers: { 'x-a': '1', 'content-type': 'text/x-init' } });
        case '/app-date': {
          const res = new Response('dated');
          res.headers.set('date', 'Thu, 01 Jan 1970 00:00:00 GMT');
          return res;
        }
        case '/length-lie': {
          const res = new Response('four');
          res.headers.set('content-length', '99');
          return res;
        }
        case '/big': {
          const text = `big ${url.search} `;
          return new Response(text + 'x'.repeat(256 * 1024 - text.length));
        }
        case '/sync':
          return new Response(`sync ${url.search}`);
        case '/slow':
          return sleep(Number(q.get('ms') ?? '20')).then(() => new Response(`slow ${url.search}`));
        case '/echo':
          return request.text().then((text) => new Response(`echo:${text}`));
        case '/stream': {
          const parts = ['one,', 'two,', 'three'];
          return new Response(
            new ReadableStream<Uint8Array>({
              async pull(controller) {
                await sleep(5);
                const part = parts.shift();
                if (part === undefined) controller.close();
                else controller.enqueue(encoder(part));
              },
            }),
            { headers: { 'content-type': 'text/plain' } },
          );
        }
        case '/throw':
          throw new Error('boom');
        case '/reject':
          return Promise.reject(new Error('async boom'));
        case '/bad-header': {
          const headers = new Headers();
          headers.set('x-bad', 'a\x01b');
          return new Response('never', { headers });
        }
        case '/bad-header-fast': {
          const res = new Response('never');
          res.headers.set('x-bad', 'a\x01b');
          return res;
        }
        case '/app-close': {
          const res = new Response('bye');
          res.headers.set('connection', 'close');
          return res;
        }
        case '/info':
          // What the app sees of the request: the same on both paths (the port aside).
          return request.text().then((text) =>
            Response.json({
              method: request.method,
              url: request.url,
              headers: [...request.headers],
              host: request.headers.get('host'),
              cookie: request.headers.get('cookie'),
              text,
              body: request.body === null,
              clone: request.clone().url,
              aborted: request.signal.aborted,
              protocol: info.protocol,
              secure: info.secure,
              address: info.remote.address,
              family: info.remote.family,
            }),
          );
        case '/port':
          return new Response(String(info.remote.port));
        default:
          return new Response(`path ${path}${url.search}`);
      }
    },
  };
}

describe('fast lane over raw sockets', () => {
  let lane: StrataServer;
  let node: StrataServer;
  const seenLane: string[] = [];
  const seenNode: string[] = [];
  // For each request the lane server saw: whether it came as node's IncomingMessage.
  const viaNode: boolean[] = [];
  const clients: Client[] = [];

  async function open(server: StrataServer = lane): Promise<Client> {
    const client = await Client.open(server.port);
    clients.push(client);
    return client;
  }

  before(async () => {
    lane = await start(makeApp(seenLane), {
      onRequestStart: (req) => {
        viaNode.push(req instanceof IncomingMessage);
      },
    });
    node = await start(makeApp(seenNode), { fastLane: false });
  });
  after(async () => {
    for (const client of clients) client.destroy();
    await Promise.all([lane.close(), node.close()]);
  });

  describe('answers', () => {
    test('a GET is answered with the status line, headers and body', async () => {
      const client = await open();
      const before = viaNode.length;
      const reply = await client.request(get('/'));
      assert.equal(reply.statusLine, 'HTTP/1.1 200 OK');
      assert.equal(header(reply, 'content-type'), 'text/plain;charset=UTF-8');
      assert.equal(header(reply, 'content-length'), '5');
      assert.equal(header(reply, 'connection'), 'keep-alive');
      assert.equal(header(reply, 'keep-alive'), 'timeout=5');
      const date = header(reply, 'date');
      assert.match(date ?? '', /^[A-Z][a-z]{2}, \d{2} [A-Z][a-z]{2} \d{4} \d{2}:\d{2}:\d{2} GMT$/);
      assert.ok(Math.abs(Date.parse(date!) - Date.now()) < 5000, `a current Date: ${date}`);
      assert.equal(reply.body, 'hello');
      assert.equal(reply.chunked, false);
      assert.deepEqual(viaNode.slice(before), [false], 'served by the lane, not node:http');
      assert.equal(client.unread, '', 'nothing after the body');
    });

    test('HEAD gets the GET headers with its content-length, and no body', async () => {
      const client = await open();
      const got = await client.request(get('/'));
      const head = await client.request(get('/').replace('GET', 'HEAD'), { head: true });
      assert.equal(head.status, 200);
      assert.equal(header(head, 'content-length'), header(got, 'content-length'));
      assert.equal(header(head, 'content-type'), header(got, 'content-type'));
      // No body bytes: the next response starts right after the HEAD response's head.
      const next = await client.request(get('/json'));
      assert.equal(next.statusLine, 'HTTP/1.1 200 OK');
      assert.equal(next.body, '{"ok":true}');
    });

    test('204 and 304 have no content-length and no body', async () => {
      const client = await open();
      for (const [path, status] of [
        ['/204', 204],
        ['/304', 304],
      ] as const) {
        const reply = await client.request(get(path));
        assert.equal(reply.status, status);
        assert.equal(header(reply, 'content-length'), undefined, `${status} has no content-length`);
        assert.equal(header(reply, 'transfer-encoding'), undefined);
        assert.equal(header(reply, 'connection'), 'keep-alive');
      }
      const next = await client.request(get('/'));
      assert.equal(next.statusLine, 'HTTP/1.1 200 OK', 'no stray body bytes before the next response');
      assert.equal(next.body, 'hello');
    });

    test('responses are byte for byte what node:http sends (Date aside)', async () => {
      const end = get('/end', 'Connection: close');
      const cases = [
        get('/'),
        get('/').replace('GET', 'HEAD'),
        get('/json'),
        get('/204'),
        get('/304'),
        get('/empty'),
        get('/bytes'),
        get('/bytes').replace('GET', 'HEAD'),
        get('/status-text'),
        get('/cookies'),
        get('/latin1'),
        get('/latin1?bytes'),
        get('/init-headers'),
        get('/app-date'),
        get('/length-lie'),
        get('/stream'),
        get('/stream').replace('GET', 'HEAD'),
        get('/throw'),
        get('/reject'),
        get('/bad-header'),
        get('/bad-header-fast'),
        get('/app-close'),
        get('/', 'Connection: close'),
        get('/stream', 'Connection: close'),
        get('/throw', 'Connection: close'),
        'GET / HTTP/1.0\r\n\r\n',
        'GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n',
        'GET /stream HTTP/1.0\r\nConnection: keep-alive\r\n\r\n',
        get('/', 'Cookie: a=1', 'Cookie: b=2', 'X-Repeat: 1', 'X-Repeat: 2'),
      ];
      const results = await Promise.all(
        cases.map(async (data) => {
          // Followed by a closing request, so that the whole keep-alive exchange is compared;
          // not after a request that closes itself (node:http refuses bytes after it with 400).
          const sent = /Connection: close|HTTP\/1\.0\r\n\r\n/.test(data) ? data : data + end;
          const [a, b] = await Promise.all([
            rawRequest(lane.port, sent, { timeoutMs: 3000 }),
            rawRequest(node.port, sent, { timeoutMs: 3000 }),
          ]);
          return { data, a, b };
        }),
      );
      for (const { data, a, b } of results) {
        assert.ok(a.status > 0, `the lane answered ${JSON.stringify(data)}`);
        assert.equal(normalized(a), normalized(b), JSON.stringify(data));
        assert.equal(a.closed, b.closed, `both close after ${JSON.stringify(data)}`);
      }
    });
  });

  test('the app sees the same Request and ServeInfo as on node:http', async () => {
    const requests = [
      get(
        '/info?q=1&r=%20',
        'Accept: */*',
        'cookie: a=1',
        'Cookie: b=2',
        'X-Dup: 1',
        'x-dup: 2',
        'X-Trim:  t  ',
      ),
      'GET /info HTTP/1.1\r\nHost: example.com:8080\r\nUser-Agent: one\r\nUser-Agent: two\r\n\r\n',
      'GET /info HTTP/1.0\r\nConnection: keep-alive\r\n\r\n',
      'DELETE /info HTTP/1.1\r\nHOST: x\r\n\r\n',
    ];
    for (const data of requests) {
      const [a, b] = await Promise.all(
        [lane, node].map(async (server) => {
          const client = await open(server);
          const reply = await client.request(data);
          assert.equal(reply.status, 200, data);
          return JSON.parse(reply.body) as Record<string, unknown>;
        }),
      );
      // The default Host (no usable Host header) names each server's own port.
      const strip = (o: Record<string, unknown>, port: number) =>
        JSON.parse(JSON.stringify(o).replaceAll(`:${port}`, ':PORT'));
      assert.deepEqual(strip(a!, lane.port), strip(b!, node.port), JSON.stringify(data));
      assert.equal(a!.aborted, false);
      assert.equal(a!.address, '127.0.0.1');
    }
  });

  test("info.remote.port is the client's port", async () => {
    const client = await open();
    assert.equal((await client.request(get('/port'))).body, String(client.socket.localPort));
  });

  describe('keep-alive', () => {
    test('50 requests on one connection are all answered', async () => {
      const client = await open();
      for (let i = 0; i < 50; i++) {
        const reply = await client.request(get(`/n?i=${i}`));
        assert.equal(reply.status, 200);
        assert.equal(reply.body, `path /n?i=${i}`);
        assert.equal(header(reply, 'connection'), 'keep-alive');
      }
      assert.equal(client.ended, false);
    });

    test('Connection: close is answered with Connection: close and the socket is closed', async () => {
      const client = await open();
      // A request pipelined after the closing one is never answered.
      client.write(get('/bye', 'Connection: close') + get('/after'));
      const reply = await client.read();
      assert.equal(reply.body, 'path /bye');
      assert.equal(header(reply, 'connection'), 'close');
      assert.equal(header(reply, 'keep-alive'), undefined);
      assert.equal(await client.closed(2000), true, 'the server closed the connection');
      assert.equal(client.unread, '', 'the pipelined request after close was not answered');
    });

    test('HTTP/1.0 without keep-alive is closed after the response', async () => {
      const client = await open();
      const reply = await client.request('GET /old HTTP/1.0\r\n\r\n');
      assert.equal(reply.body, 'path /old');
      assert.equal(header(reply, 'connection'), 'close');
      assert.equal(await client.closed(2000), true);
    });

    test('HTTP/1.0 with Connection: keep-alive stays open', async () => {
      const client = await open();
      const first = await client.request('GET /a HTTP/1.0\r\nConnection: keep-alive\r\n\r\n');
      assert.equal(header(first, 'connection'), 'keep-alive');
      const second = await client.request('GET /b HTTP/1.0\r\nConnection: keep-alive\r\n\r\n');
      assert.equal(second.body, 'path /b');
      assert.equal(client.ended, false);
    });
  });

  describe('pipelining', () => {
    test('10 requests in one write are answered in order', async () => {
      const client = await open();
      let burst = '';
      for (let i = 0; i < 10; i++) burst += get(`/p?i=${i}`);
      client.write(burst);
      for (let i = 0; i < 10; i++) assert.equal((await client.read()).body, `path /p?i=${i}`);
      assert.equal(client.unread, '');
    });

    test('async and sync handlers mixed in one write stay in order', async () => {
      const client = await open();
      const paths = [
        '/slow?ms=40&i=0',
        '/sync?i=1',
        '/sync?i=2',
        '/slow?ms=5&i=3',
        '/slow?ms=30&i=4',
        '/sync?i=5',
        '/slow?ms=1&i=6',
        '/sync?i=7',
        '/sync?i=8',
        '/slow?ms=20&i=9',
      ];
      client.write(paths.map((p) => get(p)).join(''));
      for (const p of paths) {
        const reply = await client.read();
        const search = p.slice(p.indexOf('?'));
        assert.equal(reply.body, `${p.startsWith('/slow') ? 'slow' : 'sync'} ${search}`);
      }
    });

    test('bridged responses (stream, errors, HEAD) in a pipeline stay in order', async () => {
      const client = await open();
      client.write(
        get('/sync?i=0') +
          get('/stream') +
          get('/slow?ms=10&i=2') +
          get('/throw') +
          get('/').replace('GET', 'HEAD') +
          get('/bad-header') +
          get('/sync?i=6'),
      );
      assert.equal((await client.read()).body, 'sync ?i=0');
      const stream = await client.read();
      assert.equal(stream.chunked, true);
      assert.equal(stream.body, 'one,two,three');
      assert.equal((await client.read()).body, 'slow ?ms=10&i=2');
      assert.equal((await client.read()).status, 500);
      const head = await client.read({ head: true });
      assert.equal(header(head, 'content-length'), '5');
      assert.equal((await client.read()).status, 500);
      assert.equal((await client.read()).body, 'sync ?i=6');
    });
    test('a long pipelined burst behind a slow request is answered in full, in order', async () => {
      const client = await open();
      let burst = get('/slow?ms=100&i=0');
      for (let i = 1; i < 2500; i++) burst += get(`/b?i=${i}`);
      assert.ok(burst.length > 16_384 * 4, 'more than the lane keeps before it pauses the socket');
      client.write(burst);
      assert.equal((await client.read()).body, 'slow ?ms=100&i=0');
      for (let i = 1; i < 2500; i++) assert.equal((await client.read()).body, `path /b?i=${i}`);
      assert.equal((await client.request(get('/after'))).body, 'path /after');
    });

    test('responses larger than the socket buffer, pipelined to a client that reads late', async () => {
      const client = await open();
      client.socket.pause();
      let burst = '';
      for (let i = 0; i < 12; i++) burst += get(`/big?i=${i}`);
      client.write(burst + get('/end'));
      await sleep(200);
      client.socket.resume();
      for (let i = 0; i < 12; i++) {
        const reply = await client.read({ timeoutMs: 5000 });
        assert.equal(reply.body.length, 256 * 1024);
        assert.ok(reply.body.startsWith(`big ?i=${i} `), `response ${i} in order`);
      }
      assert.equal((await client.read()).body, 'path /end');
    });
  });

  describe('hand-over to node:http', () => {
    test('a head split across two writes is answered', async () => {
      const client = await open();
      const before = viaNode.length;
      client.write('GET /split HTTP/1.1\r\nHo');
      await sleep(50);
      client.write('st: x\r\n\r\n');
      const reply = await client.read();
      assert.equal(reply.body, 'path /split');
      assert.equal(header(reply, 'connection'), 'keep-alive');
      assert.deepEqual(viaNode.slice(before), [true], 'node:http read the split request');
      const next = await client.request(get('/after-split'));
      assert.equal(next.body, 'path /after-split');
    });

    test('a split head after lane requests on the same connection is answered', async () => {
      const client = await open();
      assert.equal((await client.request(get('/one'))).body, 'path /one');
      client.write('GET /two HTTP/1.1\r\n');
      await sleep(50);
      client.write('Host: x\r\n\r\n');
      assert.equal((await client.read()).body, 'path /two');
    });

    test('a POST with a Content-Length body after lane GETs stays on the lane; a chunked one goes to node', async () => {
      const client = await open();
      const before = viaNode.length;
      assert.equal((await client.request(get('/g1'))).body, 'path /g1');
      assert.equal((await client.request(get('/g2'))).body, 'path /g2');
      const post = await client.request(
        'POST /echo HTTP/1.1\r\nHost: x\r\nContent-Type: text/plain\r\nContent-Length: 11\r\n\r\nhello world',
      );
      assert.equal(post.status, 200);
      assert.equal(post.body, 'echo:hello world');
      assert.equal((await client.request(get('/g3'))).body, 'path /g3');
      const chunked = await client.request(
        'POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n',
      );
      assert.equal(chunked.body, 'echo:hello');
      assert.equal((await client.request(get('/g4'))).body, 'path /g4');
      assert.deepEqual(
        viaNode.slice(before),
        [false, false, false, false, true, true],
        'the lane reads Content-Length bodies; node:http keeps the connection after a chunked one',
      );
    });

    test('a POST pipelined behind lane GETs in one write is answered in order', async () => {
      const client = await open();
      client.write(
        get('/slow?ms=20&i=0') +
          get('/sync?i=1') +
          'POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n' +
          get('/sync?i=3'),
      );
      assert.equal((await client.read()).body, 'slow ?ms=20&i=0');
      assert.equal((await client.read()).body, 'sync ?i=1');
      assert.equal((await client.read()).body, 'echo:abc');
      assert.equal((await client.read()).body, 'sync ?i=3');
    });

    test('a WebSocket upgrade request is answered as node:http answers it', async () => {
      // Alone, and after a lane request on the same connection (in its own write).
      for (const data of [[UPGRADE], [get('/first'), UPGRADE]]) {
        const [a, b] = await Promise.all([
          rawRequest(lane.port, data, { timeoutMs: 1000, gapMs: 50 }),
          rawRequest(node.port, data, { timeoutMs: 1000, gapMs: 50 }),
        ]);
        assert.ok(b.status > 0, 'node answers');
        assert.equal(normalized(a), normalized(b), JSON.stringify(data));
        assert.equal(a.closed, b.closed);
      }
    });

    test('an upgrade pipelined behind a lane request in one write reaches the upgrade path', async () => {
      const seen = seenLane.length;
      const res = await rawRequest(lane.port, get('/first') + UPGRADE, { timeoutMs: 1000 });
      // The app answered the upgrade as a plain GET (no WebSocket handler): a 400, not its 200.
      assert.deepEqual(statuses(res.text), [200, 400]);
      assert.match(res.text, /path \/first/);
      assert.match(res.text, /does not accept WebSocket connections\n$/);
      assert.equal(res.closed, true, 'the upgrade path closes the connection after its answer');
      assert.deepEqual(seenLane.slice(seen), ['/first', '/ws']);
    });

    test('an upgrade pipelined behind a request node:http reads does not crash the process', {}, async () => {
      // In a child process: the failure is an uncaught exception that kills the server.
      const serveUrl = new URL('../../../src/server.ts', import.meta.url).href;
      const script = `
          import { connect } from 'node:net';
          const { serve } = await import(${JSON.stringify(serveUrl)});
          const server = await serve({ fetch: () => new Response('ok') }, { port: 0, logger: false });
          const socket = connect(server.port, '127.0.0.1');
          let text = '';
          socket.on('data', (d) => { text += d; });
          socket.on('error', () => {});
          socket.write(${JSON.stringify(`POST /first HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n${UPGRADE}`)});
          await new Promise((r) => setTimeout(r, 300));
          socket.destroy();
          await server.close();
          console.log('survived ' + (text.match(/HTTP\\/1\\.1 \\d{3} /g) ?? []).length);
        `;
      const child = spawnSync(process.execPath, ['--input-type=module', '-e', script], {
        encoding: 'utf8',
        timeout: 10_000,
      });
      assert.doesNotMatch(child.stderr, /ERR_HTTP_SOCKET_ASSIGNED/);
      assert.equal(child.status, 0, child.stderr);
      assert.match(child.stdout, /survived 2/, 'both requests were answered');
    });

    test('malformed requests get the status node:http gives them, and the server serves on', async () => {
      const cases = [
        'GET / HTTP/1.1\nHost: x\n\n',
        'GET / HTTP/1.1\r\nHost: x\r\nX-A: 1\r\n folded\r\n\r\n',
        'POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\nabcd',
        'POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n',
        'FOO / HTTP/1.1\r\nHost: x\r\n\r\n',
        'get / HTTP/1.1\r\nHost: x\r\n\r\n',
        'GET / HTTP/1.1\r\nHost: x\r\nX-A: a\x00b\r\n\r\n',
        'GET / HTTP/1.1\r\nHost: x\r\nX-A: a\x01b\r\n\r\n',
        'GET / HTTP/1.1\r\n\r\n',
        'GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n',
        'GET / HTTP/2.0\r\nHost: x\r\n\r\n',
        'GET /a b HTTP/1.1\r\nHost: x\r\n\r\n',
        'GET / HTTP/1.1 \r\nHost: x\r\n\r\n',
        'GET / HTTP/1.1\r\nHost: x\r\nBad Name: 1\r\n\r\n',
        'GET / HTTP/1.1\r\nHost: x\r\nExpect: nothing\r\n\r\n',
        `GET / HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(20_000)}\r\n\r\n`,
        'PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n',
        '\r\nGET /lead HTTP/1.1\r\nHost: x\r\n\r\n',
      ];
      const both = (sent: string): Promise<[RawResponse, RawResponse]> =>
        Promise.all([
          rawRequest(lane.port, sent, { timeoutMs: 800 }),
          rawRequest(node.port, sent, { timeoutMs: 800 }),
        ]);
      const results = await Promise.all(
        cases.map(async (data) => {
          // Alone on a connection, and after a lane request on the same one.
          const [[a, b], [la, lb]] = await Promise.all([both(data), both(get('/before') + data)]);
          return { data, a, b, la, lb };
        }),
      );
      for (const { data, a, b, la, lb } of results) {
        const shown = JSON.stringify(data.slice(0, 120));
        assert.equal(statuses(a.text).length, 1, `one answer: ${shown}`);
        assert.deepEqual(statuses(a.text), statuses(b.text), shown);
        assert.equal(a.closed, b.closed, `closed alike: ${shown}`);
        // Behind a lane request, the lane has answered that one when node reads the next, and
        // node's answer is the one it gives alone (node:http itself, with its own response
        // still on the socket, may drop the connection without the error answer).
        assert.deepEqual(statuses(la.text), [200, ...statuses(b.text)], `after a lane request: ${shown}`);
        const nodeAfter = statuses(lb.text);
        assert.deepEqual(statuses(la.text).slice(0, nodeAfter.length), nodeAfter, `node after: ${shown}`);
        assert.equal(la.closed, a.closed, `closed alike after a lane request: ${shown}`);
      }
      const client = await open();
      assert.equal((await client.request(get('/still'))).body, 'path /still');
    });

    test('smuggling shapes never make the app see more requests than node:http does', async () => {
      const shapes: ((tag: string) => string)[] = [
        (t) => `GET /${t}/a HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nGET /${t}/x`,
        (t) =>
          `GET /${t}/a HTTP/1.1\r\nHost: x\r\nContent-Length: 30\r\n\r\nGET /${t}/b HTTP/1.1\r\nHost: x\r\n\r\n`,
        (t) =>
          `GET /${t}/a HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\nGET /${t}/b HTTP/1.1\r\nHost: x\r\n\r\n`,
        (t) =>
          `POST /${t}/a HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\nGET /${t}/b HTTP/1.1\r\nHost: x\r\n\r\n`,
        (t) =>
          `GET /${t}/a HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nGET /\r\n0\r\n\r\nGET /${t}/b HTTP/1.1\r\nHost: x\r\n\r\n`,
        (t) =>
          `POST /${t}/a HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\nGET /${t}/b HTTP/1.1\r\nHost: x\r\n\r\n`,
        (t) =>
          `POST /${t}/a HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nContent-Length: 4\r\n\r\n0\r\n\r\nGET /${t}/b HTTP/1.1\r\nHost: x\r\n\r\n`,
        (t) =>
          `GET /${t}/a HTTP/1.1\r\nHost: x\r\nTransfer-Encoding : chunked\r\n\r\n0\r\n\r\nGET /${t}/b HTTP/1.1\r\nHost: x\r\n\r\n`,
        (t) =>
          `GET /${t}/a HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: xchunked\r\n\r\n0\r\n\r\nGET /${t}/b HTTP/1.1\r\nHost: x\r\n\r\n`,
        (t) =>
          `GET /${t}/a HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked, identity\r\n\r\n0\r\n\r\nGET /${t}/b HTTP/1.1\r\nHost: x\r\n\r\n`,
        (t) =>
          `GET /${t}/a HTTP/1.1\r\nHost: x\r\nTransfer-Encoding:\tchunked\r\n\r\n0\r\n\r\nGET /${t}/b HTTP/1.1\r\nHost: x\r\n\r\n`,
        (t) =>
          `GET /${t}/a HTTP/1.1\r\nHost: x\r\nX: y\r\n Transfer-Encoding: chunked\r\n\r\n0\r\n\r\nGET /${t}/b HTTP/1.1\r\nHost: x\r\n\r\n`,
        (t) =>
          `GET /${t}/a HTTP/1.1\r\nHost: x\nContent-Length: 5\r\n\r\nGET /${t}/b HTTP/1.1\r\nHost: x\r\n\r\n`,
        (t) =>
          `GET /${t}/a HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nContent-Length: 0\r\n\r\nGET /${t}/b HTTP/1.1\r\nHost: x\r\n\r\n`,
        (t) =>
          `GET /${t}/a HTTP/1.1\r\nHost: x\r\nContent-Length: +5\r\n\r\nGET /${t}/b HTTP/1.1\r\nHost: x\r\n\r\n`,
        (t) =>
          `GET /${t}/a HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: 5\r\n\r\nGET /${t}/b HTTP/1.1\r\nHost: x\r\n\r\n`,
        (t) =>
          `GET /${t}/a HTTP/1.1\r\nHost: x\r\nUpgrade: h2c\r\nConnection: Upgrade\r\n\r\nGET /${t}/b HTTP/1.1\r\nHost: x\r\n\r\n`,
        // Content-Length bodies, which the lane now reads itself: the same framing as llhttp's.
        (t) => `POST /${t}/a HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nGET /${t}/x`,
        (t) =>
          `POST /${t}/a HTTP/1.1\r\nHost: x\r\nContent-Length: 33\r\n\r\nGET /${t}/s HTTP/1.1\r\nHost: x\r\n\r\nGET /${t}/b HTTP/1.1\r\nHost: x\r\n\r\n`,
        (t) =>
          `POST /${t}/a HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\nGET /${t}/b HTTP/1.1\r\nHost: x\r\n\r\n`,
        (t) =>
          `POST /${t}/a HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\nabcGET /${t}/b HTTP/1.1\r\nHost: x\r\n\r\n`,
        (t) =>
          `PUT /${t}/a HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\nabcPATCH /${t}/b HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\n\r\nzGET /${t}/c HTTP/1.1\r\nHost: x\r\n\r\n`,
        (t) =>
          `POST /${t}/a HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nContent-Length: 3\r\n\r\nabcGET /${t}/b HTTP/1.1\r\nHost: x\r\n\r\n`,
        (t) =>
          `POST /${t}/a HTTP/1.1\r\nHost: x\r\nContent-Length: 3, 3\r\n\r\nabcGET /${t}/b HTTP/1.1\r\nHost: x\r\n\r\n`,
        (t) =>
          `POST /${t}/a HTTP/1.1\r\nHost: x\r\nContent-Length: 03\r\n\r\nabcGET /${t}/b HTTP/1.1\r\nHost: x\r\n\r\n`,
        (t) =>
          `DELETE /${t}/a HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\nConnection: close\r\n\r\nabcdGET /${t}/b HTTP/1.1\r\nHost: x\r\n\r\n`,
      ];
      const runs = await Promise.all(
        shapes.flatMap((shape, i) =>
          [false, true].map(async (afterLane) => {
            const tag = `s${i}${afterLane ? 'l' : ''}`;
            const data = (afterLane ? get(`/${tag}/first`) : '') + shape(tag);
            await Promise.all([
              rawRequest(lane.port, data, { timeoutMs: 600 }),
              rawRequest(node.port, data, { timeoutMs: 600 }),
            ]);
            return { tag, data };
          }),
        ),
      );
      for (const { tag, data } of runs) {
        const mine = (seen: string[]): string[] => seen.filter((p) => p.startsWith(`/${tag}/`));
        assert.deepEqual(mine(seenLane), mine(seenNode), JSON.stringify(data));
      }
    });
  });

  describe('responses bridged through node', () => {
    test('a ReadableStream body goes out chunked, and the connection serves on', async () => {
      const client = await open();
      const reply = await client.request(get('/stream'));
      assert.equal(reply.status, 200);
      assert.equal(reply.chunked, true);
      assert.equal(header(reply, 'content-length'), undefined);
      assert.equal(header(reply, 'connection'), 'keep-alive');
      assert.equal(reply.body, 'one,two,three');
      assert.equal((await client.request(get('/next'))).body, 'path /next');
    });

    test('a thrown error from a bare fetch app is a 500, and the connection serves on', async () => {
      const client = await open();
      for (const path of ['/throw', '/reject']) {
        const reply = await client.request(get(path));
        assert.equal(reply.status, 500);
        assert.equal(header(reply, 'connection'), 'keep-alive');
        assert.equal((await client.request(get('/next'))).body, 'path /next');
      }
    });

    test('a header value node refuses (\\x01) is a 500, and the connection serves on', async () => {
      const client = await open();
      for (const path of ['/bad-header', '/bad-header-fast']) {
        const reply = await client.request(get(path));
        assert.equal(reply.status, 500);
        assert.doesNotMatch(reply.head, /x-bad/i);
        assert.notEqual(reply.body, 'never');
        assert.equal((await client.request(get('/next'))).body, 'path /next');
      }
    });

    test('an app that sets connection: close itself gets the connection closed', async () => {
      const client = await open();
      client.write(get('/app-close') + get('/after'));
      const reply = await client.read();
      assert.equal(reply.body, 'bye');
      assert.equal(header(reply, 'connection'), 'close');
      assert.equal(await client.closed(2000), true);
      assert.equal(client.unread, '');
    });

    test('the framework App: a thrown error is a problem+json 500 as on node:http', async () => {
      const app = new App({ log: false });
      app.get('/boom', () => {
        throw new Error('kaboom');
      });
      app.get('/ok', (c) => c.text('fine'));
      const [laneApp, nodeApp] = await Promise.all([start(app), start(app, { fastLane: false })]);
      try {
        const client = await Client.open(laneApp.port);
        clients.push(client);
        const reply = await client.request(get('/boom', 'Accept: application/json'));
        assert.equal(reply.status, 500);
        assert.match(header(reply, 'content-type') ?? '', /^application\/problem\+json/);
        assert.equal(JSON.parse(reply.body).status, 500);
        assert.doesNotMatch(reply.body, /kaboom/, 'the message is not exposed');
        assert.equal((await client.request(get('/ok'))).body, 'fine');
        const data = get('/boom', 'Accept: application/json') + get('/ok', 'Connection: close');
        const [a, b] = await Promise.all([rawRequest(laneApp.port, data), rawRequest(nodeApp.port, data)]);
        assert.equal(normalized(a), normalized(b));
      } finally {
        await Promise.all([laneApp.close(), nodeApp.close()]);
      }
    });
  });

  describe('fastLane: false', () => {
    test('turns the lane off: node:http reads every request', async () => {
      const kinds: boolean[] = [];
      await withServer(
        makeApp([]),
        { fastLane: false, onRequestStart: (req) => void kinds.push(req instanceof IncomingMessage) },
        async (server, list) => {
          const client = await Client.open(server.port);
          list.push(client);
          assert.equal((await client.request(get('/a'))).body, 'path /a');
          assert.equal((await client.request(get('/b'))).body, 'path /b');
        },
      );
      assert.deepEqual(kinds, [true, true]);
      // ...while with the lane on, the same requests never become IncomingMessages.
      const laneKinds: boolean[] = [];
      await withServer(
        makeApp([]),
        { onRequestStart: (req) => void laneKinds.push(req instanceof IncomingMessage) },
        async (server, list) => {
          const client = await Client.open(server.port);
          list.push(client);
          await client.request(get('/a'));
          await client.request(get('/b'));
        },
      );
      assert.deepEqual(laneKinds, [false, false]);
    });
  });
});

describe('fast lane: with the access log', () => {
  test('lane requests are logged with status, bytes and id, the id is sent, bridged ones log once', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'strata-lane-log-'));
    const file = join(dir, 'access.log');
    const kinds: boolean[] = [];
    const app = {
      fetch: (request: Request): Response => {
        const path = new URL(request.url).pathname;
        if (path === '/stream') return new Response(new Blob(['ab', 'cd']).stream());
        if (path === '/own-id') return new Response('mine', { headers: { 'x-request-id': 'app-chose' } });
        return new Response(`id ${request.headers.get('x-request-id')}`);
      },
    };
    try {
      await withServer(
        app,
        {
          accessLog: { format: 'json', destination: file },
          onRequestStart: (req) => void kinds.push(req instanceof IncomingMessage),
        },
        async (server, list) => {
          const client = await Client.open(server.port);
          list.push(client);
          const plain = await client.request(get('/plain', 'User-Agent: lane-test'));
          const sentId = header(plain, 'x-request-id');
          assert.ok(sentId !== undefined && sentId.length > 0, 'the id is sent on a lane response');
          assert.equal(plain.body, `id ${sentId}`, 'the app saw the id the log writes');
          const head = await client.request(`HEAD /plain HTTP/1.1\r\nHost: x\r\n\r\n`, { head: true });
          assert.equal(head.status, 200);
          const stream = await client.request(get('/stream'));
          assert.equal(stream.body, 'abcd');
          const own = await client.request(get('/own-id'));
          assert.equal(header(own, 'x-request-id'), 'app-chose');
        },
      );
      assert.deepEqual(kinds, [false, false, false, false], 'all four were read by the lane');
      const lines = readFileSync(file, 'utf8')
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l) as Record<string, unknown>);
      assert.equal(lines.length, 4, 'one line per request, the bridged stream included');
      const [plain, head, stream, own] = lines;
      assert.equal(plain!.url, '/plain');
      assert.equal(plain!.status, 200);
      assert.equal(plain!.bytes, Buffer.byteLength(`id ${plain!.requestId}`));
      assert.equal(plain!.userAgent, 'lane-test');
      assert.equal(head!.method, 'HEAD');
      assert.equal(head!.bytes, 0, 'HEAD logs 0 bytes');
      assert.equal(stream!.url, '/stream');
      assert.equal(stream!.bytes, 4, 'the bridged stream is logged by the node path, once');
      assert.equal(own!.status, 200);
      assert.notEqual(plain!.requestId, head!.requestId, 'every request gets its own id');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('fast lane: with static files', () => {
  test('files answer on a bridged response, other paths reach the app on the lane, pipelined in order', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'strata-lane-static-'));
    writeFileSync(join(dir, 'hello.txt'), 'hello file\n');
    const kinds: boolean[] = [];
    try {
      await withServer(
        { fetch: (request: Request) => new Response(`app ${new URL(request.url).pathname}`) },
        { static: dir, onRequestStart: (req) => void kinds.push(req instanceof IncomingMessage) },
        async (server, list) => {
          const client = await Client.open(server.port);
          list.push(client);
          // The first answer for a file looks it up on disk (async); the others are in the cache.
          client.write(get('/hello.txt') + get('/api') + get('/hello.txt') + get('/missing.txt'));
          const answers = [
            await client.read(),
            await client.read(),
            await client.read(),
            await client.read(),
          ];
          assert.deepEqual(
            answers.map((a) => [a.status, a.body]),
            [
              [200, 'hello file\n'],
              [200, 'app /api'],
              [200, 'hello file\n'],
              [200, 'app /missing.txt'],
            ],
          );
          assert.equal(header(answers[0]!, 'content-type'), 'text/plain; charset=utf-8');
          assert.ok(
            header(answers[0]!, 'etag') !== undefined || header(answers[0]!, 'last-modified') !== undefined,
          );
          assert.equal((await client.request(get('/after'))).body, 'app /after', 'the connection serves on');
        },
      );
      assert.deepEqual(kinds, [false, false, false, false, false], 'every request was read by the lane');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

// Found in review: each of these failed before its fix.
describe('fast lane: review findings', { concurrency: true }, () => {
  const BIG = 'x'.repeat(8 * 1024 * 1024);
  const bigApp = { fetch: () => new Response(BIG) };

  /** Sends one GET, stops reading for `pauseMs`, then reads to the end; the bytes that arrived. */
  function slowRead(port: number, pauseMs: number, onSent?: () => void): Promise<number> {
    return new Promise((resolve) => {
      const socket = connect(port, '127.0.0.1');
      let bytes = 0;
      socket.on('data', (c: Buffer) => {
        bytes += c.length;
        if (bytes >= BIG.length) socket.destroy();
      });
      socket.on('error', () => {});
      socket.on('close', () => resolve(bytes));
      socket.write('GET / HTTP/1.1\r\nHost: a\r\n\r\n');
      socket.pause();
      onSent?.();
      setTimeout(() => socket.resume(), pauseMs);
      setTimeout(() => socket.destroy(), pauseMs + 10_000);
    });
  }

  test('a slow reader of a large lane response gets all of it, past keepAliveTimeout', async () => {
    await withServer(bigApp, { keepAliveTimeout: 300 }, async (server) => {
      const bytes = await slowRead(server.port, 1500);
      assert.ok(bytes >= BIG.length, `received ${bytes} of ${BIG.length}+ bytes`);
    });
  });

  test('a graceful close waits for a large lane response a slow reader is still taking', async () => {
    const server = await start(bigApp, {});
    let closed: Promise<void> | undefined;
    const bytes = await slowRead(server.port, 1200, () => {
      setTimeout(() => {
        closed = server.close();
      }, 300);
    });
    await closed;
    assert.ok(bytes >= BIG.length, `received ${bytes} of ${BIG.length}+ bytes`);
  });

  test('Proxy-Connection is read as node reads it (the connection closes, the pipelined request is not run)', async () => {
    const data = get('/a', 'Proxy-Connection: close') + get('/b');
    const seenLane: string[] = [];
    const seenNode: string[] = [];
    const [a, b] = [
      await withAnswers(makeApp(seenLane), {}, data),
      await withAnswers(makeApp(seenNode), { fastLane: false }, data),
    ];
    assert.deepEqual(seenLane, seenNode);
    assert.equal(statuses(a.text).length, statuses(b.text).length);
    assert.equal(a.closed, b.closed);
  });

  test("maxRequestsPerSocket counts the lane's requests after a hand-over to node", async () => {
    const seen: string[] = [];
    await withServer(makeApp(seen), { maxRequestsPerSocket: 3 }, async (server, list) => {
      const client = await Client.open(server.port);
      list.push(client);
      assert.equal(header(await client.request(get('/1')), 'connection'), 'keep-alive');
      assert.equal(header(await client.request(get('/2')), 'connection'), 'keep-alive');
      // A body: the connection is node's from here on.
      const third = await client.request('POST /p HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\n\r\nz');
      assert.equal(header(third, 'connection'), 'close', 'the third request is the last');
      assert.equal(await client.closed(2000), true);
    });
    assert.equal(seen.length, 3);
  });

  test('more header lines than node allows get what node answers', async () => {
    const many = Array.from({ length: 1100 }, (_, i) => `a${i}: 1`);
    const data = get('/', ...many);
    const [a, b] = [
      await withAnswers(makeApp([]), {}, data),
      await withAnswers(makeApp([]), { fastLane: false }, data),
    ];
    assert.deepEqual(statuses(a.text), statuses(b.text));
  });

  test('after its last response the server closes without waiting for the client to end its side', async () => {
    await withServer(makeApp([]), {}, async (server) => {
      const socket = connect({ port: server.port, host: '127.0.0.1', allowHalfOpen: true });
      const closed = new Promise<void>((resolve) => socket.on('close', () => resolve()));
      socket.on('error', () => {});
      socket.on('data', () => {});
      socket.write(get('/', 'Connection: close'));
      // The client never ends its side and keeps sending.
      const junk = setInterval(() => socket.writable && socket.write('junk'), 50);
      try {
        await within(closed, 2000, 'the server to close the connection');
      } finally {
        clearInterval(junk);
        socket.destroy();
      }
    });
  });
});

describe('fast lane: maxInFlight', () => {
  test('the cap holds on the lane and is freed by answers and by clients that leave', async () => {
    const gates: (() => void)[] = [];
    let arrived = 0;
    const app = {
      fetch: async (request: Request) => {
        arrived += 1;
        if (new URL(request.url).pathname === '/slow') await new Promise<void>((r) => gates.push(r));
        return new Response('done');
      },
    };
    const kinds: boolean[] = [];
    await withServer(
      app,
      { maxInFlight: 1, onRequestStart: (req) => void kinds.push(req instanceof IncomingMessage) },
      async (server, list) => {
        const a = await Client.open(server.port);
        const b = await Client.open(server.port);
        list.push(a, b);
        a.write(get('/slow'));
        await waitFor(() => arrived === 1, 2000, 'the first request in flight');
        const refused = await b.request(get('/fast'));
        assert.equal(refused.status, 503, 'over the cap');
        // The client in flight leaves: its slot is free again.
        a.destroy();
        await sleep(50);
        assert.equal((await b.request(get('/fast'))).status, 200, 'freed by the client that left');
        assert.equal((await b.request(get('/fast'))).status, 200, 'and by each answer');
        for (const release of gates) release();
      },
    );
    assert.ok(
      kinds.every((k) => !k),
      'all on the lane',
    );
  });
});

describe('fast lane: with compression', () => {
  test('known bodies are compressed on the lane byte for byte as on node, Vary and all', async () => {
    const big = JSON.stringify({ items: Array.from({ length: 200 }, (_, i) => ({ i, name: `item ${i}` })) });
    const app = {
      fetch: (request: Request): Response => {
        const path = new URL(request.url).pathname;
        if (path === '/big') return new Response(big, { headers: { 'content-type': 'application/json' } });
        if (path === '/bytes')
          return new Response(new TextEncoder().encode(big), { headers: { 'content-type': 'text/plain' } });
        if (path === '/etag')
          return new Response(big, { headers: { 'content-type': 'application/json', etag: '"v1"' } });
        return new Response('small', { headers: { 'content-type': 'text/plain' } });
      },
    };
    const kinds: boolean[] = [];
    const lane = await start(app, {
      compression: true,
      onRequestStart: (req) => void kinds.push(req instanceof IncomingMessage),
    });
    const node = await start(app, { compression: true, fastLane: false });
    try {
      for (const [path, encoding] of [
        ['/big', 'gzip'],
        ['/big', 'br'],
        ['/bytes', 'deflate'],
        ['/etag', 'gzip'],
        ['/small', 'gzip'],
        ['/big', 'identity'],
      ] as const) {
        const data = get(path, `Accept-Encoding: ${encoding}`, 'Connection: close');
        const [a, b] = await Promise.all([
          rawRequest(lane.port, data, { timeoutMs: 2000 }),
          rawRequest(node.port, data, { timeoutMs: 2000 }),
        ]);
        assert.equal(normalized(a), normalized(b), `${path} with ${encoding}`);
      }
      assert.ok(kinds.length === 6 && kinds.every((k) => !k), 'all six were read by the lane');
    } finally {
      await Promise.all([lane.close(), node.close()]);
    }
  });
});

describe('fast lane: client disconnect', () => {
  for (const how of ['destroy', 'end'] as const) {
    test(`the request's signal fires when the client goes away (${how})`, async () => {
      const arrived = deferred();
      const aborted = deferred<unknown>();
      const app = {
        fetch: (request: Request) =>
          new Promise<Response>((resolve) => {
            request.signal.addEventListener('abort', () => {
              aborted.resolve(request.signal.reason);
              resolve(new Response('too late'));
            });
            arrived.resolve();
          }),
      };
      await withServer(app, {}, async (server, list) => {
        const client = await Client.open(server.port);
        list.push(client);
        client.write(get('/wait'));
        await within(arrived.promise, 2000, 'the request reaching the app');
        if (how === 'destroy') client.destroy();
        else client.socket.end();
        const reason = await within(aborted.promise, 2000, 'the signal to fire');
        assert.ok(reason instanceof Error, 'aborted with an error as the reason');
      });
    });
  }

  test('the signal does not fire for a request that was answered', async () => {
    const signals: AbortSignal[] = [];
    const app = {
      fetch: (request: Request) => {
        signals.push(request.signal);
        const path = new URL(request.url).pathname;
        if (path === '/stream')
          return new Response(
            new ReadableStream<Uint8Array>({
              start(controller) {
                controller.enqueue(encoder('s'));
                controller.close();
              },
            }),
          );
        if (path === '/slow') return sleep(10).then(() => new Response('slow'));
        return new Response('known');
      },
    };
    await withServer(app, {}, async (server, list) => {
      const client = await Client.open(server.port);
      list.push(client);
      for (const path of ['/known', '/stream', '/slow'])
        assert.equal((await client.request(get(path))).status, 200);
      await sleep(50);
      assert.equal(signals.length, 3);
      assert.deepEqual(
        signals.map((s) => s.aborted),
        [false, false, false],
      );
      // ...and not when the connection closes afterwards either.
      client.destroy();
      await sleep(50);
      assert.deepEqual(
        signals.map((s) => s.aborted),
        [false, false, false],
      );
    });
  });

  test('a client that leaves during a streamed response cancels the stream', async () => {
    const cancelled = deferred<unknown>();
    const aborted = deferred();
    const app = {
      fetch: (request: Request) => {
        request.signal.addEventListener('abort', () => aborted.resolve());
        return new Response(
          new ReadableStream<Uint8Array>({
            async pull(controller) {
              await sleep(10);
              controller.enqueue(encoder('tick\n'));
            },
            cancel(reason) {
              cancelled.resolve(reason);
            },
          }),
        );
      },
    };
    await withServer(app, {}, async (server, list) => {
      const client = await Client.open(server.port);
      list.push(client);
      client.write(get('/forever'));
      await waitFor(() => client.unread.includes('tick'), 2000, 'the first chunk');
      client.destroy();
      await within(cancelled.promise, 2000, 'the stream to be cancelled');
      await within(aborted.promise, 2000, 'the signal to fire');
    });
  });

  test('a client half-closing after its requests is treated as on node:http', async () => {
    const cases = [get('/sync?i=1'), get('/sync?i=1') + get('/sync?i=2') + get('/json'), get('/slow?ms=20')];
    for (const data of cases) {
      const [a, b] = await Promise.all([
        withAnswers(makeApp([]), {}, data),
        withAnswers(makeApp([]), { fastLane: false }, data),
      ]);
      assert.equal(normalized(a), normalized(b), JSON.stringify(data));
      assert.equal(a.closed, true);
    }
  });

  test('a pipelined request behind one whose client left is not run', async () => {
    const seen: string[] = [];
    const arrived = deferred();
    const app = {
      fetch: (request: Request) => {
        seen.push(new URL(request.url).pathname);
        return new Promise<Response>((resolve) => {
          request.signal.addEventListener('abort', () => resolve(new Response('late')));
          arrived.resolve();
        });
      },
    };
    await withServer(app, {}, async (server, list) => {
      const client = await Client.open(server.port);
      list.push(client);
      client.write(get('/first') + get('/second'));
      await within(arrived.promise, 2000, 'the request reaching the app');
      client.destroy();
      await sleep(100);
      assert.deepEqual(seen, ['/first']);
    });
  });
});

describe('fast lane: timeouts', { concurrency: true }, () => {
  // The lane's timeouts themselves are tested on a fake clock: lane-clock.test.ts.
  test('a streamed response that keeps writing outlives idleTimeout, as on node:http', {}, async () => {
    const app = {
      fetch: () => {
        let n = 0;
        return new Response(
          new ReadableStream<Uint8Array>({
            async pull(controller) {
              await sleep(100);
              n += 1;
              controller.enqueue(encoder(`data: ${n}\n\n`));
              if (n === 10) controller.close();
            },
          }),
          { headers: { 'content-type': 'text/event-stream' } },
        );
      },
    };
    for (const fastLane of [false, true]) {
      await withServer(
        app,
        { fastLane, keepAliveTimeout: 400, headersTimeout: 400, idleTimeout: 300 },
        async (server, list) => {
          const client = await Client.open(server.port);
          list.push(client);
          const reply = await client.request(get('/events'), { timeoutMs: 4000 });
          assert.equal(
            reply.body.match(/data: \d+/g)?.length,
            10,
            `fastLane ${fastLane}: every event arrived`,
          );
        },
      );
    }
  });
});

describe('fast lane: graceful close', () => {
  test('an in-flight lane request is answered with Connection: close; idle connections are closed', async () => {
    const arrived = deferred();
    const release = deferred();
    const app = {
      fetch: (request: Request): Response | Promise<Response> => {
        if (new URL(request.url).pathname !== '/hold') return new Response('quick');
        arrived.resolve();
        return release.promise.then(() => new Response('held'));
      },
    };
    await withServer(app, {}, async (server, list) => {
      const idle = await Client.open(server.port);
      const busy = await Client.open(server.port);
      const unused = await Client.open(server.port);
      list.push(idle, busy, unused);
      assert.equal(header(await idle.request(get('/')), 'connection'), 'keep-alive');
      busy.write(get('/hold'));
      await within(arrived.promise, 2000, 'the request reaching the app');
      let closed = false;
      const closing = server.close().then(() => {
        closed = true;
      });
      await sleep(50);
      assert.equal(closed, false, 'close() waits for the request in flight');
      release.resolve();
      const reply = await busy.read();
      assert.equal(reply.body, 'held');
      assert.equal(header(reply, 'connection'), 'close');
      assert.equal(await busy.closed(2000), true, 'the busy connection is closed after its response');
      assert.equal(await idle.closed(2000), true, 'the idle connection is closed');
      assert.equal(await unused.closed(2000), true, 'the unused connection is closed');
      await within(closing, 3000, 'close() to resolve');
      assert.equal(closed, true);
    });
  });
  test('a request sent on an idle connection during the drain is answered with Connection: close', async () => {
    await withServer(makeApp([]), { drainGrace: 300 }, async (server, list) => {
      const client = await Client.open(server.port);
      list.push(client);
      assert.equal(header(await client.request(get('/')), 'connection'), 'keep-alive');
      const closing = server.close();
      await sleep(50);
      const reply = await client.request(get('/during'));
      assert.equal(reply.body, 'path /during');
      assert.equal(header(reply, 'connection'), 'close');
      assert.equal(await client.closed(2000), true);
      await within(closing, 3000, 'close() to resolve');
    });
  });
});

describe('fast lane: limits', () => {
  test('allowedHosts: another Host gets 421 and the connection is closed', async () => {
    await withServer(makeApp([]), { allowedHosts: ['good.example'] }, async (server, list) => {
      const client = await Client.open(server.port);
      list.push(client);
      const ok = await client.request('GET /h HTTP/1.1\r\nHost: good.example\r\n\r\n');
      assert.equal(ok.body, 'path /h');
      const bad = await client.request('GET /h HTTP/1.1\r\nHost: evil.example\r\n\r\n');
      assert.equal(bad.status, 421);
      assert.equal(header(bad, 'connection'), 'close');
      assert.equal(await client.closed(2000), true);
    });
  });

  test('deny: a denied client gets 403 and the connection is closed', async () => {
    await withServer(makeApp([]), { deny: ['127.0.0.1'] }, async (server, list) => {
      const client = await Client.open(server.port);
      list.push(client);
      const reply = await client.request(get('/'));
      assert.equal(reply.status, 403);
      assert.equal(header(reply, 'connection'), 'close');
      assert.equal(await client.closed(2000), true);
    });
  });

  test('maxUrlLength: a longer target gets 414', async () => {
    await withServer(makeApp([]), { maxUrlLength: 50 }, async (server, list) => {
      const client = await Client.open(server.port);
      list.push(client);
      assert.equal((await client.request(get(`/${'a'.repeat(40)}`))).status, 200);
      const reply = await client.request(get(`/${'a'.repeat(60)}`));
      assert.equal(reply.status, 414);
      assert.equal(await client.closed(2000), true);
    });
  });

  test('maxRequestsPerSocket: the last allowed response says Connection: close, then the socket closes', async () => {
    await withServer(makeApp([]), { maxRequestsPerSocket: 3 }, async (server, list) => {
      const client = await Client.open(server.port);
      list.push(client);
      const first = await client.request(get('/1'));
      assert.equal(header(first, 'connection'), 'keep-alive');
      assert.equal(header(first, 'keep-alive'), 'timeout=5, max=3');
      assert.equal(header(await client.request(get('/2')), 'connection'), 'keep-alive');
      const third = await client.request(get('/3'));
      assert.equal(third.body, 'path /3');
      assert.equal(header(third, 'connection'), 'close');
      assert.equal(await client.closed(2000), true);
    });
  });

  test('maxRequestsPerSocket counts pipelined requests too', async () => {
    await withServer(makeApp([]), { maxRequestsPerSocket: 2 }, async (server, list) => {
      const client = await Client.open(server.port);
      list.push(client);
      client.write(get('/1') + get('/slow?ms=10') + get('/3'));
      assert.equal(header(await client.read(), 'connection'), 'keep-alive');
      assert.equal(header(await client.read(), 'connection'), 'close');
      assert.equal(await client.closed(2000), true);
      assert.equal(client.unread, '', 'the third was not answered');
    });
  });

  test('maxHeaderSize: a head over it gets 431 from node:http', async () => {
    await withServer(makeApp([]), { maxHeaderSize: 1024 }, async (server, list) => {
      const client = await Client.open(server.port);
      list.push(client);
      assert.equal((await client.request(get('/', `X-Fill: ${'a'.repeat(800)}`))).status, 200);
      assert.equal((await client.request(get('/', `X-Fill: ${'a'.repeat(1200)}`))).status, 431);
    });
  });
});
