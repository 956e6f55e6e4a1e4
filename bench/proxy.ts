/**
 * proxy (runs itself: the upstream process lives around the harness's run): GET / through a reverse proxy to a small JSON upstream (raw node:http, keep-alive) that
 * runs in its own process, so that only the proxy's CPU is measured. Floor (issue 19): strata
 * ≤ 0.6× @fastify/http-proxy; nginx proxy_pass (keepalive upstream) is the reference.
 */
import { nodeTarget as node, runScenario, type Scenario } from './lib/harness.ts';
import { freePort, startServer } from './lib/server-process.ts';

// The upstream: started once, on the load generator's core (its CPU is not measured).
const port = await freePort();
const upstream = await startServer({
  name: 'upstream',
  command: process.execPath,
  args: [new URL('./servers/proxy-upstream.ts', import.meta.url).pathname],
  port,
  core: 1,
  path: '/',
});
const env = { UPSTREAM: `http://127.0.0.1:${port}` };

const scenario: Scenario = {
  name: 'proxy',
  description: 'GET / → proxy → upstream {"hello":"world"} (CPU of the proxy process only)',
  path: '/',
  baseline: 'node+undici',
  subject: 'strata',
  targets: [
    node('node+undici', 'proxy-node-undici.ts', env),
    node('strata', 'proxy-strata.ts', env),
    node('fastify-http-proxy', 'proxy-fastify.ts', env),
    node('nginx', 'proxy-nginx.ts', env),
  ],
  floors: [{ vs: 'fastify-http-proxy', max: 0.6 }],
};

try {
  await runScenario(scenario, process.argv.slice(3));
} finally {
  await upstream.stop();
}
