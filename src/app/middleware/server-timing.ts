import type { Middleware } from '../types.ts';

/**
 * Adds `Server-Timing: total;dur=<ms>` (W3C Server Timing) to every response: the time the
 * rest of the chain took.
 *
 * @example
 * app.use(serverTiming());
 */
export function serverTiming(): Middleware {
  return async (_c, next) => {
    const start = performance.now();
    const res = await next();
    res.headers.append('server-timing', `total;dur=${(performance.now() - start).toFixed(1)}`);
  };
}
