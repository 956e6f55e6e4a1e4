import type { IncomingMessage } from 'node:http';
import type { WebSocketEndpoint } from '../gateway/node-upgrade.ts';
import type { Logger } from '../observe/logger.ts';
import type { Metrics } from '../observe/metrics.ts';
import type { LoopMonitorOptions } from '../parallel/loop-monitor.ts';
import type { ProxyOptions } from '../proxy/options.ts';
import type { AccessLogOptions } from './access-log.ts';
import type { Http01Answers } from './acme/challenges.ts';
import type { CompressionOptions } from './compression/options.ts';
import type { Http2Options } from './h2/options.ts';
import type { EdgeRateLimitOptions } from './rate-limit.ts';
import type { StaticOptions } from './static/static-files.ts';
import type { TlsOptions } from './tls/options.ts';

/**
 * Every server limit, with its default, in one place. docs/server.md shows the same table, and a
 * test checks the two against each other.
 */
export const SERVER_DEFAULTS = {
  /** Port to listen on (0 picks a free one). */
  port: 3000,
  /** Interface to listen on: loopback unless told otherwise. */
  host: '127.0.0.1',
  /** Time allowed to receive a request's headers, in ms (slowloris: trickled headers get 408). */
  headersTimeout: 20_000,
  /**
   * Time allowed to receive a whole request, headers and body, in ms (0 = no limit): how long a
   * slow upload (or a slow-POST attack) may hold a connection. 60 s takes the default 1 MiB
   * body at ~18 KB/s; raise it with `maxBodySize`.
   */
  requestTimeout: 60_000,
  /** How long an idle keep-alive connection is kept open, in ms. */
  keepAliveTimeout: 5_000,
  /** Socket inactivity (no byte read or written) tolerated mid-request or mid-response, in ms (0 = none). */
  idleTimeout: 60_000,
  /** Largest request head (request line + headers), in bytes; beyond it, 431. */
  maxHeaderSize: 16_384,
  /** Most header lines in a request (0 = node's own limit); beyond it, 431 (Apache's LimitRequestFields). */
  maxHeaderCount: 100,
  /** Longest request target (path and query), in bytes; beyond it, 414. */
  maxUrlLength: 8192,
  /** Most requests being answered at once (0 = no cap); beyond it, 503 with Retry-After. */
  maxInFlight: 0,
  /** Seconds sent in Retry-After with a 503 from maxInFlight. */
  retryAfter: 1,
  /** Largest request body, in bytes; beyond it, 413 (from Content-Length, or while reading). */
  maxBodySize: 1_048_576,
  /** Most simultaneous connections; further ones are closed on accept. */
  maxConnections: 10_000,
  /**
   * Most simultaneous connections from one peer address — an IPv6 peer's /64 — (0 = no cap);
   * further ones are closed on accept. Peers in `trustProxy` are not capped (a proxy carries
   * many clients).
   */
  maxConnectionsPerIp: 256,
  /** Most requests served on one keep-alive connection (0 = unlimited). */
  maxRequestsPerSocket: 0,
  /** How long a graceful shutdown waits for in-flight work before closing connections, in ms. */
  shutdownTimeout: 10_000,
  /**
   * During a graceful shutdown, how long a connection must have sat idle (or unused) before it is
   * closed, in ms: a client that sends on it meanwhile is answered (with `Connection: close`)
   * instead of reset by a close that crosses its request on the wire.
   */
  drainGrace: 250,
  /** Listen with SO_REUSEPORT (Linux): several processes bind the same port, the kernel spreads connections. */
  reusePort: false,
  /** Stack traces in 500 responses. Never in production. */
  dev: false,
  /** Replace globalThis.Response with the lazy FastResponse (see docs/gateway.md). */
  fastResponse: true,
  /**
   * Serve plain bodiless HTTP/1.1 requests of a fetch app on strata's own fast lane instead of
   * node's IncomingMessage/ServerResponse (see docs/server.md); anything else is node's.
   */
  fastLane: true,
} as const;

