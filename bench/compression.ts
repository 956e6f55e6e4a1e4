/**
 * compression: a ~10 KB JSON response with compression on, CPU per request per coding, all
 * clients sending `Accept-Encoding: gzip, deflate, br, zstd` (each strata target offers one
 * coding). Against strata with compression off and raw node:http (identity, and a bare
 * gzipSync). Fastify + @fastify/compress is not installed, so it is not a target.
 * No floor: the figures are for choosing levels and for the docs.
 */
import { nodeTarget, type Scenario } from './lib/harness.ts';

const strata = (name: string, coding: string, kind = 'fetch') =>
  nodeTarget(name, 'compression-strata.ts', { CODING: coding, KIND: kind });

export const scenario: Scenario = {
  name: 'compression',
  description: 'GET / → ~10 KB JSON, Accept-Encoding: gzip, deflate, br, zstd',
  path: '/',
  headers: ['accept-encoding: gzip, deflate, br, zstd'],
  baseline: 'node:http',
  subject: 'strata zstd',
  targets: [
    nodeTarget('node:http', 'compression-node-http.ts'),
    nodeTarget('node:http gzipSync', 'compression-node-http.ts', { GZIP: '1' }),
    strata('strata off', 'off'),
    strata('strata zstd', 'zstd'),
    strata('strata br', 'br'),
    strata('strata gzip', 'gzip'),
    strata('strata deflate', 'deflate'),
    strata('strata node-app gzip', 'gzip', 'node'),
  ],
};
