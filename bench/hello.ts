/**
 * hello: a bare fetch app answering {"hello":"world"} — the cost of the gateway itself.
 * Floor (issue 2): strata's CPU per request at most 1.10× raw node:http.
 */
import { nodeTarget as node, type Scenario } from './lib/harness.ts';

export const scenario: Scenario = {
  name: 'hello',
  description: 'GET / → {"hello":"world"} as application/json',
  path: '/',
  baseline: 'node:http',
  subject: 'strata',
  targets: [
    node('node:http', 'hello-node-http.ts'),
    node('strata', 'hello-strata.ts'),
    // The access log's cost: the same server writing combined / JSON lines to a file in /tmp.
    node('strata+accesslog', 'hello-strata.ts', { ACCESS_LOG: 'combined' }),
    node('strata+accesslog-json', 'hello-strata.ts', { ACCESS_LOG: 'json' }),
    // The edge rate limit's cost: a limit no request reaches, so every request is checked and passes.
    node('strata+ratelimit', 'hello-strata.ts', { RATE_LIMIT: '1000000000/1s' }),
    node('fastify', 'hello-fastify.ts'),
    node('hono', 'hello-hono.ts'),
    node('express', 'hello-express.ts'),
    node('naive-adapter', 'hello-naive.ts'),
  ],
  floors: [{ vs: 'node:http', max: 1.1 }],
};
