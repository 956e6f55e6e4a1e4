/**
 * post: a 70-byte JSON POST, validated, answered with a small JSON body — the cost of a request
 * with a body. strata with zod through `validate()`, Fastify with its compiled JSON schema, raw
 * node:http reading the body and checking it by hand.
 * Floor (issue "Edge core"): strata's CPU per request at most 0.80× Fastify's.
 */
import { nodeTarget as node, type Scenario } from './lib/harness.ts';

/** 70 bytes. */
export const POST_BODY = '{"name":"Ada Lovelace","email":"ada@example.io","age":36,"admin":true}';

export const scenario: Scenario = {
  name: 'post',
  description: `POST /users with a ${Buffer.byteLength(POST_BODY)}-byte JSON body, validated → 201 JSON`,
  path: '/users',
  body: POST_BODY,
  headers: ['content-type: application/json'],
  baseline: 'node:http',
  subject: 'strata',
  targets: [
    node('node:http', 'post-node-http.ts'),
    node('strata', 'post-strata.ts'),
    node('fastify', 'post-fastify.ts'),
  ],
  floors: [{ vs: 'fastify', max: 0.8 }],
};
