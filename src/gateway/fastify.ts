import type { IncomingMessage, ServerResponse } from 'node:http';
import type { NodeHandler } from './node.ts';
import { nodeHandler } from './resolve-app.ts';

/** What `fromFastify` needs of a Fastify instance (structural: strata does not depend on Fastify). */
export interface FastifyLike {
  /** Loads the plugins and routes; resolves once the instance can route (Fastify's `ready()`). */
  ready(): PromiseLike<unknown>;
  /** Fastify's documented router entry point: `fastify.routing(req, res)`. */
  routing(req: IncomingMessage, res: ServerResponse): void;
}

/**
 * A Fastify instance as a node `(req, res)` handler, for `serve()` and `strata serve`: Fastify is
 * not a request listener itself (it makes its own server on `listen()`), but its documented
 * `fastify.routing(req, res)` routes a request from any node:http server once `ready()` has
 * loaded its plugins. Requests that arrive before then wait for it; if it fails, they get a 500.
 * Do not call `app.listen()`: strata's server owns the socket.
 *
 * @example
 * const app = Fastify();
 * app.get('/hi', async () => ({ hi: 'there' }));
 * export default fromFastify(app);
 */
export function fromFastify(app: FastifyLike): NodeHandler {
  let ready = false;
  let failed: unknown;
  const loading = Promise.resolve(app.ready()).then(
    () => {
      ready = true;
    },
    (err: unknown) => {
      failed = err ?? new Error('fastify.ready() failed');
    },
  );
  const fail = (res: ServerResponse): void => {
    if (res.headersSent) {
      res.destroy();
      return;
    }
    res.writeHead(500, { 'content-type': 'text/plain; charset=utf-8', connection: 'close' });
    res.end('Internal Server Error\n');
  };
  return nodeHandler((req: IncomingMessage, res: ServerResponse) => {
    if (ready) {
      app.routing(req, res);
      return;
    }
    loading.then(() => {
      if (failed !== undefined) fail(res);
      else app.routing(req, res);
    });
  });
}
