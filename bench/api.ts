/**
 * api: the 203 GitHub API routes registered, GET requests spread over the param routes, each
 * answering JSON, behind three middlewares (request id, CORS, a Server-Timing header) — strata
 * against Fastify and Hono with their equivalent plugins, and Express.
 * Floor (issue 3): strata's CPU per request at most 0.9× Fastify's.
 */
import { GITHUB_PARAM_PATHS } from './fixtures/github-routes.ts';
import { nodeTarget as node, type Scenario } from './lib/harness.ts';

export const scenario: Scenario = {
  name: 'api',
  description: '203 GitHub routes, GETs over the param routes, request id + CORS + timing middleware',
  path: '/users/ready',
  paths: GITHUB_PARAM_PATHS,
  headers: ['origin: https://app.example.com'],
  baseline: 'node:http',
  subject: 'strata',
  targets: [
    node('node:http', 'api-node-http.ts'),
    node('strata', 'api-strata.ts'),
    node('fastify', 'api-fastify.ts'),
    node('hono', 'api-hono.ts'),
    node('express', 'api-express.ts'),
  ],
  floors: [{ vs: 'fastify', max: 0.9 }],
};
