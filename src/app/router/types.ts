/** Param values by name, percent-decoded; the wildcard's value is under `*`. */
export type Params = Record<string, string>;

/** What a successful lookup answers. */
export interface RouteMatch<T> {
  /** The value registered with the route: a handler, a middleware chain, anything. */
  readonly value: T;
  /**
   * The params, percent-decoded. A fresh plain object per lookup for a route with params; for
   * a route without params, one shared frozen empty object (copy it before adding to it).
   */
  readonly params: Params;
  /** The route as registered, e.g. `/users/:id{[0-9]+}` (for logs, metrics and tracing). */
  readonly route: string;
}

/**
 * What a lookup answers for a path whose params hold malformed percent-encoding (`%E0%A4%A`,
 * a lone `%`): the route exists, but the request is bad. The app answers 400.
 *
 * @example
 * const found = router.find(request.method, pathname);
 * if (found === null) return new Response('Not Found', { status: 404 });
 * if (found === MALFORMED) return new Response('Bad Request', { status: 400 });
 * return found.value(found.params);
 */
export const MALFORMED: 'malformed' = 'malformed';

/** A lookup's answer: a match, `null` when no route matches, or `MALFORMED`. */
export type LookupResult<T> = RouteMatch<T> | typeof MALFORMED | null;

/**
 * The contract every strata router implements, and that the conformance suite
 * (`test/app/router/conformance.test.ts`) checks: any new router or optimisation passes it
 * unchanged.
 */
export interface HttpRouter<T> {
  /** Registers `value` for `method path`; throws `RouteError` on a conflict or a bad path. */
  add(method: string, path: string, value: T): void;
  /** The route for `method path`; `path` is the pathname, without the query string. */
  find(method: string, path: string): LookupResult<T>;
  /** The methods with a route matching `path`, for 405 `Allow` and automatic OPTIONS. */
  allowed(path: string): string[];
  /** `path` with its trailing slash toggled, when that form has a route for `method`; else `null`. */
  alternate(method: string, path: string): string | null;
}
