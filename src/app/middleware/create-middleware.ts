import type { Context } from '../context.ts';
import type { Middleware, MiddlewareResult, Next, Typed, Variables } from '../types.ts';

/**
 * A middleware that declares the variables it sets: what `createMiddleware<Vars>()` returns.
 * Any app accepts it; a route given it, and an app it was `use`d on in a chain, see `Vars` in
 * `c.get()`.
 */
export type TypedMiddleware<Vars extends Variables> = Middleware<string, {}, {}> & Typed<{}, Vars>;

/**
 * Typed middleware: `Vars` declares the per-request values it sets (and may read), so `c.set()`
 * inside it is checked, and handlers downstream get `c.get()` typed. At run time it is the function
 * given, unchanged.
 *
 * Handlers see the variables when the middleware is in their route (`app.get(path, auth, h)`),
 * when the app was built in a chain (`new App().use(auth)`), or when the app declares them
 * (`new App<{ user: User }>()`); `app.use(auth)` as a statement cannot change the type of `app`.
 *
 * @example
 * const auth = createMiddleware<{ user: User }>(async (c, next) => {
 *   const user = await findUser(c.req.headers.get('authorization'));
 *   if (user === undefined) throw new HttpError(401, 'Sign in first');
 *   c.set('user', user);
 *   await next();
 * });
 * app.get('/me', auth, (c) => c.json(c.get('user')));
 */
export function createMiddleware<Vars extends Variables = {}>(
  middleware: (
    c: Context<string, Vars>,
    next: Next,
  ) => MiddlewareResult | Promise<MiddlewareResult> | void | Promise<void>,
): TypedMiddleware<Vars> {
  return middleware as TypedMiddleware<Vars>;
}
