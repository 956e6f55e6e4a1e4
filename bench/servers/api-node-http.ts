// The floor under everything: node:http answering the same JSON with the same three headers,
// routing by a Map of exact paths (no params: it knows the request set in advance).
import { randomUUID } from 'node:crypto';
import { createServer } from 'node:http';
import { GITHUB_PARAM_PATHS } from '../fixtures/github-routes.ts';

const known = new Map(GITHUB_PARAM_PATHS.map((p) => [p, p]));
createServer((req, res) => {
  const start = performance.now();
  const path = known.get(req.url ?? '') ?? req.url;
  const body = JSON.stringify({ route: path, params: {} });
  res.writeHead(200, {
    'content-type': 'application/json',
    'content-length': Buffer.byteLength(body),
    'x-request-id': randomUUID(),
    'access-control-allow-origin': '*',
    'server-timing': `total;dur=${(performance.now() - start).toFixed(1)}`,
  });
  res.end(body);
}).listen(Number(process.env.PORT), '127.0.0.1');
