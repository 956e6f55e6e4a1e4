/**
 * The router's error catalogue: every way `Router#add` can refuse a route, each with a stable
 * code and a message that names the offending route and says how to fix it. Lookups never
 * throw these; they answer `null` or `MALFORMED` instead.
 */
import { AppError } from '../errors.ts';

/** The codes a {@link RouteError} can carry. */
export type RouteErrorCode =
  | 'STRATA_ERR_ROUTE_CONFLICT'
  | 'STRATA_ERR_ROUTE_INVALID'
  | 'STRATA_ERR_ROUTE_PATTERN_UNSAFE';

/**
 * A route the router refuses at registration: two routes that would answer the same requests
 * (`STRATA_ERR_ROUTE_CONFLICT`), a path it cannot parse (`STRATA_ERR_ROUTE_INVALID`), or a
 * param pattern it cannot compile to a linear-time matcher (`STRATA_ERR_ROUTE_PATTERN_UNSAFE`).
 *
 * @example
 * try {
 *   router.add('GET', '/users/:name', showUser);
 * } catch (err) {
 *   if (err instanceof RouteError && err.code === 'STRATA_ERR_ROUTE_CONFLICT') console.error(err.message);
 * }
 */
export class RouteError extends AppError {
  declare readonly code: RouteErrorCode;

  constructor(code: RouteErrorCode, message: string) {
    super(code, message);
    this.name = 'RouteError';
  }

  /** Two routes of one method that match the same requests. */
  static conflict(method: string, route: string, existing: string, why: string): RouteError {
    return new RouteError(
      'STRATA_ERR_ROUTE_CONFLICT',
      `Route ${method} ${route} conflicts with ${method} ${existing}: ${why}; remove one of them, or make their paths differ by a static segment`,
    );
  }

  /** A route path the router cannot parse. */
  static invalid(route: string, why: string, fix: string): RouteError {
    return new RouteError('STRATA_ERR_ROUTE_INVALID', `Route ${route}: ${why}; ${fix}`);
  }

  /** A param pattern outside the supported subset, or too large to compile to a DFA. */
  static unsafePattern(route: string, source: string, why: string): RouteError {
    return new RouteError(
      'STRATA_ERR_ROUTE_PATTERN_UNSAFE',
      `Route ${route}: pattern {${source}} ${why}; param patterns are compiled to an automaton that tests a segment in one step per character, so they may use characters, classes, groups, alternation and quantifiers, but no backreferences, lookarounds, anchors or \\b, and must stay small (see "Param patterns" in docs/app.md)`,
    );
  }
}
