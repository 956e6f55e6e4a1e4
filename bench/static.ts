/**
 * static: a 13.6 KB file and a 1 MB file served by strata's static files, nginx (Debian
 * nginx-light, one worker, sendfile on), @fastify/static and express.static, same run.
 * Floors (edge issue): strata's CPU per request at most 2× nginx's for the small file and 1.5×
 * for the large one; with both access logs on, strata+log at most 1.3× nginx+log (small file).
 */
import { randomBytes } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { nodeTarget, type Scenario } from './lib/harness.ts';

const root = join(import.meta.dirname, 'results', 'static-root');
mkdirSync(root, { recursive: true });
// Text-like content for the small file (13.6 KB, as in the issue), random bytes for the large.
writeFileSync(
  join(root, 'small.css'),
  '.rule { color: #123456; margin: 0 auto; }\n'.repeat(324).slice(0, 13_600),
);
writeFileSync(join(root, 'large.bin'), randomBytes(1024 * 1024));

const env = { STATIC_ROOT: root };
const targets = [
  nodeTarget('nginx', 'static-nginx.ts', env),
  // tcp_nopush (TCP_CORK) is the usual production setting, but on loopback it doubled nginx's
  // CPU for the 1 MB file (239 vs 113 µs): the stronger reference is shown beside it.
  nodeTarget('nginx-nopush-off', 'static-nginx.ts', { ...env, NGINX_TCP_NOPUSH: 'off' }),
  nodeTarget('strata', 'static-strata.ts', env),
  nodeTarget('@fastify/static', 'static-fastify.ts', env),
  // Both with their access log on, to a file (the edge-core issue's floor: ≤ 1.3× nginx).
  nodeTarget('nginx+log', 'static-nginx.ts', { ...env, NGINX_ACCESS_LOG: 'on' }),
  nodeTarget('strata+log', 'static-strata.ts', { ...env, STRATA_ACCESS_LOG: join(root, 'access.log') }),
  nodeTarget('express.static', 'static-express.ts', env),
];

export const scenarios: Scenario[] = [
  {
    name: 'static-small',
    description: 'GET /small.css (13.6 KB)',
    path: '/small.css',
    baseline: 'nginx',
    subject: 'strata',
    targets,
    // The edge-core issue: with the access log on, at most 1.3× nginx with its log on.
    floors: [
      { vs: 'nginx', max: 2 },
      { of: 'strata+log', vs: 'nginx+log', max: 1.3 },
    ],
  },
  {
    name: 'static-large',
    description: 'GET /large.bin (1 MB)',
    path: '/large.bin',
    baseline: 'nginx',
    subject: 'strata',
    targets,
    floors: [{ vs: 'nginx', max: 1.5 }],
  },
];
