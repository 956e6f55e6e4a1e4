import { beforeMiddleware } from '../compose.ts';
import type { Context } from '../context.ts';
import type { Next } from '../types.ts';
import { type RouteDescription, withOpenApi } from './marker.ts';

const pass = (): undefined => undefined;

/**
 * Route metadata for the OpenAPI document: summary, tags, responses, operationId, `hidden`.
 * A middleware that does nothing at request time (it runs as a synchronous step, without a
 * promise); put it anywhere in the route's chain.
 *
 * @example
 * app.get(
 *   '/users/:id',
 *   describeRoute({ summary: 'One user', tags: ['users'], responses: { 200: User, 404: 'No such user' } }),
 *   validate({ params: z.object({ id: z.string() }) }),
 *   (c) => c.json(users.get(c.params.id)),
 * );
 */
export function describeRoute(
  description: RouteDescription,
): (c: Context, next: Next) => Response | Promise<Response> {
  return withOpenApi(beforeMiddleware(pass), { describe: description });
}
