/**
 * `strata-stack/testing`: an app on a real socket, on an ephemeral port of 127.0.0.1, with WebSocket
 * clients that queue what they receive, for the routes `app.request()` cannot reach (WebSocket
 * upgrades, rooms, `app.publish` to sockets). For everything else, `app.request()` is faster.
 *
 * @example
 * await using t = await testServer(app);
 * const alice = await t.ws('/chat/lobby');
 * const bob = await t.ws('/chat/lobby');
 * alice.send('hi');
 * assert.equal(await bob.next(), 'hi');
 */
import { type ClientOptions, WebSocket } from 'ws';
import { type ServeOptions, type StrataServer, serve } from './server.ts';

/** A running test server. Close it (or `await using` it) at the end of the test. */
export interface TestServer extends AsyncDisposable {
  /** `http://127.0.0.1:<port>`. */
  readonly url: string;
  /** The strata server underneath (its `realtime`, `metrics`, `node` server). */
  readonly server: StrataServer;
  /** A real HTTP request to the server: `t.fetch('/rooms')`. */
  fetch(path: string, init?: RequestInit): Promise<Response>;
  /**
   * A connected WebSocket client of `path`. Rejects with an error that has the `status`, `body` and
   * `headers` of the answer when the app refuses the handshake (a 401 from auth middleware, say).
   */
  ws(path: string, options?: TestSocketOptions): Promise<TestSocket>;
  /** Closes the clients still open, then the server (gracefully). Safe to call twice. */
  close(): Promise<void>;
}

export interface TestSocketOptions {
  /** Subprotocols offered (`Sec-WebSocket-Protocol`). */
  protocols?: string | string[];
  /** Extra handshake headers (`authorization`, `cookie`, `origin`…). */
  headers?: Record<string, string>;
  /** Default timeout of `next()`, in ms. Default 2000. */
  timeoutMs?: number;
}

/** What a client received: text as a string, binary as a Uint8Array. */
export type TestMessage = string | Uint8Array;

/** A connected client whose messages are queued, so a test awaits them in order. */
export interface TestSocket extends AsyncDisposable {
  /** The `ws` client itself. */
  readonly ws: WebSocket;
  /** The subprotocol the server chose, `''` if none. */
  readonly protocol: string;
  /** Headers of the 101 response. */
  readonly headers: Readonly<Record<string, string | string[] | undefined>>;
  /** Resolves with the close code and reason once the socket is closed (by either side). */
  readonly closed: Promise<{ code: number; reason: string }>;
  /** Sends a text or binary message. */
  send(data: string | Uint8Array | ArrayBuffer): void;
  /** The next message; rejects if none comes within `timeoutMs` or the socket closes first. */
  next(timeoutMs?: number): Promise<TestMessage>;
  /** The next message, parsed as JSON. */
  nextJson<T = unknown>(timeoutMs?: number): Promise<T>;
  /**
   * Resolves if no message arrives within `ms` (default 100), rejects with the message otherwise:
   * for "this client must not get that" (a sender does not hear its own `ws.publish`).
   */
  nothing(ms?: number): Promise<void>;
  /** Closes the socket (1000 unless told otherwise) and resolves once it is closed. */
  close(code?: number, reason?: string): Promise<{ code: number; reason: string }>;
}

/**
 * Serves `app` with strata's server on an ephemeral port of 127.0.0.1 (no logs), WebSockets and
 * `app.publish` included. `options` are `serve()`'s, for a test that needs a limit or a feature.
 */
export async function testServer(
  app: Parameters<typeof serve>[0],
  options: ServeOptions = {},
): Promise<TestServer> {
  const server = await serve(app, { host: '127.0.0.1', port: 0, logger: false, ...options });
  const clients = new Set<WebSocket>();
  const wsBase = server.url.replace(/^http/, 'ws');
  let closing: Promise<void> | undefined;
  const close = (): Promise<void> => {
    closing ??= (async () => {
      for (const ws of clients) ws.terminate();
      clients.clear();
      await server.close();
    })();
    return closing;
  };
  return {
    url: server.url,
    server,
    fetch: (path, init) => fetch(new URL(path, server.url), init),
    async ws(path, socketOptions = {}) {
      if (closing !== undefined) throw new Error('testServer: ws() after close()');
      const socket = await connect(new URL(path, wsBase).href, socketOptions);
      clients.add(socket.ws);
      socket.ws.once('close', () => clients.delete(socket.ws));
      return socket;
    },
    close,
    [Symbol.asyncDispose]: close,
  };
}

