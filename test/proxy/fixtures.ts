/** Upstream servers on loopback for the proxy tests, and a proxy in front of them. */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createNetServer, type Server as NetServer, type Socket } from 'node:net';
import type { ProxyOptions } from '../../src/proxy/options.ts';
import { type ServeOptions, type StrataServer, serve } from '../../src/server.ts';

export interface Upstream {
  url: string;
  port: number;
  server: Server;
  /** Requests seen, in order. */
  seen: {
    method: string;
    url: string;
    headers: IncomingMessage['headers'];
    rawHeaders: string[];
    body: string;
  }[];
  close(): Promise<void>;
}

/** A node:http upstream; the handler answers after the body was read (default: JSON of the request). */
export async function startUpstream(
  handler?: (req: IncomingMessage, res: ServerResponse, body: string) => void,
): Promise<Upstream> {
  const seen: Upstream['seen'] = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString('latin1');
      seen.push({
        method: req.method!,
        url: req.url!,
        headers: req.headers,
        rawHeaders: req.rawHeaders,
        body,
      });
      if (handler !== undefined) handler(req, res, body);
      else {
        res.setHeader('content-type', 'application/json');
        res.end(
          JSON.stringify({ method: req.method, url: req.url, headers: req.headers, length: body.length }),
        );
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as { port: number }).port;
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    server,
    seen,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

export interface RawUpstream {
  url: string;
  port: number;
  /** Every byte received, per connection. */
  received: Buffer[][];
  /** All bytes of all connections. */
  all(): string;
  close(): Promise<void>;
}

/**
 * A raw TCP upstream: records every byte it receives; `answer` is written once a request head
 * (and, when `waitBody` says so, its body) arrived — or never, when undefined.
 */
export async function startRawUpstream(answer?: string | ((socket: Socket) => void)): Promise<RawUpstream> {
  const received: Buffer[][] = [];
  const sockets = new Set<Socket>();
  const server: NetServer = createNetServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    const mine: Buffer[] = [];
    received.push(mine);
    let answered = false;
    socket.on('error', () => {});
    socket.on('data', (chunk: Buffer) => {
      mine.push(chunk);
      if (answered || answer === undefined) return;
      if (!Buffer.concat(mine).includes('\r\n\r\n')) return;
      answered = true;
      if (typeof answer === 'string') socket.write(answer);
      else answer(socket);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as { port: number }).port;
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    received,
    all: () => received.map((c) => Buffer.concat(c).toString('latin1')).join(''),
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}

/** A port nothing listens on (bound, then closed). */
export async function deadPort(): Promise<number> {
  const server = createNetServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as { port: number }).port;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/** A strata server whose `/api` (or `routes`) go to `upstreams`, and whose app answers `app`. */
export function startProxy(
  upstreams: string[],
  options: Partial<ProxyOptions> & { serve?: ServeOptions; path?: string } = {},
): Promise<StrataServer> {
  const { serve: serveOptions, path, ...proxy } = options;
  return serve(
    { fetch: () => new Response('from the app') },
    {
      port: 0,
      logger: false,
      ...serveOptions,
      proxy: {
        // Passive ejection and the breaker off: these tests hit a dead upstream again on purpose
        // (test/proxy/balance/ and test/proxy/fault.test.ts test them).
        groups: [
          {
            name: 'api',
            upstreams,
            retry: { attempts: 2, withinMs: 10_000 },
            passive: false,
            breaker: false,
          },
        ],
        routes: [{ path: path ?? '/api', to: 'api' }],
        ...proxy,
      },
    },
  );
}
