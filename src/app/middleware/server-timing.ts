import { aroundMiddleware } from '../compose.ts';
import type { Middleware } from '../types.ts';

const now = performance.now.bind(performance);

/**
 * Adds `Server-Timing: total;dur=<ms>` (W3C Server Timing) to every response: the time the
 * rest of the chain took, in milliseconds to a tenth. Not added when the rest of the chain
 * throws (the error answer is made further out).
 *
 * @example
 * app.use(serverTiming());
 */
export function serverTiming(): Middleware {
  return aroundMiddleware<number>({
    before: now,
    after(c, _res, start) {
      // Through c.header: a fetch() result's headers are immutable, and c.header answers a copy.
      c.header('server-timing', `total;dur=${tenths(now() - start)}`, { append: true });
    },
  }) as Middleware;
}

/** `12.3`, `0.4`, `2`: a tenth of a millisecond is the resolution browsers show. */
function tenths(ms: number): number {
  return Math.round(ms * 10) / 10;
}