type Defaults = typeof SERVER_DEFAULTS;
type Widen<T> = T extends number ? number : T extends string ? string : T extends boolean ? boolean : T;

/** Options of `serve()`; every one is optional and defaults to `SERVER_DEFAULTS`. */
/**
 * How the server gets its WebSocket endpoint: a factory called once, for a fetch-style app, with
 * the server's logger; `false` for none (upgrades are then ordinary requests). `strata-stack/server`
 * passes realtime's `RealtimeServer` (with the `websocket` and `broker` options).
 */
export type WebSocketsOption<W extends WebSocketEndpoint = WebSocketEndpoint> =
  | false
  | ((context: { logger: Logger }) => W);

/**
 * The edge's own options (`serve()` in serve.ts). `strata-stack/server`'s `ServeOptions` are these
 * with realtime's `websocket` and `broker` in place of `websockets`.
 */
export type EdgeServeOptions<W extends WebSocketEndpoint = WebSocketEndpoint> = {
  [K in keyof Defaults]?: Widen<Defaults[K]>;
} & {
  /** Where logs go: a pino logger, or `false` for none. Default: JSON lines on stdout. */
  logger?: Logger | false;
  /** Aborting this signal starts a graceful shutdown. */
  signal?: AbortSignal;
  /**
   * Compress responses (brotli, zstd, gzip, deflate) negotiated from Accept-Encoding: `true` for
   * the defaults (`COMPRESSION_DEFAULTS`), or options. Default `false` (see docs/server.md).
   */
  compression?: boolean | CompressionOptions;
  /** Serve files from a directory before the app (a path, or options; see docs/server.md). */
  static?: string | StaticOptions;
  /**
   * Proxies whose `Forwarded` / `X-Forwarded-For` headers are believed (addresses, CIDR ranges,
   * or `loopback`, `private`, `linklocal`). Default none: `info.remote` is the socket's peer.
   */
  trustProxy?: string[];
  /**
   * Which forwarding header the trusted proxies write: `'x-forwarded-for'` (with
   * `X-Forwarded-Proto`), `'forwarded'` (RFC 7239), or `'both'` — the default, where a hop and a
   * proto count only where the two agree. Naming the one your proxy writes makes the other,
   * which a client may send through the proxy untouched, ignored entirely.
   */
  trustProxyHeader?: 'x-forwarded-for' | 'forwarded' | 'both';
  /** Only these client addresses are served (403 for others). */
  allow?: string[];
  /** These client addresses get 403. */
  deny?: string[];
  /**
   * Host names this server answers for (`example.com`, `*.example.com`, `localhost`); a request
   * for any other Host gets 421 — the defence against DNS rebinding. Default: any Host.
   */
  allowedHosts?: string[];
  /**
   * Prometheus metrics of this process (requests by route and status, latency, in flight, event
   * loop, heap, thread pools): `true` for a new `Metrics`, or your own. Default off.
   */
  metrics?: boolean | Metrics;
  /**
   * The admin listener (`/metrics`, `/healthz`) on its own address, default 127.0.0.1:9100;
   * implies `metrics`. Default off. Under the supervisor the primary runs it instead.
   */
  admin?: boolean | { host?: string; port?: number; token?: string };
  /**
   * Load shedding: past any of these limits (event-loop delay in ms, utilisation, heap, RSS) new
   * requests get 503 with `Retry-After` until the process recovers. Default off.
   */
  loadShedding?: LoopMonitorOptions;
  /**
   * One line per request (combined or JSON, to stdout or a file reopened on SIGUSR1), with a
   * request id in `X-Request-Id`. Default off; `true` is `{ format: 'combined', destination:
   * 'stdout' }`. See docs/server.md, "Access log".
   */
  accessLog?: boolean | AccessLogOptions;
  /**
   * Rate limit per client address (after `trustProxy` resolution; an IPv6 client by its /64):
   * `'100/1m'`, `'10/s'`, or `{ limit, window, burst, maxKeys, name }`,
   * checked in the edge policy before the app wakes: over it, 429 problem+json with
   * `Retry-After` and the draft `RateLimit` fields. GCRA, in this process's memory (bounded).
   * Default off. See docs/server.md, "Rate limiting".
   */
  rateLimit?: EdgeRateLimitOptions | string | false;
  /**
   * HTTPS: `{ cert, key }` (PEM or file paths), `{ certificates: [...] }` chosen by SNI, or
   * `{ selfSigned: true }` for development; with `hsts`, `redirectHttp`. See docs/tls.md.
   */
  tls?: TlsOptions;
  /**
   * The reverse proxy: upstream groups, and routes (a path prefix and/or a host) that forward
   * to them, asked before static files and the app. Default none. See docs/proxy.md.
   */
  proxy?: ProxyOptions;
  /**
   * HTTP/2: `true` for the defaults (`HTTP2_DEFAULTS`), or its limits and `h2c` (prior knowledge
   * on the plain listener). Over TLS it is chosen by ALPN. Default off. See docs/http2.md.
   */
  http2?: boolean | Http2Options;
  /** The WebSocket endpoint (see `WebSocketsOption`); unset: none. */
  websockets?: WebSocketsOption<W>;
  /**
   * Called as each request arrives, before any limit check (the supervisor's worker counts
   * requests for max-requests recycling and tells its watchdog what is running). Unset: no cost.
   */
  onRequestStart?: (req: IncomingMessage) => void;
  /**
   * ACME HTTP-01 challenges (docs/acme.md): a request for `/.well-known/acme-challenge/…` is
   * answered from this (the key authorization, else 404) before the edge policy, static files or
   * the app see it. An `AcmeManager`, or a worker's `AcmeWorker`. Unset: no such path is special.
   */
  acmeChallenges?: Http01Answers;
};

