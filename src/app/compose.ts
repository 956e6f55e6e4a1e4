import type { Context } from './context.ts';
import { AppError } from './errors.ts';
import type { HandlerResult } from './types.ts';

/**
 * The onion. A chain is middleware `(c, next)` followed by handlers `(c)`; a function that
 * declares two parameters is middleware. `next()` runs the rest and resolves to its response,
 * which is also left in `c.res` for code after `await next()` to change or replace. A
 * middleware's own return value, if it is not `undefined`, becomes the response (that is how it
 * short-circuits). Errors propagate outward through `next()`. Synchronous handlers stay
 * synchronous: no promise is made unless someone awaits.
 */

// biome-ignore lint/suspicious/noExplicitAny: the chain holds functions typed per route.
export type ChainFn = (c: any, next: () => Promise<Response>) => unknown;

export function dispatch(c: Context, chain: readonly ChainFn[], i: number): Response | Promise<Response> {
  const fn = chain[i];
  if (fn === undefined) throw AppError.endOfChain(c.req.method, c.routePath);
  if (fn.length < 2) {
    const out = (fn as (c: Context) => unknown)(c);
    if (out instanceof Promise) return out.then((value) => toResponse(c, value as HandlerResult, true));
    return toResponse(c, out as HandlerResult, true);
  }
  let called = false;
  let downstream: Promise<Response> | undefined;
  const next = (): Promise<Response> => {
    if (called) return Promise.reject(AppError.nextTwice(c.req.method, c.routePath));
    called = true;
    let result: Response | Promise<Response>;
    try {
      result = dispatch(c, chain, i + 1);
    } catch (err) {
      return Promise.reject(err);
    }
    // Whatever settles downstream has already left its response in c.res (toResponse and
    // afterMiddleware do), so the promise can be handed back as is.
    downstream = result instanceof Promise ? result : Promise.resolve(result);
    return downstream;
  };
  const out = fn(c, next);
  // `(c, next) => next()`-style middleware: its promise is the downstream one, already final.
  if (out === downstream) return out as Promise<Response>;
  if (out instanceof Promise) return out.then((value) => afterMiddleware(c, value as HandlerResult, called));
  return afterMiddleware(c, out as HandlerResult, called);
}

function afterMiddleware(c: Context, value: HandlerResult, calledNext: boolean): Response {
  if (value !== undefined) return toResponse(c, value, false);
  if (c.res !== undefined && calledNext) return c.res;
  throw AppError.noResponse(
    c.req.method,
    c.routePath,
    'a middleware returned nothing and did not call next()',
  );
}

/** A handler's return value as a Response: strings as text, other values as JSON. */
export function toResponse(c: Context, value: HandlerResult, fromHandler: boolean): Response {
  let res: Response;
  if (value instanceof Response) res = value;
  else if (typeof value === 'string') res = c.text(value);
  else if (value === undefined) {
    throw AppError.noResponse(
      c.req.method,
      c.routePath,
      fromHandler ? 'the handler returned undefined' : 'a middleware returned undefined',
    );
  } else res = c.json(value);
  c.res = res;
  return res;
}
