import { addressKey } from '../../gateway/rate-limit/address-key.ts';
import type { RateLimitDecision } from '../../gateway/rate-limit/gcra.ts';
import { retryAfterSeconds } from '../../gateway/rate-limit/headers.ts';
import { RateLimiter, type RateLimiterOptions } from '../../gateway/rate-limit/limiter.ts';
import type { Context } from '../context.ts';
import { HttpError } from '../http-error.ts';
import type { Middleware, Next } from '../types.ts';

/** Options of `rateLimit()`. */
export interface RateLimitOptions extends RateLimiterOptions {
  /**
   * Whose budget a request spends. `address` (default): the client address the server resolved
   * (`c.info.remote.address`, through `trustProxy` only), an IPv6 client by its /64. Or a
   * function: a user id, an API key, a tenant… — `undefined` from it falls back to the address.
   */
  key?: 'address' | ((c: Context) => string | undefined);
  /** Units a request spends (default 1): a number, or a function of the request (0 only peeks). */
  cost?: number | ((c: Context) => number);
  /** Send `RateLimit-Policy` and `RateLimit` on every response, not only on 429. Default true. */
  headers?: boolean;
  /**
   * When the store fails (Redis away, no answer from the primary): let the request through
   * (`true`) or answer 500 (`false`, the default: a limiter that fails open is off under attack).
   */
  failOpen?: boolean;
  /** The clock, in ms since the epoch (tests inject one). Default `Date.now`. */
  clock?: () => number;
}

function addressOf(c: Context): string {
  return addressKey(c.info.remote.address);
}

/**
 * Rate limiting per client, with the GCRA (the algorithm of nginx's `limit_req`): `limit`
 * requests per `window` sustained, bursts of up to `burst` (default `limit`). A request over the
 * budget gets a 429 problem+json with `Retry-After`; every response carries the
 * `RateLimit-Policy` and `RateLimit` fields of draft-ietf-httpapi-ratelimit-headers.
 *
 * The state lives in `store`: memory (default, this process), `ClusterRateLimitStore` (the
 * workers of `strata serve --workers N`), `RedisRateLimitStore` (many machines).
 *
 * @example
 * app.use(rateLimit({ limit: 100, window: '1m' }));                       // per client address
 * app.post('/login', rateLimit({ limit: 5, window: '15m', name: 'login' }), login);
 * app.use('/api/*', rateLimit({ limit: 1000, window: '1h', key: (c) => c.req.headers.get('x-api-key') ?? undefined }));
 */
export function rateLimit(options: RateLimitOptions): Middleware {
  const limiter = new RateLimiter(options);
  const key = options.key ?? 'address';
  if (key !== 'address' && typeof key !== 'function')
    throw new TypeError(`rateLimit: key must be "address" or a function, got ${String(key)}`);
  const keyOf = key === 'address' ? addressOf : (c: Context): string => `k:${key(c) ?? `a:${addressOf(c)}`}`;
  const cost = options.cost ?? 1;
  if (typeof cost === 'number') checkCost(cost);
  const costOf = typeof cost === 'number' ? undefined : cost;
  const headers = options.headers !== false;
  const failOpen = options.failOpen === true;
  const clock = options.clock ?? Date.now;
  const policyField = limiter.policyField;

  const decide = (c: Context, next: Next, decision: RateLimitDecision): Promise<Response> => {
    if (!decision.allowed) {
      const fields: Record<string, string> = {
        'retry-after': String(retryAfterSeconds(decision)),
        'ratelimit-policy': policyField,
        ratelimit: limiter.field(decision),
      };
      throw new HttpError(429, 'Too many requests: retry after the time in Retry-After', {
        headers: fields,
      });
    }
    if (headers) {
      c.header('ratelimit-policy', policyField);
      c.header('ratelimit', limiter.field(decision));
    }
    return next();
  };

  return (c, next) => {
    const units = costOf === undefined ? (cost as number) : costOf(c);
    if (costOf !== undefined) checkCost(units);
    let decision: RateLimitDecision | Promise<RateLimitDecision>;
    try {
      decision = limiter.consume(keyOf(c), units, clock());
    } catch (err) {
      if (failOpen) return next();
      throw err;
    }
    if (!(decision instanceof Promise)) return decide(c, next, decision);
    return decision.then(
      (d) => decide(c, next, d),
      (err: unknown) => {
        if (failOpen) return next();
        throw err;
      },
    );
  };
}

function checkCost(cost: number): void {
  if (!Number.isInteger(cost) || cost < 0)
    throw new RangeError(`rateLimit: cost must be a non-negative integer, got ${cost}`);
}
