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
 * handler otherwise.
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
    return { kind: 'fetch', app: { fetch } };
  }
  throw new GatewayError(
    'STRATA_ERR_BAD_APP',
    500,
    `${source} exports ${describe(value)}; expected an app with a fetch() method, a fetch function (request) => Response, or a node (req, res) handler`,
    false,
  );
}
