/**
 * The shapes shared by the upstream group (index.ts) and its parts (algorithms, health checks,
 * breaker, retry policy). index.ts re-exports them: the proxy imports from there.
 */

/** One upstream server: an origin (`http://host:port`) and what the group knows of it. */
export interface Upstream {
  /** A stable id for logs and metrics: the origin as given (`http://127.0.0.1:3001`). */
  readonly id: string;
  /** The upstream's origin URL (scheme, host, port; a path prefix is allowed). */
  readonly url: URL;
  /** Relative weight (1 by default) for the weighted algorithms. */
  readonly weight: number;
  /** Requests in flight to this upstream (kept by `begin`/`end`). */
  readonly active: number;
  /** Whether it takes new requests (health checks passing, not ejected, breaker closed). */
  readonly available: boolean;
  /**
   * Why it does or does not take requests, in one word (see `UpstreamState`); as of the group's
   * last `pick`, `snapshot` or health check.
   */
  readonly state: UpstreamState;
}

/**
 * An upstream's health in one word, the worst of its three checks first:
 * - `unhealthy`: the active health check failed `fails` times in a row;
 * - `ejected`: passive checking saw `maxFails` failed requests in a row (for a while);
 * - `open`: its circuit breaker is open (too many failures in its window);
 * - `half-open`: the breaker lets one probe request through; it takes that one only;
 * - `healthy`: takes requests.
 */
export type UpstreamState = 'healthy' | 'half-open' | 'open' | 'ejected' | 'unhealthy';

/** What the balancer may read of the request being placed (for consistent hashing). */
export interface PickContext {
  /** The client address as the edge resolved it. */
  readonly remote: string;
  /** A request header (lower-case name), or undefined. */
  header(name: string): string | undefined;
  /** A request cookie, or undefined. */
  cookie(name: string): string | undefined;
}

/**
 * How one proxied attempt ended, as the proxy reports it to the group:
 * - `ok`: a response head arrived (any status below 500, or any status when 5xx is not judged);
 * - `connect-error`: no connection (refused, unreachable, connect timeout);
 * - `reset`: the connection closed or reset before the response head;
 * - `timeout`: no response head in time (a hung upstream);
 * - `server-error`: a 5xx response head (counted as a failure only when `failOn` names it).
 */
export type Outcome = 'ok' | 'connect-error' | 'reset' | 'timeout' | 'server-error';

/**
 * How the group chooses: `round-robin` (the default), `weighted` (smooth weighted round robin,
 * nginx's default with `weight=`), `least-connections` (nginx `least_conn`), or consistent
 * hashing (rendezvous) on a header, a cookie or the client address — sticky sessions (nginx
 * `hash … consistent`, Caddy `lb_policy header|cookie|client_ip`). A request without the header
 * or cookie is placed by round robin.
 */
export type BalanceAlgorithm =
  | 'round-robin'
  | 'weighted'
  | 'least-connections'
  | { readonly hash: 'header' | 'cookie'; readonly name: string }
  | { readonly hash: 'client' };

export interface UpstreamSpec {
  readonly url: string | URL;
  /** A positive number (default 1), for `weighted`, `least-connections` and hashing. */
  readonly weight?: number;
}

/** An HTTP status the active check expects: `200`, a class (`'2xx'`), or a range (`[200, 399]`). */
export type ExpectedStatus = number | `${1 | 2 | 3 | 4 | 5}xx` | readonly [number, number];

/**
 * Active health checks (Caddy `health_uri`, `health_interval`, `health_timeout`,
 * `health_status`, `health_passes`, `health_fails`; nginx Plus `health_check uri= interval=
 * passes= fails=`). Off unless `uri` is given.
 */
export interface ActiveHealthOptions {
  /** The path checked on each upstream, `GET` over a fresh connection (`/healthz`). */
  readonly uri: string;
  /** Milliseconds between the end of one check and the start of the next (default 5000). */
  readonly intervalMs?: number;
  /** A check without a full response head in this long fails (default 2000). */
  readonly timeoutMs?: number;
  /** The status that passes (default `'2xx'`). */
  readonly status?: ExpectedStatus;
  /** Consecutive passes that make an unhealthy upstream healthy again (default 1). */
  readonly passes?: number;
  /** Consecutive failures that make a healthy upstream unhealthy (default 1). */
  readonly fails?: number;
  /** Extra request headers (a `Host` here replaces the upstream's own). */
  readonly headers?: Readonly<Record<string, string>>;
}

/**
 * Passive checks: the outcomes of real requests (nginx `max_fails`/`fail_timeout`, Caddy
 * `max_fails`/`fail_duration`). On by default, ignored for a group of one upstream (as nginx
 * does: ejecting the only upstream helps nobody).
 */
export interface PassiveHealthOptions {
  /** Failed attempts in a row that eject the upstream (default 1, as nginx). */
  readonly maxFails?: number;
  /**
   * Failures further apart than this do not add up, and the first ejection lasts this long;
   * each ejection soon after the previous one lasts twice as long (default 10 000).
   */
  readonly failTimeoutMs?: number;
  /** The longest an ejection grows to (default 300 000). */
  readonly maxEjectMs?: number;
  /** An `ok` attempt slower than this counts as a failure (Caddy `unhealthy_latency`; off). */
  readonly slowMs?: number;
  /**
   * At most this share of the group (in percent, at least one upstream) is ejected at a time
   * (Envoy's `max_ejection_percent`; default 50): failures a client can provoke — a slow
   * endpoint timing out on every upstream it is retried on — cannot empty the group. Active
   * checks are not bounded by it.
   */
  readonly maxEjectedPercent?: number;
}

/**
 * The circuit breaker per upstream: it opens when, of the last `window` attempts (at least
 * `minRequests` of them), the share that failed reaches `failureRatio`; after `openMs` it lets one
 * probe request through (half-open), which closes it on success and opens it again on failure.
 * It catches an upstream that fails often but never `maxFails` times in a row.
 */
export interface BreakerOptions {
  /** Attempts remembered (default 20). */
  readonly window?: number;
  /** Attempts needed before the ratio counts (default 10). */
  readonly minRequests?: number;
  /** The failed share that opens it, in (0, 1] (default 0.5). */
  readonly failureRatio?: number;
  /**
   * How long it stays open before the probe (default 10 000). Keep it longer than the proxy's
   * response timeout: the first outcome reported after the probe is handed out decides.
   */
  readonly openMs?: number;
}

/** What a health check found: passed, and a short reason for logs when not. */
export interface ProbeResult {
  readonly ok: boolean;
  readonly reason: string;
}

/** The active check itself; the default one GETs `uri` over node:http(s). */
export type HealthProbe = (upstream: Upstream, signal: AbortSignal) => Promise<ProbeResult>;

/** Called when an upstream's `state` changes, with a reason for the log. */
export type StateListener = (upstream: Upstream, state: UpstreamState, reason: string) => void;

/** One upstream's numbers for metrics (a gauge per upstream). */
export interface UpstreamSnapshot {
  readonly id: string;
  readonly state: UpstreamState;
  readonly available: boolean;
  readonly active: number;
  /** Passive ejections so far. */
  readonly ejections: number;
  /** Times the breaker opened so far. */
  readonly breakerOpens: number;
}
