/**
 * Upstream groups: which upstream answers the next proxied request, and what is known about
 * each one's health. This file is the contract between the proxy (src/proxy/*.ts) and the
 * balancing algorithms, health checks and circuit breakers (src/proxy/balance/*). The
 * implementation below is a placeholder round robin that the balance work replaces, keeping
 * these exported names and shapes.
 */

/** One upstream server: an origin (`http://host:port`) and what the group knows of it. */
export interface Upstream {
  /** A stable id for logs and metrics: the origin as given (`http://127.0.0.1:3001`). */
  readonly id: string;
  /** The upstream's origin URL (scheme, host, port; a path prefix is allowed). */
  readonly url: URL;
  /** Relative weight (1 by default) for the weighted algorithm. */
  readonly weight: number;
  /** Requests in flight to this upstream (kept by `begin`/`end`). */
  readonly active: number;
  /** Whether it takes new requests (health checks passing, not ejected, breaker closed). */
  readonly available: boolean;
}

/** What the balancer may read of the request being placed (for consistent hashing). */
export interface PickContext {
  /** The client address as the edge resolved it. */
  readonly remote: string;
  /** A request header (lower-case name), or undefined. */
  header(name: string): string | undefined;
  /** A request cookie, or undefined. */
  cookie(name: string): string | undefined;
}

/** How one proxied attempt ended, as the proxy reports it to the group. */
export type Outcome = 'ok' | 'connect-error' | 'reset' | 'timeout' | 'server-error';

export type BalanceAlgorithm =
  | 'round-robin'
  | 'weighted'
  | 'least-connections'
  | { readonly hash: 'header' | 'cookie'; readonly name: string }
  | { readonly hash: 'client' };

export interface UpstreamSpec {
  readonly url: string | URL;
  readonly weight?: number;
}

export interface UpstreamGroupOptions {
  /** The group's name in logs and metrics (`default` when omitted). */
  readonly name?: string;
  readonly upstreams: readonly (string | URL | UpstreamSpec)[];
  readonly balance?: BalanceAlgorithm;
  /** Retries of idempotent requests on another upstream after a connect failure or reset. */
  readonly retry?: { readonly attempts?: number; readonly withinMs?: number } | false;
}

/** A named set of upstreams and the algorithm that chooses between them. */
export class UpstreamGroup {
  readonly name: string;
  readonly upstreams: readonly Upstream[];
  /** How many further attempts an idempotent request may make, and within how long. */
  readonly retry: { readonly attempts: number; readonly withinMs: number };
  #next = 0;

  constructor(options: UpstreamGroupOptions) {
    this.name = options.name ?? 'default';
    this.upstreams = options.upstreams.map((spec) => {
      const raw = typeof spec === 'string' || spec instanceof URL ? { url: spec } : spec;
      const url = new URL(raw.url);
      return new PlaceholderUpstream(url.origin, url, raw.weight ?? 1);
    });
    const retry = options.retry === false ? { attempts: 0, withinMs: 0 } : options.retry;
    this.retry = { attempts: retry?.attempts ?? 2, withinMs: retry?.withinMs ?? 10_000 };
  }

  /** The upstream for the next attempt, skipping `exclude`; undefined when none is available. */
  pick(_ctx: PickContext, exclude?: ReadonlySet<Upstream>): Upstream | undefined {
    const list = this.upstreams;
    for (let i = 0; i < list.length; i++) {
      const u = list[(this.#next + i) % list.length]!;
      if (u.available && exclude?.has(u) !== true) {
        this.#next = (this.#next + i + 1) % list.length;
        return u;
      }
    }
    return undefined;
  }

  /** An attempt to `upstream` starts. */
  begin(upstream: Upstream): void {
    (upstream as PlaceholderUpstream).active++;
  }

  /** An attempt to `upstream` ended with `outcome` after `ms` milliseconds. */
  end(upstream: Upstream, _outcome: Outcome, _ms: number): void {
    (upstream as PlaceholderUpstream).active--;
  }

  /** Starts active health checks (none in the placeholder). */
  start(): void {}

  /** Stops health checks and timers. */
  async close(): Promise<void> {}
}

class PlaceholderUpstream implements Upstream {
  active = 0;
  available = true;
  readonly id: string;
  readonly url: URL;
  readonly weight: number;
  constructor(id: string, url: URL, weight: number) {
    this.id = id;
    this.url = url;
    this.weight = weight;
  }
}
