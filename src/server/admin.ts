import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { ServerError } from './errors.ts';

/** Where the admin listener binds: off the public port, loopback by default. */
export const ADMIN_DEFAULTS = { host: '127.0.0.1', port: 9100 } as const;

/** Options of `startAdmin()`. */
export interface AdminOptions {
  host?: string;
  port?: number;
  /** The Prometheus text for `GET /metrics` (aggregated across workers under the supervisor). */
  metrics(): Promise<string>;
  /** Content type of `metrics()`'s text. */
  contentType: string;
  /** `GET /healthz` answers 200 while this is true, 503 otherwise (draining, under pressure). */
  healthy?(): boolean;
}

/** The running admin listener. */
export interface AdminServer {
  readonly url: string;
  close(): Promise<void>;
}

/**
 * The admin listener: `GET /metrics` (Prometheus) and `GET /healthz`, on its own address so that
 * the public port never exposes them. Bound to loopback unless told otherwise.
 *
 * @example
 * const admin = await startAdmin({ metrics: () => metrics.text(), contentType: metrics.contentType });
 */
export async function startAdmin(options: AdminOptions): Promise<AdminServer> {
  const host = options.host ?? ADMIN_DEFAULTS.host;
  const port = options.port ?? ADMIN_DEFAULTS.port;
  const answer = (res: ServerResponse, status: number, type: string, body: string): void => {
    res.writeHead(status, {
      'content-type': type,
      'content-length': Buffer.byteLength(body),
      'cache-control': 'no-store',
    });
    res.end(body);
  };
  const server: Server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const path = req.url?.split('?', 1)[0];
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.setHeader('allow', 'GET, HEAD');
      answer(res, 405, 'text/plain; charset=utf-8', 'Method Not Allowed\n');
    } else if (path === '/metrics') {
      options.metrics().then(
        (text) => answer(res, 200, options.contentType, text),
        (err: unknown) =>
          answer(res, 500, 'text/plain; charset=utf-8', `metrics unavailable: ${(err as Error).message}\n`),
      );
    } else if (path === '/healthz') {
      const ok = options.healthy?.() ?? true;
      answer(res, ok ? 200 : 503, 'text/plain; charset=utf-8', ok ? 'ok\n' : 'unavailable\n');
    } else answer(res, 404, 'text/plain; charset=utf-8', 'Not Found: try /metrics or /healthz\n');
  });
  server.headersTimeout = 10_000;
  server.requestTimeout = 30_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', (err: NodeJS.ErrnoException) => reject(ServerError.fromListen(err, host, port)));
    server.listen(port, host, () => resolve());
  });
  const address = server.address() as AddressInfo;
  const shown = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  return {
    url: `http://${shown}:${address.port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
