import { UpstreamGroup, type UpstreamGroupOptions } from './balance/index.ts';

/**
 * The proxy's options, with their defaults in one place (docs/proxy.md shows the same table).
 * Timeouts are the upstream's: the client's own are the server's (`headersTimeout`,
 * `idleTimeout`, …).
 */
export const PROXY_DEFAULTS = {
  /** Time to open a TCP connection to an upstream, in ms (nginx `proxy_connect_timeout`). */
  connectTimeout: 5_000,
  /** Time from the request sent to the upstream's response head, in ms (nginx `proxy_read_timeout` for the head); 504 after it. */
  headersTimeout: 60_000,
  /** Upstream inactivity tolerated while its response body streams, in ms (nginx `proxy_read_timeout`; 0: none). */
  idleTimeout: 60_000,
  /** How long an idle upstream connection is kept for reuse, in ms (nginx `keepalive_timeout` in `upstream`). */
  keepAliveTimeout: 4_000,
  /** Most connections to one upstream (nginx `keepalive` holds idle ones; this caps all). */
  connections: 256,
  /** `pass`: the client's Host goes to the upstream; `upstream`: the upstream's own host:port (nginx `proxy_set_header Host $proxy_host`). */
  host: 'pass',
  /** The name in the `Via` header added both ways (RFC 9110 §7.6.3); `false`: none. */
  via: 'strata',
} as const;

/** Where a proxied request goes: a path prefix and/or a host, to a group by name. */
export interface ProxyRouteOptions {
  /**
   * A path prefix: `/api` takes `/api`, `/api/…` and `/api?…`, not `/apix`. Default `/` (every
   * path).
   */
  readonly path?: string;
  /** A host name (`api.example.com`, or `*.example.com`), without port; default any host. */
  readonly host?: string;
  /** The group's `name`. */
  readonly to: string;
  /** Remove the prefix before forwarding (`/api/users` → `/users`); default false. */
  readonly stripPath?: boolean;
}

/** A group in `proxy.groups`: an upstream group's options with its name, or a group made in code. */
export type ProxyGroupOption = (UpstreamGroupOptions & { readonly name: string }) | UpstreamGroup;

/**
 * `serve()`'s `proxy` option: upstream groups and the routes that lead to them. Proxy routes are
 * asked before static files and the app.
 *
 * @example
 * await serve(app, {
 *   proxy: {
 *     groups: [{ name: 'api', upstreams: ['http://10.0.0.1:8080', 'http://10.0.0.2:8080'] }],
 *     routes: [{ path: '/api', to: 'api' }],
 *   },
 * });
 */
export interface ProxyOptions {
  readonly groups: readonly ProxyGroupOption[];
  readonly routes: readonly ProxyRouteOptions[];
  readonly connectTimeout?: number;
  readonly headersTimeout?: number;
  readonly idleTimeout?: number;
  readonly keepAliveTimeout?: number;
  readonly connections?: number;
  readonly host?: 'pass' | 'upstream';
  readonly via?: string | false;
}

/** The options with their defaults, checked. */
export interface ResolvedProxyOptions {
  connectTimeout: number;
  headersTimeout: number;
  idleTimeout: number;
  keepAliveTimeout: number;
  connections: number;
  host: 'pass' | 'upstream';
  via: string | false;
}

const VIA_NAME = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;

/** Merges `options` over `PROXY_DEFAULTS`, naming the bad option. */
export function resolveProxyOptions(options: Partial<ProxyOptions>, where = 'proxy'): ResolvedProxyOptions {
  const out: ResolvedProxyOptions = {
    connectTimeout: PROXY_DEFAULTS.connectTimeout,
    headersTimeout: PROXY_DEFAULTS.headersTimeout,
    idleTimeout: PROXY_DEFAULTS.idleTimeout,
    keepAliveTimeout: PROXY_DEFAULTS.keepAliveTimeout,
    connections: PROXY_DEFAULTS.connections,
    host: PROXY_DEFAULTS.host,
    via: PROXY_DEFAULTS.via,
  };
  for (const key of [
    'connectTimeout',
    'headersTimeout',
    'idleTimeout',
    'keepAliveTimeout',
    'connections',
  ] as const) {
    const value = options[key];
    if (value === undefined) continue;
    if (!Number.isInteger(value) || value < 0 || (key === 'connections' && value < 1))
      throw new TypeError(`${where}.${key} must be a non-negative integer, got ${String(value)}`);
    out[key] = value;
  }
  if (options.host !== undefined) {
    if (options.host !== 'pass' && options.host !== 'upstream')
      throw new TypeError(`${where}.host must be 'pass' or 'upstream', got ${String(options.host)}`);
    out.host = options.host;
  }
  if (options.via !== undefined) {
    if (options.via !== false && (typeof options.via !== 'string' || !VIA_NAME.test(options.via)))
      throw new TypeError(
        `${where}.via must be a token (such as 'strata') or false, got ${String(options.via)}`,
      );
    out.via = options.via;
  }
  return out;
}

/** The groups of `proxy.groups` by name (a group given as options is made here). */
export function groupsByName(groups: readonly ProxyGroupOption[]): Map<string, UpstreamGroup> {
  const out = new Map<string, UpstreamGroup>();
  for (const option of groups) {
    const group = option instanceof UpstreamGroup ? option : new UpstreamGroup(option);
    if (out.has(group.name))
      throw new TypeError(`proxy.groups: two groups are named ${JSON.stringify(group.name)}`);
    if (group.upstreams.length === 0)
      throw new TypeError(`proxy.groups: group ${JSON.stringify(group.name)} has no upstreams`);
    for (const u of group.upstreams) {
      if (u.url.protocol !== 'http:')
        throw new TypeError(
          `proxy.groups: upstream ${u.id} of group ${JSON.stringify(group.name)} must be an http:// URL (TLS to upstreams is not supported yet)`,
        );
    }
    out.set(group.name, group);
  }
  return out;
}
