import type { UpstreamGroup } from './balance/index.ts';
import type { ProxyRouteOptions } from './options.ts';

/** One proxy route, ready to match. */
export class ProxyRoute {
  /** The prefix without a trailing slash (`''` for `/`). */
  readonly prefix: string;
  /** A lowercase host, `.example.com` for `*.example.com`, or undefined for any. */
  readonly host: string | undefined;
  readonly group: UpstreamGroup;
  readonly stripPath: boolean;

  constructor(options: ProxyRouteOptions, group: UpstreamGroup) {
    const path = options.path ?? '/';
    if (!path.startsWith('/') || /[?#%]/.test(path))
      throw new TypeError(
        `proxy.routes: path must be a plain path starting with "/", got ${JSON.stringify(path)}`,
      );
    this.prefix = path.replace(/\/+$/, '');
    const host = options.host?.toLowerCase();
    if (host !== undefined && !/^(?:\*\.)?[a-z0-9.-]+$/.test(host))
      throw new TypeError(
        `proxy.routes: host must be a host name or *.name without port, got ${JSON.stringify(options.host)}`,
      );
    this.host = host?.startsWith('*.') === true ? host.slice(1) : host;
    this.group = group;
    this.stripPath = options.stripPath === true;
  }

  /** Whether `path` (without query) is this route's prefix or under it. */
  matchesPath(path: string): boolean {
    const prefix = this.prefix;
    if (prefix === '') return true;
    if (!path.startsWith(prefix)) return false;
    const next = path.charCodeAt(prefix.length);
    return Number.isNaN(next) || next === 47 /* / */;
  }

  matchesHost(host: string | undefined): boolean {
    const want = this.host;
    if (want === undefined) return true;
    if (host === undefined) return false;
    let name = host.toLowerCase();
    const colon = name.lastIndexOf(':');
    if (colon !== -1 && !name.endsWith(']')) name = name.slice(0, colon);
    return want.startsWith('.') ? name.endsWith(want) && name.length > want.length : name === want;
  }

  /** The path and query to send upstream: the prefix stripped (when asked), under the upstream's own path. */
  upstreamPath(url: string, base: string): string {
    // The path the route matched, dot-segments resolved: the raw target's `..` would climb out
    // of the stripped prefix and the upstream's base path wherever the upstream resolves them.
    let path = matchedTarget(url);
    if (this.stripPath && this.prefix !== '') {
      path = path.slice(this.prefix.length);
      if (path === '' || path.charCodeAt(0) !== 47) path = `/${path}`;
    }
    return base === '/' || base === '' ? path : `${base.replace(/\/$/, '')}${path}`;
  }
}

/**
 * The proxy's routes, in order: the first whose host and path prefix match takes the request.
 * The path is matched as the upstream will read it: dot-segments (also `%2e`) resolved first,
 * so that `/static/../api/x` is not kept from the `/api` route, nor `/api/../admin` given to it.
 */
export class ProxyRouter {
  readonly routes: readonly ProxyRoute[];
  readonly #hosts: boolean;

  constructor(routes: readonly ProxyRoute[]) {
    this.routes = routes;
    this.#hosts = routes.some((r) => r.host !== undefined);
  }

  /** Whether any route looks at the Host (otherwise `match` needs none). */
  get needsHost(): boolean {
    return this.#hosts;
  }

  match(url: string, host: string | undefined): ProxyRoute | undefined {
    const path = matchPath(url);
    for (const route of this.routes) if (route.matchesHost(host) && route.matchesPath(path)) return route;
    return undefined;
  }
}

/**
 * The path of a request target as routes see it (query dropped, dot-segments resolved,
 * backslashes read as slashes).
 */
export function matchPath(url: string): string {
  const q = url.indexOf('?');
  const path = q === -1 ? url : url.slice(0, q);
  // A backslash is a slash to URL resolvers (WHATWG's among them): `\..\` climbs too.
  if (!path.includes('/.') && !path.includes('%') && !path.includes('\\')) return path;
  try {
    return new URL(`http://x${path}`).pathname;
  } catch {
    return path;
  }
}

/** A request target with its path as routes see it (`matchPath`), its query as it came. */
function matchedTarget(url: string): string {
  const q = url.indexOf('?');
  const path = q === -1 ? url : url.slice(0, q);
  const matched = matchPath(path);
  return matched === path ? url : q === -1 ? matched : `${matched}${url.slice(q)}`;
}
