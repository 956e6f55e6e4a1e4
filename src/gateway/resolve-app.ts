import { GatewayError } from './errors.ts';
import type { NodeHandler } from './node.ts';
import type { App, FetchHandler } from './types.ts';

/** What a module's export turned out to be. */
export type ResolvedApp = { kind: 'fetch'; app: App } | { kind: 'node'; handler: NodeHandler };

const kNodeHandler = Symbol.for('strata.nodeHandler');

/**
 * Marks a two-argument function as a node `(req, res)` handler. Needed only when the function
 * declares exactly two parameters, the one shape a fetch handler `(request, info)` shares;
 * Express and Connect apps, Koa apps and three-argument functions are recognised without it.
 *
 * @example
 * export default nodeHandler((req, res) => res.end('hi'));
 */
export function nodeHandler<T extends NodeHandler>(handler: T): T {
  Object.defineProperty(handler, kNodeHandler, { value: true });
  return handler;
}

/** The error of a two-parameter function that acted as a node handler while served as fetch. */
function servedAsFetch(source: string, what: string, cause?: unknown): GatewayError {
  return new GatewayError(
    'STRATA_ERR_BAD_RESPONSE',
    500,
    `${source} exports a function of two parameters, which is served as a fetch handler (request, info) => Response, and it ${what}. If it is a node (req, res) handler, mark it: \`export default nodeHandler(handler)\` (nodeHandler from 'strata-stack/gateway'), or \`export const kind = 'node'\` beside the default export`,
    false,
    cause === undefined ? undefined : { cause },
  );
}

function nodeLike(err: unknown): boolean {
  return err instanceof TypeError && err.message.includes('is not a function');
}

/**
 * A fetch handler of two parameters, checked for what a node `(req, res)` handler does when it
 * is given `(request, info)`: it returns nothing, or calls `res.end` / `res.setHeader` on the
 * ServeInfo and throws a TypeError. Those become a 500 whose error says how to mark the handler.
 */
function twoParameterFetch(fn: FetchHandler, source: string): FetchHandler {
  const settled = (value: Response): Response => {
    if (value === undefined) throw servedAsFetch(source, 'resolved to undefined instead of a Response');
    return value;
  };
  const failed = (err: unknown): never => {
    throw nodeLike(err) ? servedAsFetch(source, `threw ${String(err)}`, err) : err;
  };
  return function fetch(request, info) {
    let result: Response | Promise<Response>;
    try {
      result = fn(request, info);
    } catch (err) {
      return failed(err);
    }
    if (result === undefined) throw servedAsFetch(source, 'returned undefined instead of a Response');
    if (result instanceof Promise) return result.then(settled, failed);
    return result;
  };
}

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (value === undefined) return 'undefined (is there an `export default`?)';
  if (typeof value === 'object') return `an object with keys [${Object.keys(value).join(', ')}]`;
  return typeof value;
}

/**
 * Decides how to serve a value: an object with `fetch` is a strata app; a Koa app (`callback()`)
 * and Express/Connect apps (functions with `handle` and `use`) are node handlers; a function is a
 * node handler if marked with `nodeHandler` or declaring three or more parameters, and a fetch
 * handler otherwise. A bare `(req, res)` function is therefore served as fetch: mark it with
 * `nodeHandler` (`strata serve` also honours `export const kind = 'node'` in its module); if it
 * is not marked and acts as a node handler, its 500 says so.
 */
export function resolveApp(value: unknown, source = 'the app'): ResolvedApp {
  if (typeof value === 'object' && value !== null) {
    const candidate = value as Partial<App> & { callback?: () => NodeHandler };
    if (typeof candidate.fetch === 'function') return { kind: 'fetch', app: candidate as App };
    if (typeof candidate.callback === 'function') return { kind: 'node', handler: candidate.callback() };
  }
  if (typeof value === 'function') {
    const fn = value as Function & { handle?: unknown; use?: unknown; [kNodeHandler]?: boolean };
    if (
      fn[kNodeHandler] === true ||
      fn.length >= 3 ||
      (typeof fn.handle === 'function' && typeof fn.use === 'function')
    ) {
      return { kind: 'node', handler: fn as NodeHandler };
    }
    const fetch = fn as FetchHandler;
    // `(req, res) => …` and `(request, info) => …` look alike: serve it as fetch (the documented
    // rule), but say how to mark it when it behaves like a node handler.
    return { kind: 'fetch', app: { fetch: fn.length === 2 ? twoParameterFetch(fetch, source) : fetch } };
  }
  throw new GatewayError(
    'STRATA_ERR_BAD_APP',
    500,
    `${source} exports ${describe(value)}; expected an app with a fetch() method, a fetch function (request) => Response, or a node handler (an Express, Connect or Koa app, or a (req, res) function marked with nodeHandler())`,
    false,
  );
}