/**
 * The longest delay a node timer holds: 2^31 − 1 ms (about 24.8 days). node runs a longer one
 * after 1 ms (with a TimeoutOverflowWarning), so a "very long" timeout would cut every connection
 * at once: such a value is refused instead.
 */
export const TIMER_MAX_MS = 2 ** 31 - 1;

/** The options that become node or lane timers, in ms. */
const TIMER_OPTIONS = [
  'headersTimeout',
  'requestTimeout',
  'keepAliveTimeout',
  'idleTimeout',
  'shutdownTimeout',
  'drainGrace',
] as const satisfies readonly (keyof Defaults)[];

export type ResolvedServeOptions = { -readonly [K in keyof Defaults]: Widen<Defaults[K]> };

/** Merges options over the defaults and checks each limit, naming the bad one. */
export function resolveServeOptions(options: EdgeServeOptions): ResolvedServeOptions {
  const out = { ...SERVER_DEFAULTS } as ResolvedServeOptions;
  for (const key of Object.keys(SERVER_DEFAULTS) as (keyof Defaults)[]) {
    const value = options[key];
    if (value === undefined) continue;
    const expected = typeof SERVER_DEFAULTS[key];
    if (
      typeof value !== expected ||
      (expected === 'number' && !(Number.isInteger(value) && (value as number) >= 0))
    ) {
      throw new TypeError(
        `serve(): option ${key} must be ${expected === 'number' ? 'a non-negative integer' : `a ${expected}`}, got ${String(value)}`,
      );
    }
    (out as Record<string, unknown>)[key] = value;
  }
  if (out.port > 65535) throw new TypeError(`serve(): option port must be at most 65535, got ${out.port}`);
  for (const key of TIMER_OPTIONS) {
    if (out[key] > TIMER_MAX_MS)
      throw new RangeError(
        `serve(): option ${key} must be at most ${TIMER_MAX_MS} ms (about 24.8 days; node runs a longer timer after 1 ms), got ${out[key]}; 0 means no limit where the option allows it`,
      );
  }
  // node:http refuses a headersTimeout above requestTimeout.
  if (out.requestTimeout > 0 && out.headersTimeout > out.requestTimeout)
    out.headersTimeout = out.requestTimeout;
  return out;
}