function connect(url: string, options: TestSocketOptions): Promise<TestSocket> {
  const clientOptions: ClientOptions = {};
  if (options.headers !== undefined) clientOptions.headers = options.headers;
  const ws = new WebSocket(url, options.protocols, clientOptions);
  const defaultTimeout = options.timeoutMs ?? 2000;
  const queue: TestMessage[] = [];
  const waiters = new Set<{ resolve(m: TestMessage): void; reject(e: Error): void }>();
  let closeInfo: { code: number; reason: string } | undefined;

  ws.on('message', (data: Buffer, isBinary: boolean) => {
    const message = isBinary
      ? new Uint8Array(data.buffer, data.byteOffset, data.byteLength)
      : data.toString('utf8');
    const [waiter] = waiters;
    if (waiter === undefined) queue.push(message);
    else {
      waiters.delete(waiter);
      waiter.resolve(message);
    }
  });
  const closed = new Promise<{ code: number; reason: string }>((resolve) => {
    ws.on('close', (code: number, reason: Buffer) => {
      closeInfo = { code, reason: reason.toString('utf8') };
      const error = new Error(
        `the socket closed (${code}${closeInfo.reason ? ` ${closeInfo.reason}` : ''}) before a message came`,
      );
      for (const w of waiters) w.reject(error);
      waiters.clear();
      resolve(closeInfo);
    });
  });

  const next = (timeoutMs = defaultTimeout): Promise<TestMessage> => {
    const queued = queue.shift();
    if (queued !== undefined) return Promise.resolve(queued);
    if (closeInfo !== undefined) {
      return Promise.reject(new Error(`the socket is closed (${closeInfo.code}): no more messages`));
    }
    return new Promise((resolve, reject) => {
      const waiter = {
        resolve(m: TestMessage) {
          clearTimeout(timer);
          resolve(m);
        },
        reject(e: Error) {
          clearTimeout(timer);
          reject(e);
        },
      };
      const timer = setTimeout(() => {
        waiters.delete(waiter);
        reject(new Error(`no message within ${timeoutMs} ms on ${url}`));
      }, timeoutMs);
      waiters.add(waiter);
    });
  };

  return new Promise((resolve, reject) => {
    let headers: Record<string, string | string[] | undefined> = {};
    ws.once('upgrade', (res) => {
      headers = res.headers;
    });
    ws.once('unexpected-response', (_req, res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        if (body.length < 65_536) body += chunk;
      });
      res.on('error', () => {});
      res.on('end', () => {
        ws.terminate();
        reject(
          Object.assign(new Error(`the handshake of ${url} was answered ${res.statusCode}`), {
            status: res.statusCode,
            body,
            headers: res.headers,
          }),
        );
      });
    });
    ws.once('error', reject);
    ws.once('open', () => {
      ws.off('error', reject);
      ws.on('error', () => {}); // later errors end in 'close', which the test sees
      const socket: TestSocket = {
        ws,
        protocol: ws.protocol,
        headers,
        closed,
        send: (data) => ws.send(data),
        next,
        async nextJson<T>(timeoutMs?: number): Promise<T> {
          const m = await next(timeoutMs);
          return JSON.parse(typeof m === 'string' ? m : new TextDecoder().decode(m)) as T;
        },
        nothing(ms = 100): Promise<void> {
          const queued = queue[0];
          if (queued !== undefined) return Promise.reject(unexpected(queued));
          return next(ms).then(
            (m) => {
              throw unexpected(m);
            },
            (err: Error) => {
              if (err.message.startsWith('no message within')) return;
              if (closeInfo !== undefined) return;
              throw err;
            },
          );
        },
        close(code = 1000, reason?: string) {
          if (closeInfo === undefined) ws.close(code, reason);
          return closed;
        },
        [Symbol.asyncDispose]: async () => {
          if (closeInfo === undefined) ws.close(1000);
          await closed;
        },
      };
      resolve(socket);
    });
  });
}

function unexpected(m: TestMessage): Error {
  const text = typeof m === 'string' ? JSON.stringify(m.slice(0, 80)) : `${m.byteLength} bytes`;
  return new Error(`expected no message, got ${text}`);
}
