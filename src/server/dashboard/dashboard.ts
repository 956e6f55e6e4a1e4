import { readFileSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { createRequire } from 'node:module';
import type { Metrics } from '../../observe/metrics.ts';
import { DASHBOARD_CSS, DASHBOARD_HTML, DASHBOARD_JS } from './page.ts';
import { DashboardFeed, type DashboardInput } from './snapshot.ts';

/** What the dashboard reads each second; `startAdmin`'s `dashboard` option. */
export type DashboardSource = () => Promise<DashboardInput>;

/**
 * The dashboard input of one process (no supervisor): its metrics, `ready` or `draining`, and the
 * load-shedding limit it passes. What `serve()` gives its admin listener.
 *
 * @example
 * await startAdmin({ ..., dashboard: () => processDashboardInput(metrics, { healthy: true }) });
 */
export async function processDashboardInput(
  metrics: Metrics,
  state: { healthy: boolean; draining?: boolean; pressure?: string | undefined },
): Promise<DashboardInput> {
  return {
    mode: 'single',
    healthy: state.healthy,
    processes: [
      {
        pid: process.pid,
        state: state.draining === true ? 'draining' : 'ready',
        pressure: state.pressure,
        metrics: await metrics.json(),
      },
    ],
  };
}

/** The page's CSP: every script and style from this origin, as files; nothing inline, no frames. */
export const DASHBOARD_CSP =
  "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

const SECURITY_HEADERS = {
  'content-security-policy': DASHBOARD_CSP,
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'x-frame-options': 'DENY',
} as const;

/** uPlot's files, read from its npm package once, when first asked for. */
let uplot: { js: Buffer; css: Buffer } | undefined;
function uplotFiles(): { js: Buffer; css: Buffer } {
  if (uplot === undefined) {
    const require = createRequire(import.meta.url);
    uplot = {
      js: readFileSync(require.resolve('uplot/dist/uPlot.iife.min.js')),
      css: readFileSync(require.resolve('uplot/dist/uPlot.min.css')),
    };
  }
  return uplot;
}

const ASSETS: Record<string, { type: string; body: () => string | Buffer }> = {
  '/dashboard/assets/dashboard.js': { type: 'text/javascript; charset=utf-8', body: () => DASHBOARD_JS },
  '/dashboard/assets/dashboard.css': { type: 'text/css; charset=utf-8', body: () => DASHBOARD_CSS },
  '/dashboard/assets/uPlot.iife.min.js': {
    type: 'text/javascript; charset=utf-8',
    body: () => uplotFiles().js,
  },
  '/dashboard/assets/uPlot.min.css': { type: 'text/css; charset=utf-8', body: () => uplotFiles().css },
};

/** Whether `path` is one of the dashboard's static files (public: they carry no data). */
export const isDashboardAsset = (path: string): boolean => Object.hasOwn(ASSETS, path);

/** Options of `DashboardServer`. */
export interface DashboardServerOptions {
  /** Time between two snapshots, ms. Default 1000. */
  intervalMs?: number;
  /** At most this many `/dashboard/events` streams at once; more get 503. Default 16. */
  maxClients?: number;
}

/**
 * The dashboard's routes on the admin listener: the page, its files, and `/dashboard/events`
 * (Server-Sent Events, one JSON `DashboardSnapshot` a second). One timer serves every open
 * stream, and runs only while one is open.
 */
export class DashboardServer {
  readonly #source: DashboardSource;
  readonly #feed = new DashboardFeed();
  readonly #clients = new Set<ServerResponse>();
  readonly #intervalMs: number;
  readonly #maxClients: number;
  #timer: NodeJS.Timeout | undefined;
  #busy = false;
  #last: string | undefined;

  constructor(source: DashboardSource, options: DashboardServerOptions = {}) {
    this.#source = source;
    this.#intervalMs = options.intervalMs ?? 1000;
    this.#maxClients = options.maxClients ?? 16;
  }

  /** Answers the page, a file or the event stream; false when `path` is not the dashboard's. */
  handle(path: string, req: IncomingMessage, res: ServerResponse): boolean {
    if (path === '/dashboard' || path === '/dashboard/') {
      this.#send(res, req, 'text/html; charset=utf-8', DASHBOARD_HTML);
      return true;
    }
    if (path === '/dashboard/events') {
      this.#stream(req, res);
      return true;
    }
    const asset = ASSETS[path];
    if (asset === undefined || !Object.hasOwn(ASSETS, path)) return false;
    this.#send(res, req, asset.type, asset.body(), 'public, max-age=300');
    return true;
  }

  /** Ends every stream and stops the timer. */
  close(): void {
    clearInterval(this.#timer);
    this.#timer = undefined;
    for (const res of this.#clients) res.end();
    this.#clients.clear();
  }

  #send(
    res: ServerResponse,
    req: IncomingMessage,
    type: string,
    body: string | Buffer,
    cache = 'no-store',
  ): void {
    res.writeHead(200, {
      ...SECURITY_HEADERS,
      'content-type': type,
      'content-length': Buffer.byteLength(body),
      'cache-control': cache,
    });
    res.end(req.method === 'HEAD' ? undefined : body);
  }

  #stream(req: IncomingMessage, res: ServerResponse): void {
    if (this.#clients.size >= this.#maxClients) {
      res.writeHead(503, { 'content-type': 'text/plain; charset=utf-8', 'retry-after': '5' });
      res.end('Too many dashboard streams open\n');
      return;
    }
    res.writeHead(200, {
      ...SECURITY_HEADERS,
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-store',
      'x-accel-buffering': 'no',
    });
    if (req.method === 'HEAD') {
      res.end();
      return;
    }
    res.write('retry: 2000\n\n');
    if (this.#last !== undefined) res.write(this.#last);
    this.#clients.add(res);
    res.once('close', () => {
      this.#clients.delete(res);
      if (this.#clients.size === 0) {
        clearInterval(this.#timer);
        this.#timer = undefined;
      }
    });
    if (this.#timer === undefined) {
      this.#timer = setInterval(() => this.#tick(), this.#intervalMs);
      this.#tick();
    }
  }

  #tick(): void {
    // A scrape slower than the interval (a worker that does not answer) is not stacked up.
    if (this.#busy) return;
    this.#busy = true;
    this.#source()
      .then(
        (input) => {
          this.#last = `data: ${JSON.stringify(this.#feed.next(input))}\n\n`;
          for (const res of this.#clients) res.write(this.#last);
        },
        () => {
          // The next tick tries again; the page keeps its last numbers meanwhile.
        },
      )
      .finally(() => {
        this.#busy = false;
      });
  }
}
