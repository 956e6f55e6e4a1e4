import { createHash, timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { type AddressInfo, isIPv4, isIPv6 } from 'node:net';
import { pathOf, searchOf, trimOws } from '../gateway/http.ts';
import { unmeasuredServer } from '../observe/metrics.ts';
import { DashboardServer, type DashboardSource, isDashboardAsset } from './dashboard/dashboard.ts';
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
  /**
   * What the live dashboard (`GET /dashboard`) reads once a second; without it there is no
   * dashboard. `processDashboardInput(metrics, …)` for one process, `SupervisorMetrics.dashboard()`
   * under the supervisor.
   */
  dashboard?: DashboardSource | undefined;
  /**
   * The bearer token `/metrics` and `/dashboard` require (`Authorization: Bearer …` or
   * `?token=…`; `/healthz` stays open). Required, of at least 16 characters, when `host` is not a
   * loopback address. Default: the `STRATA_ADMIN_TOKEN` environment variable, else none.
   */
  token?: string | undefined;
}

/** The shortest admin token accepted. */
export const ADMIN_TOKEN_MIN_LENGTH = 16;

/** Whether `host` names this machine's loopback interface only (127.0.0.0/8, ::1, localhost). */
export function isLoopbackHost(host: string): boolean {
  const h = host.startsWith('[') && host.endsWith(']') ? host.slice(1, -1) : host;
  if (h.toLowerCase() === 'localhost') return true;
  if (isIPv4(h)) return h.startsWith('127.');
  if (isIPv6(h)) {
    const lower = h.toLowerCase();
    if (lower.startsWith('::ffff:')) return isIPv4(lower.slice(7)) && lower.slice(7).startsWith('127.');
    return lower === '::1' || lower === '0:0:0:0:0:0:0:1';
  }
  return false;
}

const digest = (text: string): Buffer => createHash('sha256').update(text).digest();

/** The token a request presents: `Authorization: Bearer …`, else `?token=`. */
function presentedToken(req: IncomingMessage): string | undefined {
  const auth = req.headers.authorization;
  if (auth !== undefined && /^bearer /i.test(auth)) return trimOws(auth.slice(7));
  const search = searchOf(req.url ?? '');
  if (search === '') return undefined;
  return new URLSearchParams(search.slice(1)).get('token') ?? undefined;
}

/** The running admin listener. */
export interface AdminServer {
  readonly url: string;
  close(): Promise<void>;
}

/**
 * The admin listener: `GET /metrics` (Prometheus), `GET /healthz` and, given a `dashboard`
 * source, the live dashboard (`GET /dashboard`, `/dashboard/events`), on its own address so that
 * the public port never exposes them. Bound to loopback unless told otherwise; bound elsewhere it
 * refuses to start without a `token`.
 *
 * @example
 * const admin = await startAdmin({ metrics: () => metrics.text(), contentType: metrics.contentType });
 */
export async function startAdmin(options: AdminOptions): Promise<AdminServer> {
  const host = options.host ?? ADMIN_DEFAULTS.host;
  const port = options.port ?? ADMIN_DEFAULTS.port;
  const token = options.token ?? (process.env.STRATA_ADMIN_TOKEN || undefined);
  if (token === undefined && !isLoopbackHost(host)) {
    throw new ServerError(
      'STRATA_ERR_ADMIN_TOKEN_REQUIRED',
      `The admin listener on ${host} is reachable from other machines: give it a token (admin.token or STRATA_ADMIN_TOKEN, at least ${ADMIN_TOKEN_MIN_LENGTH} characters) or bind it to 127.0.0.1`,
    );
  }
  if (token !== undefined && token.length < ADMIN_TOKEN_MIN_LENGTH) {
    throw new ServerError(
      'STRATA_ERR_ADMIN_TOKEN_REQUIRED',
      `The admin token is ${token.length} characters long: use at least ${ADMIN_TOKEN_MIN_LENGTH} (for example \`openssl rand -hex 32\`)`,
    );
  }
  const expected = token === undefined ? undefined : digest(token);
  // Both sides hashed to 32 bytes, so the comparison takes the same time whatever was sent.
  const authorized = (req: IncomingMessage): boolean => {
    if (expected === undefined) return true;
    const given = presentedToken(req);
    return given !== undefined && timingSafeEqual(digest(given), expected);
  };
  const dashboard = options.dashboard === undefined ? undefined : new DashboardServer(options.dashboard);
  const answer = (res: ServerResponse, status: number, type: string, body: string): void => {
    res.writeHead(status, {
      'content-type': type,
      'content-length': Buffer.byteLength(body),
      'cache-control': 'no-store',
    });
    res.end(body);
  };
  const server: Server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const path = req.url === undefined ? undefined : pathOf(req.url);
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.setHeader('allow', 'GET, HEAD');
      answer(res, 405, 'text/plain; charset=utf-8', 'Method Not Allowed\n');
    } else if (path === '/healthz') {
      const ok = options.healthy?.() ?? true;
      answer(res, ok ? 200 : 503, 'text/plain; charset=utf-8', ok ? 'ok\n' : 'unavailable\n');
    } else if (path !== undefined && dashboard !== undefined && isDashboardAsset(path)) {
      dashboard.handle(path, req, res);
    } else if (!authorized(req)) {
      res.setHeader('www-authenticate', 'Bearer realm="strata admin"');
      answer(res, 401, 'text/plain; charset=utf-8', 'Unauthorized: send Authorization: Bearer <token>\n');
    } else if (path === '/' && dashboard !== undefined) {
      res.setHeader('location', `/dashboard${searchOf(req.url!)}`);
      answer(res, 302, 'text/plain; charset=utf-8', 'See /dashboard\n');
    } else if (path !== undefined && dashboard?.handle(path, req, res) === true) {
      // answered by the dashboard
    } else if (path === '/metrics') {
      options.metrics().then(
        (text) => answer(res, 200, options.contentType, text),
        (err: unknown) =>
          answer(res, 500, 'text/plain; charset=utf-8', `metrics unavailable: ${(err as Error).message}\n`),
      );
    } else answer(res, 404, 'text/plain; charset=utf-8', 'Not Found: try /metrics or /healthz\n');
  });
  unmeasuredServer(server);
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
        dashboard?.close();
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
