import type { Context } from './context.ts';
import { AppError } from './errors.ts';
import type { HandlerResult } from './types.ts';

/**
 * The onion. A chain is middleware `(c, next)` followed by handlers `(c)`; a function that
 * declares two parameters is middleware. `next()` runs the rest and resolves to its response,
 * which is also left in `c.res` for code after `await next()` to change or replace. A
 * middleware's own return value, if it is not `undefined`, becomes the response (that is how it
 * short-circuits). Errors propagate outward through `next()`.
 *
 * Synchronous work stays synchronous: a handler that returns a response, and a middleware that
 * returns `next()` as it got it (`(c, next) => { c.header(...); return next(); }`), make no
 * promise anyone waits for, so a chain of them answers in the same tick. Built-in middleware
 * whose work is synchronous is marked so that the chain runs it without a `next` closure
 * (`beforeMiddleware`: work before the rest only) or without a promise when the rest was
 * synchronous (`aroundMiddleware`: work before and after). Each of these was measured against the
 * promise-per-step version (bench/README.md, "api").
 */

// biome-ignore lint/suspicious/noExplicitAny: the chain holds functions typed per route.
export type ChainFn = (c: any, next: () => Promise<Response>) => unknown;

/** Work before and after the rest of the chain, both synchronous (see `aroundMiddleware`). */
export interface AroundHooks<S> {
  /** Runs before the rest of the chain; its result is handed to `after`. */
  before(c: Context): S;
  /** Runs once the rest of the chain has answered (not when it threw), with its response. */
  after(c: Context, res: Response, state: S): void;
}

/** Work before the rest of the chain; a response it returns answers instead of the rest. */
export type BeforeHook = (c: Context) => Response | undefined;

const kind = {
  handler: 0,
  middleware: 1,
  around: 2,
  before: 3,
} as const;

/** One function of a chain, classified once when the route is compiled, not per request. */
export interface Step {
  readonly kind: 0 | 1 | 2 | 3;
  readonly fn: ChainFn;
  // biome-ignore lint/suspicious/noExplicitAny: the state type is each middleware's own.
  readonly hooks: AroundHooks<any> | undefined;
  readonly before: BeforeHook | undefined;
}

const AROUND = new WeakMap<ChainFn, AroundHooks<unknown>>();
const BEFORE = new WeakMap<ChainFn, BeforeHook>();

/**
 * A middleware that only does synchronous work before the rest of the chain, or answers in its
 * place (a CORS preflight). Called as a plain `(c, next)` middleware it is
 * `before(c) ?? next()`; inside an app's chain it costs neither a `next` closure nor a promise.
 */
export function beforeMiddleware(
  before: BeforeHook,
): (c: Context, next: () => Promise<Response>) => Response | Promise<Response> {
  const fn = (c: Context, next: () => Promise<Response>): Response | Promise<Response> => before(c) ?? next();
  BEFORE.set(fn, before);
  return fn;
}

/**
 * A middleware that does synchronous work before and after the rest of the chain. Called as a
 * plain `(c, next)` middleware it is `before; await next(); after`; inside an app's chain it runs
 * without a promise of its own when the rest of the chain answers synchronously. Errors from the
 * rest skip `after`, as they skip code after `await next()`.
 */
export function aroundMiddleware<S>(
  hooks: AroundHooks<S>,
): (c: Context, next: () => Promise<Response>) => Promise<void> {
  const { before, after } = hooks;
  const fn = async (c: Context, next: () => Promise<Response>): Promise<void> => {
    const state = before(c);
    after(c, await next(), state);
  };
  AROUND.set(fn, hooks as AroundHooks<unknown>);
  return fn;
}

/** Classifies the functions of a chain (once per route; a 404 chain, once per request). */
export function compileChain(fns: readonly ChainFn[]): Step[] {
  return fns.map((fn) => {
    const hooks = AROUND.get(fn);
    if (hooks !== undefined) return { kind: kind.around, fn, hooks, before: undefined };
    const before = BEFORE.get(fn);
    if (before !== undefined) return { kind: kind.before, fn, hooks: undefined, before };
    return { kind: fn.length < 2 ? kind.handler : kind.middleware, fn, hooks: undefined, before: undefined };
  });
}

export function dispatch(c: Context, chain: readonly Step[], i: number): Response | Promise<Response> {
  const step = chain[i];
  if (step === undefined) throw AppError.endOfChain(c.req.method, c.routePath);
  if (step.kind === kind.handler) {
    const out = (step.fn as (c: Context) => unknown)(c);
    if (out instanceof Promise) return out.then((value) => toResponse(c, value as HandlerResult, true));
    return toResponse(c, out as HandlerResult, true);
  }
  if (step.kind === kind.before) {
    const early = step.before!(c);
    return early === undefined ? dispatch(c, chain, i + 1) : toResponse(c, early, false);
  }
  if (step.kind === kind.around) return runAround(c, chain, i, step.hooks!);
  return runMiddleware(c, chain, i, step.fn);
}

function runAround(
  c: Context,
  chain: readonly Step[],
  i: number,
  hooks: AroundHooks<unknown>,
): Response | Promise<Response> {
  const state = hooks.before(c);
  const down = dispatch(c, chain, i + 1);
  if (down instanceof Promise) {
    return down.then((res) => {
      hooks.after(c, res, state);
      // `after` may have replaced the response (c.header on immutable headers answers a copy).
      return c.res ?? res;
    });
  }
  hooks.after(c, down, state);
  return c.res ?? down;
}

function runMiddleware(
  c: Context,
  chain: readonly Step[],
  i: number,
  fn: ChainFn,
): Response | Promise<Response> {
  let called = false;
  // What next() handed out, and, when the rest answered synchronously, that answer.
  let downstream: Promise<Response> | undefined;
  let answered: Response | undefined;
  const next = (): Promise<Response> => {
    if (called) return Promise.reject(AppError.nextTwice(c.req.method, c.routePath));
    called = true;
    let result: Response | Promise<Response>;
    try {
      result = dispatch(c, chain, i + 1);
    } catch (err) {
      downstream = Promise.reject(err);
      return downstream;
    }
    // Whatever settles downstream has already left its response in c.res (toResponse and
    // afterMiddleware do), so the promise can be handed back as is.
    if (result instanceof Promise) downstream = result;
    else {
      answered = result;
      downstream = Promise.resolve(result);
    }
    return downstream;
  };
  const out = fn(c, next);
  // `(c, next) => next()`-style middleware: its promise is the downstream one, already final,
  // and when the rest answered synchronously, so does this middleware.
  if (out === downstream) return answered ?? (out as Promise<Response>);
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
