import { beforeMiddleware } from '../compose.ts';
import type { Context } from '../context.ts';
import { AppError } from '../errors.ts';
import type { Middleware } from '../types.ts';

/** Defaults of `cors()`; docs/app.md shows the same. */
export const CORS_DEFAULTS = {
  /** Seconds a preflight's answer is cached: one preflight per 10 minutes instead of one per request. */
  maxAge: 600,
} as const;

export interface CorsOptions {
  /**
   * Allowed origins: `*` (default), one origin, a list, or a function that returns the origin to
   * allow (or undefined to refuse). With `credentials`, `*` is refused at construction: name the
   * origins (a list or a function). The opaque origin `null` (sandboxed iframes, `file:` pages,
   * some redirects) is allowed only when a list names it: a function's `null` answer is a refusal.
   */
  origin?: string | string[] | ((origin: string, c: Context) => string | undefined);
  /** Methods allowed in preflight. Default GET, HEAD, PUT, PATCH, POST, DELETE. */
  methods?: string[];
  /** Request headers allowed in preflight. Default: echo `Access-Control-Request-Headers`. */
  allowHeaders?: string[];
  /** Response headers scripts may read. */
  exposeHeaders?: string[];
  credentials?: boolean;
  /**
   * Seconds a browser may cache a preflight's answer (`Access-Control-Max-Age`). Default 600;
   * browsers cap it (Chromium at 7200). 0 asks them not to cache it.
   */
  maxAge?: number;
}

/**
 * CORS (Fetch standard §3.2): answers preflights itself (204) and adds the response headers to
 * everything else. Responses vary by `Origin` whenever the answer depends on it.
 *
 * @example
 * app.use(cors({ origin: ['https://app.example.com'], credentials: true }));
 */
export function cors(options: CorsOptions = {}): Middleware {
  const methods = (options.methods ?? ['GET', 'HEAD', 'PUT', 'PATCH', 'POST', 'DELETE']).join(', ');
  const expose = options.exposeHeaders?.join(', ');
  const allowHeaders = options.allowHeaders?.join(', ');
  const credentials = options.credentials === true;
  const maxAgeSeconds = options.maxAge ?? CORS_DEFAULTS.maxAge;
  if (!Number.isInteger(maxAgeSeconds) || maxAgeSeconds < 0)
    throw new TypeError(`cors({ maxAge }) must be a whole number of seconds ≥ 0, got ${maxAgeSeconds}`);
  const maxAge = String(maxAgeSeconds);
  const origin = options.origin ?? '*';
  // Fetch §3.2.5: a credentialed response must name one origin; echoing whatever origin asked
  // would let any site (or `null`: a sandboxed iframe) read responses made with the user's
  // cookies. An explicit list or a function is required instead.
  if (credentials && origin === '*') throw AppError.corsCredentials(origin);
  const list = Array.isArray(origin) ? new Set(origin) : undefined;
  const wildcard = origin === '*' && !credentials;

  const allowOrigin = (requestOrigin: string | null, c: Context): string | undefined => {
    if (wildcard) return '*';
    if (requestOrigin === null) return undefined;
    if (typeof origin === 'function') {
      // `(o) => o` would reflect `null` too; allowing it takes a list that names it.
      const allowed = origin(requestOrigin, c);
      return allowed === 'null' || typeof allowed !== 'string' ? undefined : allowed;
    }
    if (Array.isArray(origin)) return list!.has(requestOrigin) ? requestOrigin : undefined;
    return origin;
  };

  // A simple request under `*` gets the same headers whatever it sends: no need to read Origin.
  const fixed: [string, string][] | undefined = wildcard ? [['access-control-allow-origin', '*']] : undefined;
  if (fixed !== undefined && expose !== undefined) fixed.push(['access-control-expose-headers', expose]);

  const preflight = (c: Context, allowed: string | undefined): Response => {
    const headers: Record<string, string> = { 'access-control-allow-methods': methods };
    if (allowed !== undefined) headers['access-control-allow-origin'] = allowed;
    if (!wildcard) headers.vary = 'Origin';
    if (credentials) headers['access-control-allow-credentials'] = 'true';
    const requested = allowHeaders ?? c.req.headers.get('access-control-request-headers');
    if (requested) {
      headers['access-control-allow-headers'] = requested;
      if (allowHeaders === undefined)
        headers.vary = wildcard ? 'Access-Control-Request-Headers' : 'Origin, Access-Control-Request-Headers';
    }
    headers['access-control-max-age'] = maxAge;
    return new Response(null, { status: 204, headers });
  };

  return beforeMiddleware((c) => {
    const isPreflight = c.req.method === 'OPTIONS' && c.req.headers.has('access-control-request-method');
    if (fixed !== undefined && !isPreflight) {
      for (let i = 0; i < fixed.length; i++) c.header(fixed[i]![0], fixed[i]![1]);
      return undefined;
    }
    const allowed = allowOrigin(c.req.headers.get('origin'), c);
    if (isPreflight) return preflight(c, allowed);
    if (allowed !== undefined) c.header('access-control-allow-origin', allowed);
    if (!wildcard) c.header('vary', 'Origin', { append: true });
    if (credentials && allowed !== undefined) c.header('access-control-allow-credentials', 'true');
    if (expose !== undefined && allowed !== undefined) c.header('access-control-expose-headers', expose);
    return undefined;
  }) as Middleware;
}
